/**
 * How a watch lays upstream's readings over each other (src/live/append-order.ts):
 * the cases test/live.test.ts cannot set up through a poller on purpose.
 */
import { describe, expect, it } from 'vitest';
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

  it('says where the laid list stops being in upstream\'s order', () => {
    const read = reread(a, x, b);
    const laid = inAppendOrder(reread(a, b), read);
    expect(inOrderPrefix(laid, read)).toBe(1);
    expect(inOrderPrefix(read, read)).toBe(3);
    expect(inOrderPrefix(reread(a, b), reread(a, b, x))).toBe(2);
  });
});
