/**
 * The edge puts two request headers in canonical form before any lane sees
 * them, so every handler and plugin reads them the same way:
 *
 * - `Content-Type`: media type names are case-insensitive (RFC 9110 §8.3.1);
 *   Yoga compares them case-sensitively, so `Application/JSON` was a 415.
 * - `Accept`: Yoga takes the first acceptable entry in the order sent and ignores
 *   q-values; entries are put in order of preference (RFC 9110 §12.5.1), ties in
 *   the order sent, and those with q=0 (not acceptable) are dropped.
 */

/** The Content-Type with its type and subtype lowercased; parameters as sent. */
export function canonicalContentType(value: string): string {
  const semicolon = value.indexOf(';');
  const type = semicolon === -1 ? value : value.slice(0, semicolon);
  const lower = type.trim().toLowerCase();
  if (lower === type) return value;
  return semicolon === -1 ? lower : `${lower}${value.slice(semicolon)}`;
}

/**
 * The Accept entries in order of preference, or null when every entry has q=0
 * (the client accepts nothing the gateway can send). A header without q-values
 * is returned as it is.
 */
export function acceptInPreferenceOrder(value: string): string | null {
  if (!value.includes('q=') && !value.includes('Q=')) return value;
  const entries = value
    .split(',')
    .map((entry, index) => ({ entry: entry.trim(), index, quality: quality(entry) }))
    .filter(({ entry, quality }) => entry !== '' && quality > 0);
  if (entries.length === 0) return null;
  entries.sort((a, b) => b.quality - a.quality || a.index - b.index);
  return entries.map(({ entry }) => entry).join(', ');
}

/** The q parameter of one Accept entry (RFC 9110: 0 to 1, up to three decimals); 1 when absent or unreadable. */
function quality(entry: string): number {
  const match = /;\s*q\s*=\s*([^;\s]*)/i.exec(entry);
  return match && /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(match[1]!) ? Number(match[1]) : 1;
}
