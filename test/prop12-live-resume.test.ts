/**
 * A watch resumed from any cursor a query handed out (or from the start of the list), over Server-Sent Events, while
 * upstream's list grows reading by reading as a running execution's does: appended events with repeated ids, no ids
 * or ids of any text, and, after the watch's first reading, events inserted before ones already listed, some with the
 * id of one listed or none (README "Live executions": such an event is new too and comes once, after those already
 * delivered; counted by id alone, one inserted before an event of its id re-delivered that event and was never sent). Whatever the readings, the
 * watch's `newEvents` over all its updates are every event after the cursor, each once, in the order README says,
 * matching the filter; the last update is final; one upstream call per reading. And a watch joining a running one
 * from a query's cursor, after such an insertion, misses no event (it may get some again).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEventCursor, encodeStartCursor } from '../src/domain/event-cursor.js';
import { eventIdOf } from '../src/domain/execution.js';
import { AUTH } from './support/harness.js';
import { liveEnv, waitFor } from './support/live.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';
import { nextEvents } from './support/transports.js';

const TIME_BUDGET_MS = Number(process.env.PROP12_BUDGET ?? 12_000);
const NUM_RUNS = Number(process.env.PROP12_RUNS ?? 40);

type Entry = Record<string, unknown>;

/** Each execution's readings, served one per call; the last one again for any later call. */
const readingsOf = new Map<string, Entry[][]>();
const callsOf = new Map<string, number>();
/** An execution's reading as a test sets it, served to every call until it sets another. */
const nowOf = new Map<string, { status: string; events: Entry[] }>();
/** Calls of the watches' caller held unanswered while set: the watches' list stays as it was laid. */
let held: Array<() => void> | undefined;
const script = (request: IncomingMessage, response: ServerResponse) => {
  const id = decodeURIComponent((request.url ?? '').split('/').at(-1)!);
  const now = nowOf.get(id);
  if (now && held && request.headers.authorization === AUTH) {
    held.push(() => script(request, response));
    return;
  }
  if (now) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 200, data: { execution: { id, status: now.status }, events: now.events } }));
    return;
  }
  const readings = readingsOf.get(id);
  if (!readings) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 404, message: 'not found' }));
    return;
  }
  const call = callsOf.get(id) ?? 0;
  callsOf.set(id, call + 1);
  const at = Math.min(call, readings.length - 1);
  const status = at === readings.length - 1 ? 'workflow_succeeded' : 'workflow_running';
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ code: 200, data: { execution: { id, status }, events: readings[at] } }));
};

let serial = 0;
const LEVELS = ['info', 'warn', 'error'];
/** An event of any id upstream may send; `message` (its serial) tells events apart in the test only. */
const eventArb = fc
  .record({ id: fc.constantFrom<unknown>('a', 'b', '#1', '', 1, '1', 'é', '\ud800', 'x'.repeat(300), undefined, null), level: fc.constantFrom(...LEVELS), second: fc.integer({ min: 0, max: 9 }) })
  .map(({ id, level, second }) => () => {
    const event: Entry = { level, message: `m${serial++}`, createdAt: `2026-03-01T12:00:0${second}Z` };
    if (id !== undefined) event.id = id;
    return event;
  });

/**
 * Readings in the order upstream serves them: the query's (0), the watch's first (1, the query's with events
 * appended: the cursor names the same event in both), then readings that append events and insert events of fresh ids
 * anywhere.
 */
const scenarioArb = fc.record({
  initial: fc.array(eventArb, { maxLength: 5 }),
  first: fc.array(eventArb, { maxLength: 3 }),
  later: fc.array(fc.record({ appended: fc.array(eventArb, { maxLength: 3 }), inserted: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 9 }), fc.constantFrom<unknown>('fresh', 'a', '1', 1, undefined)), { maxLength: 2 }) }), { maxLength: 3 }),
  from: fc.option(fc.nat(), { nil: undefined }),
  levels: fc.option(fc.subarray(['info', 'WARN', 'error']), { nil: undefined }),
});

interface Update {
  isFinal: boolean;
  cursor: string;
  newEvents: Array<{ cursor: string; node: { message: string } }>;
}

