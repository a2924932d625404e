/**
 * Timestamps from upstream (src/domain/fields.ts): every RFC 3339 spelling of
 * an instant (also without its offset: UTC), epoch seconds or milliseconds (as
 * numbers or as text) and a bare date are served as the same
 * canonical UTC string; anything that is not an instant is unreadable (served
 * as null with a warning). The DateTime scalar then serves what the reader made
 * exactly as graphql-scalars would (src/schema/scalars.ts).
 */
import fc from 'fast-check';
import { DateTimeResolver } from 'graphql-scalars';
import { describe, expect, it } from 'vitest';
import { instantMs, readTimestamp, UNREADABLE } from '../src/domain/fields.js';
import { DateTimeScalar } from '../src/schema/scalars.js';

const pad = (value: number, width = 2) => String(Math.abs(value)).padStart(width, '0');
const instant = fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });

/** An instant written as RFC 3339 allows: either case of T and Z or a space, any fraction length, Z or an offset. */
const spelling = fc.record({
  separator: fc.constantFrom('T', 't', ' '),
  zulu: fc.constantFrom('Z', 'z'),
  offsetMinutes: fc.option(fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }), { nil: undefined }),
  colon: fc.boolean(),
  fractionDigits: fc.integer({ min: 0, max: 9 }),
  extraDigits: fc.stringMatching(/^[0-9]{6}$/),
});

