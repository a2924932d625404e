/**
 * Every error a client can see is built here, so that `extensions.code` stays a
 * stable, documented contract (README "Error codes"): the gateway's own refusals,
 * and upstream's failures (UpstreamError, below), which also carry what the
 * resilience policies read. The codes themselves are declared in
 * ./client-contract.ts, together with those graphql-js and Yoga mint
 * (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, OPERATION_RESOLUTION_FAILURE),
 * so the contract is whole in one place. Yoga's masking lets these through
 * because they are GraphQLErrors; anything else is masked as INTERNAL_SERVER_ERROR.
 */
import { GraphQLError, type ASTNode, type ExecutionResult } from 'graphql';
import { ErrorCode } from './client-contract.js';
import { textPrefix } from './text-prefix.js';

export { ErrorCode, WarningCode, type DataWarning } from './client-contract.js';

/** Every code an error the gateway serves can carry: what a label or a relayed failure is checked against. */
export const ERROR_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * The answer to an Accept header that accepts nothing the gateway could send
 * (406). `acceptable` is what it could have sent, as a 406's `Accept` header
 * lists it ("text/event-stream; charset=utf-8" for a subscription, say).
 */
export function notAcceptable(acceptable: string): string {
  const types = [...new Set(acceptable.split(',').map((type) => type.split(';')[0]!.trim()))];
  // A subscription: the event stream is one way to it, and a client that cannot read one (curl, a JSON-only client) has another.
  const streamOnly = types.length === 1 && types[0] === 'text/event-stream';
  // Refused before the operation is read: a subscription sent with a JSON type only would be refused again.
  const streamAmong = !streamOnly && types.includes('text/event-stream');
  return `Not acceptable: accept ${inWords(types)} (in UTF-8)${streamOnly ? SUBSCRIPTION_TRANSPORTS : streamAmong ? SUBSCRIPTION_STREAM : ''}.`;
}

/** What a subscription refused for its Accept is told of the two ways it is served (README "Live executions"). */
const SUBSCRIPTION_TRANSPORTS = ': a subscription is sent as Server-Sent Events, or over a WebSocket to the same URL (subprotocol graphql-transport-ws)';

/** What a request refused before its operation was read is told of subscriptions, which take the event stream alone. */
const SUBSCRIPTION_STREAM = '; a subscription, text/event-stream only (or a WebSocket to the same URL, subprotocol graphql-transport-ws)';

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

/** The answer to a request line whose version is no `HTTP/d.d` (`HTTP/1.10`, `HTTP/11`; 400), `sent` as it came. */
export const versionUnreadable = (sent: string) => `${sent} is no HTTP version: a version is HTTP/, one digit, a dot and one digit; send HTTP/1.1 (RFC 9112 §2.3).`;

/** The answer to a version in another case (`http/1.1`, `Http/1.1`; 400), `sent` as it came: the protocol name is case-sensitive. */
export const versionCase = (sent: string) => `${sent} is not read here: the protocol name is case-sensitive; send HTTP/1.1, in capitals (RFC 9112 §2.3).`;

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
  const cut = (value: string) => (value.length > 100 ? `${textPrefix(value, 100)}…` : value);
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
 * `variables` sent as a string holding JSON (`"variables": "{\"id\": …}"`, encoded twice): Yoga's words, which said
 * what was wrong but not that the object itself goes there.
 */
export const VARIABLES_AS_TEXT =
  'Expected "variables" param to be empty or an object, but given string: send the variables as a JSON object (`"variables": {"id": "ex_acme_7"}`), not as a string holding one.';

/** A JSON array body: Yoga's "Batching is not supported." said what, not what to send instead. */
export const BATCH_REFUSED =
  'Batching is not supported: send one operation per request (a JSON object, not an array), or ask for several executions in one `executions(ids: […])`.';

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
  new GraphQLError('PersistedQueryNotSupported', {
    extensions: {
      code: ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
      // The message is Apollo's, which clients compare with ===: what to do next goes here, where a person reads it.
      advice:
        "This gateway runs no persisted documents (TRUSTED_DOCUMENTS=off): send the document's text as `query` (Apollo's and urql's persisted-query links do so on this error by themselves). To run the documents of schema/persisted-documents.json by their hash, start it with TRUSTED_DOCUMENTS=allow.",
      http: { status: 400 },
    },
  });

/**
 * A hash no document of the manifest has (TRUSTED_DOCUMENTS=allow or only): 400 with Apollo's code and message
 * (PersistedQueryNotFound, which its clients compare with === and answer with the text), and in `advice` what a
 * person sending the hash by hand does next: the gateway never learns a hash from a text.
 */
export const persistedDocumentNotFound = (mode: 'allow' | 'only') => {
  const advice =
    mode === 'allow'
      ? "No document of this gateway's manifest (schema/persisted-documents.json) has this hash: send the document's text as `query` (Apollo's persisted-query link does so on this error by itself). The gateway learns no hash from a text: a hash runs once its document is in the manifest of the release deployed (`npm run generate` from schema/operations/)."
      : "No document of this gateway's manifest (schema/persisted-documents.json) has this hash, and with TRUSTED_DOCUMENTS=only nothing else runs: add the operation to schema/operations/, run `npm run generate` and deploy that release, or send the hash of a document the manifest has.";
  return new GraphQLError('PersistedQueryNotFound', { extensions: { ...errorExtensions(ErrorCode.PERSISTED_QUERY_NOT_FOUND), advice, http: { status: 400 } } });
};

