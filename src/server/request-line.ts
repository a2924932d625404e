/**
 * What a request line node's parser (llhttp) refused says about the request,
 * so the edge can answer with the status RFC 9110 gives it rather than a bare
 * "malformed" 400. The parser is not made any more lenient: the request is
 * still refused, and its connection closed.
 *
 * - A method token llhttp does not know (`FOO /graphql HTTP/1.1`, a lowercase
 *   `get`: methods are case-sensitive) is an unrecognised method: 501 (RFC 9110
 *   §9.1, §15.6.2). Bytes that are no token at all (a TLS handshake sent to the
 *   cleartext port) stay a 400.
 * - A major version other than 1 is a 505 (RFC 9110 §15.6.6): `HTTP/3.0`
 *   (refused by llhttp), `HTTP/2.0` (which llhttp reads, so the edge refuses it
 *   by the request's version) and HTTP/2's connection preface (`PRI *
 *   HTTP/2.0`, h2 with prior knowledge, which this port does not speak).
 * - A minor version of 1 past 1.1 (`HTTP/1.2`) would be served as HTTP/1.1
 *   (RFC 9110 §2.5), but llhttp refuses it: still a 400, whose message names
 *   the version to send.
 * - A version that is no `HTTP/d.d` (`HTTP/1.10`, `HTTP/11`) or in another case
 *   (`http/1.1`, which llhttp reads as a URL running into a space): a 400 that says
 *   so; they were the bare "Malformed HTTP request.", and the lowercase one the
 *   advice to percent-encode spaces in the URL.
 *
 * Only the chunk of bytes the parser failed in is known (`rawPacket`): a request
 * line split across two TCP segments at the wrong place is a 400 as before.
 *
 * A request llhttp read whole in `HTTP/2.0` is refused by `versionRefusal`, before
 * anything else it says is looked at: its method (CONNECT, which node hands to
 * its own listener) and an upgrade (WebSocket, h2c) included.
 */
import { METHODS, type IncomingMessage } from 'node:http';
import { METHOD_NOT_IMPLEMENTED, minorVersionNotRead, versionCase, versionNotSupported, versionUnreadable } from '../errors.js';
import { TCHAR } from '../http-token.js';

/** The status and message of an answer to a request line node refused; undefined when it says nothing more than "malformed". */
export interface RequestLineRefusal {
  status: 400 | 501 | 505;
  message: string;
}

/**
 * The message of the 505 a request node's parser read in another major version gets (`HTTP/2.0`: llhttp reads it
 * in an HTTP/1 request line, and refuses 3.0 and up itself, above); undefined for HTTP/1.x and the versionless
 * HTTP/0.9 form. HTTP/2 is not spoken in that syntax (RFC 9110 §15.6.6): whatever the request asks for, its method
 * or an upgrade, it is not served. Checked first by each of node's paths: the request handler, 'connect' and 'upgrade'.
 */
export function versionRefusal(request: IncomingMessage): string | undefined {
  return request.httpVersionMajor > 1 ? versionNotSupported(request.httpVersion) : undefined;
}

/** A method is a token (RFC 9110 §9.1, §5.6.2). */
const METHOD = new RegExp(`^${TCHAR}+ \\S`);

/** A request line's version, and what precedes it: `method SP target SP HTTP/d.d`. */
const VERSION = /^\S+ \S+ HTTP\/(\d)\.(\d)\r?$/;

/** A request line whose third part is no `HTTP/d.d`, quoted back when short and printable: `HTTP/1.10`, `http/1.1`. */
const OTHER_VERSION = new RegExp(`^${TCHAR}+ \\S+ ([\\x21-\\x7e]{1,16})\\r?$`);

/** A version in any case: told apart from one that is no version at all. */
const VERSION_IN_ANY_CASE = /^http\/\d\.\d$/i;

/**
 * What node's parser error on a request line means, from its code and the bytes it failed in
 * (`rawPacket`, with the offset of the failure, `bytesParsed`); undefined for any other error.
 */
export function requestLineRefusal(error: NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: unknown }): RequestLineRefusal | undefined {
  if (error.code === 'HPE_PAUSED_H2_UPGRADE') return { status: 505, message: versionNotSupported('2.0') };
  if (error.code !== 'HPE_INVALID_METHOD' && error.code !== 'HPE_INVALID_VERSION' && error.code !== 'HPE_INVALID_CONSTANT') return undefined;
  if (!Buffer.isBuffer(error.rawPacket) || typeof error.bytesParsed !== 'number') return undefined;
  if (error.code === 'HPE_INVALID_METHOD') return unknownMethod(error.rawPacket, error.bytesParsed) ? { status: 501, message: METHOD_NOT_IMPLEMENTED } : undefined;
  const line = lineAt(error.rawPacket, error.bytesParsed);
  // llhttp's "Expected HTTP/" after the target: a space inside the URL (more parts than three, told by
  // ./malformed-http.ts), or a third part that is no version in its case.
  if (error.code === 'HPE_INVALID_CONSTANT') return otherVersion(line);
  const version = VERSION.exec(line);
  if (!version) return otherVersion(line);
  if (version[1] !== '1') return { status: 505, message: versionNotSupported(`${version[1]}.${version[2]}`) };
  return { status: 400, message: minorVersionNotRead(version[2]!) };
}