/** The instant written in that spelling, and what the gateway must serve for it (null: not writable in RFC 3339's four-digit years). */
function write(date: Date, { separator, zulu, offsetMinutes, colon, fractionDigits, extraDigits }: Parameters<Parameters<typeof spelling.map>[0]>[0]): { text: string; expected: string | null } {
  const offset = offsetMinutes ?? 0;
  const local = new Date(date.getTime() + offset * 60_000);
  const ms = pad(local.getUTCMilliseconds(), 3);
  const fraction = fractionDigits === 0 ? '' : `.${(ms + extraDigits).slice(0, fractionDigits)}`;
  const zone =
    offsetMinutes === undefined ? zulu : `${offset < 0 ? '-' : '+'}${pad(Math.trunc(Math.abs(offset) / 60))}${colon ? ':' : ''}${pad(Math.abs(offset) % 60)}`;
  const text = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}${separator}${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${zone}`;
  // Digits past the written fraction are cut, never rounded: the served instant is the written one, to the millisecond.
  const keptMs = fractionDigits >= 3 ? Number(ms) : Number(ms.slice(0, fractionDigits).padEnd(3, '0'));
  const expected = new Date(date.getTime() - Number(ms) + keptMs).toISOString();
  const year = local.getUTCFullYear();
  return { text, expected: year < 0 || year > 9999 ? null : expected };
}

/** A real calendar date, by the proleptic Gregorian calendar (year 0 included, as RFC 3339 allows). */
function realDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

describe('timestamps from upstream', () => {
  it('serves every RFC 3339 spelling of an instant as the same canonical UTC string', () => {
    fc.assert(
      fc.property(instant, spelling, (date, how) => {
        const { text, expected } = write(date, how);
        // An offset can move the written local time out of four-digit years: RFC 3339 cannot write that.
        if (expected === null) return;
        expect(readTimestamp(text)).toBe(expected);
      }),
      { numRuns: 20_000 },
    );
  });

  it('reads a number, or one written as text, as epoch milliseconds from 10^11 on and as epoch seconds below, and a bare date as midnight UTC', () => {
    fc.assert(
      fc.property(instant, (date) => {
        const ms = date.getTime();
        const day = date.toISOString().slice(0, 10);
        expect(readTimestamp(day)).toBe(`${day}T00:00:00.000Z`);
        // Before 1973-03-03 (and after 1966-10-31) as milliseconds: read as seconds, below.
        if (Math.abs(ms) < 1e11) return;
        expect(readTimestamp(ms)).toBe(date.toISOString());
        expect(readTimestamp(String(ms))).toBe(date.toISOString());
      }),
      { numRuns: 5_000 },
    );
    // Unix time: every second from 1970 to about year 5138, with its fraction to the millisecond.
    fc.assert(
      fc.property(fc.integer({ min: -62_167_219_199, max: 1e11 - 1 }), fc.integer({ min: 0, max: 999 }), (seconds, ms) => {
        const expected = new Date(seconds * 1000 + (seconds < 0 ? -ms : ms)).toISOString();
        const written = `${seconds < 0 ? '-' : ''}${Math.abs(seconds)}.${String(ms).padStart(3, '0')}`;
        expect(readTimestamp(Number(written))).toBe(expected);
        if (Math.abs(seconds) >= 1e8) expect(readTimestamp(written)).toBe(expected);
      }),
      { numRuns: 5_000 },
    );
  });

  it('finds dates that do not exist unreadable, and only those', () => {
    const field = fc.record({
      year: fc.integer({ min: 0, max: 9999 }),
      month: fc.integer({ min: 0, max: 13 }),
      day: fc.integer({ min: 0, max: 32 }),
      hour: fc.integer({ min: 0, max: 24 }),
      minute: fc.integer({ min: 0, max: 60 }),
    });
    fc.assert(
      fc.property(field, ({ year, month, day, hour, minute }) => {
        const text = `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(hour)}:${pad(minute)}:00Z`;
        const real = realDate(year, month, day) && hour <= 23 && minute <= 59;
        expect(Number.isNaN(instantMs(text))).toBe(!real);
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['lower-case t and z', '2026-03-01t12:00:00z', '2026-03-01T12:00:00.000Z'],
    ['a space separator', '2026-03-01 12:00:00Z', '2026-03-01T12:00:00.000Z'],
    ['nanoseconds', '2026-03-01T12:00:00.123456789Z', '2026-03-01T12:00:00.123Z'],
    ['an offset', '2026-03-01T14:30:00+02:30', '2026-03-01T12:00:00.000Z'],
    ['an offset without colon', '2026-03-01T07:00:00-0500', '2026-03-01T12:00:00.000Z'],
    ['epoch milliseconds', 1_772_366_400_000, '2026-03-01T12:00:00.000Z'],
    ['epoch seconds', 1_772_366_400, '2026-03-01T12:00:00.000Z'],
    ['epoch seconds with a fraction', 1_772_366_400.5, '2026-03-01T12:00:00.500Z'],
    ['epoch milliseconds as text', '1772366400000', '2026-03-01T12:00:00.000Z'],
    ['epoch seconds as text', '1772366400', '2026-03-01T12:00:00.000Z'],
    ['epoch seconds as text, with spaces around', ' 1772366400 ', '2026-03-01T12:00:00.000Z'],
    // 11 integer digits are seconds, though the text's double rounds to 1e11: the line is drawn on the digits.
    ['the last second before 10^11, as text with a fraction a double cannot hold', '99999999999.99999999', '5138-11-16T09:46:39.999Z'],
    ['a time without an offset, as UTC (upstream documents every timestamp in UTC)', '2026-03-01T12:00:00', '2026-03-01T12:00:00.000Z'],
    ['a time with a fraction and without an offset', '2026-03-01 12:00:00.250', '2026-03-01T12:00:00.250Z'],
    ['a bare date', '2026-03-01', '2026-03-01T00:00:00.000Z'],
    ['the documented form', '2026-03-01T12:07:00.000Z', '2026-03-01T12:07:00.000Z'],
  ])('reads %s', (_name, value, expected) => {
    expect(readTimestamp(value)).toBe(expected);
  });

  it.each([
    ['a word', 'yesterday'],
    ['a year alone, as text', '2026'],
    ['digits of no epoch length, as text', '12345678'],
    ['zero-padded digits, as text', '000000001'],
    ['digits with a sign and a space', '+1772366400'],
    ['a time without seconds', '2026-03-01T12:00Z'],
    ['February 30', '2026-02-30T12:00:00Z'],
    ['an object', { at: '2026-03-01' }],
    ['a boolean', true],
    ['NaN', Number.NaN],
    ['a number past what a Date holds', 9e15],
  ])('finds %s unreadable', (_name, value) => {
    expect(readTimestamp(value)).toBe(UNREADABLE);
  });

  it('reads an instant for sorting and filtering exactly when it serves one (years 0000–9999 only)', () => {
    // Around both ends of the range, where an offset or a leap second can cross it.
    const edge = fc.oneof(fc.date({ min: new Date('-000001-12-31T00:00:00.000Z'), max: new Date('0000-01-02T00:00:00.000Z'), noInvalidDate: true }), fc.date({ min: new Date('9999-12-31T00:00:00.000Z'), max: new Date('+010000-01-01T12:00:00.000Z'), noInvalidDate: true }));
    const number = fc.oneof(fc.double({ min: -9e15, max: 9e15, noNaN: true }), edge.map((date) => date.getTime()));
    const text = fc.tuple(edge, spelling).map(([date, how]) => write(date, how).text);
    fc.assert(
      fc.property(fc.oneof(number, text, fc.constantFrom('9999-12-31T23:59:60Z', '9999-12-31T23:59:60.999Z', '0000-01-01T00:30:00+01:00')), (value) => {
        expect(Number.isNaN(instantMs(value))).toBe(readTimestamp(value) === UNREADABLE);
      }),
      { numRuns: 20_000 },
    );
  });

  it('is null for null and absent, with nothing to report', () => {
    expect(readTimestamp(null)).toBeNull();
    expect(readTimestamp(undefined)).toBeNull();
  });

  it('serves through DateTime exactly what graphql-scalars would serve for every reading', () => {
    fc.assert(
      fc.property(instant, spelling, (date, how) => {
        const served = readTimestamp(write(date, how).text);
        if (served === UNREADABLE || served === null) return;
        expect(JSON.stringify(DateTimeScalar.serialize(served))).toBe(JSON.stringify(DateTimeResolver.serialize(served)));
      }),
      { numRuns: 5_000 },
    );
  });
});
