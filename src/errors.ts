/**
 * Every error a client can see is built here, so that `extensions.code` stays a
 * stable, documented contract (README "Error codes"). Yoga's masking lets these
 * through because they are GraphQLErrors; anything else is masked as
 * INTERNAL_SERVER_ERROR. Codes that graphql-js and Yoga mint themselves
 * (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, OPERATION_RESOLUTION_FAILURE)
 * are listed so the contract is whole in one place.
 */
import { GraphQLError, type ASTNode } from 'graphql';
import { ErrorCode } from './client-contract.js';

export { ErrorCode, WarningCode, type DataWarning } from './client-contract.js';

/**
 * The answer to an Accept header that accepts nothing the gateway could send
 * (406). `acceptable` is what it could have sent, as a 406's `Accept` header
 * lists it ("text/event-stream; charset=utf-8, multipart/mixed; charset=utf-8"
 * for a subscription, say).
 */
export function notAcceptable(acceptable: string): string {
  return `Not acceptable: accept ${inWords([...new Set(acceptable.split(',').map((type) => type.split(';')[0]!.trim()))])} (in UTF-8).`;
}

/** "a, b or c". */
function inWords(items: readonly string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** The answer to a method other than GET or HEAD on a path that takes only those (405, `Allow: GET, HEAD`). */
export const onlyGetAndHead = (path: string) => `Method not allowed: ${path} answers GET and HEAD.`;

/**
 * The methods the GraphQL path takes, as a 405's and a plain OPTIONS's `Allow`
 * lists them: GET and POST, and OPTIONS (CORS preflights, and RFC 9110 §9.3.7's
 * plain OPTIONS). Not HEAD: its answer's headers are a GET's (RFC 9110 §9.3.2),
 * so it would run the operation, upstream calls included, only to drop the result.
 */
export const GRAPHQL_METHODS = 'GET, POST, OPTIONS';

/** The methods some path of the gateway takes, as the `Allow` of a server-wide `OPTIONS *` lists them (RFC 9110 §9.3.7): the GraphQL path's, and HEAD of `/health`, `/ready` and `/metrics`. */
export const SERVER_METHODS = 'GET, HEAD, POST, OPTIONS';

/** The answer to any other method on the GraphQL path (405, `Allow: GET, POST, OPTIONS`). */
export function notGraphQLMethod(method: string): string {
  const why = method === 'HEAD' ? ' HEAD is not: it would run the operation only to drop its result.' : '';
  return `Method not allowed: GraphQL supports GET and POST.${why}`;
}

/** The answer to a mutation sent by GET (405, `Allow: POST`; GraphQL over HTTP), in Yoga's words, which answer it once the document is parsed. */
export const MUTATION_NOT_BY_GET = 'Can only perform a mutation operation from a POST request.';

/** The answer to a method no one implements here (501): methods are case-sensitive, so `get` is one. */
export const METHOD_NOT_IMPLEMENTED = 'Method not implemented: GraphQL is served by GET and POST (method names are case-sensitive).';

/** The answer to a request in another major version of HTTP (505), `version` as sent ("2.0"). */
export const versionNotSupported = (version: string) => `HTTP/${version} is not supported here: send HTTP/1.1.`;

/** The answer to HTTP/1.x past 1.1 (400: node's parser refuses it), `minor` as sent ("2"). */
export const minorVersionNotRead = (minor: string) => `HTTP/1.${minor} is not read here: send HTTP/1.1.`;

/**
 * The answer to a field that is no list sent more than once (400; src/server/repeated-fields.ts), `name` as
 * spelled ("Authorization"): node reads the first line, where a proxy in front may have read another.
 */
export const repeatedFieldRefused = (name: string) => `More than one ${name} header: send it once (RFC 9110 §5.3).`;

/** The answer to CONNECT (405, `Allow: GET, POST, OPTIONS`): the gateway is no proxy. */
export const NO_TUNNELS = 'Method not allowed: CONNECT is not served; GraphQL is served by GET and POST.';

/**
 * The 403 of a WebSocket upgrade from an Origin the gateway does not take: what would let it in.
 * Origin and Host are header values (bounded by the head's 16 KiB), cut at 100 characters each.
 */
export function originRefused(origin: string, host: string | undefined): string {
  const cut = (value: string) => (value.length > 100 ? `${value.slice(0, 100)}…` : value);
  return `Origin ${cut(origin)} may not open a WebSocket to the gateway: it is neither the gateway's own (Host ${cut(host ?? '')}) nor listed in CORS_ORIGINS. Add it to CORS_ORIGINS (a development proxy that rewrites Host, such as Vite's changeOrigin, needs this too).`;
}

/** The answer to a path the gateway does not serve (404). */
export const notFound = (graphqlPath: string) => `Not found: GraphQL is served at ${graphqlPath}.`;

/**
 * The 404 of `/metrics` on the API port when METRICS is not `api`: a scraper pointed at the
 * API port is told where the metrics are (METRICS=port, the address configured: naming the
 * default one sent a deployment with METRICS_PORT=9999 to a port nothing listened on) or that
 * they are off, not only where GraphQL is.
 */
export function metricsNotHere(telemetry: { metrics: 'port' | 'off'; metricsPort: number }, graphqlPath: string): string {
  const { metrics, metricsPort } = telemetry;
  // The port alone: METRICS_HOST is often an internal address, and this answer goes to anyone.
  // METRICS_PORT=0: the port is picked as the metrics server listens, after this answer is made.
  const port = metricsPort === 0 ? 'port, picked at start (METRICS_PORT=0; the `metrics listening` log line names it)' : `port ${metricsPort} (METRICS_PORT)`;
  const where = metrics === 'off' ? 'metrics are off (METRICS=off)' : `/metrics is served on its own ${port}, not on the API port; METRICS=api serves it here too`;
  return `Not found: ${where}. GraphQL is served at ${graphqlPath}.`;
}

/** The answer to a request body in a content coding (RFC 9110 §8.4): 415, with `Accept-Encoding: identity`. */
export const UNSUPPORTED_CONTENT_CODING = 'Unsupported Content-Encoding: request bodies are read as sent; send the body uncompressed, without Content-Encoding.';

/** The answer to a body in a media type or charset the gateway does not read (415); the charsets are those src/server/media-types.ts reads. */
export const UNSUPPORTED_MEDIA_TYPE =
  'Unsupported media type: send application/json, application/graphql or application/x-www-form-urlencoded, with charset utf-8, us-ascii or iso-8859-1 (or none: UTF-8), or use GET.';

/**
 * The answer to a POST form with no `query` (400): `curl -d '{"query": …}'` without a
 * Content-Type sends its JSON as a form, whose one field is the whole text, and Yoga's
 * "Must provide query string." told a caller who had sent a query nothing to change.
 */
export const FORM_WITHOUT_QUERY =
  'Must provide query string: the body was read as a form (Content-Type: application/x-www-form-urlencoded, which `curl -d` sends unless told otherwise) and has no `query` field (nor `extensions` or `documentId`, where a persisted document\'s hash goes). To send JSON, say so: Content-Type: application/json.';

/**
 * The answer to a request a browser could send cross-site without a preflight (403): a GET
 * without Authorization, or a POST form, multipart or text body. Yoga's "Required CSRF
 * header(s) not present" named neither the header nor the requests that need none.
 */
export const CSRF_HEADER_MISSING =
  'Required CSRF header(s) not present: a request a browser can send without a preflight (a GET, or a POST with a form or text body, without Authorization) must carry the header x-graphql-yoga-csrf (any value). A request with Authorization, or a POST with Content-Type: application/json, needs none.';

/** Operation names listed in a message: enough to pick from, never the whole of a hostile document. */
const LISTED_OPERATIONS = 10;

/**
 * Why no operation of a document can run (OPERATION_RESOLUTION_FAILURE, a 400,
 * as Yoga answers it): what the document holds, and what to send instead.
 * `names` are the document's operations in order, undefined for an anonymous one.
 */
export function operationNotResolved(names: ReadonlyArray<string | undefined>, operationName: unknown): GraphQLError {
  const shown = names.slice(0, LISTED_OPERATIONS).map((name) => name ?? '(anonymous)');
  const listed = `${shown.join(', ')}${names.length > LISTED_OPERATIONS ? `, … (${names.length} in all)` : ''}`;
  let message: string;
  if (names.length === 0) message = 'The document holds no operation, only fragments: add the query or subscription to run.';
  // No operationName picks an anonymous operation, nor makes such a document valid (the Lone Anonymous Operation rule).
  else if (names.length > 1 && names.includes(undefined))
    message = `The document holds an operation without a name beside others (${listed}): an anonymous operation must be the only one of its document. Name each operation and send \`operationName\` naming the one to run, or send that operation alone.`;
  else if (operationName == null) message = `The document holds several operations (${listed}): send \`operationName\` naming the one to run.`;
  else if (operationName === '') message = `\`operationName\` is empty, which names no operation: leave it out, or send the name of the one to run (${listed}).`;
  else if (names.length === 1 && names[0] === undefined && typeof operationName === 'string') {
    // "one of these names" would point at a list of no name: the only way to run it is without one.
    message = "`operationName` names an operation, but the document's only operation has no name: leave `operationName` out, or name the operation (`query Name { … }`).";
  } else if (typeof operationName !== 'string') message = `\`operationName\` must be a string naming one of the document's operations (${listed}).`;
  else message = `\`operationName\` names none of the document's operations (${listed}): send one of these names, or none for a document of one operation.`;
  return new GraphQLError(message, { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE, http: { status: 400 } } });
}

