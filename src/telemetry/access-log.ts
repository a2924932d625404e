/**
 * One JSON line per request (pino), as ACCESS_LOG says: `off`, `errors` (a
 * status of 400 or more, any error in the result, or an HTTP answer cut off
 * that is no event stream), `sampled` (every error
 * plus ACCESS_LOG_SAMPLE_PERCENT of the rest) or `all`. A subscription's line
 * is written when it ends, with what all its updates cost; one refused as it
 * starts says so too (`subscription ended`, with its code). A WebSocket
 * operation the edge refused before anything read it (`edgeRefusal`) is no
 * known query or subscription: `operation refused`, with the name it was sent with.
 * What the edge answers itself with an error (its refusals over HTTP and of WebSocket upgrades, its masked
 * 500 when the pipeline failed outside itself) gets a line too, through `edgeAnswered`, a 405 at `/health` or
 * `/ready` included; its own `/health`, `/ready` and plain `OPTIONS` answers get none.
 *
 * Fields (README "Operating → Access log"): requestId, traceId (the operation's span,
 * else the `traceparent` the request brought), operationName (as sent, at most
 * 100 characters), operationType, transport (`http`, `sse`, `ws`), method and path
 * (of an HTTP request or upgrade whose head was read: the path without its query, at
 * most MAX_LOGGED_PATH_LENGTH characters), upgradeRequestId
 * (over WebSocket: the connection's, the one id its client holds), clientAddress (the connection's peer,
 * or with TRUSTED_PROXIES the nearest address in `X-Forwarded-For` that is no trusted proxy), status,
 * durationMs, upstreamCalls, cacheHits, sharedCalls, errorCodes, and
 * upstreamRequestIds when an error or a data warning came from upstream (its `upstreamRequestId`,
 * what a ticket with upstream names; at most MAX_LOGGED_UPSTREAM_IDS, each cut), and
 * `aborted: true` when an HTTP answer did not go out whole (see `settle`). Never a
 * header (but an IP address in X-Forwarded-For, with TRUSTED_PROXIES), a variable, a token, the query string or
 * the document: nothing a caller sent beyond the method, the path and the operation's name.
 *
 * The HTTP answers it tells of are also counted (`answered`: the metrics' gateway_http_responses_total), logged
 * or not: where the final status of each, the edge's own answers included, is known.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult, type GraphQLError } from 'graphql';
import { isAsyncIterable, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { TelemetryConfig } from '../config.js';
import { ACCESS_LINE_BINDINGS, type Logger } from '../logger.js';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import { refusalCode } from '../pipeline/request-errors.js';
import { ErrorCode } from '../errors.js';
import type { GatewayContext } from '../request/context.js';
import { isShutdownCut, wasCutBeforeItsHead, wasCutByShutdown } from '../request/shutdown-cut.js';
import { errorCodeLabel, MAX_OPERATION_NAME_LENGTH, METRICS_PATH } from './metrics.js';
import { remoteSpanContext } from './trace-context.js';
import { takeRefusedRequestTraceId } from './operation-spans.js';
import { clientAddress, type AddressSource } from '../server/client-address.js';
import { pathOf } from '../server/raw-http.js';
import { textPrefix } from '../text-prefix.js';

interface Entry {
  started: number;
  requestId: string | undefined;
  transport: 'http' | 'sse' | 'ws';
  /** The HTTP request's (or refused upgrade's) method and path: absent where no head was read, and for an operation sent over a WebSocket. */
  method: string | undefined;
  path: string | undefined;
  /** Where `clientAddress` is read from, when the line is written (../server/client-address.ts): read only for a line. */
  addressSource: AddressSource;
  /** Over WebSocket: the id of the connection's upgrade, the one id its client holds. */
  upgradeRequestId: string | undefined;
  traceId: string | undefined;
  operationName: string | undefined;
  operationType: string | undefined;
  status: number | undefined;
  upstreamCalls: number;
  cacheHits: number;
  sharedCalls: number;
  errorCodes: Set<string>;
  /** Upstream's ids of the responses the client's errors came from; made on the first. */
  upstreamRequestIds: Set<string> | undefined;
  /** A subscription's line waits for its end. */
  streaming: boolean;
  /** Refused by the edge before its document was read (a WebSocket operation): its type is unknown. */
  refusedUnread: boolean;
  ended: boolean;
  /** node's response of an HTTP request (the edge's `res`): the line waits for it to close. Absent over WebSocket. */
  response: ServerResponse | undefined;
  /** An HTTP answer (`answered` counts it), where an operation over a WebSocket is none. */
  httpAnswer: boolean;
  /** Over WebSocket: the operation's request's signal, aborted with a shutdown cut when the drain cut its socket. */
  signal: AbortSignal | undefined;
}

