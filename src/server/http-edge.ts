/**
 * The node:http edge: what happens to a request before the pipeline, whatever
 * lane serves it.
 *
 * - Time limits: headers within `headersTimeoutMs`, the whole request within
 *   `requestTimeoutMs` (then 408 and the connection closes), idle keep-alive
 *   connections closed after `keepAliveTimeoutMs`. Node checks these only every
 *   `connectionsCheckingInterval`, so the edge sets it to a fraction of them.
 * - Body limits: a body declared over `maxRequestBodyBytes` gets 413 before
 *   a byte of it is read; a chunked one (no Content-Length) is read at the
 *   edge as it streams, and gets 413 once more than the limit has arrived
 *   (./request-body.ts). Content-Length with Transfer-Encoding is node's 400, told what to send (./malformed-http.ts). A body
 *   the pipeline will not read (a GET's, a 415's, a CSRF 403's) is neither read nor
 *   waited for, on either lane: node discards it as it comes (a chunked one, which
 *   no length bounds, until the answer closes the connection).
 * - Methods: `/graphql` takes GET, POST and OPTIONS; any other (HEAD included)
 *   is a 405 with `Allow`, before any plugin (a PUT without Authorization was
 *   CSRF prevention's 403, one accepting event streams a 405 as an event stream);
 *   an OPTIONS that is no CORS preflight is a 204 with `Allow` (RFC 9110 §9.3.7), and so
 *   is the server-wide `OPTIONS *`, with every method some path takes.
 * - Head limit: a URL past node's `maxHeaderSize` gets 414, a URL and headers past
 *   it together 431, here, with the request's id and CORS headers (./head-size.ts).
 * - Canonical headers: media type case and Accept preference (./media-types.ts);
 *   an ISO-8859-1 body is re-encoded as UTF-8 (./body-charset.ts); a body in a
 *   content coding (gzip …), which no lane decodes, is a 415.
 * - Request lines node's parser refuses: an unknown method is a 501, another
 *   major version of HTTP a 505 (./request-line.ts), not a bare 400.
 * - A field that is no list sent twice (two `Authorization`, two `Content-Type`): a 400
 *   (./repeated-fields.ts); two `Host`, likewise (`hostProblem`).
 * - The request id, assigned here and echoed on every answer, the edge's own
 *   (405, 408, 413, 414, 431, 501, 505, 400 for malformed HTTP) included.
 * - `/health` and `/ready` (./health.ts), answered here: they never reach a lane;
 *   nor does any path the gateway does not serve (a 404).
 * - Requests in flight are counted (./drain.ts), so a drain knows when they are done.
 * - An answer whose client stopped reading (written, not taken for
 *   LIVE_STALLED_CLIENT_MS) is cut and logged once (./stalled-clients.ts), on
 *   either lane: it held the whole answer in the process for as long as the
 *   connection stayed open.
 * - Then the lane: the fast lane (src/fast-lane/) with the body already read, or
 *   Yoga's own node adapter (./yoga-lane.ts). Anything a lane throws is a masked
 *   500 with a code, never a stack.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ServerConfig } from '../config.js';
import { CUT_BY_SHUTDOWN, errorBody, ErrorCode, GRAPHQL_METHODS, SERVER_METHODS, MASKED_MESSAGE, MUTATION_NOT_BY_GET, NO_TUNNELS, notAcceptable, notFound, notGraphQLMethod, onlyGetAndHead, repeatedFieldRefused, seconds, UNSUPPORTED_CONTENT_CODING, UNSUPPORTED_MEDIA_TYPE } from '../errors.js';
import type { Lane } from '../fast-lane/index.js';
import type { Logger } from '../logger.js';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import { requestIdFor } from '../request/request-id.js';
import type { AccessLog } from '../telemetry/access-log.js';
import { CACHE_CONTROL } from '../pipeline/cache-control.js';
import { corsHeaders } from '../pipeline/cors.js';
import type { RequestsInFlight } from './drain.js';
import { probeMethodRefusal, type Health } from './health.js';
import type { StalledClients } from './stalled-clients.js';
import { bodyAsUtf8 } from './body-charset.js';
import { HEAD_FIELD_LIMIT, HEAD_PARSE_LIMIT_BYTES, HEAD_TOO_LARGE, headTooLarge, TRAILERS_TOO_LARGE } from './head-size.js';
import { acceptInPreferenceOrder, postAcceptInPreferenceOrder, PRODUCED, readableContentType, type BodyCharset } from './media-types.js';
import { closeLingering, lingerOnClose } from './lingering-close.js';
import { malformedMessage } from './malformed-http.js';
import { adoptSocket, endWithJson, pathOf, toOriginForm, whenAnswered } from './raw-http.js';
import { bodyWillBeRead } from './expect-continue.js';
import { asksMutationByGet } from './get-mutation.js';
import { asKnownLength, handOver, OVER_LIMIT, readBody, transferCodingProblem } from './request-body.js';
import { fieldLines, repeatedField } from './repeated-fields.js';
import { refusedHeadFields, requestLineRefusal, versionRefusal } from './request-line.js';
import { timeLimits } from './time-limits.js';

export type EdgeSettings = Pick<ServerConfig, 'maxRequestBodyBytes' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'> & {
  /** CORS_ORIGINS: the edge's own answers carry the same CORS headers as the pipeline's. */
  corsOrigins: readonly string[];
  /** Where GraphQL is served (with or without a trailing slash): its answers are negotiated here. */
  graphqlPath: string;
  /** Other paths the pipeline serves (`/metrics` with METRICS=api), in their own media types; any path not listed is a 404 here. */
  otherPaths: readonly string[];
  /** The message of the 404 of a path not served here that has one of its own (`/metrics` elsewhere); others say where GraphQL is. */
  notFoundMessages?: ReadonlyMap<string, string>;
  /** TRUSTED_DOCUMENTS=only: a document's text is not read before the manifest admits it, and no manifest holds a mutation. */
  trustedDocumentsOnly?: boolean;
  /** OPERATION_MAX_TOKENS: a GET's document is read for its operation's type only within it, as the pipeline parses it. */
  maxOperationTokens: number;
};

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

