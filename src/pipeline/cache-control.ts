/**
 * `Cache-Control: no-store` on every answer, whatever lane, method or status, but GraphiQL's page, the same
 * bytes for every view, which is revalidated instead (./graphiql.ts).
 *
 * An answer here depends on the caller's bearer token and on upstream's state
 * at the moment it was asked, so no cache may keep it (RFC 9111 §5.2.2.5):
 * - a shared cache already may not store a response to a request with
 *   Authorization (RFC 9111 §3.5), but introspection and `__typename` need no
 *   token, and without an explicit directive a GET's 200 is heuristically
 *   cacheable (§4.2.2): a proxy with a default TTL (Varnish's 120 s) would serve
 *   one caller's answer to the next;
 * - a browser's private cache would keep executions on disk, read with a token,
 *   after the tab is closed: `private, no-cache` still stores them, only
 *   `no-store` does not.
 * Apollo Server sends `no-store` for any response without cache hints; Yoga
 * sends none. The gateway's own `/health` and metrics answers already send it.
 * The HTTP edge's own answers (src/server/http-edge.ts, src/server/raw-http.ts) carry it too.
 */
import type { Plugin } from 'graphql-yoga';

/** The Cache-Control of every answer. */
export const CACHE_CONTROL = 'no-store';

export function useNoStore(): Plugin {
  return {
    onResponse({ response }) {
      // Deleted first: @whatwg-node's Headers, built from an object that spells it `Cache-Control`
      // (Yoga's event stream), keeps that entry beside a lowercase one that `set` adds.
      response.headers.delete('cache-control');
      response.headers.set('cache-control', CACHE_CONTROL);
    },
  };
}