/** Upstream request ids one line names: `executions(ids)` may fail 100 ids, each with its own. */
const MAX_LOGGED_UPSTREAM_IDS = 10;
/** Characters kept of each (whole ones: `textPrefix`): upstream writes them, and a header may be kilobytes long. */
const MAX_UPSTREAM_ID_LENGTH = 128;
/** Characters kept of a path: a request line may be 16 KiB long (node's head limit, `maxHeaderSize`), most of it a scanner's. */
const MAX_LOGGED_PATH_LENGTH = 200;

/**
 * The method and path of `request` as its line names them: the path the edge routes by (`pathOf`: without the
 * query, which holds a GET's variables), without the user and password an absolute-form target may carry (one
 * the edge did not rewrite to origin form: `ftp://user:secret@host/x`), cut to MAX_LOGGED_PATH_LENGTH characters.
 */
function requestTarget(request: Pick<IncomingMessage, 'method' | 'url'> | undefined): { method: string | undefined; path: string | undefined } {
  if (!request) return { method: undefined, path: undefined };
  // The user and password go before the query is cut: a password may hold a `?`.
  const url = request.url ?? '/';
  const path = pathOf(url.charCodeAt(0) === 47 /* / */ ? request : { url: withoutUserinfo(url) });
  return { method: request.method, path: path.slice(0, MAX_LOGGED_PATH_LENGTH) };
}

/** A scheme at the start of a target (RFC 3986 §3.1), with the `//` of an authority. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `target` without the userinfo of its authority (RFC 3986 §3.2.1: what precedes the last `@` before the path). */
function withoutUserinfo(target: string): string {
  const from = SCHEME.exec(target)?.[0].length ?? 0;
  const slash = target.indexOf('/', from);
  const at = target.lastIndexOf('@', slash < 0 ? target.length : slash);
  return at < from ? target : target.slice(0, from) + target.slice(at + 1);
}

/** The line's `clientAddress` field, absent when it is unknown. */
function withClientAddress(address: string | undefined): { clientAddress?: string } {
  return address === undefined ? {} : { clientAddress: address };
}

/** The result's error codes, and the upstream responses its errors and data warnings came from. */
function noteResult(entry: Entry, result: ExecutionResult): void {
  for (const error of result.errors ?? []) {
    entry.errorCodes.add(String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR));
    noteUpstreamId(entry, error.extensions?.upstreamRequestId);
  }
  const warnings = result.extensions?.warnings;
  if (Array.isArray(warnings)) for (const warning of warnings) noteUpstreamId(entry, (warning as { upstreamRequestId?: unknown }).upstreamRequestId);
}

function noteUpstreamId(entry: Entry, upstreamId: unknown): void {
  if (typeof upstreamId !== 'string') return;
  const ids = (entry.upstreamRequestIds ??= new Set());
  if (ids.size < MAX_LOGGED_UPSTREAM_IDS) ids.add(textPrefix(upstreamId, MAX_UPSTREAM_ID_LENGTH));
}

function addCost(entry: Entry, context: GatewayContext | undefined): void {
  const cost = context?.scope?.cost;
  if (!cost) return;
  entry.upstreamCalls += cost.calls;
  entry.cacheHits += cost.cacheHits;
  entry.sharedCalls += cost.sharedCalls;
}

/**
 * Whether an HTTP answer did not go out whole, once its response has closed: it never finished writing, or its
 * connection failed under it. node emits 'finish' (and `writableFinished` holds) for an answer written in one `end`
 * even when the connection was reset while the kernel still had most of it to send (the fast lane's 30 MB result
 * to a client that read 64 KB: ECONNRESET, then 'finish'); the connection's error says so. A connection closed
 * cleanly after a whole answer (`Connection: close`) holds no error.
 */
function cutOff(response: ServerResponse, socket: Duplex | null): boolean {
  return !response.writableFinished || (socket !== null && socket.errored !== null);
}

