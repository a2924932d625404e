/**
 * Execution.events against the GraphQL Cursor Connections spec, end to end: random event lists served by the
 * fake upstream on loopback, random `first`/`after`/`last`/`before`/`filter`/`order`, each page asked for over
 * HTTP and compared with the spec's algorithm run here as a reference (ApplyCursorsToEdges, EdgesToReturn,
 * HasPreviousPage, HasNextPage), with README's deliberate choices ("Paging through events") on top:
 * - a cursor names an event among all of them, so cursors apply before the filter (a cursor of an event the
 *   filter leaves out still marks its place);
 * - without `first` or `last`, 20: the first 20, or with `before` alone the last 20 before it;
 * - page sizes 0–100, anything else BAD_USER_INPUT before any upstream call;
 * - paging forward, `hasPreviousPage` is true when an item matching the filter lies at or before `after`'s event
 *   (the spec leaves this to the server); paging backward, `hasNextPage` likewise at or after `before`'s event;
 * - crossed cursors (`before` at or before `after`) give an empty page.
 * Cursors come from the gateway (a full listing) and are sent back as they came.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION } from '../src/demo/demo-data.js';
import type { UpstreamEvent } from '../src/upstream/envelope.js';
import { codes, Harness, LANES } from './support/harness.js';

const QUERY = `
  query Page($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ExecutionEventFilter, $order: EventOrder) {
    execution(id: $id) {
      events(first: $first, after: $after, last: $last, before: $before, filter: $filter, order: $order) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id } }
        nodes { id }
      }
    }
  }
`;

const BASE_MS = Date.parse('2026-03-01T12:00:00.000Z');
const TICKS = 4;
const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const TYPES = ['log', 'node.started', 'node.completed'] as const;
const NODES = ['node_1', 'node_2'] as const;
const iso = (tick: number) => new Date(BASE_MS + tick * 1000).toISOString();

interface Connection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: Array<{ cursor: string; node: { id: string } }>;
  nodes: Array<{ id: string }>;
}
type Order = 'ASC' | 'DESC';
interface Filter {
  levels?: string[];
  eventTypes?: string[];
  nodeIds?: string[];
  createdAfter?: string;
  createdBefore?: string;
}
/** A cursor argument: the position (in upstream's list) of the event it names. */
interface Args {
  first?: number;
  last?: number;
  after?: number;
  before?: number;
  filter?: Filter;
  order?: Order;
}

/** One generated event: its tick (null: no createdAt) and fields. Ids are unique so the reference can name events. */
const eventArb = fc.record({
  tick: fc.option(fc.integer({ min: 0, max: TICKS - 1 }), { freq: 6 }),
  level: fc.constantFrom(...LEVELS),
  eventType: fc.constantFrom(...TYPES),
  nodeId: fc.option(fc.constantFrom(...NODES), { freq: 3 }),
});
type GenEvent = typeof eventArb extends fc.Arbitrary<infer T> ? T : never;

function upstreamEvents(executionId: string, events: readonly GenEvent[]): UpstreamEvent[] {
  return events.map((event, position) => ({
    id: `ev_${position}`,
    executionId,
    createdAt: (event.tick === null ? null : iso(event.tick)) as string,
    eventType: event.eventType,
    level: event.level,
    nodeId: event.nodeId,
    message: `event ${position}`,
    title: null,
    data: null,
    organizationId: DEMO_ORGANIZATION,
    requestId: 'req_1',
    runId: 'run_1',
    workflowId: 'wf_1',
  }));
}

// ---------------------------------------------------------------- reference

/** Upstream positions in `order`: by createdAt, an event without one at the time of the closest earlier dated one, ties in upstream order. */
function ordered(events: readonly GenEvent[], order: Order): number[] {
  let last = Number.NEGATIVE_INFINITY;
  const times = events.map((event) => (event.tick === null ? last : (last = event.tick)));
  return times.map((_, i) => i).sort((a, b) => (order === 'ASC' ? times[a]! - times[b]! : times[b]! - times[a]!) || a - b);
}

