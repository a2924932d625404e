/**
 * Filters an events array remembers (src/domain/event-pages.ts) ride on a
 * cached execution for its whole life, outside the cache's size: what each
 * keeps must not grow with the lists a request sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendedEvents, filtersCompiled, pageEvents, type EventOrder } from '../src/domain/event-pages.js';
import { eventIdOf, type Execution } from '../src/domain/execution.js';
import { Harness, LANES } from './support/harness.js';
import { heapAfterCollection } from './support/heap.js';


const events = Array.from({ length: 200 }, (_, i) => ({
  id: `ev_${i}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  level: i % 3 ? 'info' : 'error',
  eventType: 'node.completed',
  nodeId: `node_${i % 7}`,
}));

describe('remembered event filters', () => {
  it('keep a fixed size however long the filter\'s lists: 32 filters of 200,000 characters each hold well under 1 MB', () => {
    const execution: Execution = { id: 'ex_filters', source: { id: 'ex_filters', status: 'workflow_running' }, events, bodyBytes: 0 };
    // The index (orderings) is made before the measure, so only the remembered filters count.
    for (const order of ['ASC', 'DESC'] as EventOrder[]) pageEvents(execution, { first: 1, order, filter: { levels: ['info'] } });
    const before = heapAfterCollection();
    for (let i = 0; i < 32; i++) {
      const order: EventOrder = i % 2 ? 'ASC' : 'DESC';
      const page = pageEvents(execution, { first: 0, order, filter: { nodeIds: [`${'n'.repeat(200_000)}${i}`, 'node_1'] } });
      expect(page.totalCount).toBe(events.filter((event) => event.nodeId === 'node_1').length);
    }
    const grown = heapAfterCollection() - before;
    expect(grown).toBeLessThan(1_000_000);
    // Still remembered, by digest: the same long filter again finds the same events.
    const again = pageEvents(execution, { first: 100, order: 'ASC', filter: { nodeIds: [`${'n'.repeat(200_000)}1`, 'node_1'] } });
    const expected = events.filter((event) => event.nodeId === 'node_1');
    expect([again.totalCount, again.edges.length]).toEqual([expected.length, expected.length]);
    expect(again.edges.map((edge) => eventIdOf(edge.node.source, edge.node.position))).toEqual(expected.map((event) => event.id));
    expect(execution.events).toBe(events);
  });

  it('remember 16 filters at most: 200 distinct ones over 20,000 events hold about 16 lists, not 200 (a list is an Int32Array, outside heapUsed)', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => ({ id: `ev_${i}`, createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), level: 'info' }));
    const execution: Execution = { id: 'ex_many_filters', source: { id: 'ex_many_filters', status: 'workflow_running' }, events: many, bodyBytes: 0 };
    pageEvents(execution, { first: 1, order: 'ASC' });
    const held = () => heapAfterCollection() + process.memoryUsage().arrayBuffers;
    const before = held();
    // A client moving `createdAfter` by a millisecond each time: every filter distinct, each keeping nearly every event.
    for (let i = 0; i < 200; i++) expect(pageEvents(execution, { first: 0, order: 'ASC', filter: { createdAfter: { ms: Date.UTC(2025, 11, 31) + i, insideMs: false } } }).totalCount).toBe(20_000);
    // 16 lists of 80 KB are 1.3 MB; 200 of them, 16 MB.
    expect(held() - before).toBeLessThan(4_000_000);
  });
});

describe('one index and one filtering per events array', () => {
  // The index (order, ranks) is built once per array and each filter's list once per order: a 100,000-event
  // execution paged 20 at a time must not be sorted or filtered again for every page.
  it('walks ten filtered pages of 10,000 events reading the events far fewer times than once a page', () => {
    const values = Array.from({ length: 10_000 }, (_, i) => ({ id: `ev_${i}`, createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), level: i % 2 ? 'info' : 'error' }));
    let reads = 0;
    const counted = new Proxy(values, {
      get(target, property, receiver) {
        if (typeof property === 'string' && /^\d+$/.test(property)) reads++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const execution: Execution = { id: 'ex_walk', source: { id: 'ex_walk', status: 'workflow_running' }, events: counted, bodyBytes: 0 };
    const filter = { levels: ['error'] };
    // The index and the filter's list, made by the first pages.
    pageEvents(execution, { first: 5, order: 'DESC', filter });
    pageEvents(execution, { first: 5, order: 'DESC', filter });
    reads = 0;
    let after: string | null | undefined;
    for (let page = 0; page < 10; page++) {
      const { edges, pageInfo } = pageEvents(execution, { first: 5, order: 'DESC', filter, ...(after ? { after } : {}) });
      expect(edges).toHaveLength(5);
      after = pageInfo.endCursor;
    }
    // The 50 events served, and what their cursors and fields read; rebuilt per page, 100,000 and more.
    expect(reads).toBeLessThan(500);
  });
});

/** A list that counts how often it is read whole (a Set or a sort copies it by iterating). */
function countedList(values: string[]): { list: string[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(values, {
    get(target, property, receiver) {
      if (property === Symbol.iterator) reads++;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
  return { list, reads: () => reads };
}

describe('a filter argument is compiled once, however many pages it filters', () => {
  // 30 aliases of `executions(ids: $ids)` over 100 ids, each with `events(filter: $filter)`, are 3,000 pages with one
  // filter object (a variable's value): compiled per page, a 5,500-value list was copied, sorted and hashed 3,000
  // times, 4 s of one request's CPU for a single upstream call.
  it('pages of many executions, and the updates of a watch, read its lists once', () => {
    const levels = countedList(['error', ...Array.from({ length: 5_500 }, (_, i) => `level_${i}`)]);
    const filter = { levels: levels.list };
    const expected = events.filter((event) => event.level === 'error').length;
    for (let i = 0; i < 300; i++) {
      // A reading each time: a new events array, as each upstream answer is, so nothing of the index is shared.
      const execution: Execution = { id: 'ex_filters', source: { id: 'ex_filters', status: 'workflow_running' }, events: [...events], bodyBytes: 0 };
      expect(pageEvents(execution, { first: 0, filter }).totalCount).toBe(expected);
      expect(appendedEvents(execution, 190, filter, 100).edges.map((edge) => eventIdOf(edge.node.source, edge.node.position))).toEqual(
        events.slice(190).filter((event) => event.level === 'error').map((event) => event.id),
      );
    }
    expect(levels.reads()).toBeLessThanOrEqual(2);
  });

  it('another filter object with the same values filters alike', () => {
    const execution: Execution = { id: 'ex_filters', source: { id: 'ex_filters', status: 'workflow_running' }, events, bodyBytes: 0 };
    const one = pageEvents(execution, { first: 100, filter: { nodeIds: ['node_1', 'node_2'] } });
    const other = pageEvents(execution, { first: 100, filter: { nodeIds: ['node_2', 'node_1'] } });
    const createdAfter = pageEvents(execution, { first: 100, filter: { createdAfter: { ms: Date.UTC(2026, 0, 1, 0, 0, 150), insideMs: false } } });
    expect(other.edges.map((edge) => edge.cursor)).toEqual(one.edges.map((edge) => edge.cursor));
    expect(one.totalCount).toBe(events.filter((event) => event.nodeId === 'node_1' || event.nodeId === 'node_2').length);
    expect(createdAfter.totalCount).toBe(49);
  });
});

describe.each(LANES)('through the gateway, a request compiles each `events` field\'s filter once, however many executions it pages, %s lane', (lane) => {
  // 30 aliases of `executions(ids: $ids)` over 100 ids are 3,000 pages. Remembered by object alone, a filter written
  // `{ levels: $levels }` or as a literal was a new object on each page (graphql-js makes one per field it resolves):
  // a review measured 4 s for one request with 5,500 levels, as before any remembering.
  const levels = ['error', ...Array.from({ length: 500 }, (_, i) => `level_${i}`)];
  const ids = Array.from({ length: 100 }, () => 'ex_demo_long');
  const aliases = (selection: string) => Array.from({ length: 30 }, (_, i) => `a${i}: executions(ids: $ids) { ${selection} }`).join(' ');
  const shapes = [
    { title: 'a variable for the whole filter', query: `query($ids: [ID!]!, $f: ExecutionEventFilter) { ${aliases('events(first: 0, filter: $f) { totalCount }')} }`, variables: { ids, f: { levels } }, fields: 30 },
    { title: 'a literal object around a variable list', query: `query($ids: [ID!]!, $levels: [String!]) { ${aliases('events(first: 0, filter: { levels: $levels }) { totalCount }')} }`, variables: { ids, levels }, fields: 30 },
    {
      title: 'a literal in a fragment every alias spreads',
      query: `query($ids: [ID!]!) { ${aliases('...Counted')} } fragment Counted on Execution { events(first: 0, filter: { levels: ["error", "warn"] }) { totalCount } }`,
      variables: { ids },
      fields: 1,
    },
  ];
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each(shapes)('$title: at most one compile per events field of the document, not one per page', async ({ query, variables, fields }) => {
    const before = filtersCompiled();
    const response = await harness.query<Record<string, Array<{ events: { totalCount: number } }>>>(query, variables);
    expect(response.errors).toBeUndefined();
    const counts = Object.values(response.data!).flatMap((executions) => executions.map((execution) => execution.events.totalCount));
    expect(counts).toHaveLength(3_000);
    expect(new Set(counts).size).toBe(1);
    expect(filtersCompiled() - before).toBeLessThanOrEqual(fields);
  });
});
