/**
 * Every error a client receives carries `extensions.code`. Yoga and graphql-js
 * leave a few without one (a missing CSRF header, a wrong content type, variables
 * that do not match their types); those are problems with the request itself.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export function useStableErrorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || !('errors' in result) || !result.errors?.length) return;
      if (result.errors.every((error) => error.extensions?.code)) return;
      setResult({
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
      });
    },
  };
}