/** Yoga's message for an error it hides. */
export const MASKED_MESSAGE = 'Unexpected error.';

/** What upstream told us about a failed call, surfaced to help correlate logs. */
export interface UpstreamFacts {
  upstreamStatus?: number;
  upstreamRequestId?: string;
}

/** `extensions` of an error: its code, plus what upstream said when it said anything. */
function errorExtensions(code: ErrorCode, facts: UpstreamFacts = {}): Record<string, unknown> {
  const extensions: Record<string, unknown> = { code };
  if (facts.upstreamStatus !== undefined) extensions.upstreamStatus = facts.upstreamStatus;
  if (facts.upstreamRequestId !== undefined) extensions.upstreamRequestId = facts.upstreamRequestId;
  return extensions;
}

export function gatewayError(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: errorExtensions(code) });
}

export const badUserInput = (message: string) => gatewayError(ErrorCode.BAD_USER_INPUT, message);

/** An execution past the distinct executions one request may ask for (`max`; src/request/scope.ts). */
export const tooManyExecutions = (max: number) => badUserInput(`This request asks for more than ${max} distinct executions; split it into several requests.`);

/** An event past the events one request may hand out across its `events` pages (`max`; src/request/scope.ts). */
export const tooManyEvents = (max: number) => badUserInput(`This request asks for more than ${max} events across its \`events\` pages; page with cursors instead.`);

/**
 * A value past the bound on upstream values one result hands out (`maxChars`, UPSTREAM_MAX_BODY_BYTES; src/request/scope.ts
 * `handOut`), counted exactly: in MiB, a bound under 1 MiB read "more than 0 MiB".
 */
export const tooManyServedValues = (maxChars: number) =>
  badUserInput(
    `This request asks for more than ${maxChars.toLocaleString('en-US')} characters of upstream values in all (every alias, repeated id and event's \`execution\` counts again); select large fields once per execution.`,
  );

/** How many of connectionParams' key names the UNAUTHENTICATED message is given; one more says there are more. */
export const UNREAD_PARAM_NAMES = 20;

/**
 * connectionParams' key names as the message quotes them: plain names only (a key is the client's to choose, and may
 * hold a token), at most 3; past UNREAD_PARAM_NAMES names, the count is a floor ("or more").
 */
function shownParams(given: readonly string[]): string {
  const names = given.slice(0, UNREAD_PARAM_NAMES);
  const plain = names.filter((name) => /^[A-Za-z][A-Za-z0-9_-]{0,39}(?:\.[A-Za-z][A-Za-z0-9_-]{0,39})?$/.test(name));
  const shown = plain.slice(0, 3).map((name) => `\`${name}\``);
  const others = names.length - shown.length;
  const count = given.length > UNREAD_PARAM_NAMES ? `${others} or more` : `${others}`;
  if (shown.length === 0) return `${count} key${others === 1 ? '' : 's'}`;
  return others > 0 ? `${shown.join(', ')} and ${count} other key${others === 1 ? '' : 's'}` : shown.join(', ');
}

/** A request's URL holding parameters named like a token (src/request/url-token.ts): their names, and whether it was a WebSocket's. */
export interface TokenInUrl {
  names: readonly string[];
  webSocket: boolean;
}

/** Why a token in the URL is not read, and where to send it instead: the header, or a WebSocket's connectionParams. */
function tokenInUrlMessage({ names, webSocket }: TokenInUrl): string {
  const quoted = names.map((name) => `\`${name}\``).join(', ');
  const never = 'but this gateway never reads a token from a URL (proxies, access logs and browser history keep URLs)';
  return webSocket
    ? `Missing Authorization: the WebSocket's URL has ${quoted}, ${never}: send it in connection_init as \`connectionParams: { authorization: 'Bearer <token>' }\` (the key \`authorization\`, in any case, at the top level or inside \`headers\`), and leave it out of the URL.`
    : `Missing Authorization: the URL has ${quoted}, ${never}: send the \`Authorization: Bearer <token>\` header instead, and leave it out of the URL.`;
}

/**
 * No token anywhere the gateway reads one. `unreadParams`: the keys of a WebSocket's connectionParams, when it sent
 * some but no `authorization` (`authToken`, `token`, `headers.token`, the conventions of other servers): the generic
 * message told such a client its token was missing, not where this gateway looks for it. `inUrl`: parameters of the
 * request's URL (or a WebSocket's upgrade URL) named like a token, which the gateway never reads: said first.
 */
