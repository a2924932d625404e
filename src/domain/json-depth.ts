/**
 * How deep upstream's free-form JSON may nest. GraphQL's serialisation and
 * JSON.stringify recurse, and V8 runs out of stack a few thousand levels
 * down: one such value in a payload or an event's `data` turned a whole
 * response into a masked 500 and stalled a live watch. A JSON field nested
 * deeper than MAX_JSON_DEPTH is served as null with a note (./fields.ts
 * readJson); values stored or compared whole (the live pollers' change check,
 * Redis) go through `upstreamJson`. By hand: no JSON library bounds depth on
 * values already parsed.
 */

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
 * About how many characters `value` takes as JSON text (strings and keys by
 * their length, every other scalar as 8), or -1 when it holds objects or arrays
 * nested more than `limit` levels. Iterative, like `nestedDeeperThan`, and one
 * walk for both: a JSON field is measured once, when first served (./fields.ts).
 */
export function jsonSizeWithin(value: unknown, limit: number): number {
  if (typeof value === 'string') return value.length + 2;
  if (value === null || typeof value !== 'object') return 8;
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
      size += list ? 1 : key.length + 4;
      if (typeof child === 'string') size += child.length + 2;
      else if (child !== null && typeof child === 'object') {
        pending.push(child);
        depths.push(depth + 1);
      } else size += 8;
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
  try {
    return JSON.stringify(value);
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
      return child;
    });
  }
}
