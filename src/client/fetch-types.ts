/**
 * The fetch types the typed client names, taken from the global `RequestInit` and `fetch`
 * rather than named as the DOM library names them (`HeadersInit`, `RequestInfo`): a
 * frontend compiles with the DOM library, a Node script often without it (`lib: ["ES2022"]`,
 * `types: ["node"]`), where @types/node declares `fetch`, `RequestInit` and `Headers` from
 * undici-types but no `HeadersInit` or `RequestInfo`. Each alias is then the DOM's type in a
 * browser project (the DOM's `RequestInit` wins when both are there) and undici's in Node's.
 */

/** What fetch takes as headers: a Headers, an array of [name, value] pairs, or a record of names to values. */
export type HeadersInit = NonNullable<RequestInit['headers']>;

/** What fetch takes as its first argument: a URL string, a URL, or a Request. */
export type FetchInput = Parameters<typeof fetch>[0];
