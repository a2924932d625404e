/**
 * Execution.events end to end: GraphQL over HTTP on both lanes, the gateway's real
 * upstream client, and the fake upstream over loopback HTTP. Expected pages are
 * computed here from what the fake upstream stores, with a plain stable sort.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION, makeEvents, makeExecution } from '../src/demo/demo-data.js';
import type { UpstreamEvent } from '../src/upstream/envelope.js';
import { Harness, codes, type GraphQLResponse, LANES } from './support/harness.js';

const EVENTS_QUERY = `
  query Events($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ExecutionEventFilter, $order: EventOrder) {
    execution(id: $id) {
      id
      events(first: $first, after: $after, last: $last, before: $before, filter: $filter, order: $order) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id executionId createdAt eventType level title message nodeId data organizationId requestId runId workflowId } }
        nodes { id }
      }
    }
  }
`;

interface Connection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: Array<{ cursor: string; node: UpstreamEvent }>;
  nodes: Array<{ id: string }>;
}

interface FilterInput {
  levels?: string[] | null;
  eventTypes?: string[] | null;
  nodeIds?: string[] | null;
  createdAfter?: string | null;
  createdBefore?: string | null;
}

interface PageVariables {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  filter?: FilterInput | null;
  order?: 'ASC' | 'DESC' | null;
}

let harness: Harness;
const EMPTY = 'ex_conn_0';
const ONE = 'ex_conn_1';
const HUNDRED = 'ex_conn_100';
const BIG = 'ex_conn_100000';
const GROW = 'ex_conn_grow';
const SHRINK = 'ex_conn_shrink';
const OTHER = 'ex_conn_other';

describe.each(LANES)('%s lane', (lane) => {
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      upstream: {
        executions: [
          makeExecution({ id: EMPTY, status: 'workflow_queued', eventCount: 0 }),
          makeExecution({ id: ONE, status: 'workflow_running', eventCount: 1 }),
          makeExecution({ id: HUNDRED, status: 'workflow_succeeded', eventCount: 100 }),
          makeExecution({ id: BIG, status: 'workflow_running', eventCount: 100_000 }),
          makeExecution({ id: GROW, status: 'workflow_running', eventCount: 10 }),
          makeExecution({ id: SHRINK, status: 'workflow_running', eventCount: 10 }),
          makeExecution({ id: OTHER, status: 'workflow_succeeded', eventCount: 3 }),
        ],
      },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  // ---------------------------------------------------------------- helpers

  async function page(id: string, variables: PageVariables = {}): Promise<{ response: GraphQLResponse; events: Connection }> {
    const response = await harness.query<{ execution: { id: string; events: Connection } | null }>(EVENTS_QUERY, { id, ...variables });
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    const events = response.data!.execution!.events;
    // nodes and edges always describe the same events, and the page's cursors are its edges' ends.
    expect(events.nodes.map((node) => node.id)).toEqual(events.edges.map((edge) => edge.node.id));
    expect(events.pageInfo.startCursor).toBe(events.edges[0]?.cursor ?? null);
    expect(events.pageInfo.endCursor).toBe(events.edges.at(-1)?.cursor ?? null);
    return { response, events };
  }

  /** A page refused by its arguments alone: at the execution, refused before it is fetched. */
  async function rejected(id: string, variables: PageVariables, ...fragments: string[]): Promise<GraphQLResponse> {
    return refusedAt(['execution'], id, variables, ...fragments);
  }

  async function refusedAt(path: string[], id: string, variables: PageVariables, ...fragments: string[]): Promise<GraphQLResponse> {
    const response = await harness.query(EVENTS_QUERY, { id, ...variables });
    expect(response.status).toBeLessThan(500);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.path).toEqual(path);
    expect(response.data).toEqual({ execution: null });
    for (const fragment of fragments) expect(response.errors![0]!.message).toContain(fragment);
    return response;
  }

  const stored = (id: string) => harness.upstream.get(id)!.events;
  const ids = (events: ReadonlyArray<{ id: string }>) => events.map((event) => event.id);
  const edgeIds = (connection: Connection) => connection.edges.map((edge) => edge.node.id);
  const seq = (id: string, ...numbers: number[]) => numbers.map((n) => `ev_${id}_${n}`);

  /** An RFC 3339 instant in ns since the epoch, every fraction digit to the ninth kept (Date.parse cuts at the third). */
  function exactNs(text: string): bigint {
    const [, head, digits, zone] = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d*))?(Z|[+-]\d{2}:\d{2})$/i.exec(text)!;
    return BigInt(Date.parse(`${head}${zone}`)) * 1_000_000n + BigInt((digits ?? '').padEnd(9, '0').slice(0, 9));
  }

  /** The reference: upstream's events filtered, then sorted by createdAt with upstream position breaking ties. */
  function reference(events: readonly UpstreamEvent[], order: 'ASC' | 'DESC' = 'ASC', filter: FilterInput = {}): UpstreamEvent[] {
    const after = filter.createdAfter ? exactNs(filter.createdAfter) : undefined;
    const before = filter.createdBefore ? exactNs(filter.createdBefore) : undefined;
    return events
      .map((event, position) => ({ event, position, time: exactNs(event.createdAt) }))
      .filter(({ event, time }) => {
        if (filter.levels && !filter.levels.includes(event.level)) return false;
        if (filter.eventTypes && !filter.eventTypes.includes(event.eventType)) return false;
        if (filter.nodeIds && (event.nodeId == null || !filter.nodeIds.includes(event.nodeId))) return false;
        if (after !== undefined && !(time > after)) return false;
        if (before !== undefined && !(time < before)) return false;
        return true;
      })
      .sort((a, b) => Number(order === 'DESC' ? b.time - a.time : a.time - b.time) || a.position - b.position)
      .map(({ event }) => event);
  }

  /** Cursors of all events of an execution (ASC, unfiltered), fetched through the field. */
  async function cursorsOf(id: string): Promise<Map<string, string>> {
    const cursors = new Map<string, string>();
    let after: string | null = null;
    for (;;) {
      const { events } = await page(id, { first: 100, after });
      for (const edge of events.edges) cursors.set(edge.node.id, edge.cursor);
      if (!events.pageInfo.hasNextPage) return cursors;
      after = events.pageInfo.endCursor;
    }
  }

  /** Walks every page forward (first/after) or backward (last/before) and returns the events in order. */
  async function walk(id: string, size: number, direction: 'forward' | 'backward', rest: PageVariables = {}): Promise<{ ids: string[]; pages: number }> {
    let collected: string[] = [];
    let cursor: string | null = null;
    for (let pages = 1; pages < 1000; pages++) {
      const variables: PageVariables =
        direction === 'forward' ? { ...rest, first: size, after: cursor } : { ...rest, last: size, before: cursor };
      const { events } = await page(id, variables);
      const more = direction === 'forward' ? events.pageInfo.hasNextPage : events.pageInfo.hasPreviousPage;
      // The opposite flag says whether we came from somewhere.
      expect(direction === 'forward' ? events.pageInfo.hasPreviousPage : events.pageInfo.hasNextPage).toBe(cursor !== null);
      collected = direction === 'forward' ? [...collected, ...edgeIds(events)] : [...edgeIds(events), ...collected];
      if (!more) return { ids: collected, pages };
      expect(events.edges).toHaveLength(size);
      cursor = direction === 'forward' ? events.pageInfo.endCursor : events.pageInfo.startCursor;
    }
    throw new Error('walk did not end');
  }

  // ---------------------------------------------------------------- sizes

  describe('Execution.events by execution size', () => {
    it('0 events: empty page, totalCount 0, no pages either side, null cursors, in every direction and order', async () => {
      for (const variables of [{}, { first: 5 }, { last: 5 }, { order: 'DESC' as const }, { last: 0, order: 'DESC' as const }]) {
        const { events } = await page(EMPTY, variables);
        expect(events).toEqual({
          totalCount: 0,
          pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
          edges: [],
          nodes: [],
        });
      }
    });

    it('1 event: the event exactly as upstream sent it, with one cursor at both ends', async () => {
      const [event] = stored(ONE);
      for (const variables of [{}, { first: 1 }, { last: 1 }, { last: 20, order: 'DESC' as const }]) {
        const { events } = await page(ONE, variables);
        expect(events.totalCount).toBe(1);
        expect(events.edges.map((edge) => edge.node)).toEqual([{ ...event, title: event!.title ?? null, nodeId: event!.nodeId ?? null }]);
        expect(events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
        expect(events.pageInfo.startCursor).toBe(events.pageInfo.endCursor);
      }
      const zero = await page(ONE, { first: 0 });
      expect(zero.events.edges).toEqual([]);
      expect(zero.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, startCursor: null });
      expect(zero.events.totalCount).toBe(1);
    });

    it('100 events: default page is the first 20, and first/last pages carry the right flags', async () => {
      const all = stored(HUNDRED);
      const first = await page(HUNDRED);
      expect(edgeIds(first.events)).toEqual(seq(HUNDRED, ...Array.from({ length: 20 }, (_, i) => i + 1)));
      expect(first.events.totalCount).toBe(100);
      expect(first.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });

      const last = await page(HUNDRED, { last: 20 });
      expect(edgeIds(last.events)).toEqual(ids(all.slice(80)));
      expect(last.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

      const everything = await page(HUNDRED, { first: 100 });
      expect(edgeIds(everything.events)).toEqual(ids(all));
      expect(everything.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
      const everythingBack = await page(HUNDRED, { last: 100 });
      expect(edgeIds(everythingBack.events)).toEqual(ids(all));
      expect(everythingBack.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });

      const none = await page(HUNDRED, { first: 0 });
      expect(none.events.edges).toEqual([]);
      expect(none.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const noneBack = await page(HUNDRED, { last: 0 });
      expect(noneBack.events.edges).toEqual([]);
      expect(noneBack.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    });

    it('100 events: walking forward and backward, in both orders, visits every event once in order', async () => {
      for (const order of ['ASC', 'DESC'] as const) {
        const expected = ids(reference(stored(HUNDRED), order));
        const forward = await walk(HUNDRED, 30, 'forward', { order });
        expect(forward).toEqual({ ids: expected, pages: 4 });
        const backward = await walk(HUNDRED, 30, 'backward', { order });
        expect(backward).toEqual({ ids: expected, pages: 4 });
      }
    });

    it('DESC is newest first with ties in upstream order (a stable sort, not a reversal)', async () => {
      // makeEvents gives two events per second: seq 2k and 2k+1 share a timestamp.
      const { events } = await page(HUNDRED, { first: 5, order: 'DESC' });
      expect(edgeIds(events)).toEqual(seq(HUNDRED, 100, 98, 99, 96, 97));
      expect(events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const tail = await page(HUNDRED, { last: 3, order: 'DESC' });
      expect(edgeIds(tail.events)).toEqual(seq(HUNDRED, 2, 3, 1));
      expect(tail.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    });

    // Two queries, each reading the 100,000 events from upstream: 12 s, then 25 s on a loaded 2-core machine (20 s timed out).
    it('100,000 events: the default page holds 20 events, counts them all, and costs one upstream call', { timeout: 60_000 }, async () => {
      const { events } = await page(BIG);
      expect(events.edges).toHaveLength(20);
      expect(edgeIds(events)).toEqual(seq(BIG, ...Array.from({ length: 20 }, (_, i) => i + 1)));
      expect(events.totalCount).toBe(100_000);
      expect(events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      expect(harness.upstream.requestsFor(BIG)).toHaveLength(1);

      // The next page from its cursor, and the newest events, in one more request.
      const response = await harness.query<{ execution: { next: Connection; newest: Connection } }>(
        `query($id: ID!, $after: String) { execution(id: $id) {
          next: events(after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage hasPreviousPage } }
          newest: events(order: DESC, first: 3) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage } }
        } }`,
        { id: BIG, after: events.pageInfo.endCursor },
      );
      expect(response.errors).toBeUndefined();
      const { next, newest } = response.data!.execution;
      expect(edgeIds(next)).toEqual(seq(BIG, ...Array.from({ length: 20 }, (_, i) => i + 21)));
      expect(next.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true });
      expect(edgeIds(newest)).toEqual(seq(BIG, 100_000, 99_998, 99_999));
      expect(harness.upstream.requestsFor(BIG)).toHaveLength(2);
    });
  });

  // ---------------------------------------------------------------- filters

  describe('Execution.events filter', () => {
    const filters: Array<[string, FilterInput]> = [
      ['levels are "any of"', { levels: ['warn', 'error'] }],
      ['eventTypes are "any of"', { eventTypes: ['node.started', 'node.failed'] }],
      ['events without nodeId never match nodeIds', { nodeIds: ['node_1', 'node_2', 'node_3', 'node_4', 'node_0'] }],
      ['fields combine with "and"', { levels: ['info'], eventTypes: ['log'], nodeIds: ['node_2', 'node_4'] }],
      ['unknown values match nothing', { levels: ['fatal'] }],
      // The 10th event's timestamp, shared with the 11th: strict bounds exclude both.
      ['createdAfter is strict', { createdAfter: '2026-03-01T12:00:06.000Z' }],
      ['createdBefore is strict', { createdBefore: '2026-03-01T12:00:06.000Z' }],
      ['bounds with an offset', { createdAfter: '2026-03-01T13:00:06.000+01:00', createdBefore: '2026-03-01T12:00:20.001Z' }],
      // Inside the millisecond of the 10th and 11th events: after both, so before keeps them and after does not.
      ['createdBefore inside a millisecond', { createdBefore: '2026-03-01T12:00:06.0001Z' }],
      ['createdAfter inside a millisecond', { createdAfter: '2026-03-01T12:00:06.000999Z' }],
      ['createdBefore inside a millisecond, with an offset', { createdBefore: '2026-03-01T13:00:06.000000001+01:00' }],
    ];

    it.each(filters)('%s', async (_name, filter) => {
      for (const order of ['ASC', 'DESC'] as const) {
        const expected = reference(stored(HUNDRED), order, filter);
        const { events } = await page(HUNDRED, { first: 100, filter, order });
        expect(edgeIds(events)).toEqual(ids(expected));
        expect(events.totalCount).toBe(expected.length);
        expect(events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
      }
    });

    it('reads a bound inside a millisecond alike written in the document and sent as a variable', async () => {
      const bound = '2026-03-01T12:00:06.0001Z';
      const literal = await harness.query(`{ execution(id: "${HUNDRED}") { events(first: 100, filter: { createdBefore: "${bound}" }) { totalCount } } }`);
      const expected = reference(stored(HUNDRED), 'ASC', { createdBefore: bound }).length;
      expect((await page(HUNDRED, { first: 100, filter: { createdBefore: bound } })).events.totalCount).toBe(expected);
      expect(literal).toMatchObject({ data: { execution: { events: { totalCount: expected } } } });
    });

    it('the filters above are not vacuous', () => {
      const all = stored(HUNDRED);
      expect(all.some((event) => event.nodeId == null)).toBe(true);
      expect(all.find((event) => event.id === seq(HUNDRED, 10)[0])!.createdAt).toBe('2026-03-01T12:00:06.000Z');
      for (const [, filter] of filters.filter(([name]) => !name.startsWith('unknown'))) {
        const count = reference(all, 'ASC', filter).length;
        expect(count).toBeGreaterThan(0);
        expect(count).toBeLessThan(all.length);
      }
    });

    it('an empty list matches nothing, even beside other fields', async () => {
      for (const filter of [{ levels: [] }, { eventTypes: [] }, { nodeIds: [] }, { levels: ['info'], nodeIds: [] }]) {
        const { events } = await page(HUNDRED, { filter });
        expect(events).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false } });
      }
    });

    it('totalCount counts filtered events across pages, and the filtered walk visits each once', async () => {
      const filter = { levels: ['info'] };
      const expected = ids(reference(stored(HUNDRED), 'DESC', filter));
      expect(expected.length).toBeGreaterThan(20);
      const first = await page(HUNDRED, { filter, order: 'DESC' });
      expect(first.events.totalCount).toBe(expected.length);
      expect(edgeIds(first.events)).toEqual(expected.slice(0, 20));
      expect((await walk(HUNDRED, 7, 'forward', { filter, order: 'DESC' })).ids).toEqual(expected);
      expect((await walk(HUNDRED, 7, 'backward', { filter, order: 'DESC' })).ids).toEqual(expected);
    });

    it('a cursor keeps working when the filter changes between pages (it marks a position among all events)', async () => {
      const all = stored(HUNDRED);
      // Page 1 unfiltered, page 2 only `info` events after the same position.
      const one = await page(HUNDRED, { first: 10 });
      const infoFilter = { levels: ['info'] };
      const two = await page(HUNDRED, { first: 5, after: one.events.pageInfo.endCursor, filter: infoFilter });
      const infoAfter10 = reference(all, 'ASC', infoFilter).filter((event) => all.indexOf(event) >= 10);
      expect(edgeIds(two.events)).toEqual(ids(infoAfter10.slice(0, 5)));
      expect(two.events.totalCount).toBe(reference(all, 'ASC', infoFilter).length);
      expect(two.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

      // Page 1 of `error` events; page 2 of `warn` events after the last error seen:
      // the cursor's own event does not match the new filter.
      const errors = await page(HUNDRED, { first: 2, filter: { levels: ['error'] } });
      const cursorEvent = errors.events.edges.at(-1)!.node;
      expect(cursorEvent.level).toBe('error');
      const warnFilter = { levels: ['warn'] };
      const warns = await page(HUNDRED, { first: 3, after: errors.events.pageInfo.endCursor, filter: warnFilter });
      const position = all.findIndex((event) => event.id === cursorEvent.id);
      const warnAfter = reference(all, 'ASC', warnFilter).filter((event) => all.indexOf(event) > position);
      expect(edgeIds(warns.events)).toEqual(ids(warnAfter.slice(0, 3)));
      expect(warns.events.pageInfo.hasPreviousPage).toBe(true); // warn events exist before that error

      // Backward with a new filter from an unfiltered cursor.
      const back = await page(HUNDRED, { last: 4, before: one.events.pageInfo.endCursor, filter: warnFilter });
      const warnBefore10 = reference(all, 'ASC', warnFilter).filter((event) => all.indexOf(event) < 9);
      expect(edgeIds(back.events)).toEqual(ids(warnBefore10.slice(-4)));
      expect(back.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: warnBefore10.length > 4 });
    });

    it('after+before together select the events strictly between, in both orders', async () => {
      const cursors = await cursorsOf(HUNDRED);
      const all = stored(HUNDRED);
      for (const order of ['ASC', 'DESC'] as const) {
        const ordered = reference(all, order);
        const [a, b] = order === 'ASC' ? [10, 40] : [40, 10]; // ordered positions 10..40 (ASC) / 40..10 (DESC), by seq
        const afterId = seq(HUNDRED, a)[0]!;
        const beforeId = seq(HUNDRED, b)[0]!;
        const between = ordered.slice(ordered.findIndex((e) => e.id === afterId) + 1, ordered.findIndex((e) => e.id === beforeId));
        expect(between.length).toBeGreaterThan(10);
        const forward = await page(HUNDRED, { first: 10, after: cursors.get(afterId), before: cursors.get(beforeId), order });
        expect(edgeIds(forward.events)).toEqual(ids(between.slice(0, 10)));
        expect(forward.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
        const backward = await page(HUNDRED, { last: 10, after: cursors.get(afterId), before: cursors.get(beforeId), order });
        expect(edgeIds(backward.events)).toEqual(ids(between.slice(-10)));
        expect(backward.events.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
        const wide = await page(HUNDRED, { first: 100, after: cursors.get(afterId), before: cursors.get(beforeId), order });
        expect(edgeIds(wide.events)).toEqual(ids(between));
        expect(wide.events.pageInfo.hasNextPage).toBe(false);
        // Crossed cursors: nothing between.
        const crossed = await page(HUNDRED, { first: 10, after: cursors.get(beforeId), before: cursors.get(afterId), order });
        expect(crossed.events.edges).toEqual([]);
        expect(crossed.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      }
    });
  });

  // ---------------------------------------------------------------- cursors

  describe('Execution.events cursors', () => {
    it('a cursor keeps pointing at the same event after upstream appends more events', async () => {
      harness.upstream.put(makeExecution({ id: GROW, status: 'workflow_running', eventCount: 10 }));
      const before = await page(GROW, { first: 4 });
      expect(edgeIds(before.events)).toEqual(seq(GROW, 1, 2, 3, 4));
      const descBefore = await page(GROW, { first: 3, order: 'DESC' });

      const lastMs = Date.parse(stored(GROW).at(-1)!.createdAt);
      harness.upstream.appendEvents(GROW, makeEvents(GROW, DEMO_ORGANIZATION, 5, lastMs + 60_000, 11));
      expect(stored(GROW)).toHaveLength(15);

      const next = await page(GROW, { first: 50, after: before.events.pageInfo.endCursor });
      expect(edgeIds(next.events)).toEqual(seq(GROW, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
      expect(next.events.totalCount).toBe(15);
      expect(next.events.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

      // Newest first: the appended events land before the old page; the old cursor continues where it was.
      const descNext = await page(GROW, { first: 50, after: descBefore.events.pageInfo.endCursor, order: 'DESC' });
      const descAll = ids(reference(stored(GROW), 'DESC'));
      const at = descAll.indexOf(descBefore.events.edges.at(-1)!.node.id);
      expect(at).toBeGreaterThan(3);
      expect(edgeIds(descNext.events)).toEqual(descAll.slice(at + 1));
      const descNewer = await page(GROW, { last: 50, before: descBefore.events.pageInfo.startCursor, order: 'DESC' });
      expect(edgeIds(descNewer.events)).toEqual(descAll.slice(0, descAll.indexOf(descBefore.events.edges[0]!.node.id)));
      expect(edgeIds(descNewer.events)).toEqual(seq(GROW, 14, 15, 12, 13, 11));
    });

    it('a cursor names its event whatever the order it was taken in', async () => {
      const asc = await page(HUNDRED, { first: 50 });
      const desc = await page(HUNDRED, { first: 100, order: 'DESC' });
      const cursorOf50 = desc.events.edges.find((edge) => edge.node.id === seq(HUNDRED, 50)[0])!.cursor;
      const fromDescCursor = await page(HUNDRED, { first: 3, after: cursorOf50 });
      expect(edgeIds(fromDescCursor.events)).toEqual(seq(HUNDRED, 51, 52, 53));
      const fromAscCursor = await page(HUNDRED, { first: 3, after: asc.events.pageInfo.endCursor, order: 'DESC' });
      expect(edgeIds(fromAscCursor.events)).toEqual(seq(HUNDRED, 51, 48, 49));
    });

    describe('bad cursors are BAD_USER_INPUT with a clear message, with no upstream call when the cursor alone tells', () => {
      let cursor: string;
      beforeAll(async () => {
        harness.upstream.reset();
        cursor = (await page(HUNDRED, { first: 5 })).events.pageInfo.endCursor!;
      });

      const cases: Array<[string, () => string, string[]]> = [
        ['garbage', () => 'not-a-cursor', ['is not a valid events cursor']],
        ['an empty string', () => '', ['is not a valid events cursor']],
        ['an offset-looking number', () => '5', ['is not a valid events cursor']],
        ['a truncated cursor', () => cursor.slice(0, -3), ['is not a valid events cursor']],
        ['a cursor with an edited payload', () => cursor.slice(0, 2) + (cursor[2] === 'x' ? 'y' : 'x') + cursor.slice(3), ['is not a valid events cursor']],
        ['a cursor with an edited checksum', () => cursor.slice(0, -1) + (cursor.endsWith('A') ? 'B' : 'A'), ['is not a valid events cursor']],
        [
          'a payload edited to name another event (checksum kept)',
          () => {
            // Base64url JSON naming a different event, with the original checksum: rejected, not a page from elsewhere.
            const [payload, sum] = cursor.split('.');
            const json = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as unknown[];
            json[2] = seq(HUNDRED, 90)[0];
            return `${Buffer.from(JSON.stringify(json)).toString('base64url')}.${sum}`;
          },
          ['is not a valid events cursor'],
        ],
        ['an over-long cursor', () => `${'A'.repeat(5000)}.${cursor.split('.')[1]}`, ['is not a valid events cursor']],
      ];

      for (const name of ['after', 'before'] as const) {
        it.each(cases)(`${name}: %s`, async (_label, make, fragments) => {
          const bad = make();
          expect(bad).not.toBe(cursor);
          harness.upstream.reset();
          await rejected(HUNDRED, { [name]: bad, first: name === 'after' ? 5 : undefined, last: name === 'before' ? 5 : undefined }, `\`${name}\``, ...fragments);
          expect(harness.upstream.requests).toHaveLength(0);
        });
      }

      it('a cursor from another execution names both executions', async () => {
        for (const name of ['after', 'before'] as const) {
          harness.upstream.reset();
          await rejected(ONE, { [name]: cursor }, `\`${name}\``, HUNDRED, ONE);
          expect(harness.upstream.requests).toHaveLength(0);
        }
      });

      it('a cursor naming an event upstream no longer has', async () => {
        harness.upstream.put(makeExecution({ id: SHRINK, status: 'workflow_running', eventCount: 10 }));
        const shrinkCursor = (await page(SHRINK, { first: 8 })).events.pageInfo.endCursor!;
        harness.upstream.put(makeExecution({ id: SHRINK, status: 'workflow_running', eventCount: 5 }));
        for (const name of ['after', 'before'] as const) {
          harness.upstream.reset();
          // Only upstream's list tells: refused once it is read, on the page; a lagging replica's reading looks the
          // same, so the good cursor is to be sent again, not thrown away (src/errors.ts cursorEventMissing).
          const response = await harness.query(EVENTS_QUERY, { id: SHRINK, [name]: shrinkCursor });
          expect(response.data).toEqual({ execution: null });
          expect(response.errors![0]!.path).toEqual(['execution', 'events']);
          expect(response.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
          expect(response.errors![0]!.extensions).not.toHaveProperty('retryable');
          for (const fragment of [`\`${name}\``, seq(SHRINK, 8)[0]!, 'ask again shortly with the same cursor', 'start again without a cursor']) {
            expect(response.errors![0]!.message).toContain(fragment);
          }
          expect(harness.upstream.requestsFor(SHRINK)).toHaveLength(1);
        }
      });
    });
  });

  // ---------------------------------------------------------------- arguments

  describe('Execution.events page size', () => {
    it.each([
      ['first', -1],
      ['first', 101],
      ['first', -2_000_000_000],
      ['last', -1],
      ['last', 101],
      ['last', 2_000_000_000],
    ] as const)('%s: %i is BAD_USER_INPUT naming the argument and the limit', async (name, value) => {
      const response = await rejected(HUNDRED, { [name]: value }, `\`${name}\``, '100', String(value));
      expect(response.errors).toHaveLength(1);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['first', 0, 0],
      ['first', 100, 100],
      ['last', 0, 0],
      ['last', 100, 100],
      ['first', 37, 37],
    ] as const)('%s: %i is allowed', async (name, value, length) => {
      const { events } = await page(HUNDRED, { [name]: value });
      expect(events.edges).toHaveLength(length);
    });

    it('arguments GraphQL itself rejects cost no upstream call', async () => {
      for (const variables of [{ first: 'ten' }, { first: 1.5 }, { order: 'SIDEWAYS' }, { filter: { createdAfter: 'yesterday' } }, { filter: { levels: [1] } }]) {
        const response = await harness.query(EVENTS_QUERY, { id: HUNDRED, ...variables });
        expect(response.errors?.length ?? 0).toBeGreaterThan(0);
        expect(response.status).toBeLessThan(500);
        expect(response.data ?? null).toBeNull();
      }
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });

  describe('Execution.events `before` without first/last (issue contract)', () => {
    // Contract: "hasNextPage when only `before` is given is true iff filtered events
    // exist at or after the before position." Here the `before` event itself and
    // 90 more follow the page, so a client paging backward must be told so.
    it('reports hasNextPage when events exist at or after `before`', async () => {
      const cursors = await cursorsOf(HUNDRED);
      const { events } = await page(HUNDRED, { before: cursors.get(seq(HUNDRED, 11)[0]!) });
      expect(events.totalCount).toBe(100);
      expect(edgeIds(events)).toEqual(seq(HUNDRED, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
      expect(events.pageInfo.hasPreviousPage).toBe(false);
      expect(events.pageInfo.hasNextPage).toBe(true);
    });
  });

  // ---------------------------------------------------------------- upstream calls

  describe('Execution.events upstream calls', () => {
    it('several `events` selections under aliases cost one upstream call', async () => {
      const response = await harness.query<{ execution: Record<string, Connection> }>(
        `query($id: ID!) { execution(id: $id) {
          asc: events(first: 3) { totalCount edges { node { id } } }
          desc: events(first: 3, order: DESC) { totalCount edges { node { id } } }
          errors: events(filter: { levels: ["error"] }) { totalCount }
          plain: events { totalCount }
        } }`,
        { id: HUNDRED },
      );
      expect(response.errors).toBeUndefined();
      const { asc, desc, errors, plain } = response.data!.execution;
      expect(edgeIds(asc!)).toEqual(seq(HUNDRED, 1, 2, 3));
      expect(edgeIds(desc!)).toEqual(seq(HUNDRED, 100, 98, 99));
      expect(errors!.totalCount).toBe(reference(stored(HUNDRED), 'ASC', { levels: ['error'] }).length);
      expect(plain!.totalCount).toBe(100);
      expect(harness.upstream.requestsFor(HUNDRED)).toHaveLength(1);
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('event.execution round trip costs no extra upstream call', async () => {
      const response = await harness.query<{
        execution: { events: { nodes: Array<{ id: string; execution: { id: string; events: { totalCount: number; nodes: Array<{ id: string }> } } }> } };
      }>(
        `query($id: ID!) { execution(id: $id) {
          events(first: 5, order: DESC) { nodes { id execution { id events(first: 1) { totalCount nodes { id } } } } }
        } }`,
        { id: HUNDRED },
      );
      expect(response.errors).toBeUndefined();
      const nodes = response.data!.execution.events.nodes;
      expect(nodes).toHaveLength(5);
      for (const node of nodes) {
        expect(node.execution).toEqual({ id: HUNDRED, events: { totalCount: 100, nodes: [{ id: seq(HUNDRED, 1)[0] }] } });
      }
      expect(harness.upstream.requestsFor(HUNDRED)).toHaveLength(1);
      expect(harness.upstream.requests).toHaveLength(1);
    });

    describe('a page its arguments alone refuse costs no upstream call', () => {
      const FIVE = [EMPTY, ONE, HUNDRED, GROW, SHRINK];
      let cursor: string;
      beforeAll(async () => {
        cursor = (await page(OTHER, { first: 2 })).events.pageInfo.endCursor!;
      });

      const refusals: Array<[string, () => string, string]> = [
        ['an `after` that is no cursor', () => 'events(first: 2, after: "not-a-cursor")', 'is not a valid events cursor'],
        ['a `before` that is no cursor', () => 'events(last: 2, before: "not-a-cursor")', 'is not a valid events cursor'],
        ['a negative `first`', () => 'events(first: -1)', '`first` must be between 0 and 100'],
        ['a `first` above the page limit', () => 'events(first: 101)', '`first` must be between 0 and 100'],
        ['a negative `last`', () => 'events(last: -1)', '`last` must be between 0 and 100'],
        ['a `last` above the page limit', () => 'events(last: 101)', '`last` must be between 0 and 100'],
        ["another execution's cursor", () => `events(first: 2, after: ${JSON.stringify(cursor)})`, 'Cursors only work on the execution they came from'],
      ];

      it.each(refusals)('%s, under 5 aliases: BAD_USER_INPUT on each, no call', async (_label, events, message) => {
        harness.upstream.reset();
        const aliases = FIVE.map((id, n) => `e${n}: execution(id: ${JSON.stringify(id)}) { id ${events()} { edges { cursor } } }`);
        const response = await harness.query(`{ ${aliases.join(' ')} }`);
        expect(response.status).toBeLessThan(500);
        expect(response.data).toEqual(Object.fromEntries(FIVE.map((_id, n) => [`e${n}`, null])));
        expect(codes(response)).toEqual(FIVE.map(() => 'BAD_USER_INPUT'));
        for (const error of response.errors!) expect(error.message).toContain(message);
        expect(harness.upstream.requests).toHaveLength(0);
      });

      it('in `executions(ids)`, each id it refuses is null with its error; the others are served', async () => {
        harness.upstream.reset();
        const response = await harness.query<{ executions: Array<{ id: string; events: { edges: unknown[] } } | null> }>(
          `query($ids: [ID!]!, $after: String) { executions(ids: $ids) { id events(first: 2, after: $after) { edges { cursor } } } }`,
          { ids: [ONE, OTHER, EMPTY], after: cursor },
        );
        expect(response.data!.executions.map((item) => item?.id ?? null)).toEqual([null, OTHER, null]);
        expect(response.errors!.map((error) => [error.extensions?.code, error.path])).toEqual([
          ['BAD_USER_INPUT', ['executions', 0]],
          ['BAD_USER_INPUT', ['executions', 2]],
        ]);
        expect(harness.upstream.requestsFor(OTHER)).toHaveLength(1);
        expect(harness.upstream.requests).toHaveLength(1);
      });

      it('is read through variables and fragments, and not under a skipped selection', async () => {
        harness.upstream.reset();
        const refused = await harness.query(
          `query($id: ID!, $n: Int) { execution(id: $id) { ...page } } fragment page on Execution { ... on Execution { events(first: $n) { totalCount } } }`,
          { id: HUNDRED, n: -1 },
        );
        expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
        expect(refused.data).toEqual({ execution: null });
        expect(harness.upstream.requests).toHaveLength(0);
        const skipped = await harness.query<{ execution: { id: string } }>(
          `query($id: ID!, $skip: Boolean!) { execution(id: $id) { id events(first: -1) @skip(if: $skip) { totalCount } } }`,
          { id: HUNDRED, skip: true },
        );
        expect(skipped.errors).toBeUndefined();
        expect(skipped.data!.execution.id).toBe(HUNDRED);
        expect(harness.upstream.requests).toHaveLength(1);
      });
    });
  });
});
