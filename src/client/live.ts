/**
 * Watching an execution from a frontend or a script: the typed subscription
 * over Server-Sent Events with graphql-sse, resuming where it left off.
 *
 *   for await (const update of watchExecution(url, 'Bearer …', 'ex_demo_live')) {
 *     render(update.execution.status, update.newEvents);
 *   }
 *
 * It yields every update until the execution ends. When the connection drops it
 * waits and subscribes again with `eventsAfter` set to the last update's
 * `cursor`, so no event is missed, and drops from its updates the events it
 * yielded already (by cursor), so none is repeated; so it does when the gateway
 * ends the stream with SHUTTING_DOWN (it drains; another replica answers
 * the next subscription), and with UPSTREAM_BAD_RESPONSE (the execution
 * finished in a reading without a readable list of its events: the next
 * subscription reads it again, and gets the events once upstream lists them; or upstream answered
 * with a status its contract does not name, which a new subscription asks about again), and when a watch reaches LIVE_MAX_WATCH_MS
 * (`endReason: WATCH_TIME_LIMIT`: that update is yielded, and the watch goes
 * on), and when the stream brings no byte for `idleTimeoutMs` (the gateway's
 * keep-alive comment comes every 12 s, so the connection is gone), and, at once,
 * when it is read again after its updates went unread for `pausedTimeoutMs`
 * (it let go of its subscription meanwhile: see the option). It returns
 * after the update that ends the execution. Errors that end a watch
 * (NOT_FOUND, UNAUTHENTICATED, FORBIDDEN, TOO_MANY_SUBSCRIPTIONS without
 * `retryAfterMs`, BAD_USER_INPUT, UPSTREAM_BAD_RESPONSE with `extensions.retryable: false`: a body past
 * the gateway's bound, which every later reading is too, and a request the gateway refuses with a 4xx
 * other than 408 and 429, such as a BAD_REQUEST for a variable that does not fit
 * its type) are thrown as WatchError; an update carrying UPSTREAM_UNAVAILABLE is
 * passed to `onOutage` and the watch goes on. An exception of the caller's (thrown by a callback, or into the
 * watch by `throw()`) ends the watch as it was thrown, never taken for a dropped connection. A TOO_MANY_SUBSCRIPTIONS with
 * `extensions.retryAfterMs` (a replica at a bound that frees by itself: watches
 * upstream has not answered yet, or a full replica) is retried like a dropped
 * connection, after a pause of at least that long.
 *
 * Between subscriptions it backs off: the pause before attempt n (the
 * subscriptions made since the last update) is a random time between 0 and
 * `retryDelayMs × 2^(n−1)`, at most `maxRetryDelayMs` ("full jitter"), or the
 * refusal's `retryAfterMs` when that is longer, so tabs
 * that lost the gateway together (a deploy, a network change) do not come back
 * together, and a gateway that stays out of reach is asked less and less often.
 * A browser reports an unreachable gateway, a CORS refusal and a wrong host
 * alike, as an opaque `TypeError: Failed to fetch`, and retrying is all the
 * helper can do about it: `onRetry` tells the page each time, so it can say
 * that live updates cannot be reached.
 *
 * With `transport: 'websocket'` the watches of one endpoint and token share one graphql-ws socket
 * (shared-socket.ts) instead of holding an HTTP/1.1 connection each, of which a browser opens 6 per
 * host; the loop above is the same, a closed socket being a dropped connection. graphql-ws closes
 * the socket once no subscription is on it, so watches that let go of theirs let go of it too.
 */
import { print } from 'graphql';
import { createClient, NetworkError } from 'graphql-sse';
import type { DataWarning, ErrorCode } from '../client-contract.js';
import { headerPairs, headerValue, requestableHeaders, unsendableHeader, withAuthorization } from './authorization.js';
import { httpEndpoint } from './endpoint.js';
import { causeTelling } from './fetch-cause.js';
import type { FetchInput, HeadersInit } from './fetch-types.js';
import { ExecutionUpdatesDocument, type ExecutionEventFilter, type ExecutionUpdatesSubscription } from './generated.js';
import { retryAfterMs, sharedSocket, socketUrl, type SocketLease, type UpgradeRefusal } from './shared-socket.js';

export type ExecutionUpdate = ExecutionUpdatesSubscription['executionUpdates'];

