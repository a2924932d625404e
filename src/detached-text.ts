/**
 * A copy of `text` that keeps no other string alive. V8 makes a slice of 13
 * characters or more point into the string it was cut from, and a
 * concatenation into its parts: an execution id read from a query's text (a
 * literal, on graphql-js) is a slice of that text, so a table that outlives the
 * request and keeps the id, or a key made from it, keeps the whole request
 * text (up to MAX_REQUEST_BODY_BYTES). For text going into such tables, or
 * onto spans that wait to be exported.
 *
 * Through JSON, which keeps lone surrogates (a Buffer's UTF-8 would replace
 * them); O(length), so made when an entry is, not on each lookup.
 */
export function detached(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}