function matches(event: GenEvent, filter: Filter | undefined): boolean {
  if (!filter) return true;
  if (filter.levels && !filter.levels.some((level) => level.toLowerCase() === event.level)) return false;
  if (filter.eventTypes && !filter.eventTypes.includes(event.eventType)) return false;
  if (filter.nodeIds && (event.nodeId === null || !filter.nodeIds.includes(event.nodeId))) return false;
  const ms = event.tick === null ? Number.NaN : BASE_MS + event.tick * 1000;
  if (filter.createdAfter && !(ms > Date.parse(filter.createdAfter))) return false;
  if (filter.createdBefore && !(ms < Date.parse(filter.createdBefore))) return false;
  return true;
}

interface Expected {
  ids: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number;
}

function reference(events: readonly GenEvent[], args: Args): Expected {
  const all = ordered(events, args.order ?? 'ASC');
  const keep = (position: number) => matches(events[position]!, args.filter);
  // ApplyCursorsToEdges over every event (a cursor names an event, not a place among the filtered ones), then the filter.
  const afterAt = args.after === undefined ? -1 : all.indexOf(args.after);
  const beforeAt = args.before === undefined ? all.length : all.indexOf(args.before);
  const between = all.slice(afterAt + 1, Math.max(beforeAt, afterAt + 1)).filter(keep);
  let first = args.first;
  let last = args.last;
  if (first === undefined && last === undefined) {
    if (args.before !== undefined && args.after === undefined) last = 20;
    else first = 20;
  }
  // EdgesToReturn
  let page = between;
  if (first !== undefined && page.length > first) page = page.slice(0, first);
  if (last !== undefined && page.length > last) page = page.slice(page.length - last);
  const hasPreviousPage =
    last !== undefined ? between.length > last : args.after !== undefined && all.slice(0, afterAt + 1).some(keep);
  const hasNextPage = first !== undefined ? between.length > first : args.before !== undefined && all.slice(beforeAt).some(keep);
  return { ids: page.map((position) => `ev_${position}`), hasNextPage, hasPreviousPage, totalCount: all.filter(keep).length };
}

// ---------------------------------------------------------------- arguments

const size = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(100, 101, -1) });
const filterArb: fc.Arbitrary<Filter> = fc.record(
  {
    levels: fc.subarray([...LEVELS, 'WARN', 'Error']),
    eventTypes: fc.subarray([...TYPES]),
    nodeIds: fc.subarray([...NODES]),
    createdAfter: fc.integer({ min: -1, max: TICKS }).map(iso),
    createdBefore: fc.integer({ min: -1, max: TICKS }).map(iso),
  },
  { requiredKeys: [] },
);

function argsArb(count: number): fc.Arbitrary<Args> {
  const position = count === 0 ? fc.constant(undefined) : fc.option(fc.integer({ min: 0, max: count - 1 }), { nil: undefined });
  return fc.record(
    {
      first: size,
      last: size,
      after: position,
      before: position,
      filter: filterArb,
      order: fc.constantFrom<Order>('ASC', 'DESC'),
    },
    { requiredKeys: [] },
  );
}

const caseArb = fc
  .array(eventArb, { maxLength: 24 })
  .chain((events) => fc.record({ events: fc.constant(events), args: fc.array(argsArb(events.length), { minLength: 1, maxLength: 4 }) }));

// ---------------------------------------------------------------- the property

let harness: Harness;
let runs = 0;