export interface WatchOptions {
  /** Start after this event cursor (from `events` or an earlier update). */
  eventsAfter?: string | null | undefined;
  filter?: ExecutionEventFilter | null | undefined;
  /** Stops the watch. */
  signal?: AbortSignal | undefined;
  /**
   * The longest pause before the first attempt to subscribe again (after the connection dropped, the
   * gateway drained, or a watch reached its time limit), in ms (default 1,000); it doubles with each
   * attempt that brings no update, up to `maxRetryDelayMs`. Each pause is a random time up to that bound.
   */
  retryDelayMs?: number | undefined;
  /** The bound the pauses between attempts grow to, in ms (default 30,000). */
  maxRetryDelayMs?: number | undefined;
  /**
   * Told before each pause: why the watch subscribes again (the error that dropped it: for an
   * unreachable gateway graphql-sse's `NetworkError` (`name` 'NetworkError'), which carries the
   * failed fetch's message ('Failed to fetch' in a browser; in Node 'fetch failed' with its cause, as
   * 'fetch failed (connect ECONNREFUSED 127.0.0.1:4000)', or 'terminated (other side closed)' for a stream cut) but is no
   * `TypeError`; over `transport: 'websocket'` a NetworkError naming the close code (an upgrade refused with a 4xx
   * other than 408 and 429 throws a WatchError instead, where the WebSocket class tells the status, and one refused with a
   * `Retry-After`, the gateway's 429 past WS_MAX_UPGRADES_PER_SECOND, is the gateway's WatchError with `retryAfterMs`, the
   * pause at least that long, where the class hands over the answer: `ws`); a WatchError with code SHUTTING_DOWN, UPSTREAM_BAD_RESPONSE or WATCH_TIME_LIMIT,
   * or TOO_MANY_SUBSCRIPTIONS with its `retryAfterMs` (the gateway is busy for now; the pause is at least that long), or
   * for an answer of 408, 429 or 5xx with `Retry-After` (a proxy's rate limit) a WatchError with that `retryAfterMs` and
   * its body's code, if any;
   * an Error when the stream ended early), the attempt (1 for the first since the last update), and
   * the pause in ms. Attempts that keep growing mean the gateway cannot be reached, or stays busy.
   */
  onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined;
  /**
   * Told, before the update is yielded, the notes of an update with values upstream sent unreadable or the gateway replaced
   * (its `extensions.warnings`, README "Warnings"): without them a field served as null cannot be told from one upstream left out.
   * `omitted` is how many notes past the gateway's cap of 100 per result were left out of `warnings` (its
   * `extensions.warningsOmitted`; 0 when none were).
   */
  onWarnings?: ((warnings: readonly DataWarning[], update: ExecutionUpdate, omitted: number) => void) | undefined;
  /** Told when an update carries UPSTREAM_UNAVAILABLE (upstream failing for a while; the watch goes on). */
  onOutage?: ((notice: OutageNotice) => void) | undefined;
  /**
   * How long the stream may bring no byte before the watch takes its connection as lost and
   * subscribes again, in ms (default 30,000; 0, or past 2^31 − 1, 24.8 days, never). The gateway sends a comment every 12 s on an
   * idle stream, so silence means a connection that went away without a word (a laptop that slept,
   * a network that changed, a NAT or proxy that forgot it), which would otherwise hold the watch
   * for ever. `onRetry` is told with an Error saying so.
   */
  idleTimeoutMs?: number | undefined;
  /**
   * How long the watch keeps its subscription while its updates are not read, in ms (default 10,000; 0, or past 2^31 − 1, 24.8 days, for ever):
   * the loop's body still busy with the last update, or the iterator left without `return()` (a component gone
   * without aborting). Past it the subscription ends, and with it the shared socket when no other watch is on it,
   * and the gateway's watch; reading on subscribes again at once from the last update read, with every event since.
   * Neither `onRetry` nor a pause: nothing failed.
   */
  pausedTimeoutMs?: number | undefined;
  /**
   * Extra request headers, e.g. `x-request-id`, in any form fetch takes (a record, a Headers, an array or another iterable of pairs); an
   * `Authorization` among them, in any case, gives way to the `authorization` argument. Server-Sent Events only: a browser's WebSocket sends none. A name that is no token, or a value with a line
   * break, a control character or a character past U+00FF, is a TypeError naming the header before anything is sent.
   */
  headers?: HeadersInit | undefined;
  /**
   * `'sse'` (the default): one Server-Sent Events connection per watch. `'websocket'`: every watch of
   * the same endpoint and `authorization` shares one graphql-ws socket (given the same `idleTimeoutMs` and `webSocketImpl`:
   * each of them makes a socket of its own). A browser opens at most 6
   * HTTP/1.1 connections per host, so a page that watches more executions at once over Server-Sent
   * Events from a gateway served over HTTP/1.1 waits, its queries too, until a watch ends: use the
   * socket there. `headers` are Server-Sent Events' only; over the socket `idleTimeoutMs` is a ping every half of it,
   * and a pong that has not come within the other half drops the socket, as does a socket not open within all of it,
   * or open with no `connection_ack` within all of it (graphql-ws's close 4504; `onRetry` is told with a NetworkError saying so).
   */
  transport?: 'sse' | 'websocket' | undefined;
  /**
   * With `transport: 'websocket'` where there is no global WebSocket (Node 20): the `ws` package's `WebSocket`, its default
   * export. Anything but a class, or none where the runtime has no WebSocket, is a TypeError before anything is sent.
   */
  webSocketImpl?: unknown;
}

/** An outage notice: the gateway's UPSTREAM_UNAVAILABLE on a watch, with what its extensions say. */
export interface OutageNotice {
  message: string;
  code: 'UPSTREAM_UNAVAILABLE';
  /** Upstream's HTTP status, when it answered (a 429, a 503). */
  upstreamStatus?: number | undefined;
  /** When upstream asked for a pause (Retry-After): the time until the gateway polls it again, in ms, for "retrying in N s". */
  retryAfterMs?: number | undefined;
}

/**
 * A WatchError's code: the gateway's `extensions.code`; WATCH_TIME_LIMIT for the watch's own end
 * (told to `onRetry` only); undefined for a refusal whose body named none (a 404 of a proxy, say).
 */
export type WatchErrorCode = ErrorCode | 'WATCH_TIME_LIMIT' | undefined;

/**
 * An error that ended the watch, with the gateway's `extensions.code`; or, told to `onRetry`, one after which it
 * subscribes again. `retryAfterMs` (ms), only on errors told to `onRetry`, is how long it was asked to wait, and the
 * pause before the next attempt is at least that long: the gateway's `extensions.retryAfterMs` on a
 * TOO_MANY_SUBSCRIPTIONS, or the `Retry-After` of an answer of 408, 429 or 5xx (a proxy's rate limit) or of a
 * WebSocket upgrade refused for now (the gateway's 429 past WS_MAX_UPGRADES_PER_SECOND); absent on every other.
 */
