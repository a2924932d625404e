/**
 * Property tests of the events connection algorithm (pageEvents), checked
 * against a plain reference: filter with Array.filter, order with an explicit
 * (sort time, upstream position) comparator, page with Array.slice. Events are
 * named by their position in upstream's list, since ids may repeat.
 *
 * Events are raw upstream entries, as the tolerant reader keeps them: ids
 * unique, repeated (also across spellings: `7` and `"7"`, a sent `"#1"` and the
 * `#1` derived for an event without an id), missing, empty or of another type;
 * timestamps from a handful of instants (so ties are everywhere) in every
 * spelling the reader accepts (offsets, lowercase, a space, extra fraction
 * digits, no offset, epoch seconds or milliseconds, as numbers or text, a bare date), or missing, null or unreadable;
 * levels, types and node ids as text, numbers, booleans, objects or nothing;
 * now and then an entry that is not an object at all. Lists are sometimes
 * already ascending (the fast path) and sometimes not.
 *
 * The generators know each timestamp's instant, so the reference never asks
 * src/ how a timestamp reads. Reference rules (src/domain/event-pages.ts header):
 * - id: upstream's when a non-empty string or a number (as text), else `#<position>`;
 * - an event without a readable createdAt sorts with the time of the closest
 *   earlier event in upstream's list that has one (before every dated event
 *   when none), after it among equal times, and never matches a time filter;
 * - equal sort times keep upstream order, in ASC and in DESC;
 * - level/eventType/nodeId filters compare the field as text (numbers and
 *   booleans as their text); objects, arrays, null and absent never match.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { decodeEventCursor, encodeEventCursor, encodeStartCursor, eventIdDigest, LONGEST_ID_IN_CURSOR } from '../src/domain/event-cursor.js';
import { appendedEvents, cursorBefore, pageEvents, positionAfter, type EventFilter, type EventOrder, type EventPage, type EventPageArgs } from '../src/domain/event-pages.js';
import { eventIdOf, type Execution } from '../src/domain/execution.js';
import type { Instant } from '../src/domain/fields.js';

const NUM_RUNS = 200;
const EXECUTION_ID = 'ex_prop_1';
const OTHER_EXECUTION_ID = 'ex_prop_2';
const BASE_MS = Date.parse('2026-03-01T12:00:00.000Z');
/** `'2026-03-01'` reads as midnight: before every tick. */
const BARE_DATE_MS = Date.parse('2026-03-01T00:00:00.000Z');
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const TYPES = ['log', 'node.started', 'node.completed'] as const;
const NODES = ['node_1', 'node_2', 'node_3'] as const;
const TICKS = 6;

// ---------------------------------------------------------------- upstream lists

/** A key the entry does not have. */
const ABSENT = Symbol('absent');
/** An id unique to the entry's position: `ev_<position>`. */
const UNIQUE = Symbol('unique');

/** Upstream's raw events, and the instant the generator gave each one's createdAt (NaN: none readable). */
interface Upstream {
  entries: unknown[];
  ms: number[];
}

function execOf(entries: readonly unknown[], id = EXECUTION_ID): Execution {
  return { id, source: { id, status: 'workflow_running' }, events: entries, bodyBytes: 0 };
}

// ---------------------------------------------------------------- reference

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function refId(entry: unknown, position: number): string {
  if (isObject(entry)) {
    if (typeof entry.id === 'string' && entry.id !== '') return entry.id;
    if (typeof entry.id === 'number') return String(entry.id);
  }
  return `#${position}`;
}

/** A field as text for filtering: strings as sent, numbers and booleans as their text; anything else matches nothing. */
function refText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

const field = (entry: unknown, name: string): unknown => (isObject(entry) ? entry[name] : undefined);

/** Which occurrence of its id each event is (0 for the first). */
function refOccurrences(u: Upstream): number[] {
  const seen = new Map<string, number>();
  return u.entries.map((entry, position) => {
    const id = refId(entry, position);
    const occurrence = seen.get(id) ?? 0;
    seen.set(id, occurrence + 1);
    return occurrence;
  });
}

/** Each event's sort time: its own, else the closest earlier dated event's, else -Infinity. */
function sortTimes(u: Upstream): number[] {
  let lastDated = Number.NEGATIVE_INFINITY;
  return u.ms.map((ms) => {
    if (!Number.isNaN(ms)) lastDated = ms;
    return lastDated;
  });
}

function matches(u: Upstream, position: number, filter: EventFilter | null | undefined): boolean {
  if (!filter) return true;
  const entry = u.entries[position];
  const inList = (list: readonly string[] | null | undefined, value: unknown) => {
    if (list == null) return true;
    const text = refText(value);
    return text !== undefined && list.includes(text);
  };
  if (!inList(filter.levels, field(entry, 'level'))) return false;
  if (!inList(filter.eventTypes, field(entry, 'eventType'))) return false;
  if (!inList(filter.nodeIds, field(entry, 'nodeId'))) return false;
  const ms = u.ms[position]!;
  // NaN compares false: an event without a readable time never matches a time filter.
  // A bound inside a millisecond is after that millisecond's events: before keeps them, after leaves them out.
  if (filter.createdAfter != null && !(ms > filter.createdAfter.ms)) return false;
  if (filter.createdBefore != null && !(ms < filter.createdBefore.ms || (filter.createdBefore.insideMs && ms === filter.createdBefore.ms))) return false;
  return true;
}

/** Positions sorted by sort time (ASC or DESC); equal sort times keep upstream position in both orders. */
function ordered(u: Upstream, order: EventOrder): number[] {
  const times = sortTimes(u);
  const compare = (a: number, b: number) => (a < b ? -1 : a > b ? 1 : 0);
  return times
    .map((_, position) => position)
    .sort((a, b) => (order === 'DESC' ? compare(times[b]!, times[a]!) : compare(times[a]!, times[b]!)) || a - b);
}

/** The reference world for one query: all positions in order, the filtered ones, and each position's rank among all. */
function world(u: Upstream, filter: EventFilter | null | undefined, order: EventOrder | null | undefined) {
  const all = ordered(u, order ?? 'ASC');
  const rank: number[] = [];
  all.forEach((position, i) => (rank[position] = i));
  const filtered = all.filter((position) => matches(u, position, filter));
  return { all, filtered, rankOf: (position: number) => rank[position]! };
}