describe('a watch resumed from any cursor, while upstream appends and inserts', () => {
  let gateway: BehindScripted;
  beforeAll(async () => {
    gateway = await gatewayBehindScripted(script, liveEnv());
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('delivers every event after the cursor once: those of its first reading in upstream order, then each reading\'s new ones', async () => {
    const deadline = performance.now() + TIME_BUDGET_MS;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArb, async ({ initial, first, later, from, levels }) => {
        // Past the budget a run passes unrun: fast-check's interruptAfterTimeLimit would abandon the run in flight.
        if (performance.now() > deadline) return;
        runs++;
        const id = `ex_prop12_live_${runs}_${serial}`;
        const readings: Entry[][] = [initial.map((make) => make())];
        readings.push([...readings[0]!, ...first.map((make) => make())]);
        for (const { appended, inserted } of later) {
          const next = [...readings.at(-1)!];
          for (const [at, second, given] of inserted) {
            const event: Entry = { level: 'warn', message: `m${serial}`, createdAt: `2026-03-01T12:00:0${second}Z` };
            if (given !== undefined) event.id = given === 'fresh' ? `fresh_${serial}` : given;
            serial++;
            next.splice(at % (next.length + 1), 0, event);
          }
          next.push(...appended.map((make) => make()));
          readings.push(next);
        }
        readingsOf.set(id, readings);

        const query = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: AUTH },
          body: JSON.stringify({ query: 'query($id: ID!) { execution(id: $id) { events(first: 100) { edges { cursor node { message } } } } }', variables: { id } }),
        });
        const edges = ((await query.json()) as { data: { execution: { events: { edges: Array<{ cursor: string; node: { message: string } }> } } } }).data.execution.events.edges;
        const chosen = from === undefined || edges.length === 0 ? undefined : edges[from % edges.length]!;
        const cursor = chosen?.cursor ?? encodeStartCursor(id);
        const after = chosen === undefined ? -1 : readings[0]!.findIndex((event) => event.message === chosen.node.message);

        const subscription = `subscription($id: ID!, $after: String, $filter: ExecutionEventFilter) { executionUpdates(id: $id, eventsAfter: $after, filter: $filter) { isFinal cursor newEvents { cursor node { message } } } }`;
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
          body: JSON.stringify({ query: subscription, variables: { id, after: cursor, ...(levels ? { filter: { levels } } : {}) } }),
        });
        const results = nextEvents(await response.text()) as Array<{ data?: { executionUpdates: Update }; errors?: unknown[] }>;
        for (const result of results) expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
        const updates = results.map((result) => result.data!.executionUpdates);
        expect(updates.at(-1)?.isFinal).toBe(true);
        expect(updates.slice(0, -1).every((update) => !update.isFinal)).toBe(true);

        // The watch's list: its first reading as upstream sent it, then each reading's events new to the one before, in order.
        const laid = [...readings[1]!];
        for (let at = 2; at < readings.length; at++) {
          const known = new Set(readings[at - 1]!.map((event) => event.message));
          laid.push(...readings[at]!.filter((event) => !known.has(event.message)));
        }
        const kept = (event: Entry) => !levels || levels.map((level) => level.toLowerCase()).includes(event.level as string);
        const expected = laid.slice(after + 1).filter(kept).map((event) => event.message);
        const delivered = updates.flatMap((update) => update.newEvents.map((edge) => edge.node.message));
        expect(delivered, JSON.stringify({ readings, after, levels })).toEqual(expected);
        // Past every event at the end, delivered or filtered out: the last update's cursor names the watch's last one.
        const ids = laid.map((event, position) => eventIdOf(event, position));
        const lastCursor = laid.length === 0 ? encodeStartCursor(id) : encodeEventCursor(id, ids.at(-1)!, ids.filter((each) => each === ids.at(-1)).length - 1);
        expect(updates.at(-1)!.cursor).toBe(lastCursor);
        // Each new event's cursor names it by its place in the watch's list: its id and which occurrence of it it is there.
        const cursorAt = (position: number) => encodeEventCursor(id, ids[position]!, ids.slice(0, position).filter((each) => each === ids[position]).length);
        const cursorOf = new Map(laid.map((event, position) => [event.message as string, cursorAt(position)]));
        for (const update of updates) for (const edge of update.newEvents) expect(edge.cursor).toBe(cursorOf.get(edge.node.message));
        // One call for the query, then at most one per reading: the watch ends at the terminal one.
        expect(callsOf.get(id)).toBeLessThanOrEqual(readings.length);
        readingsOf.delete(id);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBeGreaterThanOrEqual(10);
  });

  it("a watch joining another's, from a query's cursor past an event inserted before one of its id, misses neither", async () => {
    const id = 'ex_prop12_join';
    const older = { id: 'a', level: 'info', message: 'older', createdAt: '2026-03-01T12:00:00Z' };
    const inserted = { id: 'a', level: 'info', message: 'inserted', createdAt: '2026-03-01T12:00:00Z' };
    nowOf.set(id, { status: 'workflow_running', events: [older] });
    const first = watch({ id });
    await waitFor(() => first.updates().length >= 1, 'the first watch\'s first update');
    // Upstream lists the late event first (same createdAt): the watch lays it after the one it delivered.
    nowOf.get(id)!.events = [inserted, older];
    await waitFor(() => first.updates().some((update) => update.newEvents.some((edge) => edge.node.message === 'inserted')), () => JSON.stringify(first.updates()));
    // The watches' poller reads no more: read again, the same list would be taken as it is.
    held = [];
    // A query reads upstream's order (another caller: its call is answered): `inserted` is the first `a`, and the client has seen it.
    const query = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer prop12-query' },
      body: JSON.stringify({ query: 'query($id: ID!) { execution(id: $id) { events(first: 1) { edges { cursor node { message } } } } }', variables: { id } }),
    });
    const [edge] = ((await query.json()) as { data: { execution: { events: { edges: Array<{ cursor: string; node: { message: string } }> } } } }).data.execution.events.edges;
    expect(edge!.node.message).toBe('inserted');
    const second = watch({ id, after: edge!.cursor });
    await waitFor(() => second.updates().length >= 1, 'the second watch\'s first update');
    nowOf.set(id, { status: 'workflow_succeeded', events: [inserted, older] });
    const release = held;
    held = undefined;
    for (const answer of release) answer();
    await Promise.all([first.done, second.done]);
    // It may get `inserted` again (README "Live executions"), never miss `older`.
    expect(second.updates().flatMap((update) => update.newEvents.map((each) => each.node.message)), JSON.stringify([first.updates(), second.updates()])).toContain('older');
    nowOf.delete(id);
  });

  /** A watch over SSE whose updates are read as they come. */
  function watch(variables: { id: string; after?: string }) {
    let text = '';
    const done = (async () => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
        body: JSON.stringify({ query: 'subscription($id: ID!, $after: String) { executionUpdates(id: $id, eventsAfter: $after) { isFinal cursor newEvents { cursor node { message } } } }', variables }),
      });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      for (let read = await reader.read(); !read.done; read = await reader.read()) text += decoder.decode(read.value, { stream: true });
    })();
    return {
      done,
      updates: () => (nextEvents(text) as Array<{ data: { executionUpdates: Update } }>).map((result) => result.data.executionUpdates),
    };
  }
});
