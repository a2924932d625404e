/**
 * Header fields the gateway acts on that are no list, sent more than once.
 *
 * RFC 9110 §5.3: a sender must not repeat a field whose value is not a list. Node
 * keeps the first line of a repeated `Authorization`, `Content-Type` or `Host` and
 * drops the rest without a word, so a request with two credentials was served with
 * the first, where a proxy in front (which authenticated, rate-limited or logged the
 * caller) may have read the other; and a body labelled twice was parsed by the first
 * label. Such a request is ambiguous: the edge refuses it (400, BAD_REQUEST) on every
 * method and lane, and the WebSocket edge refuses such an upgrade alike. `Host` has
 * its own message (./http-edge.ts `hostProblem`).
 *
 * Fields node joins with ", " (Origin, Accept, x-request-id, traceparent …) need
 * nothing here: each reader already refuses or ignores the joined value. Two
 * Content-Length lines are node's own 400 (malformed), even when equal.
 */
import type { IncomingMessage } from 'node:http';

/** The fields refused when repeated, lowercase, with their spelling in messages. */
const SINGLE = new Map([
  ['authorization', 'Authorization'],
  ['content-type', 'Content-Type'],
]);

/** How many field lines named `name` (lowercase) the request carried, from node's `rawHeaders`. */
export function fieldLines(request: IncomingMessage, name: string): number {
  const raw = request.rawHeaders;
  let lines = 0;
  for (let index = 0; index < raw.length; index += 2) if (raw[index]!.length === name.length && raw[index]!.toLowerCase() === name) lines++;
  return lines;
}

/**
 * The first field of SINGLE the request carried more than once, as spelled in messages ("Authorization"); undefined when
 * none was. One pass over `rawHeaders`, which node keeps whole (duplicates included) whatever it drops from `headers`.
 */
export function repeatedField(request: IncomingMessage): string | undefined {
  const raw = request.rawHeaders;
  let seen: Set<string> | undefined;
  for (let index = 0; index < raw.length; index += 2) {
    const length = raw[index]!.length;
    // Only names of the right lengths are lowercased: nearly every request pays a comparison of numbers per field.
    if (length !== 13 && length !== 12) continue;
    const name = raw[index]!.toLowerCase();
    if (!SINGLE.has(name)) continue;
    if (seen?.has(name)) return SINGLE.get(name);
    (seen ??= new Set()).add(name);
  }
  return undefined;
}
