/**
 * The typed live helper `watchExecution` (src/client/live.ts, over
 * graphql-sse) against a real gateway on each lane, with an execution the
 * test advances itself in the fake upstream:
 *
 * - it yields every update of an advancing execution, in order, until the
 *   final one, and then ends;
 * - when the connection drops mid-watch it subscribes again from the last
 *   update's `cursor`: no event is missed or repeated, those appended while it
 *   was away included;
 * - errors that end a watch are thrown as WatchError with the gateway's code;
 * - while the gateway cannot be reached it backs off (full jitter under a
 *   bound that doubles up to `maxRetryDelayMs`), tells `onRetry` each time,
 *   starts over after an update, and an abort ends it during a pause.
 *
 * Pollers run every few tens of milliseconds here, without jitter, so each
 * step the test makes is seen within a poll or two.
 */
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { createGatewayClient, ExecutionStatusDocument, watchExecution, WatchError, type ExecutionEventFilter, type ExecutionUpdate, type OutageNotice } from '../src/client/index.js';
import { DEMO_ORGANIZATION, makeEvents, makeExecution } from '../src/demo/demo-data.js';
import { MAX_WARNINGS_PER_RESULT } from '../src/request/scope.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { AUTH_B, TOKENS, waitFor } from './support/live.js';

const LIVE_ENV = {
  LIVE_POLL_PAYMENT_MS: '20',
  LIVE_POLL_WAITING_MS: '20',
  LIVE_POLL_ACTIVE_MS: '20',
  LIVE_POLL_JITTER_PERCENT: '0',
  LIVE_POLL_MAX_BACKOFF_MS: '100',
};
/** How long one update may take to arrive on a busy machine before the test says what it was waiting for. */
const STEP_MS = 8_000;

/** The statuses an execution goes through after `awaiting_payment`, and how many events each step appends. */
const STEPS: ReadonlyArray<[status: string, events: number]> = [
  ['payment_confirmed', 1],
  ['workflow_queued', 2],
  ['workflow_running', 3],
  ['workflow_waiting', 0],
  ['workflow_running', 2],
  ['workflow_succeeded', 1],
];
const BASE_MS = Date.parse('2026-03-01T12:00:00.000Z');

let sequence = 0;

/** A fresh execution awaiting payment with `events` events, stored upstream; its id. */
function startExecution(harness: Harness, events = 2): string {
  const id = `ex_live_${++sequence}`;
  harness.upstream.put(makeExecution({ id, status: 'awaiting_payment', eventCount: events, minute: 50 }));
  return id;
}

/** One step: the new status, and `count` events appended (upstream's append order). */
function advance(harness: Harness, id: string, status: string, count: number): void {
  const stored = harness.upstream.get(id)!;
  const firstSeq = stored.events.length + 1;
  const at = BASE_MS + firstSeq * 1_000;
  harness.upstream.put({
    execution: {
      ...stored.execution,
      status,
      updatedAt: new Date(at).toISOString(),
      ...(status === 'workflow_succeeded' ? { finishedAt: new Date(at).toISOString() } : {}),
    },
    events: [...stored.events, ...makeEvents(id, DEMO_ORGANIZATION, count, at, firstSeq)],
  });
}

/** Appends events without changing anything else, as upstream does while a node runs. */
function append(harness: Harness, id: string, count: number): void {
  const stored = harness.upstream.get(id)!;
  const firstSeq = stored.events.length + 1;
  harness.upstream.appendEvents(id, makeEvents(id, DEMO_ORGANIZATION, count, BASE_MS + firstSeq * 1_000, firstSeq));
}

/** Ids of every event upstream holds for `id`, in append order. */
function upstreamEventIds(harness: Harness, id: string): string[] {
  return harness.upstream.get(id)!.events.map((event) => event.id);
}

