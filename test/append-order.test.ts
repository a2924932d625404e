/**
 * How a watch lays upstream's readings over each other (src/live/append-order.ts):
 * the cases test/live.test.ts cannot set up through a poller on purpose.
 */
import { describe, expect, it } from 'vitest';
import { storedJson } from '../src/domain/json-depth.js';
import { inAppendOrder, inOrderPrefix } from '../src/live/append-order.js';

const ids = (events: readonly unknown[]) => events.map((event) => (event as { id: string }).id);
/** A fresh reading: the same entries as upstream sends them again, new objects each time. */
const reread = (...events: Array<{ id: string }>) => events.map((event) => ({ ...event }));

describe('inAppendOrder', () => {
  const a = { id: 'a' };
  const b = { id: 'b' };
  const x = { id: 'x' };

  it('takes a reading that only appended as it is', () => {
    const previous = reread(a, b);
    const current = reread(a, b, x);
    expect(inAppendOrder(previous, current)).toBe(current);
  });

  it('puts an inserted event after the events already read', () => {
    expect(ids(inAppendOrder(reread(a, b), reread(a, x, b)))).toEqual(['a', 'b', 'x']);
  });

  it('puts an inserted event after the events already read when the last id occurs twice', () => {
    // The last event's id is at the last place read both times: only the events before it show the insertion.
    const previous = [a, { id: 'b', n: 1 }, { id: 'b', n: 2 }];
    const current = reread(a, x, { id: 'b', n: 1 } as { id: string }, { id: 'b', n: 2 } as { id: string });
    expect(ids(inAppendOrder(previous, current))).toEqual(['a', 'b', 'b', 'x']);
  });

  it("knows an event without an id, nested too deep for JSON.stringify, in the lease holder's copy of it", () => {
    // A follower's list holds the holder's copy through Redis, which storedJson cut where JSON.stringify ran out
    // of stack; its next reading of upstream has the event whole. Compared by that text, it was another event, and came twice.
    let data: unknown = 1;
    for (let level = 0; level < 20_000; level++) data = { a: data };
    const unnamed = { message: 'no id', data };
    const copy = (JSON.parse(storedJson({ events: [unnamed] })) as { events: unknown[] }).events[0];
    const laid = inAppendOrder([copy], [unnamed, x]);
    // Compared as booleans: a failing match of a value 20,000 levels deep would overflow the report.
    expect(laid.length).toBe(2);
    expect(laid[0] === copy || laid[0] === unnamed).toBe(true);
    expect(laid[1]).toEqual(x);
  });

  it('says where the laid list stops being in upstream\'s order', () => {
    const read = reread(a, x, b);
    const laid = inAppendOrder(reread(a, b), read);
    expect(inOrderPrefix(laid, read)).toBe(1);
    expect(inOrderPrefix(read, read)).toBe(3);
    expect(inOrderPrefix(reread(a, b), reread(a, b, x))).toBe(2);
  });
});
