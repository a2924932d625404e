/**
 * Property tests of the events connection algorithm (pageEvents), checked
 * against a plain reference: filter with Array.filter, order with an explicit
 * (createdAt, upstream position) comparator, page with Array.slice.
 *
 * Events come from a handful of timestamps (so ties are everywhere), a few
 * levels, types and node ids (null sometimes), sometimes already in ascending
 * order as upstream sends them (the fast path) and sometimes not, and some
 * timestamps are written with a UTC offset (the same instant, another string).
 */
import fc from 'fast-check';
import type { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { pageEvents, type EventFilter, type EventOrder, type EventPage, type EventPageArgs } from '../src/domain/event-pages.js';
import type { UpstreamEvent } from '../src/upstream/envelope.js';

const NUM_RUNS = 200;
const EXECUTION_ID = 'ex_prop_1';
const BASE_MS = Date.parse('2026-03-01T12:00:00.000Z');
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const TYPES = ['log', 'node.started', 'node.completed'] as const;
const NODES = ['node_1', 'node_2', 'node_3'] as const;
const TICKS = 6;

// ---------------------------------------------------------------- reference

function matches(event: UpstreamEvent, filter: EventFilter | null | undefined): boolean {
  if (!filter) return true;
  if (filter.levels != null && !filter.levels.includes(event.level)) return false;
  if (filter.eventTypes != null && !filter.eventTypes.includes(event.eventType)) return false;
  if (filter.nodeIds != null && (event.nodeId == null || !filter.nodeIds.includes(event.nodeId))) return false;
  const time = Date.parse(event.createdAt);
  if (filter.createdAfter != null && !(time > filter.createdAfter.getTime())) return false;
  if (filter.createdBefore != null && !(time < filter.createdBefore.getTime())) return false;
  return true;
}

/** Sorted by createdAt (ASC or DESC); equal timestamps keep upstream position in both orders. */
function ordered(events: readonly UpstreamEvent[], order: EventOrder): UpstreamEvent[] {
  const decorated = events.map((event, position) => ({ event, position, time: Date.parse(event.createdAt) }));
  decorated.sort((a, b) => (order === 'DESC' ? b.time - a.time : a.time - b.time) || a.position - b.position);
  return decorated.map((entry) => entry.event);
}

/** The reference world for one query: all events in order, the filtered ones, and each event's position among all. */
function world(events: readonly UpstreamEvent[], filter: EventFilter | null | undefined, order: EventOrder | null | undefined) {
  const all = ordered(events, order ?? 'ASC');
  const rank = new Map(all.map((event, i) => [event.id, i]));
  const filtered = all.filter((event) => matches(event, filter));
  return { all, rank, filtered, rankOf: (id: string) => rank.get(id)! };
}

const ids = (events: readonly UpstreamEvent[]) => events.map((event) => event.id);
const pageIds = (page: EventPage) => page.edges.map((edge) => edge.node.id);

function expectCursorsConsistent(page: EventPage): void {
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)?.cursor ?? null);
  expect(new Set(page.edges.map((edge) => edge.cursor)).size).toBe(page.edges.length);
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

// ---------------------------------------------------------------- generators

function isoAt(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, -1);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

const eventSpecArb = fc.record({
  tick: fc.integer({ min: 0, max: TICKS - 1 }),
  offsetMinutes: fc.constantFrom(0, 0, 0, 60, -90),
  level: fc.constantFrom(...LEVELS),
  eventType: fc.constantFrom(...TYPES),
  nodeId: fc.option(fc.constantFrom(...NODES), { nil: null, freq: 3 }),
});
type EventSpec = typeof eventSpecArb extends fc.Arbitrary<infer T> ? T : never;