export const unauthenticated = (unreadParams?: readonly string[], inUrl?: TokenInUrl) =>
  gatewayError(
    ErrorCode.UNAUTHENTICATED,
    inUrl?.names.length
      ? tokenInUrlMessage(inUrl)
      : unreadParams?.length
      ? `Missing Authorization: connectionParams has ${shownParams(unreadParams)} but no \`authorization\`, the one key this gateway reads a token from (in any case, at the top level or inside \`headers\`): send \`connectionParams: { authorization: 'Bearer <token>' }\` in connection_init.`
      : 'Missing Authorization: send the `Authorization: Bearer <token>` you would send to the executions API, as a header (over WebSocket: `connectionParams: { authorization }` in connection_init).',
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

export { FIELD_VALUE, withoutFieldWhitespace } from './client-contract.js';

/**
 * A live watch refused at a bound the client's own watches did not reach: `limit` says which ("1000 subscriptions per
 * process waiting for upstream's first answer"), `why` what frees a place. Coming back after `retryAfterMs` (ms, also
 * `extensions.retryAfterMs`) can succeed (places free as upstream answers or other watches end; another replica behind
 * the load balancer may have room), so the message says it is temporary. The refusals at the client's own bounds
 * (its subscriptions, its share of the pollers, a WebSocket connection's operations) stay final: they carry no `retryAfterMs`.
 */
export function liveBusy(limit: string, why: string, retryAfterMs: number): GraphQLError {
  const extensions = errorExtensions(ErrorCode.TOO_MANY_SUBSCRIPTIONS);
  extensions.retryAfterMs = retryAfterMs;
  return new GraphQLError(
    `Too many live subscriptions for now: at most ${limit}. This is temporary (${why}): subscribe again after \`extensions.retryAfterMs\` milliseconds.`,
    { extensions },
  );
}

/** A reading the live pollers cannot keep: it would take their readings past `limit` (LIVE_MAX_HELD_BYTES, or a caller's share of it). */
export const tooMuchLiveData = (limit: string) =>
  gatewayError(
    ErrorCode.TOO_MANY_SUBSCRIPTIONS,
    `Too much live data held: the readings kept for live watches would pass ${limit}. Watch fewer or smaller executions at once.`,
  );

/** What a watch ends with when it reaches LIVE_MAX_WATCH_MS without upstream ever answering it: there is no reading to make a final update of. */
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

/**
 * A page whose cursor (`name`: `after` or `before`) names an event, read where upstream sent no list of events, or
 * something else than a list: the cursor is still good, and upstream's next answer (such a reading is never cached)
 * will likely hold its event, so the client asks again with it rather than start over.
 */
export const eventsUnlisted = (name: string, upstreamRequestId: string | undefined) =>
  new GraphQLError(
    `The executions API answered without a readable list of this execution's events, so the event \`${name}\` names cannot be found: ask again shortly with the same cursor, which stays valid.`,
    // The answer's id, as the note on `events` it replaces carried it: a ticket with upstream names that answer.
    { extensions: errorExtensions(ErrorCode.UPSTREAM_BAD_RESPONSE, { upstreamRequestId }) },
  );

/**
 * A page whose cursor names an event upstream's answer does not have. Upstream only appends, so either this answer
 * came from a replica behind the one that handed the cursor out (asked again, the event is there) or upstream dropped
 * events: the client's cursor is good either way, so not BAD_USER_INPUT ("your cursor is wrong, start again"), which
 * sent a client paging through a lagging upstream back to the first page. `event` names it as the message shows it.
 */
export const cursorEventMissing = (name: string, event: string, executionId: string, upstreamRequestId: string | undefined) =>
  // No `retryable: false` (the client contract's only value for it): asking again can change the answer.
  new GraphQLError(
    `Argument \`${name}\` points at ${event}, which upstream's answer for execution "${executionId}" does not have: upstream may be answering from a replica behind the one that served the cursor, so ask again shortly with the same cursor, which stays valid. If it is still missing, the execution no longer has it: start again without a cursor.`,
    { extensions: errorExtensions(ErrorCode.UPSTREAM_BAD_RESPONSE, { upstreamRequestId }) },
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
 * A problem with the HTTP request (not the operation), answered 400.
 * `extensions.http` is Yoga's convention for the response status; Yoga removes it
 * from the body it sends.
 */
export function badRequest(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } });
}

/**
 * A required variable `variables` does not give, refused with what it gives instead (`message`, composed by
 * src/pipeline/misnamed-variables.ts): BAD_REQUEST, 400, located at the variable's definition `node`, as graphql-js
 * locates its own "was not provided".
 */
export function variableNotGiven(message: string, node: ASTNode): GraphQLError {
  return new GraphQLError(message, { nodes: node, extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } });
}

/**
 * A variable (`name`, its definition `node`) given a JSON integer past ±2^53 where an ID, an Int or a string is taken:
 * BAD_REQUEST, 400, located at the definition. `read` is the number as JSON.parse read it, rounded: the message says
 * so, or the client is told of a value it never sent; `path` is where in the variable it was (`ids[1]`, `f.types[0]`;
 * the name alone when it is the variable), `advice` what to send instead (src/pipeline/id-variables.ts).
 */
