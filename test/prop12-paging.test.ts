/**
 * The events connection over HTTP, paged with any sequence of `first`/`after`/`last`/`before`, in either order, with
 * or without a level filter, over any list of events (repeated ids, missing ids, ids of any text, long ids, numbers,
 * equal, missing and out-of-order timestamps, entries that are no objects), while upstream appends events between
 * pages as a running execution does. Every page must equal a simple model of README "Paging through events" computed
 * on the list upstream served for it (events told apart by a serial no field of the gateway reads, cursors by which
 * event their edge carried), and a walk from the first page to the last must serve every event the model lists once.
 * A cursor of another execution, or one cut or edited, is BAD_USER_INPUT before any upstream call; never a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withinTime } from './support/timed-property.js';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

const ID = 'ex_prop12_page';
const OTHER = 'ex_prop12_other';
const TIME_BUDGET_MS = Number(process.env.PROP12_BUDGET ?? 8_000);
const CODES_OK = /INTERNAL_SERVER_ERROR|Unexpected error|\n\s+at /;

type Entry = Record<string, unknown> | null | number | unknown[];

/** What upstream serves now, by execution id. */
const lists = new Map<string, Entry[]>();
let calls: string[] = [];
const script = (request: IncomingMessage, response: ServerResponse) => {
  const id = decodeURIComponent((request.url ?? '').split('/').at(-1)!);
  calls.push(id);
  const events = lists.get(id);
  if (!events) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 404, message: 'not found' }));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  // A running execution: nothing is cached across requests.
  response.end(JSON.stringify({ code: 200, data: { execution: { id, status: 'workflow_running' }, events } }));
};

const LONG = 'x'.repeat(300);
const idArb = fc.oneof(
  fc.constantFrom<unknown>('a', 'b', 'c', '#1', '#2', '', 1, '1', -0, 'é', '\ud800', 'a\u0000b', '😀', LONG, `${LONG}y`, `${LONG}\ud800`, `${LONG}\udc00`, null, { nested: 1 }, 1e400),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const SECONDS = 6;
const timeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: SECONDS - 1 }).map((second) => `2026-03-01T12:00:0${second}Z`) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 'yesterday', '2026-03-01T12:00:02.5+00:00', 1772366402, '10000-01-01T00:00:00Z') },
);
const LEVELS = ['info', 'warn', 'error'];
const levelArb = fc.constantFrom<unknown>(...LEVELS, 'WARN', null, 3);

interface EventSpec {
  id: unknown;
  createdAt: unknown;
  level: unknown;
  notObject: boolean;
}
const eventArb: fc.Arbitrary<EventSpec> = fc.record({ id: idArb, createdAt: timeArb, level: levelArb, notObject: fc.integer({ min: 0, max: 6 }).map((n) => n === 0) });

let serial = 0;
/** An event as upstream sends it; `message` is its serial, which no part of the gateway reads. Entries that are no objects have none. */
function entry(spec: EventSpec): Entry {
  if (spec.notObject) return null;
  const event: Record<string, unknown> = { level: spec.level, message: `m${serial++}`, eventType: 'node.completed' };
  if (spec.id !== null) event.id = spec.id;
  if (spec.createdAt !== undefined) event.createdAt = spec.createdAt;
  return event;
}

// ---- the model (README "Paging through events") ----

function instant(value: unknown): number {
  if (typeof value === 'number') return value < 1e11 ? value * 1000 : value;
  if (typeof value !== 'string') return Number.NaN;
  if (!/^\d{4}-/.test(value)) return Number.NaN;
  return Date.parse(value);
}

/** A DateTime bound as its whole milliseconds and whether it lies inside the next one (`…:02.0005Z`: 2000, true). */
function bound(text: string): { ms: number; inside: boolean } {
  const [, whole, fraction = ''] = /^(.*?:\d{2})(?:\.(\d+))?Z$/.exec(text)!;
  const digits = fraction.padEnd(3, '0');
  return { ms: Date.parse(`${whole}Z`) + Number(digits.slice(0, 3)), inside: /[1-9]/.test(digits.slice(3)) };
}

/** Bounds around and between the events' seconds, some inside a millisecond. */
const boundArb = fc.tuple(fc.integer({ min: 0, max: SECONDS }), fc.constantFrom('', '.000', '.0005', '.999999999', '.5')).map(([second, fraction]) => `2026-03-01T12:00:0${second}${fraction}Z`);

