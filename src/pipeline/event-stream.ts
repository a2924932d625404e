/**
 * Server-Sent Events through proxies. An intermediary that buffers or
 * compresses the stream holds each update back until its buffer fills, so:
 * - `X-Accel-Buffering: no` asks nginx (and proxies that follow it) not to
 *   buffer the stream;
 * - `Cache-Control: no-store, no-transform`: no cache keeps it (./cache-control.ts),
 *   and no intermediary transforms it, compression included (RFC 9110 §7.7,
 *   RFC 9111 §5.2.2.6), which Express's `compression`, HAProxy and Cloudflare honour.
 * Yoga's SSE answer says `Content-Encoding: none` for that last purpose, but
 * `none` is no content coding (RFC 9110 §8.4.1, IANA's registry): the body is
 * not encoded at all, which is said by sending no Content-Encoding. It goes.
 * Yoga's SSE answer already sends a comment every 12 seconds as a keep-alive,
 * so idle streams are not cut.
 *
 * An event stream whose client stopped reading is cut by the HTTP edge after
 * LIVE_STALLED_CLIENT_MS, as every answer is (src/server/stalled-clients.ts),
 * which ends its watch as a client leaving does.
 */
import type { Plugin } from 'graphql-yoga';
import { CACHE_CONTROL } from './cache-control.js';

export function useEventStreamHeaders(): Plugin {
  return {
    onResponse({ response }) {
      if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      response.headers.set('x-accel-buffering', 'no');
      response.headers.set('cache-control', `${CACHE_CONTROL}, no-transform`);
      if (response.headers.get('content-encoding')?.trim().toLowerCase() === 'none') response.headers.delete('content-encoding');
    },
  };
}
