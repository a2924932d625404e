/**
 * The DateTime scalar serves a canonical instant string as it is instead of
 * letting graphql-scalars rebuild it (src/schema/scalars.ts). For every timestamp
 * the upstream envelope accepts, that must print exactly what graphql-scalars
 * prints; fast-check writes instants in every form upstream may use, valid
 * calendar dates or not, and compares.
 */
import fc from 'fast-check';
import { DateTimeResolver } from 'graphql-scalars';
import { describe, expect, it } from 'vitest';
import { DateTimeScalar } from '../src/schema/scalars.js';
import { upstreamTimestampSchema } from '../src/upstream/envelope.js';

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** Timestamps as strings, field by field, so impossible dates (Feb 30, hour 24) come up too. */
const timestampText = fc
  .record({
    year: fc.integer({ min: 0, max: 9999 }),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 24 }),
    minute: fc.integer({ min: 0, max: 60 }),
    second: fc.integer({ min: 0, max: 60 }),
    fraction: fc.constantFrom('', '.0', '.000', '.123', '.5', '.123456'),
    zone: fc.constantFrom('Z', '+00:00', '+02:00', '-05:30', '+14:00'),
  })
  .map(({ year, month, day, hour, minute, second, fraction, zone }) => `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:${pad(second)}${fraction}${zone}`);

/** What a client receives for a serialized value, or the error it would get. */
function served(serialize: (value: unknown) => unknown, value: unknown): string {
  try {
    return JSON.stringify(serialize(value));
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

describe('DateTime serializes as graphql-scalars does', () => {
  it('for every timestamp the upstream envelope accepts', () => {
    let accepted = 0;
    fc.assert(
      fc.property(timestampText, (text) => {
        if (!upstreamTimestampSchema.safeParse(text).success) return;
        accepted++;
        expect(served((value) => DateTimeScalar.serialize(value), text)).toBe(served((value) => DateTimeResolver.serialize(value), text));
      }),
      { numRuns: 20_000 },
    );
    // The generator must reach the envelope's accepted set, not only its rejections.
    expect(accepted).toBeGreaterThan(1_000);
  });

  it('for canonical instants of any date', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), (date) => {
        const text = date.toISOString();
        expect(DateTimeScalar.serialize(text)).toBe(text);
        expect(served((value) => DateTimeScalar.serialize(value), text)).toBe(served((value) => DateTimeResolver.serialize(value), text));
      }),
      { numRuns: 5_000 },
    );
  });

  it.each([
    ['a Date', new Date('2026-03-01T12:00:00.000Z')],
    ['an offset', '2026-03-01T14:00:00+02:00'],
    ['no milliseconds', '2026-03-01T12:00:00Z'],
    ['a number', 1_772_366_400_000],
    ['not a date', 'yesterday'],
    ['null', null],
  ])('for %s, which graphql-scalars still handles', (_name, value) => {
    expect(served((input) => DateTimeScalar.serialize(input), value)).toBe(served((input) => DateTimeResolver.serialize(input), value));
  });
});
