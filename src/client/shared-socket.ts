/**
 * One graphql-ws socket per gateway and token (and idle timeout), shared by every `watchExecution` that asks for the
 * WebSocket transport. A browser opens at most 6 HTTP/1.1 connections per host, so a page watching
 * more executions than that over Server-Sent Events left the seventh watch, and every query, waiting
 * for one to end; over one socket it watches as many as LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION allows.
 *
 * graphql-ws's own reconnection is off (`retryAttempts: 0`): it subscribes again with the variables
 * it started with, so a watch resumed by it would get again every event since its first
 * `eventsAfter`. A dropped socket ends each subscription instead, and each watch subscribes again
 * from its own last cursor; the socket is opened again by the first of them (`lazy`). A 1000 close
 * graphql-ws still takes as no failure and resubscribes on: live.ts ends such a subscription itself.
 */
import { CloseCode, createClient, type Client } from 'graphql-ws';

/** The close code of a WebSocket message past the receiver's limit (RFC 6455 §7.4.1). */
const MESSAGE_TOO_BIG = 1009;

/** What the client's timers and sockets leave for the watches and the last release. */
interface SocketState {
  /** Sockets still opening: the last release closes them, where graphql-ws's dispose() would wait for them to open. */
  readonly opening: Set<{ close(): void }>;
  /**
   * Why the client dropped its last socket itself (no pong, or no opening, in time), until it opens another: graphql-ws
   * tells the watches only of a close (4499, or a bare error event for a socket that never opened).
   */
  lost: string | undefined;
  /**
   * The HTTP status with which the gateway (or a proxy) refused the last socket's upgrade, until another opens; known
   * only where the WebSocket class says it (`ws`, as "Unexpected server response: 404"): a browser's says nothing.
   */
  refusedWith: number | undefined;
  /**
   * What the refusal of the last socket's upgrade asked for, until another opens, when it carried a `Retry-After` (the
   * gateway's 429 past WS_MAX_UPGRADES_PER_SECOND): how long to wait, and its body's first error. Known only where the
   * WebSocket class hands over the answer (`ws`'s 'unexpected-response'): a browser's says nothing.
   */
  refusal: UpgradeRefusal | undefined;
  /** Sockets the gateway has acknowledged so far (`connected`): which connection a watch lost, and which served since. */
  connections: number;
  /**
   * The connection (its count) on which a subscription last received an update (a `next` message), and who waits for
   * the next: a watch that lost an earlier connection resumes once a later one serves (an acknowledgement alone shows
   * no subscription is).
   */
  servedOn: number;
  readonly onServed: Set<(connection: number) => void>;
  /**
   * The size of each watch's latest subscribe payload (bytes of its JSON): a socket the gateway closes with 1009 (a
   * message past its MAX_REQUEST_BODY_BYTES) is closed for every watch on it, and the largest payload is the one no
   * retry can deliver.
   */
  readonly payloadBytes: Map<object, number>;
  /** The largest of them as the gateway closed the last socket with 1009, until another opens. */
  largestAtTooBig: number | undefined;
}

/** A refused upgrade's `Retry-After`, in ms, and the first GraphQL error of its body, when it had one. */
export interface UpgradeRefusal {
  status: number;
  retryAfterMs: number;
  message?: string | undefined;
  code?: string | undefined;
}

interface Shared {
  readonly client: Client;
  readonly state: SocketState;
  users: number;
}

/** By WebSocket implementation (the global one is `undefined`), then by URL, Authorization and `idleMs` (each its own pings). */
const sockets = new Map<unknown, Map<string, Shared>>();