/** The 400 for a request line of three parts whose last is no `HTTP/d.d` as written; undefined for any other line. */
function otherVersion(line: string): RequestLineRefusal | undefined {
  const sent = OTHER_VERSION.exec(line)?.[1];
  // A third part that is no protocol name and slash (`GET /search?q=a b`, no version sent) is a URL's space: told so by
  // ./malformed-http.ts, where "b is no HTTP version" named a piece of the URL as if it were one.
  if (sent === undefined || !/^[A-Za-z]+\//.test(sent)) return undefined;
  return { status: 400, message: VERSION_IN_ANY_CASE.test(sent) ? versionCase(sent) : versionUnreadable(sent) };
}

/** A byte of a token (RFC 9110 §5.6.2). */
const TOKEN_BYTE = new RegExp(TCHAR);

/** A whole request line: `method SP target SP HTTP/d.d`. */
const REQUEST_LINE = new RegExp(`^${TCHAR}+ \\S+ HTTP/\\d\\.\\d\\r?$`);

/**
 * Whether the parser failed (at `offset` of `packet`) in a method token that starts a request line whose
 * method no one knows. The token is the run of token bytes around the failure. A request pipelined right
 * behind a Content-Length body starts mid-line (a body ends with no line feed of its own), so a token that
 * does not start its line counts only with the whole request line after it (it was a 400 there, and 501
 * alone); anything less there (the rest of a body longer than its Content-Length, read as the next
 * request), or a token that spells a method node knows, is not what the parser read as a method, and stays
 * "malformed".
 */
function unknownMethod(packet: Buffer, offset: number): boolean {
  const text = packet.toString('latin1');
  let start = Math.min(Math.max(offset, 0), text.length);
  while (start > 0 && TOKEN_BYTE.test(text[start - 1]!)) start--;
  const line = text.slice(start, text.indexOf('\n', start) === -1 ? text.length : text.indexOf('\n', start));
  const startsLine = start === 0 || text[start - 1] === '\n';
  return (startsLine ? METHOD : REQUEST_LINE).test(line) && !METHODS.includes(line.slice(0, line.indexOf(' ')));
}

/**
 * The line of `packet` holding byte `offset` (where the parser failed), without its line feed: the request line
 * of the request that failed, from its start when that is in this packet (a pipelined request starts after the
 * line feed of the one before). Read as latin1: one character a byte, whatever the bytes.
 */
function lineAt(packet: Buffer, offset: number): string {
  const text = packet.toString('latin1');
  const at = Math.min(Math.max(offset, 0), text.length);
  const start = at === 0 ? 0 : text.lastIndexOf('\n', at - 1) + 1;
  const end = text.indexOf('\n', at);
  return text.slice(start, end === -1 ? text.length : end);
}

/**
 * The fields of the head whose request line node refused (an unknown method, another version), as far as the
 * chunk it failed in holds them (`rawPacket`, `bytesParsed`): whole lines after the request line, up to the
 * empty line that ends the head. Names lowercased; a field sent twice keeps its first value. Empty for any
 * other error. The refusal's answer echoes the client's `x-request-id` and Origin from them, as every other
 * answer of the edge does: node parses no header of a request whose request line it refused.
 */
export function refusedHeadFields(error: NodeJS.ErrnoException & { rawPacket?: unknown; bytesParsed?: unknown }): Map<string, string> {
  const fields = new Map<string, string>();
  if (error.code !== 'HPE_INVALID_METHOD' && error.code !== 'HPE_INVALID_VERSION') return fields;
  if (!Buffer.isBuffer(error.rawPacket) || typeof error.bytesParsed !== 'number') return fields;
  const text = error.rawPacket.toString('latin1');
  let at = text.indexOf('\n', Math.min(Math.max(error.bytesParsed, 0), text.length));
  while (at !== -1) {
    const end = text.indexOf('\n', at + 1);
    // A line the chunk does not hold whole may be cut short: not read.
    if (end === -1) break;
    const line = text.slice(at + 1, end).replace(/\r$/, '');
    if (line === '') break;
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).toLowerCase();
      if (!fields.has(name)) fields.set(name, line.slice(colon + 1).trim());
    }
    at = end;
  }
  return fields;
}
