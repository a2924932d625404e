/**
 * Reading one field of what upstream sent, when a query selects it. Each
 * reader accepts every form it can make sense of and answers UNREADABLE for a
 * value it cannot use; the schema serves that as null with a warning
 * (src/schema/served.ts). An absent or null value is simply null.
 *
 * Hand-written rather than validated up front (zod, as before): a field is read
 * only when served, so a body is never walked whole, and one odd value costs
 * only the field that holds it.
 */

import { httpDateMs } from '../http-date.js';
import { jsonSizeWithin, jsonTextLength, MAX_JSON_DEPTH } from './json-depth.js';
import { numberText } from './number-text.js';

/** A value of a type or form the gateway cannot serve in that field. */
export const UNREADABLE: unique symbol = Symbol('unreadable');
export type Unreadable = typeof UNREADABLE;

/**
 * Text: a string as sent; a number or boolean as its text. Objects, arrays, and
 * a number past a double's range (JSON.parse reads `1e400` as Infinity) are unreadable.
 */
export function readText(value: unknown): string | null | Unreadable {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? numberText(value) : UNREADABLE;
  if (typeof value === 'boolean') return String(value);
  return UNREADABLE;
}

/**
 * Objects already measured, by their size as JSON text in characters (about), -1 when
 * nested too deep: a cached execution's payloads are served many times.
 */
const measured = new WeakMap<object, number>();

/**
 * Any JSON value, as upstream sent it (object, array, string, number, boolean);
 * absent is null. Unreadable when nested more than MAX_JSON_DEPTH levels (./json-depth.ts),
 * or when it is a number past a double's range: JSON.parse reads `1e400` as
 * Infinity, which JSON has no text for, so it went out as a null no note
 * told apart from a field upstream left empty (as a text field's is, it is noted).
 */
export function readJson(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : UNREADABLE;
  if (value === null || typeof value !== 'object') return value;
  let size = measured.get(value);
  if (size === undefined) {
    size = jsonSizeWithin(value, MAX_JSON_DEPTH);
    measured.set(value, size);
  }
  return size < 0 ? UNREADABLE : value;
}

/**
 * About how many characters a value a text or JSON field serves takes in a
 * response: a string's as JSON text (escapes in full: ./json-depth.ts
 * `jsonTextLength`), an object's or list's size as readJson measured it (0 when
 * it was not measured); 0 for any other scalar, which is short.
 */
export function servedSize(value: unknown): number {
  if (typeof value === 'string') return jsonTextLength(value);
  if (value === null || typeof value !== 'object') return 0;
  return Math.max(measured.get(value) ?? 0, 0);
}

/**
 * RFC 3339 (either case of T and Z, or a space between date and time; no
 * fraction or any number of digits; Z or any offset, with or without its colon,
 * or of hours alone, as ISO 8601 allows and PostgreSQL writes a timestamptz,
 * `+00`; or none), or a bare date; a fraction after a comma too, ISO 8601's
 * preferred decimal sign. An HTTP-date is read apart (writtenMs).
 */
