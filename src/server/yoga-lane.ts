/**
 * The full lane: every request through Yoga's own node adapter
 * (`handleNodeRequestAndResponse`, then `sendNodeResponse`), operations on
 * graphql-js. It runs the same pipeline as the fast lane with Yoga's own
 * machinery; `FAST_LANE=false` selects it.
 */
import { sendNodeResponse } from '@whatwg-node/server';
import type { Lane } from '../fast-lane/index.js';
import type { Gateway } from '../pipeline/gateway.js';
import { forbidsContentLength } from './raw-http.js';

export function createYogaLane(gateway: Gateway): Lane {
  return {
    readsBodyFirst: false,
    async serve(incoming, outgoing, serverContext) {
      const response = await gateway.handleNodeRequestAndResponse(incoming, outgoing, serverContext);
      // whatwg-node's CORS answers a preflight 204 with `Content-Length: 0`, which RFC 9110 §8.6 forbids; the fast lane drops it too (../fast-lane/write-response.ts).
      if (forbidsContentLength(response.status)) response.headers.delete('content-length');
      await sendNodeResponse(response, outgoing, incoming, true);
    },
    fetch(request, serverContext) {
      return Promise.resolve(gateway.handleRequest(request, serverContext));
    },
  };
}
