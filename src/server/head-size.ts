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
 *
 * Node keeps only the first `HEAD_FIELD_LIMIT` field lines of a request
 * (`maxHeadersCount`) and drops the rest unseen, while its parser counted them
 * all: with its bound at 16 KiB, 3,000 short fields (27 KB) got 431; under the
 * parser's 64 KiB the edge would count only the 1,000 kept and serve them. A
 * head with more field lines than node keeps is refused (431) instead: what
 * was dropped can no longer be counted, and would have been dropped silently.
 *
 * A request target that reaches the bound by itself is a 414 (URI Too Long),
 * not a 431: RFC 9112 §3 requires it of a server that will not parse the
 * target, and no header the client drops makes it fit (RFC 6585 §5 has a 431
 * resubmitted with smaller header fields). A target under the bound that the
 * fields take past it is a 431, as a head whose fields alone pass it. Past the
 * parser's bound node cannot say which of them it was reading (./http-edge.ts).
 */
import { maxHeaderSize, type IncomingMessage } from 'node:http';

/** Where node's parser stops reading a head (bytes, counted as above): four times the bound the edge enforces. */
export const HEAD_PARSE_LIMIT_BYTES = 4 * maxHeaderSize;

/** Field lines node keeps of a request (the server's `maxHeadersCount`: node's default); one more is kept to tell that some were dropped. */
export const HEAD_FIELD_LIMIT = 1_000;

/** The message of a 431 for more field lines than HEAD_FIELD_LIMIT. */
const TOO_MANY_FIELDS = `More than ${HEAD_FIELD_LIMIT} header fields.`;

/** The message of a 431 for a head's size when which part made it large is not known (node's parser refused it unread). */
export const HEAD_TOO_LARGE = `The request line and headers pass ${maxHeaderSize / 1024} KiB together: send fewer or smaller headers, or a long operation by POST rather than GET (its URL counts).`;

/** The edge's 431 when the header fields are most of the head: the advice to send by POST is no help to a POST. */
const FIELDS_TOO_LARGE = `The request line and headers pass ${maxHeaderSize / 1024} KiB together, most of it header fields: send fewer or smaller headers (a long cookie or Authorization, say).`;

/** The edge's 431 for a GET whose URL is most of the head. */
const GET_URL_TOO_LARGE = `The request line and headers pass ${maxHeaderSize / 1024} KiB together, most of it the URL: send a long operation by POST rather than GET.`;

/** The edge's 431 for another method whose URL is most of the head: "most of it header fields" was untrue of it. */
const URL_TOO_LARGE = `The request line and headers pass ${maxHeaderSize / 1024} KiB together, most of it the URL: send a shorter one (a POST carries the operation in its body).`;

/**
 * The message of a 431 for a chunked body's trailer fields past what node's parser reads of them
 * (HEAD_PARSE_LIMIT_BYTES, counted apart from the head's). The gateway reads no trailer field.
 */
export const TRAILERS_TOO_LARGE = `The trailer fields after the chunked body pass ${HEAD_PARSE_LIMIT_BYTES / 1024} KiB: send fewer (the gateway reads none of them).`;

/** The message of a 414: the request target alone reaches the bound. */
const URI_TOO_LONG = `The URL passes ${maxHeaderSize / 1024} KiB: a long operation sent by GET goes by POST instead.`;

/** A refused head: its status (414 for the target, 431 for the fields) and message. */
export interface HeadRefusal {
  status: 414 | 431;
  message: string;
}

/**
 * Why the request's head is refused, or undefined: its URL alone reaches
 * `maxHeaderSize` bytes (414, URI_TOO_LONG), its URL and header fields reach it
 * together, where node alone would have refused it (431: GET_URL_TOO_LARGE for a
 * GET whose URL is most of it, URL_TOO_LARGE for another method's, else FIELDS_TOO_LARGE), or it
 * has more field lines than node keeps (431, TOO_MANY_FIELDS). Needs a server
 * whose `maxHeadersCount` is HEAD_FIELD_LIMIT + 1.
 */
export function headTooLarge(request: IncomingMessage): HeadRefusal | undefined {
  if (request.rawHeaders.length > 2 * HEAD_FIELD_LIMIT) return { status: 431, message: TOO_MANY_FIELDS };
  const url = request.url ?? '';
  const urlBytes = headBytes(url, []);
  if (urlBytes >= maxHeaderSize) return { status: 414, message: URI_TOO_LONG };
  const bytes = headBytes(url, request.rawHeaders);
  if (bytes < maxHeaderSize) return undefined;
  if (urlBytes < bytes - urlBytes) return { status: 431, message: FIELDS_TOO_LARGE };
  return { status: 431, message: request.method === 'GET' ? GET_URL_TOO_LARGE : URL_TOO_LARGE };
}

/** A head's size as node counts it: the URL, then each field name and value (`parts`, flat), in bytes. */
export function headBytes(url: string, parts: Iterable<string>): number {
  let bytes = Buffer.byteLength(url, 'latin1');
  for (const part of parts) bytes += Buffer.byteLength(part, 'latin1');
  return bytes;
}