/**
 * A request that names a persisted document to a gateway that keeps none (TRUSTED_DOCUMENTS=off): 400 with
 * Apollo's code and message, on which Apollo Client's link (the code or the message) and urql's exchange (the
 * message alone) send the text and stop sending hashes. As a BAD_REQUEST saying "Persisted documents are off",
 * both passed the error on, and a frontend with automatic persisted queries on (a common set-up, for CDN
 * caching) failed every operation against the default gateway.
 */
export const persistedDocumentsOff = () =>
  new GraphQLError('PersistedQueryNotSupported', { extensions: { code: ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, http: { status: 400 } } });

/** Yoga's message for an error it hides. */
export const MASKED_MESSAGE = 'Unexpected error.';

/** What upstream told us about a failed call, surfaced to help correlate logs. */
export interface UpstreamFacts {
  upstreamStatus?: number;
  upstreamRequestId?: string;
}

/** `extensions` of an error: its code, plus what upstream said when it said anything. */
export function errorExtensions(code: ErrorCode, facts: UpstreamFacts = {}): Record<string, unknown> {
  const extensions: Record<string, unknown> = { code };
  if (facts.upstreamStatus !== undefined) extensions.upstreamStatus = facts.upstreamStatus;
  if (facts.upstreamRequestId !== undefined) extensions.upstreamRequestId = facts.upstreamRequestId;
  return extensions;
}

