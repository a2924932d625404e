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
 * it extends `previous` (the common case: see `extendsList`), else `previous` followed by the events of `current`
 * that `previous` does not hold (each occurrence of an id counted apart), in
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
  if (extendsList(previous, current)) return current;
  const held = new Map<string, number>();
  for (const entry of previous) {
    const key = identity(entry);
    held.set(key, (held.get(key) ?? 0) + 1);
  }
  const added: unknown[] = [];
  for (const entry of current) {
    const key = identity(entry);
    const count = held.get(key);
    if (count) held.set(key, count - 1);
    else added.push(entry);
  }
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
  while (index < length && sameIdentity(laid[index], read[index])) index++;
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
function extendsList(previous: readonly unknown[], current: readonly unknown[]): boolean {
  const last = previous.length - 1;
  if (current.length <= last) return false;
  if (current[last] === previous[last]) return true;
  for (let index = last; index >= 0; index--) {
    if (!sameIdentity(current[index], previous[index])) return false;
  }
  return true;
}

/** identity(a) === identity(b), without building either string when both carry a string id (upstream's events do). */
function sameIdentity(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const idA = isObject(a) ? a.id : undefined;
  const idB = isObject(b) ? b.id : undefined;
  if (typeof idA === 'string' && idA !== '' && typeof idB === 'string' && idB !== '') return idA === idB;
  return identity(a) === identity(b);
}