/** The next update of a watch, within STEP_MS. */
async function nextUpdate(watch: AsyncIterator<ExecutionUpdate>, what: string): Promise<IteratorResult<ExecutionUpdate>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${STEP_MS} ms waiting for ${what}`)), STEP_MS);
  });
  try {
    return await Promise.race([watch.next(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A watch's next update, within STEP_MS, kept in `seen`; the watch must not have ended before it. */
function taking(updates: AsyncIterator<ExecutionUpdate>, seen: ExecutionUpdate[]): (what: string) => Promise<ExecutionUpdate> {
  return async (what) => {
    const next = await nextUpdate(updates, what);
    expect(next.done, `the watch ended before ${what}`).toBe(false);
    seen.push(next.value as ExecutionUpdate);
    return next.value as ExecutionUpdate;
  };
}

/** Counts the subscriptions that reached the pipeline, with the `eventsAfter` each asked for. */
function subscriptionLog(): { plugin: Plugin; subscribed: Array<{ id: unknown; eventsAfter: unknown }> } {
  const subscribed: Array<{ id: unknown; eventsAfter: unknown }> = [];
  return {
    subscribed,
    plugin: {
      onParams({ params }) {
        if (typeof params.query === 'string' && params.query.includes('executionUpdates')) {
          const variables = (params.variables ?? {}) as Record<string, unknown>;
          subscribed.push({ id: variables.id, eventsAfter: variables.eventsAfter ?? null });
        }
      },
    },
  };
}

describe.each(LANES)('watchExecution against the gateway (%s lane)', (lane) => {
  let harness: Harness;
  const log = subscriptionLog();
  const stops: AbortController[] = [];

  beforeAll(async () => {
    harness = await Harness.start({ lane, env: LIVE_ENV, plugins: [log.plugin] });
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop.abort();
  });
  afterAll(() => harness.close());

  /** A watch the test can stop, whatever happens. */
  function watch(id: string, options: Parameters<typeof watchExecution>[3] = {}): AsyncIterator<ExecutionUpdate> {
    const stop = new AbortController();
    stops.push(stop);
    return watchExecution(harness.url, AUTH, id, { retryDelayMs: 50, signal: stop.signal, ...options })[Symbol.asyncIterator]();
  }

  it('yields every update of an advancing execution, in order, until the final one, then ends', async () => {
    const id = startExecution(harness);
    const updates = watch(id);

    const first = await nextUpdate(updates, 'the first update');
    expect(first.done).toBe(false);
    const seen: ExecutionUpdate[] = [first.value as ExecutionUpdate];
    // The first update is the execution as it is, with no events (history is read through `execution.events`).
    expect(seen[0]!.execution.status).toBe('AWAITING_PAYMENT');
    expect(seen[0]!.newEvents).toEqual([]);
    expect(seen[0]!.isFinal).toBe(false);
    const history = upstreamEventIds(harness, id);

    for (const [status, count] of STEPS) {
      // The next step only once the previous one was seen: each is its own update.
      advance(harness, id, status, count);
      const next = await nextUpdate(updates, `the update for ${status}`);
      expect(next.done, `the watch ended before ${status}`).toBe(false);
      const update = next.value as ExecutionUpdate;
      seen.push(update);
      expect(update.execution.status).toBe(status.toUpperCase());
      expect(update.newEvents).toHaveLength(count);
    }

    // After the final update the watch ends by itself.
    expect(await nextUpdate(updates, 'the end of the watch')).toEqual({ done: true, value: undefined });

    const last = seen.at(-1)!;
    expect(last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_SUCCEEDED', isTerminal: true } });
    expect(seen.slice(0, -1).every((update) => !update.isFinal && update.endReason === null)).toBe(true);
    // Every event appended after the watch began, once each, in upstream's append order.
    const delivered = seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
    expect(delivered).toEqual(upstreamEventIds(harness, id).slice(history.length));
    // Each update's cursor is that of the last event it carried (or the one before, when it carried none).
    let cursor = seen[0]!.cursor;
    for (const update of seen.slice(1)) {
      if (update.newEvents.length > 0) cursor = update.newEvents.at(-1)!.cursor;
      expect(update.cursor).toBe(cursor);
    }
  });

  it('over Server-Sent Events too, lets go of a watch not read past pausedTimeoutMs, and resumes from its cursor', async () => {
    const id = startExecution(harness, 3);
    const seen: ExecutionUpdate[] = [];
    const retries: unknown[] = [];
    const updates = watch(id, { pausedTimeoutMs: 300, onRetry: (error) => retries.push(error) });
    const take = taking(updates, seen);
    const subscribedBefore = log.subscribed.length;
    const first = await take('the first update');
    // Not read: its stream (one of a browser's 6 connections per host) ends, and the gateway's watch with it.
    await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'the gateway to end the unread watch', STEP_MS);
    advance(harness, id, 'workflow_running', 2);
    const resumed = await take('the update after the pause');
    expect(resumed.newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(-2));
    expect(log.subscribed.slice(subscribedBefore)).toEqual([
      { id, eventsAfter: null },
      { id, eventsAfter: first.cursor },
    ]);
    expect(retries).toEqual([]);
  });

  it('resumes from the last cursor after the connection drops: no event missed or repeated, those appended while away included', async () => {
    const id = startExecution(harness, 3);
    // What the test appends right after the drop lands while the watch is away (synchronously, before any
    // resubscription); the pause, up to 300 ms, leaves room for more.
    const updates = watch(id, { retryDelayMs: 300 });
    const seen: ExecutionUpdate[] = [];
    const before = log.subscribed.length;
    const take = taking(updates, seen);

    await take('the first update');
    const history = upstreamEventIds(harness, id);
    advance(harness, id, 'workflow_queued', 2);
    await take('the queued update');
    advance(harness, id, 'workflow_running', 3);
    const lastBeforeDrop = await take('the running update');
    expect(lastBeforeDrop.newEvents).toHaveLength(3);

    // The drop: every connection of the gateway closed under the watch, then events appended while it is away.
    harness.instance.server.closeAllConnections();
    append(harness, id, 4);
    const resumed = await take('the first update after the drop');
    // The new subscription asked for what followed the last cursor seen, and got exactly the events appended since.
    expect(log.subscribed.slice(before)).toEqual([
      { id, eventsAfter: null },
      { id, eventsAfter: lastBeforeDrop.cursor },
    ]);
    expect(resumed.execution.status).toBe('WORKFLOW_RUNNING');
    expect(resumed.newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(-4));

    append(harness, id, 2);
    await take('events appended after the resume');
    advance(harness, id, 'workflow_failed', 1);
    let last = await take('a later update');
    while (!last.isFinal) last = await take('the final update');
    expect(await nextUpdate(updates, 'the end of the watch')).toEqual({ done: true, value: undefined });

    expect(last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_FAILED' } });
    const delivered = seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
    expect(new Set(delivered).size, 'an event was delivered twice').toBe(delivered.length);
    expect(delivered).toEqual(upstreamEventIds(harness, id).slice(history.length));
    expect(delivered).toHaveLength(2 + 3 + 4 + 2 + 1);
  });

  it("wakes a watch paused between attempts once the browser is back online (its window's online event), and stops listening", async () => {
    // A browser's window, as far as the watch looks at it: Node has no online event.
    const window = new EventTarget();
    let listening = 0;
    const events = {
      addEventListener: (type: string, listener: () => void) => {
        listening++;
        window.addEventListener(type, listener);
      },
      removeEventListener: (type: string, listener: () => void) => {
        listening--;
        window.removeEventListener(type, listener);
      },
    };
    Object.assign(globalThis, events);
    try {
      const id = startExecution(harness, 3);
      const retries: number[] = [];
      // The pause is drawn from 0 to 10^9 ms: only the online event can end it in time.
      const updates = watch(id, { retryDelayMs: 1e9, maxRetryDelayMs: 1e9, onRetry: (_error, _attempt, delayMs) => retries.push(delayMs) });
      await nextUpdate(updates, 'the first update');
      const resumed = nextUpdate(updates, 'the first update after the drop');
      harness.instance.server.closeAllConnections();
      append(harness, id, 2);
      await waitFor(() => retries.length === 1, 'the retry after the drop');
      expect(retries[0]).toBeGreaterThan(STEP_MS);
      expect(listening, 'listening for online while paused').toBe(1);
      window.dispatchEvent(new Event('online'));
      const update = (await resumed).value as ExecutionUpdate;
      expect(update.newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(-2));
      expect(listening, 'listening for online after the pause').toBe(0);
    } finally {
      delete (globalThis as Partial<typeof events>).addEventListener;
      delete (globalThis as Partial<typeof events>).removeEventListener;
    }
  });

  it('resumes an execution that had no events yet from the start of the list: every event appended while away arrives', async () => {
    const id = startExecution(harness, 0);
    const updates = watch(id, { retryDelayMs: 300 });
    const first = (await nextUpdate(updates, 'the first update')).value as ExecutionUpdate;
    expect(first.newEvents).toEqual([]);
    // No event gone past, yet a cursor to resume from: the start of the list.
    expect(first.cursor).toEqual(expect.any(String));
    harness.instance.server.closeAllConnections();
    append(harness, id, 3);
    const resumed = (await nextUpdate(updates, 'the first update after the drop')).value as ExecutionUpdate;
    expect(resumed.newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id));
    expect(resumed.newEvents).toHaveLength(3);
  });

  it('hands out a start-of-list cursor that `events` takes as its arguments say: `after` it pages from the first event, `before` it nothing', async () => {
    const id = startExecution(harness, 0);
    const updates = watch(id);
    const start = ((await nextUpdate(updates, 'the first update')).value as ExecutionUpdate).cursor;
    await updates.return?.(undefined);
    append(harness, id, 3);
    type Page = { execution: { events: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean } } } };
    const after = await harness.query<Page>('query($id: ID!, $c: String) { execution(id: $id) { events(first: 2, after: $c) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } } }', { id, c: start });
    expect(after.errors).toBeUndefined();
    expect(after.data!.execution.events.edges.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(0, 2));
    expect(after.data!.execution.events.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });
    const before = await harness.query<Page>('query($id: ID!, $c: String) { execution(id: $id) { events(before: $c) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } } }', { id, c: start });
    expect(before.errors).toBeUndefined();
    expect(before.data!.execution.events.edges).toEqual([]);
    expect(before.data!.execution.events.pageInfo.hasPreviousPage).toBe(false);
  });

  it('resumes from `eventsAfter` given by the caller: the first update carries every event after it', async () => {
    const id = startExecution(harness, 5);
    const page = await harness.query<{ execution: { events: { edges: Array<{ cursor: string; node: { id: string } }> } } }>(
      'query($id: ID!) { execution(id: $id) { events(first: 2) { edges { cursor node { id } } } } }',
      { id },
    );
    const after = page.data!.execution.events.edges[1]!.cursor;
    const updates = watch(id, { eventsAfter: after });
    const first = await nextUpdate(updates, 'the first update');
    expect((first.value as ExecutionUpdate).newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(2));
  });

  describe('errors that end a watch are thrown as WatchError with the code', () => {
    const cases: Array<[string, () => { id: string; authorization?: string; eventsAfter?: string; filter?: ExecutionEventFilter; path?: string }, string]> = [
      ['an unknown execution', () => ({ id: 'ex_does_not_exist' }), 'NOT_FOUND'],
      ['another organization\'s execution (reported as not found, as upstream does)', () => ({ id: 'ex_other_org' }), 'NOT_FOUND'],
      ['a token upstream refuses', () => ({ id: 'ex_demo_4', authorization: 'Bearer not-a-token' }), 'UNAUTHENTICATED'],
      ['an id outside the allowed pattern', () => ({ id: 'ex demo/../4' }), 'BAD_USER_INPUT'],
      ['an eventsAfter that is no cursor', () => ({ id: 'ex_demo_4', eventsAfter: 'not-a-cursor' }), 'BAD_USER_INPUT'],
      // Refused with a 400 before any event: graphql-sse reports it as a dropped connection.
      ['a filter variable that does not fit its type', () => ({ id: 'ex_demo_4', filter: { createdAfter: 'not-a-time' } }), 'BAD_REQUEST'],
      ['a URL the gateway does not serve (404)', () => ({ id: 'ex_demo_4', path: '/graphq' }), 'BAD_REQUEST'],
    ];
    for (const [title, given, code] of cases) {
      it(`${title}: ${code}`, async () => {
        harness.upstream.put(makeExecution({ id: 'ex_other_org', status: 'workflow_running', organizationId: 'org_other' }));
        const { id, authorization = AUTH, eventsAfter, filter, path } = given();
        const endpoint = path ? new URL(path, harness.url).href : harness.url;
        const stop = new AbortController();
        stops.push(stop);
        const watching = (async () => {
          const updates: ExecutionUpdate[] = [];
          const options = { retryDelayMs: 50, signal: stop.signal, ...(eventsAfter ? { eventsAfter } : {}), ...(filter ? { filter } : {}) };
          for await (const update of watchExecution(endpoint, authorization, id, options)) updates.push(update);
          return updates;
        })();
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no WatchError within ${STEP_MS} ms (the helper may be retrying)`)), STEP_MS);
        });
        const error = await Promise.race([watching, late]).then(
          (updates) => new Error(`the watch ended without an error after ${updates.length} updates`),
          (thrown: unknown) => thrown,
        );
        clearTimeout(timer);
        expect(error).toBeInstanceOf(WatchError);
        expect((error as WatchError).code).toBe(code);
        expect((error as WatchError).message.length).toBeGreaterThan(0);
      });
    }
  });

  // The gateway sends each update's notes in `extensions.warnings`; the helper yielded only the data, so a page
  // could not tell an `updatedAt` upstream sent unreadable (null with a note) from one it left out.
  it.each(['sse', 'websocket'] as const)('tells onWarnings the notes of an update, with the update, over %s', async (transport) => {
    const id = startExecution(harness, 1);
    const stored = harness.upstream.get(id)!;
    harness.upstream.put({ execution: { ...stored.execution, updatedAt: 'yesterday' }, events: stored.events });
    const told: Array<{ warnings: readonly unknown[]; update: ExecutionUpdate }> = [];
    const updates = watch(id, { transport, webSocketImpl: WebSocket, onWarnings: (warnings, update) => told.push({ warnings, update }) });
    const first = await nextUpdate(updates, 'the first update');
    expect(first.value).toMatchObject({ execution: { updatedAt: null } });
    expect(told).toEqual([
      {
        update: first.value,
        warnings: [{ path: ['executionUpdates', 'execution', 'updatedAt'], code: 'UNREADABLE_VALUE', message: expect.stringContaining('not an instant'), upstreamRequestId: expect.any(String) }],
      },
    ]);
    harness.upstream.appendEvents(id, [{ id: `ev_${id}_bad`, executionId: id, createdAt: 'not a time', level: 'info' } as never]);
    const second = await nextUpdate(updates, 'the update with the new event');
    expect(told).toHaveLength(2);
    expect(told[1]!.update).toBe(second.value);
    expect(told[1]!.warnings).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: ['executionUpdates', 'newEvents', 0, 'node', 'createdAt'], code: 'UNREADABLE_VALUE' })]),
    );
  });

  // Past MAX_WARNINGS_PER_RESULT notes the gateway lists 100 and counts the rest in `extensions.warningsOmitted`;
  // onWarnings was told only the list, so a page could not tell that notes were dropped.
  it.each(['sse', 'websocket'] as const)('tells onWarnings how many notes past the cap were left out, over %s', async (transport) => {
    const id = startExecution(harness, 0);
    const told: Array<{ warnings: readonly unknown[]; update: ExecutionUpdate; omitted: number }> = [];
    const updates = watch(id, { transport, webSocketImpl: WebSocket, onWarnings: (warnings, update, omitted) => told.push({ warnings, update, omitted }) });
    await nextUpdate(updates, 'the first update');
    // Two unreadable fields on each of 80 events: 160 notes in one update.
    const unreadable = Array.from({ length: 80 }, (_, seq) => ({ id: `ev_${id}_${seq}`, executionId: id, createdAt: 'not a time', message: { not: 'text' }, level: 'info' }));
    harness.upstream.appendEvents(id, unreadable as never[]);
    const next = await nextUpdate(updates, 'the update with the new events');
    expect(next.value?.newEvents).toHaveLength(80);
    expect(told).toHaveLength(1);
    expect(told[0]!.update).toBe(next.value);
    expect(told[0]!.warnings).toHaveLength(MAX_WARNINGS_PER_RESULT);
    expect(told[0]!.omitted).toBe(160 - MAX_WARNINGS_PER_RESULT);
  });

  it('sends the authorization argument alone when headers carry an Authorization too', async () => {
    const id = startExecution(harness);
    harness.upstream.reset();
    const updates = watch(id, { headers: { Authorization: 'Bearer someone-else', 'x-request-id': 'watch-auth-1' } });
    expect((await nextUpdate(updates, 'the first update')).done).toBe(false);
    // Joined, the two would reach upstream as one header "Bearer someone-else, <token>", and the watch would fail.
    const seen = harness.upstream.requestsFor(id).map((request) => request.headers.authorization);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([AUTH]));
  });

  // A failed fetch reads as a dropped connection, which the watch retries: an endpoint fetch can never use was
  // retried for ever, backing off, with only onRetry told (NetworkError: "Failed to parse URL", "fetch failed").
  it.each(['/graphql', 'localhost:4000/graphql', 'ftp://127.0.0.1/graphql', ''])('throws a TypeError at once for the endpoint %j, which is no http(s) URL here', async (endpoint) => {
    const retries: unknown[] = [];
    const started = performance.now();
    const updates = watchExecution(endpoint, AUTH, 'ex_demo_7', { retryDelayMs: 1, onRetry: (error) => retries.push(error) })[Symbol.asyncIterator]();
    await expect(updates.next()).rejects.toThrow(new TypeError(`The gateway's endpoint ${JSON.stringify(endpoint)} is not an http(s) URL: give its whole /graphql URL (http://127.0.0.1:4000/graphql), or in a page a path relative to it (/graphql).`));
    expect(retries).toEqual([]);
    // 5 s, not 1: no network at all, but a loaded machine's stall can pass a second; a retrying watch never throws.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  // fetch refuses a URL with credentials: over Server-Sent Events that was retried for ever; over a WebSocket, `ws` sent
  // them as a Basic Authorization beside the token, BAD_REQUEST; a query threw fetch's TypeError.
  it.each(['sse', 'websocket'] as const)('throws a TypeError at once over %s for an endpoint with credentials, never naming them', async (transport) => {
    const endpoint = harness.url.replace('://', '://someone:hunter2@');
    const retries: unknown[] = [];
    harness.upstream.reset();
    const updates = watchExecution(endpoint, AUTH, 'ex_demo_7', { transport, webSocketImpl: WebSocket, retryDelayMs: 1, onRetry: (error) => retries.push(error) })[Symbol.asyncIterator]();
    const thrown = await updates.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(TypeError);
    expect(String(thrown)).toContain(JSON.stringify(harness.url));
    expect(String(thrown)).toMatch(/carries credentials before its host/);
    expect(String(thrown)).not.toMatch(/someone|hunter2/);
    await expect(createGatewayClient(endpoint, AUTH).request(ExecutionStatusDocument, { id: 'ex_demo_7' })).rejects.toThrow(String((thrown as Error).message));
    expect(retries).toEqual([]);
    expect(harness.upstream.requests).toEqual([]);
  });

  // fetch refused such a token as it sent the request, which read as a dropped connection: retried for ever over
  // Server-Sent Events, while the gateway refused it over a WebSocket (UNAUTHENTICATED).
  describe.each(['sse', 'websocket'] as const)('a token no header can carry, over %s', (transport) => {
    it.each([
      ['a line break inside it', `${AUTH}\nX-Other: 1`],
      ['a NUL', `${AUTH}\u0000`],
      ['a character past U+00FF', `${AUTH}\u20ac`],
    ])('with %s ends the watch at once with UNAUTHENTICATED, nothing sent, never quoting it', async (_what, authorization) => {
      const retries: unknown[] = [];
      harness.upstream.reset();
      const started = performance.now();
      const updates = watchExecution(harness.url, authorization, 'ex_demo_7', { transport, webSocketImpl: WebSocket, retryDelayMs: 1, onRetry: (error) => retries.push(error) })[Symbol.asyncIterator]();
      const thrown = await updates.next().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(thrown).toBeInstanceOf(WatchError);
      expect(thrown).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/^authorization is not a valid Authorization header value/) });
      expect((thrown as Error).message).not.toContain(AUTH.slice('Bearer '.length));
      expect(retries).toEqual([]);
      // 5 s, not 1: nothing is sent, but a loaded machine's stall can pass a second; a retrying watch never throws.
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(harness.upstream.requests).toEqual([]);
    });

    it('with spaces, tabs and line breaks around it (a token read from a file) is sent without them', async () => {
      harness.upstream.reset();
      const stop = new AbortController();
      stops.push(stop);
      const updates = watchExecution(harness.url, ` ${AUTH}\r\n`, 'ex_demo_7', { transport, webSocketImpl: WebSocket, retryDelayMs: 50, signal: stop.signal })[Symbol.asyncIterator]();
      expect((await nextUpdate(updates, 'the final update')).value).toMatchObject({ isFinal: true, execution: { id: 'ex_demo_7' } });
      // Read to its end, as a page's loop reads it: the watch gives its socket back.
      expect((await nextUpdate(updates, 'the end of the watch')).done).toBe(true);
      expect(harness.upstream.requestsFor('ex_demo_7').map((request) => request.headers.authorization)).toEqual([AUTH]);
    });
  });

  // A message past MAX_REQUEST_BODY_BYTES closes the whole socket (1009): the oversized watch subscribed again, closed
  // it again, and every other watch sharing it reconnected about once a second for as long as the page lived.
  it('over a WebSocket, a watch whose subscription is larger than the gateway takes ends with BAD_REQUEST, and the socket it shares serves on', async () => {
    const id = startExecution(harness);
    const healthyRetries: unknown[] = [];
    // A socket of their own (sockets are shared by URL, token and idleTimeoutMs), not one an earlier test's watches hold.
    const own = { transport: 'websocket', webSocketImpl: WebSocket, idleTimeoutMs: 29_000 } as const;
    const healthy = watch(id, { ...own, onRetry: (error) => healthyRetries.push(error) });
    expect((await nextUpdate(healthy, 'the healthy watch\'s first update')).done).toBe(false);
    const oversizedRetries: unknown[] = [];
    const levels = Array.from({ length: 8_000 }, (_, index) => `level-${index}`);
    const oversized = watch('ex_demo_4', { ...own, filter: { levels }, onRetry: (error) => oversizedRetries.push(error) });
    const thrown = await oversized.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(WatchError);
    expect(thrown).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^The gateway closed the WebSocket with 1009: this watch's subscription \(\d+ bytes of JSON\) is larger than a message it takes/) });
    expect(oversizedRetries).toEqual([]);
    // The healthy watch lost the socket once, with the oversized one, and is served on the next.
    advance(harness, id, 'RUNNING', 3);
    const update = await nextUpdate(healthy, 'an update after the close');
    expect(update.done).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(healthyRetries.length).toBeLessThanOrEqual(1);
    // Ended as a page's loop ends it, so its lease of the shared socket is given back and the socket closes.
    await healthy.return?.(undefined);
  });

  it("over a WebSocket, leaves out the endpoint's fragment, the page's own, as fetch does", async () => {
    const retries: unknown[] = [];
    const stop = new AbortController();
    stops.push(stop);
    const updates = watchExecution(`${harness.url}#runs`, AUTH, 'ex_demo_7', { transport: 'websocket', webSocketImpl: WebSocket, retryDelayMs: 50, signal: stop.signal, onRetry: (error) => retries.push(error) })[Symbol.asyncIterator]();
    expect((await nextUpdate(updates, 'the final update over a URL with a fragment')).value).toMatchObject({ isFinal: true, execution: { id: 'ex_demo_7' } });
    expect((await nextUpdate(updates, 'the end of the watch')).done).toBe(true);
    expect(retries).toEqual([]);
  });

  it("takes a path relative to the page's address in a page, as fetch does", async () => {
    vi.stubGlobal('document', { baseURI: `${harness.origin}/runs/ex_demo_7` });
    try {
      const updates = watchExecution('/graphql', AUTH, 'ex_demo_7', { retryDelayMs: 50 })[Symbol.asyncIterator]();
      // The demo's failed execution is terminal: one final update, then the watch ends.
      expect((await nextUpdate(updates, 'the final update')).value).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_FAILED' } });
      expect(await nextUpdate(updates, 'the end')).toEqual({ done: true, value: undefined });
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('stops at once, without an error, when its signal aborts', async () => {
    const id = startExecution(harness);
    const stop = new AbortController();
    const updates = watchExecution(harness.url, AUTH, id, { signal: stop.signal })[Symbol.asyncIterator]();
    expect((await nextUpdate(updates, 'the first update')).done).toBe(false);
    const pending = nextUpdate(updates, 'the end after abort');
    stop.abort();
    expect(await pending).toEqual({ done: true, value: undefined });
    // The gateway lets the watch go: no subscription left on it.
    const deadline = Date.now() + STEP_MS;
    while (harness.instance.live.counts.subscriptions > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(harness.instance.live.counts.subscriptions).toBe(0);
  });

  it('subscribes again from its cursor when the execution finished in a reading without its events (UPSTREAM_BAD_RESPONSE), and gets them once upstream lists them', async () => {
    const id = startExecution(harness);
    const retries: unknown[] = [];
    const updates = watch(id, { onRetry: (error) => retries.push(error) });
    const seen: ExecutionUpdate[] = [];
    const take = taking(updates, seen);
    await take('the first update');
    const history = upstreamEventIds(harness, id);
    advance(harness, id, 'workflow_running', 2);
    const lastBefore = await take('the running update');

    // Upstream says the execution succeeded, with events that are no list: the gateway cannot send those since the
    // cursor and ends the watch with UPSTREAM_BAD_RESPONSE, whose message says to subscribe again from the cursor.
    advance(harness, id, 'workflow_succeeded', 3);
    const listed = harness.upstream.get(id)!;
    harness.upstream.put({ execution: listed.execution, events: 'unavailable' as unknown as typeof listed.events });
    const before = log.subscribed.length;
    // The generator runs only while asked for its next update.
    const final = take('the final update');
    let ended: unknown;
    final.catch((error: unknown) => (ended = error));
    const deadline = Date.now() + STEP_MS;
    while (retries.length === 0 && ended === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ended, 'the watch ended instead of subscribing again').toBeUndefined();
    expect(retries[0]).toBeInstanceOf(WatchError);
    expect(retries[0]).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });

    // Upstream lists them again: the watch, subscribed again from its last cursor, gets them in its final update.
    harness.upstream.put(listed);
    const last = await final;
    expect(last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_SUCCEEDED' } });
    expect(await nextUpdate(updates, 'the end of the watch')).toEqual({ done: true, value: undefined });
    expect(log.subscribed.slice(before).filter((each) => each.id === id)[0]).toEqual({ id, eventsAfter: lastBefore.cursor });
    const delivered = seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
    expect(delivered).toEqual(upstreamEventIds(harness, id).slice(history.length));
    expect(delivered).toHaveLength(2 + 3);
  });
});

describe('watchExecution while upstream asks for a pause (Retry-After)', () => {
  let harness: Harness;
  beforeAll(async () => {
    // The pause (2 s) reaches past LIVE_OUTAGE_NOTICE_MS, so the notice comes at once, with the time until the next poll.
    harness = await Harness.start({ env: { ...LIVE_ENV, UPSTREAM_RETRY_AFTER_CAP_MS: '0', UPSTREAM_MAX_ATTEMPTS: '1', LIVE_OUTAGE_NOTICE_MS: '1000' } });
  });
  afterAll(() => harness.close());

  it('tells onOutage the notice with its upstreamStatus and retryAfterMs, and goes on', async () => {
    const id = startExecution(harness);
    const stop = new AbortController();
    const notices: OutageNotice[] = [];
    const updates = watchExecution(harness.url, AUTH, id, { retryDelayMs: 50, signal: stop.signal, onOutage: (notice) => notices.push(notice) })[Symbol.asyncIterator]();
    try {
      await nextUpdate(updates, 'the first update');
      harness.upstream.setFault(id, { kind: 'status', status: 429, headers: { 'retry-after': '2' } }, 1);
      advance(harness, id, 'workflow_running', 2);
      const next = await nextUpdate(updates, 'the update after the pause');
      expect(next.value?.newEvents).toHaveLength(2);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 429 });
      expect(notices[0]!.retryAfterMs).toBeGreaterThan(1_000);
      expect(notices[0]!.retryAfterMs).toBeLessThanOrEqual(2_000);
    } finally {
      stop.abort();
    }
  });
});

