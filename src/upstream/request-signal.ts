/**
 * The signal a GraphQL request hands to its upstream calls: aborted when the
 * client goes away or when the request's time budget is spent.
 *
 * Hand-written rather than AbortSignal.any([request.signal, AbortSignal.timeout()])
 * because the server aborts request.signal after every response, and the
 * derived signal then built an AbortError with a stack trace per request (≈9% of
 * a status poll's CPU in profiles). `dispose()` unhooks it once the request's
 * work is done, so a finished request costs no abort at all.
 */
import { setMaxListeners } from 'node:events';

export interface RequestSignal {
  signal: AbortSignal;
  dispose(): void;
}

/** Calls the listener once the client goes away (at once if it already has); returns the unsubscribe. */
export type ClientWatch = (listener: () => void) => () => void;

export function createRequestSignal(watchClient: ClientWatch, budgetMs: number, maxListeners: number): RequestSignal {
  const controller = new AbortController();
  // Every execution a request waits on listens to this signal (twice when shared);
  // Node would warn past 10, which is a normal request here, not a leak.
  setMaxListeners(maxListeners, controller.signal);
  const timer = setTimeout(
    () => controller.abort(new DOMException(`request budget of ${budgetMs} ms spent`, 'TimeoutError')),
    budgetMs,
  );
  timer.unref();
  const unwatch = watchClient(() => controller.abort(new DOMException('The client went away.', 'AbortError')));
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      unwatch();
    },
  };
}
