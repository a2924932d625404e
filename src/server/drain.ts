/**
 * Draining one gateway instance, on SIGTERM (./process.ts), as a timeline:
 *
 * 1. At once: `/ready` answers 503 (./health.ts); everything else is still
 *    served, new connections and subscriptions included, for
 *    `SHUTDOWN_UNREADY_MS`, so load balancers stop sending before anything is
 *    refused. Each answer says `connection: close`, and its connection closes
 *    once it is sent: a balancer that keeps its connections (an L4 one,
 *    kube-proxy) only stops opening new ones, and without this would send on
 *    the old ones until step 2 closed them under a request on its way
 *    (measured: about one failed query per busy connection).
 * 2. Then the listener closes (new connections are refused) and idle
 *    keep-alive connections close. Every live subscription ends with a
 *    SHUTTING_DOWN error, then completes (SSE: `complete` event; WebSocket:
 *    `next` then `complete`, then the socket closes with 1001 once its
 *    operations ended); new ones are refused with it. Requests in flight go
 *    on, for at most `SHUTDOWN_GRACE_MS`; each response says `connection:
 *    close` when it still can, and its connection closes once it is sent.
 * 3. When the last request finished (and the connections of the last answers
 *    closed, each lingering at most LINGER_MS for a client still sending, within
 *    the grace; one that never sent a byte is closed once LINGER_MS old), or
 *    the grace ran out (whatever remains is cut: a request whose answer had not
 *    begun is answered 503 SHUTTING_DOWN first; a WebSocket operation gets
 *    SHUTTING_DOWN and its connection 1001), the upstream pool closes.
 *
 * One log line at the start and one at the end, with counts.
 */
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { LiveExecutions } from '../live/live-executions.js';
import type { Logger } from '../logger.js';
import type { Health } from './health.js';
import { LINGER_MS } from './lingering-close.js';
import { markCutByShutdown } from '../request/shutdown-cut.js';
import type { WebSocketEdge } from './websocket.js';

/** How long the answers to the requests the drain cuts may take to go out before their connections are closed under them. */
export const CUT_ANSWER_MS = 250;

/** The responses queued on a socket (pipelined, `RequestsInFlight.track`), each told by the socket's one 'close' listener. */
const QUEUED = Symbol('responses queued on this socket');
type QueuingSocket = Socket & { [QUEUED]?: Set<() => void> };

/**
 * Calls `unanswered` once `socket` closed while the response it stands for was still queued on it, after node's own
 * 'close' of the response then being written (which is this one's answer when it was). One 'close' listener per socket,
 * not per queued response: a client pipelining a batch of GETs set off node's MaxListenersExceededWarning past ten.
 * Returns what takes `unanswered` off the socket once its response closed.
 */
function whenClosedBeforeTurn(socket: QueuingSocket, unanswered: () => void): () => void {
  let queued = socket[QUEUED];
  if (!queued) {
    const listening = (queued = socket[QUEUED] = new Set());
    socket.once('close', () => setImmediate(() => [...listening].forEach((each) => each())));
  }
  queued.add(unanswered);
  return () => void queued.delete(unanswered);
}

/**
 * HTTP requests in flight at the edge, from their arrival until their
 * response closed (sent, or the client gone); a Server-Sent Events stream is
 * one until it ends.
 */
export class RequestsInFlight {
  /**
   * The responses in flight, each in a slot cleared in place when it closes and
   * reused by a later one; the array grows only past the most ever in flight.
   * Not a Set: with an entry added and deleted per request, a long-lived Set
   * kept each response, and all it reaches, through scavenges until the next
   * full collection (likely the tables its rehashing leaves in the old
   * generation; measured in docs/performance.md "Collection at a higher rate").
   */
  readonly #slots: (ServerResponse | undefined)[] = [];
  /** Each slot's request id, for the answer `cut` writes. */
  readonly #requestIds: (string | undefined)[] = [];
  /** Indexes of cleared slots. */
  readonly #free: number[] = [];
  readonly #idle: Array<() => void> = [];
  /** Set once the listener closed: idle connections are closed as their responses end. */
  #server: Server | undefined;
  /** Set from the start of a drain: every response not yet started says `connection: close`. */
  #closingConnections = false;
  #finishedWhileClosing = 0;

  get count(): number {
    return this.#slots.length - this.#free.length;
  }

  /** Requests that finished after the listener closed. */
  get finishedWhileClosing(): number {
    return this.#finishedWhileClosing;
  }

  /**
   * What a request the drain cuts before its answer's head went out is answered with (the HTTP edge's 503
   * SHUTTING_DOWN, ./http-edge.ts); none: it is only cut.
   */
  cutAnswer: ((response: ServerResponse, requestId: string) => void) | undefined;