/** What a watch holds of the shared socket. */
export interface SocketLease {
  readonly client: Client;
  /** Why the client dropped its socket itself, when it did (read it as the failure arrives). */
  lost(): string | undefined;
  /** The status that refused the socket's upgrade, where the WebSocket class tells it (read it as the failure arrives). */
  refusedWith(): number | undefined;
  /** The refusal of the socket's upgrade when it asked for a pause (`Retry-After`), where the WebSocket class tells it (read it as the failure arrives). */
  refusal(): UpgradeRefusal | undefined;
  /** Sockets the gateway has acknowledged so far, the open one included: a count to compare, not a state. */
  connections(): number;
  /** The connection (by `connections`' count) whose subscription last received an update; 0 before any. */
  servedOn(): number;
  /** Calls `listener` with the connection's count on each update a subscription receives; returns the function that stops it. */
  onServed(listener: (connection: number) => void): () => void;
  /** Records the size of the payload this watch subscribes with now (bytes of its JSON). */
  subscribing(bytes: number): void;
  /**
   * Whether the gateway closed the socket with 1009 while this watch's payload was the largest of its watches (ties
   * included): the one it refused, which no retry can deliver (read it as the failure arrives).
   */
  tooBig(): boolean;
  release(): void;
}

/**
 * The socket's client for `url` (ws: or wss:) and `authorization`, and `release` for when the watch ends: the last one's
 * release disposes it. With `idleMs` (finite, over 0) a socket that has not opened within it is dropped, and an open one
 * is pinged every half of it and dropped when its pong has not come within the other half: one that went away without a
 * word (a laptop that slept, a NAT that forgot it) closes no socket, and a browser tells a page nothing of the gateway's
 * own pings, so its watches would wait for ever; nor has a WebSocket's opening any clock of its own. An open socket whose
 * `connection_ack` has not come within `idleMs` is dropped too.
 */
export function sharedSocket(url: string, authorization: string, webSocketImpl: unknown, idleMs: number): SocketLease {
  let byKey = sockets.get(webSocketImpl);
  if (!byKey) sockets.set(webSocketImpl, (byKey = new Map()));
  const key = `${url}\n${authorization}\n${idleMs}`;
  const shared = byKey.get(key) ?? openShared(url, authorization, webSocketImpl, idleMs);
  byKey.set(key, shared);
  shared.users++;
  let released = false;
  const owners = byKey;
  const lease: SocketLease = {
    client: shared.client,
    lost: () => shared.state.lost,
    refusedWith: () => shared.state.refusedWith,
    refusal: () => shared.state.refusal,
    connections: () => shared.state.connections,
    servedOn: () => shared.state.servedOn,
    onServed(listener) {
      shared.state.onServed.add(listener);
      return () => shared.state.onServed.delete(listener);
    },
    subscribing(bytes) {
      shared.state.payloadBytes.set(lease, bytes);
    },
    tooBig() {
      const largest = shared.state.largestAtTooBig;
      return largest !== undefined && (shared.state.payloadBytes.get(lease) ?? 0) >= largest;
    },
    release() {
      if (released) return;
      released = true;
      shared.state.payloadBytes.delete(lease);
      if (--shared.users > 0) return;
      owners.delete(key);
      // A class made per watch (one setting a caller's headers) was kept, with what it closes over, for the process's life.
      if (owners.size === 0 && sockets.get(webSocketImpl) === owners) sockets.delete(webSocketImpl);
      // dispose() waits for a socket still opening, for ever when nothing answers, and rejects when it fails.
      void Promise.resolve(shared.client.dispose()).catch(() => undefined);
      for (const socket of shared.state.opening) socket.close();
    },
  };
  return lease;
}