export class WatchError extends Error {
  // A declared field rather than a parameter property, which `erasableSyntaxOnly` (a type-stripping build's setting) refuses;
  // declared first, so an error's own keys come in the order they had (`code`, then `name`).
  readonly code: WatchErrorCode;
  override name = 'WatchError';
  declare readonly retryAfterMs?: number;
  constructor(message: string, code: WatchErrorCode, retryAfterMs?: number) {
    super(message);
    this.code = code;
    // Only when given: a final error's keys stay `code` and `name`, as before.
    if (retryAfterMs !== undefined) Object.defineProperty(this, 'retryAfterMs', { value: retryAfterMs, enumerable: true });
  }
}

interface GraphQLErrorShape {
  message: string;
  extensions?: { code?: ErrorCode; upstreamStatus?: unknown; retryAfterMs?: unknown; retryable?: unknown };
}

/**
 * Codes with which the gateway ends a watch and asks for another from the last `cursor`: it drains
 * (SHUTTING_DOWN), or the execution finished in a reading without its events, or upstream answered
 * with a status its contract does not name (UPSTREAM_BAD_RESPONSE).
 */
const RESUMED_CODES: ReadonlySet<unknown> = new Set<ErrorCode>(['SHUTTING_DOWN', 'UPSTREAM_BAD_RESPONSE']);

/**
 * The WatchError for a refusal the watch waits out and retries: TOO_MANY_SUBSCRIPTIONS with `extensions.retryAfterMs`,
 * which the gateway gives only at a bound that frees by itself (README "Live executions"); undefined for any other.
 */
function busy(errors: readonly GraphQLErrorShape[]): WatchError | undefined {
  const refusal = errors.find((error) => error.extensions?.code === 'TOO_MANY_SUBSCRIPTIONS');
  const retryAfterMs = refusal?.extensions?.retryAfterMs;
  if (!refusal || typeof retryAfterMs !== 'number' || !(retryAfterMs >= 0) || !Number.isFinite(retryAfterMs)) return undefined;
  return new WatchError(refusal.message, 'TOO_MANY_SUBSCRIPTIONS', retryAfterMs);
}

/** Statuses that say the same request may succeed later: the request timed out, or came too fast. */
const RETRIED_CLIENT_STATUSES = new Set([408, 429]);

/**
 * The WatchError for an answer no retry can change (a 4xx: a variable that does
 * not fit its type, a wrong URL), with the code of the GraphQL error in its body,
 * JSON or an event stream; undefined for anything worth retrying. graphql-sse
 * reports every non-2xx answer as a NetworkError and would retry it.
 */
async function refused(error: unknown): Promise<WatchError | undefined> {
  const response = error instanceof NetworkError ? (error.response as Response | undefined) : undefined;
  if (!response || response.status < 400 || response.status >= 500 || RETRIED_CLIENT_STATUSES.has(response.status)) return undefined;
  const text = await refusalText(response);
  const first = errorsIn(text)[0];
  return new WatchError(first?.message ?? `The gateway answered ${response.status}.`, first?.extensions?.code);
}

/** How long a refusing answer's body is waited for, in ms: the gateway sends its few hundred bytes with the head. */
const REFUSAL_BODY_WAIT_MS = 1_000;

/**
 * The text of a refusing answer's body, or '' when it has not ended within REFUSAL_BODY_WAIT_MS (a proxy's stalled
 * answer: with `idleTimeoutMs` 0 nothing else ends it, and the watch waited for it for ever) or failed.
 */
