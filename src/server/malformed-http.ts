/**
 * What a request node's parser (llhttp) refused as malformed is told, past its request line's method and version
 * (./request-line.ts): "Malformed HTTP request.", as before, then what was wrong and what to send instead, for the
 * mistakes a hand-written client or a proxy in front makes. Each was the bare sentence alone, which told a client
 * that sent `Content-Length` beside `Transfer-Encoding: chunked`, or a header name with a space in it, nothing it
 * could act on. The parser is not made any more lenient: the request is still refused, and its connection closed.
 * Bytes that are no HTTP at all (TLS on the cleartext port) keep the bare sentence.
 */

/** The first sentence of every such answer, and the whole of it where nothing more is known. */
export const MALFORMED_HTTP = 'Malformed HTTP request.';

/** The body's length given twice or unreadably (RFC 9112 §6.3: a request smuggled past a proxy reads it otherwise). */
export const MALFORMED_FRAMING = `${MALFORMED_HTTP} Its body's length is given twice or cannot be read (Content-Length beside Transfer-Encoding, Content-Length more than once, or not in digits): send one Content-Length in decimal digits, or Transfer-Encoding: chunked alone (RFC 9112 §6.3).`;

/** A chunked body whose chunks are not framed as RFC 9112 §7.1 says. */
export const MALFORMED_CHUNKS = `${MALFORMED_HTTP} Its chunked body is malformed: send each chunk as its size in hexadecimal digits, CRLF, that many bytes and CRLF, and end with a chunk of size 0 and an empty line (RFC 9112 §7.1).`;

/** A header line llhttp does not read (RFC 9110 §5.1, §5.5; RFC 9112 §5.2 for a folded line). */
export const MALFORMED_HEADER_LINE = `${MALFORMED_HTTP} A header line is malformed (a space or separator in its name, a control character in its value, or a value folded onto the next line): send each field as its name, a colon and its value on one line ending in CRLF (RFC 9112 §5).`;

/** A request line whose target holds what a URL cannot (a space, a control character). */
export const MALFORMED_REQUEST_LINE = `${MALFORMED_HTTP} Its request line is not a method, a URL and the version, separated by single spaces: percent-encode any space or control character in the URL (RFC 9112 §3).`;

/** A head whose lines end in a bare LF or CR (a hand-written client's `\n`), which llhttp does not read. */
export const MALFORMED_LINE_ENDS = `${MALFORMED_HTTP} A line of its head does not end in CRLF (a bare LF or CR): end the request line and each header line with CRLF, and the head with an empty line, CRLF (RFC 9112 §2.2).`;

/** A chunked body's trailer field llhttp does not read, after its last chunk (RFC 9112 §7.1.2). */
export const MALFORMED_TRAILERS = `${MALFORMED_HTTP} A trailer field after its chunked body's last chunk is malformed: after the chunk of size 0 and its CRLF, send each trailer field as its name, a colon and its value on one line ending in CRLF, then an empty line (RFC 9112 §7.1.2), or no trailer fields at all.`;

const HEAD_MESSAGES: ReadonlyMap<string, string> = new Map([
  ['HPE_CR_EXPECTED', MALFORMED_LINE_ENDS],
  ['HPE_LF_EXPECTED', MALFORMED_LINE_ENDS],
  ['HPE_INVALID_TRANSFER_ENCODING', MALFORMED_FRAMING],
  ['HPE_UNEXPECTED_CONTENT_LENGTH', MALFORMED_FRAMING],
  ['HPE_INVALID_CONTENT_LENGTH', MALFORMED_FRAMING],
  ['HPE_INVALID_HEADER_TOKEN', MALFORMED_HEADER_LINE],
  ['HPE_INVALID_URL', MALFORMED_REQUEST_LINE],
  ['HPE_INVALID_CONSTANT', MALFORMED_REQUEST_LINE],
]);

/** The errors llhttp gives a chunked body's framing while it arrives. */
const CHUNK_ERRORS: ReadonlySet<string> = new Set(['HPE_INVALID_CHUNK_SIZE', 'HPE_STRICT', 'HPE_CR_EXPECTED', 'HPE_LF_EXPECTED']);

/**
 * The message of the 400 for node's parse error `code`; `inBody`: it came while the body of a request whose head
 * was taken was arriving (only a chunked body is parsed: its chunks, or its trailer fields). `reason` is llhttp's
 * own words: in a body, only a trailer field's errors speak of a header ("Invalid header field char", "Missing
 * expected CR after header value"), where a chunk's speak of a chunk; a trailer line ending in a bare LF was told
 * the chunks' advice, and any other malformed trailer the bare sentence.
 */
export function malformedMessage(code: string | undefined, inBody: boolean, reason?: string): string {
  if (code === undefined) return MALFORMED_HTTP;
  if (inBody && (code === 'HPE_INVALID_HEADER_TOKEN' || /\bheader\b/i.test(reason ?? ''))) return MALFORMED_TRAILERS;
  if (inBody) return CHUNK_ERRORS.has(code) ? MALFORMED_CHUNKS : MALFORMED_HTTP;
  return code === 'HPE_INVALID_CHUNK_SIZE' ? MALFORMED_CHUNKS : (HEAD_MESSAGES.get(code) ?? MALFORMED_HTTP);
}