function openShared(url: string, authorization: string, webSocketImpl: unknown, idleMs: number): Shared {
  const half = idleMs > 0 && Number.isFinite(idleMs) ? Math.max(1, Math.floor(idleMs / 2)) : 0;
  const state: SocketState = { opening: new Set(), lost: undefined, refusedWith: undefined, refusal: undefined, connections: 0, servedOn: 0, onServed: new Set(), payloadBytes: new Map(), largestAtTooBig: undefined };
  const impl = webSocketImpl ?? (globalThis as { WebSocket?: unknown }).WebSocket;
  let pongDue: ReturnType<typeof setTimeout> | undefined;
  const client: Client = createClient({
    url,
    // Browsers cannot set headers on a WebSocket: the gateway reads the token from connectionParams.
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 0,
    // Without one graphql-ws throws its own "WebSocket implementation missing".
    ...(typeof impl === 'function' ? { webSocketImpl: opening(impl as SocketClass, state, half > 0 ? idleMs : 0) } : {}),
    on: {
      connecting: () => {
        state.lost = undefined;
        state.refusedWith = undefined;
        state.refusal = undefined;
        state.largestAtTooBig = undefined;
      },
      connected: () => {
        state.connections++;
      },
      // As it arrives, not as a watch reads it: a slow page reads an update of a dropped connection after a newer one opened.
      message: (message: { type: string }) => {
        if (message.type !== 'next') return;
        state.servedOn = state.connections;
        for (const listener of [...state.onServed]) listener(state.connections);
      },
      // Before graphql-ws's own listener fails the subscriptions, so the watches read why.
      closed: (event: unknown) => {
        clearTimeout(pongDue);
        // Before any watch that failed with it released its lease (the refused one ends, and its size with it).
        if ((event as { code?: unknown } | null)?.code === MESSAGE_TOO_BIG) state.largestAtTooBig = Math.max(0, ...state.payloadBytes.values());
        if ((event as { code?: unknown } | null)?.code === CloseCode.ConnectionAcknowledgementTimeout) {
          state.lost = `The gateway did not acknowledge the connection (connection_ack) within ${idleMs} ms: the connection is taken as lost.`;
        }
      },
      ...(half > 0
        ? {
            ping: (received: boolean) => {
              if (received) return;
              clearTimeout(pongDue);
              pongDue = setTimeout(() => {
                state.lost = "The gateway did not answer the socket's ping in time: the connection is taken as lost.";
                client.terminate();
              }, half);
            },
            pong: (received: boolean) => {
              if (received) clearTimeout(pongDue);
            },
          }
        : {}),
    },
    // graphql-ws's default, 0, waits for connection_ack for ever: a server (or a proxy) that took the upgrade but never
    // acknowledges held every watch on the socket, told nothing. Closed with 4504 instead, past idleMs from its opening.
    ...(half > 0 ? { keepAlive: half, connectionAckWaitTimeout: idleMs } : {}),
  });
  return { client, state, users: 0 };
}

/** What is used of a WebSocket class, the browser's or `ws`'s, here; graphql-ws checks the rest. */
type SocketClass = new (url: string, protocols: string) => {
  close(): void;
  addEventListener(type: 'open' | 'error' | 'close', listener: (event: { message?: unknown }) => void): void;
  /** `ws`'s only: its EventEmitter side, which hands over an upgrade's answer other than 101. */
  on?: (type: 'unexpected-response', listener: (request: unknown, response: RefusingAnswer) => void) => unknown;
  terminate?: () => void;
};

/** What is read of the answer `ws` hands over with 'unexpected-response' (node's IncomingMessage). */
interface RefusingAnswer {
  statusCode?: number;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: 'utf8'): void;
  on(type: 'data', listener: (chunk: string) => void): unknown;
  once(type: 'end' | 'error' | 'close', listener: () => void): unknown;
}

/** A `Retry-After` (RFC 9110 §10.2.3: seconds, or an HTTP date) in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | null | undefined): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The most of a refusing answer's body read for its error: the gateway's are a few hundred bytes. */
const REFUSAL_BODY_CHARS = 16_384;

/** How long a refusing answer's body is waited for, in ms: the gateway sends its few hundred bytes with the head. */
const REFUSAL_BODY_WAIT_MS = 1_000;

