import Negotiator from 'negotiator';

/**
 * The edge puts two request headers in canonical form before any lane sees
 * them, so every handler and plugin reads them the same way:
 *
 * - `Content-Type`: media type names are case-insensitive (RFC 9110 §8.3.1);
 *   Yoga compares them case-sensitively, so `Application/JSON` was a 415. A
 *   charset other than UTF-8 is a 415: Yoga would read the bytes as UTF-8.
 * - `Accept`: Yoga takes the first acceptable entry in the order sent and ignores
 *   q-values; entries are put in order of preference (RFC 9110 §12.5.1), and a
 *   header that accepts nothing the gateway produces is refused before any work.
 */

/**
 * The Content-Type with its type and subtype lowercased, parameters as sent; or
 * null for a charset other than UTF-8, which Yoga would decode as UTF-8 anyway.
 */
export function canonicalContentType(value: string): string | null {
  const semicolon = value.indexOf(';');
  if (semicolon !== -1 && /;\s*charset\s*=\s*(?!"?utf-?8"?\s*(?:;|$))/i.test(value)) return null;
  const type = semicolon === -1 ? value : value.slice(0, semicolon);
  const lower = type.trim().toLowerCase();
  if (lower === type) return value;
  return semicolon === -1 ? lower : `${lower}${value.slice(semicolon)}`;
}

/**
 * What the gateway can answer with (GraphQL results, event streams, incremental
 * delivery, GraphiQL's page), each in UTF-8, the only charset Yoga sends.
 */
const PRODUCED = ['application/graphql-response+json', 'application/json', 'text/event-stream', 'multipart/mixed', 'text/html'].map(
  (type) => `${type}; charset=utf-8`,
);

/**
 * The Accept header to hand the pipeline, or null when it accepts nothing the
 * gateway produces (a 406 before any work). Decided by `negotiator` (jshttp's
 * RFC 9110 §12.5.1 negotiation: q-values, the most specific range, charset):
 *
 * - an entry with q=0 excludes what it names, even under a wildcard: the header
 *   becomes the acceptable types, in order of preference;
 * - otherwise the entries are put in order of preference, ties in the order
 *   sent: Yoga takes the first it can serve and ignores q-values.
 *
 * Remembered per header value: clients send a handful of distinct ones.
 */
export function acceptInPreferenceOrder(value: string): string | null {
  let known = decided.get(value);
  if (known === undefined) {
    known = decide(value);
    // A hostile stream of distinct headers only evicts.
    if (decided.size >= 64) decided.clear();
    decided.set(value, known);
  }
  return known;
}

const decided = new Map<string, string | null>();

function decide(value: string): string | null {
  // Yoga reads an empty Accept as */*.
  if (value.trim() === '') return value;
  const acceptable = new Negotiator({ headers: { accept: value } }).mediaTypes(PRODUCED);
  if (acceptable.length === 0) return null;
  const entries = value
    .split(',')
    .map((entry, index) => ({ entry: entry.trim(), index, quality: quality(entry) }))
    .filter(({ entry }) => entry !== '');
  if (entries.some(({ quality }) => quality === 0)) return acceptable.map((type) => type.slice(0, type.indexOf(';'))).join(', ');
  if (!/q\s*=/i.test(value)) return value;
  entries.sort((a, b) => b.quality - a.quality || a.index - b.index);
  return entries.map(({ entry }) => entry).join(', ');
}

/** The q parameter of one Accept entry (RFC 9110: 0 to 1, up to three decimals); 1 when absent or unreadable. */
function quality(entry: string): number {
  const match = /;\s*q\s*=\s*([^;\s]*)/i.exec(entry);
  return match && /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(match[1]!) ? Number(match[1]) : 1;
}