export function roundedNumberVariable(name: string, path: string, read: number, advice: string, node: ASTNode): GraphQLError {
  const where = path === name ? '' : ` at "${path}"`;
  // A negative one was told it was "past 2^53", the bound on the other side.
  const bound = read < 0 ? '-2^53' : '2^53';
  const message = `Variable "$${name}" got an integer past ${bound}${where}, which JSON readers round (it was read as ${read}): ${advice}`;
  return new GraphQLError(message, { nodes: node, extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } });
}

/**
 * A variable (`name`, its definition `node`) given a JSON number past a double's range (`1e400`) where an ID, an
 * Int, a Float or a string is taken: BAD_REQUEST, 400, located at the definition. JSON.parse read it as `read`,
 * ±Infinity, which graphql-js named as the value sent ("got invalid value Infinity"): the message says which side
 * of the range it was past instead. `path` and `advice` as for `roundedNumberVariable`.
 */
export function pastDoubleVariable(name: string, path: string, read: number, advice: string, node: ASTNode): GraphQLError {
  const where = path === name ? '' : ` at "${path}"`;
  const range = read > 0 ? 'above 1.8e308' : 'below -1.8e308';
  const message = `Variable "$${name}" got a number past a double's range (${range})${where}, which JSON readers cannot hold: ${advice}`;
  return new GraphQLError(message, { nodes: node, extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } });
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

/** A refusal before anything is parsed (trusted documents): a GraphQL error with its code, answered 400 whatever the Accept header. */
export function refusedBeforeParsing(code: ErrorCode, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { ...errorExtensions(code), http: { status: 400 } } });
}

/** What a request or WebSocket operation still running when SHUTDOWN_GRACE_MS ran out is answered with (SHUTTING_DOWN). */
export const CUT_BY_SHUTDOWN = 'The gateway shut down before it could answer: send the request again (another replica answers it).';

/** An error answered outside GraphQL execution (the HTTP edge, a WebSocket operation the lane did not run), as a GraphQL response. */
export function errorResult(code: ErrorCode, message: string): ExecutionResult {
  return { errors: [{ message, extensions: { code } }] } as unknown as ExecutionResult;
}

/** errorResult as the body the HTTP edge sends. */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify(errorResult(code, message));
}

/*
 * Upstream's failures, and the gateway's refusals to call it: GraphQLErrors
 * that also tell the resilience policies (src/upstream/resilience.ts) what kind
 * of failure each is. The extra fields are not part of `extensions`, so clients
 * never see them; the error still serializes as a plain GraphQLError with a
 * stable code. `extensions.retryAfterMs` is the exception, on purpose: when
 * upstream asked for a pause (Retry-After), the client is told how long, so it
 * can back off.
 */

export interface UpstreamErrorOptions extends UpstreamFacts {
  /** Worth another attempt: network errors, 408, 421, 425, 429, 502, 503, 504 (unless Retry-After asks for longer than the gateway waits). */
  retryable?: boolean;
  /** Counts toward opening the circuit: network errors, attempt timeouts, 5xx, 429, 408, 421, 425. */
  countsAsFailure?: boolean;
  /**
   * Upstream could not be reached at all, before any request was sent
   * (connection refused, DNS, no route): no request's fault, so the breaker
   * holds it against upstream as a whole (failure-judge.ts).
   */
  unreachable?: boolean;
  /**
   * The attempt's deadline (UPSTREAM_TIMEOUT_MS) passed before upstream's answer
   * was complete: a half-open probe that times out reopens the circuit (resilience.ts).
   */
  timedOut?: boolean;
  /** Upstream's Retry-After, in milliseconds; also reported in `extensions.retryAfterMs`. */
  retryAfterMs?: number;
  /** The gateway refused the call itself, without calling upstream (see GatewayRefusal). */
  refusal?: GatewayRefusal;
  /** Upstream refused the caller's token (see TokenRefusal): what `adviseScheme` words anew for a bare token. */
  tokenRefusal?: TokenRefusal;
  /**
   * Upstream answered with a status its contract does not name (a 410, a 418, a redirect): asked again it
   * answers the same, so a watch ends on it as a query does, rather than poll it for LIVE_MAX_WATCH_MS.
   */
  unnamedStatus?: boolean;
  /**
   * Upstream answered with a body past UPSTREAM_MAX_BODY_BYTES: upstream only appends to an execution, and the bound
   * changes only with a restart, so every later poll would read one past it too; a watch ends on it as a query does.
   */
  tooLarge?: boolean;
  /**
   * Upstream rate-limited the caller's token: a 429, as an HTTP status or as a 200 envelope's `code` (whose
   * `upstreamStatus` is then 200): the breaker counts a caller it never accepted by this (failure-judge.ts).
   */
  rateLimited?: boolean;
}

/**
 * A call the gateway answered itself, with no upstream call, that a live
 * poller treats apart from a failure upstream answered: its open circuit (no
 * evidence about upstream, so no longer backoff), the caller's pause after a
 * 429 with Retry-After, or the (caller, execution) pair's after a 5xx with
 * Retry-After (upstream's own answers, so a lease holder keeps its lease).
 * The code stays UPSTREAM_UNAVAILABLE for clients. A full bulkhead is no such
 * refusal: the process is overloaded, and pollers back off from it.
 */
