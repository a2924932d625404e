/**
 * GraphQL over WebSocket (graphql-ws's `graphql-transport-ws` protocol) on the
 * same port and path as HTTP, through the same pipeline.
 *
 * graphql-ws speaks the protocol (connection_init and ack, ping, subscribe,
 * next, error, complete) and this file hands each operation to the lane as an
 * HTTP request: `POST /graphql` with the operation as its JSON body, the
 * upgrade request's headers, the token from `connectionParams.authorization`
 * (browsers cannot set headers on an upgrade; an `Authorization` header on the
 * upgrade is honoured too; two different tokens are BAD_REQUEST, with no call;
 * a blank one gives way to the other)
 * and `Accept: text/event-stream`. Every plugin hook,
 * parameter hooks included, therefore runs for a WebSocket operation exactly as
 * for Server-Sent Events; Yoga's usual graphql-ws wiring calls envelop directly
 * and skips onRequest, onRequestParse and onParams, so the introspection switch
 * would not hold there. The event stream the pipeline answers is read back into
 * graphql-ws messages.
 *
 * An Upgrade naming websocket among other protocols (`h2c, websocket`) is a WebSocket upgrade (`asksForWebSocket`).
 * The upgrade is refused (426) when its Sec-WebSocket-Version is not 13 (`handshakeProblem`), (400) when its Host is missing (HTTP/1.1) or invalid,
 * or it carries two Authorization lines (./repeated-fields.ts), as the HTTP edge refuses such a request, and (403) when its Origin is
 * neither the gateway's own nor allowed by CORS_ORIGINS, and (503) past
 * WS_MAX_CONNECTIONS open at once, unless a connection that runs no operation,
 * or is closing already, makes room: the least recently served one of a caller
 * holding more than its share (CALLER_SHARE_PERCENT of WS_MAX_CONNECTIONS), else
 * the oldest one that had no operation served by upstream, each closed with
 * 1013 and dropped (see `madeRoom`); a closing connection
 * whose client does not answer the close frame is dropped after
 * CLOSE_HANDSHAKE_MS; a connection that sends no
 * `connection_init` in time is closed, and so is one idle for
 * WS_IDLE_TIMEOUT_MS (with close code 1000), since `connection_init` needs no token and the
 * client's pongs cost it nothing: idle is running no operation, and having
 * had none served by upstream (an execution read with the connection's token)
 * since, so operations that need no upstream (`{ __typename }`) or that
 * upstream refuses (no token, a made-up one) do not keep it; a message larger than
 * MAX_REQUEST_BODY_BYTES closes the connection (1009), and so does one the
 * protocol does not take from a client (4400), a server's `next` among them.
 * A client that does not ask for `graphql-transport-ws` (Apollo's old
 * SubscriptionClient asks for subscriptions-transport-ws's `graphql-ws`) is
 * closed at once with graphql-ws's 4406 and a reason naming the protocol
 * served, and a warning is logged (`selectSubprotocol`).
 * A connection sends at most WS_MAX_MESSAGES_PER_SECOND messages a second, of any kind, before or after
 * `connection_init` (`MessageBudget`): past it, it is closed with 1008 and read no more (`tooManyMessages`). Each
 * graphql-ws `ping` costs the gateway a parse and a `pong` written, and one socket sending them in a loop slowed
 * every other client; the idle timeout alone let it go on for WS_IDLE_TIMEOUT_MS.
 * A client address (./client-address.ts, TRUSTED_PROXIES honoured) upgrades at most WS_MAX_UPGRADES_PER_SECOND times a
 * second, in bursts of WS_UPGRADE_BURST (./upgrade-budget.ts): past it the upgrade is refused (429, with Retry-After)
 * before the handshake and before it could make room at WS_MAX_CONNECTIONS (`tooManyUpgrades`). The message budget is
 * per socket, and a client opening a new socket each time one was closed got a new one each time.
 * A connection runs at most LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION operations
 * at once, queries and live subscriptions alike: graphql-ws runs each
 * `subscribe` concurrently, so without a bound one socket could hold any
 * number of results in memory behind a client that stops reading. An operation
 * the client completed counts no more, and one it completed before graphql-ws
 * started it never counted (`operation`).
 * An upgrade pipelined behind requests still being answered waits for their
 * answers (./raw-http.ts `whenAnswered`): its 101 or refusal would go out first.
 * A connection whose client stopped reading (what was sent has waited
 * LIVE_STALLED_CLIENT_MS for the network to take any of it) is closed with 1013 and
 * dropped, ending its operations (./stalled-clients.ts).
 * `connectionParams` never reach a log. A token in them that makes an
 * operation's head (the upgrade's headers and the token) pass node's
 * `maxHeaderSize` (16 KiB) is refused with BAD_REQUEST, as the HTTP edge
 * refuses such a head (431), before any upstream call.
 *
 * Each operation is a request of its own, with a request id of its own (the
 * access log's and upstream's `x-request-id`); the upgrade's id (its
 * `x-request-id` when the client sent a usable one) names the connection, and
 * the edge's log lines about an operation carry it as `upgradeRequestId`.
 * Anything the lane throws or rejects with while running an operation is
 * answered as over HTTP: a masked INTERNAL_SERVER_ERROR result, logged once
 * with the operation's request id, never graphql-ws's `error` message with the
 * thrown message in it.
 *
 * When the process drains (./drain.ts), `goingAway` refuses upgrades (503) and
 * closes each connection with 1001 Going Away once no operation runs on it:
 * live subscriptions have just ended with SHUTTING_DOWN (their `next` and
 * `complete` are sent first), queries finish. The client subscribes again
 * itself, from its last cursor: nothing is left open for graphql-ws to resume.
 * What still runs when the grace runs out is cut by `cut`, as the drain's doing
 * (SHUTTING_DOWN, 503 in its access line), not its client's: each operation is
 * answered SHUTTING_DOWN (`next`, then `complete`) and its connection closed
 * with 1001, where dropping the socket left its client a bare 1006, with no
 * word of what had become of its operations.
 *
 * The socket wiring is graphql-ws's `makeServer` with our own ws glue rather
 * than its `useServer`: that one writes socket errors (a client's oversized
 * message among them) to the console with a stack, past the logger and its
 * redaction, and echoes error messages in close reasons outside production.
 */
