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
 * An event stream whose client stopped reading is dropped after
 * LIVE_STALLED_CLIENT_MS (src/server/stalled-clients.ts), which ends its watch
 * as a client leaving does: nothing else ends it (no keep-alive answer to miss,
 * and its final update could never be written), so it held its watch slot and
 * its poller for as long as the peer's kernel acknowledged. Over WebSocket the
 * connection is tracked instead (src/server/websocket.ts).
 */
import type { Socket } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { StalledClients } from '../server/stalled-clients.js';
import { CACHE_CONTROL } from './cache-control.js';
import type { GatewayServerContext } from './gateway.js';

export function useEventStreamHeaders(stalledClients?: StalledClients, logger?: Logger): Plugin<Record<string, unknown>, GatewayServerContext> {
  return {
    onResponse({ response, serverContext }) {
      if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      response.headers.set('x-accel-buffering', 'no');
      response.headers.set('cache-control', `${CACHE_CONTROL}, no-transform`);
      if (response.headers.get('content-encoding')?.trim().toLowerCase() === 'none') response.headers.delete('content-encoding');
      const { res, requestId } = serverContext;
      if (!stalledClients || !res) return;
      const watch = (socket: Socket) => {
        const untrack = stalledClients.track(socket, () => {
          logger?.info({ requestId }, 'event stream closed: its client stopped reading');
          res.destroy();
        });
        // A keep-alive connection goes on to serve other requests once the stream has ended.
        res.once('close', untrack);
      };
      // A request pipelined behind others gets its socket only once their answers are written (node's
      // 'socket' event): watched from then on. Left unwatched, a client that stopped reading it held its
      // watch, its caller's slot and its poller for good.
      if (res.socket) watch(res.socket);
      else res.once('socket', watch);
    },
  };
}