export interface GatewayRefusal {
  by: 'circuit-open' | 'caller-paused' | 'execution-paused';
  /** When a call may be let through again, in ms from now, when the gateway knows (the circuit's half-open time). */
  retryInMs?: number;
  /** How long the pause has run, in ms, when the gateway knows (`caller-paused`, `execution-paused`): since the 429 or 5xx that began it. */
  pausedForMs?: number;
}

/** Upstream's 401 or 403 of the caller's token, answered now or, with `rememberedMs`, moments ago (UPSTREAM_REFUSED_TOKEN_MS: not asked again for that many ms). */
export interface TokenRefusal {
  status: 401 | 403;
  rememberedMs?: number;
}

export class UpstreamError extends GraphQLError {
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly unreachable: boolean;
  readonly timedOut: boolean;
  readonly retryAfterMs: number | undefined;
  readonly refusal: GatewayRefusal | undefined;
  readonly tokenRefusal: TokenRefusal | undefined;
  readonly unnamedStatus: boolean;
  readonly tooLarge: boolean;
  readonly rateLimited: boolean;

  constructor(code: ErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    const extensions = errorExtensions(code, options);
    if (options.retryAfterMs !== undefined) extensions.retryAfterMs = options.retryAfterMs;
    super(message, { extensions });
    this.retryable = options.retryable ?? false;
    this.countsAsFailure = options.countsAsFailure ?? false;
    this.unreachable = options.unreachable ?? false;
    this.timedOut = options.timedOut ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.refusal = options.refusal;
    this.tokenRefusal = options.tokenRefusal;
    this.unnamedStatus = options.unnamedStatus ?? false;
    this.tooLarge = options.tooLarge ?? false;
    this.rateLimited = options.rateLimited ?? false;
  }
}

/**
 * The gateway's answer to a call for an execution upstream asked this caller to leave alone for `ms` more (a
 * 5xx with Retry-After: src/upstream/caller-pauses.ts): UPSTREAM_UNAVAILABLE with the time left, no upstream
 * call made; `pausedForMs`, how long the pause has run. Also a live poller's, for a pause another replica
 * recorded (src/live/poller.ts).
 */
export function executionPaused(ms: number, pausedForMs?: number): UpstreamError {
  return paused('execution-paused', 'is unavailable for this execution and asked for no calls for it', ms, pausedForMs);
}

/**
 * The gateway's answer to a call of a caller upstream asked to leave it alone for `ms` more (a 429 with
 * Retry-After: src/upstream/caller-pauses.ts): UPSTREAM_UNAVAILABLE with the time left, no upstream call made;
 * `pausedForMs`, how long the pause has run.
 */
export function callerPaused(ms: number, pausedForMs: number): UpstreamError {
  return paused('caller-paused', 'is rate limiting this caller and asked for no calls', ms, pausedForMs);
}

/**
 * A call not sent because upstream refused the caller's token with `status` (401 or 403) moments ago
 * (UPSTREAM_REFUSED_TOKEN_MS): the code and `upstreamStatus` of that answer, which asked again would be the same;
 * the message says it was not asked, and for how long (`ms`) it will not be.
 */
export function tokenRefused(status: 401 | 403, ms: number): UpstreamError {
  const tokenRefusal: TokenRefusal = { status, rememberedMs: ms };
  return new UpstreamError(TOKEN_REFUSAL_CODES[status], tokenMessage(tokenRefusal), { upstreamStatus: status, tokenRefusal });
}

const TOKEN_REFUSAL_CODES = { 401: ErrorCode.UNAUTHENTICATED, 403: ErrorCode.FORBIDDEN } as const;

/** What a refusal of the caller's token says: what happened, when it is remembered that it was not asked, and what to do (`fix`: a 401's advice for a malformed Authorization, see headerMistake). */
function tokenMessage({ status, rememberedMs }: TokenRefusal, fix?: string): string {
  const { what, advice } = TOKEN_REFUSALS[status];
  const todo = fix !== undefined && status === 401 ? fix : advice;
  return rememberedMs === undefined ? `${what}: ${todo}.` : `${what}: refused moments ago, so not asked again during the next ${seconds(rememberedMs)}; ${todo}.`;
}

/**
 * What upstream's 401 and 403 say, and what the caller can do about each: a message that said only what happened
 * ("did not accept the Authorization token") left a frontend guessing whether to retry, which changes nothing.
 */
const TOKEN_REFUSALS = {
  401: { what: 'The executions API did not accept the Authorization token', advice: 'send a valid, unexpired token (sign in again for a new one)' },
  403: { what: 'The token is valid but has no access to executions', advice: 'use a token that is allowed to read executions' },
} as const;

/**
 * The advice of a 401 for an Authorization with no scheme, a bare token (`eyJ…` where `Bearer eyJ…` was meant, the
 * token pasted as the whole header): upstream reads the token as a scheme and refuses it, and "send a valid, unexpired
 * token (sign in again …)" sent a frontend after a new token when the one it had was fine.
 */
const NO_SCHEME_ADVICE = 'it is a bare token with no scheme before it; send `Authorization: Bearer <token>`';