import { maxHeaderSize, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { parse, type ExecutionArgs, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { CloseCode, DEPRECATED_GRAPHQL_WS_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL, makeServer, MessageType, type Context } from 'graphql-ws';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { authorizationNotText, CUT_BY_SHUTDOWN, errorBody, ErrorCode, errorResult, FIELD_VALUE, gatewayError, invalidAuthorization, MASKED_MESSAGE, originRefused, repeatedFieldRefused, UNREAD_PARAM_NAMES, withoutFieldWhitespace } from '../errors.js';
import type { Lane } from '../fast-lane/index.js';
import type { Logger } from '../logger.js';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import type { EdgeRefusal } from '../pipeline/request-errors.js';
import { TCHAR } from '../http-token.js';
import { canonicalAuthorization, namesCaller } from '../upstream/caller.js';
import { requestIdFor } from '../request/request-id.js';
import { shutdownCutReason } from '../request/shutdown-cut.js';
import { schema } from '../schema/index.js';
import type { AccessLog } from '../telemetry/access-log.js';
import { OncePerWindow } from '../telemetry/once-per-window.js';
import { headBytes, headTooLarge } from './head-size.js';
import { MessageBudget } from './message-budget.js';
import type { TrustedProxies } from './client-address.js';
import { UpgradeBudget } from './upgrade-budget.js';
import { serveIgnoringUpgrade } from './ignored-upgrade.js';
import { hostProblem } from './http-edge.js';
import { adoptSocket, endWithJson, pathOf, toOriginForm, whenAnswered } from './raw-http.js';
import { repeatedField } from './repeated-fields.js';
import { versionRefusal } from './request-line.js';
import type { StalledClients } from './stalled-clients.js';
import { messageHead, orderedById } from './ws-message-order.js';
import { exactJsonText, withoutByteOrderMark } from '../json-text.js';
import { memberText, repeatedMember } from '../json-members.js';
import { textPrefix } from '../text-prefix.js';
import { tokenParamsInUrl } from '../request/url-token.js';

/** What the instance holds of the WebSocket side: its connections, for a drain. */
export interface WebSocketEdge {
  /** Connections open now. */
  readonly open: number;
  /**
   * Upgrades that met WS_MAX_CONNECTIONS since start: those a connection upstream never served was dropped for
   * (`madeRoom`), those a connection of a caller past its share was dropped for (`callerShare`), those refused with 503.
   */
  readonly boundCounts: { readonly madeRoom: number; readonly callerShare: number; readonly refused: number };
  /** Connections closed (1008) for sending more than WS_MAX_MESSAGES_PER_SECOND, since start. */
  readonly tooManyMessages: number;
  /** Upgrades refused (429) past their client address's WS_MAX_UPGRADES_PER_SECOND, since start. */
  readonly tooManyUpgrades: number;
  /** Refuses upgrades from now on and closes each connection with 1001 once no operation runs on it (at once when none does). */
  goingAway(): void;
  /** Resolves once no connection is open. */
  closed(): Promise<void>;
  /**
   * The drain's grace ran out: each operation still running is answered with a SHUTTING_DOWN result (`next`, then
   * `complete`), and each open connection closed with 1001; the operations are cut once their sockets close. `close`
   * drops what has not closed after a short while.
   */
  cut(): void;
  /** Drops every connection at once and stops accepting. */
  close(): void;
}

/**
 * Close code of an idle connection: a normal closure, which graphql-ws clients
 * take as such (a lazy one connects again when it next subscribes; one kept
 * open on purpose, `lazy: false`, reconnects at once).
 */
const IDLE_CLOSE_CODE = 1000;

/**
 * Close code of a connection whose client stopped reading (./stalled-clients.ts):
 * 1013 Try Again Later, which graphql-ws clients reconnect on (as on 1006,
 * what a client sees when the close frame, queued behind what it did not read,
 * never reaches it). It resubscribes with the variables it started with: update
 * `eventsAfter` as cursors arrive to resume without a gap.
 */
const STALLED_CLOSE_CODE = 1013;

/**
 * Close code and reason of a connection closed to make room at WS_MAX_CONNECTIONS (see `upgrade`): 1013 Try Again
 * Later, which graphql-ws clients reconnect on.
 */
const MADE_ROOM = { code: 1013, reason: 'Closed to make room: WS_MAX_CONNECTIONS reached, and upstream served no operation of this connection' } as const;

/** Close code and reason of a served connection closed to make room at WS_MAX_CONNECTIONS because its caller holds more than its share. */
const PAST_SHARE = { code: 1013, reason: "Closed to make room: WS_MAX_CONNECTIONS reached, and this connection's caller holds more than CALLER_SHARE_PERCENT" } as const;

/**
 * How long a closing connection waits for its client's close frame before it is dropped (ws's `closeTimeout`). ws's
 * default, 30 s, let a client that never answers keep each socket the gateway closed (idle, refused, going away) in
 * WS_MAX_CONNECTIONS that long.
 */
const CLOSE_HANDSHAKE_MS = 5_000;

/** How long closing connections to make room is warned of once (then at debug): under attack it happens at the attacker's rate. */
const MADE_ROOM_WARNING_WINDOW_MS = 600_000;

/**
 * Close code of a connection that sent more than WS_MAX_MESSAGES_PER_SECOND: RFC 6455's 1008 Policy Violation (§7.4.1,
 * for a message that violates the endpoint's policy, when no other code fits). graphql-ws has no code for a message
 * rate (its 4429 is for a second `connection_init`), and its client takes 1008, as every 1xxx code but the transient
 * ones (1000, 1001, 1006, 1012, 1013, 1014), as final: it does not reconnect to send the same flood again.
 */
const TOO_MANY_MESSAGES_CLOSE_CODE = 1008;

/** How long closing connections for their message rate is warned of once (then at debug): a client can do it at will. */
const TOO_MANY_MESSAGES_WARNING_WINDOW_MS = 600_000;

/** How long refusing upgrades for their address's rate is warned of once (then at debug): a client can do it at will. */
const TOO_MANY_UPGRADES_WARNING_WINDOW_MS = 600_000;

/** Close code and reason of a drain: RFC 6455's "going away", which graphql-ws clients answer by reconnecting. */
const GOING_AWAY = { code: 1001, reason: 'Going away: the gateway is shutting down' } as const;

/** The last result of an operation the drain cut (`cut`), as an HTTP request the drain cut is answered. */
const CUT_RESULT = errorResult(ErrorCode.SHUTTING_DOWN, CUT_BY_SHUTDOWN);

export interface WebSocketSettings {
  /** The GraphQL endpoint's path. */
  path: string;
  corsOrigins: readonly string[];
  /** Tells of a page refused for its Origin, as of a refused CORS preflight: the page's WebSocket sees no status at all. */
  refusedOrigin: (origin: string) => void;
  connectionInitTimeoutMs: number;
  /** A connection that ran no operation, and had none served by upstream, for this long is closed with 1000 (ms). */
  idleTimeoutMs: number;
  /** How often a connection is pinged, and how long its pong may take before it counts as dead and is dropped (ms). */
  keepAliveMs: number;
  /** Connections open at once; a further upgrade makes room (`madeRoom`) or is refused with 503. */
  maxConnections: number;
  /** Connections one caller may keep once `maxConnections` is reached: its CALLER_SHARE_PERCENT of them, at least 1. */
  maxConnectionsPerCaller: number;
  /** Largest message accepted, in bytes. */
  maxMessageBytes: number;
  /** Operations one connection may run at once (graphql-ws calls each a subscription). */
  maxSubscriptionsPerConnection: number;
  /** Messages one connection may send a second, of any kind (`MessageBudget`); past it, it is closed with 1008. */
  maxMessagesPerSecond: number;
  /** Upgrades one client address may make a second (`UpgradeBudget`); past it, 429. 0: unbounded. */
  maxUpgradesPerSecond: number;
  /** Upgrades one client address may make at once before `maxUpgradesPerSecond` holds it back. */
  upgradeBurst: number;
  /** TRUSTED_PROXIES, which the client address of an upgrade is read through, as the access log reads it. */
  trustedProxies?: TrustedProxies | undefined;
  /** Finds connections whose client stopped reading (LIVE_STALLED_CLIENT_MS); each is closed with 1013 and dropped. */
  stalledClients: StalledClients;
  /** Writes the line of each refused upgrade (../telemetry/access-log.ts); none without it. */
  accessLog?: AccessLog;
}

/** What graphql-ws keeps of a connection: the socket, its upgrade request and that request's id. */
type Extra = { socket: WebSocket; request: IncomingMessage; upgradeRequestId: string };
type Payload = { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: unknown };

/**
 * graphql-ws picks `subscribe` or `execute` from the operation in the document
 * it is handed; handing it this one makes it always call `subscribe`, which
 * runs the operation the client sent, whatever its type, through the pipeline.
 */
const THROUGH_THE_PIPELINE = parse('subscription ThroughThePipeline { __typename }');

/**
 * Upgrade headers that describe the WebSocket, not the operations sent over it;
 * `x-request-id` names the upgrade, and each operation has an id of its own.
 */
const CONNECTION_HEADERS = new Set(['connection', 'upgrade', 'content-length', 'content-type', 'accept', 'transfer-encoding', 'x-request-id']);

/** Why an operation whose payload cannot be handed to the lane is refused (see `run`). */
const PAYLOAD_TOO_DEEP = 'The operation is nested too deeply to be served over WebSocket: send its variables and extensions with fewer levels of nesting.';

/**
 * Why an operation is refused whose connection carries two different tokens (see `run`): the upgrade's
 * Authorization and one in connectionParams, or two keys in connectionParams. Either one taken would be a guess.
 */
const TWO_TOKENS =
  'This connection carries two different tokens (the upgrade\'s Authorization header and connectionParams, or two authorization keys in connectionParams): send one, or the same one in each.';
/** Why an operation whose token (connectionParams) makes its head larger than the HTTP edge takes is refused (see `run`). */
const TOKEN_TOO_LARGE = `The token in connectionParams and the upgrade's headers pass ${maxHeaderSize / 1024} KiB together, more than a request's head may carry: send a shorter token.`;

/**
 * The pipeline's answer to an operation that never started executing: a request error (GraphQL spec, "Request
 * Errors"): no `data`, and errors of the request, on no field's path (a document that does not parse or validate,
 * no operation to run, a variable that does not fit, a persisted document not found, a refusal of the edge's). Over
 * Server-Sent Events it is the one `next` event; graphql-transport-ws answers it with one `error` message instead
 * ("before execution starts, usually due to validation errors"), with no `complete` after it. A watch refused by its
 * field (BAD_USER_INPUT, NOT_FOUND, TOO_MANY_SUBSCRIPTIONS) started executing: its errors are on `executionUpdates`,
 * and it stays a `next` then `complete`, as over SSE.
 */
function isRequestError(result: ExecutionResult): boolean {
  return !('data' in result) && result.errors !== undefined && result.errors.length > 0 && result.errors.every((error) => error.path === undefined);
}

/**
 * Thrown by an operation whose first answer from the pipeline is a request error: graphql-ws sends what an operation
 * throws as its `error` message, whose payload `onError` replaces with the pipeline's errors as they are (coded,
 * masked, with their locations), where graphql-ws would send the thrown message alone.
 */
class RequestRefused extends Error {
  constructor(readonly errors: readonly GraphQLFormattedError[]) {
    super('The pipeline refused the request before it ran.');
  }
}

/** What a client sees of an operation that failed outside the pipeline: what the HTTP edge answers with its 500. */
const MASKED_FAILURE = errorResult(ErrorCode.INTERNAL_SERVER_ERROR, MASKED_MESSAGE);

/**
 * Message types only a server sends (graphql-transport-ws). graphql-ws's
 * makeServer takes them as well-formed and then throws on them, where the
 * protocol closes the socket with 4400 for a message it does not specify
 * from a client; without this, a client sending `next` got 4500 and the
 * gateway logged an error of its own, at will.
 */
const SERVER_ONLY_TYPES: ReadonlySet<unknown> = new Set([MessageType.ConnectionAck, MessageType.Next, MessageType.Error]);

/**
 * The close reason for a graphql-ws message refused as unreadable (4400), when the gateway can say more than graphql-ws's
 * "Invalid message received"; undefined otherwise. Read only on that path. A `subscribe` whose `payload.variables` is a
 * string holding JSON (encoded twice) is told to send the object, as over HTTP (src/errors.ts VARIABLES_AS_TEXT).
 */
function invalidMessageReason(text: string): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  const payload = (message as { type?: unknown; payload?: { variables?: unknown } } | null)?.type === MessageType.Subscribe ? (message as { payload?: unknown }).payload : undefined;
  if (typeof payload !== 'object' || payload === null || typeof (payload as { variables?: unknown }).variables !== 'string') return undefined;
  return 'Invalid message received: `payload.variables` is a string: send the variables as a JSON object, not a string holding one';
}

/** The type of a message whose handling threw, when it is one only a server sends; undefined otherwise. */
function serverOnlyType(data: string): string | undefined {
  const type = messageHead(data)?.type;
  return SERVER_ONLY_TYPES.has(type) ? String(type) : undefined;
}

/**
 * A member a graphql-ws message, or its `payload`, gives twice (`payload.query`), or undefined; undefined too for a
 * message that is no JSON object (graphql-ws judges it). JSON.parse keeps the last of two, where a filter in front
 * that reads WebSocket messages may have judged the first: a JSON POST giving a member twice is refused for the same
 * reason (src/pipeline/request-errors.ts), and the same operation sent over a WebSocket ran the last.
 */
function repeatedMessageMember(text: string): string | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const outer = repeatedMember(text, Object.keys(message).length);
  if (outer !== undefined) return outer;
  const payload = (message as { payload?: unknown }).payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const payloadText = memberText(text, 'payload');
  const inner = payloadText === undefined ? undefined : repeatedMember(payloadText, Object.keys(payload).length);
  return inner === undefined ? undefined : `payload.${inner}`;
}

