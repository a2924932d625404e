/**
 * Each unexpected error (one masking hides from the client: a resolver's bug,
 * a broken invariant) is logged once, at `error`, with the request id, its
 * path, name and message, never a stack. Yoga logs the errors it masks itself,
 * without the request and up to twice each (its masking and its error handler
 * both log); its logger here (`yogaError`) skips what this plugin logged and
 * logs nothing twice, so an error masked outside an operation (a plugin's hook
 * that throws) is still logged, once.
 *
 * The plugin comes before Yoga's masking (Yoga adds its own after the
 * gateway's), so it sees each error as it was raised. A subscription's stream
 * that fails (its source throws, rather than yielding an error) is logged here
 * too, with its request id: Yoga alone logged it, tied to no request.
 */
import type { ExecutionResult, GraphQLError } from 'graphql';
import { maskError, type Plugin } from 'graphql-yoga';
import { MASKED_MESSAGE } from '../errors.js';
import type { Logger } from '../logger.js';
import type { GatewayContext } from '../request/context.js';

export interface ErrorLog {
  plugin: Plugin<GatewayContext>;
  /** Yoga's `logging.error`: logs what this plugin did not, each error object once. */
  yogaError(...args: unknown[]): void;
}

export function createErrorLog(logger: Logger, yogaLogger: Logger): ErrorLog {
  const logged = new WeakSet<object>();

  function noteOne(error: unknown, context: GatewayContext): void {
    if (typeof error !== 'object' || error === null || logged.has(error) || maskError(error, MASKED_MESSAGE, false) === error) return;
    const original: { name?: unknown; message?: unknown } = (error as GraphQLError).originalError ?? error;
    logged.add(error).add(original);
    logger.error(
      { requestId: context.scope.requestId, path: (error as GraphQLError).path?.join('.'), err: { name: original.name, message: original.message } },
      'operation failed unexpectedly; the client got "Unexpected error."',
    );
  }

  function note(result: ExecutionResult, context: GatewayContext): void {
    for (const error of result.errors ?? []) noteOne(error, context);
  }

  /** The stream, whose failure (its `next` rejecting) is noted before Yoga masks it; an abort is no failure. */
  function failuresNoted<T>(stream: AsyncIterable<T>, context: GatewayContext): AsyncIterableIterator<T> {
    const iterator = stream[Symbol.asyncIterator]();
    const noted = (error: unknown): never => {
      if (!(error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))) noteOne(error, context);
      throw error;
    };
    const wrapped: AsyncIterableIterator<T> = {
      [Symbol.asyncIterator]: () => wrapped,
      next: () => iterator.next().catch(noted),
      return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: value as T }),
      throw: (error?: unknown) => iterator.throw?.(error) ?? Promise.reject(error),
    };
    return wrapped;
  }

  // One object for every request: the hooks read what they need from their payloads.
  const executed = {
    onExecuteDone({ result, args }: { result: ExecutionResult | AsyncIterable<ExecutionResult>; args: { contextValue: unknown } }) {
      if (!(Symbol.asyncIterator in result)) note(result, args.contextValue as GatewayContext);
    },
  };

  return {
    plugin: {
      onExecute: () => executed,
      onSubscribe() {
        return {
          onSubscribeResult({ result, args, setResult }) {
            const context = args.contextValue;
            if (!(Symbol.asyncIterator in result)) return note(result, context);
            setResult(failuresNoted(result, context));
            return { onNext: ({ result: update }) => note(update, context) };
          },
        };
      },
    },
    yogaError(...args) {
      const error = args.find((arg) => arg instanceof Error);
      if (error) {
        if (logged.has(error)) return;
        logged.add(error);
      }
      // Yoga passes the error alone: a line whose message said nothing.
      const said = args.filter((arg) => !(arg instanceof Error)).map(String).join(' ');
      yogaLogger.error({ err: error }, said || 'failed unexpectedly in a step or plugin hook; the client got "Unexpected error."');
    },
  };
}
