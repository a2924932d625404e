/**
 * An upstream body's bytes as text, in the charset they are in. JSON is UTF-8
 * (RFC 8259 §8.1), and upstream documents it; but a body in UTF-16 (with its
 * byte-order mark, or labelled `charset=utf-16le`) or in ISO-8859-1 was read
 * as UTF-8 whatever it said: UTF-16 was no JSON at all, and the whole
 * execution was lost (UPSTREAM_BAD_RESPONSE); ISO-8859-1 lost every accented
 * letter to U+FFFD.
 *
 * Read as the WHATWG Encoding Standard reads a resource (TextDecoder, which
 * Node ships with every label): a byte-order mark first (UTF-8, UTF-16LE,
 * UTF-16BE), whatever the label says; then JSON's own sign, a NUL in its first
 * two bytes (a JSON text starts with an ASCII character: `7B 00` is UTF-16LE,
 * `00 7B` UTF-16BE; RFC 4627 §3); then the Content-Type's `charset`, read as
 * WHATWG labels are (`iso-8859-1` and `latin1` are windows-1252, `utf-16` is
 * UTF-16LE), except that bytes labelled in a legacy charset that are valid
 * UTF-8 are read as UTF-8 (a mislabelled server, below), and bytes labelled
 * UTF-16 that JSON's sign says are not are read as UTF-8; else UTF-8. A label
 * TextDecoder does not know is read as UTF-8 too, and said so
 * (`unknownCharset`: the schema notes it on the execution).
 * In every case a malformed sequence becomes U+FFFD, never a failure.
 */
import { charsetParameters, perHeaderValue } from '../media-type.js';
import { decodeWindows1252 } from '../windows-1252.js';

/** The body as text, and the charset label it declared when the gateway does not know it (its first 64 characters). */
export interface DecodedText {
  text: string;
  unknownCharset?: string;
}

/** Characters of an unknown label kept for the note and the log: enough for any real one. */
const MAX_LABEL_LENGTH = 64;

/** What a Content-Type says of the body's charset: an encoding TextDecoder reads, or a label it does not know. */
type Declared = { encoding: string } | { unknown: string };

const UTF8: Declared = { encoding: 'utf-8' };

/** The charset a Content-Type declares, decided once per header value (upstream sends one or two). */
const declaredBy = perHeaderValue(charsetOf);

function declared(contentType: string | undefined): Declared {
  // The documented `application/json`, and no header: UTF-8, with no parameter to read.
  return contentType === undefined || !contentType.includes(';') ? UTF8 : declaredBy(contentType);
}

function charsetOf(contentType: string): Declared {
  const first = charsetParameters(contentType)[0];
  const label = first?.label.trim();
  // No charset, or `charset=` naming nothing: as if absent.
  if (!label) return UTF8;
  try {
    return { encoding: new TextDecoder(label).encoding };
  } catch {
    return { unknown: label.slice(0, MAX_LABEL_LENGTH) };
  }
}

/**
 * `buffer` in `encoding`, one leading byte-order mark of that encoding dropped and each malformed sequence
 * U+FFFD; UTF-8 by Buffer's decoder (the same text as TextDecoder's and undici's `body.text()`, faster), and
 * windows-1252 (`iso-8859-1`, `latin1`) by ../windows-1252.ts, which TextDecoder reads wrong on this Node.
 */
function decode(buffer: Buffer, encoding: string): string {
  if (encoding === 'utf-8') {
    const start = buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
    return buffer.toString('utf8', start);
  }
  if (encoding === 'windows-1252') return decodeWindows1252(buffer);
  return new TextDecoder(encoding).decode(buffer);
}

/** Encodings whose label is taken at its word: the body is in one of them or is not readable at all. */
const UNICODE = new Set(['utf-8', 'utf-16le', 'utf-16be']);

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The bytes as text when they are valid UTF-8 (a byte-order mark dropped), else undefined. */
function validUtf8(buffer: Buffer): string | undefined {
  try {
    return strictUtf8.decode(buffer);
  } catch {
    return undefined;
  }
}

/** The encoding the body's first bytes name (a byte-order mark, or JSON's NUL pattern), if they name one. */
function sniffed(buffer: Buffer): string | undefined {
  if (buffer.length < 2) return undefined;
  const [first, second] = [buffer[0]!, buffer[1]!];
  if (first === 0xef && second === 0xbb && buffer[2] === 0xbf) return 'utf-8';
  if ((first === 0xff && second === 0xfe) || (first !== 0 && second === 0)) return 'utf-16le';
  if ((first === 0xfe && second === 0xff) || (first === 0 && second !== 0)) return 'utf-16be';
  return undefined;
}

/** The body as text: by its byte-order mark, else its first bytes, else its declared charset, else UTF-8 (see above). */
export function decodeBody(buffer: Buffer, contentType: string | undefined): DecodedText {
  const byBytes = sniffed(buffer);
  if (byBytes !== undefined) return { text: decode(buffer, byBytes) };
  const charset = declared(contentType);
  // Past `sniffed`, two bytes without a NUL or a mark are no JSON text in UTF-16 (its first character is ASCII): a
  // UTF-16 label on them is wrong, and read at its word the body was no JSON at all (UPSTREAM_BAD_RESPONSE).
  if ('encoding' in charset && charset.encoding.startsWith('utf-16') && buffer.length >= 2) return { text: decode(buffer, 'utf-8') };
  if ('encoding' in charset) {
    // A legacy label on bytes that are valid UTF-8 is a server mislabelling JSON's own encoding (common:
    // servlet containers' ISO-8859-1 default); text in those charsets with any letter past ASCII is almost
    // never valid UTF-8. ASCII reads the same either way.
    if (!UNICODE.has(charset.encoding)) {
      const utf8 = validUtf8(buffer);
      if (utf8 !== undefined) return { text: utf8 };
    }
    return { text: decode(buffer, charset.encoding) };
  }
  return { text: decode(buffer, 'utf-8'), unknownCharset: charset.unknown };
}
