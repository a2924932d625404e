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
 * limit, 64 KiB by default), it is handed to either lane as a body of known
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
 */
export function readBody(request: IncomingMessage, limitBytes = Infinity): Promise<Buffer | null | typeof OVER_LIMIT> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length <= limitBytes) return void chunks.push(chunk);
      request.off('data', onData);
      request.pause();
      chunks.length = 0;
      resolve(OVER_LIMIT);
    };
    request.on('data', onData);
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    // After 'end' (or the limit) these settle nothing; before it, the client is gone.
    request.once('error', () => resolve(null));
    request.once('close', () => resolve(null));
  });
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
 * index, some 8 ms of CPU for a 64 KiB body (0.7 ms for 16 KiB), and is 0 for an
 * empty one, which then sent the adapter to the stream already read.
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
 * one the gateway does not implement (a 501).
 */
export function transferCodingProblem(value: string): { status: 400 | 501; message: string } | undefined {
  const codings = value.toLowerCase().split(',').map((coding) => coding.trim()).filter(Boolean);
  if (codings.at(-1) !== 'chunked') return { status: 400, message: 'Transfer-Encoding must end with chunked; or send a Content-Length.' };
  if (codings.length > 1) return { status: 501, message: 'Transfer-Encoding other than chunked is not served: send the body unencoded.' };
  return undefined;
}
