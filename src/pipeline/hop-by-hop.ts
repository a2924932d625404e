/**
 * No hop-by-hop header from the pipeline: how the connection is kept and how
 * the body is framed are node's to decide, per request (RFC 9110 §7.6.1).
 *
 * Yoga's event stream and multipart answers say `Connection: keep-alive`, and
 * the multipart one `Transfer-Encoding: chunked`. Given by the handler, node
 * sends them as they are and obeys them, so:
 * - a client's `Connection: close` was not honoured on those answers: they
 *   said keep-alive and the connection stayed open after them (RFC 9112 §9.6:
 *   the server MUST close it), and a draining instance's `Connection: close`
 *   (src/server/drain.ts) was overridden the same way;
 * - an HTTP/1.0 client got a chunked body (RFC 9112 §6.1: a server MUST NOT
 *   send Transfer-Encoding to one); nginx's default `proxy_http_version` is 1.0.
 * Without them node frames the body by chunks for HTTP/1.1 and by closing for
 * HTTP/1.0, and keeps or closes the connection as the request and the server say.
 */
import type { Plugin } from 'graphql-yoga';

/** Headers that describe one connection, not the answer (RFC 9110 §7.6.1, RFC 9112 §6.1). */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding'] as const;

export function useNoHopByHopHeaders(): Plugin {
  return {
    onResponse({ response }) {
      for (const name of HOP_BY_HOP) if (response.headers.has(name)) response.headers.delete(name);
    },
  };
}
