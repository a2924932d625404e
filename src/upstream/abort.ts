/** Helpers for settling work at the moment a request's cancellation fires. */
import { ErrorCode } from '../errors.js';
import type { Cancellation } from './cancellation.js';
import { UpstreamError } from './upstream-error.js';

/** The error a caller sees when its signal ended the wait: the budget ran out, or it left. */
export function abortedError(signal: Cancellation | undefined, attemptTimeoutMs: number): UpstreamError {
  const reason: unknown = signal?.reason;
  const left = signal?.aborted && !(reason instanceof Error && reason.name === 'TimeoutError');
  return new UpstreamError(
    ErrorCode.UPSTREAM_TIMEOUT,
    left
      ? 'The request was cancelled before the executions API answered.'
      : `The executions API did not answer in time (${attemptTimeoutMs} ms per attempt, within the request's time budget).`,
  );
}

/**
 * Settles with `promise`, or rejects with `onAbort()` as soon as `signal` aborts.
 * Hand-written because cockatiel's retry sleeps through its backoff without
 * watching the signal, and shared calls outlive any one waiter.
 */
export function settleBeforeAbort<T>(promise: Promise<T>, signal: Cancellation | undefined, onAbort: () => Error): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    // Whoever stops waiting, the work may still fail later: its rejection is handled here either way.
    const unsubscribe = signal.onAbort(() => reject(onAbort()));
    promise.then(
      (value) => {
        unsubscribe();
        resolve(value);
      },
      (error: unknown) => {
        unsubscribe();
        reject(error);
      },
    );
  });
}