const RFC_3339 = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;
/** ISO 8601's basic format, with its groups in RFC_3339's places: a time is required (eight digits alone are no instant). */
const ISO_8601_BASIC = /^(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
/**
 * The instants RFC 3339's four-digit years can write (0000-01-01T00:00:00.000Z
 * to 9999-12-31T23:59:59.999Z), in ms from the epoch. One range for serving,
 * sorting and filtering: an event served without its createdAt must not be
 * ordered or filtered by it either.
 */
const FIRST_MS = -62_167_219_200_000;
const LAST_MS = 253_402_300_799_999;

function inRange(ms: number): number {
  return ms >= FIRST_MS && ms <= LAST_MS ? ms : NaN;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/**
 * Milliseconds since the epoch for a calendar instant, by the proleptic
 * Gregorian calendar (year 0 included, second 60 rolling into the next minute,
 * as Date.UTC does). Days from the civil date by H. Hinnant's algorithm
 * ("chrono-Compatible Low-Level Date Algorithms"): plain arithmetic, where
 * Date.UTC maps years below 100 to 19xx and is a builtin call for every event
 * an events index reads.
 */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  const days = era * 146_097 + dayOfEra - 719_468;
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
}

/**
 * Below this magnitude a number is epoch seconds, from it on epoch milliseconds: as milliseconds such a number is
 * an instant before 1973-03-03, as seconds one before the year 5138, so no execution's time is read wrong either way.
 * Upstream documents strings; an epoch number is the commonest variant, and Unix time counts seconds.
 */
const SECONDS_BELOW = 1e11;

/**
 * An epoch number written as text, `"1772366820000"` or `"1772366820.5"` (spaces around it aside): nine integer
 * digits at least, the first not 0, so a year alone (`"2026"`) or a zero-padded count stays no instant rather
 * than a moment of 1970.
 */
const NUMBER_TEXT = /^-?[1-9]\d{8,}(?:\.\d+)?$/;

/**
 * A DateTime argument (src/schema/scalars.ts): `ms`, the millisecond it is in (ms since the epoch), as every time
 * read here is cut to it (instantMs); `insideMs`, whether it lies inside that millisecond rather than at its start
 * (`12:06:02.0001Z`: a digit other than 0 past the third of its fraction), and so after every time read in it. A
 * plain object, not a Date: the fast lane's compiled documents carry a literal argument as JSON, which keeps a
 * Date's time only.
 */
export interface Instant {
  ms: number;
  insideMs: boolean;
}

/**
 * An instant in ms since the epoch, or NaN when the value is not one: an RFC
 * 3339 timestamp in any spelling (fractions past milliseconds are cut; a date and
 * time without an offset is UTC, as upstream documents every timestamp), ISO
 * 8601's basic format, an HTTP-date, a bare date (midnight UTC), or a number, or one written as text (NUMBER_TEXT): epoch seconds
 * below SECONDS_BELOW in magnitude, else epoch milliseconds. Instants outside
 * years 0000–9999 are NaN too (FIRST_MS, LAST_MS).
 */
export function instantMs(value: unknown): number {
  if (typeof value === 'number') return epochMs(value);
  if (typeof value !== 'string') return NaN;
  const ms = writtenMs(value);
  // An offset, or second 60 on the last day, can carry a four-digit year out of range. Digits are tried last: every
  // event's createdAt is read when its events are indexed, nearly always in the documented form.
  if (!Number.isNaN(ms)) return inRange(ms);
  const digits = value.trim();
  return NUMBER_TEXT.test(digits) ? epochMs(Number(digits), digits) : NaN;
}

/**
 * ms of an epoch number, `text` as upstream wrote it (else its shortest text): seconds or milliseconds by its
 * integer part (SECONDS_BELOW), which a double may round across the line (`99999999999.99999999` is 1e11); a
 * fraction past the millisecond cut.
 */
function epochMs(value: number, text?: string): number {
  if (!Number.isFinite(value)) return NaN;
  // Milliseconds need no digits read: no text is made for them (an upstream may send every event's time so).
  const written = text ?? (Math.abs(value) < SECONDS_BELOW ? String(value) : undefined);
  if (written === undefined) return inRange(Math.trunc(value));
  const dot = written.includes('e') ? -1 : written.indexOf('.');
  const whole = dot < 0 ? Math.trunc(value) : Number(written.slice(0, dot));
  if (Math.abs(whole) >= SECONDS_BELOW) return inRange(Math.trunc(value));
  if (dot < 0) return inRange(Math.trunc(value * 1000));
  // From the decimal digits, not value * 1000: 17179869184.19 * 1000 is 17179869184189.998 as a double.
  const ms = Number(written.slice(dot + 1, dot + 4).padEnd(3, '0'));
  return inRange(whole * 1000 + (written.startsWith('-') ? -ms : ms));
}

/** ms since the epoch of a string instantMs reads, in any year an offset or a leap second reaches; NaN when it is none. */
function writtenMs(value: string): number {
  // The documented form first, digit by digit: every event's createdAt is read when its events are indexed.
  if (value.length === 24 && value.charCodeAt(23) === 90 /* Z */ && value.charCodeAt(10) === 84 /* T */) {
    const ms = canonicalMs(value);
    if (ms !== undefined) return ms;
  }
  const trimmed = value.trim();
  const match = RFC_3339.exec(trimmed) ?? ISO_8601_BASIC.exec(trimmed);
  // An HTTP-date, as Flask's JSON encoder writes every datetime (`Sun, 01 Mar 2026 12:00:00 GMT`). `now` places an
  // obsolete two-digit year in its century only, as RFC 9110 says: no reading of a real execution depends on it.
  if (!match) return httpDateMs(trimmed, Date.now()) ?? NaN;
  const [, y, mo, d, h, mi, s, fraction, , sign, offsetHours, offsetMinutes] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (!validDate(year, month, day)) return NaN;
  if (h === undefined) return utcMs(year, month, day, 0, 0, 0, 0);
  // RFC 3339 requires an offset; without one the time is UTC, as upstream documents every timestamp to be.
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes ?? 0));
  if (hour > 23 || minute > 59 || second > 60 || Number(offsetHours ?? 0) > 23 || Number(offsetMinutes ?? 0) > 59) return NaN;
  const ms = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  return utcMs(year, month, day, hour, minute, second, ms) - offset * 60_000;
}

/** The digits at [from, to) as a number, or -1 when any is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}

/**
 * ms since the epoch of `YYYY-MM-DDTHH:MM:SS.mmmZ`; NaN for an impossible
 * instant in that form; undefined when the text is not in that form at all.
 */
function canonicalMs(text: string): number | undefined {
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) {
    return undefined;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  const ms = digits(text, 20, 23);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || ms < 0) return undefined;
  return validDate(year, month, day) && hour <= 23 && minute <= 59 && second <= 60 ? utcMs(year, month, day, hour, minute, second, ms) : NaN;
}

/**
 * Whether a 24-character string is in canonical form, `YYYY-MM-DDTHH:MM:SS.sssZ`
 * (UTC with milliseconds: the form upstream documents, and the one the gateway serves), and names a
 * real instant (month lengths, leap years, clock ranges). By character codes,
 * like `canonicalMs`: every timestamp of every page passes here, and the
 * regular expression's match array was a measurable share of an execution page.
 */
function isCanonical(text: string): boolean {
  if (text.charCodeAt(10) !== 84 /* T */ || text.charCodeAt(23) !== 90 /* Z */) return false;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) return false;
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || digits(text, 20, 23) < 0) return false;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  return year >= 0 && month >= 0 && day >= 0 && validDate(year, month, day);
}

/** A timestamp served as canonical UTC with milliseconds; unreadable when it is not an instant (`instantMs`). */
export function readTimestamp(value: unknown): string | null | Unreadable {
  if (value === undefined || value === null) return null;
  // Upstream's documented form is served as it came: no Date is made for it.
  if (typeof value === 'string' && value.length === 24 && isCanonical(value)) return value;
  const ms = instantMs(value);
  // instantMs keeps to years 0000–9999, where toISOString writes no expanded year (which DateTime does not allow).
  return Number.isNaN(ms) ? UNREADABLE : new Date(ms).toISOString();
}
