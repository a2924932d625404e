/**
 * Every error a client receives carries `extensions.code`. Yoga and graphql-js
 * leave a few without one (a missing CSRF header, a wrong content type, variables
 * that do not match their types); those are problems with the request itself.
 */
import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The result with BAD_REQUEST on every error that has no code; the same object when none lacks one. */
export function withStableErrorCodes<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.length || result.errors.every((error) => error.extensions?.code)) return result;
  return {
    ...result,
    errors: result.errors.map((error) =>
      error.extensions?.code
        ? error
        : new GraphQLError(error.message, {
            nodes: error.nodes,
            path: error.path,
            extensions: { ...error.extensions, code: 'BAD_REQUEST' },
          }),
    ),
  };
}

export function useStableErrorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result)) return;
      const coded = withStableErrorCodes(result);
      if (coded !== result) setResult(coded);
    },
  };
}
