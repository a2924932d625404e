/**
 * How a watch lays upstream's readings over each other (src/live/append-order.ts), against a model written
 * from its docstring: an event is known by its id (a non-empty string, or a finite number, which reads as
 * the same id as its text), else by the whole entry; the events already read keep their places, each event
 * new to a reading follows them once per occurrence, in the reading's order; a reading that extends the
 * previous one is taken as it is, and one with nothing new leaves the previous list as it was.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inAppendOrder, inOrderPrefix } from '../src/live/append-order.js';

/** The model's identity. Entries without a usable id are flat here, so JSON.stringify is their whole text. */
function keyOf(entry: unknown): string {
  if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    const id = (entry as { id?: unknown }).id;
    if (typeof id === 'string' && id !== '') return `id ${id}`;
    if (typeof id === 'number' && Number.isFinite(id)) return `id ${Object.is(id, -0) ? '-0' : String(id)}`;
  }
  return `entry ${JSON.stringify(entry)}`;
}

/** Upstream's events, with the ids a tolerant reader meets: repeated, empty, numeric, absent, one field apart. */
const event = fc.record(
  { id: fc.constantFrom<string | number>('a', 'b', 'c', '1', '', 1, 0, -0), n: fc.integer({ min: 0, max: 1 }) },
  { requiredKeys: ['n'] },
);

/**
 * Two readings in a row. `current` either appends to `previous` (a lease holder's delta: the same objects, or
 * upstream read again: copies), or is any list of copies of previous entries and new events: only a delta
 * shares objects with the list it extends, which inAppendOrder's O(1) check relies on.
 */
const readings = fc
  .tuple(
    fc.array(event, { maxLength: 6 }),
    fc.boolean(),
    fc.array(fc.oneof(fc.record({ at: fc.nat() }), fc.record({ fresh: event })), { maxLength: 8 }),
  )
  .map(([previous, appendOnly, picks]) => {
    const entryFor = (pick: { at: number } | { fresh: unknown }): unknown => {
      if ('fresh' in pick) return pick.fresh;
      return previous.length === 0 ? { n: 0 } : { ...previous[pick.at % previous.length]! };
    };
    const current = appendOnly
      ? [...previous.map((entry, index) => (index % 2 === 0 ? entry : { ...entry })), ...picks.map(entryFor)]
      : picks.map(entryFor);
    return { previous, current };
  });

/**
 * What the model lays: `current` when each event of `previous` is at its place and only events past its end are new,
 * else `previous` and then what it lacks. An event is new when `current` holds its identity more often than
 * `previous`; which occurrences are new is told by their whole entry (one inserted before another of its id is the
 * new one), events read before whose entry changed keeping the earliest places.
 */
function modelLaid(previous: readonly unknown[], current: readonly unknown[]): { extends: boolean; keys: string[] } {
  const isNew = current.map(() => false);
  for (const key of new Set(current.map(keyOf))) {
    const indices = current.flatMap((entry, index) => (keyOf(entry) === key ? [index] : []));
    const earlier = previous.filter((entry) => keyOf(entry) === key).map((entry) => JSON.stringify(entry));
    if (indices.length <= earlier.length) continue;
    const others = indices.filter((index) => {
      const at = earlier.indexOf(JSON.stringify(current[index]));
      if (at < 0) return true;
      earlier.splice(at, 1);
      return false;
    });
    for (const index of others.slice(earlier.length)) isNew[index] = true;
  }
  const placesKept = current.length >= previous.length && previous.every((entry, index) => keyOf(entry) === keyOf(current[index]));
  if (placesKept && isNew.every((flag, index) => flag === index >= previous.length)) return { extends: true, keys: current.map(keyOf) };
  return { extends: false, keys: [...previous.map(keyOf), ...current.filter((_entry, index) => isNew[index]).map(keyOf)] };
}

describe('inAppendOrder against its model', () => {
  it('keeps every event already read at its place, adds each new one once per occurrence, and returns the list it kept when nothing is new', () => {
    fc.assert(
      fc.property(readings, ({ previous, current }) => {
        const laid = inAppendOrder(previous, current);
        const model = modelLaid(previous, current);
        expect(laid.map(keyOf)).toEqual(model.keys);
        if (model.extends) {
          expect(laid).toBe(current);
          return;
        }
        // The watch's own objects stay where it read them: a watch never goes back.
        previous.forEach((entry, index) => expect(laid[index]).toBe(entry));
        if (model.keys.length === previous.length) expect(laid).toBe(previous);
        // What was added is the reading's own entries.
        for (const entry of laid.slice(previous.length)) expect(current).toContain(entry);
      }),
      { numRuns: 2_000 },
    );
  });

  it("says how far the laid list is upstream's own order: the longest common run from the start, by identity and whole entry", () => {
    fc.assert(
      fc.property(readings, ({ previous, current }) => {
        const laid = inAppendOrder(previous, current);
        let expected = 0;
        const same = (a: unknown, b: unknown) => keyOf(a) === keyOf(b) && JSON.stringify(a) === JSON.stringify(b);
        while (expected < Math.min(laid.length, current.length) && same(laid[expected], current[expected])) expected++;
        expect(inOrderPrefix(laid, current)).toBe(expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it('tells an event without an id from one whose id is that entry\'s text', () => {
    // The entry {"n":1} and the id '{"n":1}' are different events, however the identities are written.
    const unnamed = { n: 1 };
    const named = { id: JSON.stringify(unnamed) };
    expect(inAppendOrder([unnamed], [named])).toEqual([unnamed, named]);
    expect(inAppendOrder([named], [unnamed])).toEqual([named, unnamed]);
  });

  it('knows events by an infinite or NaN id as whole entries, not as one id', () => {
    const infinite = { id: Infinity, n: 0 };
    const otherInfinite = { id: Infinity, n: 1 };
    expect(inAppendOrder([infinite], [otherInfinite])).toEqual([infinite, otherInfinite]);
    expect(inAppendOrder([{ id: Number.NaN, n: 0 }], [{ id: Number.NaN, n: 1 }])).toHaveLength(2);
    // The same entry read again is the same event.
    expect(inAppendOrder([infinite], [{ ...infinite }])).toEqual([infinite]);
  });
});
