/**
 * One Authorization for a request of the typed client, whoever else named one.
 * fetch joins two header keys that differ in case only (`Authorization` and
 * `authorization`) into one header with both values (`Bearer old, Bearer new`),
 * which upstream refuses as no token it knows: UNAUTHENTICATED for every field.
 */
import { FIELD_VALUE, withoutFieldWhitespace } from '../client-contract.js';
import type { HeadersInit } from './fetch-types.js';

/** Every header among `headers`, in any form fetch takes, as name and value pairs (a name given several values: one pair each). */
export function headerPairs(headers: HeadersInit | undefined): Array<[string, string]> {
  if (!headers) return [];
  const pairs: Array<[string, string]> = [];
  // Headers' forEach rather than its iterator: a frontend's compiler settings may leave out DOM.Iterable.
  if (headers instanceof Headers) headers.forEach((value, name) => void pairs.push([name, value]));
  // As fetch reads headers (WebIDL's sequence before record): anything iterable is pairs, an array or another realm's or
  // library's Headers (a polyfill's, @whatwg-node's) or a Map, whose own keys, read as a record, were sent as headers.
  else if (Symbol.iterator in headers) for (const [name, value] of headers as Iterable<readonly [unknown, unknown]>) pairs.push([String(name), String(value)]);
  // undici's record may give a name several values (fetch sends each).
  else for (const [name, value] of Object.entries(headers)) pairs.push(...[value].flat().map((each): [string, string] => [name, String(each)]));
  return pairs;
}

/**
 * `headers`, in any form fetch takes, as the plain object graphql-sse needs, with
 * `authorization` as its only Authorization (any case of the name); every header of `headers` when `authorization` is
 * undefined. Spread as an object, a Headers gave `{}` (none of its headers sent) and an array of pairs headers named
 * `0`, `1`, …. A name given twice, in any case, has its values joined as fetch joins them: by `, `, a Cookie's by `; `.
 */
export function withAuthorization(headers: HeadersInit | undefined, authorization: string | undefined): Record<string, string> {
  const merged: Record<string, string> = {};
  /** The name each header went in under, by its lower case. */
  const named = new Map<string, string>();
  for (const [name, value] of headerPairs(headers)) {
    const lower = name.toLowerCase();
    if (authorization !== undefined && lower === 'authorization') continue;
    const first = named.get(lower);
    if (first === undefined) {
      named.set(lower, name);
      merged[name] = value;
    } else merged[first] = `${merged[first]}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (authorization !== undefined) merged['authorization'] = authorization;
  return merged;
}

/**
 * `authorization` as fetch would send it as a header (the spaces, tabs and line breaks around
 * it left out, WHATWG Fetch's "normalize"), or undefined when no HTTP header can carry it
 * (a control character, a line break inside it, a character past U+00FF: RFC 9110 §5.5),
 * which the gateway refuses over a WebSocket and fetch before sending anything.
 */
export function headerValue(authorization: string): string | undefined {
  const value = withoutFieldWhitespace(authorization);
  return FIELD_VALUE.test(value) ? value : undefined;
}

/**
 * `headers` in a form graphql-request reads as fetch would, and that can be read again: a record or a Headers of this
 * realm as given; any iterable of pairs (an array, a Map, a polyfill's or @whatwg-node's Headers, an iterator such as a
 * Map's `entries()`, which fetch takes) as a record, a name given twice joined as fetch joins it (`withAuthorization`).
 * graphql-request read an array one pair after another into an object, so of a name given twice in one case only the
 * last value went out, and any other iterable as a record of its own properties: a Map's headers went nowhere, its
 * Authorization included. An iterator gives its pairs once, so a second read found none.
 */
export function requestableHeaders(headers: HeadersInit | undefined): HeadersInit | undefined {
  if (!headers || headers instanceof Headers || !(Symbol.iterator in headers)) return headers;
  return withAuthorization(headers, undefined);
}

/** A name that begins as a credential does (`Bearer …`, `Basic …`), or is as long as one: name and value swapped. */
const CREDENTIAL_LIKE = /^(?:bearer|basic|token)\b/i;

/**
 * How a refusal names a header: `headers["x tenant"]`, or, for a name that may be a credential given in its place
 * (`[['Bearer s3cret', 'authorization']]`), its length only: the message is one a page logs and reports.
 */
function shownName(name: string): string {
  if (CREDENTIAL_LIKE.test(name) || name.length > 64) return `a header name of ${name.length} characters (not shown: it reads as a credential; name and value swapped?)`;
  return `headers[${JSON.stringify(name)}]`;
}

/** RFC 9110 §5.6.2's token: what a header's name may hold. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The TypeError, naming the header but never its value, for a header fetch cannot send (a name that is no token, or a
 * value no HTTP header can carry: a line break or control character inside it, a character past U+00FF), or undefined.
 * fetch's own refusal names no header ("Cannot convert argument to a ByteString…") or quotes the value whole.
 */
export function unsendableHeader(name: string, value: unknown): TypeError | undefined {
  if (!HEADER_NAME.test(name)) return new TypeError(`${shownName(name)} is no header name: a name is letters, digits and !#$%&'*+-.^_\`|~ only. Nothing was sent.`);
  if (headerValue(String(value)) !== undefined) return undefined;
  return new TypeError(
    `headers[${JSON.stringify(name)}] is not a valid header value: control characters (line breaks included) and characters past U+00FF are not allowed (encode the value, e.g. with encodeURIComponent). Nothing was sent.`,
  );
}