function levelOf(entry: Entry): string | null {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return null;
  const level = entry.level;
  return typeof level === 'string' ? level.toLowerCase() : typeof level === 'number' ? String(level) : null;
}

/** Upstream positions in the page order: by createdAt, an undated event right after the closest earlier dated one, ties in upstream order. */
function ordered(events: Entry[], order: 'ASC' | 'DESC'): number[] {
  let previous = Number.NEGATIVE_INFINITY;
  const sortTimes = events.map((event) => {
    const time = event !== null && typeof event === 'object' && !Array.isArray(event) ? instant(event.createdAt) : Number.NaN;
    if (!Number.isNaN(time)) previous = time;
    return previous;
  });
  const positions = events.map((_, position) => position);
  return positions.sort((a, b) => (order === 'ASC' ? sortTimes[a]! - sortTimes[b]! : sortTimes[b]! - sortTimes[a]!) || a - b);
}

interface PageArgs {
  first?: number;
  last?: number;
  /** Upstream positions the cursors name. */
  after?: number;
  before?: number;
  order: 'ASC' | 'DESC';
  levels?: string[];
  /** Strict time bounds, as DateTime text (to the nanosecond). */
  createdAfter?: string;
  createdBefore?: string;
}

interface ModelPage {
  positions: number[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number;
}

function modelPage(events: Entry[], args: PageArgs): ModelPage {
  const sequence = ordered(events, args.order);
  const rank = new Map(sequence.map((position, index) => [position, index]));
  const times = events.map((event) => (event !== null && typeof event === 'object' && !Array.isArray(event) ? instant(event.createdAt) : Number.NaN));
  const kept = sequence.filter(
    (position) =>
      (!args.levels || args.levels.map((level) => level.toLowerCase()).includes(levelOf(events[position]!) ?? '\u0000none')) &&
      (args.createdAfter === undefined || times[position]! > bound(args.createdAfter).ms) &&
      (args.createdBefore === undefined || times[position]! < bound(args.createdBefore).ms + (bound(args.createdBefore).inside ? 1 : 0)),
  );
  const afterRank = args.after === undefined ? undefined : rank.get(args.after)!;
  const beforeRank = args.before === undefined ? undefined : rank.get(args.before)!;
  const afterStart = afterRank === undefined ? 0 : kept.filter((position) => rank.get(position)! <= afterRank).length;
  const beforeEnd = beforeRank === undefined ? kept.length : kept.filter((position) => rank.get(position)! < beforeRank).length;
  let { first, last } = args;
  if (first === undefined && last === undefined) {
    if (args.before !== undefined && args.after === undefined) last = 20;
    else first = 20;
  }
  let start = afterStart;
  let end = Math.max(beforeEnd, afterStart);
  const between = end - start;
  if (first !== undefined && end - start > first) end = start + first;
  if (last !== undefined && end - start > last) start = end - last;
  return {
    positions: kept.slice(start, end),
    hasNextPage: first !== undefined ? between > first : beforeRank !== undefined && beforeEnd < kept.length,
    hasPreviousPage: last !== undefined ? between > last : afterRank !== undefined && afterStart > 0,
    totalCount: kept.length,
  };
}

// ---- over HTTP ----

const PAGE_QUERY = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $order: EventOrder, $filter: ExecutionEventFilter) {
  execution(id: $id) { id events(first: $first, after: $after, last: $last, before: $before, order: $order, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id message } } } }
}`;

interface Served {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  edges: Array<{ cursor: string; node: { id: string; message: string | null } }>;
}

interface Answer {
  status: number;
  text: string;
  body: { data?: { execution: { id: string; events: Served } | null } | null; errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string } }> };
}

async function ask(url: string, variables: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query: PAGE_QUERY, variables }) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as Answer['body'] };
}

/** The upstream position of each entry's event, by cursor (what the model's `after`/`before` are). */
type Cursors = Map<string, number>;

async function page(url: string, cursors: Cursors, args: PageArgs, cursorOf: (position: number) => string): Promise<{ served: Served; model: ModelPage }> {
  const events = lists.get(ID)!;
  const variables: Record<string, unknown> = { id: ID, order: args.order };
  if (args.first !== undefined) variables.first = args.first;
  if (args.last !== undefined) variables.last = args.last;
  if (args.after !== undefined) variables.after = cursorOf(args.after);
  if (args.before !== undefined) variables.before = cursorOf(args.before);
  const filter = { ...(args.levels ? { levels: args.levels } : {}), ...(args.createdAfter ? { createdAfter: args.createdAfter } : {}), ...(args.createdBefore ? { createdBefore: args.createdBefore } : {}) };
  if (Object.keys(filter).length > 0) variables.filter = filter;
  const answer = await ask(url, variables);
  expect(answer.status).toBe(200);
  expect(answer.text).not.toMatch(CODES_OK);
  expect(answer.body.errors, JSON.stringify(answer.body.errors)).toBeUndefined();
  const served = answer.body.data!.execution!.events;
  const model = modelPage(events, args);
  const messageAt = (position: number) => {
    const event = events[position];
    return event !== null && typeof event === 'object' && !Array.isArray(event) ? (event.message as string) : null;
  };
  // Entries that are no objects carry no serial: they are told apart by their derived id `#<position>`.
  const key = (position: number) => messageAt(position) ?? `#${position}`;
  expect(served.edges.map((edge) => edge.node.message ?? edge.node.id), JSON.stringify({ args, events })).toEqual(model.positions.map(key));
  expect({ next: served.pageInfo.hasNextPage, previous: served.pageInfo.hasPreviousPage, total: served.totalCount }).toEqual({
    next: model.hasNextPage,
    previous: model.hasPreviousPage,
    total: model.totalCount,
  });
  expect(served.pageInfo.startCursor).toBe(served.edges[0]?.cursor ?? null);
  expect(served.pageInfo.endCursor).toBe(served.edges.at(-1)?.cursor ?? null);
  served.edges.forEach((edge, index) => {
    const position = model.positions[index]!;
    const known = cursors.get(edge.cursor);
    // One event, one cursor: the same cursor never names two events, pages apart or lists apart.
    if (known !== undefined) expect(known).toBe(position);
    cursors.set(edge.cursor, position);
  });
  return { served, model };
}

