import Negotiator from 'negotiator';
import { charsetParameters, perHeaderValue } from '../media-type.js';

/**
 * The edge puts two request headers in canonical form before any lane sees
 * them, so every handler and plugin reads them the same way:
 *
 * - `Content-Type`: media type names are case-insensitive (RFC 9110 §8.3.1);
 *   Yoga compares them case-sensitively, so `Application/JSON` was a 415. Its
 *   charset says how the body is read, or that it cannot be (a 415).
 * - `Accept`: Yoga takes the first acceptable entry in the order sent and ignores
 *   q-values; entries are put in order of preference (RFC 9110 §12.5.1), and a
 *   header that accepts nothing the gateway produces is refused before any work.
 */

/**
 * How the pipeline must read a body, by its declared charset. Yoga reads every
 * body as UTF-8:
 * - `utf-8` (or none, as RFC 8259 §8.1 requires of JSON) and `us-ascii`, a subset
 *   of it, are read as sent;
 * - `iso-8859-1` (what Java's HTTP clients declare by default) is re-encoded as
 *   UTF-8 first (./body-charset.ts): read as UTF-8, an `é` would become U+FFFD;
 * - anything else (UTF-16, Shift_JIS) is a 415.
 */
const CHARSETS = new Map<string, BodyCharset>([
  ['utf-8', 'utf-8'],
  ['utf8', 'utf-8'],
  ['us-ascii', 'utf-8'],
  ['ascii', 'utf-8'],
  ['iso-8859-1', 'iso-8859-1'],
  ['iso8859-1', 'iso-8859-1'],
  ['latin1', 'iso-8859-1'],
]);

export type BodyCharset = 'utf-8' | 'iso-8859-1';

/** A request's Content-Type as the pipeline sees it, and how its body's bytes must be read. */
export interface ReadableContentType {
  /** Type and subtype lowercased, parameters as sent, except a charset the edge re-encodes, which becomes `utf-8`. */
  readonly header: string;
  /** `iso-8859-1`: the edge re-encodes the body as UTF-8 before any lane reads it. */
  readonly charset: BodyCharset;
}

/**
 * The Content-Type in canonical form, or null for a charset the gateway cannot
 * read or a list of media types (a 415). Remembered per header value.
 */
export const readableContentType: (value: string) => ReadableContentType | null = perHeaderValue(canonicalContentType);

/**
 * Whether a Content-Type holding a comma is a list of media types: a comma outside its quoted strings, or after a
 * quote never closed. No media type is a list (RFC 9110 §8.3); it is what a proxy that joins repeated fields makes of
 * two Content-Type lines. The pipeline read the first entry, where a filter in front may have judged the body by the
 * last; two lines are a 400 (./repeated-fields.ts). A scan, not a regular expression, which a quote never closed
 * would cost time in the square of its length.
 */
function isList(value: string): boolean {
  let quoted = false;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (quoted && code === 0x5c) index++;
    else if (code === 0x22) quoted = !quoted;
    else if (!quoted && code === 0x2c) return true;
  }
  return quoted;
}

function canonicalContentType(value: string): ReadableContentType | null {
  if (value.includes(',') && isList(value)) return null;
  const semicolon = value.indexOf(';');
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  if (semicolon === -1) return { header: type, charset: 'utf-8' };
  const parameters = value.slice(semicolon);
  const declared = charsetParameters(parameters);
  if (declared.length === 0) return { header: `${type}${parameters}`, charset: 'utf-8' };
  // Two charsets contradict each other, or say the same twice: either way, not something to guess at.
  if (declared.length > 1) return null;
  const { text, index, label } = declared[0]!;
  const charset = CHARSETS.get(label.toLowerCase());
  if (charset === undefined) return null;
  if (charset === 'utf-8') return { header: `${type}${parameters}`, charset };
  return { header: `${type}${parameters.slice(0, index)}; charset=utf-8${parameters.slice(index + text.length)}`, charset };
}

/**
 * The media types of the bodies the pipeline parses: Yoga's request parsers' (JSON, under
 * either name, the query alone and forms; multipart is off, src/pipeline/gateway.ts).
 */
const PARSED = ['application/json', 'application/graphql+json', 'application/graphql', 'application/x-www-form-urlencoded'];

/**
 * Whether a POST with this Content-Type (as the edge hands it on, ./readableContentType) is read
 * by a request parser; when not, the pipeline answers 415 without reading the body. Matched as
 * Yoga matches it: the first entry of the header, the type alone or followed by parameters.
 */
export function pipelineParses(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const first = contentType.split(',')[0]!;
  return PARSED.some((type) => first === type || first.startsWith(`${type};`));
}

/**
 * What the gateway can answer with (GraphQL results, event streams, incremental
 * delivery, GraphiQL's page), each in UTF-8, the only charset Yoga sends. In
 * Yoga's order for a wildcard, which gets application/json.
 */
export const PRODUCED = ['application/json', 'application/graphql-response+json', 'text/event-stream', 'multipart/mixed', 'text/html'].map(
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
 * Remembered per header value.
 */
export const acceptInPreferenceOrder: (value: string) => string | null = perHeaderValue((value) => decide(value, PRODUCED));

/** What a POST can be answered with: PRODUCED but GraphiQL's page, which only a GET gets. */
const PRODUCED_BY_POST = PRODUCED.filter((type) => !type.startsWith('text/html'));

/**
 * `acceptInPreferenceOrder` for a POST, which is never answered with GraphiQL's page: an Accept that takes only
 * `text/html` is null (a 406 before any work). Taken as acceptable, the operation ran, upstream calls included,
 * for Yoga's 406 at the end.
 */
export const postAcceptInPreferenceOrder: (value: string) => string | null = perHeaderValue((value) => decide(value, PRODUCED_BY_POST));

/** A q parameter whose value is a qvalue (RFC 9110 §12.4.2: 0 to 1, up to three decimals). */
const READABLE_Q = /^\s*q\s*=\s*(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i;

/**
 * The header with each entry's parameters reduced to q and charset, the only
 * ones Yoga reads: negotiator would require any other (`deferSpec=20220824`
 * on multipart/mixed, say) of the type offered. An unreadable q (`q=abc`) is
 * dropped, so the entry counts as q=1, as `quality` reads it: negotiator read
 * it as weight NaN, which excluded the type (a 406 for `application/json;q=abc`).
 */
function negotiable(value: string): string {
  return value
    .split(',')
    .map((entry) => {
      const [type = '', ...parameters] = entry.split(';');
      const kept = parameters.filter((parameter) => /^\s*charset\s*=/i.test(parameter) || READABLE_Q.test(parameter));
      return [type, ...kept].join(';');
    })
    .join(',');
}

function decide(sent: string, produced: readonly string[]): string | null {
  // Yoga reads an empty Accept as */*.
  if (sent.trim() === '') return sent;
  // Yoga compares `charset=utf-8` as text: a quoted value (`charset="utf-8"`) would match nothing.
  const value = sent.replace(/(;\s*(?:q|charset)\s*=\s*)"([^"]*)"/gi, '$1$2');
  const acceptable = new Negotiator({ headers: { accept: negotiable(value) } }).mediaTypes([...produced]);
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
