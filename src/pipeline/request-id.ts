/**
 * The request id on every answer: the HTTP edge assigns it to the server
 * context before anything runs (src/server/http-edge.ts); a request that came
 * without the edge (`yoga.fetch`) gets it here, before its context is built.
 * The context, upstream calls and the response header all read that one value.
 */
import type { Plugin } from 'graphql-yoga';
import { requestIdFor } from '../request/request-id.js';

export interface RequestIdContext {
  requestId?: string;
}

export function useRequestId(): Plugin<Record<string, unknown>, RequestIdContext> {
  return {
    onRequest({ request, serverContext }) {
      serverContext.requestId ??= requestIdFor(request.headers.get('x-request-id'));
    },
    onResponse({ response, serverContext }) {
      if (serverContext.requestId) response.headers.set('x-request-id', serverContext.requestId);
    },
  };
}
