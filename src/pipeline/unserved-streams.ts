/**
 * A subscription's stream that no result processor serves is closed at once.
 * Yoga subscribes first and chooses how to answer afterwards, so a client that
 * accepts only `application/json` gets its 406 after the live watch started;
 * nothing would ever read or end that stream, and it would keep its poller and
 * one of its caller's subscription slots for good. Closing it releases both.
 *
 * Registered last (src/pipeline/gateway.ts): it sees the processor every other
 * plugin chose, and closes only what none of them will serve.
 */
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

export function useUnservedStreamClosing(): Plugin {
  return {
    onResultProcess({ result, resultProcessor }) {
      if (resultProcessor || !isAsyncIterable(result)) return;
      void result[Symbol.asyncIterator]().return?.();
    },
  };
}