/**
 * The advice of a 401 for the scheme written twice (`Bearer Bearer eyJ…`: a token stored with its scheme, given to code
 * that adds one), which a new token would not mend.
 */
const TWO_SCHEMES_ADVICE = 'it says `Bearer` twice (a token kept with its scheme, and the scheme added again); send `Authorization: Bearer <token>` with the scheme once';

/**
 * The advice of a 401 for a token that is what JavaScript writes for a value it does not have (`Bearer undefined`,
 * `Bearer null`: a template literal whose token variable was not set yet), which signing in again would not mend.
 */
const placeholderAdvice = (token: string) =>
  `its token is the text \`${token}\`, what JavaScript writes for a variable with no value: set the token before the request is sent (is it read before sign-in finished?)`;

/**
 * The advice of a 401 for a token that is still a placeholder in angle brackets: GraphiQL's headers as the gateway fills
 * them in without a demo (`Bearer <your token>`, src/pipeline/graphiql.ts), or the `Bearer <token>` the messages and the
 * README write. A first query run as GraphiQL opened was told to sign in again for a new token.
 */
const angleAdvice = (token: string) => `its token is the placeholder \`${token}\` (as GraphiQL's headers and the examples write it): put your own token in its place`;

/**
 * The advice of a 401 for a token in angle brackets that is no placeholder's words (`Bearer <eyJ…>`: a real token put
 * in the placeholder's place with its brackets kept). Never quoted: the message would carry the token itself.
 */
const ANGLED_TOKEN_ADVICE = 'its token is written in angle brackets (`<…>`), which mark a placeholder in the examples and are no part of a token: send `Authorization: Bearer <token>` with your token alone, without the brackets';

/** A placeholder's words in angle brackets (`<your token>`, `<token>`, `<YOUR_JWT>`), which may be quoted back: no token reads so. */
const PLACEHOLDER_WORDS = /^<(?:(?:your|my|the|an?|access|api|auth|bearer|id|jwt|key|token|here|insert|paste)(?:[ _-]|(?=>)))+>$/i;

/** What is plainly wrong with `authorization`, as a 401's advice in place of "a new token"; undefined when nothing is. */
function headerMistake(authorization: string): string | undefined {
  // No space or tab: no scheme before a token.
  if (!/[ \t]/.test(authorization)) return NO_SCHEME_ADVICE;
  if (/^[ \t]*bearer[ \t]+bearer(?:[ \t]|$)/i.test(authorization)) return TWO_SCHEMES_ADVICE;
  // No token holds `<` or `>` (RFC 6750's b64token): the whole token in angle brackets is one still to be filled in.
  const angled = /^[ \t]*bearer[ \t]+(<[^<>]*>)[ \t]*$/i.exec(authorization)?.[1];
  if (angled !== undefined) return PLACEHOLDER_WORDS.test(angled) ? angleAdvice(angled) : ANGLED_TOKEN_ADVICE;
  const placeholder = /^[ \t]*bearer[ \t]+(undefined|null|\[object Object\]|NaN)[ \t]*$/i.exec(authorization)?.[1];
  return placeholder === undefined ? undefined : placeholderAdvice(placeholder);
}

/**
 * `error`, or for upstream's 401 (answered now or remembered: UPSTREAM_REFUSED_TOKEN_MS) of an `authorization` that is
 * plainly malformed (no scheme before a token, `Bearer` twice, `Bearer undefined`), the same error saying what to
 * mend instead of asking for a new token.
 */
export function adviseScheme(error: GraphQLError, authorization: string): GraphQLError {
  if (!(error instanceof UpstreamError) || error.tokenRefusal?.status !== 401) return error;
  const fix = headerMistake(authorization);
  if (fix === undefined) return error;
  const { upstreamStatus, upstreamRequestId } = error.extensions as UpstreamFacts;
  return new UpstreamError(error.extensions.code as ErrorCode, tokenMessage(error.tokenRefusal, fix), { upstreamStatus, upstreamRequestId, tokenRefusal: error.tokenRefusal });
}

/** A pause's refusal: what upstream `asked`, the time left (`ms`, also `extensions.retryAfterMs`) and how long it has run. */
function paused(by: 'caller-paused' | 'execution-paused', asked: string, ms: number, pausedForMs: number | undefined): UpstreamError {
  return new UpstreamError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    `The executions API ${asked} during the next ${seconds(ms)}: not called. Retry after \`extensions.retryAfterMs\` milliseconds.`,
    { retryAfterMs: ms, refusal: { by, retryInMs: ms, ...(pausedForMs !== undefined ? { pausedForMs } : {}) } },
  );
}

/**
 * The open circuit's refusal, no upstream call made; `retryInMs`, when it lets a probe through. That time, rounded up
 * to a tenth of a second (so a client retrying on the dot finds the probe let through, not refused again), is in the
 * message and in `extensions.retryAfterMs` (ms), a client's cue; not in `UpstreamError.retryAfterMs`, which is
 * upstream's own Retry-After: the gateway's retries and live pollers honour that one as upstream asking for a pause.
 */