describe.each(LANES)('events as a cursor connection, over HTTP, against the spec (%s lane)', (lane) => {
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: [] } });
  });
  afterAll(() => harness.close());

  async function events(id: string, variables: Record<string, unknown>) {
    return harness.query<{ execution: { events: Connection } | null }>(QUERY, { id, ...variables });
  }

  it('pages, cursors and pageInfo are the spec algorithm’s', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ events: generated, args: pages }) => {
        const id = `ex_relay_${++runs}`;
        harness.upstream.put({
          execution: { id, status: 'workflow_running', organizationId: DEMO_ORGANIZATION } as never,
          events: upstreamEvents(id, generated),
        });
        // Every event's cursor, as the gateway hands it out: ASC, unfiltered, one page.
        const listing = await events(id, { first: 100 });
        expect(listing.errors).toBeUndefined();
        const asc = ordered(generated, 'ASC');
        expect(listing.data!.execution!.events.edges.map((edge) => edge.node.id)).toEqual(asc.map((position) => `ev_${position}`));
        const cursorOf = new Map<number, string>();
        listing.data!.execution!.events.edges.forEach((edge, rank) => cursorOf.set(asc[rank]!, edge.cursor));

        for (const args of pages) {
          const variables = {
            ...args,
            after: args.after === undefined ? undefined : cursorOf.get(args.after),
            before: args.before === undefined ? undefined : cursorOf.get(args.before),
          };
          const calls = harness.upstream.requestsFor(id).length;
          const response = await events(id, variables);
          const refused = [args.first, args.last].some((n) => n !== undefined && (n < 0 || n > 100));
          if (refused) {
            // Spec: a negative first or last is an error; README: so is one past 100, refused before the execution is fetched.
            expect(codes(response)).toEqual(['BAD_USER_INPUT']);
            expect(response.data).toEqual({ execution: null });
            expect(harness.upstream.requestsFor(id).length).toBe(calls);
            continue;
          }
          expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
          expect(harness.upstream.requestsFor(id).length).toBe(calls + 1);
          const connection = response.data!.execution!.events;
          const expected = reference(generated, args);
          const label = JSON.stringify({ generated, args });
          expect(
            {
              ids: connection.edges.map((edge) => edge.node.id),
              hasNextPage: connection.pageInfo.hasNextPage,
              hasPreviousPage: connection.pageInfo.hasPreviousPage,
              totalCount: connection.totalCount,
            },
            label,
          ).toEqual(expected);
          expect(connection.nodes.map((node) => node.id)).toEqual(expected.ids);
          // Each edge's cursor is the one the listing gave that event, and the page's ends are its edges'.
          expect(connection.edges.map((edge) => edge.cursor)).toEqual(expected.ids.map((eventId) => cursorOf.get(Number(eventId.slice(3)))));
          expect(connection.pageInfo.startCursor).toBe(connection.edges[0]?.cursor ?? null);
          expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor ?? null);
        }

        // The same pages as aliases of one request: one upstream call, each page as it was alone.
        const served = pages.filter((args) => ![args.first, args.last].some((n) => n !== undefined && (n < 0 || n > 100)));
        if (served.length < 2) return;
        const declared = served.map((_, i) => `$f${i}: Int, $a${i}: String, $l${i}: Int, $b${i}: String, $filter${i}: ExecutionEventFilter, $o${i}: EventOrder`).join(', ');
        const selected = served
          .map((_, i) => `p${i}: events(first: $f${i}, after: $a${i}, last: $l${i}, before: $b${i}, filter: $filter${i}, order: $o${i}) { totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { id } } }`)
          .join(' ');
        const variables: Record<string, unknown> = { id };
        served.forEach((args, i) => {
          Object.assign(variables, {
            [`f${i}`]: args.first,
            [`l${i}`]: args.last,
            [`a${i}`]: args.after === undefined ? undefined : cursorOf.get(args.after),
            [`b${i}`]: args.before === undefined ? undefined : cursorOf.get(args.before),
            [`filter${i}`]: args.filter,
            [`o${i}`]: args.order,
          });
        });
        const calls = harness.upstream.requestsFor(id).length;
        const together = await harness.query<{ execution: Record<string, Connection> | null }>(`query Pages($id: ID!, ${declared}) { execution(id: $id) { ${selected} } }`, variables);
        expect(together.errors, JSON.stringify(together.errors)).toBeUndefined();
        expect(harness.upstream.requestsFor(id).length).toBe(calls + 1);
        served.forEach((args, i) => {
          const connection = together.data!.execution![`p${i}`]!;
          const { ids, ...rest } = reference(generated, args);
          expect({ ids: connection.edges.map((edge) => edge.node.id), ...connection.pageInfo, totalCount: connection.totalCount }, JSON.stringify({ generated, args })).toEqual({ ids, ...rest });
        });
      }),
      { numRuns: 50 },
    );
  });
});