/** The cursor the field must hand out for the event at a position. */
function refCursor(u: Upstream, position: number, executionId = EXECUTION_ID): string {
  return encodeEventCursor(executionId, refId(u.entries[position], position), refOccurrences(u)[position]!);
}

/** A v1 cursor (`[1, executionId, eventId]`), built by hand as the gateway built them before occurrences. */
function v1Cursor(executionId: string, eventId: string): string {
  return forgedCursor(JSON.stringify([1, executionId, eventId]));
}

/** A cursor around any text with the checksum it needs: the checksum is no secret, so any client can make one. */
function forgedCursor(text: string): string {
  const payload = Buffer.from(text).toString('base64url');
  return `${payload}.${createHash('sha256').update(payload).digest('base64url').slice(0, 10)}`;
}

const positionsOf = (page: EventPage) => page.edges.map((edge) => edge.node.position);

/** startCursor/endCursor are the edges' own; cursors within a page are distinct. */
function expectCursorsConsistent(page: EventPage): void {
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
  expect(new Set(page.edges.map((edge) => edge.cursor)).size).toBe(page.edges.length);
}

/** Each edge's node is the entry at its position, of this execution, and its cursor names that id's occurrence. */
function expectEdgesFaithful(page: EventPage, u: Upstream, execution: Execution): void {
  const occurrences = refOccurrences(u);
  for (const { cursor, node } of page.edges) {
    const entry = u.entries[node.position];
    expect(node.execution).toBe(execution);
    if (isObject(entry)) expect(node.source).toBe(entry);
    else expect(node.source).toEqual({});
    const id = refId(entry, node.position);
    expect(eventIdOf(node.source, node.position)).toBe(id);
    expect(decodeEventCursor(cursor)).toEqual(
      id.length > LONGEST_ID_IN_CURSOR
        ? { executionId: execution.id, eventId: eventIdDigest(id), occurrence: occurrences[node.position], digest: true }
        : { executionId: execution.id, eventId: id, occurrence: occurrences[node.position] },
    );
    expect(cursor).toBe(refCursor(u, node.position, execution.id));
  }
}

function expectBadUserInput(run: () => unknown, ...fragments: string[]): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected BAD_USER_INPUT to be thrown').toBeDefined();
  const error = thrown as GraphQLError;
  expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

/** A good cursor whose event the reading lacks (a lagging replica, or events dropped): UPSTREAM_BAD_RESPONSE to ask again, not the client's fault. */
function expectCursorEventMissing(run: () => unknown, ...fragments: string[]): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected UPSTREAM_BAD_RESPONSE to be thrown').toBeDefined();
  const error = thrown as GraphQLError;
  expect(error.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
  expect(error.extensions).not.toHaveProperty('retryable');
  for (const fragment of ['ask again shortly with the same cursor', 'start again without a cursor', ...fragments]) expect(error.message).toContain(fragment);
}

// ---------------------------------------------------------------- generators

