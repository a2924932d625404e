/**
 * Reading a media type's parameters (RFC 9110 §8.3.1, §5.6.6), for both ends
 * of the gateway: the HTTP edge reads a request's Content-Type
 * (src/server/media-types.ts) and the upstream client a response's charset
 * (src/upstream/body-text.ts); the pipeline's plugins tell a form from its
 * Content-Type (`isFormPost`).
 */

/** Each parameter of a media type: name, then a token or a quoted string, which may hold `;`. */
const PARAMETER = /;\s*([^\s;=]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]*)\s*/g;

/** A `charset` parameter: its text as sent, where it starts in the parameters, and its label (unquoted and unescaped, as sent). */
export interface CharsetParameter {
  text: string;
  index: number;
  label: string;
}

/** The `charset` parameters (any case) of `parameters`, the media type from its first `;` on, in order. */
export function charsetParameters(parameters: string): CharsetParameter[] {
  const found: CharsetParameter[] = [];
  for (const { 0: text, 1: name, 2: value, index } of parameters.matchAll(PARAMETER)) {
    if (name!.toLowerCase() !== 'charset') continue;
    found.push({ text, index, label: value!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1') });
  }
  return found;
}

/**
 * `decide`, remembered per header value: a peer sends a handful of distinct
 * ones. At most 64 are kept, so a hostile stream of distinct headers only evicts.
 * `decide` never returns undefined (that reads as a miss).
 */
export function perHeaderValue<T>(decide: (value: string) => T): (value: string) => T {
  const decided = new Map<string, T>();
  return (value) => {
    let known = decided.get(value);
    if (known === undefined) {
      known = decide(value);
      if (decided.size >= 64) decided.clear();
      decided.set(value, known);
    }
    return known;
  };
}

/** A request's media type, lowercased, without parameters: the first entry when a client sent a list, as Yoga matches it. */
function mediaTypeOf(request: Request): string | undefined {
  return request.headers.get('content-type')?.split(',')[0]?.split(';')[0]?.trim().toLowerCase();
}

/** A POST whose body Yoga's parsers read as JSON (`application/json`, or its older name `application/graphql+json`). */
export function isJsonPost(request: Request): boolean {
  if (request.method !== 'POST') return false;
  const type = mediaTypeOf(request);
  return type === 'application/json' || type === 'application/graphql+json';
}

/** A POST whose body Yoga's parsers read as a form (`application/x-www-form-urlencoded`). */
export function isFormPost(request: Request): boolean {
  return request.method === 'POST' && mediaTypeOf(request) === 'application/x-www-form-urlencoded';
}