// A refusal at a bound that frees by itself carries `retryAfterMs`; the helper threw it as a WatchError like any other
// TOO_MANY_SUBSCRIPTIONS, so after a deploy the watches of a reconnecting page's tabs died until a reload.
describe.each(['sse', 'websocket'] as const)('watchExecution refused by a busy gateway, over %s', (transport) => {
  let harness: Harness;
  beforeAll(async () => {
    // One unread place for the whole process; one subscription per caller.
    harness = await Harness.start({
      env: { ...LIVE_ENV, LIVE_MAX_UNREAD_SUBSCRIPTIONS: '1', CALLER_SHARE_PERCENT: '100', LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '1', UPSTREAM_TIMEOUT_MS: '20000' },
      upstream: { tokens: TOKENS },
    });
  });
  afterAll(() => harness.close());

  const options = { transport, webSocketImpl: WebSocket, retryDelayMs: 10, maxRetryDelayMs: 20 };

  it('waits at least retryAfterMs, telling onRetry, and subscribes again: the watch goes on once a place is free', async () => {
    // The demo caller's watch of an execution upstream never answers holds the one unread place.
    const slow = `ex_slow_${transport}`;
    harness.upstream.put(makeExecution({ id: slow, status: 'workflow_running' }));
    harness.upstream.setFault(slow, { kind: 'hang' });
    const holder = new AbortController();
    const held = watchExecution(harness.url, AUTH, slow, { ...options, signal: holder.signal })[Symbol.asyncIterator]();
    void held.next().catch(() => undefined);
    await waitFor(() => harness.instance.live.counts.unread === 1, 'the slow watch, unread', STEP_MS);

    const id = `ex_busy_${transport}`;
    harness.upstream.put(makeExecution({ id, status: 'workflow_running', organizationId: 'org_b' }));
    const retries: Array<{ error: unknown; attempt: number; delayMs: number; at: number }> = [];
    const stop = new AbortController();
    const updates = watchExecution(harness.url, AUTH_B, id, { ...options, signal: stop.signal, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs, at: performance.now() }) })[
      Symbol.asyncIterator
    ]();
    try {
      const first = nextUpdate(updates, 'the first update once a place is free');
      let ended: unknown;
      first.catch((error: unknown) => (ended = error));
      await waitFor(() => retries.length >= 1 || ended !== undefined, 'a retry', STEP_MS);
      // Before: WatchError TOO_MANY_SUBSCRIPTIONS, the watch over.
      expect(ended, 'the watch ended instead of retrying').toBeUndefined();
      const [retry] = retries;
      expect(retry!.error).toBeInstanceOf(WatchError);
      expect(retry!.error).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', message: expect.stringContaining('This is temporary') });
      const { retryAfterMs } = retry!.error as WatchError;
      expect(retryAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(retryAfterMs).toBeLessThan(2_000);
      // At least what the gateway asked, though its own backoff's bound is 20 ms.
      expect(retry!.attempt).toBe(1);
      expect(retry!.delayMs).toBeGreaterThanOrEqual(retryAfterMs!);
      // The place frees: the slow watch ends.
      holder.abort();
      const next = await first;
      expect(next.value).toMatchObject({ execution: { id, status: 'WORKFLOW_RUNNING' } });
      // Each subscription came after the pause before it.
      const [last] = retries.slice(-1);
      expect(performance.now() - last!.at).toBeGreaterThanOrEqual(last!.delayMs - 5);
      expect(retries.every((each) => (each.error as WatchError).code === 'TOO_MANY_SUBSCRIPTIONS' && each.delayMs >= 1_000)).toBe(true);
    } finally {
      stop.abort();
      holder.abort();
    }
  });

  it("still throws a WatchError for a TOO_MANY_SUBSCRIPTIONS without retryAfterMs: the caller's own bound", async () => {
    const [readable, more] = [`ex_own_1_${transport}`, `ex_own_2_${transport}`];
    for (const id of [readable, more]) harness.upstream.put(makeExecution({ id, status: 'workflow_running', organizationId: 'org_b' }));
    // The watches of the test before, ended by their aborts, are released as the gateway sees their connections go.
    await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'no watch left', STEP_MS);
    const stop = new AbortController();
    const retries: unknown[] = [];
    try {
      const first = watchExecution(harness.url, AUTH_B, readable, { ...options, signal: stop.signal })[Symbol.asyncIterator]();
      await nextUpdate(first, 'the first watch\'s first update');
      const second = watchExecution(harness.url, AUTH_B, more, { ...options, signal: stop.signal, onRetry: (error) => retries.push(error) })[Symbol.asyncIterator]();
      const error = await nextUpdate(second, 'the WatchError').then(
        () => new Error('the second watch was admitted'),
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(WatchError);
      expect(error).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', message: expect.stringContaining('at most 1 subscription per caller') });
      expect((error as WatchError).retryAfterMs).toBeUndefined();
      expect(Object.keys(error as WatchError)).toEqual(['code', 'name']);
      expect(retries).toEqual([]);
    } finally {
      stop.abort();
    }
  });
});

