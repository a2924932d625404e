/** Small Yoga plugins for the request lifecycle: tracing id, and what every result gets after execution. */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { requestIdOf, type GatewayContext } from '../context.js';

/** Echoes the tracing id (the client's or a generated one) so callers can quote it. */
export function useRequestIdHeader(): Plugin {
  return {
    onResponse({ request, response }) {
      response.headers.set('x-request-id', requestIdOf(request));
    },
  };
}

/**
 * Adds `extensions.upstream` to every result: upstream calls made, cache hits,
 * calls shared with concurrent requests, and upstream time, so a frontend team
 * sees what a query costs (as Shopify reports query cost).
 */
export function withUpstreamCost<T extends ExecutionResult>(result: T, context: GatewayContext): T {
  const { calls, cacheHits, sharedCalls, timeMs } = context.upstream;
  return { ...result, extensions: { ...result.extensions, upstream: { calls, cacheHits, sharedCalls, timeMs: Math.round(timeMs) } } };
}

/**
 * Runs `finish` on every execution result: what the gateway does once an
 * operation has run (release the request's budget timer, hide suggestions, add
 * the upstream cost). Prepared operations (./prepared-operations.ts) run the
 * same function, so both paths finish a result the same way.
 */
export function useExecutionFinish(finish: (result: ExecutionResult, context: GatewayContext) => ExecutionResult): Plugin<GatewayContext> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          setResult(finish(result, args.contextValue));
        },
      };
    },
  };
}