export const circuitOpen = (retryInMs: number) => {
  const retryAfterMs = retryInMs > 0 ? Math.ceil(retryInMs / 100) * 100 : undefined;
  const error = new UpstreamError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    `The executions API is failing; the gateway stops calling it for a few seconds to let it recover: ${retryAfterMs !== undefined ? `retry in ${seconds(retryAfterMs)} (\`extensions.retryAfterMs\`)` : 'retry shortly'}.`,
    { refusal: { by: 'circuit-open', retryInMs } },
  );
  if (retryAfterMs !== undefined) error.extensions.retryAfterMs = retryAfterMs;
  return error;
};

/** The bulkhead's refusal (UPSTREAM_MAX_CONCURRENT calls running and its queue full): the process is overloaded. */
export const bulkheadFull = () => new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The gateway is at its limit of concurrent calls to the executions API; retry shortly.');

/**
 * A 2xx body refused by UPSTREAM_MAX_BYTES_IN_FLIGHT (src/upstream/body-budget.ts): upstream answered, but the process
 * already holds as many bytes of upstream bodies as it may. It frees by itself as those bodies are parsed, so the
 * message says it is temporary, and `retryAfterMs` (ms, also `extensions.retryAfterMs`) says when to come back.
 */
export const bodiesInFlightFull = (retryAfterMs: number) =>
  new UpstreamError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    'The gateway holds as much data from the executions API as it may at once. This is temporary: retry after `extensions.retryAfterMs` milliseconds.',
    { retryAfterMs },
  );

/** The refusal of a caller with `limit` calls running while the bulkhead's queue is full (src/upstream/resilience.ts). */
export const callerShareFull = (limit: number) =>
  new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `This caller has ${limit === 1 ? '1 call' : `${limit} calls`} to the executions API running and the gateway's queue is full; retry once ${limit === 1 ? 'it has' : 'some have'} finished.`);

/**
 * An attempt whose deadline (`timeoutMs`, UPSTREAM_TIMEOUT_MS) passed before upstream's answer was complete; `facts`,
 * the status and request id of an answer whose head had come (its body had not): without them a stalled 200 could not
 * be named in a ticket to upstream's team, though its `x-request-id` had arrived.
 */
export const attemptTimedOut = (timeoutMs: number, facts: UpstreamFacts = {}) =>
  new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, `The executions API did not answer within ${timeoutMs} ms; retry shortly.`, { ...facts, countsAsFailure: true, timedOut: true });

/** Upstream could not be reached (or failed in a way the gateway does not know); `options`, how the policies treat it. */
export const upstreamUnreachable = (options: UpstreamErrorOptions = {}) => new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The executions API could not be reached; retry shortly.', options);

/**
 * Upstream answered with a body the gateway cannot read (`tooLarge`: one past UPSTREAM_MAX_BODY_BYTES or
 * UPSTREAM_MAX_JSON_VALUES). A body too large carries `extensions.retryable: false`: the code is the same as a
 * moment's unreadable body's, which a client retries, and only the message told them apart.
 */
export function unreadableAnswer(facts: { upstreamStatus?: number; upstreamRequestId?: string | undefined }, tooLarge = false): UpstreamError {
  // What to do next: a body past the cap comes back the same (upstream only appends), so asking again is no help; any
  // other may be a moment's (a proxy's maintenance page), and the gateway's log says why it was unreadable.
  const message = tooLarge
    ? "The executions API answered with a body too large for the gateway to read; asking again gets the same answer: tell the gateway's operators, whose log names the limit."
    : "The executions API answered with a body the gateway cannot read; retry shortly, and if it persists tell the gateway's operators, whose log says why.";
  const error = new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, message, { upstreamStatus: facts.upstreamStatus, upstreamRequestId: facts.upstreamRequestId, tooLarge });
  if (tooLarge) error.extensions.retryable = false;
  return error;
}

/** The drain cut the request's connection before upstream answered (src/request/shutdown-cut.ts). */
export const shutDownBeforeAnswer = () => new UpstreamError(ErrorCode.SHUTTING_DOWN, 'The gateway shut down before the executions API answered: send the request again.');

/** The request's client went away before upstream answered. */
export const clientLeft = () => new UpstreamError(ErrorCode.CLIENT_CLOSED_REQUEST, 'The client went away before the executions API answered.');

/**
 * The request's wait for upstream ended by time: its budget (`budgetMs`, REQUEST_BUDGET_MS) ran out, which the
 * message names; unknown, by each attempt's own limit (`attemptTimeoutMs`). Naming the attempt's limit when the
 * budget had run out quoted a time that never passed.
 */
export function budgetSpent(attemptTimeoutMs: number, budgetMs?: number): UpstreamError {
  const why = budgetMs === undefined ? `${attemptTimeoutMs} ms per attempt, within the request's time budget` : `the request's time budget of ${budgetMs} ms ran out`;
  return new UpstreamError(ErrorCode.UPSTREAM_TIMEOUT, `The executions API did not answer in time (${why}); retry shortly, or ask for fewer executions in one request.`);
}

