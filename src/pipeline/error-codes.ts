/**
 * Every error a client receives carries `extensions.code` and nothing of the
 * request it came from. Yoga and graphql-js leave a few without a code (a
 * missing CSRF header, variables that do not match their types); those are
 * problems with the request itself: BAD_REQUEST. Yoga copies the parser's error
 * into `extensions.originalError`, whose message can quote the client's body;
 * it is dropped.
 */
import type { ExecutionResult, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { withExtensions } from '../errors.js';

function finished(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown> | undefined;
  if (extensions?.code && !('originalError' in extensions)) return error;
  const { originalError: _dropped, ...rest } = extensions ?? {};
  return withExtensions(error, rest);
}

/** The result with every error coded and cleaned; the same object when none needed it. */
export function withStableErrorCodes<T extends ExecutionResult>(result: T): T {
  const errors = result.errors;
  if (!errors?.length) return result;
  let changed = false;
  const next = errors.map((error) => {
    const done = finished(error);
    if (done !== error) changed = true;
    return done;
  });
  return changed ? { ...result, errors: next } : result;
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
