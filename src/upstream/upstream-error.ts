/**
 * A GraphQLError that also tells the resilience policies what kind of failure it
 * is. The extra fields are not part of `extensions`, so clients never see them;
 * the error still serializes as a plain GraphQLError with a stable code.
 */
import { GraphQLError } from 'graphql';
import { ErrorCode, errorExtensions, type UpstreamFacts } from '../errors.js';

export interface UpstreamErrorOptions extends UpstreamFacts {
  /** Worth another attempt: network errors, 429, 502, 503, 504. */
  retryable?: boolean;
  /** Counts toward opening the circuit: network errors, 5xx. */
  countsAsFailure?: boolean;
  /** Upstream's Retry-After, in milliseconds. */
  retryAfterMs?: number;
}

export class UpstreamError extends GraphQLError {
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: UpstreamErrorOptions = {}) {
    super(message, { extensions: errorExtensions(code, options) });
    this.retryable = options.retryable ?? false;
    this.countsAsFailure = options.countsAsFailure ?? false;
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

/** The error for an upstream HTTP status (or the code inside a 200's envelope). */
export function errorForUpstreamStatus(status: number, facts: UpstreamFacts & { retryAfterMs?: number }): UpstreamError {
  switch (status) {
    case 400:
      return new UpstreamError(ErrorCode.BAD_USER_INPUT, 'The executions API rejected the request as invalid.', facts);
    case 401:
      return new UpstreamError(ErrorCode.UNAUTHENTICATED, 'The executions API did not accept the Authorization token.', facts);
    case 403:
      return new UpstreamError(ErrorCode.FORBIDDEN, 'The token is valid but has no access to executions.', facts);
    case 404:
      return new UpstreamError(ErrorCode.NOT_FOUND, 'No execution with this id is visible to this token.', facts);
    case 429:
      return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'The executions API is rate limiting the gateway; retry shortly.', {
        ...facts,
        retryable: true,
      });
    default:
      if (status >= 500) {
        return new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `The executions API failed (HTTP ${status}).`, {
          ...facts,
          retryable: status === 502 || status === 503 || status === 504,
          countsAsFailure: true,
        });
      }
      return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `The executions API answered with unexpected HTTP ${status}.`, facts);
  }
}