describe('watchExecution past LIVE_MAX_WATCH_MS', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: { ...LIVE_ENV, LIVE_MAX_WATCH_MS: '1000' } });
  });
  afterAll(() => harness.close());

  it('yields the WATCH_TIME_LIMIT update, subscribes again from its cursor, and ends only when the execution does', async () => {
    const id = startExecution(harness);
    const stop = new AbortController();
    const updates = watchExecution(harness.url, AUTH, id, { retryDelayMs: 50, signal: stop.signal })[Symbol.asyncIterator]();
    const seen: ExecutionUpdate[] = [];
    try {
      const history = upstreamEventIds(harness, id);
      seen.push((await nextUpdate(updates, 'the first update')).value as ExecutionUpdate);
      advance(harness, id, 'workflow_running', 2);
      // Past the gateway's limit, the first subscription ends with WATCH_TIME_LIMIT.
      for (;;) {
        const next = await nextUpdate(updates, 'the time limit');
        expect(next.done, 'the watch ended at the time limit').toBe(false);
        seen.push(next.value as ExecutionUpdate);
        if (next.value?.endReason === 'WATCH_TIME_LIMIT') break;
      }
      // Appended while the client subscribes again: delivered once, then the end.
      append(harness, id, 3);
      advance(harness, id, 'workflow_succeeded', 1);
      let last = seen.at(-1)!;
      while (last.endReason !== 'EXECUTION_ENDED') {
        const next = await nextUpdate(updates, 'the end of the execution');
        expect(next.done, 'the watch ended before the execution did').toBe(false);
        last = next.value as ExecutionUpdate;
        seen.push(last);
      }
      expect(await nextUpdate(updates, 'the end of the watch')).toEqual({ done: true, value: undefined });
      expect(last.execution.status).toBe('WORKFLOW_SUCCEEDED');
      const delivered = seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
      expect(delivered).toEqual(upstreamEventIds(harness, id).slice(history.length));
    } finally {
      stop.abort();
    }
  });
});