/**
 * Whether an Upgrade header names websocket: RFC 9110 §7.8 (RFC 7230 §6.7 before it) makes it a list of protocols in
 * the client's order of preference, of which the server picks one, and RFC 6455 §4.2.1 asks for one "containing"
 * websocket. `Upgrade: h2c, websocket` was served as HTTP, as h2c alone is, and got the CSRF refusal (403) about a
 * header it had nothing to do with. A protocol with a version (`websocket/13`) is no protocol RFC 6455 names.
 */
function asksForWebSocket(upgrade: string | undefined): boolean {
  return upgrade !== undefined && upgrade.split(',').some((protocol) => protocol.trim().toLowerCase() === 'websocket');
}

/** An upgrade naming no Sec-WebSocket-Version: no handshake at all (RFC 6455 §4.2.1), 400. */
const UNSUPPORTED_VERSION = 'Unsupported Sec-WebSocket-Version: send 13.';

/**
 * An upgrade naming a version other than 13: 426 Upgrade Required (RFC 6455 §4.2.2), with the version spoken. ws
 * would take 8 too (hybi-08 to 12), but such a client sends its page's origin as Sec-WebSocket-Origin, which the
 * Origin check (`originAllowed`) does not read: a version-8 page of any site passed as no browser. No client in use
 * sends 8 (browsers moved to 13 in 2011-12).
 */
const VERSION_NOT_SPOKEN = 'Unsupported Sec-WebSocket-Version: the gateway speaks WebSocket version 13 (RFC 6455) only.';

/** Why an upgrade to websocket is no handshake ws can take (RFC 6455 §4.2.1), or undefined; ws's own refusal is a text/html page. (An upgrade to another protocol is ignored: ./ignored-upgrade.ts.) */
function handshakeProblem(request: IncomingMessage): string | undefined {
  // ws answers another method with a text/html 405 of its own, and takes an HTTP/1.0 request.
  if (request.method !== 'GET' || request.httpVersionMajor !== 1 || request.httpVersionMinor < 1) return 'A WebSocket handshake is an HTTP/1.1 GET.';
  if (!/^[+/0-9A-Za-z]{22}==$/.test(request.headers['sec-websocket-key'] ?? '')) return 'Missing or invalid Sec-WebSocket-Key header.';
  // Compared as text: ws reads it as a number, and would take `013` or `0xd` as 13.
  const version = request.headers['sec-websocket-version'];
  if (version === undefined) return UNSUPPORTED_VERSION;
  if (version !== '13') return VERSION_NOT_SPOKEN;
  return subprotocolListProblem(request.headers['sec-websocket-protocol']);
}

/** `Sec-WebSocket-Protocol`: subprotocol names (tokens), separated by commas with spaces and tabs allowed around each (RFC 6455 §11.3.4). */
const SUBPROTOCOL_LIST = new RegExp(`^${TCHAR}+(?:[ \\t]*,[ \\t]*${TCHAR}+)*$`);

/**
 * What ws refuses in `Sec-WebSocket-Protocol` (an empty name, a character no token has, a name given twice), checked
 * here first: ws answers it with a text/html 400 of its own, with no code and no request id.
 */
function subprotocolListProblem(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const names = SUBPROTOCOL_LIST.test(header) ? header.split(/[ \t]*,[ \t]*/) : undefined;
  if (!names) return `Invalid Sec-WebSocket-Protocol header: a comma-separated list of subprotocol names is expected (${GRAPHQL_TRANSPORT_WS_PROTOCOL}).`;
  if (new Set(names).size !== names.length) return 'Invalid Sec-WebSocket-Protocol header: a subprotocol is named twice.';
  return undefined;
}

/**
 * A refused upgrade, answered as every other refusal: a GraphQL error body with a code (BAD_REQUEST where the
 * request is wrong), and the request id, which it returns; its access line says `transport: "ws"`.
 */
function refuseUpgrade(
  socket: Duplex,
  request: IncomingMessage,
  status: string,
  message: string,
  code: ErrorCode,
  accessLog: AccessLog | undefined,
  headers: Record<string, string> = {},
): string {
  // RFC 6455 §4.2.2: a version the server does not speak is answered with the versions it does, in the header clients
  // read; a 426 names the protocol to upgrade to, and lists Upgrade in Connection (RFC 9110 §7.8, §15.5.22).
  const versions: Record<string, string> =
    message === UNSUPPORTED_VERSION ? { 'sec-websocket-version': '13' } : message === VERSION_NOT_SPOKEN ? { 'sec-websocket-version': '13', upgrade: 'websocket', connection: 'upgrade' } : {};
  const requestId = requestIdFor(request.headers['x-request-id']);
  endWithJson(socket, status, errorBody(code, message), { ...versions, ...headers, 'x-request-id': requestId });
  accessLog?.edgeAnswered({ requestId, request, upgradeRequestId: requestId, transport: 'ws', status: Number.parseInt(status, 10), code, traceparent: request.headers.traceparent, socket });
  return requestId;
}