async function refusalText(response: Response): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(''), REFUSAL_BODY_WAIT_MS);
  });
  try {
    return await Promise.race([response.text().catch(() => ''), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The WatchError for an answer that asks for a pause (a 408, 429 or 5xx with `Retry-After`: a proxy's rate limit, a
 * load balancer with no replica up), told to `onRetry`, with the code of the GraphQL error in its body when it has one:
 * its `retryAfterMs` makes the pause at least that long. Undefined for any other. Retried on the watch's own backoff,
 * a rate-limited watch came back from a few hundred ms on, however long it had been asked to wait.
 */
async function pausedAnswer(error: unknown): Promise<WatchError | undefined> {
  const response = error instanceof NetworkError ? (error.response as Response | undefined) : undefined;
  if (!response || !(RETRIED_CLIENT_STATUSES.has(response.status) || response.status >= 500)) return undefined;
  const waitMs = retryAfterMs(response.headers.get('retry-after'));
  if (waitMs === undefined) return undefined;
  const text = await refusalText(response);
  const first = errorsIn(text)[0];
  return new WatchError(first?.message ?? `The gateway answered ${response.status}, asking for a pause of ${Math.ceil(waitMs / 1000)} s.`, first?.extensions?.code, waitMs);
}

/**
 * The WatchError for a WebSocket upgrade refused with a status no retry can change (a 4xx: a wrong path is 404), as
 * `refused` reads the same answer over Server-Sent Events; undefined for anything worth retrying. Only where the
 * WebSocket class tells the status (`ws` in Node): a browser's does not, and such a watch retries with backoff.
 */
function refusedUpgrade(status: number | undefined, url: string): WatchError | undefined {
  if (status === undefined || status < 400 || status >= 500 || RETRIED_CLIENT_STATUSES.has(status)) return undefined;
  const code: ErrorCode = status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'FORBIDDEN' : 'BAD_REQUEST';
  return new WatchError(`The gateway refused the WebSocket upgrade at ${url} with ${status}${status === 404 ? ': GraphQL over WebSocket is not served at that path' : ''}.`, code);
}

/**
 * The WatchError for a WebSocket upgrade refused for now with a `Retry-After` (the gateway's 429 past
 * WS_MAX_UPGRADES_PER_SECOND, coded TOO_MANY_SUBSCRIPTIONS), told to `onRetry`: its `retryAfterMs` makes the pause at
 * least that long, as for a TOO_MANY_SUBSCRIPTIONS over an open socket. Undefined without one, or where the WebSocket
 * class does not tell it (a browser's).
 */
function pausedUpgrade(refusal: UpgradeRefusal | undefined, url: string): WatchError | undefined {
  if (!refusal) return undefined;
  const message = refusal.message ?? `The gateway refused the WebSocket upgrade at ${url} with ${refusal.status}, asking for a pause of ${Math.ceil(refusal.retryAfterMs / 1000)} s.`;
  return new WatchError(message, refusal.code as ErrorCode | undefined, refusal.retryAfterMs);
}

/** The WatchError for the errors of an `error` message over graphql-ws: a subscription refused before it ran (`busy`'s when it is one). */
function refusedOnSocket(errors: readonly unknown[]): WatchError {
  const shaped = errors.filter((each): each is GraphQLErrorShape => typeof (each as GraphQLErrorShape | null)?.message === 'string');
  const first = shaped[0];
  return busy(shaped) ?? new WatchError(first?.message ?? 'The gateway refused the subscription.', first?.extensions?.code);
}

/**
 * What graphql-ws threw for a socket that closed or never opened: a bare Event or CloseEvent, which
 * says nothing as text ("[object Event]"). As a NetworkError, with the close code, a page tells an
 * unreachable gateway by `error.name` over either transport. `lost`: why the client dropped the socket
 * itself (shared-socket.ts), which graphql-ws tells as a bare close (its TerminatedCloseEvent, named
 * for its code alone) or error event.
 */
function socketFailure(error: unknown, lost: string | undefined): unknown {
  if (lost !== undefined) return new NetworkError(lost);
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error) return error;
  return new NetworkError(`The WebSocket to the gateway closed${typeof code === 'number' ? ` (${code})` : ''}.`);
}

/**
 * An error of the caller's own code (a callback, or `throw()` on the iterator) raised inside the loop that reads the
 * subscription: carried past its `catch`, which takes anything else for a dropped connection, and thrown as it was.
 */
class CallerError {
  // A declared field rather than a parameter property, which `erasableSyntaxOnly` refuses.
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/** Calls the caller's `callback`, its exception wrapped as a CallerError. */
function tell<A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    callback?.(...args);
  } catch (error) {
    throw new CallerError(error);
  }
}

/** The GraphQL errors of a body: a JSON result, or the `data:` of each event of a stream. */
function errorsIn(text: string): GraphQLErrorShape[] {
  const results = text.trimStart().startsWith('{') ? [text] : text.split('\n').flatMap((line) => (line.startsWith('data:') ? [line.slice(5)] : []));
  return results.flatMap((result) => {
    try {
      return ((JSON.parse(result) as { errors?: GraphQLErrorShape[] }).errors ?? []).filter((each) => typeof each?.message === 'string');
    } catch {
      return [];
    }
  });
}

/** Default `retryDelayMs` and `maxRetryDelayMs`. */
const RETRY_DELAY_MS = 1_000;
const MAX_RETRY_DELAY_MS = 30_000;

/** The pause before `attempt` (from 1): full jitter under a bound that doubles per attempt, up to `maxMs` and a timer's range. */
function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  // The exponent stops where doubling no longer matters: past it 2^n is Infinity, and 0 × Infinity is NaN. Past
  // MAX_TIMER_MS setTimeout fires at once: a `maxRetryDelayMs` of Infinity retried a gateway that was down in a tight loop.
  const bound = Math.min(maxMs, MAX_TIMER_MS, baseMs * 2 ** Math.min(attempt - 1, 52));
  return Math.round(Math.random() * Math.max(0, bound));
}

/** The longest delay setTimeout keeps (about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Default `idleTimeoutMs`: two and a half of the gateway's 12 s keep-alive periods. */
const IDLE_TIMEOUT_MS = 30_000;

/** Default `pausedTimeoutMs`: far longer than a page takes to render an update, short beside a socket or a poller left for a page's life. */
const PAUSED_TIMEOUT_MS = 10_000;

/**
 * A `fetch` for one attempt that aborts its request when no byte came for `idleMs`, waiting for the
 * answer's head included; `idled` is then the reason, and `disarm` stops the clock when the attempt ends.
 */
