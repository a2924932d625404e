/**
 * Server-Sent Events through proxies: `X-Accel-Buffering: no` asks nginx (and
 * proxies that follow it) not to buffer the stream, so each update reaches the
 * client when it is sent. Yoga's SSE answer already sends a comment every
 * 12 seconds as a keep-alive, so idle streams are not cut.
 */
import type { Plugin } from 'graphql-yoga';

export function useEventStreamHeaders(): Plugin {
  return {
    onResponse({ response }) {
      if (response.headers.get('content-type')?.startsWith('text/event-stream')) response.headers.set('x-accel-buffering', 'no');
    },
  };
}