/**
 * A TCP relay on a loopback port to a gateway, which the test cuts and
 * restores: what a client sees when the network or the gateway goes away and
 * comes back on the same address. While cut, connections are reset as they
 * arrive (in a browser, `TypeError: Failed to fetch`).
 */
class Relay {
  readonly #sockets = new Set<Socket>();
  readonly #pairs = new Set<[client: Socket, gateway: Socket]>();
  #open = true;

  private constructor(
    readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<Relay> {
    const { hostname, port, pathname } = new URL(target);
    let relay: Relay | undefined;
    const server = createServer((socket) => {
      if (!relay!.#open) return void socket.resetAndDestroy();
      const upstream = createConnection(Number(port), hostname);
      for (const end of [socket, upstream]) {
        relay!.#sockets.add(end);
        end.once('close', () => relay!.#sockets.delete(end));
        end.on('error', () => undefined);
      }
      const pair: [Socket, Socket] = [socket, upstream];
      relay!.#pairs.add(pair);
      socket.once('close', () => relay!.#pairs.delete(pair));
      socket.pipe(upstream).pipe(socket);
      socket.once('close', () => upstream.destroy());
      upstream.once('close', () => socket.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address() as { port: number };
    relay = new Relay(server, `http://127.0.0.1:${address.port}${pathname}`);
    return relay;
  }

  /**
   * Stops carrying bytes on every open connection without closing it, as a network that went away
   * without a FIN or RST (a laptop that slept, a NAT that forgot the flow); new connections are carried.
   */
  stall(): void {
    for (const [client, gateway] of this.#pairs) {
      client.unpipe(gateway);
      gateway.unpipe(client);
      client.pause();
      gateway.pause();
    }
  }

  /** Drops every connection; with `refuse`, resets new ones too until `restore`. */
  cut(refuse: boolean): void {
    this.#open = !refuse;
    for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  restore(): void {
    this.#open = true;
  }

  async close(): Promise<void> {
    this.cut(true);
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A loopback URL where nothing listens. */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}/graphql`;
}

interface Retry {
  error: unknown;
  attempt: number;
  delayMs: number;
}

describe.each(LANES)('watchExecution while the gateway cannot be reached (%s lane)', (lane) => {
  let harness: Harness;
  let relay: Relay;
  const stops: AbortController[] = [];

  beforeAll(async () => {
    harness = await Harness.start({ lane, env: LIVE_ENV });
    relay = await Relay.start(harness.url);
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop.abort();
    relay.restore();
  });
  afterAll(async () => {
    await relay.close();
    await harness.close();
  });

  /** Runs a watch to its end in the background: its updates, and how it ended. */
  function run(endpoint: string, id: string, options: Parameters<typeof watchExecution>[3]) {
    const stop = new AbortController();
    stops.push(stop);
    const updates: ExecutionUpdate[] = [];
    const ended = (async () => {
      for await (const update of watchExecution(endpoint, AUTH, id, { signal: stop.signal, ...options })) updates.push(update);
    })();
    return { stop, updates, ended };
  }

  async function until(condition: () => boolean, what: () => string): Promise<void> {
    const deadline = Date.now() + STEP_MS;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${STEP_MS} ms waiting for ${what()}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('backs off with full jitter under a bound that doubles up to maxRetryDelayMs, telling onRetry each attempt', async () => {
    const retries: Retry[] = [];
    const watching = run(await deadEndpoint(), 'ex_demo_4', { retryDelayMs: 10, maxRetryDelayMs: 80, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }) });
    await until(() => retries.length >= 10, () => `10 retries; so far ${JSON.stringify(retries)}`);
    watching.stop.abort();
    await watching.ended;
    expect(watching.updates).toEqual([]);
    expect(retries.map((retry) => retry.attempt)).toEqual(retries.map((_, i) => i + 1));
    for (const { attempt, delayMs, error } of retries) {
      // Nothing listens: the fetch itself fails, as a browser's opaque TypeError would. onRetry is told
      // graphql-sse's NetworkError wrapping it (README "Live executions"), not the TypeError itself.
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(TypeError);
      expect((error as Error).name).toBe('NetworkError');
      expect(Number.isInteger(delayMs)).toBe(true);
      expect(delayMs).toBeGreaterThanOrEqual(0);
      expect(delayMs, `attempt ${attempt}`).toBeLessThanOrEqual(Math.min(80, 10 * 2 ** (attempt - 1)));
    }
    // The bound grew: past the fourth attempt (bound 80) a pause longer than the first bound of 10 ms,
    // all but certain over six draws (a fixed 10 ms, as before, never gives one).
    expect(Math.max(...retries.slice(4).map((retry) => retry.delayMs))).toBeGreaterThan(10);
  });

  it('ends at once when its signal aborts during a long pause', async () => {
    const retries: Retry[] = [];
    let abortedAt = 0;
    const watching = run(await deadEndpoint(), 'ex_demo_4', {
      // Pauses drawn up to 60 s: one of 3 s or more comes first 19 times in 20, by the third all but always.
      retryDelayMs: 60_000,
      maxRetryDelayMs: 60_000,
      onRetry: (error, attempt, delayMs) => {
        retries.push({ error, attempt, delayMs });
        // Aborted only at the start of a pause long enough to tell waiting it out from ending at once: 3 s or more,
        // so that ending within 2 s leaves a loaded machine's stalls room (it took past 500 ms of a 1 s pause).
        if (delayMs >= 3_000 && !abortedAt) {
          abortedAt = performance.now();
          setImmediate(() => watching.stop.abort());
        }
      },
    });
    await until(() => abortedAt > 0, () => `a pause of a second or more; so far ${JSON.stringify(retries)}`);
    await watching.ended;
    const took = performance.now() - abortedAt;
    expect(took, `the pause was ${retries.at(-1)!.delayMs} ms`).toBeLessThan(Math.min(2_000, retries.at(-1)!.delayMs));
  });

  it('takes a connection that went silent past idleTimeoutMs as lost and subscribes again from its cursor', async () => {
    const id = startExecution(harness);
    const retries: Retry[] = [];
    const watching = run(relay.url, id, { retryDelayMs: 20, idleTimeoutMs: 500, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }) });
    await until(() => watching.updates.length >= 1, () => 'the first update');

    // Nothing crosses the connection any more, and nothing closes it: without a clock the watch waits for ever.
    relay.stall();
    advance(harness, id, 'workflow_running', 2);
    await until(() => watching.updates.length >= 2, () => `an update over a new connection; retries ${JSON.stringify(retries)}`);
    expect(watching.updates[1]!.execution.status).toBe('WORKFLOW_RUNNING');
    expect(watching.updates[1]!.newEvents).toHaveLength(2);
    expect(String(retries.at(-1)?.error)).toMatch(/No byte from the gateway for 500 ms/);
    advance(harness, id, 'workflow_succeeded', 1);
    await watching.ended;
    expect(watching.updates.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
  });

  // Over a socket the gateway's own pings reach no page (a browser answers them unseen), and a socket that went away
  // without a word is never closed: the watches on it waited for ever.
  it('over the shared WebSocket, drops a socket whose pong does not come within idleTimeoutMs and subscribes again from its cursor', async () => {
    // A relay of its own: stalling the suite's would stall the keep-alive connections fetch pools for the next test too.
    const own = await Relay.start(harness.url);
    try {
      const id = startExecution(harness);
      const retries: Retry[] = [];
      const watching = run(own.url, id, { transport: 'websocket', webSocketImpl: WebSocket, retryDelayMs: 20, idleTimeoutMs: 500, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }) });
      await until(() => watching.updates.length >= 1, () => 'the first update');

      own.stall();
      advance(harness, id, 'workflow_running', 2);
      await until(() => watching.updates.length >= 2, () => `an update over a new socket; retries ${JSON.stringify(retries)}`);
      expect(watching.updates[1]!.execution.status).toBe('WORKFLOW_RUNNING');
      expect(watching.updates[1]!.newEvents).toHaveLength(2);
      expect(retries.at(-1)?.error).toMatchObject({ name: 'NetworkError', message: "The gateway did not answer the socket's ping in time: the connection is taken as lost." });
      advance(harness, id, 'workflow_succeeded', 1);
      await watching.ended;
      expect(watching.updates.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
    } finally {
      await own.close();
    }
  });

  // A browser holds a seventh request to one host back until one of its 6 HTTP/1.1 connections frees: the eighth of
  // 8 watches was told "No byte from the gateway … the connection is taken as lost", though none had been made.
  it('says, when no answer came at all within idleTimeoutMs, that the request may be waiting for a connection', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const retries: Retry[] = [];
      const { port } = silent.address() as { port: number };
      const watching = run(`http://127.0.0.1:${port}/graphql`, 'ex_demo_4', { retryDelayMs: 20, idleTimeoutMs: 300, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }) });
      await until(() => retries.length >= 1, () => 'a retry');
      watching.stop.abort();
      await watching.ended;
      expect(String(retries[0]!.error)).toMatch(/^Error: No answer from the gateway for 300 ms: the request is taken as lost\. .*6 HTTP\/1\.1 connections per host.*transport: 'websocket'/);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  /** A TCP server that takes connections and never answers: a gateway frozen, or a proxy holding the handshake. */
  async function silentServer() {
    const held: Socket[] = [];
    const server = createServer((socket) => {
      held.push(socket);
      // Read, so the client's closing is seen.
      socket.resume();
      socket.on('end', () => socket.destroy());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    return {
      url: `http://127.0.0.1:${port}/graphql`,
      held,
      /** Connections the client has not closed yet. */
      open: () => held.filter((socket) => !socket.destroyed).length,
      close() {
        for (const socket of held) socket.destroy();
        server.close();
      },
    };
  }

  // A WebSocket's opening has no clock of its own: the watches on a socket that never opened waited for ever, told nothing.
  it('over the shared WebSocket, takes a socket that did not open within idleTimeoutMs as lost, and opens another', async () => {
    const silent = await silentServer();
    try {
      const retries: Retry[] = [];
      const watching = run(silent.url, 'ex_demo_4', { transport: 'websocket', webSocketImpl: WebSocket, retryDelayMs: 20, idleTimeoutMs: 300, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }) });
      await until(() => retries.length >= 2, () => `2 retries; so far ${JSON.stringify(retries)}, ${silent.held.length} connections`);
      watching.stop.abort();
      await watching.ended;
      for (const { error } of retries) expect(error).toMatchObject({ name: 'NetworkError', message: 'The WebSocket to the gateway did not open within 300 ms: the connection is taken as lost.' });
      // One connection per attempt, each closed by the client when it gave up on it.
      expect(silent.held.length).toBeGreaterThanOrEqual(2);
      await until(() => silent.open() === 0, () => `the client to close every connection; ${silent.open()} of ${silent.held.length} open`);
    } finally {
      silent.close();
    }
  });

  // graphql-ws's client waits for connection_ack for ever by default: a server that took the upgrade but never
  // acknowledged (its connection_init handling stuck, say) held every watch on the socket, and onRetry was never told.
  // It answers pings, as graphql-ws servers do before the ack: the socket is alive, only the ack never comes.
  it('over the shared WebSocket, takes a socket whose connection_ack did not come within idleTimeoutMs as lost, and opens another', async () => {
    const closes: number[] = [];
    const inits: unknown[] = [];
    const mute = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false) });
    mute.on('connection', (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type?: string };
        if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
        else inits.push(message);
      });
      socket.on('close', (code) => closes.push(code));
    });
    await once(mute, 'listening');
    try {
      const retries: Retry[] = [];
      const { port } = mute.address() as { port: number };
      const watching = run(`http://127.0.0.1:${port}/graphql`, 'ex_demo_4', {
        transport: 'websocket',
        webSocketImpl: WebSocket,
        retryDelayMs: 20,
        idleTimeoutMs: 300,
        onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }),
      });
      await until(() => retries.length >= 2, () => `2 retries; so far ${JSON.stringify(retries)}, closes ${JSON.stringify(closes)}`);
      watching.stop.abort();
      await watching.ended;
      for (const { error } of retries) {
        expect(error).toMatchObject({ name: 'NetworkError', message: 'The gateway did not acknowledge the connection (connection_ack) within 300 ms: the connection is taken as lost.' });
      }
      expect(retries.slice(0, 2).map(({ attempt }) => attempt)).toEqual([1, 2]);
      // Each socket opened, said connection_init, and was closed by the client with graphql-ws's 4504.
      expect(inits.slice(0, 2)).toMatchObject([{ type: 'connection_init' }, { type: 'connection_init' }]);
      await until(() => closes.length >= 2, () => `the client to close its sockets; closes ${JSON.stringify(closes)}`);
      expect(closes.slice(0, 2)).toEqual([4504, 4504]);
    } finally {
      for (const socket of mute.clients) socket.terminate();
      mute.close();
    }
  });

