/**
 * Complete walks over HTTP, on both lanes, through an execution whose events
 * have everything the tolerant reader allows: the same id more than once (also
 * `7` and `"7"`, and a sent `"#1"` beside the `#1` derived for an event without
 * an id), ids missing or empty, an entry that is not an object, timestamps in
 * other spellings (an offset, lowercase, epoch milliseconds, a bare date),
 * missing, null or impossible, and upstream's list out of order.
 *
 * The README's loops (forward: `first`, `after: endCursor` while hasNextPage;
 * backward: `last`, `before: startCursor` while hasPreviousPage) must end and
 * return every event exactly once, in order, in ASC and DESC, with and without
 * a filter. test/event-pages.property.test.ts proves the same over random lists;
 * these few walks prove it survives the wire (cursors as strings, both lanes).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import type { UpstreamEvent } from '../src/upstream/envelope.js';
import { Harness, LANES } from './support/harness.js';

const ID = 'ex_walk_odd';

/** Upstream's events, as sent. Each object's `message` names it (`m<position>`); position 9 is not an object. */
const EVENTS: unknown[] = [
  /* 0 */ { id: 'ev_a', createdAt: '2026-03-01T12:00:01.000Z', level: 'info', message: 'm0' },
  /* 1 */ { createdAt: '2026-03-01T13:00:01+01:00', level: 'warn', message: 'm1' }, // no id → #1; same instant as 0
  /* 2 */ { id: 'ev_a', level: 'info', message: 'm2' }, // no createdAt: sorts with 1's time, after it
  /* 3 */ { id: 'ev_b', createdAt: '2026-03-01T11:59:59Z', level: 'error', message: 'm3' }, // earlier than those before it
  /* 4 */ { id: '', createdAt: 'not a time', level: 'info', message: 'm4' }, // empty id → #4; sorts with 3
  /* 5 */ { id: 'ev_a', createdAt: 1772366402000, level: 'debug', message: 'm5' }, // epoch ms: 12:00:02
  /* 6 */ { id: 7, createdAt: '2026-03-01t12:00:02z', level: 'info', message: 'm6' }, // id 7 → "7"
  /* 7 */ { id: '7', createdAt: null, level: 3, message: 'm7' }, // "7" again; level as text "3"
  /* 8 */ { id: '#1', createdAt: '2026-03-01', level: 'info', message: 'm8' }, // "#1" again; midnight, before all
  /* 9 */ null, // → #9, no fields; sorts with 8
  /* 10 */ { id: 'ev_b', createdAt: '2026-03-01T12:00:00.000Z', level: 'warn', message: 'm10' },
  /* 11 */ { id: 'ev_c', createdAt: '2026-02-30T00:00:00Z', level: 'info', message: 'm11' }, // no such day: sorts with 10
];

/** The id each position is served with. */
const IDS = ['ev_a', '#1', 'ev_a', 'ev_b', '#4', 'ev_a', '7', '7', '#1', '#9', 'ev_b', 'ev_c'];
/** The createdAt each position is served with. */
const CREATED = [
  '2026-03-01T12:00:01.000Z',
  '2026-03-01T12:00:01.000Z',
  null,
  '2026-03-01T11:59:59.000Z',
  null,
  '2026-03-01T12:00:02.000Z',
  '2026-03-01T12:00:02.000Z',
  null,
  '2026-03-01T00:00:00.000Z',
  null,
  '2026-03-01T12:00:00.000Z',
  null,
];

/**
 * Sort times: 8, 9 midnight; 3, 4 11:59:59; 10, 11 12:00:00; 0, 1, 2 12:00:01;
 * 5, 6, 7 12:00:02. Equal times keep upstream order in both orders.
 */
const ASC = [8, 9, 3, 4, 10, 11, 0, 1, 2, 5, 6, 7];
const DESC = [5, 6, 7, 0, 1, 2, 10, 11, 3, 4, 8, 9];
/** `levels: ["info", "3"]` keeps 0, 2, 4, 6, 7 (level 3, as text), 8 and 11. */
const LEVEL_FILTER = { levels: ['info', '3'] };
const KEPT = new Set([0, 2, 4, 6, 7, 8, 11]);

const QUERY = `
  query Walk($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ExecutionEventFilter, $order: EventOrder) {
    execution(id: $id) {
      id
      events(first: $first, after: $after, last: $last, before: $before, filter: $filter, order: $order) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id createdAt level message } }
      }
    }
  }
`;

interface Node {
  id: string;
  createdAt: string | null;
  level: string | null;
  message: string | null;
}
interface Connection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: Array<{ cursor: string; node: Node }>;
}

/** Which upstream position a node is: its message, or for the one entry that is not an object, its derived id. */
const positionOf = (node: Node) => (node.message === null ? Number(node.id.slice(1)) : Number(node.message.slice(1)));

type Direction = 'forward' | 'backward';