/**
 * The 408's message: which limit the request passed, its time and its setting. The head's limit is the shorter of
 * the two (./time-limits.ts), so a head past HTTP_REQUEST_TIMEOUT_MS set below HTTP_HEADERS_TIMEOUT_MS names that one.
 * It said "The request was not received in time." for both, which told a client neither what was slow nor the time it had.
 */
function timeoutMessage(inBody: boolean, { headersTimeoutMs, requestTimeoutMs }: Pick<EdgeSettings, 'headersTimeoutMs' | 'requestTimeoutMs'>): string {
  if (inBody) return `The request was not received in time: its body must arrive whole within ${seconds(requestTimeoutMs)} of its start (HTTP_REQUEST_TIMEOUT_MS).`;
  const [limitMs, setting] = headersTimeoutMs <= requestTimeoutMs ? [headersTimeoutMs, 'HTTP_HEADERS_TIMEOUT_MS'] : [requestTimeoutMs, 'HTTP_REQUEST_TIMEOUT_MS'];
  return `The request was not received in time: its head (request line and headers) must arrive whole within ${seconds(limitMs)} (${setting}).`;
}

/** llhttp's words for a parse error (node's `reason`), when it gave them. */
function reasonOf(error: NodeJS.ErrnoException & { reason?: unknown }): string | undefined {
  return typeof error.reason === 'string' ? error.reason : undefined;
}

/**
 * What node's own refusals are answered with: status and message. `inBody`: the error came while
 * the body of a request whose head was taken was arriving (not the head of a request after it).
 */
function clientErrorAnswer(error: NodeJS.ErrnoException, inBody: boolean, limits: Pick<EdgeSettings, 'headersTimeoutMs' | 'requestTimeoutMs'>): { status: number; message: string } {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: timeoutMessage(inBody, limits) };
  // An unknown method (501) or another major version (505): the request line said what it was, only not in words llhttp reads.
  const requestLine = requestLineRefusal(error);
  if (requestLine) return requestLine;
  if (error.code !== 'HPE_HEADER_OVERFLOW') return { status: 400, message: malformedMessage(error.code, inBody, reasonOf(error)) };
  // Within a body, only a chunked body's trailer section holds fields: node counts them apart from the head,
  // up to the same HEAD_PARSE_LIMIT_BYTES. Told as the head's size, the client was sent to shorten its URL.
  if (inBody) return { status: 431, message: TRAILERS_TOO_LARGE };
  // Past HEAD_PARSE_LIMIT_BYTES (./head-size.ts). node counts the request line with the headers and cannot
  // say which passed its limit (the chunk it stopped in tells nothing reliable): the message covers a GET's long URL too.
  return { status: 431, message: HEAD_TOO_LARGE };
}

interface EdgeAnswer {
  status: number;
  code: ErrorCode;
  message: string;
  /** Closing the connection stops the client from streaming the rest of a refused body at us. */
  close: boolean;
  /** More response headers (a 406's Accept). */
  headers?: Record<string, string>;
}

