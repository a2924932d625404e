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

/**
 * A request error answered as an event stream (a variable that does not fit its type, an `operationName` that picks
 * no operation, a persisted document not found: its one `next` event holds the errors, with their codes) is a `200`,
 * as a document that does not parse or validate already is. graphql-sse's client takes any other status for a
 * network error and asks again: a wrong variable was 5 more requests over about 40 s, then an error with no code,
 * where graphql-ws gets the coded error at once. graphql-sse's own handler answers that way for validation and
 * variable errors ("graceful GraphQL error reporting"). Before every other plugin's onResponse, so the spans, the
 * metrics and the access line say the status the client got.
 */
export function useEventStreamErrorStatus(): Plugin {
  return {
    onResponse({ response, setResponse, fetchAPI }) {
      if (response.status !== 400 || !response.headers.get('content-type')?.startsWith('text/event-stream')) return;
      // One result, so the stream ends at once; its text, since a Response made over the stream itself read as no stream.
      return response.text().then((text) => setResponse(new fetchAPI.Response(text, { status: 200, headers: response.headers })));
    },
  };
}
