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
  /** Worth another attempt: network errors, 429, 502, 503, 504 (unless Retry-After asks for longer than the gateway waits). */
  retryable?: boolean;
  /** Counts toward opening the circuit: network errors, attempt timeouts, 5xx, 429. */
  countsAsFailure?: boolean;
  /**
   * Upstream could not be reached at all, before any request was sent
   * (connection refused, DNS, no route): no request's fault, so the breaker
   * holds it against upstream as a whole (failure-judge.ts).
   */
  unreachable?: boolean;
  /** Upstream's Retry-After, in milliseconds; also reported in `extensions.retryAfterMs`. */
  retryAfterMs?: number;
}

export class UpstreamError extends GraphQLError {
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly unreachable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    const extensions = errorExtensions(code, options);
    if (options.retryAfterMs !== undefined) extensions.retryAfterMs = options.retryAfterMs;
    super(message, { extensions });
    this.retryable = options.retryable ?? false;
    this.countsAsFailure = options.countsAsFailure ?? false;
    this.unreachable = options.unreachable ?? false;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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
    case 429:
      // Counted by the breaker too: a rate limit on one token stays that caller's (failure-judge.ts).
      return transient('The executions API is rate limiting the gateway', 'retry shortly', true, rest, retryAfterCapMs);
    default:
      if (status >= 500) {
        return transient(`The executions API failed (HTTP ${status})`, '', status === 502 || status === 503 || status === 504, rest, retryAfterCapMs);
      }
      return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `The executions API answered with unexpected HTTP ${status}.`, rest);
  }
}

/**
 * UPSTREAM_UNAVAILABLE for a 429 or 5xx. Retryable statuses are retried unless
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

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