function answer(response: ServerResponse, requestId: string, cors: Record<string, string>, { status, code, message, close, headers }: EdgeAnswer): void {
  if (response.headersSent || response.destroyed) return;
  const body = errorBody(code, message);
  response.writeHead(status, {
    ...cors,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
    'cache-control': CACHE_CONTROL,
    ...(close ? { connection: 'close' } : {}),
  });
  response.end(body);
}

/**
 * An ISO-8859-1 body as UTF-8, given to the request as its body and length:
 * Yoga's node adapter reads it from `request.body` (./request-body.ts), and the fast lane takes it as read.
 */
function reencoded(request: IncomingMessage, body: Buffer): Buffer {
  const utf8 = bodyAsUtf8(body, request.headers['content-type']!);
  request.headers['content-length'] = String(utf8.length);
  handOver(request, utf8);
  return utf8;
}

/** A body over the limit (413): declared so, or a chunked one once more than the limit has arrived. */
function tooLarge(settings: EdgeSettings): EdgeAnswer {
  const message = `Request body over ${settings.maxRequestBodyBytes} bytes; GraphQL requests to this API are small.`;
  return { status: 413, code: ErrorCode.BAD_REQUEST, message, close: true };
}

/**
 * Connections whose latest answer closes them. Node goes on parsing what the client had
 * already sent (the rest of a refused body, a request pipelined behind it) and hands each
 * request it finds to the handler, though its answer can never be written: a request
 * pipelined behind a 405 or a 413 went upstream all the same, for no one.
 */
const closing = new WeakSet<Duplex>();

/**
 * Whether `response` is the last answer on `socket`: the client asked to close (or spoke HTTP/1.0),
 * a drain set `Connection: close`, or the edge refused with a close (kept in `closing`: its headers
 * are written by `writeHead`, which node does not keep for `getHeader`).
 */
function closesConnection(response: ServerResponse, socket: Duplex): boolean {
  return !response.shouldKeepAlive || closing.has(socket) || /\bclose\b/i.test(String(response.getHeader('connection') ?? ''));
}

/**
 * After an answer the edge wrote itself: node closes the connection after it when it may not keep it alive (a
 * request that expected 100-continue and got its answer instead: the body it was to send may be on its way, and
 * node cannot tell it from a next request), so nothing pipelined behind it is run either.
 */
function closingIfNode(request: IncomingMessage, response: ServerResponse): void {
  if (!response.shouldKeepAlive && request.socket) closing.add(request.socket);
}

/**
 * Before an answer given while a chunked body is still unread (a GET's, a `415`'s, a CSRF `403`'s, a refusal's): on a
 * connection kept alive node would discard that body as it came, for as long as HTTP_REQUEST_TIMEOUT_MS and whatever
 * its size, since no length bounds it in advance as a declared one is (3.3 GB in 3 s past a MAX_REQUEST_BODY_BYTES of
 * 100 KB). The answer closes the connection instead, which lingers (./lingering-close.ts) at most LINGER_MS for the
 * client to read it. A declared body is bounded by the 413 before it, and keeps its connection.
 */
function closeOnUnreadChunkedBody(request: IncomingMessage, response: ServerResponse): void {
  if (request.headers['transfer-encoding'] === undefined || request.complete || response.headersSent || !request.socket) return;
  response.shouldKeepAlive = false;
  closing.add(request.socket);
}

/** The edge's own refusal, with the CORS headers the pipeline would have sent. */
function refuseWith(request: IncomingMessage, response: ServerResponse, requestId: string, settings: EdgeSettings, refusal: EdgeAnswer): void {
  if (refusal.close && request.socket) closing.add(request.socket);
  closeOnUnreadChunkedBody(request, response);
  answer(response, requestId, corsHeaders(settings.corsOrigins, request.headers.origin), refusal);
  closingIfNode(request, response);
}

type ServedContext = GatewayServerContext & Required<Pick<GatewayServerContext, 'req' | 'res' | 'requestId'>>;

/**
 * Hands the request to its lane; anything the lane throws is a masked 500, never a stack, with the CORS headers
 * `corsOrigins` (CORS_ORIGINS) gives its origin.
 */
function serve(lane: Lane, context: ServedContext, body: Buffer | null, logger: Logger, accessLog: AccessLog | undefined, started: number, corsOrigins: readonly string[]): void {
  try {
    const served = lane.serve(context.req, context.res, context, body);
    if (served) served.catch((error: unknown) => failed(context, error, logger, accessLog, started, corsOrigins));
  } catch (error) {
    failed(context, error, logger, accessLog, started, corsOrigins);
  }
}

