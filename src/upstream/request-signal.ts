/**
 * The cancellation a GraphQL request hands to its upstream calls: fired when the
 * client goes away or when the request's time budget is spent.
 *
 * Hand-written rather than AbortSignal.any([request.signal, AbortSignal.timeout()])
 * because the server aborts request.signal after every response, and the
 * derived signal then built an AbortError with a stack trace per request (≈9% of
 * a status poll's CPU in profiles). `dispose()` unhooks it once the request's
 * work is done, so a finished request costs no abort at all.
 */
import { Cancellation } from './cancellation.js';

/** Calls the listener once the client goes away (at once if it already has); returns the unsubscribe. */
export type ClientWatch = (listener: () => void) => () => void;

/**
 * The signal, its budget timer and the client watch are made on first use, that
 * is on the request's first upstream call: a request answered from the cache
 * costs none of them, and the budget counts upstream time only.
 *
 * A class, not an object literal with a getter over closures: made once per
 * request, that literal (which reaches the request through `watchClient`) kept
 * whole requests alive past young-generation collections. Measured with
 * --trace-gc under load: a context holding only the literal promoted about
 * 3 MB per scavenge, holding this class nothing; in the whole server, this and
 * the upstream caller (RequestCall in context.ts) as classes took promotion
 * from 2.1 to 0.95 MB per scavenge.
 */
export class RequestSignal {
  #cancellation: Cancellation | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  constructor(
    private readonly watchClient: ClientWatch,
    private readonly budgetMs: number,
    private readonly maxListeners: number,
  ) {}

  get signal(): Cancellation {
    if (!this.#cancellation) {
      // Every execution a request waits on listens to it; Node would warn past 10,
      // which is a normal request here, not a leak.
      const made = new Cancellation(this.maxListeners);
      this.#cancellation = made;
      const budgetMs = this.budgetMs;
      this.#timer = setTimeout(() => made.abort(new DOMException(`request budget of ${budgetMs} ms spent`, 'TimeoutError')), budgetMs);
      this.#timer.unref();
      this.#unwatch = this.watchClient(() => made.abort(new DOMException('The client went away.', 'AbortError')));
    }
    return this.#cancellation;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#unwatch?.();
  }
}