/** Close reason of a connection that did not ask for graphql-transport-ws (at most 123 bytes, RFC 6455 §5.5). */
const SUBPROTOCOL_REFUSED = `Subprotocol not acceptable: the gateway speaks ${GRAPHQL_TRANSPORT_WS_PROTOCOL} (the graphql-ws library) only`;

/**
 * How long each kind of refused subprotocol is warned of once (then at debug), as refused origins are
 * (../pipeline/cors.ts): a SubscriptionClient reconnects every few seconds, and one browser tab would fill the log.
 */
const SUBPROTOCOL_WARNING_WINDOW_MS = 600_000;

/**
 * What a warning names of the subprotocol a client asked for: its kind, never its text, where some clients carry
 * a token (a browser can set no header on a WebSocket).
 */
function subprotocolKind(protocol: string): string {
  if (protocol === DEPRECATED_GRAPHQL_WS_PROTOCOL) return `${DEPRECATED_GRAPHQL_WS_PROTOCOL} (subscriptions-transport-ws)`;
  return protocol === '' ? 'none' : 'another';
}

/**
 * ws's handleProtocols: graphql-transport-ws when the client offers it, else the first it offers. A client that
 * asked for subprotocols and gets none back fails its own handshake (RFC 6455 §4.1): graphql-ws's
 * handleProtocols answered so, and subscriptions-transport-ws's clients saw a bare 1006, with no close frame to
 * read. Accepted under what it asked for, the connection is closed at once with 4406 and SUBPROTOCOL_REFUSED.
 */
function selectSubprotocol(offered: Set<string>): string | false {
  if (offered.has(GRAPHQL_TRANSPORT_WS_PROTOCOL)) return GRAPHQL_TRANSPORT_WS_PROTOCOL;
  return offered.values().next().value ?? false;
}

/** The longest close reason a close frame carries (RFC 6455 §5.5: 125 bytes of payload, 2 of them the code). */
const CLOSE_REASON_BYTES = 123;

/**
 * `reason` cut to CLOSE_REASON_BYTES of UTF-8, on a character's boundary and ending with `…`, when longer. ws throws
 * on a longer one, and graphql-ws puts the client's own operation id in one (`Subscriber for <id> already exists`):
 * a duplicate id longer than 93 bytes was closed with 4500 instead of 4409, and logged as the gateway's error.
 */
function closeReason(reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  if (Buffer.byteLength(reason) <= CLOSE_REASON_BYTES) return reason;
  let cut = '';
  let bytes = Buffer.byteLength('…');
  for (const char of reason) {
    bytes += Buffer.byteLength(char);
    if (bytes > CLOSE_REASON_BYTES) break;
    cut += char;
  }
  return `${cut}…`;
}

/** An error as the log takes it: its name and message, never a stack. */
const loggable = (error: unknown) => (error instanceof Error ? { name: error.name, message: error.message } : String(error));

/** The Origin check of an upgrade: no Origin (not a browser), the gateway's own, or one CORS allows. */
function originAllowed(request: IncomingMessage, corsOrigins: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (corsOrigins.includes('*') || corsOrigins.includes(origin)) return true;
  try {
    const page = new URL(origin);
    // The Host read as a URL of the page's scheme: its case and a default port are no difference (a proxy configured
    // with nginx's `proxy_set_header Host $host:$server_port` sends `app.example.com:443`), where compared as text a
    // page of the gateway's own origin was refused (403).
    return request.headers.host !== undefined && page.host === new URL(`${page.protocol}//${request.headers.host}`).host;
  } catch {
    return false;
  }
}

/** Reads an event stream's `next` events as results, until `complete`, its end, or `ended` aborts. */
async function* eventStreamResults(body: ReadableStream<Uint8Array>, ended: AbortSignal): AsyncGenerator<ExecutionResult> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (event === 'complete' || ended.aborted) return;
        if (event === 'next' && data) yield JSON.parse(data) as ExecutionResult;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

