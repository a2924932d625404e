/**
 * A subscription no result processor could serve is never subscribed, and a
 * stream none serves is closed at once. Yoga subscribes first and chooses how
 * to answer afterwards, so a client that accepts only `application/json` got
 * its 406 after the live watch started: a bad id or a missing token was a 200
 * with that error instead, a caller at its bound a 200 TOO_MANY_SUBSCRIPTIONS,
 * and the watch held its poller and one of its caller's slots until closed.
 *
 * - onSubscribe: when the request's Accept takes no stream type, the operation
 *   is answered with an empty stream instead of being subscribed, which Yoga
 *   then refuses as it refuses any stream: the same 406, naming
 *   `text/event-stream`, whatever the subscription would have done.
 * - onResultProcess: a stream that no processor serves is closed (its poller
 *   and the caller's slot released).
 *
 * Registered last (src/pipeline/gateway.ts): it sees the processor every other
 * plugin chose, and every other plugin's onSubscribe has run.
 */
import { isAsyncIterable, type Plugin } from 'graphql-yoga';

/**
 * The types Yoga answers a subscription's stream with: Server-Sent Events alone (graphql-yoga 5,
 * plugins/use-result-processor.js: a subscription's processors are SSE's and the regular one; multipart/mixed
 * serves a query's incremental delivery, which this schema has none of). Listing multipart/mixed here
 * subscribed a client that accepts only it, for a 406 once the watch held its caller's slot.
 */
const STREAM_TYPES = [['text', 'event-stream']] as const;

/**
 * Whether Yoga's stream processor for a subscription matches `accept`, read as Yoga reads it
 * (result-processor/accept.js: an entry with a charset other than UTF-8 takes
 * nothing, `*` matches any part). By hand: graphql-yoga does not export it.
 */
function acceptsStream(accept: string | null): boolean {
  for (const entry of (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',')) {
    const [type = '', ...parameters] = entry.split(';');
    if ((parameters.find((parameter) => parameter.includes('charset=')) ?? 'charset=utf-8') !== 'charset=utf-8') continue;
    const [top, sub] = type.split('/');
    if (STREAM_TYPES.some(([streamTop, streamSub]) => (top === '*' || top === streamTop) && (sub === '*' || sub === streamSub))) return true;
  }
  return false;
}

/** A stream with nothing in it: what a subscription nothing could serve is answered with. */
async function* notSubscribed(): AsyncGenerator<never> {}

export function useUnservedStreamClosing(): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request } | undefined)?.request;
      if (request && !acceptsStream(request.headers.get('accept'))) setResultAndStopExecution(notSubscribed());
    },
    onResultProcess({ result, resultProcessor }) {
      if (resultProcessor || !isAsyncIterable(result)) return;
      void result[Symbol.asyncIterator]().return?.();
    },
  };
}