  track(response: ServerResponse, requestId: string): void {
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = response;
    this.#requestIds[slot] = requestId;
    if (this.#closingConnections) response.setHeader('connection', 'close');
    // A response queued behind another on its connection (pipelined: node gives it the socket only at its turn) gets
    // no 'close' when the connection closes before that turn, as it does once a drain's `connection: close` answer
    // ends the one before it: the drain then waited the whole SHUTDOWN_GRACE_MS for requests nobody could be answered
    // on, and counted them cut. Only such a response waits on its socket: the others cost nothing more per request.
    const queuedOn = response.socket ? undefined : response.req.socket;
    let dequeue: (() => void) | undefined;
    let settled = false;
    const settle = (answered: boolean) => {
      if (settled) return;
      settled = true;
      dequeue?.();
      this.#slots[slot] = undefined;
      this.#requestIds[slot] = undefined;
      this.#free.push(slot);
      const server = this.#server;
      if (server) {
        if (answered) this.#finishedWhileClosing++;
        // A response whose headers went out before the drain (an event stream) could not say `connection: close`:
        // its connection is idle once the response is done, which node registers after this event.
        setImmediate(() => server.closeIdleConnections());
      }
      if (this.count === 0) for (const resolve of this.#idle.splice(0)) resolve();
    };
    if (queuedOn) dequeue = whenClosedBeforeTurn(queuedOn, () => settle(false));
    response.once('close', () => settle(true));
  }

  /**
   * The drain started: from now on every response not yet started says `connection: close`, so its
   * connection closes once it is sent and the client's next request opens a new one, which the balancer
   * sends to another replica. Idle connections are left open: a request may be on its way on them.
   */
  unready(): void {
    this.#closingConnections = true;
    for (const response of this.#slots) if (response && !response.headersSent) response.setHeader('connection', 'close');
  }

  /** The listener of `server` closed: every response not yet started says `connection: close`, and every connection closes once idle. */
  closing(server: Server): void {
    this.unready();
    this.#server = server;
    server.closeIdleConnections();
  }

  /**
   * The grace ran out: the requests still in flight are about to be cut, which their scopes tell from a client leaving.
   * Whether each answer's head had gone out is taken now, before the pipeline answers the cancellation: what it makes
   * of it then is never sent. One whose head had not, its request whole, is answered now (`cutAnswer`): its client, cut without a status,
   * could not tell a deploy from a crash, nor that the request is worth sending again. Resolves once those answers
   * went out, or after CUT_ANSWER_MS for a client that does not read them.
   */
  async cut(): Promise<void> {
    const answered: ServerResponse[] = [];
    this.#slots.forEach((response, slot) => {
      if (!response) return;
      const headSent = response.headersSent;
      markCutByShutdown(response, headSent);
      // A body still arriving is cut as before: answered, its pipeline would wait for the rest as long as the connection
      // lingers (./lingering-close.ts), and the reset that ends it sooner could take the answer with it.
      if (headSent || !this.cutAnswer || response.destroyed || !response.req.complete) return;
      this.cutAnswer(response, this.#requestIds[slot]!);
      answered.push(response);
    });
    if (answered.length === 0) return;
    const sent = answered.map((response) => (response.writableFinished ? undefined : new Promise((resolve) => response.once('close', resolve).once('finish', resolve))));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(sent), new Promise((resolve) => (timer = setTimeout(resolve, CUT_ANSWER_MS)))]);
    clearTimeout(timer);
  }

  /** Resolves once no request is in flight. */
  settled(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.#idle.push(resolve));
  }
}

/** Marks a socket OpenConnections tracks: a property, not a long-lived WeakSet (RequestsInFlight's reason for its slots). */
const TRACKED = Symbol('tracked by OpenConnections');
type TrackedSocket = Socket & { [TRACKED]?: true };

/**
 * The API port's open connections, each with when it was accepted, for the drain's end: one that has not sent a byte
 * is no answer lingering and holds no request, yet node counts it neither idle nor done, and the drain waited the
 * whole LINGER_MS for it (every request finished, the process exiting 2 s later, for a browser's or a balancer's
 * preconnected socket, or a TCP probe's). As Go's http.Server.Shutdown treats a connection that has sent nothing
 * for a while, it is closed once LINGER_MS old: a request racing the listener's close on it is still served, as
 * README promises, and one silent for longer is not waited for.
 */
export class OpenConnections {
  /**
   * Each open connection in a slot cleared in place when it closes and reused by a later one, with when it was
   * accepted: not a Map, for the reason RequestsInFlight's slots are not a Set (measured there: a long-lived table with
   * an entry added and deleted per request kept what it held through scavenges).
   */
  readonly #slots: (Socket | undefined)[] = [];
  readonly #acceptedAt: number[] = [];
  readonly #free: number[] = [];

  /**
   * For the server's `connection` event. A socket handed back to the server (./ignored-upgrade.ts) comes again with
   * each ignored upgrade: it is tracked once (one 'close' listener per handoff set off node's MaxListeners warning
   * past ten), and, having sent bytes, never closed here.
   */
  accepted(socket: Socket): void {
    if ((socket as TrackedSocket)[TRACKED]) return;
    (socket as TrackedSocket)[TRACKED] = true;
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = socket;
    this.#acceptedAt[slot] = performance.now();
    socket.once('close', () => {
      this.#slots[slot] = undefined;
      this.#free.push(slot);
    });
  }

