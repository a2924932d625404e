/**
 * The bound on a request's head: its URL and header fields together, as node
 * counts them against `maxHeaderSize` (16 KiB unless `--max-http-header-size`
 * says otherwise): the URL, each field name and each value, in bytes, refused
 * from `maxHeaderSize` on.
 *
 * Node refuses a head past its bound before any handler sees the request, so
 * its refusal can carry neither the request id the client sent nor CORS
 * headers (the Origin was never read): a browser cannot read why its long GET
 * failed. Its parser therefore takes heads up to `HEAD_PARSE_LIMIT_BYTES`, and
 * the edge refuses past `maxHeaderSize` itself, knowing the headers; only a
 * head past the parser's bound too gets the refusal without them. 64 KiB is
 * Envoy's default bound on request headers (60 KiB) rounded up; nginx's is 32 KiB.
 */
import { maxHeaderSize, type IncomingMessage } from 'node:http';

/** Where node's parser stops reading a head (bytes, counted as above): four times the bound the edge enforces. */
export const HEAD_PARSE_LIMIT_BYTES = 4 * maxHeaderSize;

/** The message of every 431, the edge's and node's parser's alike. */
export const HEAD_TOO_LARGE = `The request line and headers pass ${maxHeaderSize / 1024} KiB together: a long operation sent by GET (its URL counts) goes by POST instead.`;

/** Whether the request's URL and header fields reach `maxHeaderSize` bytes together, where node alone would have refused it. */
export function headTooLarge(request: IncomingMessage): boolean {
  let bytes = Buffer.byteLength(request.url ?? '', 'latin1');
  if (bytes >= maxHeaderSize) return true;
  for (const field of request.rawHeaders) bytes += Buffer.byteLength(field, 'latin1');
  return bytes >= maxHeaderSize;
}
