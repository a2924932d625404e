/**
 * A watch's events in the order they reached the gateway. Upstream documents
 * its list in chronological order (createdAt ascending: openapi.yaml,
 * `ExecutionData.events`), so an event that reaches it late, with an earlier
 * `createdAt` than events it already listed, is inserted before them rather
 * than appended. A watch walks the list by position (src/live/live-executions.ts,
 * and the Redis deltas of src/shared-state/live-leases.ts): read as it is, that
 * list made the watch deliver again the event pushed to the end and never
 * deliver the inserted one. Each reading is therefore laid over the previous
 * one: the events already read keep their places, and the events new to this
 * reading follow them, in upstream's order.
 */
import { isObject } from '../domain/execution.js';
import { comparedJson } from '../domain/json-depth.js';
import { numberText } from '../domain/number-text.js';

/**
 * What tells two readings' events apart: upstream's id when it sent a usable
 * one (a non-empty string, or a finite number), else the whole entry as JSON
 * text (`comparedJson`: an entry without an id has no other identity).
 * Prefixed so an id can never equal an entry's JSON.
 */
function identity(entry: unknown): string {
  if (isObject(entry)) {
    const id = entry.id;
    if (typeof id === 'string' && id !== '') return `i${id}`;
    if (typeof id === 'number' && Number.isFinite(id)) return `i${numberText(id)}`;
  }
  // comparedJson: the same entry, read from upstream or from the lease holder's copy, has the same identity.
  return `j${comparedJson(entry)}`;
}

/**
 * `current`'s events in the order the watch reads them: `current` itself when
 * it extends `previous` (the common case: see `keepsPlaces`), else `previous` followed by the events of `current`
 * that `previous` does not hold (each occurrence of an id counted apart; where `current` holds an id more often,
 * the new occurrences are those whose entry `previous` does not hold), in
 * `current`'s order; `previous` itself when there are none (upstream reordered
 * events it already listed, e.g. events of the same `createdAt`). Events
 * `previous` holds and `current` no longer does are kept, as a shorter list is
 * (src/live/poller.ts): a watch never goes back. `current` holds objects of
 * `previous` only when it was made by appending to it (a holder's delta): one
 * at `previous`'s last place marks an extension.
 */
export function inAppendOrder(previous: readonly unknown[], current: readonly unknown[]): readonly unknown[] {
  const last = previous.length - 1;
  if (last < 0 || previous === current) return current;
  const placesKept = keepsPlaces(previous, current);
  if (placesKept && !passesKnownEvent(previous, current)) return current;
  const held = new Map<string, unknown[]>();
  for (const entry of previous) {
    const key = identity(entry);
    const entries = held.get(key);
    if (entries) entries.push(entry);
    else held.set(key, [entry]);
  }
  const places = new Map<string, number[]>();
  current.forEach((entry, index) => {
    const key = identity(entry);
    const indices = places.get(key);
    if (indices) indices.push(index);
    else places.set(key, [index]);
  });
  const isNew = new Uint8Array(current.length);
  for (const [key, indices] of places) {
    const earlier = held.get(key) ?? [];
    if (indices.length <= earlier.length) continue;
    if (earlier.length === 0) {
      for (const index of indices) isNew[index] = 1;
      continue;
    }
    // An id the reading holds more often than the last one did: which of its events are new is told by their
    // content. Counted by id alone, an event inserted before one of the same id took that one's place, and the
    // watch delivered the old one again and never the inserted one.
    const unmatched = new Map<string, number>();
    for (const entry of earlier) {
      const text = comparedJson(entry);
      unmatched.set(text, (unmatched.get(text) ?? 0) + 1);
    }
    const others: number[] = [];
    for (const index of indices) {
      const text = comparedJson(current[index]);
      const count = unmatched.get(text);
      if (count) unmatched.set(text, count - 1);
      else others.push(index);
    }
    // Events read before whose content changed since keep their places, the earliest such ones first.
    let changed = 0;
    for (const count of unmatched.values()) changed += count;
    for (const index of others.slice(changed)) isNew[index] = 1;
  }
  // New events only past the last reading's end, each other one at its place: the reading extends it after all.
  if (placesKept && isNew.every((flag, index) => flag === (index > last ? 1 : 0))) return current;
  const added = current.filter((_entry, index) => isNew[index] === 1);
  return added.length === 0 ? previous : [...previous, ...added];
}

/**
 * How many of `laid`'s first events are `read`'s first events, at the same
 * places: the part of a watch's list in upstream's order, where a cursor from
 * a query and one from a watch name the same place.
 */
export function inOrderPrefix(laid: readonly unknown[], read: readonly unknown[]): number {
  const length = Math.min(laid.length, read.length);
  let index = 0;
  // The whole entry, not the id alone: after `[a]` then `[a', a]`, laid `[a, a']` and read `[a', a]` part at once, and a
  // query's cursor naming `a'` (the first `a` it read) resumed a watch past `a` as the laid list's first `a`, missing it.
  while (index < length && sameIdentity(laid[index], read[index]) && (laid[index] === read[index] || comparedJson(laid[index]) === comparedJson(read[index]))) index++;
  return index;
}

/**
 * Whether every event of `previous` is at its place in `current`. In O(1)
 * when `current` was made by appending to `previous` (a holder's delta: the
 * same objects), else one identity per event, from the end so an insertion
 * is found early: the last event alone says nothing when an id occurs twice
 * (`[a, b, b]` then `[a, x, b, b]` has a `b` at index 2 both times, and the
 * watch delivered the second `b` again and never `x`). Cheaper than the
 * parse that produced `current`, which is O(its body) too.
 */
function keepsPlaces(previous: readonly unknown[], current: readonly unknown[]): boolean {
  const last = previous.length - 1;
  if (current.length <= last) return false;
  if (current[last] === previous[last]) return true;
  for (let index = last; index >= 0; index--) {
    if (!sameIdentity(current[index], previous[index])) return false;
  }
  return true;
}

/**
 * Whether an event past `previous`'s end in `current` has the identity of one `previous` holds. Each place may
 * keep its id while an event inserted before one of the same id pushed that one past the end (`[a]` then
 * `[a', a]`): such a reading is left to inAppendOrder's count. A holder's delta appends to the very list.
 */
function passesKnownEvent(previous: readonly unknown[], current: readonly unknown[]): boolean {
  if (current.length === previous.length || current[previous.length - 1] === previous[previous.length - 1]) return false;
  const known = new Set(previous.map(identity));
  for (let index = previous.length; index < current.length; index++) if (known.has(identity(current[index]))) return true;
  return false;
}

/** identity(a) === identity(b), without building either string when both carry a string id (upstream's events do). */
function sameIdentity(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const idA = isObject(a) ? a.id : undefined;
  const idB = isObject(b) ? b.id : undefined;
  if (typeof idA === 'string' && idA !== '' && typeof idB === 'string' && idB !== '') return idA === idB;
  return identity(a) === identity(b);
}