  it('over the shared WebSocket, ends at once when its signal aborts while the socket opens, and closes that socket', async () => {
    const silent = await silentServer();
    try {
      // No clock at all: only the abort ends the opening.
      const watching = run(silent.url, 'ex_demo_4', { transport: 'websocket', webSocketImpl: WebSocket, idleTimeoutMs: Number.POSITIVE_INFINITY });
      await until(() => silent.held.length === 1, () => 'the socket to connect');
      const abortedAt = performance.now();
      watching.stop.abort();
      // With no clock, a watch the abort does not end waits for ever: 10 s and 5 s leave a loaded machine's stalls room.
      const ended = await Promise.race([watching.ended.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 10_000))]);
      expect(ended).toBe('ended');
      expect(performance.now() - abortedAt).toBeLessThan(5_000);
      await until(() => silent.open() === 0, () => 'the client to close the socket it was opening');
      expect(silent.held).toHaveLength(1);
    } finally {
      silent.close();
    }
  });

  it('after the gateway is reachable again updates flow, and the backoff starts over after an update', async () => {
    const id = startExecution(harness);
    const retries: Retry[] = [];
    const watching = run(relay.url, id, { retryDelayMs: 20, maxRetryDelayMs: 200, onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }) });
    await until(() => watching.updates.length >= 1, () => 'the first update');
    expect(retries).toEqual([]);

    // The gateway goes out of reach: attempts pile up.
    relay.cut(true);
    await until(() => retries.length >= 4, () => `4 retries; so far ${JSON.stringify(retries)}`);
    expect(retries.map((retry) => retry.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(watching.updates).toHaveLength(1);

    // Back: the next attempt gets the execution as it is now.
    advance(harness, id, 'workflow_running', 2);
    relay.restore();
    await until(() => watching.updates.length >= 2, () => `an update once the gateway is reachable again; retries ${JSON.stringify(retries)}`);
    expect(watching.updates[1]!.execution.status).toBe('WORKFLOW_RUNNING');
    expect(watching.updates[1]!.newEvents).toHaveLength(2);

    // Dropped once more: the count starts over at 1, under the first bound.
    const before = retries.length;
    relay.cut(false);
    await until(() => retries.length > before, () => 'a retry after the second drop');
    expect(retries[before]).toMatchObject({ attempt: 1 });
    expect(retries[before]!.delayMs).toBeLessThanOrEqual(20);
    advance(harness, id, 'workflow_succeeded', 1);
    await watching.ended;
    expect(watching.updates.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
  });
});

