/**
 * How upstream work is told to stop: once, with a reason.
 *
 * Three lifetimes meet in one upstream call, each with its own cancellation:
 * the GraphQL request (its time budget, or its client leaving:
 * src/request/scope.ts), the shared call (every request waiting on it left:
 * ./shared-executions.ts), and one attempt (its deadline: ./executions-client.ts).
 * Each later one listens to the one before it.
 *
 * An EventEmitter rather than an AbortController: on Node 20 an AbortSignal and
 * its listeners cost several times an emitter's (README "Measured choices in the code"),
 * and a status poll needs several of them. undici takes an emitter that emits 'abort' as a request's
 * signal, so an attempt hands it one directly.
 */
import { EventEmitter } from 'node:events';
import { budgetSpent, clientLeft, shutDownBeforeAnswer, type UpstreamError } from '../errors.js';

export class Cancellation extends EventEmitter {
  #aborted = false;
  #reason: unknown;

  /** `listeners`: how many may listen at once before Node warns of a leak. */
  constructor(listeners = 10) {
    super();
    this.setMaxListeners(listeners);
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.emit('abort');
  }

  /** Calls `listener` once on abort, at once if already aborted; returns the unsubscribe. */
  onAbort(listener: () => void): () => void {
    if (this.#aborted) {
      listener();
      return () => {};
    }
    this.once('abort', listener);
    return () => this.off('abort', listener);
  }
}

/** The name of the abort reason of a request whose connection the drain cut (src/request/shutdown-cut.ts). */
export const SHUTDOWN_CUT = 'ShutdownCut';

/** The abort reason of a request whose time budget (REQUEST_BUDGET_MS, `budgetMs`) ran out: a TimeoutError that says which. */
export function budgetSpentReason(budgetMs: number): DOMException {
  return Object.assign(new DOMException(`request budget of ${budgetMs} ms spent`, 'TimeoutError'), { budgetMs });
}

/** The error a request sees when its cancellation ended the wait: the budget ran out, its client left, or the drain cut it. */
export function abortedError(cancellation: Cancellation | undefined, attemptTimeoutMs: number): UpstreamError {
  const reason: unknown = cancellation?.reason;
  if (cancellation?.aborted && reason instanceof Error && reason.name === SHUTDOWN_CUT) {
    return shutDownBeforeAnswer();
  }
  const left = cancellation?.aborted && !(reason instanceof Error && reason.name === 'TimeoutError');
  if (left) return clientLeft();
  const budgetMs: unknown = cancellation?.aborted ? (reason as { budgetMs?: unknown } | undefined)?.budgetMs : undefined;
  return budgetSpent(attemptTimeoutMs, typeof budgetMs === 'number' ? budgetMs : undefined);
}

/**
 * Settles with `promise`, or rejects with `onAbort()` as soon as `cancellation`
 * fires. Hand-written because a shared call outlives any one waiter, and
 * cockatiel's retry sleeps through its backoff without watching a signal.
 */
export function settleBeforeAbort<T>(promise: Promise<T>, cancellation: Cancellation, onAbort: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Whoever stops waiting, the work may still fail later: its rejection is handled here either way.
    const unsubscribe = cancellation.onAbort(() => reject(onAbort()));
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