export function attachWebSocket(server: Server, lane: Lane, settings: WebSocketSettings, logger: Logger): WebSocketEdge {
  // ws 8.23 takes `closeTimeout`; @types/ws does not list it yet.
  const options: ServerOptions & { closeTimeout: number } = { noServer: true, maxPayload: settings.maxMessageBytes, closeTimeout: CLOSE_HANDSHAKE_MS };
  const sockets = new WebSocketServer(options);
  // Each handshake's request id, taken once: its 101 answer carries it, as every refusal does, and the
  // connection's log lines name the same one (`upgradeRequestId`) when the client sent none of its own.
  const upgradeIds = new WeakMap<IncomingMessage, string>();
  const upgradeIdOf = (request: IncomingMessage) => upgradeIds.get(request) ?? requestIdFor(request.headers['x-request-id']);
  sockets.on('headers', (headers: string[], request: IncomingMessage) => headers.push(`x-request-id: ${upgradeIdOf(request)}`));
  // Operations running on each connection (graphql-ws's context stands for the connection).
  const running = new WeakMap<object, { count: number }>();
  // graphql-ws's context of each connection that started an operation: its `subscriptions` are the ids a drain's cut answers.
  const contexts = new WeakMap<WebSocket, Context<Record<string, unknown> | undefined, Extra>>();
  // Operations whose next result graphql-ws is waiting for: a drain's cut answers them SHUTTING_DOWN. One whose last
  // result is still being written (to a client reading slowly) is only completed: its client has its answer.
  const awaitingResult = new WeakSet<object>();
  // Messages each connection is handling: a `subscribe` counts until its operation completed.
  const handling = new Map<WebSocket, number>();
  // The idle timer of each connection handling no message (a `subscribe` is handled until its operation ended).
  // Without it a client that sent `connection_init` (no token needed) held its socket for ever at no cost,
  // answering the keep-alive pings: 20,000 such sockets took every file descriptor of a process limited to
  // 20,000, and HTTP queries got no answer until they closed.
  const idleTimers = new Map<WebSocket, NodeJS.Timeout>();
  // When each connection was last in use (performance.now() ms): its opening, or the last time one of its
  // operations was handed an execution upstream answered with the connection's token, or ended after one was.
  // An operation nobody served is no use: when each one that ended restarted the count, a client with no token
  // (or a made-up one) held its socket, and a slot of WS_MAX_CONNECTIONS, for ever with a `{ __typename }`
  // before each WS_IDLE_TIMEOUT_MS.
  const usedAt = new Map<WebSocket, number>();
  // Connections none of whose operations upstream has served yet (an execution read with the connection's token),
  // in opening order, with their upgrade's id. At WS_MAX_CONNECTIONS the oldest of them that runs nothing makes room
  // for a new one, when no caller past its share can (`madeRoom`): a client with no token (or a made-up one) filled
  // every slot with sockets that only sent `connection_init`, cheaply (README "Live executions"), and every other
  // client's upgrade got 503 for as long as it kept them open. Kept apart so that finding one never walks the served
  // connections.
  const unserved = new Map<WebSocket, string>();
  // Served connections by their caller's key (the caller whose token upstream served an operation of them: one per
  // connection, as two tokens are refused), each caller's least recently served first, with their upgrade's id. At
  // WS_MAX_CONNECTIONS a caller past its share gives one up first (`madeRoom`): one valid token
  // otherwise held every slot with sockets re-querying a cached execution once a minute, and every other caller's
  // upgrade got 503. `pastShare` keeps the callers holding more than `maxConnectionsPerCaller`, few by construction.
  const servedBy = new Map<string, Map<WebSocket, string>>();
  const callerOfSocket = new Map<WebSocket, string>();
  const pastShare = new Set<string>();
  /** Files the connection under the caller upstream served it for, as that caller's most recently served. */
  const servedFor = (socket: WebSocket, callerKey: string) => {
    const upgradeRequestId = unserved.get(socket);
    if (upgradeRequestId !== undefined) {
      unserved.delete(socket);
      callerOfSocket.set(socket, callerKey);
      const connections = servedBy.get(callerKey) ?? new Map<WebSocket, string>();
      servedBy.set(callerKey, connections);
      connections.set(socket, upgradeRequestId);
      if (connections.size > settings.maxConnectionsPerCaller) pastShare.add(callerKey);
      return;
    }
    // Its caller's most recently served now (a Map keeps insertion order). A socket already dropped is in neither table.
    const callerKeyOfSocket = callerOfSocket.get(socket);
    const connections = callerKeyOfSocket === undefined ? undefined : servedBy.get(callerKeyOfSocket);
    const id = connections?.get(socket);
    if (!connections || id === undefined) return;
    connections.delete(socket);
    connections.set(socket, id);
  };
  /** Takes the connection out of every table of served and unserved connections (closed, or dropped). */
  const forget = (socket: WebSocket) => {
    unserved.delete(socket);
    const callerKey = callerOfSocket.get(socket);
    if (callerKey === undefined) return;
    callerOfSocket.delete(socket);
    const connections = servedBy.get(callerKey)!;
    connections.delete(socket);
    if (connections.size <= settings.maxConnectionsPerCaller) pastShare.delete(callerKey);
    if (connections.size === 0) servedBy.delete(callerKey);
  };
  const idleReason = `Idle: no operation served for ${settings.idleTimeoutMs} ms (WS_IDLE_TIMEOUT_MS)`;
  const disarmIdle = (socket: WebSocket) => {
    clearTimeout(idleTimers.get(socket));
    idleTimers.delete(socket);
  };
  /** Closes the connection if it has been idle for WS_IDLE_TIMEOUT_MS, else times the rest; nothing while it handles a message. */
  const checkIdle = (socket: WebSocket) => {
    disarmIdle(socket);
    // A message being handled (an operation running among them) is no idleness: its end checks again.
    if (socket.readyState !== socket.OPEN || handling.get(socket)) return;
    const left = (usedAt.get(socket) ?? 0) + settings.idleTimeoutMs - performance.now();
    if (left <= 0) socket.close(IDLE_CLOSE_CODE, idleReason);
    else idleTimers.set(socket, setTimeout(() => checkIdle(socket), Math.ceil(left)));
  };
  const used = (socket: WebSocket) => {
    if (usedAt.has(socket)) usedAt.set(socket, performance.now());
  };
  let goingAway = false;
  // Set by `close` (the drain's grace ran out): the operations its sockets' closing ends were cut by the gateway's
  // shutdown, not left by their clients, and are aborted so (`shutdownCutReason`): their lines and counts say
  // SHUTTING_DOWN (503), as an HTTP request the drain cut, where they said CLIENT_CLOSED_REQUEST.
  let cutting = false;
  const operationEnded = () => (cutting ? shutdownCutReason() : new DOMException('The WebSocket operation ended.', 'AbortError'));
  const whenClosed: Array<() => void> = [];
  const boundCounts = { madeRoom: 0, callerShare: 0, refused: 0 };
  let tooManyMessagesClosed = 0;
  const tooManyMessagesTold = new OncePerWindow(TOO_MANY_MESSAGES_WARNING_WINDOW_MS);
  const upgradeBudget = settings.maxUpgradesPerSecond > 0 ? new UpgradeBudget(settings.maxUpgradesPerSecond, settings.upgradeBurst, settings.trustedProxies) : undefined;
  let tooManyUpgradesRefused = 0;
  const tooManyUpgradesTold = new OncePerWindow(TOO_MANY_UPGRADES_WARNING_WINDOW_MS);
  // A second's worth at once, and on top of it a `subscribe` and a `complete` of every operation the connection may
  // run: a client resubscribes all of them at once after a reconnect, and completes them all and subscribes others
  // when its page changes. An operator raising LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION should not find clients closed for it.
  const messageBurst = settings.maxMessagesPerSecond + 2 * settings.maxSubscriptionsPerConnection;
  const tooManyMessagesReason = `Too many messages: more than ${settings.maxMessagesPerSecond} a second (WS_MAX_MESSAGES_PER_SECOND)`;
  /**
   * Closes a connection past its message budget with 1008, and reads nothing more from it: what it sent meanwhile
   * would each be parsed (and ignored, the socket closing) until its client answers the close, up to
   * CLOSE_HANDSHAKE_MS later, and one that never answers could go on sending for all that time. Its side is ended
   * after the close frame, so a client that reads sees the close at once; the socket is dropped when
   * CLOSE_HANDSHAKE_MS ran out, unread, or before it to make room at WS_MAX_CONNECTIONS. Logged once per
   * connection: its later messages are never handled.
   */
  const tooManyMessages = (socket: WebSocket, request: IncomingMessage) => {
    tooManyMessagesClosed++;
    logger[tooManyMessagesTold.first('too many messages') ? 'warn' : 'debug'](
      { upgradeRequestId: upgradeIdOf(request), maxMessagesPerSecond: settings.maxMessagesPerSecond },
      'WebSocket closed: its client sent more than WS_MAX_MESSAGES_PER_SECOND messages a second',
    );
    socket.close(TOO_MANY_MESSAGES_CLOSE_CODE, tooManyMessagesReason);
    socket.pause();
    request.socket.end();
  };
  const closeIfIdle = (socket: WebSocket) => {
    if (goingAway && !handling.get(socket) && socket.readyState === socket.OPEN) socket.close(GOING_AWAY.code, GOING_AWAY.reason);
  };

  /**
   * One operation's results. graphql-ws ends an operation (the client's
   * `complete`, or the socket closing) with `return()`, which an async generator
   * would only act on at its next `yield`: a live watch may not yield for long,
   * so `return()` first cancels the request, which ends the watch at once.
   *
   * The operation starts, and takes its slot of the connection's bound, at the first `next()`: graphql-ws calls
   * `subscribe` for a `subscribe` the client completed while graphql-ws was still setting it up too (all it does
   * then is call `return()`, a few microtasks later). Counted at `subscribe`, such operations, arriving in one read
   * with the `subscribe` behind them, held slots that operation was then refused for (TOO_MANY_SUBSCRIPTIONS), its
   * client running one operation at most.
   */
  function operation(context: Context<Record<string, unknown> | undefined, Extra>, payload: Payload): AsyncIterableIterator<ExecutionResult> {
    let results: Results | undefined;
    let ended = false;
    contexts.set(context.extra.socket, context);
    const started = (): Results => {
      if (results) return results;
      const counter = running.get(context) ?? { count: 0 };
      running.set(context, counter);
      results = counter.count < settings.maxSubscriptionsPerConnection ? runCounted(context, payload, counter) : refusedForBound(context, payload);
      return results;
    };
    const iterator: AsyncIterableIterator<ExecutionResult> = {
      [Symbol.asyncIterator]() {
        return this;
      },
      next: async () => {
        if (ended) return { done: true, value: undefined };
        awaitingResult.add(iterator);
        let result: IteratorResult<ExecutionResult>;
        try {
          result = await started().next();
        } finally {
          awaitingResult.delete(iterator);
        }
        // graphql-ws sends what it is handed without asking whether the client completed the id meanwhile.
        return ended ? { done: true, value: undefined } : result;
      },
      return: (value?: unknown) => {
        ended = true;
        if (!results) return Promise.resolve({ done: true, value: value as ExecutionResult });
        results.stop();
        return results.return(value as ExecutionResult);
      },
      throw: (error?: unknown) => started().throw(error),
    };
    return iterator;
  }

  type Results = AsyncGenerator<ExecutionResult> & { stop(): void };

  /** The one answer to an operation past the connection's bound, before anything ran; not counted on the connection. */
  function refusedForBound(context: Context<Record<string, unknown> | undefined, Extra>, payload: Payload): Results {
    const max = settings.maxSubscriptionsPerConnection;
    const error = gatewayError(ErrorCode.TOO_MANY_SUBSCRIPTIONS, `Too many operations at once: at most ${max} per WebSocket connection (LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION), queries and live subscriptions alike. Complete one before starting another, or start it on another connection.`);
    const cancel = new AbortController();
    // 429: what an HTTP client sending too many requests at once hears (RFC 6585 §4).
    return Object.assign(run(context, payload, cancel, () => {}, { status: 429, error }), {
      stop: () => cancel.abort(operationEnded()),
    });
  }

  /** run(), counted on its connection from now until it ends or is stopped, whichever comes first. */
  function runCounted(context: Context<Record<string, unknown> | undefined, Extra>, payload: Payload, counter: { count: number }): Results {
    const { socket } = context.extra;
    counter.count++;
    let counted = true;
    const cancel = new AbortController();
    // Upstream served this operation: its end counts as use of the connection too.
    let served = false;
    const release = () => {
      if (counted) counter.count--;
      if (counted && served) used(socket);
      counted = false;
    };
    const upstreamReading = (callerKey: string) => {
      served = true;
      servedFor(socket, callerKey);
      used(socket);
    };
    const results = (async function* () {
      try {
        yield* run(context, payload, cancel, upstreamReading);
      } finally {
        release();
      }
    })();
    return Object.assign(results, {
      stop() {
        // Released at once, so the client may start another operation as soon as it sent `complete`.
        release();
        cancel.abort(operationEnded());
      },
    });
  }

  /**
   * One operation as an HTTP request through the lane; its answers as graphql-ws results. An operation the edge
   * cannot hand over as it came (`refusal`, or one found here) still goes through the lane, with no body, for the
   * pipeline to answer with the refusal as it arrives: its answer then gets what every answer gets (the access
   * log's line), where answering it here left no trace of it.
   */
  async function* run(
    context: Context<Record<string, unknown> | undefined, Extra>,
    payload: Payload,
    cancel: AbortController,
    upstreamReading: (callerKey: string) => void,
    refusal?: EdgeRefusal,
  ): AsyncGenerator<ExecutionResult> {
    const { request: upgrade, upgradeRequestId } = context.extra;
    const requestId = requestIdFor(undefined);
    logger.debug({ requestId, upgradeRequestId }, 'WebSocket operation started');
    const headers = new Headers();
    for (const [name, value] of Object.entries(upgrade.headers)) {
      if (value === undefined || CONNECTION_HEADERS.has(name) || name.startsWith('sec-websocket-')) continue;
      headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const { sent, notText } = authorizationsIn(context.connectionParams);
    // A blank key (`authorization: token ?? ''`, as Apollo's examples send) names no caller: it neither overrides the
    // upgrade's token or another key's nor counts as a second token. Only where nothing names one is it sent on.
    const sentAuthorization = sent.find(namesCaller) ?? (namesCaller(upgrade.headers.authorization) ? undefined : sent[0]);
    // Compared in the form the gateway keys callers by: `bearer x` and `Bearer x` are one caller.
    const callers = new Set([upgrade.headers.authorization, ...sent].filter(namesCaller).map(canonicalAuthorization));
    if (!refusal && callers.size > 1) refusal = { status: 400, error: gatewayError(ErrorCode.BAD_REQUEST, TWO_TOKENS) };
    if (!refusal && callers.size === 0 && sent.length === 0 && notText) refusal = { status: 401, error: authorizationNotText() };
    // A token under a key other servers read (`authToken`, `token`) was told only that it was missing.
    const unreadTokenParams = callers.size === 0 && sent.length === 0 && !notText ? paramNames(context.connectionParams) : [];
    // One in the upgrade's URL (`?token=`) too: the operation's request, made here, has no query to find it in.
    const urlTokenParams = callers.size === 0 && sent.length === 0 && !notText ? tokenParamsInUrl(upgrade.url) : [];
    if (!refusal && sentAuthorization !== undefined) {
      // fetch's Headers takes control characters that no HTTP request can carry (and refuses what is past U+00FF).
      // 400: a malformed request, as node's HTTP parser answers a header value holding a control character.
      if (!FIELD_VALUE.test(sentAuthorization)) refusal = { status: 400, error: invalidAuthorization('connectionParams.authorization') };
      // The upgrade's head passed the edge's bound, but the token came in a message: refused as the HTTP edge
      // refuses a head past it (431). Sent on, upstream refused the head, and the client got UPSTREAM_BAD_RESPONSE (a
      // watch retried it, as an outage, for as long as it lasted), at one upstream call each.
      else if (headBytes(settings.path, [...headers, ['authorization', sentAuthorization]].flat()) >= maxHeaderSize) {
        refusal = { status: 431, error: gatewayError(ErrorCode.BAD_REQUEST, TOKEN_TOO_LARGE) };
      } else headers.set('authorization', sentAuthorization);
    }
    // graphql-ws parsed the message (JSON.parse follows any depth), but serialising it again recurses: a payload
    // nested some ten thousand levels deep (30,000 fit in 64 KiB) overflows the stack, and graphql-ws would send
    // the RangeError's message as the operation's `error`, outside the pipeline and its log.
    let body: string | undefined;
    if (!refusal) {
      try {
        body = exactJsonText(payload);
        headers.set('content-type', 'application/json');
      } catch {
        refusal = { status: 400, error: gatewayError(ErrorCode.BAD_REQUEST, PAYLOAD_TOO_DEEP) };
      }
    }
    headers.set('accept', 'text/event-stream');
    const serverContext: GatewayServerContext = {
      requestId,
      waitUntil: (promise) => void promise?.catch((error: unknown) => logger.error({ requestId, upgradeRequestId, err: loggable(error) }, 'background work of a WebSocket operation failed')),
      webSocket: { upgradeRequestId, upgrade },
      onUpstreamReading: upstreamReading,
      ...(unreadTokenParams.length > 0 ? { unreadTokenParams } : {}),
      ...(urlTokenParams.length > 0 ? { urlTokenParams } : {}),
      ...(refusal ? { edgeRefusal: { ...refusal, ...(typeof payload.operationName === 'string' && payload.operationName !== '' ? { operationName: payload.operationName } : {}) } } : {}),
    };
    // An empty Host (allowed, as over HTTP) would leave the URL without one.
    const request = new Request(`http://${upgrade.headers.host || 'localhost'}${settings.path}`, {
      method: 'POST',
      headers,
      body: body ?? null,
      signal: cancel.signal,
    });
    try {
      const response = await lane.fetch(request, serverContext);
      const type = response.headers.get('content-type') ?? '';
      let first = true;
      if (type.startsWith('text/event-stream') && response.body) {
        for await (const result of eventStreamResults(response.body, cancel.signal)) {
          if (first && isRequestError(result)) throw new RequestRefused(result.errors!);
          first = false;
          yield result;
        }
      } else {
        const text = await response.text();
        // Ended by the client (`complete`) meanwhile: what the pipeline answered to the cancellation
        // (CLIENT_CLOSED_REQUEST) is nobody's, and graphql-ws would still send it under the ended id.
        if (cancel.signal.aborted) return;
        const result = text ? (JSON.parse(text) as ExecutionResult) : errorResult(ErrorCode.BAD_REQUEST, `HTTP ${response.status}`);
        if (isRequestError(result)) throw new RequestRefused(result.errors!);
        yield result;
      }
    } catch (error) {
      // Ended by the client (`complete`) or the socket closing: nobody is left to answer.
      if (cancel.signal.aborted) return;
      // Answered by the pipeline, to be sent as graphql-ws's `error` message (`onError`).
      if (error instanceof RequestRefused) throw error;
      // As the HTTP edge answers what a lane throws (its 500): graphql-ws would send the message as it is.
      logger.error({ requestId, upgradeRequestId, err: loggable(error) }, 'WebSocket operation failed outside the pipeline');
      yield MASKED_FAILURE;
    } finally {
      cancel.abort(new DOMException('The WebSocket operation ended.', 'AbortError'));
    }
  }

  const protocol = makeServer<Record<string, unknown> | undefined, Extra>({
    connectionInitWaitTimeout: settings.connectionInitTimeoutMs,
    onSubscribe: (context, _id, payload) =>
      ({ schema, document: THROUGH_THE_PIPELINE, contextValue: { context, payload } }) as ExecutionArgs,
    // Results arrive already serialized by the pipeline (plain JSON, masked and coded): sent as they are.
    onNext: (_context, _id, _payload, _args, result) => result,
    // A request error (RequestRefused): the `error` message carries the pipeline's errors as they are. Anything else an
    // operation throws is answered inside `run` (MASKED_FAILURE) and never reaches here.
    onError: (_context, _id, _payload, errors) => {
      const refused = errors[0]?.originalError;
      return refused instanceof RequestRefused ? refused.errors : undefined;
    },
    subscribe: (args) => {
      const { context, payload } = args.contextValue as { context: Context<Record<string, unknown> | undefined, Extra>; payload: Payload };
      return operation(context, payload);
    },
  });
  sockets.options.handleProtocols = selectSubprotocol;

  sockets.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    handling.set(socket, 0);
    unserved.set(socket, upgradeIdOf(request));
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) return refuseSubprotocol(socket, request);
    usedAt.set(socket, performance.now());
    checkIdle(socket);
    // Before graphql-ws's listener (added by `opened` below), which then finds the socket closing and handles nothing.
    // WebSocket ping frames count too: ws answers each with a pong, as graphql-ws answers its `ping`.
    const budget = new MessageBudget(settings.maxMessagesPerSecond, messageBurst);
    const spend = () => {
      if (socket.readyState === socket.OPEN && !budget.take()) tooManyMessages(socket, request);
    };
    socket.on('message', spend);
    socket.on('ping', spend);
    socket.on('pong', spend);
    socket.once('error', (error: Error & { code?: string }) => {
      // ws has already closed the connection with the matching code (1009 for a
      // message over the limit, 1002 for a broken frame): the client's doing.
      if (error.code?.startsWith('WS_ERR_')) {
        logger.debug({ code: error.code }, 'WebSocket connection closed for a protocol violation');
        return;
      }
      logger.error({ err: error.message }, 'WebSocket connection failed');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    let pongWait: NodeJS.Timeout | undefined;
    const pings = setInterval(() => {
      if (socket.readyState !== socket.OPEN || pongWait) return;
      pongWait = setTimeout(() => socket.terminate(), settings.keepAliveMs);
      socket.once('pong', () => {
        clearTimeout(pongWait);
        pongWait = undefined;
      });
      socket.ping();
    }, settings.keepAliveMs);
    const context = { socket, request, upgradeRequestId: upgradeIdOf(request) };
    // The text graphql-ws is reading while its handling's synchronous start runs (see onMessage below).
    let judging: string | undefined;
    const closed = protocol.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (error) => {
              // A connection closed meanwhile (its client left, or was cut for not reading) has no one to deliver to:
              // the write's error is no failure of the gateway's, and logged as one it made an alert of a documented cut.
              // So is one the network refused (EPIPE, ECONNRESET: a client that reset its connection), whose callback
              // Node calls before it destroys the socket, while ws still calls it open: every client that closed its tab
              // right after connection_init was an error line and a 1011.
              const networkRefused = (error as NodeJS.ErrnoException | undefined)?.syscall === 'write';
              if (error && !networkRefused && socket.readyState === socket.OPEN && !request.socket.destroyed) return reject(error);
              if (error) return resolve();
              // The network took a whole message: a client that reads, however slowly, is not stalled.
              settings.stalledClients.progressed(request.socket);
              resolve();
            });
          }),
        close: (code, reason) => socket.close(code, closeReason(code === CloseCode.BadRequest && judging !== undefined ? (invalidMessageReason(judging) ?? reason) : reason)),
        onMessage: (handle) => {
          // graphql-ws refuses a message it cannot read (4400) within handle's synchronous start: the text it judged,
          // for `close` to say what was wrong where graphql-ws says only "Invalid message received".
          const judged = (text: string) => {
            judging = text;
            try {
              return handle(text);
            } finally {
              judging = undefined;
            }
          };
          const handleInOrder = orderedById(judged, () => socket.readyState === socket.OPEN);
          socket.on('message', async (data) => {
            // ws hands on what arrives after the gateway began to close (a drain's 1001 crossing the client's next
            // messages): run then, an operation called upstream and was logged as answered, and its answer went
            // nowhere. Not run, the client learns from the close that it was not, and sends it again elsewhere.
            if (socket.readyState !== socket.OPEN) return;
            handling.set(socket, (handling.get(socket) ?? 0) + 1);
            disarmIdle(socket);
            // RFC 8259 §8.1 lets a parser ignore a leading byte order mark; graphql-ws's JSON.parse refuses it (4400).
            const text = withoutByteOrderMark(String(data));
            try {
              const repeated = repeatedMessageMember(text);
              if (repeated !== undefined) {
                logger.debug({ member: textPrefix(repeated, 100) }, 'WebSocket connection closed for a message giving a member twice');
                // graphql-ws's code for a message it does not take; a close reason holds at most 123 bytes (24 characters of 3 bytes fit).
                socket.close(CloseCode.BadRequest, `Invalid message received: \`${textPrefix(repeated, 24)}\` is given twice`);
                return;
              }
              await handleInOrder(text);
            } catch (error) {
              // Read only on this path: graphql-ws threw, and says nothing of why but in its message's text.
              const type = serverOnlyType(text);
              if (type !== undefined) {
                logger.debug({ type }, 'WebSocket connection closed for a message only a server sends');
                socket.close(CloseCode.BadRequest, `Invalid message received: "${type}" is sent by the server only`);
                return;
              }
              logger.error({ err: error instanceof Error ? error.message : String(error) }, 'WebSocket message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            } finally {
              if (handling.has(socket)) handling.set(socket, handling.get(socket)! - 1);
              // A drain's 1001 first: the client then connects to another replica.
              closeIfIdle(socket);
              checkIdle(socket);
            }
          });
        },
      },
      context,
    );
    // Dropped at once: the close frame waits behind everything the client did not read, and so would every buffer.
    const stalledReason = `Slow consumer: the client read nothing for ${settings.stalledClients.stallMs} ms (LIVE_STALLED_CLIENT_MS)`;
    settings.stalledClients.track(request.socket, () => {
      logger.info({ upgradeRequestId: context.upgradeRequestId, bufferedBytes: socket.bufferedAmount }, 'WebSocket closed: its client stopped reading');
      socket.close(STALLED_CLOSE_CODE, stalledReason);
      socket.terminate();
    });
    socket.once('close', (code, reason) => {
      clearInterval(pings);
      clearTimeout(pongWait);
      disarmIdle(socket);
      usedAt.delete(socket);
      forget(socket);
      handling.delete(socket);
      if (handling.size === 0) for (const resolve of whenClosed.splice(0)) resolve();
      void closed(code, String(reason));
    });
    closeIfIdle(socket);
  });

  const madeRoomTold = new OncePerWindow(MADE_ROOM_WARNING_WINDOW_MS);
  /**
   * Drops one connection that is closing already or handles no message (an open one is told why, 1013), to make room
   * for a new one at WS_MAX_CONNECTIONS: the least recently served one of a caller holding more than its share
   * (`maxConnectionsPerCaller`), the caller holding the most first, else the one opened first among those upstream
   * never served; false when there is none. Callers past their share go first: a token that held them could
   * otherwise open one more socket, still unserved, and have it drop the newcomer it had made room for, the oldest
   * unserved one, rather than one of its own. A caller within its share keeps every connection it was served on.
   * The dropped connection leaves the count at once, so the bound holds however many upgrades arrive together.
   */
  function madeRoom(): boolean {
    // Few by construction: no more than 100 / CALLER_SHARE_PERCENT callers can be past it.
    const pastShareFirst = [...pastShare].map((callerKey) => servedBy.get(callerKey)!).sort((a, b) => b.size - a.size);
    for (const connections of pastShareFirst) {
      for (const [socket, upgradeRequestId] of connections) {
        if (drop(socket, upgradeRequestId, PAST_SHARE, 'its caller holds more than its share (CALLER_SHARE_PERCENT)')) {
          boundCounts.callerShare++;
          return true;
        }
      }
    }
    for (const [socket, upgradeRequestId] of unserved) {
      if (drop(socket, upgradeRequestId, MADE_ROOM, 'upstream served none of its operations')) {
        boundCounts.madeRoom++;
        return true;
      }
    }
    return false;
  }

  /** Drops the connection unless it handles a message; true when it did. */
  function drop(socket: WebSocket, upgradeRequestId: string, close: { code: number; reason: string }, why: string): boolean {
    const closing = socket.readyState !== socket.OPEN;
    if (!closing && handling.get(socket)) return false;
    logger[madeRoomTold.first('made room') ? 'warn' : 'debug'](
      { upgradeRequestId, maxConnections: settings.maxConnections, closing },
      `WebSocket dropped to make room: WS_MAX_CONNECTIONS reached, and ${why}`,
    );
    if (!closing) socket.close(close.code, close.reason);
    // Its client's close frame is not waited for: one that never sends it would keep its slot until CLOSE_HANDSHAKE_MS.
    socket.terminate();
    forget(socket);
    handling.delete(socket);
    return true;
  }

  const subprotocolsTold = new OncePerWindow(SUBPROTOCOL_WARNING_WINDOW_MS);
  /**
   * Closes a connection that did not ask for graphql-transport-ws, before graphql-ws sees it (its own 4406 names
   * no protocol). Counted among the connections until it closed: ws waits for the client's close frame.
   */
  function refuseSubprotocol(socket: WebSocket, request: IncomingMessage): void {
    // An error on a socket being closed is the client's doing (a broken frame); without a listener it would be thrown.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      forget(socket);
      handling.delete(socket);
      if (handling.size === 0) for (const resolve of whenClosed.splice(0)) resolve();
    });
    const subprotocol = subprotocolKind(socket.protocol);
    logger[subprotocolsTold.first(subprotocol) ? 'warn' : 'debug'](
      { upgradeRequestId: upgradeIdOf(request), subprotocol },
      `WebSocket closed: its client does not speak ${GRAPHQL_TRANSPORT_WS_PROTOCOL}`,
    );
    socket.close(CloseCode.SubprotocolNotAcceptable, SUBPROTOCOL_REFUSED);
  }

  // Once every earlier answer on the connection is written, or its 101 or refusal would go out before them (./raw-http.ts).
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    adoptSocket(socket);
    whenAnswered(socket, () => upgrade(request, socket, head));
  });
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: string, message: string, code: ErrorCode = ErrorCode.BAD_REQUEST) => void refuseUpgrade(socket, request, status, message, code, settings.accessLog);
    // Before what the request asks for, as any request in another major version (`GET /graphql HTTP/2.0` asking for
    // a WebSocket was the handshake's 400 where every other request in it is a 505).
    const versionRefused = versionRefusal(request);
    if (versionRefused) return refuse('505 HTTP Version Not Supported', versionRefused);
    toOriginForm(request);
    const path = pathOf(request);
    // h2c and the like: served over HTTP/1.1 as if not asked (./ignored-upgrade.ts).
    if (!asksForWebSocket(request.headers.upgrade)) return serveIgnoringUpgrade(server, request, socket, head);
    // A list naming websocket among others: the gateway picks websocket (RFC 9110 §7.8), and ws, which takes the one
    // token only, reads it as so (its 101 says `Upgrade: websocket`).
    request.headers.upgrade = 'websocket';
    // The bound node's parser no longer enforces (./head-size.ts).
    const headRefused = headTooLarge(request);
    if (headRefused) return refuse(headRefused.status === 414 ? '414 URI Too Long' : '431 Request Header Fields Too Large', headRefused.message);
    // The codes a live subscription refused for the same reasons gets: nothing is wrong with the request.
    if (goingAway) return refuse('503 Service Unavailable', 'The gateway is shutting down: connect again to reach another replica.', ErrorCode.SHUTTING_DOWN);
    const host = hostProblem(request);
    if (host) return refuse('400 Bad Request', host);
    // Two Authorization lines: every operation would have run with the first (./repeated-fields.ts).
    const repeated = repeatedField(request);
    if (repeated) return refuse('400 Bad Request', repeatedFieldRefused(repeated));
    // The paths HTTP serves GraphQL at (./http-edge.ts), so subscriptions are found at the URL a client's queries use.
    if (path !== settings.path && path !== `${settings.path}/`) return refuse('404 Not Found', `Not found: GraphQL over WebSocket is served at ${settings.path}.`);
    if (!originAllowed(request, settings.corsOrigins)) {
      settings.refusedOrigin(String(request.headers.origin));
      return refuse('403 Forbidden', originRefused(String(request.headers.origin), request.headers.host));
    }
    const handshake = handshakeProblem(request);
    if (handshake) return refuse(handshake === VERSION_NOT_SPOKEN ? '426 Upgrade Required' : '400 Bad Request', handshake);
    // Only an upgrade that would open a socket spends its address's budget, and one past it neither opens one nor
    // drops another's to make room (below).
    const rate = upgradeBudget?.take(request);
    if (rate && rate.waitMs > 0) return tooManyUpgrades(socket, request, rate);
    // Exact: ws completes the handshake, and `handling` counts the socket, within handleUpgrade below.
    if (handling.size >= settings.maxConnections && !madeRoom()) {
      boundCounts.refused++;
      return refuse(
        '503 Service Unavailable',
        `Too many WebSocket connections on this replica (at most ${settings.maxConnections}, WS_MAX_CONNECTIONS): connect again later.`,
        ErrorCode.TOO_MANY_SUBSCRIPTIONS,
      );
    }
    upgradeIds.set(request, requestIdFor(request.headers['x-request-id']));
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  };
  /**
   * Refuses an upgrade past its client address's WS_MAX_UPGRADES_PER_SECOND: 429 (RFC 6585 §4) with Retry-After, in
   * whole seconds and at least 1, when a token will be there. Logged at most once per window (then at debug): a client
   * that reconnects in a loop is refused at its own rate.
   */
  function tooManyUpgrades(socket: Duplex, request: IncomingMessage, { address, waitMs }: { address: string | undefined; waitMs: number }): void {
    tooManyUpgradesRefused++;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    const requestId = refuseUpgrade(
      socket,
      request,
      '429 Too Many Requests',
      `Too many WebSocket upgrades from this address (at most ${settings.maxUpgradesPerSecond} a second, WS_MAX_UPGRADES_PER_SECOND, in bursts of ${settings.upgradeBurst}): connect again in ${retryAfter} s.`,
      ErrorCode.TOO_MANY_SUBSCRIPTIONS,
      settings.accessLog,
      { 'retry-after': String(retryAfter) },
    );
    logger[tooManyUpgradesTold.first('too many upgrades') ? 'warn' : 'debug'](
      { requestId, clientAddress: address, maxUpgradesPerSecond: settings.maxUpgradesPerSecond, upgradeBurst: settings.upgradeBurst },
      'WebSocket upgrade refused: its client address made more than WS_MAX_UPGRADES_PER_SECOND upgrades a second',
    );
  }

  return {
    get open() {
      return handling.size;
    },
    boundCounts,
    get tooManyMessages() {
      return tooManyMessagesClosed;
    },
    get tooManyUpgrades() {
      return tooManyUpgradesRefused;
    },
    goingAway() {
      goingAway = true;
      for (const socket of handling.keys()) closeIfIdle(socket);
    },
    closed() {
      return handling.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => whenClosed.push(resolve));
    },
    cut() {
      goingAway = true;
      cutting = true;
      for (const socket of sockets.clients) {
        if (socket.readyState !== socket.OPEN) continue;
        // Sent here, not through graphql-ws: the operations cannot be trusted to answer (what they wait for hangs), and
        // the close right behind keeps anything graphql-ws would send later off the wire (`send` checks the state).
        for (const [id, operation] of Object.entries(contexts.get(socket)?.subscriptions ?? {})) {
          // null: graphql-ws is still setting it up, and nothing of it was answered.
          if (operation === null || awaitingResult.has(operation)) socket.send(JSON.stringify({ id, type: MessageType.Next, payload: CUT_RESULT }));
          socket.send(JSON.stringify({ id, type: MessageType.Complete }));
        }
        socket.close(GOING_AWAY.code, GOING_AWAY.reason);
      }
    },
    close() {
      goingAway = true;
      cutting = true;
      for (const socket of sockets.clients) socket.terminate();
      sockets.close();
    },
  };
}