// A browser opens at most 6 HTTP/1.1 connections per host: a page watching 8 executions over Server-Sent Events
// had 2 watches that never got an update, and every query waited behind them. Over one shared socket all run.
describe.each(LANES)('watchExecution over one shared WebSocket (%s lane)', (lane) => {
  let harness: Harness;
  const log = subscriptionLog();
  const stops: AbortController[] = [];
  /** Every WebSocket upgrade the gateway took, to count the sockets and drop them under the watches. */
  const upgrades: Duplex[] = [];

  beforeAll(async () => {
    harness = await Harness.start({ lane, env: LIVE_ENV, plugins: [log.plugin] });
    harness.instance.server.on('upgrade', (_request, socket: Duplex) => upgrades.push(socket));
  });
  afterEach(() => {
    for (const stop of stops.splice(0)) stop.abort();
  });
  afterAll(() => harness.close());

  /** Resolves once no socket the gateway took is open: the shared one closes when its last watch ends. */
  async function socketsClosed(): Promise<number> {
    const deadline = Date.now() + STEP_MS;
    while (upgrades.some((socket) => !socket.destroyed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return upgrades.filter((socket) => !socket.destroyed).length;
  }

  function watch(id: string, options: Parameters<typeof watchExecution>[3] = {}): AsyncIterator<ExecutionUpdate> {
    const stop = new AbortController();
    stops.push(stop);
    return watchExecution(harness.url, AUTH, id, { retryDelayMs: 50, signal: stop.signal, transport: 'websocket', webSocketImpl: WebSocket, ...options })[Symbol.asyncIterator]();
  }

  it('ends with a WatchError, as over Server-Sent Events, when the gateway refuses the upgrade at a wrong path (404): no retry', async () => {
    const retries: unknown[] = [];
    const wrong = new URL('/nope', harness.url).href;
    const started = performance.now();
    for (const transport of ['websocket', 'sse'] as const) {
      const error = await watchExecution(wrong, AUTH, 'ex_demo_4', { retryDelayMs: 20, transport, webSocketImpl: WebSocket, onRetry: (reason) => retries.push(reason) })
        .next()
        .catch((caught: unknown) => caught);
      expect(error, transport).toBeInstanceOf(WatchError);
      expect((error as WatchError).code, transport).toBe('BAD_REQUEST');
      if (transport === 'websocket') expect((error as WatchError).message).toBe(`The gateway refused the WebSocket upgrade at ${wrong.replace('http:', 'ws:')} with 404: GraphQL over WebSocket is not served at that path.`);
    }
    expect(retries).toEqual([]);
    expect(performance.now() - started).toBeLessThan(STEP_MS);
  });

  it('retries an upgrade refused with a status that may change (503), telling onRetry', async () => {
    const busy = createServer();
    busy.on('connection', (socket) => socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    const retries: unknown[] = [];
    const stop = new AbortController();
    try {
      const { port } = busy.address() as { port: number };
      const watching = watchExecution(`http://127.0.0.1:${port}/graphql`, AUTH, 'ex_demo_4', {
        retryDelayMs: 10,
        maxRetryDelayMs: 20,
        signal: stop.signal,
        transport: 'websocket',
        webSocketImpl: WebSocket,
        onRetry: (reason) => retries.push(reason),
      }).next();
      await waitFor(() => retries.length >= 2, () => `two retries of the refused upgrade (${retries.length})`);
      stop.abort();
      expect(await watching).toEqual({ done: true, value: undefined });
      expect(retries.every((reason) => !(reason instanceof WatchError))).toBe(true);
    } finally {
      busy.close();
    }
  });

  it('watches 8 executions at once over one socket, each to its final update with every event once', async () => {
    const before = upgrades.length;
    const ids = Array.from({ length: 8 }, () => startExecution(harness));
    const seen = new Map(ids.map((id) => [id, [] as ExecutionUpdate[]]));
    const watches = ids.map((id) => {
      const updates = watch(id);
      return { id, updates, take: taking(updates, seen.get(id)!) };
    });
    await Promise.all(watches.map(({ id, take }) => take(`the first update of ${id}`)));
    const history = new Map(ids.map((id) => [id, upstreamEventIds(harness, id)]));
    for (const [status, count] of STEPS) {
      for (const id of ids) advance(harness, id, status, count);
      await Promise.all(
        watches.map(async ({ id, take }) => {
          let update = await take(`the update of ${id} for ${status}`);
          // A poll may see two steps at once only if the test outran it; each step waits for every watch, so it is one.
          while (update.execution.status !== status.toUpperCase()) update = await take(`the update of ${id} for ${status}`);
        }),
      );
    }
    for (const id of ids) {
      const updates = seen.get(id)!;
      expect(updates.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_SUCCEEDED' } });
      expect(updates.flatMap((update) => update.newEvents.map((edge) => edge.node.id))).toEqual(upstreamEventIds(harness, id).slice(history.get(id)!.length));
    }
    for (const { id, updates } of watches) expect(await nextUpdate(updates, `the end of the watch of ${id}`)).toEqual({ done: true, value: undefined });
    expect(upgrades.length - before, 'WebSocket connections opened for 8 watches').toBe(1);
    expect(await socketsClosed(), 'sockets left open after every watch ended').toBe(0);
  });

  it('resumes every watch from its own last cursor after the socket drops, on one new socket: no event missed or repeated', async () => {
    const ids = [startExecution(harness, 3), startExecution(harness, 3)];
    const seen = new Map(ids.map((id) => [id, [] as ExecutionUpdate[]]));
    const retries: unknown[] = [];
    const iterators = new Map(ids.map((id) => [id, watch(id, { retryDelayMs: 200, onRetry: (error) => retries.push(error) })]));
    const takes = new Map(ids.map((id) => [id, taking(iterators.get(id)!, seen.get(id)!)]));
    const subscribedBefore = log.subscribed.length;
    for (const id of ids) await takes.get(id)!(`the first update of ${id}`);
    const history = new Map(ids.map((id) => [id, upstreamEventIds(harness, id)]));
    for (const id of ids) advance(harness, id, 'workflow_running', 2);
    const lastBeforeDrop = new Map<string, string>();
    for (const id of ids) lastBeforeDrop.set(id, (await takes.get(id)!(`the running update of ${id}`)).cursor);

    const before = upgrades.length;
    for (const socket of upgrades) socket.destroy();
    for (const id of ids) append(harness, id, 3);
    for (const id of ids) {
      const resumed = await takes.get(id)!(`the first update of ${id} after the drop`);
      expect(resumed.newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(-3));
    }
    for (const id of ids) advance(harness, id, 'workflow_failed', 1);
    for (const id of ids) {
      let last = await takes.get(id)!(`a later update of ${id}`);
      while (!last.isFinal) last = await takes.get(id)!(`the final update of ${id}`);
      const delivered = seen.get(id)!.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
      expect(delivered).toEqual(upstreamEventIds(harness, id).slice(history.get(id)!.length));
    }
    // Each watch asked again from its own last cursor, not from the `eventsAfter` it started with.
    const again = log.subscribed.slice(subscribedBefore).filter((each) => each.eventsAfter !== null);
    expect(again).toEqual(expect.arrayContaining(ids.map((id) => ({ id, eventsAfter: lastBeforeDrop.get(id) }))));
    expect(again).toHaveLength(ids.length);
    expect(upgrades.length - before, 'sockets opened again for 2 watches').toBe(1);
    // Told as over Server-Sent Events: a NetworkError, not graphql-ws's bare CloseEvent ("[object Event]").
    expect(retries).toHaveLength(ids.length);
    for (const error of retries) expect(error).toMatchObject({ name: 'NetworkError', message: 'The WebSocket to the gateway closed (1006).' });
    for (const [id, updates] of iterators) expect(await nextUpdate(updates, `the end of the watch of ${id}`)).toEqual({ done: true, value: undefined });
    expect(await socketsClosed(), 'sockets left open after every watch ended').toBe(0);
  });

  it('wakes a watch paused since its socket dropped as soon as another watch is served on the new one', async () => {
    const fast = startExecution(harness, 3);
    const slow = startExecution(harness, 3);
    const slowRetries: number[] = [];
    // The slow watch's pause is drawn from 0 to 10^9 ms: only the socket coming back can end it in time.
    const fastUpdates = watch(fast, { retryDelayMs: 50 });
    const slowUpdates = watch(slow, { retryDelayMs: 1e9, maxRetryDelayMs: 1e9, onRetry: (_error, _attempt, delayMs) => slowRetries.push(delayMs) });
    await nextUpdate(fastUpdates, `the first update of ${fast}`);
    await nextUpdate(slowUpdates, `the first update of ${slow}`);
    // Both read on, as a page's loops do: each learns of the drop as it happens.
    const fastAgain = fastUpdates.next();
    const slowAgain = nextUpdate(slowUpdates, `the first update of ${slow} after the drop`);
    const before = upgrades.length;
    for (const socket of upgrades) socket.destroy();
    append(harness, slow, 2);
    const dropped = performance.now();
    const resumed = await slowAgain;
    expect(resumed.done).toBe(false);
    expect((resumed.value as ExecutionUpdate).newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, slow).slice(-2));
    expect(slowRetries).toHaveLength(1);
    expect(slowRetries[0]).toBeGreaterThan(STEP_MS);
    expect(performance.now() - dropped).toBeLessThan(STEP_MS);
    expect(upgrades.length - before, 'sockets opened again for 2 watches').toBe(1);
    // Ended as a page ends them: the signal, then the loops read to their end, which lets go of the socket.
    for (const stop of stops.splice(0)) stop.abort();
    await fastAgain;
    for (const updates of [fastUpdates, slowUpdates]) while (!(await nextUpdate(updates, 'the end of a watch')).done);
    expect(await socketsClosed(), 'sockets left open after every watch ended').toBe(0);
  });

  it("keeps the backoff of a watch that failed on its own while another watch on the same healthy socket is served", async () => {
    const served = startExecution(harness, 1);
    const failing = startExecution(harness, 1);
    // Upstream answers 410 for the failing one: UPSTREAM_BAD_RESPONSE, which the watch subscribes again after, backing off.
    harness.upstream.setFault(failing, { kind: 'status', status: 410 });
    const failingRetries: number[] = [];
    const servedUpdates = watch(served);
    const failingUpdates = watch(failing, { retryDelayMs: 1e9, maxRetryDelayMs: 1e9, onRetry: (_error, _attempt, delayMs) => failingRetries.push(delayMs) });
    const failingEnd = failingUpdates.next();
    try {
      await nextUpdate(servedUpdates, `the first update of ${served}`);
      await waitFor(() => failingRetries.length === 1, 'the failing watch\'s retry');
      const subscribedBefore = log.subscribed.filter((each) => each.id === failing).length;
      // The served watch gets update after update on the same socket; none of them is a reason for the other to ask again.
      for (let i = 0; i < 3; i++) {
        append(harness, served, 1);
        await nextUpdate(servedUpdates, `update ${i + 1} of ${served}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(log.subscribed.filter((each) => each.id === failing)).toHaveLength(subscribedBefore);
      expect(failingRetries).toHaveLength(1);
    } finally {
      harness.upstream.setFault(failing, undefined);
      for (const stop of stops.splice(0)) stop.abort();
      await failingEnd;
      while (!(await nextUpdate(servedUpdates, 'the end of the served watch')).done);
    }
  });

  it('credits an update to the connection it came on, not the one open when a slow page reads it: no paused watch wakes for a newer connection that served nothing', async () => {
    // Serves the first connection's subscriptions of ex_a; later connections are acknowledged and dropped at the first subscribe.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'graphql-transport-ws' });
    await once(server, 'listening');
    let connections = 0;
    const subscribes = new Map<string, number>();
    let sendA: (() => void) | undefined;
    server.on('connection', (socket) => {
      const connection = ++connections;
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { id?: string; type: string; payload?: { variables?: { id?: string } } };
        if (message.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
        if (message.type !== 'subscribe') return;
        const id = message.payload?.variables?.id ?? '';
        subscribes.set(id, (subscribes.get(id) ?? 0) + 1);
        if (connection > 1) return void socket.terminate();
        if (id !== 'ex_a') return;
        let n = 0;
        sendA = () => {
          n++;
          const update = { isFinal: false, endReason: null, cursor: `c${n}`, execution: { id: 'ex_a', status: 'WORKFLOW_RUNNING' }, newEvents: [] };
          socket.send(JSON.stringify({ id: message.id, type: 'next', payload: { data: { executionUpdates: update } } }));
        };
        sendA();
      });
    });
    const stop = new AbortController();
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
      const options = { signal: stop.signal, transport: 'websocket' as const, webSocketImpl: WebSocket };
      const a = watchExecution(endpoint, AUTH, 'ex_a', { ...options, retryDelayMs: 10, maxRetryDelayMs: 20 })[Symbol.asyncIterator]();
      expect((await a.next()).done).toBe(false);
      // Its pause is drawn from 0 to 10^9 ms: anything that wakes it shows in its subscribes.
      const slow = watchExecution(endpoint, AUTH, 'ex_slow', { ...options, retryDelayMs: 1e9, maxRetryDelayMs: 1e9 }).next();
      const fast = watchExecution(endpoint, AUTH, 'ex_fast', { ...options, retryDelayMs: 10, maxRetryDelayMs: 20 }).next();
      await waitFor(() => subscribes.get('ex_slow') === 1 && subscribes.get('ex_fast') === 1, 'both subscribed on the first connection');
      // An update for ex_a arrives while its page is busy: it waits, unread, in the subscription's queue.
      sendA!();
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const client of server.clients) client.terminate();
      // Newer connections come and go, serving nothing; then the page reads the update that came on the first.
      await waitFor(() => connections >= 4, () => `newer connections (${connections})`);
      expect((await a.next()).value).toMatchObject({ cursor: 'c2' });
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(subscribes.get('ex_slow')).toBe(1);
      stop.abort();
      await Promise.all([slow, fast]);
      while (!(await a.next()).done);
    } finally {
      stop.abort();
      for (const client of server.clients) client.terminate();
      server.close();
    }
  });

  it('keeps its own backoff while the socket is acknowledged but serves nothing: an acknowledgement wakes no paused watch', async () => {
    // A gateway (or a proxy before a crash-looping one) that acknowledges every socket and drops it at the first subscribe.
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'graphql-transport-ws' });
    await once(server, 'listening');
    const subscribes = new Map<string, number>();
    server.on('connection', (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string; payload?: { variables?: { id?: string } } };
        if (message.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
        if (message.type !== 'subscribe') return;
        const id = message.payload?.variables?.id ?? '';
        subscribes.set(id, (subscribes.get(id) ?? 0) + 1);
        socket.terminate();
      });
    });
    const stop = new AbortController();
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
      const options = { signal: stop.signal, transport: 'websocket' as const, webSocketImpl: WebSocket };
      const fast = watchExecution(endpoint, AUTH, 'ex_fast', { ...options, retryDelayMs: 10, maxRetryDelayMs: 20 }).next();
      // Its pause is drawn from 0 to 10^9 ms: anything that wakes it shows in its subscribes.
      const slow = watchExecution(endpoint, AUTH, 'ex_slow', { ...options, retryDelayMs: 1e9, maxRetryDelayMs: 1e9 }).next();
      await waitFor(() => (subscribes.get('ex_fast') ?? 0) >= 20, () => `20 subscribes of the fast watch (${subscribes.get('ex_fast') ?? 0})`);
      expect(subscribes.get('ex_slow')).toBe(1);
      stop.abort();
      expect(await fast).toEqual({ done: true, value: undefined });
      expect(await slow).toEqual({ done: true, value: undefined });
    } finally {
      stop.abort();
      for (const client of server.clients) client.terminate();
      server.close();
    }
  });

  // graphql-ws takes a 1000 close (a proxy's, say) as normal and subscribes again by itself, with the variables the
  // subscription was sent with: a watch that began from a cursor got every event since it a second time.
  it('resumes from its last cursor, not the one it began with, when the socket closes normally (1000) mid-watch', async () => {
    const id = startExecution(harness, 3);
    const first = watch(id);
    const start = (await nextUpdate(first, 'the first update of a watch to begin from')).value as ExecutionUpdate;
    await first.return?.();
    const seen: ExecutionUpdate[] = [];
    const retries: unknown[] = [];
    const take = taking(watch(id, { eventsAfter: start.cursor, onRetry: (error) => retries.push(error) }), seen);
    await take('the first update');
    append(harness, id, 2);
    let last = await take('the update with 2 new events');
    while (seen.flatMap((update) => update.newEvents).length < 2) last = await take('the update with 2 new events');
    const subscribedBefore = log.subscribed.length;
    // A close frame with code 1000, from the gateway's side of the socket.
    const open = upgrades.filter((socket) => !socket.destroyed);
    expect(open).toHaveLength(1);
    open[0]!.end(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
    append(harness, id, 1);
    while (seen.flatMap((update) => update.newEvents).length < 3) await take('the update with the event appended after the close');
    advance(harness, id, 'workflow_succeeded', 0);
    while (!seen.at(-1)!.isFinal) await take('the final update');
    expect(seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id))).toEqual(upstreamEventIds(harness, id).slice(-3));
    expect(log.subscribed.slice(subscribedBefore)).toEqual([{ id, eventsAfter: last.cursor }]);
    expect(retries).toEqual([expect.objectContaining({ name: 'NetworkError', message: 'The WebSocket to the gateway closed (1000).' })]);
  });

  // A watch whose updates nobody read (a loop body still busy, an iterator dropped without `return()`) kept its
  // subscription, and so the shared socket and the gateway's poller, for as long as the page lived.
  it('lets go of the socket while its last watch is not read past pausedTimeoutMs, and resumes from its cursor on one new socket', async () => {
    const id = startExecution(harness, 3);
    const seen: ExecutionUpdate[] = [];
    const retries: unknown[] = [];
    const updates = watch(id, { pausedTimeoutMs: 300, onRetry: (error) => retries.push(error) });
    const take = taking(updates, seen);
    const subscribedBefore = log.subscribed.length;
    const first = await take('the first update');
    const opened = upgrades.length;
    expect(upgrades.filter((socket) => !socket.destroyed), 'sockets open while the watch is read').toHaveLength(1);
    // Not read: the socket closes, and the gateway watches nothing for it.
    expect(await socketsClosed(), 'sockets left open under a watch nobody reads').toBe(0);
    await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'the gateway to end the unread watch', STEP_MS);
    advance(harness, id, 'workflow_running', 2);
    // Read again: one new socket, from the last cursor read, with every event since and none twice.
    const resumed = await take('the update after the pause');
    expect(resumed.newEvents.map((edge) => edge.node.id)).toEqual(upstreamEventIds(harness, id).slice(-2));
    expect(upgrades.length - opened, 'sockets opened to resume').toBe(1);
    expect(log.subscribed.slice(subscribedBefore)).toEqual([
      { id, eventsAfter: null },
      { id, eventsAfter: first.cursor },
    ]);
    // Letting go of an unread subscription is no failure: nothing to retry, no backoff.
    expect(retries).toEqual([]);
    advance(harness, id, 'workflow_succeeded', 1);
    let last = resumed;
    while (!last.isFinal) last = await take('the final update');
    expect(await nextUpdate(updates, 'the end of the watch')).toEqual({ done: true, value: undefined });
    expect(await socketsClosed(), 'sockets left open after the watch ended').toBe(0);
  });

  it.each([
    ['an unknown execution', 'ex_does_not_exist', {}, 'NOT_FOUND'],
    ['an eventsAfter that is no cursor', 'ex_demo_4', { eventsAfter: 'not-a-cursor' }, 'BAD_USER_INPUT'],
    // Refused before it runs: graphql-ws throws the `error` message's list of errors.
    ['a filter variable that does not fit its type', 'ex_demo_4', { filter: { createdAfter: 'not-a-time' } }, 'BAD_REQUEST'],
  ])('throws a WatchError for %s: %s', async (_title, id, given, code) => {
    const retries: unknown[] = [];
    const updates = watch(id, { ...given, onRetry: (error) => retries.push(error) });
    const error = await nextUpdate(updates, 'the WatchError').then(
      (next) => new Error(`the watch went on: ${JSON.stringify(next)}`),
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(WatchError);
    expect((error as WatchError).code).toBe(code);
    expect(retries).toEqual([]);
  });
});