function failed(context: ServedContext, error: unknown, logger: Logger, accessLog: AccessLog | undefined, started: number, corsOrigins: readonly string[]): void {
  const { req, res, requestId } = context;
  logger.error({ requestId, err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'request failed outside the pipeline');
  if (res.headersSent) return void res.destroy();
  // With CORS headers as every other answer: without them a page at an allowed origin saw only "Failed to fetch",
  // and could read neither the code nor the request id to report.
  answer(res, requestId, corsHeaders(corsOrigins, req.headers.origin), { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, message: MASKED_MESSAGE, close: false });
  // Its line, unless the pipeline's is due already (a plugin's onResponse threw after the access log's: that line says 500).
  accessLog?.edgeAnswered({ requestId, request: req, transport: 'http', status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, started, traceparent: req.headers.traceparent, response: res });
}

/**
 * Why the Host header cannot be used, or undefined when it can (RFC 9112 §3.2:
 * HTTP/1.1 requires one, and a server answers 400 to an invalid one or to more than one). Valid is
 * what WHATWG's URL parser takes as the host of an http URL, as the pipeline's
 * Request needs; decided once per distinct value. The WebSocket upgrade
 * (./websocket.ts), which never reaches the edge's request handler, applies it too.
 */
export function hostProblem(request: IncomingMessage): string | undefined {
  // Node keeps the first of several Host lines and drops the rest; a proxy in front may have routed by another (RFC 9112 §3.2: a 400).
  if (fieldLines(request, 'host') > 1) return 'More than one Host header.';
  const host = request.headers.host;
  // Required from HTTP/1.1 on; probes still speak 1.0 and 0.9. An empty Host is allowed (the URL gets the socket's address).
  if (host === undefined) return request.httpVersionMajor === 1 && request.httpVersionMinor >= 1 ? 'Missing Host header.' : undefined;
  if (host === '') return undefined;
  let valid = validHosts.get(host);
  if (valid === undefined) {
    valid = URL.canParse(`http://${host}/`) && !/[\s/?#@\\]/.test(host);
    // A stream of distinct hosts only evicts.
    if (validHosts.size >= 64) validHosts.clear();
    validHosts.set(host, valid);
  }
  return valid ? undefined : 'Invalid Host header.';
}

const validHosts = new Map<string, boolean>();

/**
 * An OPTIONS that is no CORS preflight (RFC 9110 §9.3.7): what the target takes (`allow`), and nothing else.
 * On the GraphQL path, its methods; on `*`, the server as a whole (`SERVER_METHODS`).
 */
function answerOptions(request: IncomingMessage, response: ServerResponse, requestId: string, settings: EdgeSettings, allow: string): void {
  response.writeHead(204, {
    ...corsHeaders(settings.corsOrigins, request.headers.origin),
    allow,
    'x-request-id': requestId,
    'cache-control': CACHE_CONTROL,
  });
  response.end();
  closingIfNode(request, response);
}

/**
 * No Content-Encoding, or only `identity` (no coding at all, RFC 9110 §8.4.1), however spelled. Trimmed before the
 * test: `/^\s*(?:identity)?\s*$/` took time in the square of a run of spaces, which anyone can send in a header.
 */
function identityCoding(value: string | undefined): boolean {
  return value === undefined || value.split(',').every((coding) => /^(?:identity)?$/i.test(coding.trim()));
}

/** A CORS preflight: OPTIONS with an Origin and the method the browser asks leave for (Fetch §4.8). */
function isPreflight(request: IncomingMessage): boolean {
  return request.method === 'OPTIONS' && request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
}


/** What the edge answers and counts besides the lane's requests. */
export interface EdgeState {
  health: Health;
  requests: RequestsInFlight;
  /** Writes the lines of the edge's own refusals and masked 500s (../telemetry/access-log.ts); none without it. */
  accessLog?: AccessLog;
  /** Cuts an answer its client stopped reading (LIVE_STALLED_CLIENT_MS); none is cut without it. */
  stalledClients?: StalledClients;
}

/**
 * The last request whose headers a socket carried. An error on that socket is
 * this request's while its body is still arriving (answered with its id and
 * CORS headers, if it may still answer); once the body is whole, the error is a
 * later request's, whose headers never parsed.
 */
interface Busy {
  request: IncomingMessage;
  response: ServerResponse;
  requestId: string;
  origin: string | undefined;
  /** performance.now() when its head arrived: its access line's start. */
  started: number;
}

/**
 * Cuts an answer's connection once its client stops reading. Made outside the
 * request's handler on purpose: the callback is kept until the answer closes,
 * after its last byte is written, and a closure made in the handler would keep
 * the handler's whole scope, the request's context and everything its
 * operation loaded, alive that long, into the next young-generation collection.
 */
function watchForStall(stalledClients: StalledClients, response: ServerResponse, socket: Socket, requestId: string, logger: Logger): void {
  stalledClients.watchAnswer(response, socket, () => {
    logger.info({ requestId }, 'answer cut: its client stopped reading');
    socket.destroy();
  });
}

export function createHttpEdge(lane: Lane, settings: EdgeSettings, logger: Logger, state: EdgeState): Server {
  const inFlight = new WeakMap<Duplex, Busy>();
  // As the edge answers: with the request's id and the CORS headers its origin gets, or a page could not read it.
  state.requests.cutAnswer = (response, requestId) =>
    answer(response, requestId, corsHeaders(settings.corsOrigins, response.req.headers.origin), { status: 503, code: ErrorCode.SHUTTING_DOWN, message: CUT_BY_SHUTDOWN, close: true });
  /** Sockets whose refusal is written or waits for an earlier answer. */
  const refused = new WeakSet<Duplex>();
  /** Answers with the edge's own refusal, and writes its access line. */
  const refuse = (request: IncomingMessage, response: ServerResponse, requestId: string, refusal: EdgeAnswer): void => {
    refuseWith(request, response, requestId, settings, refusal);
    // The request the edge took on this socket is this one (an Expect refused as it arrived never was: answered at once).
    const busy = request.socket ? inFlight.get(request.socket) : undefined;
    const started = busy?.request === request ? busy.started : undefined;
    state.accessLog?.edgeAnswered({ requestId, request, transport: 'http', status: refusal.status, code: refusal.code, started, traceparent: request.headers.traceparent, response });
  };
  const waitUntil = (promise: Promise<unknown> | void) => {
    promise?.catch((error: unknown) => logger.error({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'background work of a request failed'));
  };

  /** One request: `continues` when it expects 100-continue, which is sent once the edge has taken it. */
  const handle = (request: IncomingMessage, response: ServerResponse, continues: boolean): void => {
    // Behind an answer that closes the connection: nothing to answer to, so nothing is run.
    if (request.socket && closing.has(request.socket)) return;
    const requestId = requestIdFor(request.headers['x-request-id']);
    const started = performance.now();
    // Every request, the edge's own refusals included: a parse error behind it must wait for its answer.
    if (request.socket) inFlight.set(request.socket, { request, response, requestId, origin: request.headers.origin, started });
    // llhttp reads `HTTP/2.0` in an HTTP/1 request line (refusing 3.0 and up itself, answered in 'clientError'):
    // HTTP/2 is not spoken in that syntax, and a request in it was served as HTTP/1.1 (RFC 9110 §15.6.6: 505).
    const versionRefused = versionRefusal(request);
    if (versionRefused) return refuse(request, response, requestId, { status: 505, code: ErrorCode.BAD_REQUEST, message: versionRefused, close: true });
    // Not a CORS preflight: a browser sends one to the same long URL first, and a 414 or 431 to it is an
    // opaque network error to the page (Fetch §4.8); past it, the request itself gets the readable refusal.
    const headRefused = headTooLarge(request);
    if (headRefused && !isPreflight(request)) {
      return refuse(request, response, requestId, { ...headRefused, code: ErrorCode.BAD_REQUEST, close: true });
    }
    toOriginForm(request);
    // Probes first: load balancers' health checks send Hosts of their own (an empty one, a cluster name).
    if (state.health.answer(request, response, requestId)) return closingIfNode(request, response);
    // Another method at a probe's path is no probe: refused as any method the edge does not take, with its line and
    // its count (README "Metrics": the refusals of /health and /ready are answers of the port). Before the Host check,
    // as the probes are. Closing spares reading a body nobody wants.
    const probeRefused = probeMethodRefusal(request);
    if (probeRefused) return refuse(request, response, requestId, { status: 405, code: ErrorCode.BAD_REQUEST, message: probeRefused, close: true, headers: { allow: 'GET, HEAD' } });
    const hostRefused = hostProblem(request);
    if (hostRefused) return refuse(request, response, requestId, { status: 400, code: ErrorCode.BAD_REQUEST, message: hostRefused, close: true });
    // Two credentials, or two media types (./repeated-fields.ts): node would serve the first, a proxy in front may have read the other.
    const repeated = repeatedField(request);
    if (repeated) return refuse(request, response, requestId, { status: 400, code: ErrorCode.BAD_REQUEST, message: repeatedFieldRefused(repeated), close: true });
    state.requests.track(response, requestId);
    if (request.socket && state.stalledClients) watchForStall(state.stalledClients, response, request.socket, requestId, logger);
    const declared = request.headers['content-length'];
    // Node refuses Transfer-Encoding next to a Content-Length itself (a 400): here it is the only framing.
    const framing = request.headers['transfer-encoding'];
    const codingRefused = framing === undefined ? undefined : transferCodingProblem(framing, request.httpVersion);
    if (codingRefused) return refuse(request, response, requestId, { ...codingRefused, code: ErrorCode.BAD_REQUEST, close: true });
    if (declared !== undefined && Number(declared) > settings.maxRequestBodyBytes) return refuse(request, response, requestId, tooLarge(settings));
    const path = pathOf(request);
    // `OPTIONS *` asks about the server, not a resource (RFC 9110 §9.3.7, RFC 9112 §3.2.4): a ping, not a path to 404.
    if (path === '*' && request.method === 'OPTIONS') return answerOptions(request, response, requestId, settings, SERVER_METHODS);
    const graphql = path === settings.graphqlPath || path === `${settings.graphqlPath}/`;
    // Yoga would serve GraphQL at any URL ending in its path (`/x/graphql`, `/?to=/graphql`).
    if (!graphql && !settings.otherPaths.includes(path)) {
      const message = settings.notFoundMessages?.get(path) ?? notFound(settings.graphqlPath);
      return refuse(request, response, requestId, { status: 404, code: ErrorCode.BAD_REQUEST, message, close: false });
    }
    // `/metrics` is read, as on its own port: Yoga's Prometheus plugin would answer any method.
    if (!graphql && request.method !== 'GET' && request.method !== 'HEAD') {
      return refuse(request, response, requestId, { status: 405, code: ErrorCode.BAD_REQUEST, message: onlyGetAndHead(path), close: true, headers: { allow: 'GET, HEAD' } });
    }
    // Before any plugin: CSRF prevention refused a PUT without Authorization with its 403, and Yoga
    // sent its 405 as an event stream to a client accepting one (graphql-sse's single-connection PUT).
    if (graphql && request.method === 'OPTIONS' && !isPreflight(request)) return answerOptions(request, response, requestId, settings, GRAPHQL_METHODS);
    if (graphql && request.method !== 'GET' && request.method !== 'POST' && request.method !== 'OPTIONS') {
      const refusal = { status: 405, code: ErrorCode.BAD_REQUEST, message: notGraphQLMethod(request.method ?? ''), close: true, headers: { allow: GRAPHQL_METHODS } };
      return refuse(request, response, requestId, refusal);
    }
    // RFC 9110 §8.4, §15.5.16: no lane decodes a body's content coding, so a gzipped JSON body was read as it came and
    // refused as "invalid JSON", and a plain one labelled gzip was served. Said once, before the body is read; a GET's
    // body is never read (below), so its coding does not matter.
    const chunked = framing !== undefined;
    const hasBody = chunked || (declared !== undefined && declared !== '0');
    if (hasBody && request.method !== 'GET' && !identityCoding(request.headers['content-encoding'])) {
      return refuse(request, response, requestId, { status: 415, code: ErrorCode.BAD_REQUEST, message: UNSUPPORTED_CONTENT_CODING, close: false, headers: { 'accept-encoding': 'identity' } });
    }
    const contentType = request.headers['content-type'];
    let charset: BodyCharset = 'utf-8';
    if (contentType !== undefined) {
      const readable = readableContentType(contentType);
      if (readable === null) return refuse(request, response, requestId, { status: 415, code: ErrorCode.BAD_REQUEST, message: UNSUPPORTED_MEDIA_TYPE, close: false });
      request.headers['content-type'] = readable.header;
      charset = readable.charset;
    }
    const accept = request.headers.accept;
    if (accept !== undefined && graphql) {
      const ordered = (request.method === 'POST' ? postAcceptInPreferenceOrder : acceptInPreferenceOrder)(accept);
      if (ordered === null) {
        // The method first (RFC 9110): a GET of a mutation is Yoga's 405 whatever its Accept, not a 406 (./get-mutation.ts).
        // Not with TRUSTED_DOCUMENTS=only, which reads no text its manifest has not admitted: the mutation is refused as
        // any text not in the list is, which was PERSISTED_QUERY_NOT_IN_LIST taking JSON and a 405 taking no type.
        if (!settings.trustedDocumentsOnly && asksMutationByGet(request, settings.maxOperationTokens)) {
          return refuse(request, response, requestId, { status: 405, code: ErrorCode.BAD_REQUEST, message: MUTATION_NOT_BY_GET, close: false, headers: { allow: 'POST' } });
        }
        // Before the operation is known: whatever this method may be answered with (GraphiQL's page by GET only).
        const produced = PRODUCED.filter((type) => request.method === 'GET' || !type.startsWith('text/html')).join(', ');
        return refuse(request, response, requestId, { status: 406, code: ErrorCode.BAD_REQUEST, message: notAcceptable(produced), close: false, headers: { accept: produced } });
      }
      request.headers.accept = ordered;
    }
    const serverContext = { req: request, res: response, requestId, waitUntil };
    // Whether the pipeline reads the body at all (./expect-continue.ts): not a GET's (Yoga's GET parser takes the URL),
    // nor one in a media type no parser reads (its 415), nor one CSRF prevention refuses (its 403), each decided from the
    // headers alone.
    const pipelineReads = hasBody && bodyWillBeRead(request, graphql);
    if (continues) {
      // A body the pipeline will not read is not asked for: the pipeline's answer is the final
      // one, and node closes the connection after it, so nothing pipelined behind it is run either. A request without
      // a body (which should not have expected 100-continue, RFC 9110 §10.1.1) keeps its connection: a 100 costs nothing.
      if (hasBody && !pipelineReads) {
        if (request.socket) closing.add(request.socket);
        return serve(lane, serverContext, null, logger, state.accessLog, started, settings.corsOrigins);
      }
      response.writeContinue();
    }
    // A body the pipeline will not read is not waited for either, on any lane or framing: the answer is known from the
    // headers. Read first (the fast lane, a chunked body, a re-encoding), `application/xml` with a declared body that
    // never came was a 408 after HTTP_REQUEST_TIMEOUT_MS on the fast lane and Yoga's 415 at once on its own lane; so was
    // a GET's. Node discards what arrives of it after the answer; a chunked one, which no length bounds, ends the connection.
    if (!pipelineReads) {
      closeOnUnreadChunkedBody(request, response);
      return serve(lane, serverContext, null, logger, state.accessLog, started, settings.corsOrigins);
    }
    if (!chunked && !lane.readsBodyFirst && charset !== 'iso-8859-1') return serve(lane, serverContext, null, logger, state.accessLog, started, settings.corsOrigins);
    // A declared length was checked above; a chunked body is bounded as it streams.
    void readBody(request, chunked ? settings.maxRequestBodyBytes : Infinity).then((body) => {
      if (body === OVER_LIMIT) return refuse(request, response, requestId, tooLarge(settings));
      if (body && chunked) asKnownLength(request, body);
      // A client that left before its body arrived whole still meets the pipeline, as it does on
      // Yoga's own lane: its request has no body, so it fails to parse, and its answer goes nowhere.
      serve(lane, serverContext, body && charset === 'iso-8859-1' ? reencoded(request, body) : body, logger, state.accessLog, started, settings.corsOrigins);
    });
  };

  const { keepAliveTimeout, ...limits } = timeLimits(settings);
  const server = createServer(
    {
      ...limits,
      // Node's own 400 for a missing Host has no body and no request id; the edge answers it below.
      requireHostHeader: false,
      // Node's own 431 cannot carry the request's id or CORS headers; the edge answers it below (./head-size.ts).
      maxHeaderSize: HEAD_PARSE_LIMIT_BYTES,
    },
    (request, response) => handle(request, response, false),
  );
  // Expect: 100-continue. Node's default sends 100 Continue before any handler runs, so a
  // client refused 413, 405, 404 … had already been told to send its body, and did. Here the
  // 100 goes out once the edge has taken the request and the pipeline will read the body
  // (./expect-continue.ts); any other answer instead closes the connection (node does not keep
  // alive one whose 100 was never sent), so the body is never read.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => handle(request, response, true));
  server.keepAliveTimeout = keepAliveTimeout;
  // Node closes a connection the moment its last answer is out; a client still sending then loses that answer (./lingering-close.ts).
  server.on('connection', lingerOnClose);
  // Node keeps a socket's peer once read, and has none to give once the socket closed: read now, an access line
  // written after a body's time limit or a client's leaving still names who asked (./client-address.ts).
  server.on('connection', (socket: Socket) => void socket.remoteAddress);
  // One field line past what the edge takes, so that a head with more is seen and refused (./head-size.ts).
  server.maxHeadersCount = HEAD_FIELD_LIMIT + 1;

  // Malformed HTTP, oversized headers and requests past their time limit: node's
  // own answers carry no request id and no body; these carry both.
  // A request whose headers arrived before the error (a body past its time limit) keeps its request id and CORS headers.
  // A request after another on a kept-alive or pipelined connection: the earlier one's answer is
  // written whole first (HTTP/1.1 answers in order), and its id and CORS headers are not this one's.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // Node calls again for every chunk that arrives after the parser failed.
    if (refused.has(socket)) return;
    refused.add(socket);
    // A connection that has sent nothing at all by the head's time limit (a browser's preconnect, an idle probe) is
    // closed without a word, as nginx does: a 408, an access line and a count for each filled the 4xx rate with
    // requests nobody made. A kept-alive connection between requests is closed by the keep-alive limit, silently too.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && (socket as Socket).bytesRead === 0) return socket.destroy();
    const last = inFlight.get(socket);
    const own = last && !last.request.complete ? last : undefined;
    // RFC 9112 §9.6: after the answer that closes the connection (the client's `Connection: close`, HTTP/1.0,
    // a refusal's or a drain's close), nothing more is answered; llhttp reports what follows as HPE_CLOSED_CONNECTION.
    const closed = last !== undefined && own === undefined && closesConnection(last.response, socket);
    const refuseNow = () => {
      if (error.code !== 'ECONNRESET' && !closed && socket.writable && !own?.response.headersSent) {
        const { status, message } = clientErrorAnswer(error, own !== undefined, settings);
        // A later request's head never parsed: only a refused request line's chunk may hold its fields (else its Origin is
        // unknown, and the answer still varies by it: `Vary: Origin`).
        const fields = own ? undefined : refusedHeadFields(error);
        const cors = corsHeaders(settings.corsOrigins, own ? own.origin : fields?.get('origin'));
        const requestId = own?.requestId ?? requestIdFor(fields?.get('x-request-id'));
        endWithJson(socket, `${status} ${STATUS_TEXT[status]}`, errorBody(ErrorCode.BAD_REQUEST, message), { 'x-request-id': requestId, ...cors });
        // The connection ended before the request was whole (its head, or the body it declared or began in chunks):
        // a request cannot be delimited by closing (RFC 9112 §6.3), so its client gave it up. Answered all the same,
        // for one that only shut its sending side; its line says `aborted` (access-log.ts `whenWrittenRaw`).
        const clientLeft = error.code === 'HPE_INVALID_EOF_STATE';
        // A request whose head never parsed: no other line tells of it. One whose body failed has the pipeline's line,
        // which says what the client got.
        if (own) state.accessLog?.edgeAnsweredInstead(own.response, { status, code: ErrorCode.BAD_REQUEST, started: own.started, socket, clientLeft });
        else state.accessLog?.edgeAnswered({ requestId, transport: 'http', status, code: ErrorCode.BAD_REQUEST, traceparent: fields?.get('traceparent'), socket, clientLeft });
        // The client may still be sending what failed to parse: read on, or the reset throws the answer away.
        return closeLingering(socket);
      }
      // After the answer that closed the connection, the rest of what the client sent is read and dropped as it lingers.
      if (closed && error.code !== 'ECONNRESET') return closeLingering(socket);
      socket.destroy(error);
    };
    // The last answer still being written (with those before it, HTTP/1.1 answering in order) goes out whole first:
    // an earlier request's, or this request's own when the edge has answered it already (a refusal of its framing).
    const answering = !own || own.response.headersSent;
    const earlier = last && answering && !last.response.writableFinished && !last.response.destroyed ? last.response : undefined;
    if (earlier) earlier.once('close', refuseNow);
    else refuseNow();
  });

  // An Expect other than 100-continue: node's own 417 has no body and no request id.
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const message = 'Expectation failed: the only expectation understood is 100-continue.';
    refuse(request, response, requestIdFor(request.headers['x-request-id']), { status: 417, code: ErrorCode.BAD_REQUEST, message, close: true });
  });

  // CONNECT never reaches the request handler, and without a listener node closes the socket
  // without a word: answered as any other method the gateway does not take. One in another major
  // version is a 505 first, as any request in it is (`CONNECT host:80 HTTP/2.0` was a 405).
  // Pipelined behind requests still being answered, after their answers, as an upgrade is (./raw-http.ts
  // `whenAnswered`): its refusal ended the connection at once, and the earlier answers were never sent.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    adoptSocket(socket);
    whenAnswered(socket, () => {
      const requestId = requestIdFor(request.headers['x-request-id']);
      const headers = { ...corsHeaders(settings.corsOrigins, request.headers.origin), 'x-request-id': requestId };
      const versionRefused = versionRefusal(request);
      const status = versionRefused ? 505 : 405;
      if (versionRefused) endWithJson(socket, `505 ${STATUS_TEXT[505]}`, errorBody(ErrorCode.BAD_REQUEST, versionRefused), headers);
      else endWithJson(socket, '405 Method Not Allowed', errorBody(ErrorCode.BAD_REQUEST, NO_TUNNELS), { allow: GRAPHQL_METHODS, ...headers });
      state.accessLog?.edgeAnswered({ requestId, request, transport: 'http', status, code: ErrorCode.BAD_REQUEST, traceparent: request.headers.traceparent, socket });
    });
  });
  return server;
}