function toEvents(specs: readonly EventSpec[], firstSeq = 0): UpstreamEvent[] {
  return specs.map((spec, i) => ({
    id: `ev_${firstSeq + i}`,
    executionId: EXECUTION_ID,
    createdAt: isoAt(BASE_MS + spec.tick * 1000, spec.offsetMinutes),
    eventType: spec.eventType,
    level: spec.level,
    nodeId: spec.nodeId,
    title: null,
    message: null,
    data: null,
    organizationId: 'org_demo',
    requestId: 'req_1',
    runId: 'run_1',
    workflowId: 'wf_1',
  }));
}

/** Up to 40 events; half the time already ascending by createdAt (ties in any order), as upstream usually sends them. */
const eventsArb = fc
  .tuple(fc.array(eventSpecArb, { maxLength: 40 }), fc.boolean())
  .map(([specs, ascending]) => toEvents(ascending ? [...specs].sort((a, b) => a.tick - b.tick) : specs));

const nonEmptyEventsArb = eventsArb.filter((events) => events.length > 0);

function listArb(values: readonly string[]) {
  return fc.oneof(
    { arbitrary: fc.constant(undefined), weight: 4 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.constant([] as string[]), weight: 1 },
    { arbitrary: fc.subarray([...values, 'unknown'], { minLength: 1 }), weight: 4 },
  );
}

/** An instant on, or one millisecond either side of, a tick (and a tick outside the range). */
const instantArb = fc
  .tuple(fc.integer({ min: -1, max: TICKS }), fc.constantFrom(-1, 0, 0, 1))
  .map(([tick, delta]) => new Date(BASE_MS + tick * 1000 + delta));

const filterArb: fc.Arbitrary<EventFilter | null | undefined> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 1 },
  { arbitrary: fc.constant(null), weight: 1 },
  {
    arbitrary: fc.record(
      {
        levels: listArb(LEVELS),
        eventTypes: listArb(TYPES),
        nodeIds: listArb(NODES),
        createdAfter: fc.option(instantArb, { nil: undefined, freq: 3 }),
        createdBefore: fc.option(instantArb, { nil: undefined, freq: 3 }),
      },
      { requiredKeys: [] },
    ),
    weight: 6,
  },
);

const orderArb: fc.Arbitrary<EventOrder | null | undefined> = fc.constantFrom('ASC', 'DESC', 'ASC', 'DESC', null, undefined);

/** Cursors of every event, taken from the field itself (unfiltered, one page). */
function cursorsOf(events: readonly UpstreamEvent[]): Map<string, string> {
  const page = pageEvents(EXECUTION_ID, events, { first: 100 });
  expect(page.edges).toHaveLength(events.length);
  return new Map(page.edges.map((edge) => [edge.node.id, edge.cursor]));
}

// ---------------------------------------------------------------- properties

