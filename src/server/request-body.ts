/**
 * Reading a request body at the edge: whole, before the lane runs, for the fast
 * lane (which takes it read), for an ISO-8859-1 body (re-encoded first) and for
 * a body of unknown length (`Transfer-Encoding: chunked`, no Content-Length).
 *
 * A chunked body is what load balancers that turn HTTP/2 into HTTP/1.1 send
 * (Envoy, some ALBs, nginx with `proxy_request_buffering off`), and what a
 * client streaming its body sends. Its length is known only once it has
 * arrived, so the limit (MAX_REQUEST_BODY_BYTES) is enforced as it streams:
 * past it, reading stops and the edge answers 413. Read whole (at most the
 * limit), it is handed to either lane as a body of known
 * length, so no lane ever meets a body the edge has not bounded.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/** The body went past its limit: reading stopped there, and the rest was left unread. */
export const OVER_LIMIT = Symbol('over the body limit');

/**
 * The whole request body; null when the client went away before sending it;
 * OVER_LIMIT as soon as more than `limitBytes` have arrived (the stream is
 * then paused, and what is buffered is dropped).
 *
 * Copied as it arrives into one buffer (grown by doubling, so at most twice
 * the body), not kept as the chunks node hands over: each chunk of a chunked
 * body is its own Buffer, some 200 bytes of heap whatever its length, so a
 * 64 KiB body sent as 1-byte chunks (390 KB on the wire) held 13 MB until it
 * ended, and 20 such uploads 270 MB of heap. A body that arrives in one chunk
 * (nearly every request) is kept as it came: nothing is allocated or copied.
 */
export function readBody(request: IncomingMessage, limitBytes = Infinity): Promise<Buffer | null | typeof OVER_LIMIT> {
  return new Promise((resolve) => {
    let body: Buffer = EMPTY;
    let length = 0;
    // The first chunk, kept as it came until a second one arrives.
    let only: Buffer | undefined;
    const onData = (chunk: Buffer) => {
      if (length + chunk.length > limitBytes) {
        request.off('data', onData);
        request.pause();
        body = EMPTY;
        only = undefined;
        return resolve(OVER_LIMIT);
      }
      if (length === 0) {
        only = chunk;
        length = chunk.length;
        return;
      }
      if (only) {
        // Full to its length: the check below grows it into a buffer of the body's own.
        body = only;
        only = undefined;
      }
      if (length + chunk.length > body.length) body = grown(body, length, Math.min(limitBytes, Math.max(2 * body.length, length + chunk.length, 4096)));
      chunk.copy(body, length);
      length += chunk.length;
    };
    request.on('data', onData);
    request.once('end', () => resolve(only ?? body.subarray(0, length)));
    // After 'end' (or the limit) these settle nothing; before it, the client is gone.
    request.once('error', () => resolve(null));
    request.once('close', () => resolve(null));
  });
}

const EMPTY = Buffer.alloc(0);

/**
 * A buffer of `capacity` bytes starting with the first `length` bytes of `body`. Zeroed: the body
 * handed on is a view of it, and whoever reads its whole ArrayBuffer must find no stale memory there.
 */
function grown(body: Buffer, length: number, capacity: number): Buffer {
  const larger = Buffer.alloc(capacity);
  body.copy(larger, 0, 0, length);
  return larger;
}

/**
 * A chunked body, read whole, given to the request as a body of known length:
 * every reader of the headers sees the Content-Length it would have had, and
 * no Transfer-Encoding; Yoga's node adapter reads it from `request.body` (handOver).
 */
export function asKnownLength(request: IncomingMessage, body: Buffer): void {
  delete request.headers['transfer-encoding'];
  request.headers['content-length'] = String(body.length);
  handOver(request, body);
}

/**
 * Leaves a body the edge has read on `request.body`, where Yoga's node adapter
 * (@whatwg-node/server) reads it instead of the consumed stream, as behind
 * Express's body parsers. As a one-chunk stream, not the Buffer: the adapter
 * first checks `Object.keys(body).length`, which on a Buffer lists every byte's
 * index, milliseconds of CPU for a body near the limit (README "Measured choices in the code"),
 * and is 0 for an empty one, which then sent the adapter to the stream already read.
 */
export function handOver(request: IncomingMessage, body: Buffer): void {
  (request as IncomingMessage & { body?: Readable }).body = Readable.from([body]);
}

/**
 * Why a Transfer-Encoding cannot be read, or undefined when it can. Node
 * decodes `chunked` and nothing else, and refuses it next to a Content-Length
 * itself (a 400: request smuggling, RFC 9112 §6.3). RFC 9112 §6.3: a request
 * whose final coding is not chunked has no length a server can know (a 400,
 * closing the connection); §6.1: another coding before it (`gzip, chunked`) is
 * one the gateway does not implement (a 501). `httpVersion`: the request's (`1.1`).
 */
export function transferCodingProblem(value: string, httpVersion: string): { status: 400 | 501; message: string } | undefined {
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing, and its connection must
  // close. An HTTP/1.0 intermediary knows no chunked: it took the request to have no body, and would read
  // the chunks as the client's next request, where the gateway read them as this one's body.
  if (httpVersion === '1.0') return { status: 400, message: 'Transfer-Encoding is not HTTP/1.0: send the body with a Content-Length.' };
  const codings = value.toLowerCase().split(',').map((coding) => coding.trim()).filter(Boolean);
  if (codings.at(-1) !== 'chunked') return { status: 400, message: 'Transfer-Encoding must end with chunked; or send a Content-Length.' };
  if (codings.length > 1) return { status: 501, message: 'Transfer-Encoding other than chunked is not served: send the body unencoded.' };
  return undefined;
}