export function gatewayError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: errorExtensions(code) });
}

export const badUserInput = (message: string) => gatewayError(ErrorCode.BAD_USER_INPUT, message);

export const unauthenticated = () =>
  gatewayError(
    ErrorCode.UNAUTHENTICATED,
    'Missing Authorization: send the `Authorization: Bearer <token>` you would send to the executions API, as a header (over WebSocket: `connectionParams: { authorization }` in connection_init).',
  );

/**
 * An Authorization value that is no HTTP field value (RFC 9110 §5.5: visible
 * characters, spaces, tabs and obs-text only). Node refuses one in an HTTP
 * request; a WebSocket's connectionParams can carry one, and undici would fail
 * the upstream call locally (losing a pool connection each time, undici 7.x).
 * The message never quotes the value: it is the caller's secret.
 */
export const invalidAuthorization = (where = 'Authorization') =>
  gatewayError(ErrorCode.UNAUTHENTICATED, `${where} is not a valid Authorization header value: control characters (line breaks included) and characters past U+00FF are not allowed.`);

/**
 * connectionParams' `authorization` sent as something other than text (a number, an object, a Promise a client
 * forgot to await), with nothing else naming a caller: "Missing Authorization" told such a client its token was absent.
 */
export const authorizationNotText = () =>
  gatewayError(ErrorCode.UNAUTHENTICATED, 'connectionParams.authorization is not text: send the token as a string, `Bearer <token>` (was a Promise left unawaited, or an object sent?).');

