/**
 * How deep upstream's free-form JSON may nest. GraphQL's serialisation and
 * JSON.stringify recurse, and V8 runs out of stack a few thousand levels
 * down: one such value in a payload or an event's `data` turned a whole
 * response into a masked 500 and stalled a live watch. A JSON field nested
 * deeper than MAX_JSON_DEPTH is served as null with a note (./fields.ts
 * readJson); values stored whole (Redis) go through `storedJson`, values
 * compared whole (the live pollers' change check) through
 * `comparedJson`. By hand: no JSON library bounds depth on values already parsed.
 */
import { exactJsonText, numberMark } from '../json-text.js';

/** Levels of objects and arrays a JSON field may nest (a scalar is level 0). */
export const MAX_JSON_DEPTH = 64;

/** True when `value` holds objects or arrays nested more than `limit` levels. Iterative: it must not recurse itself. */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const next = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    for (const child of Array.isArray(next) ? next : Object.values(next)) {
      if (child !== null && typeof child === 'object') {
        pending.push(child as object);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * A character JSON.stringify may write as an escape: `"`, `\\`, a control
 * character, a surrogate (paired ones are not, checked one by one). As the
 * characters it is not: V8 scans that class faster than the other way (README "Measured choices in the code").
 */
const MAY_ESCAPE = /[^ !#-[\]-\ud7ff\ue000-\uffff]/;

/**
 * How many characters `text` takes as JSON text, quotes included, as
 * JSON.stringify writes it: `"`, `\\` and \b \f \n \r \t take 2, any other
 * control character or a lone surrogate 6 (`\u0001`). Counted by its length
 * alone, a string of control characters made six times the response it was
 * counted for. One regular-expression scan for text with none of them.
 */
export function jsonTextLength(text: string): number {
  let length = text.length + 2;
  if (!MAY_ESCAPE.test(text)) return length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x22 || code === 0x5c || code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) length += 1;
    else if (code < 0x20) length += 5;
    else if (code >= 0xd800 && code <= 0xdfff) {
      if (code <= 0xdbff && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) index++;
      else length += 5;
    }
  }
  return length;
}

/**
 * Characters a scalar from JSON.parse takes as JSON text: a string as
 * `jsonTextLength`, a number as JSON.stringify writes it (`1e20` is 21), true,
 * false and null as written. Not one guess for all: 8 made `[0,0,…]` four times
 * its size, and one payload of small numbers, far under the body cap, was refused.
 */
function scalarTextLength(value: unknown): number {
  if (typeof value === 'string') return jsonTextLength(value);
  if (typeof value === 'number') return String(value).length;
  return value === false ? 5 : 4;
}

/**
 * How many characters `value` takes as JSON text, within a character (a comma
 * counted after each member and element), or -1 when it holds objects or arrays
 * nested more than `limit` levels. Iterative, like `nestedDeeperThan`, and one
 * walk for both: a JSON field is measured once, when first served (./fields.ts).
 */
export function jsonSizeWithin(value: unknown, limit: number): number {
  if (value === null || typeof value !== 'object') return scalarTextLength(value);
  const pending: object[] = [value];
  const depths: number[] = [1];
  let size = 0;
  while (pending.length > 0) {
    const next = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return -1;
    size += 2;
    const list = Array.isArray(next);
    for (const key in next) {
      const child = (next as Record<string, unknown>)[key];
      size += list ? 1 : jsonTextLength(key) + 2;
      if (child !== null && typeof child === 'object') {
        pending.push(child);
        depths.push(depth + 1);
      } else size += scalarTextLength(child);
    }
  }
  return size;
}

/**
 * JSON text of a value from upstream. As JSON.stringify, except that where the
 * value nests too deep for it, anything more than MAX_JSON_DEPTH levels below
 * a JSON field is left out (null): readJson refuses such a field whole, so no
 * reader of the text sees a different value than it would have served.
 */
export function upstreamJson(value: unknown): string {
  return stringified(value);
}

/**
 * JSON text of a value from upstream that reads back as the same value, for a
 * copy the gateway reads again (the Redis cache, live updates to other
 * replicas): as `upstreamJson`, with ±Infinity and -0 written as they were
 * read (`exactJsonText`). A field that was served as null with a note read
 * fresh was served as null without one from the copy, and a text field served
 * as "-0" was "0". Copies and comparisons only (`comparedJson`): every other
 * text of a value goes through `upstreamJson`.
 */
export function storedJson(value: unknown): string {
  return exactJsonText(value, stringified);
}

/**
 * Levels below the value given that `comparedJson` writes; anything deeper is
 * left out (null). Past MAX_JSON_DEPTH, so every JSON field the gateway can
 * serve is compared whole. Short of where `storedJson` cuts a copy that nests
 * too deep for JSON.stringify (MAX_JSON_DEPTH + 8 levels below the copy's root)
 * for a value up to 5 levels into the copy (in a live delta, `set` is 2 levels
 * in, each of its `events` 3): such a copy and its original give the same text.
 */
export const COMPARED_DEPTH = MAX_JSON_DEPTH + 4;

/**
 * Text that tells two readings of a value apart: the live pollers' change check
 * (src/live/poller.ts) and the identity of an event without an id
 * (src/live/append-order.ts). As `storedJson`, ±Infinity and null differ, and so do -0 and 0.
 * Unlike it, anything more than COMPARED_DEPTH levels down is always left out
 * (null), not only where JSON.stringify runs out of stack: that depends on the
 * stack it is called from and on what V8 has compiled so far (a value 3,000
 * levels deep was written whole from one call and cut from a deeper one), and
 * a replica's own reading and the holder's copy of it through Redis, cut,
 * differed: watchers got updates with nothing new, and an event without an id
 * came twice. So the same value always gives the same text, and so does its
 * copy. For comparing only: ±Infinity and -0 are written as markers, not JSON numbers.
 */
export function comparedJson(value: unknown): string {
  // The holders from the root's down to the one being written: JSON.stringify walks depth first, so a call's
  // holder is on this path, and whatever is below it on the path was left. A value is `path.length` levels down.
  const path: unknown[] = [];
  const text = JSON.stringify(value, function (this: unknown, _key, child: unknown) {
    while (path.length > 0 && path[path.length - 1] !== this) path.pop();
    if (path.length === 0) path.push(this);
    if (path.length > COMPARED_DEPTH) return null;
    if (child !== null && typeof child === 'object') path.push(child);
    else return numberMark(child) ?? child;
    return child;
  }) as string | undefined;
  return text ?? 'undefined';
}

/** JSON.stringify with `map` applied to each value, cut MAX_JSON_DEPTH levels below a field where it nests too deep for it (upstreamJson). */
function stringified(value: unknown, map?: (child: unknown) => unknown): string {
  try {
    return map ? JSON.stringify(value, (_key, child: unknown) => map(child)) : JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    // Depth of each object met so far; the value itself is at depth 1.
    const depths = new Map<unknown, number>();
    // A field sits a few levels into what is stored (events[i].data): the bound leaves room for that.
    const bound = MAX_JSON_DEPTH + 8;
    return JSON.stringify(value, function (this: unknown, _key, child: unknown) {
      const depth = (depths.get(this) ?? 0) + 1;
      if (depth > bound) return null;
      if (child !== null && typeof child === 'object') depths.set(child, depth);
      return map ? map(child) : child;
    });
  }
}
