/** Small Yoga plugins for the request lifecycle: tracing id, cleanup, cost report. */
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

/** Releases each request's budget timer as soon as its execution is done. */
export function useRequestCleanup(): Plugin<GatewayContext> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args }) {
          args.contextValue.dispose();
        },
      };
    },
  };
}

/**
 * Adds `extensions.upstream` to every result: upstream calls made, cache hits,
 * calls shared with concurrent requests, and upstream time, so a frontend team
 * sees what a query costs (as Shopify reports query cost).
 */
export function useUpstreamCostExtension(): Plugin<GatewayContext> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          if (!('data' in result || 'errors' in result)) return;
          const { calls, cacheHits, sharedCalls, timeMs } = args.contextValue.upstream;
          setResult({
            ...result,
            extensions: { ...result.extensions, upstream: { calls, cacheHits, sharedCalls, timeMs: Math.round(timeMs) } },
          });
        },
      };
    },
  };
}