/**
 * The key names of connectionParams, those of an object under `headers` as `headers.<name>`, at most one past
 * UNREAD_PARAM_NAMES (so the message can tell there are more): for the message that says none of them is read as a
 * token. Names only: a value may be the token.
 */
function paramNames(params: Record<string, unknown> | undefined): string[] {
  const names: string[] = [];
  if (typeof params !== 'object' || params === null) return names;
  // An `authorization` key is the one read: here it is null (`authorization: token ?? null` before sign-in), and
  // naming it gave "connectionParams has `authorization` but no `authorization`".
  const read = (key: string) => key.toLowerCase() === 'authorization';
  for (const [name, value] of Object.entries(params)) {
    if (read(name)) continue;
    const inner = name === 'headers' && typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
    if (inner.length > 0) names.push(...inner.filter((key) => !read(key)).map((key) => `headers.${key}`));
    else names.push(name);
    if (names.length > UNREAD_PARAM_NAMES) break;
  }
  return names.slice(0, UNREAD_PARAM_NAMES + 1);
}

/**
 * The tokens in connectionParams, the one to send first: `authorization` in any
 * case (clients copy the HTTP spelling, `Authorization`), top-level, then under
 * `headers`, as Apollo's and Hasura's clients send it. Only a string counts,
 * read as fetch reads a header value: without the spaces, tabs and line breaks
 * around it (a token read from a file ends with one, and worked over HTTP but
 * was UNAUTHENTICATED here). `notText` says one was something else (a number,
 * an object), null and undefined being absent.
 */
function authorizationsIn(params: Record<string, unknown> | undefined): { sent: string[]; notText: boolean } {
  const sent: string[] = [];
  let notText = false;
  for (const object of [params, params?.headers]) {
    if (typeof object !== 'object' || object === null) continue;
    for (const [name, value] of Object.entries(object)) {
      if (name.toLowerCase() !== 'authorization' || value == null) continue;
      if (typeof value === 'string') sent.push(withoutFieldWhitespace(value));
      else notText = true;
    }
  }
  return { sent, notText };
}
