/**
 * Re-encodes an ISO-8859-1 body as UTF-8, the only charset Yoga reads, before
 * any lane sees it (./media-types.ts decides which bodies need it). By hand:
 * no library re-encodes a form's percent-escapes, which URLSearchParams always
 * decodes as UTF-8.
 */
import { decodeWindows1252 } from '../windows-1252.js';

/**
 * `body`, declared ISO-8859-1 (read as windows-1252: ../windows-1252.ts), as UTF-8 bytes. A form
 * (`application/x-www-form-urlencoded`, the lowercased `header`) is ASCII on
 * the wire: its percent-escapes name ISO-8859-1 bytes and are re-escaped as
 * UTF-8 (`%E9` becomes `%C3%A9`). Any other body, and any raw byte over 0x7F
 * in a form, is decoded and re-encoded as it is.
 */
export function bodyAsUtf8(body: Buffer, header: string): Buffer {
  const text = decodeWindows1252(body);
  if (!header.startsWith('application/x-www-form-urlencoded')) return Buffer.from(text, 'utf8');
  // Escapes are ASCII, which decoding leaves as they were.
  const reescaped = text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => encodeURIComponent(decodeWindows1252(Buffer.from(escapes.replace(/%/g, ''), 'hex'))));
  return Buffer.from(reescaped, 'utf8');
}