describe('pageEvents against the reference', () => {
  it('walking forward with first/after yields exactly the filtered, ordered events, with correct pageInfo on every page', () => {
    fc.assert(
      fc.property(eventsArb, filterArb, orderArb, fc.integer({ min: 1, max: 7 }), (events, filter, order, size) => {
        const { filtered, rankOf } = world(events, filter, order);
        const seen: UpstreamEvent[] = [];
        let after: string | null = null;
        for (let pageNo = 0; pageNo <= filtered.length + 1; pageNo++) {
          const args: EventPageArgs = { first: size, after, filter, order };
          const page = pageEvents(EXECUTION_ID, events, args);
          const expected = filtered.slice(seen.length, seen.length + size);
          expect(pageIds(page)).toEqual(ids(expected));
          expect(page.totalCount).toBe(filtered.length);
          expect(page.pageInfo.hasNextPage).toBe(seen.length + size < filtered.length);
          // after is always a filtered event here, so one exists at or before it.
          expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
          expectCursorsConsistent(page);

          // Every edge's cursor is a position: what follows it and what precedes it.
          for (const [i, edge] of page.edges.entries()) {
            const at = seen.length + i;
            const next = pageEvents(EXECUTION_ID, events, { first: 1, after: edge.cursor, filter, order });
            expect(pageIds(next)).toEqual(ids(filtered.slice(at + 1, at + 2)));
            const previous = pageEvents(EXECUTION_ID, events, { last: 1, before: edge.cursor, filter, order });
            expect(pageIds(previous)).toEqual(ids(filtered.slice(Math.max(0, at - 1), at)));
            expect(rankOf(edge.node.id)).toBe(rankOf(filtered[at]!.id));
          }

          seen.push(...page.edges.map((edge) => edge.node));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        expect(ids(seen)).toEqual(ids(filtered));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('walking backward with last/before yields exactly the filtered, ordered events, with correct pageInfo on every page', () => {
    fc.assert(
      fc.property(eventsArb, filterArb, orderArb, fc.integer({ min: 1, max: 7 }), (events, filter, order, size) => {
        const { filtered } = world(events, filter, order);
        let seen: UpstreamEvent[] = [];
        let before: string | null = null;
        for (let pageNo = 0; pageNo <= filtered.length + 1; pageNo++) {
          const page = pageEvents(EXECUTION_ID, events, { last: size, before, filter, order });
          const end = filtered.length - seen.length;
          const expected = filtered.slice(Math.max(0, end - size), end);
          expect(pageIds(page)).toEqual(ids(expected));
          expect(page.totalCount).toBe(filtered.length);
          expect(page.pageInfo.hasPreviousPage).toBe(end - size > 0);
          // before is always a filtered event here, so one exists at or after it.
          expect(page.pageInfo.hasNextPage).toBe(before !== null);
          expectCursorsConsistent(page);
          seen = [...page.edges.map((edge) => edge.node), ...seen];
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.pageInfo.startCursor;
        }
        expect(ids(seen)).toEqual(ids(filtered));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('without first or last, serves the first 20 filtered events', () => {
    const manyEventsArb = fc.array(eventSpecArb, { minLength: 0, maxLength: 60 }).map((specs) => toEvents(specs));
    fc.assert(
      fc.property(manyEventsArb, filterArb, orderArb, (events, filter, order) => {
        const { filtered } = world(events, filter, order);
        const page = pageEvents(EXECUTION_ID, events, { filter, order });
        expect(pageIds(page)).toEqual(ids(filtered.slice(0, 20)));
        expect(page.totalCount).toBe(filtered.length);
        expect(page.pageInfo.hasNextPage).toBe(filtered.length > 20);
        expect(page.pageInfo.hasPreviousPage).toBe(false);
        expectCursorsConsistent(page);
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
      fc.property(nonEmptyEventsArb, fc.array(queryArb, { minLength: 1, maxLength: 25 }), (events, queries) => {
        const cursors = cursorsOf(events);
        for (const query of queries) {
          const afterEvent = query.after === undefined ? undefined : events[query.after % events.length]!;
          const beforeEvent = query.before === undefined ? undefined : events[query.before % events.length]!;
          // "before" alone, without a size, is covered by its own contract test below.
          const first = query.first === undefined && query.last === undefined && !(beforeEvent && !afterEvent) ? 20 : query.first;
          if (first === undefined && query.last === undefined) continue;
          const last = query.last;

          const { filtered, rankOf } = world(events, query.filter, query.order);
          const window = filtered.filter(
            (event) =>
              (!afterEvent || rankOf(event.id) > rankOf(afterEvent.id)) && (!beforeEvent || rankOf(event.id) < rankOf(beforeEvent.id)),
          );
          let expected = window;
          if (first !== undefined) expected = expected.slice(0, first);
          if (last !== undefined) expected = expected.slice(Math.max(0, expected.length - last));

          const hasPreviousPage =
            last !== undefined ? window.length > last : !!afterEvent && filtered.some((event) => rankOf(event.id) <= rankOf(afterEvent.id));
          const hasNextPage =
            first !== undefined ? window.length > first : !!beforeEvent && filtered.some((event) => rankOf(event.id) >= rankOf(beforeEvent.id));

          const page = pageEvents(EXECUTION_ID, events, {
            first: query.first,
            last: query.last,
            after: afterEvent && cursors.get(afterEvent.id),
            before: beforeEvent && cursors.get(beforeEvent.id),
            filter: query.filter,
            order: query.order,
          });
          expect(pageIds(page)).toEqual(ids(expected));
          expect(page.pageInfo.hasPreviousPage).toBe(hasPreviousPage);
          expect(page.pageInfo.hasNextPage).toBe(hasNextPage);
          expect(page.totalCount).toBe(filtered.length);
          expectCursorsConsistent(page);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('a cursor keeps naming the same event after upstream appends more events (even out of order)', () => {
    fc.assert(
      fc.property(
        nonEmptyEventsArb,
        fc.array(eventSpecArb, { minLength: 1, maxLength: 15 }),
        fc.nat(),
        filterArb,
        orderArb,
        (events, appendedSpecs, pick, filter, order) => {
          const cursor = cursorsOf(events).get(events[pick % events.length]!.id)!;
          const grown = [...events, ...toEvents(appendedSpecs, events.length)];
          const { filtered, rankOf } = world(grown, filter, order);
          const at = rankOf(events[pick % events.length]!.id);
          const page = pageEvents(EXECUTION_ID, grown, { first: 100, after: cursor, filter, order });
          expect(pageIds(page)).toEqual(ids(filtered.filter((event) => rankOf(event.id) > at)));
          expect(page.totalCount).toBe(filtered.length);
          const back = pageEvents(EXECUTION_ID, grown, { last: 100, before: cursor, filter, order });
          expect(pageIds(back)).toEqual(ids(filtered.filter((event) => rankOf(event.id) < at)));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('pages a frozen events array (which cannot carry its index) exactly as an unfrozen copy', () => {
    fc.assert(
      fc.property(eventsArb, filterArb, orderArb, fc.integer({ min: 0, max: 7 }), (events, filter, order, size) => {
        const frozen = Object.freeze([...events]);
        for (const args of [{ first: size, filter, order }, { last: size, filter, order }]) {
          // Twice each: the second call reads the index the first one left on the array.
          const fromCopy = [pageEvents(EXECUTION_ID, events, args), pageEvents(EXECUTION_ID, events, args)];
          const fromFrozen = [pageEvents(EXECUTION_ID, frozen, args), pageEvents(EXECUTION_ID, frozen, args)];
          expect(fromFrozen).toEqual(fromCopy);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('ties keep upstream order in DESC too: DESC is a stable sort, not a reversal of ASC', () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const asc = pageEvents(EXECUTION_ID, events, { first: 100, order: 'ASC' });
        const desc = pageEvents(EXECUTION_ID, events, { first: 100, order: 'DESC' });
        expect(pageIds(asc)).toEqual(ids(ordered(events, 'ASC')));
        expect(pageIds(desc)).toEqual(ids(ordered(events, 'DESC')));
        // Within one timestamp, both orders list events as upstream sent them.
        const byTime = (page: EventPage) => {
          const groups = new Map<number, string[]>();
          for (const { node } of page.edges) {
            const time = Date.parse(node.createdAt);
            groups.set(time, [...(groups.get(time) ?? []), node.id]);
          }
          return groups;
        };
        const upstreamPosition = new Map(events.map((event, i) => [event.id, i]));
        for (const group of [...byTime(asc).values(), ...byTime(desc).values()]) {
          const positions = group.map((id) => upstreamPosition.get(id)!);
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('pageEvents input errors', () => {
  it('rejects first/last outside 0..100 with BAD_USER_INPUT naming the argument and the limit, and accepts 0..100', () => {
    const outside = fc.oneof(fc.integer({ min: -1_000_000, max: -1 }), fc.integer({ min: 101, max: 1_000_000 }));
    fc.assert(
      fc.property(eventsArb, fc.constantFrom('first', 'last') as fc.Arbitrary<'first' | 'last'>, outside, fc.integer({ min: 0, max: 100 }), (events, name, bad, good) => {
        expectBadUserInput(() => pageEvents(EXECUTION_ID, events, { [name]: bad }), `\`${name}\``, '100');
        const page = pageEvents(EXECUTION_ID, events, { [name]: good });
        expect(page.edges).toHaveLength(Math.min(good, events.length));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejects malformed, tampered, foreign and dangling cursors with BAD_USER_INPUT, never a page', () => {
    fc.assert(
      fc.property(
        nonEmptyEventsArb,
        fc.nat(),
        fc.nat(),
        fc.string({ maxLength: 60 }),
        fc.constantFrom('after', 'before') as fc.Arbitrary<'after' | 'before'>,
        (events, pick, position, garbage, name) => {
          const event = events[pick % events.length]!;
          const cursor = cursorsOf(events).get(event.id)!;

          // Random text is not a cursor (unless it happens to be this very one).
          if (garbage !== cursor) expectBadUserInput(() => pageEvents(EXECUTION_ID, events, { [name]: garbage }), `\`${name}\``);

          // Any single-character change is detected.
          const i = position % cursor.length;
          const replacement = cursor[i] === 'A' ? 'B' : 'A';
          const tampered = cursor.slice(0, i) + replacement + cursor.slice(i + 1);
          expectBadUserInput(() => pageEvents(EXECUTION_ID, events, { [name]: tampered }), `\`${name}\``);
          // Truncated.
          expectBadUserInput(() => pageEvents(EXECUTION_ID, events, { [name]: cursor.slice(0, i) }), `\`${name}\``);

          // A cursor of another execution, for an event with the same id.
          const foreign = pageEvents('ex_prop_2', events, { first: 100 }).edges[pick % events.length]!.cursor;
          expectBadUserInput(() => pageEvents(EXECUTION_ID, events, { [name]: foreign }), 'ex_prop_2', EXECUTION_ID);

          // A cursor of an event upstream no longer returns.
          const without = events.filter((other) => other.id !== event.id);
          expectBadUserInput(() => pageEvents(EXECUTION_ID, without, { [name]: cursor }), event.id);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('pageEvents: `before` without first/last (issue contract)', () => {
  /**
   * Contract: "hasNextPage when only `before` is given is true iff filtered
   * events exist at or after the before position". pageEvents applies the
   * default page size as `first`, so with only `before` it pages forward from
   * the start and reports hasNextPage = (window > 20): a client paging backward
   * is told nothing follows while the cursor's own event and everything after
   * it do. Whatever the fix, the page must be a contiguous run of the window,
   * report what precedes and follows it, and lose nothing.
   */
  it('reports hasNextPage iff filtered events exist at or after `before`, and the page loses no event', () => {
    const manyEventsArb = fc.array(eventSpecArb, { minLength: 1, maxLength: 60 }).map((specs) => toEvents(specs));
    fc.assert(
      fc.property(manyEventsArb, fc.nat(), filterArb, orderArb, (events, pick, filter, order) => {
        const beforeEvent = events[pick % events.length]!;
        const cursor = cursorsOf(events).get(beforeEvent.id)!;
        const { filtered, rankOf } = world(events, filter, order);
        const window = filtered.filter((event) => rankOf(event.id) < rankOf(beforeEvent.id));
        const page = pageEvents(EXECUTION_ID, events, { before: cursor, filter, order });

        const got = pageIds(page);
        expect(got).toHaveLength(Math.min(20, window.length));
        const start = got.length ? ids(window).indexOf(got[0]!) : 0;
        expect(got).toEqual(ids(window.slice(start, start + got.length)));
        expect(page.pageInfo.hasPreviousPage).toBe(start > 0);
        const followersExist = filtered.some((event) => rankOf(event.id) >= rankOf(beforeEvent.id));
        expect(page.pageInfo.hasNextPage).toBe(followersExist);
        // Window events after the page would be unreachable if hasNextPage were false.
        if (start + got.length < window.length) expect(page.pageInfo.hasNextPage).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
