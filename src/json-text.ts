/**
 * A JSON text without the UTF-8 byte order mark it may begin with. RFC 8259
 * §8.1: a JSON text must not start with one, but a parser may ignore it, and
 * Windows tools write one (PowerShell 5's `-Encoding UTF8`, Notepad's
 * "UTF-8 with BOM"); JSON.parse refuses it. One character compared: a text
 * without the mark is returned as it is.
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