  /** Closes each connection that has sent nothing once it is LINGER_MS old (at once when it is older). */
  closeSilent(): void {
    const now = performance.now();
    this.#slots.forEach((socket, slot) => {
      if (!socket || socket.bytesRead > 0 || socket.destroyed) return;
      const closeIfSilent = () => void (socket.bytesRead === 0 && socket.destroy());
      const left = this.#acceptedAt[slot]! + LINGER_MS - now;
      if (left <= 0) closeIfSilent();
      else setTimeout(closeIfSilent, left).unref();
    });
  }
}

export interface DrainTimings {
  /** SHUTDOWN_UNREADY_MS: how long `/ready` answers 503 while everything is still served. */
  unreadyMs: number;
  /** SHUTDOWN_GRACE_MS: then how long requests in flight may take. */
  graceMs: number;
}

export interface DrainParts {
  server: Server;
  health: Health;
  requests: RequestsInFlight;
  connections: OpenConnections;
  webSockets: WebSocketEdge;
  live: LiveExecutions;
  /** Closes the upstream pool once what used it is done. */
  closeUpstream(): Promise<void>;
  logger: Logger;
}

/** What a drain did, as its last log line says. */
export interface DrainReport {
  /** HTTP requests that finished after the listener closed (event streams included). */
  requestsFinished: number;
  /** Live subscriptions ended with SHUTTING_DOWN. */
  subscriptionsEnded: number;
  /** HTTP requests still running when the grace ran out, cut. */
  requestsCut: number;
  /** WebSocket connections still open when the grace ran out, cut. */
  webSocketsCut: number;
  /** From the start of the drain to its end. */
  durationMs: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Drains as the timeline above says; `cause` (the signal) goes in the first log line. */
export async function drain(parts: DrainParts, timings: DrainTimings, cause?: string): Promise<DrainReport> {
  const { server, health, requests, connections, webSockets, live, closeUpstream, logger } = parts;
  const started = performance.now();
  health.draining();
  requests.unready();
  logger.info(
    { cause, unreadyMs: timings.unreadyMs, graceMs: timings.graceMs, requestsInFlight: requests.count, subscriptions: live.counts.subscriptions, webSockets: webSockets.open },
    'draining: /ready answers 503; the listener closes after the unready period, then requests in flight have the grace period',
  );
  await sleep(timings.unreadyMs);

  const graceEnds = performance.now() + timings.graceMs;
  // Resolves once every connection has closed (an error, when the listener was closed already, resolves it too).
  const connectionsClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  requests.closing(server);
  const subscriptionsEnded = live.shutDown();
  webSockets.goingAway();
  let graceTimer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<false>((resolve) => (graceTimer = setTimeout(() => resolve(false), timings.graceMs)));
  let finished = false;
  let silentClosed = false;
  for (;;) {
    finished = await Promise.race([Promise.all([requests.settled(), webSockets.closed()]).then(() => true), graceOver]);
    if (!finished) break;
    // The last answers' connections close the lingering way (./lingering-close.ts): read on for up to LINGER_MS for a
    // client still sending. The process exits once the drain resolves, and its exit reset them: each such client lost
    // the answer it had not read yet (5 of 5 with a request pipelined behind a `Connection: close` one). Within the grace.
    if (!silentClosed) connections.closeSilent();
    silentClosed = true;
    let lingerTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      connectionsClosed,
      new Promise<void>((resolve) => (lingerTimer = setTimeout(resolve, Math.max(0, Math.min(LINGER_MS, graceEnds - performance.now()))))),
    ]);
    clearTimeout(lingerTimer);
    // A request that arrived meanwhile, on a connection accepted before the listener closed, is waited for as any
    // other, within the grace, and cut when it runs out. The drain ended under it before: logged `every request
    // finished` and not counted, it held the exit for as long as upstream took (closing the pool waits for its calls:
    // up to REQUEST_BUDGET_MS, 15 s, past the grace).
    if (requests.count === 0) break;
  }
  clearTimeout(graceTimer);
  const requestsFinished = requests.finishedWhileClosing;
  const requestsCut = finished ? 0 : requests.count;
  const webSocketsCut = finished ? 0 : webSockets.open;
  if (!finished) {
    // Each WebSocket is told first, as each HTTP request not yet answered is: a dropped socket was a bare 1006 to its
    // client, with no close frame and no word of its operations. One that has not closed after CUT_ANSWER_MS is dropped.
    webSockets.cut();
    let cutTimer: NodeJS.Timeout | undefined;
    await Promise.all([requests.cut(), Promise.race([webSockets.closed(), new Promise<void>((resolve) => (cutTimer = setTimeout(resolve, CUT_ANSWER_MS)))])]);
    clearTimeout(cutTimer);
    // Cut sockets cancel what their requests still wait for upstream (the request's cancellation), so the pool can close.
    server.closeAllConnections();
    webSockets.close();
  }
  await closeUpstream();
  const report: DrainReport = {
    requestsFinished,
    subscriptionsEnded,
    requestsCut,
    webSocketsCut,
    durationMs: Math.round(performance.now() - started),
  };
  if (finished) logger.info(report, 'drained: every request finished');
  else logger.warn(report, 'drained: the grace period ran out; requests still running were cut');
  return report;
}