/** An answer the edge sent itself, with an error: the fields of its access line. */
export interface EdgeAnswered {
  requestId: string;
  /** The request whose head was read, for the line's method and path (`requestTarget`); absent for malformed HTTP. */
  request?: Pick<IncomingMessage, 'method' | 'url' | 'headers' | 'socket'> | undefined;
  /** A refused upgrade's id again: where lines of WebSocket connections are looked up. */
  upgradeRequestId?: string;
  /** `ws` for a refused WebSocket upgrade. */
  transport: 'http' | 'ws';
  status: number;
  code: string;
  /**
   * performance.now() when the request's head arrived; absent where no head was taken (malformed HTTP, a head
   * past its time limit, CONNECT, an upgrade, an Expect refused): durationMs about 0.
   */
  started?: number | undefined;
  /** The request's `traceparent` as node read it, when it brought one: the line's `traceId` (not when repeated). */
  traceparent?: string | string[] | undefined;
  /**
   * What the answer went out on, for the line to wait until it has (and say `aborted` when it did not go out
   * whole): node's response of an HTTP answer, also to skip a line the pipeline has due for it already; or the
   * socket an answer was written on raw.
   */
  response?: ServerResponse | undefined;
  socket?: Duplex | undefined;
  /** The client closed the connection before its request was whole: `aborted`, however the answer went out (`whenWrittenRaw`). */
  clientLeft?: boolean | undefined;
}

/** The access log: the plugin that writes the line of each request the pipeline answers, and the edge's own lines. */
export interface AccessLog {
  readonly plugin: Plugin;
  /** Writes the line of an answer the edge sent itself (`EdgeAnswered`), as ACCESS_LOG says: every one is an error. */
  edgeAnswered(answer: EdgeAnswered): void;
  /**
   * The edge answered the request of `response` itself, raw on `answer.socket`, while the pipeline had it (its body
   * past a time limit, its chunks malformed): the pipeline's line, one still, says the status and code the client got,
   * the time from the head's arrival (`answer.started`) to that answer, and `aborted` as that answer went out.
   */
  edgeAnsweredInstead(response: ServerResponse, answer: InsteadAnswer): void;
}

/** The edge's own answer to a request the pipeline had (`edgeAnsweredInstead`). */
export interface InsteadAnswer {
  status: number;
  code: string;
  /** performance.now() when the request's head arrived. */
  started: number;
  /** The socket the answer was written on raw. */
  socket: Duplex;
  /** The client closed the connection before its request's body was whole: `aborted`, however the answer went out (`whenWrittenRaw`). */
  clientLeft?: boolean | undefined;
}

/** Told of every HTTP answer a line tells of, as the line is due, whatever ACCESS_LOG says: the metrics' count of answers. */
export type AnswerCounter = (method: string | undefined, status: number | undefined, transport: 'http' | 'sse' | 'ws') => void;

/**
 * `answered`, when given, is told of every HTTP answer that has a line (or would have, under ACCESS_LOG's
 * `off`, `errors` and `sampled`): one place knows each answer's final status, the edge's own included.
 */
