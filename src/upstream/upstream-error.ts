/**
 * A GraphQLError that also tells the resilience policies what kind of failure it
 * is. The extra fields are not part of `extensions`, so clients never see them;
 * the error still serializes as a plain GraphQLError with a stable code.
 * `extensions.retryAfterMs` is the exception, on purpose: when upstream asked
 * for a pause (Retry-After), the client is told how long, so it can back off.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode, errorExtensions, type UpstreamFacts } from '../errors.js';

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
  /**
   * Upstream answered with a status its contract does not name (a 410, a 418, a redirect): asked again it
   * answers the same, so a watch ends on it as a query does, rather than poll it for LIVE_MAX_WATCH_MS.
   */
  unnamedStatus?: boolean;
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

export class UpstreamError extends GraphQLError {
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly unreachable: boolean;
  readonly timedOut: boolean;
  readonly retryAfterMs: number | undefined;
  readonly refusal: GatewayRefusal | undefined;
  readonly unnamedStatus: boolean;

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
    this.unnamedStatus = options.unnamedStatus ?? false;
  }
}

/**
 * The gateway's answer to a call for an execution upstream asked this caller to leave alone for `ms` more (a
 * 5xx with Retry-After: src/upstream/caller-pauses.ts): UPSTREAM_UNAVAILABLE with the time left, no upstream
 * call made; `pausedForMs`, how long the pause has run. Also a live poller's, for a pause another replica
 * recorded (src/live/poller.ts).
 */
export function executionPaused(ms: number, pausedForMs?: number): UpstreamError {
  return new UpstreamError(
    ErrorCode.UPSTREAM_UNAVAILABLE,
    `The executions API is unavailable for this execution and asked for no calls for it during the next ${seconds(ms)}: not called. Retry after \`extensions.retryAfterMs\` milliseconds.`,
    { retryAfterMs: ms, refusal: { by: 'execution-paused', retryInMs: ms, ...(pausedForMs !== undefined ? { pausedForMs } : {}) } },
  );
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(?<month>${MONTHS.join('|')})`;
const TIME = '(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})';
// RFC 9110 §5.6.7, case-sensitive: IMF-fixdate, then the obsolete rfc850-date and asctime-date.
const HTTP_DATES = [
  new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`),
  new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (?<day>\\d{2})-${MONTH}-(?<year>\\d{2}) ${TIME} GMT$`),
  new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MONTH} (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`),
];

/**
 * An HTTP-date in ms since the epoch; undefined for anything else. By hand
 * rather than Date.parse, which also takes what is no HTTP-date ("1.5", "-5"),
 * rolls February 30 over into March, and reads asctime-date in local time.
 */
function httpDateMs(text: string, now: number): number | undefined {
  let groups: Record<string, string> | undefined;
  for (const format of HTTP_DATES) if ((groups = format.exec(text)?.groups)) break;
  if (!groups) return undefined;
  const { day = '', month = '', year = '', hour = '', minute = '', second = '' } = groups;
  let fullYear = Number(year);
  if (year.length === 2) {
    // rfc850-date: a two-digit year more than 50 years ahead is the latest past year with those digits (RFC 9110 §5.6.7).
    const thisYear = new Date(now).getUTCFullYear();
    fullYear += thisYear - (thisYear % 100);
    if (fullYear > thisYear + 50) fullYear -= 100;
  }
  const monthIndex = MONTHS.indexOf(month);
  const dayOfMonth = Number(day);
  const daysInMonth = new Date(Date.UTC(fullYear, monthIndex + 1, 0)).getUTCDate();
  // Second 60 (a leap second) is in the grammar; Date.UTC carries it into the next minute.
  if (dayOfMonth < 1 || dayOfMonth > daysInMonth || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 60) return undefined;
  return Date.UTC(fullYear, monthIndex, dayOfMonth, Number(hour), Number(minute), Number(second));
}

/**
 * Longest Retry-After read (ms) at most, whatever UPSTREAM_PAUSE_MAX_MS says: a day. 400 digits read as
 * Infinity, which reached clients as `retryAfterMs: null` and "the next Infinity s".
 */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Parses Retry-After (RFC 9110 §10.2.3: delay-seconds, 1*DIGIT, or an
 * HTTP-date) into milliseconds from now, at most `maxMs` (UPSTREAM_PAUSE_MAX_MS;
 * MAX_RETRY_AFTER_MS when not given); undefined, as if absent, for any other
 * value: reading "1.5" or "-5" as a date made an immediate retry.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now(), maxMs = MAX_RETRY_AFTER_MS): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, maxMs);
  const date = httpDateMs(text, now);
  return date === undefined ? undefined : Math.min(Math.max(0, date - now), maxMs);
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
  switch (status) {
    case 400:
      return new UpstreamError(ErrorCode.BAD_USER_INPUT, 'The executions API rejected the request as invalid.', rest);
    case 401:
      return new UpstreamError(ErrorCode.UNAUTHENTICATED, 'The executions API did not accept the Authorization token.', rest);
    case 403:
      return new UpstreamError(ErrorCode.FORBIDDEN, 'The token is valid but has no access to executions.', rest);
    case 404:
      return new UpstreamError(ErrorCode.NOT_FOUND, 'No execution with this id is visible to this token.', rest);
    case 408:
    case 421:
    case 425:
      // Each asks for the same request again: 408, upstream's server gave up waiting for it (an idle pooled
      // connection it timed out, say; RFC 9110 §15.5.9); 421, it reached a server that does not serve it (§15.5.20);
      // 425, it came too early in a TLS handshake (RFC 8470). Asked again it may well succeed, so it is retried, as a
      // 503 is, and a watch polls through it.
      return transient(`The executions API asked for the request again (HTTP ${status})`, 'retry shortly', true, rest, retryAfterCapMs);
    case 429:
      // Counted by the breaker too: a rate limit on one token stays that caller's (failure-judge.ts).
      return transient('The executions API is rate limiting the gateway', 'retry shortly', true, rest, retryAfterCapMs);
    default:
      if (status >= 500 && status <= 599) {
        return transient(`The executions API failed (HTTP ${status})`, '', status === 502 || status === 503 || status === 504, rest, retryAfterCapMs);
      }
      return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `The executions API answered with unexpected HTTP ${status}.`, { ...rest, unnamedStatus: true });
  }
}

/**
 * UPSTREAM_UNAVAILABLE for a 408, 421, 425, 429 or 5xx. Retryable statuses are retried unless
 * upstream asked for a longer pause than the gateway waits: then the call is
 * given up at once, and the message and `extensions.retryAfterMs` say when to
 * come back, rather than the gateway retrying early against upstream's wish.
 */
function transient(what: string, advice: string, retryable: boolean, facts: UpstreamFacts & { retryAfterMs?: number }, capMs: number | undefined): UpstreamError {
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
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
