/**
 * Every fault-handling policy for upstream calls, composed in one place with
 * cockatiel. From the outside in:
 *
 *   bulkhead  at most `maxConcurrent` calls in flight per process, `queue` waiting;
 *             beyond that a call is refused at once instead of piling up memory.
 *   retry     only the transient failures of this idempotent GET (network errors,
 *             429, 502, 503, 504), a bounded number of attempts, exponential backoff
 *             with decorrelated jitter, honouring Retry-After up to a cap. An
 *             attempt whose caller has left stops before reaching upstream, and a
 *             cancelled attempt is never retried.
 *   breaker   after `breakerThreshold` consecutive failures (network, 5xx,
 *             attempt timeouts) calls fail fast for `halfOpenAfterMs`, then one
 *             probe decides whether it closes again. It judges each attempt's own
 *             outcome: a caller that went away is not an upstream failure.
 *
 * Each attempt's deadline and the caller's cancellation are kept by the attempt
 * itself (executions-client.ts) rather than by cockatiel's timeout policy and
 * signals, whose AbortControllers and listeners cost more per call than the
 * three policies together.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  ConsecutiveBreaker,
  DelegateBackoff,
  ExponentialBackoff,
  TaskCancelledError,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
  type IBackoff,
  type IRetryBackoffContext,
} from 'cockatiel';
import { UpstreamError } from './upstream-error.js';

export { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError };

export interface ResilienceOptions {
  /** Attempts in all, the first included (cockatiel's default would be unbounded). */
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Longest Retry-After the gateway will wait; longer ones are cut to this. */
  retryAfterCapMs: number;
  breakerThreshold: number;
  breakerHalfOpenAfterMs: number;
  maxConcurrent: number;
  queue: number;
}

export type UpstreamPolicy = ReturnType<typeof createUpstreamPolicy>;

const isRetryable = (error: Error) => error instanceof UpstreamError && error.retryable;
const isUpstreamFailure = (error: Error) => error instanceof UpstreamError && error.countsAsFailure;

export function createUpstreamPolicy(options: ResilienceOptions) {
  const exponential = new ExponentialBackoff({
    initialDelay: options.retryBaseDelayMs,
    maxDelay: options.retryMaxDelayMs,
  });
  // Exponential backoff, stretched to the upstream's Retry-After when it asks for longer.
  const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown>>((context, previous) => {
    const next = (previous ?? exponential).next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const retryAfter = error instanceof UpstreamError ? error.retryAfterMs : undefined;
    const delay = retryAfter === undefined ? next.duration : Math.max(next.duration, Math.min(retryAfter, options.retryAfterCapMs));
    return { delay, state: next };
  });

  const bulkheadPolicy = bulkhead(options.maxConcurrent, options.queue);
  const retryPolicy = retry(handleWhen(isRetryable), { maxAttempts: options.maxAttempts - 1, backoff });
  const breakerPolicy = circuitBreaker(handleWhen(isUpstreamFailure), {
    halfOpenAfter: options.breakerHalfOpenAfterMs,
    breaker: new ConsecutiveBreaker(options.breakerThreshold),
  });
  return {
    policy: wrap(bulkheadPolicy, retryPolicy, breakerPolicy),
    /** For logging its state changes. */
    breaker: breakerPolicy,
  };
}
