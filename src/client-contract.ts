/**
 * What a client sees in a result beyond the schema: the codes of
 * `errors[].extensions.code`, the notes of `extensions.warnings` and the cost in
 * `extensions.upstream` (README "Error codes", "Warnings"), and what an
 * Authorization value may hold, which the typed client checks as the gateway
 * does. It imports nothing,
 * so the typed client (src/client/) type-checks in a frontend's project, under
 * its compiler settings, without the gateway's server sources or their
 * dependencies (ioredis, pino, undici…); src/errors.ts and the server re-export
 * it, so each code is still declared once.
 */

export const ErrorCode = {
  /** A problem with the HTTP request itself: method, media type, body, parameters, CSRF. */
  BAD_REQUEST: 'BAD_REQUEST',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  /** Yoga's (and Apollo Server's): no operation to run, as `operationName` is missing, not a string or names none in the document. */
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  UPSTREAM_TIMEOUT: 'UPSTREAM_TIMEOUT',
  UPSTREAM_BAD_RESPONSE: 'UPSTREAM_BAD_RESPONSE',
  /**
   * A live subscription past a bound (per caller, per process), an operation past the bound of a WebSocket connection,
   * a WebSocket upgrade past the process's bound of connections (503), or past its client address's rate of upgrades
   * (429, with Retry-After).
   */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /**
   * The client went away (closed its connection, or ended the operation) before
   * upstream answered. Nobody receives it: it names the outcome in metrics,
   * traces and the access log, as nginx's 499 does, so a client hanging up is
   * never counted as UPSTREAM_TIMEOUT.
   */
  CLIENT_CLOSED_REQUEST: 'CLIENT_CLOSED_REQUEST',
  /**
   * The process is draining (SIGTERM): a live subscription gets this as its
   * last result, then completes, and new ones are refused with it. Subscribe
   * again with `eventsAfter` set to the last cursor: another replica answers.
   */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  /** TRUSTED_DOCUMENTS=only: the request's document is not in the persisted-documents manifest (any text, introspection included). */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  /** TRUSTED_DOCUMENTS=allow or only: no document in the manifest has the hash the request sent (Apollo's code: its clients then send the text). */
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  /** TRUSTED_DOCUMENTS=off: the request sent only a hash (Apollo's code: its clients then send the text, and stop sending hashes). */
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** Anything unexpected, masked: no message, no stack. */
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Codes of the notes in `extensions.warnings`: data served in part, not errors
 * (README "When upstream data is odd").
 */
export const WarningCode = {
  /**
   * Upstream sent a value of a type or form the field cannot hold; it is served as null. `events` is served as an
   * empty connection, also when upstream sent no list at all, which its contract always has; `status` as `UNKNOWN`.
   */
  UNREADABLE_VALUE: 'UNREADABLE_VALUE',
  /**
   * The gateway served another value than upstream's: an event id derived from its position, the parent's id for an event naming
   * another execution, or (at the execution's path) an execution read as UTF-8 because upstream declared a charset the gateway does not know.
   */
  REPLACED_VALUE: 'REPLACED_VALUE',
} as const;
export type WarningCode = (typeof WarningCode)[keyof typeof WarningCode];

/**
 * One note in `extensions.warnings`: where (the GraphQL path of the field), what
 * kind, in words, and which upstream response sent the value (`upstreamRequestId`,
 * when upstream named it), so a ticket with upstream can point at that response.
 */
export interface DataWarning {
  path: ReadonlyArray<string | number>;
  code: WarningCode;
  message: string;
  upstreamRequestId?: string;
}

/**
 * RFC 9110 §5.5 field-value characters: what an Authorization value must hold to reach upstream
 * (the gateway refuses others, UNAUTHENTICATED; fetch refuses some before sending).
 */
export const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** HTTP's whitespace bytes, which fetch strips from both ends of a header value (WHATWG Fetch, "normalize"). */
function isFieldWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

/**
 * `value` without HTTP's whitespace bytes at either end, as fetch sends a header value (WHATWG Fetch,
 * "normalize"). The gateway reads a WebSocket's `connectionParams` token the same way. By hand: the
 * expression `/[\t\n\r ]+$/` tried the rest of a run from each of its spaces, so a token holding 60,000
 * spaces before its last letter cost 11 s on the event loop, for each operation of its connection.
 */
export function withoutFieldWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isFieldWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isFieldWhitespace(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** What one GraphQL request's upstream work cost; reported in `extensions.upstream`. */
export interface UpstreamCost {
  /** Upstream calls this request sent (a call refused by the breaker, bulkhead or queue is none). */
  calls: number;
  /** Executions served from the cache. */
  cacheHits: number;
  /** Executions served by joining another request's call in flight. */
  sharedCalls: number;
  /** Upstream time of the calls this request sent, in ms, summed over them: parallel calls add up, so it can exceed the request's own duration; a call never sent (refused, or queued until the request's budget ran out) counts none. */
  timeMs: number;
}
