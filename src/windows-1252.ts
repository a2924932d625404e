/**
 * Bytes as windows-1252, which the WHATWG Encoding Standard reads the labels
 * `iso-8859-1`, `latin1`, `us-ascii` and `windows-1252` as, as browsers do.
 * By hand: Node's TextDecoder reads 0x80-0x9F under those labels as C1 controls
 * from 20.18.3 on (nodejs/node#60888), and iconv-lite makes five of them U+FFFD.
 */

/**
 * What windows-1252 makes of 0x80-0x9F, the only bytes where it is not ISO-8859-1 proper: the standard's
 * index-windows-1252, whose five undefined bytes (0x81, 0x8D, 0x8F, 0x90, 0x9D) stand for themselves.
 */
const C1_BYTES =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

/** `bytes` as text: 0x80-0x9F by the table above, every other byte the code point of its value. */
export function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/[\x80-\x9f]/g, (char) => C1_BYTES[char.charCodeAt(0) - 0x80]!);
}