/**
 * `Authorization: Bearer` with no token after it (RFC 6750 §2.1: `Bearer 1*SP b64token`): upstream can only
 * refuse it, so it is refused without a call, which a client's empty token variable otherwise spent on a 401.
 */
export const bearerWithoutToken = () =>
  gatewayError(ErrorCode.UNAUTHENTICATED, 'Authorization says `Bearer` but carries no token: send `Authorization: Bearer <token>` (is the token variable empty?).');

/** RFC 9110 §5.5 field-value characters; what an Authorization value must hold to be sent upstream. */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** What a watch ends with when it reaches LIVE_MAX_WATCH_MS without upstream ever answering it: there is no reading to make a final update of. */
/** A reading the live pollers cannot keep: it would take their readings past `limit` (LIVE_MAX_HELD_BYTES, or a caller's share of it). */
export const tooMuchLiveData = (limit: string) =>
  gatewayError(
    ErrorCode.TOO_MANY_SUBSCRIPTIONS,
    `Too much live data held: the readings kept for live watches would pass ${limit}. Watch fewer or smaller executions at once.`,
  );

export const watchLimitUnread = (maxWatchMs: number) =>
  gatewayError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    `The watch reached its time limit (LIVE_MAX_WATCH_MS, ${maxWatchMs} ms) before the executions API answered it once: subscribe again.`,
  );

/**
 * What a watch ends with when the execution has finished and upstream's last
 * reading of it has no list of events, while events since the watch's cursor
 * may be missing: ending as if none came would lose them unnoticed.
 */
export const finalEventsUnreadable = () =>
  gatewayError(
    ErrorCode.UPSTREAM_BAD_RESPONSE,
    'The execution has finished, but the executions API answered without a readable list of its events, so those since the last `cursor` cannot be sent: subscribe again with `eventsAfter` set to it.',
  );

/** What every live subscription ends with when the process drains, and what refuses new ones then. */
export const shuttingDown = () =>
  gatewayError(
    ErrorCode.SHUTTING_DOWN,
    'The gateway is shutting down: subscribe again, with `eventsAfter` set to the last `cursor` received, to go on without a gap.',
  );

/** A document the parser could not read; Yoga adds the 400 to parse errors (its usePreventMutationViaGET). */
export const parseFailed = (message: string) => gatewayError(ErrorCode.GRAPHQL_PARSE_FAILED, message);

/** An operation limit passed during validation: a 400 before anything runs. */
export const validationFailed = (message: string) => gatewayError(ErrorCode.GRAPHQL_VALIDATION_FAILED, message);

/**
 * A problem with the HTTP request (not the operation), answered with `status`.
 * `extensions.http` is Yoga's convention for the response status; Yoga removes it
 * from the body it sends.
 */
export function badRequest(message: string, status = 400, headers?: Record<string, string>): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_REQUEST, http: { status, ...(headers ? { headers } : {}) } } });
}

/**
 * The same error (locations, path; the message unless given) with these extensions; without a
 * `code` among them it gets BAD_REQUEST: the errors Yoga and graphql-js make
 * without one (a missing CSRF header, variables that do not fit their types)
 * are problems with the request.
 */
export function withExtensions(error: GraphQLError, extensions: Record<string, unknown>, message = error.message): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes as ASTNode[] | undefined,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...extensions, code: extensions.code ?? ErrorCode.BAD_REQUEST },
  });
}

/** The body of an error answered outside GraphQL execution (the HTTP edge), as a GraphQL response. */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}
