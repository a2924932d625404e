/**
 * An update of a subscription refused as a whole ends the subscription, once
 * the client has it.
 *
 * A watch moves its position past the events of each update it produces
 * (src/live/live-executions.ts), before the update's selection runs. When the
 * selection is refused as a whole (a per-request bound: more events across
 * `newEvents { node { execution { events } } }` than MAX_EVENTS_PER_REQUEST,
 * or more upstream values than a result may carry), the client got an error
 * with no `cursor` while the watch went on past those events: they were lost,
 * and nothing told the client to subscribe again. Ended, the stream tells it:
 * the client subscribes again from its last `cursor`, with a smaller selection.
 *
 * An outage notice (UPSTREAM_UNAVAILABLE on the root field) is no such update:
 * the watch has not moved, and it goes on, as the schema says.
 */
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { ErrorCode } from '../errors.js';

/** Whether `result` carries no root field's value, for an error other than an outage notice on a root field. */
function refusedAsAWhole({ data, errors = [] }: ExecutionResult): boolean {
  // A value at the root carries the update's cursor: the client knows where it stands.
  if (data && Object.values(data).some((value) => value !== null && value !== undefined)) return false;
  return errors.some((error) => !(error.path?.length === 1 && error.extensions?.code === ErrorCode.UPSTREAM_UNAVAILABLE));
}

/**
 * `source`, ended after its first update refused as a whole: that update is
 * delivered, then the source is returned (the watch ends, its poller's slot
 * and its caller's freed). By hand, not as an async generator: a generator
 * would hold a client's `return()` until the source's next update.
 */
function endingAfterRefusal(source: AsyncIterable<ExecutionResult>): AsyncIterableIterator<ExecutionResult> {
  const iterator = source[Symbol.asyncIterator]();
  let ended = false;
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (ended) return { done: true, value: undefined };
      const step = await iterator.next();
      if (!step.done && refusedAsAWhole(step.value)) {
        ended = true;
        // Not awaited: the update goes out as the watch ends.
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
      }
      return step;
    },
    return(value?: unknown) {
      ended = true;
      return iterator.return?.(value) ?? Promise.resolve({ done: true, value: undefined });
    },
    throw(error?: unknown) {
      ended = true;
      return iterator.throw?.(error) ?? Promise.reject(error);
    },
  };
}

export function useRefusedUpdatesEnd(): Plugin {
  return {
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(endingAfterRefusal(result as AsyncIterable<ExecutionResult>));
        },
      };
    },
  };
}