function idleWatchedFetch(idleMs: number): { fetchFn: typeof fetch; idled: Error | undefined; disarm(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watched = {
    idled: undefined as Error | undefined,
    disarm: () => clearTimeout(timer),
    fetchFn: async (input: FetchInput, init?: RequestInit): Promise<Response> => {
      const idle = new AbortController();
      // Linked by hand: AbortSignal.any is missing from browsers a frontend still serves (Safari before 17.4).
      const given = init?.signal;
      if (given?.aborted) idle.abort(given.reason);
      else given?.addEventListener('abort', () => idle.abort(given.reason), { once: true });
      let answered = false;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          // A browser holds a request back while its 6 HTTP/1.1 connections to the host are taken (by other watches):
          // such a request never reached the gateway, and no reconnection can help it.
          watched.idled = new Error(
            answered
              ? `No byte from the gateway for ${idleMs} ms: the connection is taken as lost.`
              : `No answer from the gateway for ${idleMs} ms: the request is taken as lost. In a browser it may never have been sent, waiting for one of the 6 HTTP/1.1 connections per host that other watches hold: watch many executions with transport: 'websocket'.`,
          );
          idle.abort(watched.idled);
        }, idleMs);
      };
      arm();
      const response = await fetch(input, { ...init, signal: idle.signal });
      answered = true;
      if (!response.body) {
        watched.disarm();
        return response;
      }
      // Every chunk, a keep-alive comment too, shows the connection lives; aborting errors the body being read.
      const body = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            arm();
            controller.enqueue(chunk);
          },
          flush: () => watched.disarm(),
        }),
      );
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    },
  };
  return watched;
}

/**
 * Resolves after `ms`, or at once when `signal` aborts (an abort must not wait out a long backoff), or when `wake`,
 * given the resolver, calls it; `wake` returns the function that stops it listening, called however the pause ends.
 */
function pause(ms: number, signal: AbortSignal | undefined, wake?: (done: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    let ended = false;
    let stopWaking: (() => void) | undefined;
    const done = () => {
      ended = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      stopWaking?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    stopWaking = wake?.(done);
    // Woken while it started listening: nothing is left to listen for.
    if (ended) stopWaking?.();
  });
}

/** The longest a woken watch waits, at random, before it subscribes again: a page's watches spread over it. */
const WAKE_SPREAD_MS = 1_000;

/** What a browser's window offers for its `online` event; absent elsewhere (Node). */
interface OnlineEvents {
  addEventListener(type: 'online', listener: () => void): void;
  removeEventListener(type: 'online', listener: () => void): void;
}

/**
 * Ends early (`back`) the pause of a watch that lost its connection, once the gateway serves again, and returns the
 * function that stops listening: when a subscription on a later connection of the shared socket than the one lost
 * (`lostConnection`, its count) has received an update (each watch's own backoff left some on a healthy socket for
 * up to `maxRetryDelayMs`; an acknowledgement alone is no sign, as a gateway that acknowledges and drops would wake
 * every watch in lock-step), or when the browser is back online. Either way after a random wait of up to `baseMs`
 * or WAKE_SPREAD_MS, whichever is shorter, so a page's watches do not all ask in the same millisecond. A watch that
 * failed on its own (an error of its execution on a healthy socket) is not woken: it keeps its backoff.
 */
function whenReachable(socket: SocketLease | undefined, lostConnection: number, baseMs: number, back: () => void): () => void {
  let soon: ReturnType<typeof setTimeout> | undefined;
  const wake = () => {
    soon ??= setTimeout(back, Math.random() * Math.min(baseMs, WAKE_SPREAD_MS));
  };
  // Another watch may have been served on a new connection between this one's failure and its pause.
  if (socket && socket.servedOn() > lostConnection) wake();
  const offServed = socket?.onServed((connection) => {
    if (connection > lostConnection) wake();
  });
  const events = typeof (globalThis as Partial<OnlineEvents>).addEventListener === 'function' ? (globalThis as unknown as OnlineEvents) : undefined;
  events?.addEventListener('online', wake);
  return () => {
    offServed?.();
    events?.removeEventListener('online', wake);
    clearTimeout(soon);
  };
}

/**
 * A TypeError unless `transport: 'websocket'` has a WebSocket class: `webSocketImpl`, or the runtime's own. Left to
 * graphql-ws, both mistakes read "WebSocket implementation missing … pass `webSocketImpl: WebSocket` to `createClient`",
 * naming a function the caller never called, and told one who had passed `ws`'s module namespace
 * (`import * as WebSocket from 'ws'`, an object) to pass what it had passed.
 */