/** The first GraphQL error of a refusal's body, when it is a GraphQL error body. */
function firstError(body: string): { message?: string; code?: string } {
  try {
    const first = (JSON.parse(body) as { errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> }).errors?.[0];
    return {
      ...(typeof first?.message === 'string' ? { message: first.message } : {}),
      ...(typeof first?.extensions?.code === 'string' ? { code: first.extensions.code } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Has `ws` hand over an upgrade's answer other than 101 (its 'unexpected-response'; left alone it only says "Unexpected
 * server response: 429"), to keep the answer's `Retry-After` and error in `state`, then ends the socket as `ws` would.
 * Without it a watch refused with 429 past the gateway's WS_MAX_UPGRADES_PER_SECOND came back after its own backoff,
 * from a few ms on, and was refused again, however long the gateway had asked it to wait.
 */
function keepRefusal(socket: InstanceType<SocketClass>, state: SocketState): void {
  socket.on?.('unexpected-response', (_request, response) => {
    const status = response.statusCode ?? 0;
    state.refusedWith = status;
    const waitMs = retryAfterMs(response.headers['retry-after']);
    // Nothing to wait for: ended at once, as `ws` ends it, the body unread.
    if (waitMs === undefined) return socket.terminate?.();
    let body = '';
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(late);
      state.refusal = { status, retryAfterMs: waitMs, ...firstError(body) };
      socket.terminate?.();
    };
    // A body that never ends (a proxy's stalled answer) must not hold the socket's opening, which has no clock when idleMs is 0.
    const late = setTimeout(end, REFUSAL_BODY_WAIT_MS);
    response.setEncoding('utf8');
    response.on('data', (chunk) => {
      if (body.length < REFUSAL_BODY_CHARS) body += chunk;
    });
    for (const type of ['end', 'error', 'close'] as const) response.once(type, end);
  });
}

/** `ws`'s message for an upgrade answered with another status than 101. */
const REFUSED_UPGRADE = /^Unexpected server response: (\d{3})$/;

/**
 * `impl` with each socket it makes kept in `state.opening` until it opens or fails, and closed when it has not opened
 * within `deadlineMs` (0: no deadline); the status of a refused upgrade in `state.refusedWith`. graphql-ws hands out no socket before it opens, and its `terminate()` on one
 * still opening made `ws` throw an 'error' event nobody listened to, ending a Node process.
 */
function opening(impl: SocketClass, state: SocketState, deadlineMs: number): SocketClass {
  return new Proxy(impl, {
    construct(target, args: ConstructorParameters<SocketClass>, newTarget) {
      const socket = Reflect.construct(target, args, newTarget);
      state.opening.add(socket);
      const timer =
        deadlineMs > 0
          ? setTimeout(() => {
              state.lost = `The WebSocket to the gateway did not open within ${deadlineMs} ms: the connection is taken as lost.`;
              socket.close();
            }, deadlineMs)
          : undefined;
      const settled = () => {
        clearTimeout(timer);
        state.opening.delete(socket);
      };
      for (const type of ['open', 'error', 'close'] as const) socket.addEventListener(type, settled);
      // An upgrade answered with a refusal came within the deadline: its body is read on its own clock (keepRefusal),
      // and a deadline firing meanwhile told onRetry the socket "did not open", losing the refusal's Retry-After.
      socket.on?.('unexpected-response', () => clearTimeout(timer));
      keepRefusal(socket, state);
      socket.addEventListener('error', (event: { message?: unknown }) => {
        const status = typeof event?.message === 'string' ? REFUSED_UPGRADE.exec(event.message)?.[1] : undefined;
        if (status !== undefined) state.refusedWith = Number(status);
      });
      return socket;
    },
  });
}

/** `endpoint` (an http(s) URL) as the WebSocket URL of the same path, without a fragment: graphql-ws is served on the gateway's port and path. */
export function socketUrl(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  // A fragment is the page's, never sent (fetch leaves it out); a WebSocket URL with one is a SyntaxError, which graphql-ws
  // let escape as an unhandled rejection while the watch waited for ever.
  url.hash = '';
  return url.href;
}