export function createAccessLog(logger: Logger, settings: Pick<TelemetryConfig, 'accessLog' | 'accessLogSamplePercent' | 'trustedProxies'>, answered?: AnswerCounter): AccessLog {
  // Its own level: LOG_LEVEL tunes the rest of the log; ACCESS_LOG decides these lines. No redaction: every
  // field is the gateway's own (none a header, variable or token), and matching the wildcard paths
  // (src/logger.ts) on every line was most of what pino spent on it.
  const lines = logger.child(ACCESS_LINE_BINDINGS, { level: logger.level === 'silent' ? 'silent' : 'info', redact: [] });
  const entries = new WeakMap<Request, Entry>();
  // node's responses whose line the pipeline's requests have due: a masked 500 the edge sends for a plugin's
  // onResponse that threw after this one's is that line's status (`sent`), not a line of its own.
  const lineDue = new WeakSet<ServerResponse>();
  // node's responses whose request the edge answered on the socket itself (`edgeAnsweredInstead`).
  const answeredInstead = new WeakMap<ServerResponse, InsteadAnswer & { durationMs: number }>();
  const share = settings.accessLogSamplePercent / 100;

  /**
   * Writes the line once node's response has closed: whether the answer went out whole is known only then. The
   * pipeline's answer (its status) is decided before a byte is written, so a client that hung up mid-answer (a 30 MB
   * result, say) or before it was logged as a 200 like any other. `durationMs` is still taken now, when the pipeline
   * answered (or the stream ended). Over WebSocket there is no response: written at once.
   */
  function settle(entry: Entry): void {
    const durationMs = Math.round((performance.now() - entry.started) * 100) / 100;
    const response = entry.response;
    if (!response) {
      // An operation over a WebSocket the drain cut (its socket dropped when the grace ran out): its answer never went
      // out, as an HTTP request's cut before its head (`sent`), and is logged alike, 503 and SHUTTING_DOWN.
      if (isShutdownCut(entry.signal?.reason)) {
        entry.status = 503;
        entry.errorCodes.add(ErrorCode.SHUTTING_DOWN);
      }
      return write(entry, durationMs, false);
    }
    // Taken now: node detaches it from the response once the answer ends, however it ended.
    const socket = response.socket;
    const closed = () => {
      const instead = answeredInstead.get(response);
      if (instead) return whenWrittenRaw(sent(entry, response), instead.durationMs, instead.socket, instead.clientLeft === true);
      write(sent(entry, response), durationMs, cutOff(response, socket));
    };
    // Closed already (the client left before the answer, or mid-stream): 'close' has been emitted.
    if (response.destroyed) return closed();
    response.once('close', closed);
  }

  /**
   * Writes the line of an answer written raw on `socket` once it has gone out whole: once the kernel took all of
   * it ('finish'), not when it failed or closed before (`aborted`). Not waiting for 'close': a client that never
   * closes its side would hold the line as long as its socket.
   *
   * `clientLeft`: the connection ended (the client's FIN) before the request was whole. The kernel takes the answer,
   * and the socket reports it written, whether that client only shut its sending side and reads on or closed both and
   * resets it on arrival: taken as not received (`aborted`), as nginx takes a client's close before its answer. The
   * status stays the one the edge wrote, and is counted so (`answered`).
   */
  function whenWrittenRaw(entry: Entry, durationMs: number, socket: Duplex, clientLeft: boolean): void {
    let written = false;
    const done = () => {
      if (written) return;
      written = true;
      write(entry, durationMs, clientLeft || socket.errored !== null || !socket.writableFinished);
    };
    if (socket.writableFinished || socket.destroyed) return done();
    socket.once('finish', done);
    socket.once('close', done);
  }

  /**
   * The entry with the status node sent, when the edge sent another than the pipeline's: a plugin whose
   * onResponse threw after this one's is the edge's masked 500, which the line called a 200 with no code.
   * SHUTTING_DOWN among its codes when the drain cut the answer, and 503 when it cut it before its head went out.
   */
  function sent(entry: Entry, response: ServerResponse): Entry {
    // Cut by the drain: found under SHUTTING_DOWN, whatever the pipeline made of it (a body cut mid-way is a 400).
    if (wasCutByShutdown(response)) entry.errorCodes.add(ErrorCode.SHUTTING_DOWN);
    const instead = answeredInstead.get(response);
    if (instead) {
      entry.status = instead.status;
      entry.errorCodes.add(instead.code);
      return entry;
    }
    // No status went out: the gateway failed this request, not its client. The pipeline's status (a 200 carrying
    // SHUTTING_DOWN, a 400 for the body the cut shortened), never sent, counted a deploy's cuts as successes or as
    // clients' mistakes; 503 is the status the gateway answers SHUTTING_DOWN with where it can (a refused upgrade), and
    // what a proxy before it answers for a backend gone before its answer (Envoy's 503 `UC`). A client that left is
    // another matter: it was served as far as it let, and keeps the pipeline's status (README "Access log").
    if (wasCutBeforeItsHead(response)) {
      entry.status = 503;
      return entry;
    }
    if (!response.headersSent || response.statusCode === entry.status) return entry;
    if (response.statusCode >= 500) entry.errorCodes.add(ErrorCode.INTERNAL_SERVER_ERROR);
    entry.status = response.statusCode;
    return entry;
  }

  /**
   * The entry leaves the map as soon as its line is due. Left for the WeakMap
   * to drop, every entry (and the response it holds), reached from that
   * long-lived table, outlived young-generation collections and was promoted
   * (docs/performance.md "Memory that outlived its request, again"; `npm run bench:gc`).
   */
  function finish(request: Request | undefined, entry: Entry): void {
    if (request) entries.delete(request);
    if (entry.response) lineDue.add(entry.response);
    settle(entry);
  }

  /** `aborted`: the HTTP answer did not go out whole (node's response closed before it finished writing). */
  function write(entry: Entry, durationMs: number, aborted: boolean): void {
    if (entry.httpAnswer) answered?.(entry.method, entry.status, entry.transport);
    if (settings.accessLog === 'off') return;
    // An answer the client never got whole is a failure, but for an event stream, which a client ends by leaving.
    const failed = (entry.status ?? 0) >= 400 || entry.errorCodes.size > 0 || (aborted && !entry.streaming);
    if (settings.accessLog === 'errors' && !failed) return;
    if (settings.accessLog === 'sampled' && !failed && Math.random() >= share) return;
    lines.info(
      {
        requestId: entry.requestId,
        traceId: entry.traceId,
        operationName: entry.operationName,
        operationType: entry.operationType,
        transport: entry.transport,
        ...(entry.method === undefined ? {} : { method: entry.method, path: entry.path }),
        ...withClientAddress(clientAddress(entry.addressSource, settings.trustedProxies)),
        ...(entry.upgradeRequestId ? { upgradeRequestId: entry.upgradeRequestId } : {}),
        status: entry.status,
        durationMs,
        upstreamCalls: entry.upstreamCalls,
        cacheHits: entry.cacheHits,
        sharedCalls: entry.sharedCalls,
        errorCodes: [...entry.errorCodes],
        ...(entry.upstreamRequestIds ? { upstreamRequestIds: [...entry.upstreamRequestIds] } : {}),
        ...(aborted ? { aborted } : {}),
      },
      // A subscription refused as it starts (a limit) answers one result and no stream: still a subscription's line.
      entry.streaming || entry.operationType === 'subscription' ? 'subscription ended' : entry.refusedUnread ? 'operation refused' : 'request',
    );
  }

  function name(entry: Entry, document: DocumentNode, operationName: string | null | undefined): void {
    const operation = getOperationAST(document, operationName);
    entry.operationType = operation?.operation;
    // The name as sent, even when it names no operation of the document (OPERATION_RESOLUTION_FAILURE).
    const named = operation?.name?.value ?? (typeof operationName === 'string' && operationName !== '' ? operationName : undefined);
    entry.operationName = named === undefined ? undefined : textPrefix(named, MAX_OPERATION_NAME_LENGTH);
  }

  function started(args: { document: DocumentNode; operationName?: string | null | undefined; contextValue: unknown }): Entry | undefined {
    const context = args.contextValue as GatewayContext & { request?: Request };
    const entry = context.request && entries.get(context.request);
    if (!entry) return undefined;
    name(entry, args.document, args.operationName);
    return entry;
  }

  /** A request's entry, started now. */
  function entryOf(request: Request, context: GatewayServerContext): Entry {
    const refusal = context.edgeRefusal;
    const { method, path } = requestTarget(context.req);
    return {
      started: performance.now(),
      requestId: context.requestId,
      // Over HTTP, how the answer went decides (onResponse): an Accept listing text/event-stream may still get JSON.
      transport: context.webSocket ? 'ws' : 'http',
      method,
      path,
      addressSource: { request: context.req ?? context.webSocket?.upgrade },
      upgradeRequestId: context.webSocket?.upgradeRequestId,
      traceId: refusal?.traceId ?? remoteSpanContext(request.headers.get('traceparent'))?.traceId,
      operationName: refusal?.operationName === undefined ? undefined : textPrefix(refusal.operationName, MAX_OPERATION_NAME_LENGTH),
      operationType: undefined,
      status: undefined,
      upstreamCalls: 0,
      cacheHits: 0,
      sharedCalls: 0,
      errorCodes: new Set(),
      upstreamRequestIds: undefined,
      streaming: false,
      refusedUnread: refusal !== undefined,
      ended: false,
      response: context.res,
      httpAnswer: !context.webSocket,
      signal: context.webSocket ? request.signal : undefined,
    };
  }

  function edgeAnswered(answer: EdgeAnswered): void {
    if (answer.response && lineDue.has(answer.response)) return;
    const started = answer.started ?? performance.now();
    const { socket } = answer;
    const { method, path } = requestTarget(answer.request);
    const entry: Entry = {
      started,
      requestId: answer.requestId,
      transport: answer.transport,
      method,
      path,
      addressSource: { request: answer.request, socket: answer.socket },
      upgradeRequestId: answer.upgradeRequestId,
      traceId: typeof answer.traceparent === 'string' ? remoteSpanContext(answer.traceparent)?.traceId : undefined,
      operationName: undefined,
      operationType: undefined,
      status: answer.status,
      upstreamCalls: 0,
      cacheHits: 0,
      sharedCalls: 0,
      errorCodes: new Set([answer.code]),
      upstreamRequestIds: undefined,
      streaming: false,
      refusedUnread: false,
      ended: true,
      response: answer.response,
      httpAnswer: true,
      signal: undefined,
    };
    if (!socket) return settle(entry);
    whenWrittenRaw(entry, Math.round((performance.now() - started) * 100) / 100, socket, answer.clientLeft === true);
  }

  function edgeAnsweredInstead(response: ServerResponse, answer: InsteadAnswer): void {
    answeredInstead.set(response, { ...answer, durationMs: Math.round((performance.now() - answer.started) * 100) / 100 });
  }

  if (settings.accessLog === 'off' && !answered) return { plugin: {}, edgeAnswered: () => undefined, edgeAnsweredInstead: () => undefined };
  const plugin: Plugin = {
    onRequest({ request, serverContext }) {
      entries.set(request, entryOf(request, serverContext as GatewayServerContext));
    },
    // The name as sent and the operation span's trace, for a request refused before its document is parsed (trusted
    // documents, no document, a parse failure): parsing names it again.
    onParams({ request, params }) {
      const entry = entries.get(request);
      if (!entry) return;
      if (typeof params.operationName === 'string' && params.operationName !== '') entry.operationName = textPrefix(params.operationName, MAX_OPERATION_NAME_LENGTH);
      entry.traceId = trace.getActiveSpan()?.spanContext().traceId ?? entry.traceId;
    },
    // Named once parsed, so a line of an operation refused by validation names it too.
    onParse({ context }) {
      const { request, params } = context as { request?: Request; params?: GraphQLParams };
      const entry = request && entries.get(request);
      if (!entry) return;
      return ({ result }) => {
        if (!(result instanceof Error) && result?.kind === Kind.DOCUMENT) name(entry, result as DocumentNode, params?.operationName);
      };
    },
    onExecute({ args }) {
      const entry = started(args);
      if (!entry) return;
      return {
        onExecuteDone({ result }) {
          if (!isAsyncIterable(result)) addCost(entry, args.contextValue as unknown as GatewayContext);
        },
      };
    },
    onSubscribe({ args }) {
      const entry = started(args);
      if (!entry) return;
      return {
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) return;
          entry.streaming = true;
          return {
            onNext({ result: update }) {
              addCost(entry, args.contextValue as unknown as GatewayContext);
              noteResult(entry, update);
            },
            onEnd() {
              entry.ended = true;
              if (entry.status !== undefined) finish((args.contextValue as { request?: Request }).request, entry);
            },
          };
        },
        // The error a stream ends with (NOT_FOUND, say) is no update: it comes here, before onEnd.
        onSubscribeError({ error }) {
          entry.errorCodes.add(errorCodeLabel(error as GraphQLError, undefined));
        },
      };
    },
    onResultProcess({ request, result }) {
      const entry = entries.get(request);
      if (!entry) return;
      // Refused while read, before any operation step: the span made for it then (./operation-spans.ts).
      if (entry.operationType === undefined) entry.traceId = takeRefusedRequestTraceId(request) ?? entry.traceId;
      if (!isAsyncIterable(result)) for (const each of Array.isArray(result) ? result : [result]) noteResult(entry, each);
    },
    onResponse({ request, response, serverContext }) {
      // A plugin before this one may answer in onRequest, and the rest of that hook is skipped: Yoga's GraphiQL page,
      // its CORS preflights. Their line starts here, as they answered at once. A scrape of /metrics on the API port
      // (METRICS=api) gets none, as /health and /ready get none: a line every scrape interval, with no operation
      // fields, looked like a GraphiQL page load.
      let entry = entries.get(request);
      if (!entry && new URL(request.url).pathname === METRICS_PATH) return;
      entry ??= entryOf(request, serverContext as GatewayServerContext);
      entry.status = response.status;
      // Yoga's 404, 405, 406 and 415 come with no result; their error bodies are written by the request-errors step.
      const refused = refusalCode(request);
      if (refused) entry.errorCodes.add(refused);
      if (entry.transport !== 'ws') entry.transport = response.headers.get('content-type')?.startsWith('text/event-stream') ? 'sse' : 'http';
      if (!entry.streaming || entry.ended) finish(request, entry);
    },
  };
  return { plugin, edgeAnswered, edgeAnsweredInstead };
}