function checkedSocketClass(webSocketImpl: unknown): void {
  if (webSocketImpl === undefined) {
    if (typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function') return;
    throw new TypeError("transport: 'websocket' needs a WebSocket class, and this runtime has none of its own (Node 20): pass `webSocketImpl: WebSocket`, with `import WebSocket from 'ws'`.");
  }
  if (typeof webSocketImpl !== 'function') {
    throw new TypeError(
      `webSocketImpl is ${webSocketImpl === null ? 'null' : `a${typeof webSocketImpl === 'object' ? 'n object' : ` ${typeof webSocketImpl}`}`}, not a WebSocket class: pass ws's default export (\`import WebSocket from 'ws'\`; \`import * as WebSocket from 'ws'\` gives the module, not the class).`,
    );
  }
}

/**
 * Throws the TypeError `unsendableHeader` gives for `headers` fetch cannot send: fetch refused each attempt before sending
 * it, graphql-sse told that as a NetworkError, and the watch subscribed again at every backoff for ever. An Authorization
 * among them gives way to the `authorization` argument, which is checked on its own.
 */
function checkedHeaders(headers: HeadersInit | undefined): void {
  for (const [name, value] of headerPairs(headers)) {
    const unsendable = name.toLowerCase() === 'authorization' ? undefined : unsendableHeader(name, value);
    if (unsendable) throw unsendable;
  }
}

/** `ms`, or Infinity (no timer) past MAX_TIMER_MS, the longest a timer can be armed for (24.8 days). */
function withinTimers(ms: number): number {
  return ms > MAX_TIMER_MS ? Infinity : ms;
}

/** `ms` as given for option `name`, or a RangeError saying what it takes: a number of ms, above 0 or from 0 on (Infinity included). */
function checkedMs(name: string, ms: number, least: 'positive' | 'zero allowed'): number {
  if (typeof ms === 'number' && (least === 'positive' ? ms > 0 : ms >= 0)) return ms;
  throw new RangeError(`${name} must be a number of ms ${least === 'positive' ? 'above 0' : 'from 0 on'}; got ${String(ms)}.`);
}

/**
 * Yields the updates of execution `id` from the gateway at `endpoint` (its `/graphql` URL) with
 * `authorization` (`Bearer …`), subscribing again as needed, until the update that ends the
 * execution. Throws WatchError for what ends a watch (see above), at once a WatchError
 * UNAUTHENTICATED for an `authorization` no HTTP header can carry (whitespace around it is left
 * out, as fetch leaves it out), at once a RangeError for a `retryDelayMs` or `maxRetryDelayMs` that is not a
 * positive number or an `idleTimeoutMs` or `pausedTimeoutMs` that is negative or NaN (0 or NaN pauses retried in a
 * tight loop against a gateway that was down), at once a TypeError over `transport: 'websocket'` with no WebSocket
 * class (`webSocketImpl`, above) or over Server-Sent Events for `headers` fetch cannot send (above), and at once a TypeError for an
 * `endpoint` that is no http(s) URL (in a page, a path such as `/graphql` is resolved against the
 * page's address); returns at once, without an error, when `options.signal` aborts or `return()` is called, a pause
 * between attempts and a `next()` still waiting for an update included.
 */
export function watchExecution(endpoint: string, authorization: string, id: string, options: WatchOptions = {}): AsyncGenerator<ExecutionUpdate> {
  const returned = new AbortController();
  const watch = watching(endpoint, authorization, id, options, returned.signal);
  const queuedReturn = watch.return.bind(watch);
  // An async generator queues return() behind a pending next(): a component's cleanup racing its loop held the
  // subscription, its connection and the gateway's poller until the next update came, minutes on a waiting execution.
  // Aborted first, that next() ends at once (done), and the return() queued behind it with it.
  watch.return = (value) => {
    returned.abort();
    return queuedReturn(value);
  };
  return watch;
}

/** The watch itself: `watchExecution`'s, ended by `options.signal` or by `returned` (its `return()`), whichever aborts first. */
async function* watching(endpoint: string, authorization: string, id: string, options: WatchOptions, returned: AbortSignal): AsyncGenerator<ExecutionUpdate> {
  const url = httpEndpoint(endpoint);
  // A page's token not loaded yet (undefined, null) failed as "Cannot read properties of undefined": no code to switch on.
  if (typeof authorization !== 'string') {
    throw new WatchError(`authorization is ${authorization === null ? 'null' : typeof authorization}, not a string: pass the token as \`Bearer <token>\` once it is known.`, 'UNAUTHENTICATED');
  }
  const token = headerValue(authorization);
  // fetch's refusal reads as a dropped connection, retried for ever over Server-Sent Events; the gateway refuses it over
  // a WebSocket. Refused here, the same on both, before anything is sent.
  if (token === undefined) {
    throw new WatchError('authorization is not a valid Authorization header value: control characters (line breaks included) and characters past U+00FF are not allowed.', 'UNAUTHENTICATED');
  }
  // Read once: checked here and sent with every attempt, an iterator's pairs were checked and never sent.
  const headers = requestableHeaders(options.headers);
  if (options.transport !== 'websocket') checkedHeaders(headers);
  let eventsAfter = options.eventsAfter ?? null;
  const query = print(ExecutionUpdatesDocument);
  const baseMs = checkedMs('retryDelayMs', options.retryDelayMs ?? RETRY_DELAY_MS, 'positive');
  const maxMs = checkedMs('maxRetryDelayMs', options.maxRetryDelayMs ?? MAX_RETRY_DELAY_MS, 'positive');
  // Past MAX_TIMER_MS setTimeout fires at once: an idleTimeoutMs of 30 days aborted every attempt after 1 ms (over a
  // WebSocket, closed every socket as unacknowledged), a pausedTimeoutMs of 30 days let each unread update's
  // subscription go at once. No timer holds that long: such a bound is none, as Infinity is.
  const idleMs = withinTimers(checkedMs('idleTimeoutMs', options.idleTimeoutMs ?? IDLE_TIMEOUT_MS, 'zero allowed'));
  const pausedMs = withinTimers(checkedMs('pausedTimeoutMs', options.pausedTimeoutMs ?? PAUSED_TIMEOUT_MS, 'zero allowed'));
  /** Subscriptions made since the last update: an update shows the gateway answers, so the backoff starts over. */
  let attempt = 0;
  /**
   * The cursors of the events this watch yielded (an event's cursor names it, whatever its place): a subscription it makes
   * again from its last cursor may send again events it yielded, where upstream inserted a late event before events it
   * had listed (README "Live executions", Resume without gaps), and they were yielded twice. About 100 bytes an event.
   */
  const delivered = new Set<string>();
  if (options.transport === 'websocket') checkedSocketClass(options.webSocketImpl);
  const leaseSocket = () => (options.transport === 'websocket' ? sharedSocket(socketUrl(url), token, options.webSocketImpl, idleMs) : undefined);
  let lease = leaseSocket();
  /**
   * Set when the watch was let go of whole (`pausedTimeoutMs`): its socket's lease given back and the caller's signal
   * no longer heard, both taken again when it is read on.
   */
  let wholeLetGo = false;
  // One signal for both ways a watch is ended: the caller's signal and return().
  const ending = new AbortController();
  const signal = ending.signal;
  const callerAborted = () => ending.abort(options.signal?.reason);
  /** Listens to the caller's signal: from the start, and again when a watch let go of (`pausedTimeoutMs`) is read on. */
  const hearCaller = () => {
    if (options.signal?.aborted) callerAborted();
    else options.signal?.addEventListener('abort', callerAborted, { once: true });
  };
  hearCaller();
  returned.addEventListener('abort', () => ending.abort(returned.reason), { once: true });
  try {
    for (;;) {
      /** Why the watch subscribes again, for `onRetry`. */
      const streamEnded = new Error('The stream ended before the execution did.');
      let reason: unknown = streamEnded;
      /** Set when the subscription was let go of while its last update was not read (`pausedTimeoutMs`). */
      let letGo = false;
      /**
       * Set when this attempt lost its connection, not when its own execution failed: the shared socket's count of
       * that connection (0 over Server-Sent Events). A later one that serves ends the pause (`whenReachable`).
       */
      let lostConnection: number | undefined;
      if (wholeLetGo) hearCaller();
      if (signal.aborted) return;
      if (wholeLetGo) {
        lease = leaseSocket();
        wholeLetGo = false;
      }
      const socket = lease;
      const payload = { query, variables: { id, eventsAfter, filter: options.filter ?? null } };
      const watchdog = !socket && idleMs > 0 && Number.isFinite(idleMs) ? idleWatchedFetch(idleMs) : undefined;
      let client: ReturnType<typeof createClient> | undefined;
      let results: AsyncIterableIterator<{ data?: ExecutionUpdatesSubscription | null | undefined; errors?: readonly unknown[] | undefined; extensions?: unknown }>;
      /** Bytes of the subscription's payload: over a WebSocket, what a 1009 close is laid to. */
      let payloadBytes = 0;
      if (socket) {
        payloadBytes = new TextEncoder().encode(JSON.stringify(payload)).length;
        socket.subscribing(payloadBytes);
        results = socket.client.iterate<ExecutionUpdatesSubscription>(payload);
      } else {
        client = createClient({ url, headers: withAuthorization(headers, token), retryAttempts: 0, fetchFn: causeTelling(watchdog?.fetchFn) });
        results = client.iterate<ExecutionUpdatesSubscription>(payload);
      }
      const stop = () => {
        void results.return?.();
        // graphql-ws's return() leaves a subscription whose socket is still opening waiting for it (for ever when nothing
        // answers); its throw() ends the iteration at once.
        if (socket) void results.throw?.(signal.reason);
      };
      signal.addEventListener('abort', stop, { once: true });
      /** Whether this subscription yielded an update: past one, the `eventsAfter` it was sent with replays events. */
      let yielded = false;
      /** The shared socket's count of the connection that closed under this subscription, as it closed. */
      let closedOn: number | undefined;
      /** A socket closed with 1000 under this subscription, once it yielded. */
      let closedNormally: unknown;
      // graphql-ws takes a 1000 close (a proxy's) as no failure and subscribes again by itself, with this subscription's
      // variables: ended here instead, the watch subscribes again from its last cursor, as for any other close.
      let offClosed = socket?.client.on('closed', (event) => {
        // The connection this attempt loses, counted as it closes: a slow page reads the failure after a newer one opened.
        closedOn ??= socket.connections();
        if (!yielded || (event as { code?: unknown } | null)?.code !== 1000) return;
        closedNormally = socketFailure(event, undefined);
        lostConnection = closedOn;
        void results.return?.();
      });
      /**
       * Stops listening to the socket and the signal; once only: graphql-ws's `off` called twice takes another
       * listener off.
       */
      const detach = () => {
        offClosed?.();
        offClosed = undefined;
        signal.removeEventListener('abort', stop);
      };
      try {
        for await (const result of results) {
          const errors = (result.errors ?? []) as unknown as GraphQLErrorShape[];
          const update = result.data?.executionUpdates;
          if (!update) {
            // The gateway asks for another watch: subscribe again, from the last cursor.
            const resumed = errors.find((error) => RESUMED_CODES.has(error.extensions?.code));
            // Unless the gateway says asking again gets the same answer (a body past its bound): resubscribed, the
            // watch was refused the same way every backoff, for as long as the page stayed open.
            if (resumed && resumed.extensions?.retryable === false) throw new WatchError(resumed.message, resumed.extensions.code);
            if (resumed) {
              reason = new WatchError(resumed.message, resumed.extensions?.code);
              break;
            }
            // The gateway is busy for now (README "Live executions"): subscribe again once `retryAfterMs` has passed.
            const later = busy(errors);
            if (later) {
              reason = later;
              break;
            }
            const outage = errors.find((error) => error.extensions?.code === 'UPSTREAM_UNAVAILABLE');
            if (outage) {
              const { upstreamStatus, retryAfterMs } = outage.extensions ?? {};
              tell(options.onOutage, {
                message: outage.message,
                code: 'UPSTREAM_UNAVAILABLE',
                ...(typeof upstreamStatus === 'number' ? { upstreamStatus } : {}),
                ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}),
              });
              continue;
            }
            const first = errors[0];
            throw new WatchError(first?.message ?? 'The watch ended with an error.', first?.extensions?.code);
          }
          if (update.cursor) eventsAfter = update.cursor;
          const fresh = update.newEvents.filter((edge) => !delivered.has(edge.cursor));
          for (const edge of fresh) delivered.add(edge.cursor);
          const shown = fresh.length === update.newEvents.length ? update : { ...update, newEvents: fresh };
          attempt = 0;
          yielded = true;
          // The watch reached the gateway's time limit while the execution still runs: subscribe again, from the last cursor.
          const timedOut = update.isFinal && update.endReason === 'WATCH_TIME_LIMIT';
          // The gateway's contract, trusted as the data is: both transports type extensions loosely.
          const extensions = result.extensions as { warnings?: unknown; warningsOmitted?: unknown } | undefined;
          const warnings = Array.isArray(extensions?.warnings) ? (extensions.warnings as DataWarning[]) : [];
          const omitted = typeof extensions?.warningsOmitted === 'number' ? extensions.warningsOmitted : 0;
          // The list can be empty while notes were left out: ones listed first were dropped with an error's path.
          if (warnings.length > 0 || omitted > 0) tell(options.onWarnings, warnings, shown, omitted);
          // Held while unread, the subscription keeps its socket (the last one's) and the gateway's poller for nobody.
          const unread =
            !update.isFinal && pausedMs > 0 && Number.isFinite(pausedMs)
              ? setTimeout(() => {
                  letGo = true;
                  stop();
                  // A watch whose iterator was dropped is never resumed, so its `finally` never runs: kept by the signal's
                  // listener and the socket's (and the socket by its lease), each such watch stayed for the process's life.
                  detach();
                  options.signal?.removeEventListener('abort', callerAborted);
                  socket?.release();
                  wholeLetGo = true;
                }, pausedMs)
              : undefined;
          try {
            yield shown;
          } catch (error) {
            // Thrown into the watch by its caller (`throw()`): the caller's, not the connection's.
            throw new CallerError(error);
          } finally {
            clearTimeout(unread);
          }
          if (letGo) break;
          if (timedOut) {
            reason = new WatchError('The watch reached the gateway\'s time limit; it goes on from its last cursor.', 'WATCH_TIME_LIMIT');
            break;
          }
          if (update.isFinal) return;
        }
        // The stream completed without a final update: the connection ended early.
      } catch (error) {
        // Read before any await: the socket's next opening forgets it.
        const lost = socket?.lost();
        const connection = closedOn ?? socket?.connections() ?? 0;
        const upgradeRefusal = refusedUpgrade(socket?.refusedWith(), socketUrl(url));
        const upgradePaused = pausedUpgrade(socket?.refusal(), socketUrl(url));
        // A callback's exception (a page's bug) ends the watch as it was thrown: taken for a dropped connection, it was told
        // to onRetry, and the watch subscribed again past the update it never yielded, whose events were lost.
        if (error instanceof CallerError) throw error.error;
        if (error instanceof WatchError) throw error;
        if (upgradeRefusal) throw upgradeRefusal;
        // 1009 closes the socket under every watch on it, and the largest payload is the one the gateway took for too
        // large: subscribed again, it closed the socket again, each time, with every other watch of the page on it.
        if (socket?.tooBig()) {
          throw new WatchError(
            `The gateway closed the WebSocket with 1009: this watch's subscription (${payloadBytes} bytes of JSON) is larger than a message it takes (MAX_REQUEST_BODY_BYTES, 64 KiB unless set). A smaller filter fits; over Server-Sent Events the same watch is refused with 413.`,
            'BAD_REQUEST',
          );
        }
        // graphql-ws throws the errors of a subscription the gateway refused as a whole (an `error` message) as their list.
        const socketRefusal = Array.isArray(error) ? refusedOnSocket(error) : undefined;
        if (socketRefusal && !RESUMED_CODES.has(socketRefusal.code) && socketRefusal.retryAfterMs === undefined) throw socketRefusal;
        const refusal = socketRefusal ? undefined : await refused(error);
        if (refusal) throw refusal;
        const answerPaused = socketRefusal ? undefined : await pausedAnswer(error);
        // A dropped connection (a closed socket too), or a drain's refusal: subscribe again from the last cursor.
        reason = socketRefusal ?? upgradePaused ?? answerPaused ?? (socket ? socketFailure(error, lost) : error);
        if (!socketRefusal) lostConnection = connection;
      } finally {
        detach();
        watchdog?.disarm();
        client?.dispose();
      }
      if (signal.aborted) return;
      // Read again after it let go: subscribe again at once, from the last update read.
      if (letGo) continue;
      // Aborting a silent stream may end it as quietly as a completed one: say why either way.
      if (watchdog?.idled) reason = watchdog.idled;
      if (closedNormally) reason = closedNormally;
      // A connection gone silent, or a stream that completed with no final update: the connection ended early.
      if (watchdog?.idled || reason === streamEnded) lostConnection ??= closedOn ?? socket?.connections() ?? 0;
      attempt++;
      // A busy gateway's `retryAfterMs` is a floor: its own jitter spreads a herd of refused watches, and the full
      // jitter above it still grows with the attempts while the gateway stays busy.
      const asked = reason instanceof WatchError ? (reason.retryAfterMs ?? 0) : 0;
      // Held to a timer's range: past 2^31 − 1 ms setTimeout fires at once, and a huge ask from a proxy would be a busy loop.
      const delayMs = Math.max(retryDelay(attempt, baseMs, maxMs), Math.min(Math.ceil(asked), MAX_TIMER_MS));
      options.onRetry?.(reason, attempt, delayMs);
      const lost = lostConnection;
      await pause(delayMs, signal, lost === undefined ? undefined : (back) => whenReachable(socket, lost, baseMs, back));
    }
  } finally {
    options.signal?.removeEventListener('abort', callerAborted);
    lease?.release();
  }
}