function isoAt(ms: number, offsetMinutes: number, colon = true): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${colon ? ':' : ''}${String(abs % 60).padStart(2, '0')}`;
}

const SPELLINGS = ['canonical', 'canonical', 'canonical', 'offset', 'offset-no-colon', 'negative-offset', 'lowercase', 'space', 'no-fraction', 'micro', 'no-offset', 'epoch', 'epoch-seconds', 'epoch-text'] as const;

/** The same instant written another way the reader accepts. */
function spell(ms: number, spelling: (typeof SPELLINGS)[number]): unknown {
  const iso = new Date(ms).toISOString();
  switch (spelling) {
    case 'canonical':
      return iso;
    case 'offset':
      return isoAt(ms, 60);
    case 'offset-no-colon':
      return isoAt(ms, 330, false);
    case 'negative-offset':
      return isoAt(ms, -90);
    case 'lowercase':
      return iso.replace('T', 't').replace('Z', 'z');
    case 'space':
      return iso.replace('T', ' ');
    case 'no-fraction':
      return iso.replace('.000', '');
    case 'micro':
      return iso.replace('Z', '999Z');
    case 'no-offset':
      return iso.slice(0, -1);
    case 'epoch':
      return ms;
    case 'epoch-seconds':
      return ms / 1000;
    case 'epoch-text':
      return String(ms);
  }
}

interface TimeSpec {
  value: unknown;
  ms: number;
}

/** What createdAt holds, and the instant it names (NaN when it names none). */
const timeArb: fc.Arbitrary<TimeSpec> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: TICKS - 1 }), fc.constantFrom(...SPELLINGS))
      .map(([tick, spelling]) => ({ value: spell(BASE_MS + tick * 1000, spelling), ms: BASE_MS + tick * 1000 })),
  },
  { weight: 1, arbitrary: fc.constant<TimeSpec>({ value: '2026-03-01', ms: BARE_DATE_MS }) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom<unknown>(ABSENT, ABSENT, null, '', 'soon', '2026-02-30T12:00:00.000Z', '2026-03-01T12:00Z', '2026-03-01T24:00:00Z', {}, [], true)
      .map((value) => ({ value, ms: Number.NaN })),
  },
);

const LONG_ID_A = 'a'.repeat(7_000);
const LONG_ID_B = `${'a'.repeat(LONGEST_ID_IN_CURSOR)}b`;
/** Long ids UTF-8 cannot carry apart: it turns every lone surrogate into U+FFFD. */
const LONG_LONE_IDS = ['\ud800', '\udfff', '\ufffd'].map((tail) => `${'s'.repeat(LONGEST_ID_IN_CURSOR)}${tail}`);

const idArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant<unknown>(UNIQUE) },
  { weight: 4, arbitrary: fc.constantFrom<unknown>('dup_a', 'dup_a', 'dup_b', 'dup_c', '7', '#1', '#3') },
  // Ids a cursor cannot carry as they are (more than LONGEST_ID_IN_CURSOR characters), and one just short of that.
  { weight: 1, arbitrary: fc.constantFrom<unknown>(LONG_ID_A, LONG_ID_A, LONG_ID_B, 'l'.repeat(LONGEST_ID_IN_CURSOR)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(...LONG_LONE_IDS) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(7, 3, 1.5) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>(ABSENT, null, '', {}, false, ['dup_a']) },
);

/** Text fields: mostly the usual values, sometimes a number, a boolean, an object, an array, null or nothing. */
function textArb(values: readonly string[], odd: readonly unknown[]): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>(...values) }, { weight: 2, arbitrary: fc.constantFrom<unknown>(...odd) });
}

const objectSpecArb = fc.record({
  id: idArb,
  time: timeArb,
  level: textArb(LEVELS, [ABSENT, null, 3, true, { level: 'info' }, ['info'], 'fatal']),
  eventType: textArb(TYPES, [ABSENT, null, 42, false, { type: 'log' }]),
  nodeId: textArb(NODES, [ABSENT, ABSENT, null, null, 1, ['node_1']]),
});

type EventSpec = { kind: 'object'; spec: typeof objectSpecArb extends fc.Arbitrary<infer T> ? T : never } | { kind: 'other'; value: unknown };

/** Mostly objects; now and then an entry that is not one (it reads as an event without fields). */
const eventSpecArb: fc.Arbitrary<EventSpec> = fc.oneof(
  { weight: 20, arbitrary: objectSpecArb.map((spec) => ({ kind: 'object' as const, spec })) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 7, 'ev', [], true).map((value) => ({ kind: 'other' as const, value })) },
);

const timeOf = (spec: EventSpec) => (spec.kind === 'object' ? spec.spec.time.ms : Number.NaN);

/** The raw entries for specs placed from `firstPosition` on in upstream's list. */
function build(specs: readonly EventSpec[], firstPosition = 0): Upstream {
  const entries = specs.map((spec, i): unknown => {
    if (spec.kind === 'other') return spec.value;
    const { id, time, level, eventType, nodeId } = spec.spec;
    const entry: Record<string, unknown> = {};
    const put = (name: string, value: unknown) => {
      if (value !== ABSENT) entry[name] = value;
    };
    put('id', id === UNIQUE ? `ev_${firstPosition + i}` : id);
    put('executionId', EXECUTION_ID);
    put('createdAt', time.value);
    put('level', level);
    put('eventType', eventType);
    put('nodeId', nodeId);
    put('message', `event at ${firstPosition + i}`);
    return entry;
  });
  return { entries, ms: specs.map(timeOf) };
}

/** Dated specs sorted by instant among the dated slots; undated ones stay where they are, so sort times ascend as sent. */
function ascendingAsSent(specs: readonly EventSpec[]): EventSpec[] {
  const slots = specs.flatMap((spec, i) => (Number.isNaN(timeOf(spec)) ? [] : [i]));
  const dated = slots.map((i) => specs[i]!).sort((a, b) => timeOf(a) - timeOf(b));
  const result = [...specs];
  slots.forEach((slot, k) => (result[slot] = dated[k]!));
  return result;
}

/**
 * Up to `maxLength` events, lengths spread over the whole range (fast-check's
 * default size would keep them under about 10); half the time already ascending
 * as upstream usually sends them (ties in any order).
 */
function upstreamArb(maxLength: number, minLength = 0): fc.Arbitrary<Upstream> {
  return fc
    .tuple(fc.array(eventSpecArb, { minLength, maxLength, size: 'max' }), fc.boolean())
    .map(([specs, ascending]) => build(ascending ? ascendingAsSent(specs) : specs));
}

const eventsArb = upstreamArb(40);
const nonEmptyEventsArb = upstreamArb(40, 1);

function listArb(values: readonly string[]) {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.constant([] as string[]), weight: 1 },
    { arbitrary: fc.subarray([...values], { minLength: 1 }), weight: 4 },
  );
}

/**
 * An instant on, or one millisecond either side of, a tick (and ticks outside the range, and midnight), at the
 * start of its millisecond or inside it.
 */
const instantArb: fc.Arbitrary<Instant> = fc.tuple(
  fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.integer({ min: -1, max: TICKS }), fc.constantFrom(-1, 0, 0, 1)).map(([tick, delta]) => BASE_MS + tick * 1000 + delta) },
    { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1).map((delta) => BARE_DATE_MS + delta) },
  ),
  fc.boolean(),
).map(([ms, insideMs]) => ({ ms, insideMs }));

/**
 * Filters whose lists hold the usual values, the text of the numbers and
 * booleans sent (`3`, `true`, `42`, `false`, `1`), and the text an object or
 * array would have if it were stringified (`[object Object]`, `info`, `node_1`).
 */
const filterArb: fc.Arbitrary<EventFilter | null | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 1 },
  { arbitrary: fc.constant(null), weight: 1 },
  {
    arbitrary: fc.record(
      {
        levels: listArb([...LEVELS, 'fatal', '3', 'true', '[object Object]', 'unknown']),
        eventTypes: listArb([...TYPES, '42', 'false', '[object Object]']),
        nodeIds: listArb([...NODES, '1', 'null']),
        createdAfter: fc.option(instantArb, { nil: undefined, freq: 3 }),
        createdBefore: fc.option(instantArb, { nil: undefined, freq: 3 }),
      },
      { requiredKeys: [] },
    ),
    weight: 6,
  },
);

const orderArb: fc.Arbitrary<EventOrder | null | undefined> = fc.constantFrom('ASC', 'DESC', 'ASC', 'DESC', null, undefined);

/** Cursors of every event by position, taken from the field itself (unfiltered, one page). */
function cursorsOf(u: Upstream, execution = execOf(u.entries)): string[] {
  const page = pageEvents(execution, { first: 100 });
  expect(page.edges).toHaveLength(u.entries.length);
  const cursors: string[] = [];
  for (const edge of page.edges) cursors[edge.node.position] = edge.cursor;
  return cursors;
}

type Direction = 'forward' | 'backward';

/**
 * A complete walk as a client writes it: `first: size, after: endCursor` while
 * hasNextPage, or `last: size, before: startCursor` while hasPreviousPage.
 * Throws (failing the property) when it has not ended after `maxPages`.
 */
function walk(execution: Execution, direction: Direction, size: number, filter: EventFilter | null | undefined, order: EventOrder, maxPages: number): number[] {
  const pages: number[][] = [];
  let cursor: string | null = null;
  for (let made = 0; ; made++) {
    if (made >= maxPages) throw new Error(`${direction} walk (size ${size}, ${order}) has not ended after ${maxPages} pages: ${JSON.stringify(pages)}`);
    const page: EventPage = pageEvents(
      execution,
      direction === 'forward' ? { first: size, after: cursor, filter, order } : { last: size, before: cursor, filter, order },
    );
    const positions = positionsOf(page);
    if (direction === 'forward') pages.push(positions);
    else pages.unshift(positions);
    if (direction === 'forward' ? !page.pageInfo.hasNextPage : !page.pageInfo.hasPreviousPage) break;
    cursor = direction === 'forward' ? page.pageInfo.endCursor : page.pageInfo.startCursor;
  }
  return pages.flat();
}

// ---------------------------------------------------------------- properties

describe('the reference model', () => {
  it('orders a worked example as the rule says: undated events follow the closest earlier dated one, in both orders', () => {
    const at = (tick: number) => new Date(BASE_MS + tick * 1000).toISOString();
    const u: Upstream = {
      entries: [{ id: 'u0' }, { id: 'a', createdAt: at(2) }, { id: 'b', createdAt: 'later' }, { id: 'c', createdAt: at(1) }, { id: 'd', createdAt: at(2) }],
      ms: [Number.NaN, BASE_MS + 2000, Number.NaN, BASE_MS + 1000, BASE_MS + 2000],
    };
    const execution = execOf(u.entries);
    expect(ordered(u, 'ASC')).toEqual([0, 3, 1, 2, 4]);
    expect(ordered(u, 'DESC')).toEqual([1, 2, 4, 3, 0]);
    expect(positionsOf(pageEvents(execution, { order: 'ASC' }))).toEqual([0, 3, 1, 2, 4]);
    expect(positionsOf(pageEvents(execution, { order: 'DESC' }))).toEqual([1, 2, 4, 3, 0]);
    // Undated events never match a time bound, whichever side.
    const after = { ms: BASE_MS, insideMs: false };
    expect(positionsOf(pageEvents(execution, { filter: { createdAfter: after } }))).toEqual([3, 1, 4]);
    expect(positionsOf(pageEvents(execution, { filter: { createdBefore: { ms: BASE_MS + 10_000, insideMs: false } } }))).toEqual([3, 1, 4]);
  });

  it('treats an instant outside years 0000–9999 (served as null) as undated: upstream place, no time filter match', () => {
    const at = (tick: number) => new Date(BASE_MS + tick * 1000).toISOString();
    for (const outside of ['9999-12-31T23:30:00-01:00', '9999-12-31T23:59:60Z', 253_402_300_800_000, -62_167_219_200_001]) {
      const u: Upstream = {
        entries: [{ id: 'a', createdAt: at(1) }, { id: 'b', createdAt: outside }, { id: 'c', createdAt: at(2) }],
        ms: [BASE_MS + 1000, Number.NaN, BASE_MS + 2000],
      };
      const execution = execOf(u.entries);
      expect(positionsOf(pageEvents(execution, { order: 'ASC' }))).toEqual(ordered(u, 'ASC'));
      expect(positionsOf(pageEvents(execution, { order: 'DESC' }))).toEqual(ordered(u, 'DESC'));
      expect(positionsOf(pageEvents(execution, { filter: { createdAfter: { ms: BASE_MS + 1500, insideMs: false } } }))).toEqual([2]);
      expect(positionsOf(pageEvents(execution, { filter: { createdBefore: { ms: BASE_MS + 1500, insideMs: false } } }))).toEqual([0]);
    }
  });
});

describe('pageEvents against the reference', () => {
  it('walking forward with first/after yields exactly the filtered, ordered events, with correct pageInfo on every page', () => {
    fc.assert(
      fc.property(eventsArb, filterArb, orderArb, fc.integer({ min: 1, max: 7 }), (u, filter, order, size) => {
        const execution = execOf(u.entries);
        const { filtered } = world(u, filter, order);
        const seen: number[] = [];
        let after: string | null = null;
        for (let pageNo = 0; ; pageNo++) {
          expect(pageNo, 'the walk ends').toBeLessThanOrEqual(filtered.length + 1);
          const args: EventPageArgs = { first: size, after, filter, order };
          const page = pageEvents(execution, args);
          expect(positionsOf(page)).toEqual(filtered.slice(seen.length, seen.length + size));
          expect(page.totalCount).toBe(filtered.length);
          expect(page.pageInfo.hasNextPage).toBe(seen.length + size < filtered.length);
          // after is always a filtered event here, so one exists at or before it.
          expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
          expectCursorsConsistent(page);
          expectEdgesFaithful(page, u, execution);

          // Every edge's cursor is a position: what follows it and what precedes it.
          for (const [i, edge] of page.edges.entries()) {
            const at = seen.length + i;
            const next = pageEvents(execution, { first: 1, after: edge.cursor, filter, order });
            expect(positionsOf(next)).toEqual(filtered.slice(at + 1, at + 2));
            const previous = pageEvents(execution, { last: 1, before: edge.cursor, filter, order });
            expect(positionsOf(previous)).toEqual(filtered.slice(Math.max(0, at - 1), at));
          }

          seen.push(...positionsOf(page));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        expect(seen).toEqual(filtered);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('walking backward with last/before yields exactly the filtered, ordered events, with correct pageInfo on every page', () => {
    fc.assert(
      fc.property(eventsArb, filterArb, orderArb, fc.integer({ min: 1, max: 7 }), (u, filter, order, size) => {
        const execution = execOf(u.entries);
        const { filtered } = world(u, filter, order);
        let seen: number[] = [];
        let before: string | null = null;
        for (let pageNo = 0; ; pageNo++) {
          expect(pageNo, 'the walk ends').toBeLessThanOrEqual(filtered.length + 1);
          const page: EventPage = pageEvents(execution, { last: size, before, filter, order });
          const end = filtered.length - seen.length;
          expect(positionsOf(page)).toEqual(filtered.slice(Math.max(0, end - size), end));
          expect(page.totalCount).toBe(filtered.length);
          expect(page.pageInfo.hasPreviousPage).toBe(end - size > 0);
          // before is always a filtered event here, so one exists at or after it.
          expect(page.pageInfo.hasNextPage).toBe(before !== null);
          expectCursorsConsistent(page);
          expectEdgesFaithful(page, u, execution);
          seen = [...positionsOf(page), ...seen];
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.pageInfo.startCursor;
        }
        expect(seen).toEqual(filtered);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('without first or last, serves the first 20 filtered events', () => {
    fc.assert(
      fc.property(upstreamArb(60), filterArb, orderArb, (u, filter, order) => {
        const execution = execOf(u.entries);
        const { filtered } = world(u, filter, order);
        const page = pageEvents(execution, { filter, order });
        expect(positionsOf(page)).toEqual(filtered.slice(0, 20));
        expect(page.totalCount).toBe(filtered.length);
        expect(page.pageInfo.hasNextPage).toBe(filtered.length > 20);
        expect(page.pageInfo.hasPreviousPage).toBe(false);
        expectCursorsConsistent(page);
        expectEdgesFaithful(page, u, execution);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  /**
   * Cursors come from ASC unfiltered pages and are used with any filter and
   * order: a cursor marks a position among all events (the filter may change
   * between pages, and the cursor's own event may not match it). Many queries
   * run on the same events array, so cached orderings and filters (more than the
   * 16 remembered) are reused and evicted along the way.
   */
  it('after/before windows (any cursors, any filter, first and/or last) match the spec', () => {
    const sizeArb = fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined, freq: 2 });
    const queryArb = fc.record({
      filter: filterArb,
      order: orderArb,
      after: fc.option(fc.nat(), { nil: undefined, freq: 2 }),
      before: fc.option(fc.nat(), { nil: undefined, freq: 2 }),
      first: sizeArb,
      last: sizeArb,
    });
    fc.assert(
      fc.property(nonEmptyEventsArb, fc.array(queryArb, { minLength: 1, maxLength: 25 }), (u, queries) => {
        const execution = execOf(u.entries);
        const cursors = cursorsOf(u, execution);
        const n = u.entries.length;
        for (const query of queries) {
          const afterAt = query.after === undefined ? undefined : query.after % n;
          const beforeAt = query.before === undefined ? undefined : query.before % n;
          // "before" alone, without a size, is covered by its own contract test below.
          const first = query.first === undefined && query.last === undefined && !(beforeAt !== undefined && afterAt === undefined) ? 20 : query.first;
          if (first === undefined && query.last === undefined) continue;
          const last = query.last;

          const { filtered, rankOf } = world(u, query.filter, query.order);
          const window = filtered.filter(
            (position) =>
              (afterAt === undefined || rankOf(position) > rankOf(afterAt)) && (beforeAt === undefined || rankOf(position) < rankOf(beforeAt)),
          );
          let expected = window;
          if (first !== undefined) expected = expected.slice(0, first);
          if (last !== undefined) expected = expected.slice(Math.max(0, expected.length - last));

          const hasPreviousPage =
            last !== undefined ? window.length > last : afterAt !== undefined && filtered.some((position) => rankOf(position) <= rankOf(afterAt));
          const hasNextPage =
            first !== undefined ? window.length > first : beforeAt !== undefined && filtered.some((position) => rankOf(position) >= rankOf(beforeAt));

          const page = pageEvents(execution, {
            first: query.first,
            last: query.last,
            after: afterAt === undefined ? undefined : cursors[afterAt],
            before: beforeAt === undefined ? undefined : cursors[beforeAt],
            filter: query.filter,
            order: query.order,
          });
          expect(positionsOf(page)).toEqual(expected);
          expect(page.pageInfo.hasPreviousPage).toBe(hasPreviousPage);
          expect(page.pageInfo.hasNextPage).toBe(hasNextPage);
          expect(page.totalCount).toBe(filtered.length);
          expectCursorsConsistent(page);
          expectEdgesFaithful(page, u, execution);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('pages a frozen events array (which cannot carry its index) exactly as an unfrozen copy', () => {
    const project = (page: EventPage) => ({
      edges: page.edges.map((edge) => ({ cursor: edge.cursor, position: edge.node.position, source: edge.node.source })),
      pageInfo: page.pageInfo,
      totalCount: page.totalCount,
    });
    fc.assert(
      fc.property(eventsArb, filterArb, orderArb, fc.integer({ min: 0, max: 7 }), (u, filter, order, size) => {
        const execution = execOf([...u.entries]);
        const frozen = execOf(Object.freeze([...u.entries]));
        for (const args of [{ first: size, filter, order }, { last: size, filter, order }]) {
          // Twice each: the second call reads the index the first one left on the array.
          const fromCopy = [pageEvents(execution, args), pageEvents(execution, args)].map(project);
          const fromFrozen = [pageEvents(frozen, args), pageEvents(frozen, args)].map(project);
          expect(fromFrozen).toEqual(fromCopy);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ties keep upstream order in DESC too: DESC is a stable sort, not a reversal of ASC', () => {
    fc.assert(
      fc.property(eventsArb, (u) => {
        const execution = execOf(u.entries);
        const asc = positionsOf(pageEvents(execution, { first: 100, order: 'ASC' }));
        const desc = positionsOf(pageEvents(execution, { first: 100, order: 'DESC' }));
        expect(asc).toEqual(ordered(u, 'ASC'));
        expect(desc).toEqual(ordered(u, 'DESC'));
        // Within one sort time (undated events included), both orders list events as upstream sent them.
        const times = sortTimes(u);
        for (const sequence of [asc, desc]) {
          const groups = new Map<number, number[]>();
          for (const position of sequence) groups.set(times[position]!, [...(groups.get(times[position]!) ?? []), position]);
          for (const group of groups.values()) expect(group).toEqual([...group].sort((a, b) => a - b));
        }
        // An undated event comes right after the closest earlier dated one (or its dated ties and their undated followers).
        for (const sequence of [asc, desc]) {
          for (const [i, position] of sequence.entries()) {
            if (!Number.isNaN(u.ms[position]!) || times[position] === Number.NEGATIVE_INFINITY) continue;
            const previous = sequence[i - 1]!;
            expect(times[previous]).toBe(times[position]);
            expect(previous).toBeLessThan(position);
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('complete walks over duplicated ids, missing ids, equal and missing timestamps (the issue)', () => {
  /**
   * "Over event lists of up to 50 events with duplicated ids, missing ids, equal
   * and missing timestamps, and unsorted order: every complete walk, forward and
   * backward, in both orders, for every page size from 1 to N+1 and with
   * filters, ends and returns every matching event exactly once."
   */
  it('every complete walk, forward and backward, in both orders, for every page size 1..N+1, ends and returns every matching event exactly once', () => {
    fc.assert(
      fc.property(upstreamArb(50), filterArb, (u, filter) => {
        const execution = execOf(u.entries);
        const n = u.entries.length;
        for (const order of ['ASC', 'DESC'] as const) {
          const { filtered } = world(u, filter, order);
          for (let size = 1; size <= n + 1; size++) {
            // A page per `size` events, one more for an empty last page.
            const maxPages = Math.ceil(filtered.length / size) + 1;
            for (const direction of ['forward', 'backward'] as const) {
              const walked = walk(execution, direction, size, filter, order, maxPages);
              const label = `${direction} ${order} size ${size}`;
              expect(new Set(walked).size, `${label}: no event twice`).toBe(walked.length);
              expect([...walked].sort((a, b) => a - b), `${label}: every matching event`).toEqual([...filtered].sort((a, b) => a - b));
              expect(walked, `${label}: in order`).toEqual(filtered);
            }
          }
        }
      }),
      { numRuns: 100 },
    );
  });

  it('two events with the same id have distinct cursors, each naming its own event', () => {
    fc.assert(
      fc.property(upstreamArb(50, 2), (u) => {
        const execution = execOf(u.entries);
        const cursors = cursorsOf(u, execution);
        expect(new Set(cursors).size).toBe(cursors.length);
        const { all } = world(u, null, 'ASC');
        for (const [position, cursor] of cursors.entries()) {
          const after = pageEvents(execution, { first: 100, after: cursor });
          expect(positionsOf(after)).toEqual(all.slice(all.indexOf(position) + 1));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('long ids that differ only in code units UTF-8 cannot carry (lone surrogates) get distinct cursors, and a walk of one event a page visits each once', () => {
    // Surrogates (paired, lone, reversed), U+FFFD (what UTF-8 makes of a lone one) and bytes a UTF-16 form could share with UTF-8.
    const unitArb = fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }), fc.constantFrom(0xfffd, 0xff, 0xfe, 0x61, 0x00), fc.integer({ min: 0, max: 0xffff }));
    const tailArb = fc.array(unitArb, { minLength: 1, maxLength: 4 }).map((units) => String.fromCharCode(...units));
    fc.assert(
      fc.property(fc.uniqueArray(tailArb, { minLength: 2, maxLength: 6 }), fc.nat(), (tails, duplicate) => {
        const ids = tails.map((tail) => `${'x'.repeat(LONGEST_ID_IN_CURSOR)}${tail}`);
        // One id twice: its two events are told apart by occurrence, not by digest.
        ids.push(ids[duplicate % ids.length]!);
        const execution = execOf(ids.map((id, position) => ({ id, createdAt: new Date(BASE_MS + position * 1000).toISOString() })));
        const edges = pageEvents(execution, { first: 100 }).edges;
        expect(new Set(edges.map((edge) => edge.cursor)).size).toBe(ids.length);
        for (const direction of ['forward', 'backward'] as const) {
          const walked = walk(execution, direction, 1, null, 'ASC', ids.length + 1);
          expect(walked, direction).toEqual(ids.map((_, position) => position));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a well-formed long id is named by the sha256 of its UTF-8, as cursors handed out before lone surrogates were told apart', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), (tail) => {
        const id = `${'w'.repeat(LONGEST_ID_IN_CURSOR)}${tail}`;
        expect(eventIdDigest(id)).toBe(createHash('sha256').update(id, 'utf8').digest('base64url'));
        const execution = execOf([{ id, createdAt: new Date(BASE_MS).toISOString() }, { id: 'next', createdAt: new Date(BASE_MS + 1000).toISOString() }]);
        const handedOut = `${Buffer.from(JSON.stringify([3, EXECUTION_ID, createHash('sha256').update(id, 'utf8').digest('base64url'), 0])).toString('base64url')}`;
        const cursor = `${handedOut}.${createHash('sha256').update(handedOut).digest('base64url').slice(0, 10)}`;
        expect(positionsOf(pageEvents(execution, { first: 10, after: cursor }))).toEqual([1]);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('the start cursor ([0, executionId], what a live update that has gone past no event hands out) is before every event', () => {
    fc.assert(
      fc.property(upstreamArb(30), filterArb, orderArb, (u, filter, order) => {
        const execution = execOf(u.entries);
        const start = encodeStartCursor(EXECUTION_ID);
        expect(decodeEventCursor(start)).toEqual({ executionId: EXECUTION_ID, eventId: '', occurrence: 0, start: true });
        const { filtered } = world(u, filter, order);
        const after = pageEvents(execution, { first: 100, after: start, filter, order });
        expect(positionsOf(after)).toEqual(filtered);
        expect(after.pageInfo.hasPreviousPage).toBe(false);
        expect(positionsOf(pageEvents(execution, { last: 100, before: start, filter, order }))).toEqual([]);
        expect(positionAfter(execution, 'eventsAfter', decodeEventCursor(start)!)).toBe(0);
        expect(() => pageEvents(execOf(u.entries, 'ex_other'), { after: start })).toThrow(/cursor of execution/);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a cursor made again (kept since it was first made) names its own event, whatever ids share its characters', () => {
    // Ids of NULs, colons and digits: the pieces a key of the kept cursors is made of.
    const piece = fc.string({ unit: fc.constantFrom('\u0000', ':', '1', '2', 'a'), maxLength: 6 });
    const triple = fc.tuple(piece, piece, fc.nat(3));
    fc.assert(
      fc.property(fc.array(triple, { minLength: 2, maxLength: 12 }), (triples) => {
        for (const round of [0, 1]) {
          for (const [executionId, eventId, occurrence] of triples) {
            const cursor = encodeEventCursor(executionId, eventId, occurrence);
            expect(decodeEventCursor(cursor), `round ${round}`).toEqual({ executionId, eventId, occurrence });
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a v1 cursor ([1, executionId, eventId], made before occurrences) still works and names the first occurrence', () => {
    fc.assert(
      fc.property(upstreamArb(50, 1), filterArb, orderArb, fc.nat(), (u, filter, order, pick) => {
        const execution = execOf(u.entries);
        const ids = u.entries.map(refId);
        const id = ids[pick % ids.length]!;
        fc.pre(id.length <= LONGEST_ID_IN_CURSOR);
        const firstAt = ids.indexOf(id);
        const v1 = v1Cursor(EXECUTION_ID, id);
        expect(v1).toBe(encodeEventCursor(EXECUTION_ID, id, 0));
        expect(decodeEventCursor(v1)).toEqual({ executionId: EXECUTION_ID, eventId: id, occurrence: 0 });
        const { filtered, rankOf } = world(u, filter, order);
        expect(positionsOf(pageEvents(execution, { first: 100, after: v1, filter, order }))).toEqual(filtered.filter((p) => rankOf(p) > rankOf(firstAt)));
        expect(positionsOf(pageEvents(execution, { last: 100, before: v1, filter, order }))).toEqual(filtered.filter((p) => rankOf(p) < rankOf(firstAt)));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a cursor naming occurrence k of an id that now has fewer occurrences is refused as UPSTREAM_BAD_RESPONSE, to ask again', () => {
    fc.assert(
      fc.property(upstreamArb(50, 2), fc.nat(), fc.boolean(), fc.constantFrom('after', 'before') as fc.Arbitrary<'after' | 'before'>, (u, pick, truncate, name) => {
        const occurrences = refOccurrences(u);
        const later = occurrences.flatMap((occurrence, position) => (occurrence > 0 ? [position] : []));
        fc.pre(later.length > 0);
        const position = later[pick % later.length]!;
        const id = refId(u.entries[position], position);
        const cursor = cursorsOf(u)[position]!;
        expect(decodeEventCursor(cursor)?.occurrence).toBe(occurrences[position]);
        // Fewer occurrences: the list ends before it, or that entry now carries another id (and so does every later one with this id).
        const fewer = truncate
          ? u.entries.slice(0, position)
          : u.entries.map((entry, p) => (p >= position && refId(entry, p) === id ? { ...(isObject(entry) ? entry : {}), id: `other_${p}` } : entry));
        const named = id.length > LONGEST_ID_IN_CURSOR ? eventIdDigest(id) : id;
        expectCursorEventMissing(() => pageEvents(execOf(fewer), { [name]: cursor, first: name === 'after' ? 5 : undefined, last: name === 'before' ? 5 : undefined }), `\`${name}\``, named, `occurrence ${occurrences[position]! + 1}`);
        // The earlier occurrences still page.
        const firstAt = u.entries.findIndex((entry, p) => refId(entry, p) === id);
        expect(() => pageEvents(execOf(fewer), { after: cursorsOf(u)[firstAt] })).not.toThrow();
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a cursor keeps naming the same event after upstream appends events (duplicates of existing ids, undated ones, out of order)', () => {
    const appendedArb = fc.array(
      fc.oneof(
        { weight: 2, arbitrary: eventSpecArb.map((spec) => ({ spec })) },
        { weight: 1, arbitrary: fc.nat().map((copyOf) => ({ copyOf })) },
        { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.constantFrom<unknown>(ABSENT, null, 'never')).map(([copyOf, createdAt]) => ({ copyOf, createdAt })) },
      ),
      { minLength: 1, maxLength: 15 },
    );
    fc.assert(
      fc.property(nonEmptyEventsArb, appendedArb, fc.nat(), filterArb, orderArb, (u, appended, pick, filter, order) => {
        const at = pick % u.entries.length;
        const cursor = cursorsOf(u)[at]!;
        const grown: Upstream = { entries: [...u.entries], ms: [...u.ms] };
        for (const item of appended) {
          if ('spec' in item) {
            const one = build([item.spec], grown.entries.length);
            grown.entries.push(one.entries[0]);
            grown.ms.push(one.ms[0]!);
            continue;
          }
          // A copy of an existing event: its id again; with createdAt removed or unreadable when asked.
          const source = item.copyOf % u.entries.length;
          const copy = structuredClone(u.entries[source]);
          if ('createdAt' in item && isObject(copy)) {
            if (item.createdAt === ABSENT) delete copy.createdAt;
            else copy.createdAt = item.createdAt;
            grown.ms.push(Number.NaN);
          } else grown.ms.push(u.ms[source]!);
          grown.entries.push(copy);
        }
        const execution = execOf(grown.entries);
        const { filtered, rankOf } = world(grown, filter, order);
        const page = pageEvents(execution, { first: 100, after: cursor, filter, order });
        expect(positionsOf(page)).toEqual(filtered.filter((position) => rankOf(position) > rankOf(at)));
        expect(page.totalCount).toBe(filtered.length);
        expectEdgesFaithful(page, grown, execution);
        const back = pageEvents(execution, { last: 100, before: cursor, filter, order });
        expect(positionsOf(back)).toEqual(filtered.filter((position) => rankOf(position) < rankOf(at)));
        // And the grown list hands out the very same cursor for that event.
        expect(cursorsOf(grown, execution)[at]).toBe(cursor);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('pageEvents input errors', () => {
  it('rejects first/last outside 0..100 with BAD_USER_INPUT naming the argument and the limit, and accepts 0..100', () => {
    const outside = fc.oneof(fc.integer({ min: -1_000_000, max: -1 }), fc.integer({ min: 101, max: 1_000_000 }));
    fc.assert(
      fc.property(eventsArb, fc.constantFrom('first', 'last') as fc.Arbitrary<'first' | 'last'>, outside, fc.integer({ min: 0, max: 100 }), (u, name, bad, good) => {
        const execution = execOf(u.entries);
        expectBadUserInput(() => pageEvents(execution, { [name]: bad }), `\`${name}\``, '100');
        const page = pageEvents(execution, { [name]: good });
        expect(page.edges).toHaveLength(Math.min(good, u.entries.length));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects malformed, tampered and foreign cursors with BAD_USER_INPUT, dangling ones with UPSTREAM_BAD_RESPONSE, never a page', () => {
    fc.assert(
      fc.property(
        nonEmptyEventsArb,
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 60 }),
        fc.constantFrom('after', 'before') as fc.Arbitrary<'after' | 'before'>,
        (u, pick, position, garbage, name) => {
          const execution = execOf(u.entries);
          const at = pick % u.entries.length;
          const cursor = cursorsOf(u, execution)[at]!;
          const id = refId(u.entries[at], at);

          // Random text is not a cursor (unless it happens to be this very one).
          if (garbage !== cursor) expectBadUserInput(() => pageEvents(execution, { [name]: garbage }), `\`${name}\``);

          // Any single-character change is detected.
          const i = position % cursor.length;
          const replacement = cursor[i] === 'A' ? 'B' : 'A';
          const tampered = cursor.slice(0, i) + replacement + cursor.slice(i + 1);
          expectBadUserInput(() => pageEvents(execution, { [name]: tampered }), `\`${name}\``);
          // Truncated.
          expectBadUserInput(() => pageEvents(execution, { [name]: cursor.slice(0, i) }), `\`${name}\``);

          // A cursor of another execution, for an event with the same id and occurrence.
          const foreign = cursorsOf(u, execOf(u.entries, OTHER_EXECUTION_ID))[at]!;
          expectBadUserInput(() => pageEvents(execution, { [name]: foreign }), OTHER_EXECUTION_ID, EXECUTION_ID);

          // A cursor of an event upstream no longer returns: every entry with that id now carries another (positions unchanged).
          const without = u.entries.map((entry, p) => (refId(entry, p) === id ? { ...(isObject(entry) ? entry : {}), id: `gone_${p}` } : entry));
          expectCursorEventMissing(() => pageEvents(execOf(without), { [name]: cursor }), id.length > LONGEST_ID_IN_CURSOR ? eventIdDigest(id) : id);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('the cursor a live update hands out (appended events)', () => {
  it('names the position it continues from: resumed from it, a watch reads on from there, missing nothing and repeating nothing', () => {
    fc.assert(
      fc.property(eventsArb, fc.nat(), fc.integer({ min: 1, max: 5 }), (u, pick, max) => {
        const execution = execOf(u.entries);
        for (let position = 0; position <= u.entries.length; position++) {
          expect(positionAfter(execution, 'eventsAfter', decodeEventCursor(cursorBefore(execution, position))!)).toBe(position);
        }
        // An update that delivered events hands out the last one's cursor, the start's only when it delivered none from 0.
        const from = pick % (u.entries.length + 1);
        const { edges, next } = appendedEvents(execution, from, null, max);
        if (edges.length > 0) expect(cursorBefore(execution, next)).toBe(edges.at(-1)!.cursor);
        expect(next).toBe(Math.min(u.entries.length, from + max));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('cursors whose checksum holds but whose content is no cursor', () => {
  const execution = execOf([{ id: 'a' }, { id: 'a' }, { id: 'b' }]);
  const forged = {
    'text that is no JSON': 'not json',
    'a number': '5',
    'null': 'null',
    'an object': '{"0":1,"1":"ex_prop_1","2":"a"}',
    'a string': '"ab"',
    'a start cursor with an event': JSON.stringify([0, EXECUTION_ID, 'a']),
    'a first occurrence with an occurrence': JSON.stringify([1, EXECUTION_ID, 'a', 7]),
    'a later occurrence numbered 0 (the first has its own form)': JSON.stringify([2, EXECUTION_ID, 'a', 0]),
    'a fractional occurrence': JSON.stringify([2, EXECUTION_ID, 'a', 1.5]),
    'a digest cursor with a negative occurrence': JSON.stringify([3, EXECUTION_ID, eventIdDigest('a'), -1]),
    'an unknown version': JSON.stringify([9, EXECUTION_ID, 'a']),
    'an execution id that is no string': JSON.stringify([1, 5, 'a']),
    'longer than any cursor handed out': JSON.stringify([1, EXECUTION_ID, 'a'.repeat(9_000)]),
  };

  it.each(Object.entries(forged))('%s is no cursor, and as `after` or `before` is BAD_USER_INPUT, never an internal error', (_, text) => {
    const cursor = forgedCursor(text);
    expect(decodeEventCursor(cursor)).toBeUndefined();
    for (const name of ['after', 'before'] as const) expectBadUserInput(() => pageEvents(execution, { [name]: cursor }), `\`${name}\``, 'not a valid');
  });

  it('while the same forging makes cursors the connection accepts (the cases above fail for their content alone)', () => {
    expect(decodeEventCursor(forgedCursor(JSON.stringify([1, EXECUTION_ID, 'a'])))).toEqual({ executionId: EXECUTION_ID, eventId: 'a', occurrence: 0 });
    expect(decodeEventCursor(forgedCursor(JSON.stringify([2, EXECUTION_ID, 'a', 1])))).toEqual({ executionId: EXECUTION_ID, eventId: 'a', occurrence: 1 });
    expect(pageEvents(execution, { after: forgedCursor(JSON.stringify([2, EXECUTION_ID, 'a', 1])) }).edges.map(({ node }) => node.position)).toEqual([2]);
  });
});

describe('pageEvents: `before` without first/last (issue contract)', () => {
  /**
   * Contract: "hasNextPage when only `before` is given is true iff filtered
   * events exist at or after the before position". With only `before`,
   * pageEvents pages backward (the default size as `last`). Whatever it serves,
   * the page must be a contiguous run of the window, report what precedes and
   * follows it, and lose nothing.
   */
  it('reports hasNextPage iff filtered events exist at or after `before`, and the page loses no event', () => {
    fc.assert(
      fc.property(upstreamArb(60, 1), fc.nat(), filterArb, orderArb, (u, pick, filter, order) => {
        const execution = execOf(u.entries);
        const beforeAt = pick % u.entries.length;
        const cursor = cursorsOf(u, execution)[beforeAt]!;
        const { filtered, rankOf } = world(u, filter, order);
        const window = filtered.filter((position) => rankOf(position) < rankOf(beforeAt));
        const page = pageEvents(execution, { before: cursor, filter, order });

        const got = positionsOf(page);
        expect(got).toHaveLength(Math.min(20, window.length));
        const start = got.length ? window.indexOf(got[0]!) : 0;
        expect(got).toEqual(window.slice(start, start + got.length));
        expect(page.pageInfo.hasPreviousPage).toBe(start > 0);
        const followersExist = filtered.some((position) => rankOf(position) >= rankOf(beforeAt));
        expect(page.pageInfo.hasNextPage).toBe(followersExist);
        // Window events after the page would be unreachable if hasNextPage were false.
        if (start + got.length < window.length) expect(page.pageInfo.hasNextPage).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