function cursorFinder(cursors: Cursors): (position: number) => string {
  return (position) => {
    for (const [cursor, at] of cursors) if (at === position) return cursor;
    throw new Error(`no cursor seen for position ${position}`);
  };
}

/** `withinTime` with this file's budget, at least 10 runs, each with a fresh record of upstream calls. */
const within = <T>(arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, numRuns: number) =>
  withinTime(arb, predicate, { numRuns, budgetMs: TIME_BUDGET_MS, minRuns: 10, beforeRun: () => (calls = []) });

const walkArb = fc.record({
  initial: fc.array(eventArb, { maxLength: 12 }),
  order: fc.constantFrom<'ASC' | 'DESC'>('ASC', 'DESC'),
  size: fc.integer({ min: 1, max: 4 }),
  backward: fc.boolean(),
  levels: fc.option(fc.subarray(['info', 'warn', 'error', 'WARN']), { nil: undefined }),
  appends: fc.array(fc.array(eventArb, { maxLength: 2 }), { minLength: 12, maxLength: 12 }),
});

describe('the events connection over HTTP against a model', () => {
  let gateway: BehindScripted;
  beforeAll(async () => {
    lists.set(OTHER, [{ id: 'a', createdAt: '2026-03-01T12:00:00Z' }]);
    gateway = await gatewayBehindScripted(script);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('a complete walk, forward or backward, while upstream appends later events, serves every event once, each page as the model', async () => {
    await within(
      walkArb, async ({ initial, order, size, backward, levels, appends }) => {
        lists.set(ID, initial.map(entry));
        const cursors: Cursors = new Map();
        const cursorOf = cursorFinder(cursors);
        const seen: number[] = [];
        let cursor: number | undefined;
        for (let step = 0; step < 40; step++) {
          const args: PageArgs = backward ? { last: size, before: cursor, order, levels } : { first: size, after: cursor, order, levels };
          const { served, model } = await page(gateway.url, cursors, args, cursorOf);
          seen.push(...(backward ? [...model.positions].reverse() : model.positions));
          const more = backward ? served.pageInfo.hasPreviousPage : served.pageInfo.hasNextPage;
          if (!more) break;
          cursor = backward ? model.positions[0] : model.positions.at(-1);
          // Upstream appends, dated no earlier than any event it has (or undated after the latest one), as it runs.
          const latest = Math.max(...lists.get(ID)!.map((event) => (event !== null && typeof event === 'object' && !Array.isArray(event) ? instant(event.createdAt) : Number.NaN)).filter((time) => !Number.isNaN(time)), Date.parse('2026-03-01T12:00:00Z'));
          const added = (appends[step] ?? []).map((spec, index) => entry({ ...spec, notObject: false, createdAt: new Date(latest + index * 1000).toISOString() }));
          lists.get(ID)!.push(...added);
        }
        expect(new Set(seen).size).toBe(seen.length);
        // Forward in ASC, every event that follows the first page's start, appended ones included, is served once;
        // otherwise (DESC or backward) every event of the first reading is.
        const final = lists.get(ID)!;
        const firstList = final.slice(0, initial.length);
        const expected = !backward && order === 'ASC' ? modelPage(final, { order, levels, first: 100 }).positions : modelPage(firstList, { order, levels, first: 100 }).positions.filter((position) => position < initial.length);
        const served = [...seen].sort((a, b) => a - b);
        if (!backward && order === 'ASC') expect(served).toEqual([...expected].sort((a, b) => a - b));
        else for (const position of expected) expect(served).toContain(position);
        expect(calls.every((id) => id === ID)).toBe(true);
      },
      Number(process.env.PROP12_RUNS ?? 60),
    );
  });

  it('any sequence of pages with any cursors handed out, any sizes, either order, any filter: each page as the model', async () => {
    const stepArb = fc.record({
      first: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      last: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
      after: fc.option(fc.nat(), { nil: undefined }),
      before: fc.option(fc.nat(), { nil: undefined }),
      order: fc.constantFrom<'ASC' | 'DESC'>('ASC', 'DESC'),
      levels: fc.option(fc.subarray(['info', 'warn', 'error', 'WARN', '3']), { nil: undefined }),
      createdAfter: fc.option(boundArb, { nil: undefined }),
      createdBefore: fc.option(boundArb, { nil: undefined }),
      append: fc.array(eventArb, { maxLength: 2 }),
    });
    await within(
      fc.tuple(fc.array(eventArb, { maxLength: 10 }), fc.array(stepArb, { minLength: 1, maxLength: 8 })), async ([initial, steps]) => {
        lists.set(ID, initial.map(entry));
        const cursors: Cursors = new Map();
        const cursorOf = cursorFinder(cursors);
        for (const step of steps) {
          const known = [...new Set(cursors.values())];
          const args: PageArgs = {
            order: step.order,
            ...(step.first !== undefined ? { first: step.first } : {}),
            ...(step.last !== undefined ? { last: step.last } : {}),
            ...(step.after !== undefined && known.length > 0 ? { after: known[step.after % known.length] } : {}),
            ...(step.before !== undefined && known.length > 0 ? { before: known[step.before % known.length] } : {}),
            ...(step.levels ? { levels: step.levels } : {}),
            ...(step.createdAfter ? { createdAfter: step.createdAfter } : {}),
            ...(step.createdBefore ? { createdBefore: step.createdBefore } : {}),
          };
          await page(gateway.url, cursors, args, cursorOf);
          // Appended with any timestamp: a cursor keeps naming its event whatever sorts in before it.
          lists.get(ID)!.push(...step.append.map(entry));
        }
      },
      Number(process.env.PROP12_RUNS ?? 60),
    );
  });

  it('executions(ids) with one execution\'s cursor: that execution served from it, every other one BAD_USER_INPUT at its place, never read', async () => {
    const POOL = [ID, OTHER, 'ex_prop12_third'];
    lists.set(ID, [{ id: 'a', createdAt: '2026-03-01T12:00:00Z', message: 'a' }, { id: 'a', createdAt: '2026-03-01T12:00:01Z', message: 'a2' }, { createdAt: '2026-03-01T12:00:02Z', message: 'c' }]);
    lists.set('ex_prop12_third', [{ id: 'a', createdAt: '2026-03-01T12:00:00Z', message: 'third' }]);
    const cursorsOf = new Map<string, string[]>();
    for (const id of POOL) cursorsOf.set(id, (await ask(gateway.url, { id, first: 5 })).body.data!.execution!.events.edges.map((edge) => edge.cursor));
    const query = `query($ids: [ID!]!, $after: String, $before: String) { executions(ids: $ids) { id events(first: 5, after: $after, before: $before) { nodes { message } } } }`;
    await within(
      fc.tuple(fc.array(fc.constantFrom(...POOL), { minLength: 1, maxLength: 6 }), fc.constantFrom(...POOL), fc.nat(), fc.constantFrom('after', 'before')), async ([ids, owner, which, name]) => {
        const owned = cursorsOf.get(owner)!;
        const cursor = owned[which % owned.length]!;
        const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query, variables: { ids, [name]: cursor } }) });
        const text = await response.text();
        expect(response.status).toBe(200);
        expect(text).not.toMatch(CODES_OK);
        const body = JSON.parse(text) as { data: { executions: Array<{ id: string; events: { nodes: Array<{ message: string }> } } | null> }; errors?: Array<{ path: unknown[]; extensions: { code: string } }> };
        const position = owned.indexOf(cursor);
        const events = lists.get(owner)!;
        const messages = (name === 'after' ? events.slice(position + 1) : events.slice(0, position)).map((event) => (event as { message: string }).message);
        expect(body.data.executions).toEqual(ids.map((id) => (id === owner ? { id, events: { nodes: messages.map((message) => ({ message })) } } : null)));
        expect((body.errors ?? []).map((error) => [error.path, error.extensions.code])).toEqual(ids.flatMap((id, index) => (id === owner ? [] : [[['executions', index], 'BAD_USER_INPUT']])));
        expect(calls).toEqual(ids.includes(owner) ? [owner] : []);
      },
      200,
    );
  });

  it('a cursor cut, edited, padded or of another execution is BAD_USER_INPUT at the execution, with no upstream call', async () => {
    lists.set(ID, [{ id: 'a', createdAt: '2026-03-01T12:00:00Z' }, { id: 'b', createdAt: '2026-03-01T12:00:01Z' }, { createdAt: '2026-03-01T12:00:02Z' }]);
    const own = (await ask(gateway.url, { id: ID, first: 3 })).body.data!.execution!.events.edges.map((edge) => edge.cursor);
    const foreign = (await ask(gateway.url, { id: OTHER, first: 1 })).body.data!.execution!.events.edges.map((edge) => edge.cursor);
    expect(own).toHaveLength(3);
    const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const mangled = fc.oneof(
      fc.constantFrom(...own).chain((cursor) =>
        fc.oneof(
          fc.integer({ min: 0, max: cursor.length - 1 }).map((cut) => cursor.slice(0, cut)),
          fc.integer({ min: 1, max: cursor.length - 1 }).map((cut) => cursor.slice(cut)),
          fc.tuple(fc.integer({ min: 0, max: cursor.length - 1 }), fc.constantFrom(...BASE64, '.', '=', '+', '/', ' ', 'é', '\u0000')).map(([at, char]) => `${cursor.slice(0, at)}${char}${cursor.slice(at + 1)}`),
          fc.tuple(fc.integer({ min: 0, max: cursor.length }), fc.constantFrom('=', '==', '.', ' ', '\n', 'A', '%3D')).map(([at, text]) => `${cursor.slice(0, at)}${text}${cursor.slice(at)}`),
          fc.constant(cursor.toUpperCase()),
          fc.constant(cursor.replaceAll('-', '+').replaceAll('_', '/')),
          fc.constant(`${cursor}${'A'.repeat(8200)}`),
        ),
      ),
      fc.constantFrom(...foreign),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('', ' ', '.', 'null', '[]', `${Buffer.from(JSON.stringify([1, ID, 'a'])).toString('base64url')}.0000000000`),
    );
    await within(
      fc.tuple(mangled, fc.constantFrom('after', 'before')), async ([cursor, name]) => {
        fc.pre(!own.includes(cursor));
        const answer = await ask(gateway.url, { id: ID, first: 1, [name]: cursor });
        expect(answer.status).toBe(200);
        expect(answer.text).not.toMatch(CODES_OK);
        expect(answer.body.data).toEqual({ execution: null });
        expect(answer.body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['execution'], 'BAD_USER_INPUT']]);
        expect(calls).toEqual([]);
      },
      300,
    );
  });
});