describe.each(LANES)('complete walks over odd events (%s lane)', (lane) => {
  let harness: Harness;
  const store = (events: unknown[]) =>
    harness.upstream.put({ execution: makeExecution({ id: ID, status: 'workflow_running', eventCount: 0 }).execution, events: events as UpstreamEvent[] });

  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());
  beforeEach(() => store(EVENTS));

  async function page(variables: Record<string, unknown>): Promise<Connection> {
    const response = await harness.query<{ execution: { id: string; events: Connection } }>(QUERY, { id: ID, ...variables });
    expect(response.status).toBe(200);
    expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
    expect(response.data?.execution.id).toBe(ID);
    return response.data!.execution.events;
  }

  /**
   * The README's loop, page by page; `between(pages)` runs after each page.
   * Fails when it has not ended after one page per event and one more.
   */
  async function walk(
    direction: Direction,
    size: number,
    args: { order?: 'ASC' | 'DESC'; filter?: typeof LEVEL_FILTER },
    maxPages: number,
    between?: (pages: number) => void,
  ): Promise<Node[]> {
    const nodes: Node[] = [];
    let cursor: string | null = null;
    for (let pages = 1; ; pages++) {
      expect(pages, `the ${direction} walk ends`).toBeLessThanOrEqual(maxPages);
      const connection = await page(direction === 'forward' ? { ...args, first: size, after: cursor } : { ...args, last: size, before: cursor });
      const got = connection.edges.map((edge) => edge.node);
      if (direction === 'forward') nodes.push(...got);
      else nodes.unshift(...got);
      between?.(pages);
      if (direction === 'forward' ? !connection.pageInfo.hasNextPage : !connection.pageInfo.hasPreviousPage) break;
      cursor = direction === 'forward' ? connection.pageInfo.endCursor : connection.pageInfo.startCursor;
      expect(cursor, 'a page that says more follow has a cursor to page from').not.toBeNull();
    }
    return nodes;
  }

  function expectEveryEventOnce(nodes: Node[], expected: number[]): void {
    const positions = nodes.map(positionOf);
    expect(new Set(positions).size, `no event twice: ${positions.join(',')}`).toBe(positions.length);
    expect(positions).toEqual(expected);
    for (const node of nodes) {
      const position = positionOf(node);
      expect(node.id).toBe(IDS[position]);
      expect(node.createdAt).toBe(CREATED[position]);
    }
  }

  const cases: Array<[string, { order?: 'ASC' | 'DESC'; filter?: typeof LEVEL_FILTER }, number[]]> = [
    ['ASC (the default)', {}, ASC],
    ['DESC', { order: 'DESC' }, DESC],
    ['ASC with a level filter', { filter: LEVEL_FILTER }, ASC.filter((p) => KEPT.has(p))],
    ['DESC with a level filter', { order: 'DESC', filter: LEVEL_FILTER }, DESC.filter((p) => KEPT.has(p))],
  ];

  describe.each(cases)('%s', (_name, args, expected) => {
    it.each([1, 5])('forward, first: %i, after: endCursor while hasNextPage, ends with every event once', async (size) => {
      expectEveryEventOnce(await walk('forward', size, args, expected.length + 1), expected);
    });

    it.each([1, 5])('backward, last: %i, before: startCursor while hasPreviousPage, ends with every event once', async (size) => {
      expectEveryEventOnce(await walk('backward', size, args, expected.length + 1), expected);
    });
  });

  it('the filtered count, the page of everything, and distinct cursors for events that share an id', async () => {
    const all = await page({ first: 100 });
    expect(all.totalCount).toBe(EVENTS.length);
    expectEveryEventOnce(all.edges.map((edge) => edge.node), ASC);
    expect(new Set(all.edges.map((edge) => edge.cursor)).size).toBe(EVENTS.length);
    expect((await page({ first: 0, filter: LEVEL_FILTER })).totalCount).toBe(KEPT.size);
  });

  it('a forward walk goes on through events upstream appends mid-walk: duplicates of ids and an undated one', async () => {
    const appended = [
      { id: 'ev_a', createdAt: '2026-03-01T12:00:09.000Z', level: 'info', message: 'm12' },
      { level: 'info', message: 'm13' }, // no id → #13, no createdAt: sorts with 12's time, after it
      { id: '7', createdAt: '2026-03-01T12:00:09Z', level: 'info', message: 'm14' },
    ];
    const nodes = await walk('forward', 1, {}, EVENTS.length + appended.length + 1, (pages) => {
      if (pages === 4) store([...EVENTS, ...appended]);
    });
    const positions = nodes.map(positionOf);
    expect(positions).toEqual([...ASC, 12, 13, 14]);
    expect(nodes.slice(-3).map((node) => node.id)).toEqual(['ev_a', '#13', '7']);
    expect(nodes.at(-2)!.createdAt).toBeNull();
  });
});