/**
 * What a live watch's subscribers are told while upstream fails (src/live/poller.ts): UPSTREAM_UNAVAILABLE with
 * upstream's facts, worded for a stream, which polls again by itself, never as the last failure's own message:
 * that one is for a one-off request and may tell it to retry. When upstream asked for a pause, the message says
 * how long it asked for and `retryAfterMs` how long until the next poll, which the backoff may make longer.
 */
export function watchOutage(facts: UpstreamFacts, pause: { askedMs: number; nextPollMs: number } | undefined): GraphQLError {
  const extensions = errorExtensions(ErrorCode.UPSTREAM_UNAVAILABLE, facts);
  if (pause === undefined) return new GraphQLError('The executions API has been failing for a while; updates resume when it answers again.', { extensions });
  extensions.retryAfterMs = pause.nextPollMs;
  return new GraphQLError(
    `The executions API asked the gateway to make no calls for ${seconds(pause.askedMs)}; the watch goes on, polls again in ${seconds(pause.nextPollMs)} (\`extensions.retryAfterMs\`), and updates resume when it answers.`,
    { extensions },
  );
}

/** What an answer's status is read with: upstream's facts, its Retry-After, and how long the gateway waits for one. */
export interface StatusFacts extends UpstreamFacts {
  retryAfterMs?: number;
  /** Longest Retry-After the gateway waits before retrying (UPSTREAM_RETRY_AFTER_CAP_MS); unset: any. */
  retryAfterCapMs?: number;
}

/** The error for an upstream HTTP status (or the code inside a 200's envelope). */
export function errorForUpstreamStatus(status: number, facts: StatusFacts): UpstreamError {
  const { retryAfterCapMs, ...rest } = facts;
  // An answer that asking again will not change: a Retry-After beside it tells the client nothing to wait for.
  const { retryAfterMs: _retryAfterMs, ...final } = rest;
  switch (status) {
    case 400:
      return new UpstreamError(ErrorCode.BAD_USER_INPUT, 'The executions API rejected the request as invalid; check the execution id.', final);
    case 401:
    case 403: {
      const tokenRefusal: TokenRefusal = { status };
      return new UpstreamError(TOKEN_REFUSAL_CODES[status], tokenMessage(tokenRefusal), { ...final, tokenRefusal });
    }
    case 404:
      return new UpstreamError(ErrorCode.NOT_FOUND, 'No execution with this id is visible to this token: check the id, or use a token of the organization that owns the execution.', final);
    case 408:
    case 421:
    case 425:
      // Each asks for the same request again: 408, upstream's server gave up waiting for it (an idle pooled
      // connection it timed out, say; RFC 9110 §15.5.9); 421, it reached a server that does not serve it (§15.5.20);
      // 425, it came too early in a TLS handshake (RFC 8470). Asked again it may well succeed, so it is retried, as a
      // 503 is, and a watch polls through it.
      return transient(`The executions API asked for the request again (HTTP ${status})`, 'retry shortly', true, rest, retryAfterCapMs);
    case 429:
      // Upstream limits each token (the gateway sends the caller's), and the gateway pauses that caller alone (failure-judge.ts,
      // resilience.ts): "the gateway" read as if every caller were held back. Counted by the breaker too.
      return transient('The executions API is rate limiting this caller (its token)', 'retry shortly', true, { ...rest, rateLimited: true }, retryAfterCapMs);
    default:
      if (status >= 500 && status <= 599) {
        return transient(`The executions API failed (HTTP ${status})`, 'retry shortly', status === 502 || status === 503 || status === 504, rest, retryAfterCapMs);
      }
      return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `The executions API answered with unexpected HTTP ${status}; if it persists, tell the gateway's operators, whose log says more.`, { ...final, unnamedStatus: true });
  }
}

/**
 * UPSTREAM_UNAVAILABLE for a 408, 421, 425, 429 or 5xx. Retryable statuses are retried unless
 * upstream asked for a longer pause than the gateway waits: then the call is
 * given up at once, and the message and `extensions.retryAfterMs` say when to
 * come back, rather than the gateway retrying early against upstream's wish.
 */
function transient(what: string, advice: string, retryable: boolean, facts: UpstreamFacts & { retryAfterMs?: number; rateLimited?: boolean }, capMs: number | undefined): UpstreamError {
  const { retryAfterMs } = facts;
  if (retryable && retryAfterMs !== undefined && capMs !== undefined && retryAfterMs > capMs) {
    return new UpstreamError(
      ErrorCode.UPSTREAM_UNAVAILABLE,
      `${what} and asked for no calls during the next ${seconds(retryAfterMs)}, longer than the gateway waits (${seconds(capMs)}): ` +
        'not retried. Retry after `extensions.retryAfterMs` milliseconds.',
      { ...facts, countsAsFailure: true },
    );
  }
  return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, advice ? `${what}; ${advice}.` : `${what}.`, { ...facts, retryable, countsAsFailure: true });
}

/** A delay as people read it: `30 s`, `1.5 s`. */
export function seconds(ms: number): string {
  // Under a tenth of a second, as ms: "during the next 0.0 s" told a client there was nothing to wait for.
  if (ms > 0 && ms < 100) return `${Math.ceil(ms)} ms`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
