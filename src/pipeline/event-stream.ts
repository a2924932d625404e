/**
 * Server-Sent Events through proxies: `X-Accel-Buffering: no` asks nginx (and
 * proxies that follow it) not to buffer the stream, so each update reaches the
 * client when it is sent. Yoga's SSE answer already sends a comment every
 * 12 seconds as a keep-alive, so idle streams are not cut.
 *
 * An event stream whose client stopped reading is dropped after
 * LIVE_STALLED_CLIENT_MS (src/server/stalled-clients.ts), which ends its watch
 * as a client leaving does: nothing else ends it (no keep-alive answer to miss,
 * and its final update could never be written), so it held its watch slot and
 * its poller for as long as the peer's kernel acknowledged. Over WebSocket the
 * connection is tracked instead (src/server/websocket.ts).
 */
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { StalledClients } from '../server/stalled-clients.js';
import type { GatewayServerContext } from './gateway.js';

export function useEventStreamHeaders(stalledClients?: StalledClients, logger?: Logger): Plugin<Record<string, unknown>, GatewayServerContext> {
  return {
    onResponse({ response, serverContext }) {
      if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      response.headers.set('x-accel-buffering', 'no');
      const { res, requestId } = serverContext;
      const socket = res?.socket;
      if (!stalledClients || !res || !socket) return;
      const untrack = stalledClients.track(socket, () => {
        logger?.info({ requestId }, 'event stream closed: its client stopped reading');
        res.destroy();
      });
      // A keep-alive connection goes on to serve other requests once the stream has ended.
      res.once('close', untrack);
    },
  };
}
