/**
 * The request id used for tracing: the client's `x-request-id` when it is a
 * short printable token, otherwise a new UUID. The HTTP edge assigns it once per
 * request (src/server/http-edge.ts) and everything else reads it from there:
 * the context, upstream calls and the response header.
 */
import { randomUUID } from 'node:crypto';

const SENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The request's id: `sent` (the client's `x-request-id`, as node's headers or a fetch Headers give it) when it is 1 to
 * 128 letters, digits, `.`, `_`, `:` or `-`, else a new UUID. Sent twice, both give the two joined (`a, b`), which is
 * no id: a new one is made. (An array, as node's `headersDistinct` gives one, counts by its first.)
 */
export function requestIdFor(sent: string | readonly string[] | null | undefined): string {
  const first = typeof sent === 'string' ? sent : sent?.[0];
  return first && SENT_REQUEST_ID.test(first) ? first : randomUUID();
}
