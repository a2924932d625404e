/**
 * The lease holder's deltas (src/shared-state/live-leases.ts): whatever two
 * successive readings of an execution look like, a replica holding the first
 * reading ends with exactly the second once it applies the delta, and the
 * delta carries only what changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Execution } from '../src/domain/execution.js';
import { applied, delta } from '../src/shared-state/live-leases.js';

const FIELDS = ['status', 'paymentStatus', 'updatedAt', 'requestPayload', 'responsePayload', 'clientSafeMetadata', 'finishedAt', '__proto__', 'constructor'];

const source = fc.dictionary(fc.constantFrom(...FIELDS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: FIELDS.length });
const event = fc.record({ id: fc.string(), level: fc.constantFrom('INFO', 'ERROR'), data: fc.jsonValue({ maxDepth: 1 }) });

/** Two readings where the second has the first's events and maybe more (upstream only appends). */
const readings = fc
  .record({ before: source, after: source, events: fc.array(event, { maxLength: 6 }), appended: fc.array(event, { maxLength: 6 }), bytes: fc.nat() })
  .map(({ before, after, events, appended, bytes }) => {
    const first: Execution = { id: 'ex_1', source: { ...before, id: 'ex_1' }, events, bodyBytes: bytes };
    const second: Execution = { id: 'ex_1', source: { ...after, id: 'ex_1' }, events: [...events, ...appended], bodyBytes: bytes + 1 };
    return { first, second };
  });

describe('live deltas', () => {
  it('applied to the reading it was made from, a delta gives the next reading exactly', () => {
    fc.assert(
      fc.property(readings, ({ first, second }) => {
        const message = delta('replica', 1, first, second);
        // Through JSON, as Redis carries it.
        const received = JSON.parse(JSON.stringify(message)) as typeof message & { kind: 'changed' };
        const result = applied(first, received);
        expect(result.id).toBe(second.id);
        // Equal as JSON (what upstream sent and Redis carries: -0 and 0 are one number there).
        expect(JSON.parse(JSON.stringify(result.events))).toEqual(JSON.parse(JSON.stringify(second.events)));
        expect(JSON.parse(JSON.stringify(result.source))).toEqual(JSON.parse(JSON.stringify(second.source)));
        expect(Object.keys(result.source).sort()).toEqual(Object.keys(second.source).sort());
        expect(result.bodyBytes).toBe(second.bodyBytes);
      }),
      { numRuns: 1000 },
    );
  });

  it('carries only the fields that changed and the events appended', () => {
    fc.assert(
      fc.property(readings, ({ first, second }) => {
        const message = delta('replica', 7, first, second);
        if (message.kind !== 'changed') throw new Error('a reading gives a change');
        expect(message.count).toBe(first.events.length);
        expect(message.events ?? []).toEqual(second.events.slice(first.events.length));
        for (const field of Object.keys(message.set ?? {})) {
          // New, or another value (own fields: `__proto__` is one too).
          const changed = !Object.hasOwn(first.source, field) || JSON.stringify(first.source[field]) !== JSON.stringify(second.source[field]);
          expect(changed, field).toBe(true);
        }
        for (const field of message.unset ?? []) expect(Object.hasOwn(second.source, field)).toBe(false);
        expect(message.set?.id).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });

  it('from no previous reading (the publisher\'s first), carries the fields whole and no event: a reading as long takes it exactly', () => {
    fc.assert(
      fc.property(readings, ({ first, second }) => {
        const message = delta('replica', 1, undefined, second);
        if (message.kind !== 'changed') throw new Error('a reading gives a change');
        expect(message.count).toBe(second.events.length);
        expect(message.events).toBeUndefined();
        const received = JSON.parse(JSON.stringify(message)) as typeof message;
        // A follower that read as many events (its fields may differ): the second reading exactly.
        const follower: Execution = { ...first, events: second.events };
        const result = applied(follower, received);
        expect(JSON.parse(JSON.stringify(result.source))).toEqual(JSON.parse(JSON.stringify(second.source)));
        expect(Object.keys(result.source).sort()).toEqual(Object.keys(second.source).sort());
        expect(result.events).toBe(second.events);
      }),
      { numRuns: 1000 },
    );
  });

  it('applied to a reading that already has some of its events, adds only the others', () => {
    fc.assert(
      fc.property(readings, fc.nat(), ({ first, second }, cut) => {
        const message = delta('replica', 1, first, second);
        if (message.kind !== 'changed') throw new Error('a reading gives a change');
        // This replica read upstream between the holder's two readings: it holds some of the appended events already.
        const extra = second.events.length - first.events.length;
        const held = first.events.length + (extra === 0 ? 0 : cut % (extra + 1));
        const later: Execution = { ...first, events: second.events.slice(0, held) };
        expect(applied(later, message).events).toEqual(second.events);
      }),
      { numRuns: 1000 },
    );
  });
});
