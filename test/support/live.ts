/**
 * What the live suites share (test/live.test.ts over Server-Sent Events,
 * test/live-ws.test.ts over WebSocket): millisecond poll settings, the watch
 * document, the two official clients (graphql-sse in distinct connections
 * mode, graphql-ws), a recorder of one subscription, a driver that advances an
 * execution on the fake upstream the way a workflow does, waits that poll for
 * a condition instead of sleeping a fixed time, and the behaviour suite both
 * transports must pass on both lanes (`describeLiveBehaviour`).
 *
 * Everything goes over real sockets: the official client → the gateway on a
 * loopback port → the fake upstream on another.
 */
import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import { DEMO_ORGANIZATION, DEMO_TOKEN, makeEvents, makeExecution } from '../../src/demo/demo-data.js';
import type { FakeUpstream, Fault } from '../../src/demo/fake-upstream.js';
import type { UpstreamEvent } from '../../src/upstream/envelope.js';
import { encodeStartCursor } from '../../src/domain/event-cursor.js';
import { AUTH, Harness, LANES, type LaneName } from './harness.js';
import { nextEvents } from './transports.js';

/** Poll interval of queued, running and waiting executions in the live suites, in ms. */
export const POLL_MS = 25;
/**
 * Poll interval of executions awaiting payment: longer, for the suites that
 * count calls after a client left (three intervals must outlast the time a
 * busy machine takes to notice a closed socket).
 */
export const PAYMENT_POLL_MS = 200;
/** How long polls may fail before watchers are told. */
export const OUTAGE_NOTICE_MS = 100;

/** Millisecond polls without jitter, so a window of time holds a known number of ticks; short outage notice and backoff. */
export function liveEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    LIVE_POLL_ACTIVE_MS: String(POLL_MS),
    LIVE_POLL_WAITING_MS: String(POLL_MS),
    LIVE_POLL_PAYMENT_MS: String(PAYMENT_POLL_MS),
    LIVE_POLL_JITTER_PERCENT: '0',
    LIVE_POLL_MAX_BACKOFF_MS: '100',
    LIVE_OUTAGE_NOTICE_MS: String(OUTAGE_NOTICE_MS),
    ...overrides,
  };
}

/** Settings under which three failing ids, of one caller, open the circuit, each failure at once (no retries). */
export const CIRCUIT_OF_THREE = { UPSTREAM_BREAKER_THRESHOLD: '3', UPSTREAM_BREAKER_MIN_IDS: '3', UPSTREAM_BREAKER_MIN_CALLERS: '1', UPSTREAM_MAX_ATTEMPTS: '1' };

/** Callers of the live suites: the demo token, two tokens of org_a and one of org_b. */
export const TOKENS: Record<string, string> = { [DEMO_TOKEN]: DEMO_ORGANIZATION, 'token-a': 'org_a', 'token-a2': 'org_a', 'token-b': 'org_b' };
export const AUTH_A = 'Bearer token-a';
export const AUTH_A2 = 'Bearer token-a2';
export const AUTH_B = 'Bearer token-b';

/** A harness with the live settings and the live callers. */
export function startLiveHarness(lane: LaneName, env: Record<string, string> = {}): Promise<Harness> {
  return Harness.start({ lane, env: liveEnv(env), upstream: { tokens: TOKENS } });
}

/** startLiveHarness, from inside a test, closed once that test finished (passed or not). */
export async function liveHarnessForTest(lane: LaneName, env: Record<string, string> = {}): Promise<Harness> {
  const harness = await startLiveHarness(lane, env);
  onTestFinished(() => harness.close());
  return harness;
}

/** WATCH, with the count of the execution's events: a note on `events` shows there. */
const COUNTING_WATCH = /* GraphQL */ `
  subscription CountingWatch($id: ID!) {
    executionUpdates(id: $id) {
      isFinal
      endReason
      cursor
      execution { id status updatedAt events { totalCount } }
      newEvents { cursor node { id createdAt message } }
    }
  }
`;

export const WATCH = /* GraphQL */ `
  subscription Watch($id: ID!, $after: String) {
    executionUpdates(id: $id, eventsAfter: $after) {
      isFinal
      endReason
      cursor
      execution { id status updatedAt }
      newEvents { cursor node { id createdAt message } }
    }
  }
`;

export interface Update {
  isFinal: boolean;
  endReason: 'EXECUTION_ENDED' | 'WATCH_TIME_LIMIT' | null;
  cursor: string | null;
  execution: { id: string; status: string; updatedAt: string };
  newEvents: Array<{ cursor: string; node: { id: string; createdAt: string; message: string } }>;
}

export type WatchResult = ExecutionResult<{ executionUpdates: Update }>;

interface Sink {
  next(value: WatchResult): void;
  error(error: unknown): void;
  complete(): void;
}

/** What both official clients offer: subscribe with a sink, get the unsubscribe. */
export interface SubscribingClient {
  subscribe(payload: { query: string; variables?: Record<string, unknown> }, sink: Sink): () => void;
  dispose(): unknown;
}

export type TransportName = 'sse' | 'ws';

/** A graphql-sse client in distinct connections mode, without retries: each subscription is its own request. */
export function sseClient(harness: Harness, authorization: string = AUTH): ReturnType<typeof createSseClient> & SubscribingClient {
  return createSseClient({ url: harness.url, headers: { authorization }, retryAttempts: 0 }) as ReturnType<typeof createSseClient> & SubscribingClient;
}

/** A graphql-ws client: one WebSocket (opened on the first subscription) carrying the token in connectionParams. */
export function wsClient(harness: Harness, authorization: string = AUTH, on: { connected?: (socket: unknown) => void } = {}): WsClient & SubscribingClient {
  return createWsClient({
    url: harness.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization },
    retryAttempts: 0,
    shouldRetry: () => false,
    on,
  }) as WsClient & SubscribingClient;
}

/**
 * Clients made by a suite, disposed after each test: a WebSocket left open
 * would keep the gateway's server from closing.
 */
export class Clients {
  readonly #made: SubscribingClient[] = [];

  constructor(readonly transport: TransportName) {}

  for(harness: Harness, authorization: string = AUTH): SubscribingClient {
    const client = this.transport === 'sse' ? sseClient(harness, authorization) : wsClient(harness, authorization);
    return this.track(client);
  }

  track<T extends SubscribingClient>(client: T): T {
    this.#made.push(client);
    return client;
  }

  async disposeAll(): Promise<void> {
    await Promise.all(this.#made.splice(0).map((client) => client.dispose()));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** As waitFor, for a condition that asks a server (Redis, say): asked every 10 ms, one question at a time. */
export async function waitForAnswer(condition: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Checks `condition` every 5 ms until it holds; fails naming `what` after `timeoutMs` (generous: the machine may be busy). */
export async function waitFor(condition: () => boolean, what: string | (() => string), timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await sleep(5);
  }
}

/** Everything one subscription received, and how it ended. */
export class Recorder {
  readonly results: WatchResult[] = [];
  completed = false;
  failure: unknown;
  readonly #unsubscribe: () => void;

  constructor(client: SubscribingClient, variables: Record<string, unknown>, query: string = WATCH) {
    this.#unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (result) => this.results.push(result),
        error: (error) => (this.failure = error ?? new Error('the subscription failed')),
        complete: () => (this.completed = true),
      },
    );
  }

  /** The updates received, in order (the results with data). */
  get updates(): Update[] {
    return this.results.flatMap((result) => (result.data?.executionUpdates ? [result.data.executionUpdates] : []));
  }

  get last(): Update | undefined {
    return this.updates.at(-1);
  }

  /** Ids of the events received in `newEvents`, across updates, in order. */
  get eventIds(): string[] {
    return this.updates.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
  }

  /** Statuses in the order they arrived, repeats in a row collapsed. */
  get statuses(): string[] {
    const statuses: string[] = [];
    for (const { execution } of this.updates) if (statuses.at(-1) !== execution.status) statuses.push(execution.status);
    return statuses;
  }

  /** The `extensions.code` of every error received, in order. */
  get errorCodes(): unknown[] {
    return this.results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code));
  }

  get ended(): boolean {
    return this.completed || this.failure !== undefined;
  }

  describe(): string {
    return JSON.stringify({ completed: this.completed, failure: this.failure === undefined ? undefined : String(this.failure), results: this.results });
  }

  /** Waits until the stream completed (or failed: the test then reads `failure`). */
  end(timeoutMs = 10_000): Promise<void> {
    return waitFor(() => this.ended, () => `the subscription to end; so far ${this.describe()}`, timeoutMs);
  }

  /** Waits until at least `count` results arrived. */
  received(count: number, timeoutMs = 10_000): Promise<void> {
    return waitFor(() => this.results.length >= count, () => `${count} results; so far ${this.describe()}`, timeoutMs);
  }

  /** Waits until some update satisfies `predicate`. */
  until(predicate: (update: Update) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return waitFor(() => this.updates.some(predicate), () => `${what}; so far ${this.describe()}`, timeoutMs);
  }

  /** Unsubscribes: graphql-sse aborts its request, graphql-ws sends `complete`. */
  stop(): void {
    this.#unsubscribe();
  }
}

export function watch(client: SubscribingClient, id: string, eventsAfter?: string | null): Recorder {
  return new Recorder(client, eventsAfter === undefined ? { id } : { id, after: eventsAfter });
}

/** The steps a workflow goes through after `workflow_queued`: a status, and how many events upstream appends with it. */
export const STEPS: ReadonlyArray<readonly [status: string, events: number]> = [
  ['workflow_running', 3],
  ['workflow_waiting', 2],
  ['workflow_running', 4],
  ['workflow_succeeded', 1],
];

/** The GraphQL statuses a watch of a queued execution driven through STEPS sees. */
export const STEP_STATUSES = ['WORKFLOW_QUEUED', 'WORKFLOW_RUNNING', 'WORKFLOW_WAITING', 'WORKFLOW_RUNNING', 'WORKFLOW_SUCCEEDED'];

/** Stores a fresh execution in `status` with `eventCount` events. */
export function putExecution(upstream: FakeUpstream, id: string, status: string, options: { eventCount?: number; organizationId?: string } = {}) {
  const record = makeExecution({ id, status, eventCount: options.eventCount ?? 3, ...(options.organizationId ? { organizationId: options.organizationId } : {}) });
  upstream.put(record);
  return record;
}

/** Upstream's clock for appended events: a minute further at each advance, so every advance changes `updatedAt`. */
let clock = Date.parse('2026-03-01T13:00:00.000Z');

/**
 * Advances a stored execution as upstream does while it runs: a new status and
 * `updatedAt`, and `eventCount` events appended, later than those it has (or
 * the given events). Returns the ids of the events appended.
 */
export function advance(upstream: FakeUpstream, id: string, status: string, events: number | UpstreamEvent[]): string[] {
  const stored = upstream.get(id);
  if (!stored) throw new Error(`the fake upstream has no ${id}`);
  clock += 60_000;
  const appended = typeof events === 'number' ? makeEvents(id, stored.execution.organizationId, events, clock, stored.events.length + 1) : events;
  const now = new Date(clock).toISOString();
  const terminal = ['workflow_succeeded', 'workflow_failed', 'workflow_cancelled'].includes(status);
  upstream.put({
    execution: { ...stored.execution, status, updatedAt: now, ...(terminal ? { finishedAt: now } : {}) },
    events: [...stored.events, ...appended],
  });
  return appended.map((event) => event.id);
}

/** `count` new events for a stored execution, numbered after those it has, all created at `createdAt`. */
export function eventsCreatedAt(upstream: FakeUpstream, id: string, count: number, createdAt: string): UpstreamEvent[] {
  const stored = upstream.get(id)!;
  return makeEvents(id, stored.execution.organizationId, count, 0, stored.events.length + 1).map((event) => ({ ...event, createdAt }));
}

/**
 * Drives `id` from `workflow_queued` through STEPS, one step at a time: a step
 * is put once every watcher has seen the previous status (so no status falls
 * between two polls) and upstream has been polled twice more with nothing
 * changed (so a watcher told of polls that changed nothing would show it).
 * Returns the ids of the events appended.
 */
export async function driveThroughSteps(upstream: FakeUpstream, id: string, watchers: readonly Recorder[], timeoutMs = 10_000): Promise<string[]> {
  const appended: string[] = [];
  for (let step = 0; step < STEPS.length; step++) {
    await waitFor(
      () => watchers.every((watcher) => watcher.statuses.length > step),
      () => `every watcher to see status #${step + 1}; ${watchers.find((watcher) => watcher.statuses.length <= step)?.describe()}`,
      timeoutMs,
    );
    const polled = upstream.requestsFor(id).length;
    await waitFor(() => upstream.requestsFor(id).length >= polled + 2, 'two polls with nothing new', timeoutMs);
    const [status, count] = STEPS[step]!;
    appended.push(...advance(upstream, id, status, count));
  }
  return appended;
}

/** Upstream requests for `id` that arrived after `since` (performance.now()). */
export function requestsSince(upstream: FakeUpstream, id: string, since: number): number {
  return upstream.requestsFor(id).filter((request) => request.at > since).length;
}

/** The shortest pause between two consecutive upstream requests for `id` (with this Authorization, when given). */
export function shortestGap(upstream: FakeUpstream, id: string, authorization?: string): number {
  const times = upstream
    .requestsFor(id)
    .filter((request) => authorization === undefined || request.headers.authorization === authorization)
    .map((request) => request.at);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < times.length; i++) shortest = Math.min(shortest, times[i]! - times[i - 1]!);
  return shortest;
}

/** The Authorization headers the upstream requests for `id` carried, each once, sorted. */
export function tokensSeen(upstream: FakeUpstream, id: string): string[] {
  return [...new Set(upstream.requestsFor(id).map((request) => String(request.headers.authorization)))].sort();
}

/** Waits until nothing is live on the instance: no subscription, no poller. */
export function allStopped(harness: Harness, timeoutMs = 10_000): Promise<void> {
  return waitFor(
    () => harness.instance.live.counts.subscriptions === 0 && harness.instance.live.counts.pollers === 0,
    () => `live counts to return to 0; now ${JSON.stringify(harness.instance.live.counts)}`,
    timeoutMs,
  );
}

/**
 * A watcher left (`leave`): each poller of `ids` makes at most one upstream
 * call after that and none after three intervals, while those of `goingOn`
 * keep polling; the instance ends up holding `remaining` (nothing, unless
 * given). The executions await payment, so an interval is PAYMENT_POLL_MS.
 */
export async function expectPollingStopsAfter(
  harness: Harness,
  ids: readonly string[],
  leave: () => unknown,
  { goingOn = [], remaining = { subscriptions: 0, pollers: 0 } }: { goingOn?: readonly string[]; remaining?: { subscriptions: number; pollers: number } } = {},
): Promise<void> {
  const { upstream } = harness;
  // Polling has gone on for a while, and each poller of `ids` is mid-cadence (its next poll pending) when the watcher leaves.
  await waitFor(() => [...ids, ...goingOn].every((id) => upstream.requestsFor(id).length >= 2), 'a second poll of each execution');
  await waitFor(
    () => ids.every((id) => performance.now() - upstream.requestsFor(id).at(-1)!.at >= PAYMENT_POLL_MS / 2),
    'half an interval since the last poll',
  );
  // The clock is read once the client has acted (the synchronous part of `leave`), before anything else can run.
  const leaving = leave();
  const left = performance.now();
  await leaving;
  await waitFor(
    () => harness.instance.live.counts.subscriptions === remaining.subscriptions && harness.instance.live.counts.pollers === remaining.pollers,
    () => `live counts to become ${JSON.stringify(remaining)}; now ${JSON.stringify(harness.instance.live.counts)}`,
  );
  const threeIntervals = left + 3 * PAYMENT_POLL_MS;
  // A poller still running would call again within the next two intervals.
  await sleep(Math.max(0, threeIntervals + 2 * PAYMENT_POLL_MS - performance.now()));
  // Then two quiet intervals, within 5 s, rather than none at all past three intervals: a poll already on its way when
  // the watch ended reached upstream past 600 ms on a loaded machine (live.test.ts, 1 run in 2). A poller still
  // running calls every interval, and leaves more than the one call allowed since the watcher left.
  const quietSince = (id: string) => performance.now() - Math.max(left, upstream.requestsFor(id).at(-1)?.at ?? left);
  await waitFor(() => ids.every((id) => quietSince(id) >= 2 * PAYMENT_POLL_MS), () => `two quiet intervals of ${ids.join(', ')}`, 5_000);
  for (const id of ids) {
    expect(requestsSince(upstream, id, left), `upstream calls for ${id} after the watcher left`).toBeLessThanOrEqual(1);
  }
  for (const id of goingOn) await waitFor(() => requestsSince(upstream, id, threeIntervals) >= 1, `${id}, still watched, to be polled on`);
}

/** A refused subscription: one result carrying only `code`, no data, then complete. */
export async function expectRefused(recorder: Recorder, code: string): Promise<void> {
  await recorder.end();
  expect(recorder.completed, recorder.describe()).toBe(true);
  expect(recorder.results).toHaveLength(1);
  expect(recorder.results[0]!.data ?? null).toBeNull();
  expect(recorder.errorCodes).toEqual([code]);
}

/**
 * The codes a refused subscription was answered with, however its transport
 * says so: errors in its one result (SSE, then complete), graphql-ws's `error`
 * message (the errors themselves), or graphql-sse's NetworkError for a 4xx
 * (the errors in the answer's body).
 */
export async function refusalCodes(recorder: Recorder): Promise<unknown[]> {
  await recorder.end();
  if (recorder.completed) return recorder.errorCodes;
  const failure = recorder.failure as { response?: Response } | Array<{ extensions?: { code?: unknown } }>;
  if (Array.isArray(failure)) return failure.map((error) => error.extensions?.code);
  if (!failure.response) return [String(failure)];
  const body = await failure.response.text();
  const results = body.trimStart().startsWith('{') ? [body] : nextEvents(body).map((result) => JSON.stringify(result));
  return results.flatMap((result) => ((JSON.parse(result) as ExecutionResult).errors ?? []).map((error) => error.extensions?.code));
}

/** A cursor with its payload edited and the checksum kept: what a client tampering with it sends. */
export function tampered(cursor: string): string {
  const dot = cursor.lastIndexOf('.');
  const content = JSON.parse(Buffer.from(cursor.slice(0, dot), 'base64url').toString('utf8')) as unknown[];
  content[2] = `${String(content[2])}0`;
  return `${Buffer.from(JSON.stringify(content)).toString('base64url')}${cursor.slice(dot)}`;
}

/**
 * The cursors of an execution's first events, as `events(first: 10)` hands them out. Asked again (for up to
 * 10 s) while upstream's answer is late: the fault suites' gateway gives upstream 500 ms and one attempt, and a
 * busy process reads an answer given in 1 ms after its deadline's timer has run (a 700 ms stall: UPSTREAM_TIMEOUT).
 * This query only sets the test up: both lanes' watches of a cursor no reading holds failed here, 2 s in, in 1 of
 * 15 runs beside a CPU burner. Any other error fails at once, naming it.
 */
export async function eventCursors(harness: Harness, id: string): Promise<string[]> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const page = await harness.query<{ execution: { events: { edges: Array<{ cursor: string }> } } | null }>(
      'query ($id: ID!) { execution(id: $id) { events(first: 10) { edges { cursor } } } }',
      { id },
    );
    if (page.data?.execution) return page.data.execution.events.edges.map((edge) => edge.cursor);
    const late = page.errors !== undefined && page.errors.length > 0 && page.errors.every((error) => LATE_UPSTREAM.includes(String(error.extensions?.code)));
    if (!late || performance.now() > deadline) throw new Error(`no event cursors for ${id}: ${JSON.stringify(page.errors)}`);
  }
}

/** What a query gets when upstream's answer came too late, however quickly upstream gave it. */
const LATE_UPSTREAM = ['UPSTREAM_TIMEOUT', 'UPSTREAM_UNAVAILABLE'];

/** A 200 envelope of `execution` with `events` as given (a list or not), as upstream would send it. */
export function envelopeOf(execution: unknown, events: unknown): string {
  return JSON.stringify({ code: 200, data: { execution, events, message: 'ok' }, message: 'ok', requestId: 'odd' });
}

/**
 * `body` on each lane: the lanes run side by side (each has its own harness),
 * the tests of one lane one at a time, as they share that harness.
 */
export function describeEachLane(title: string, body: (lane: LaneName) => void): void {
  describe.concurrent.each(LANES)('%s lane', (lane) => {
    describe.sequential(title, () => body(lane));
  });
}

/**
 * The behaviour every transport owes on every lane (README "Live
 * executions"), run over `transport` with its official client.
 */
export function describeLiveBehaviour(transport: TransportName): void {
  describeEachLane(`live executions over ${transport}`, (lane) => {
    let harness: Harness;
    const clients = new Clients(transport);
    const client = (authorization: string = AUTH) => clients.for(harness, authorization);

    beforeAll(async () => {
      harness = await startLiveHarness(lane);
    });
    afterEach(() => clients.disposeAll());
    afterAll(() => harness.close());

    /** gateway_live_bound_reached_total of `own`, by bound, as /metrics says it (METRICS on in `env`). */
    async function boundsReached(own: Harness): Promise<Record<string, number>> {
      const counts: Record<string, number> = {};
      for (const line of await own.metricLines('gateway_live_bound_reached_total')) {
        const [, bound, count] = /bound="(\w+)"\} (\d+)/.exec(line)!;
        counts[bound!] = Number(count);
      }
      return counts;
    }
    /** Counts of gateway_live_bound_reached_total with `bound` reached once, every other bound never. */
    const reachedOnce = (bound: string) => ({ subscriptions: 0, unread_subscriptions: 0, caller_subscriptions: 0, pollers: 0, readings: 0, [bound]: 1 });

    /** A harness of its own with more settings, closed after `run`. */
    async function withHarness(env: Record<string, string>, run: (own: Harness) => Promise<void>): Promise<void> {
      const own = await startLiveHarness(lane, env);
      try {
        await run(own);
      } finally {
        await clients.disposeAll();
        await own.close();
      }
    }

    it('delivers every status in order, every appended event exactly once, a final update, then complete', async () => {
      const { upstream } = harness;
      putExecution(upstream, 'ex_order', 'workflow_queued');
      const watcher = watch(client(), 'ex_order');
      const appended = await driveThroughSteps(upstream, 'ex_order', [watcher]);
      await watcher.end();

      expect(watcher.completed, watcher.describe()).toBe(true);
      expect(watcher.errorCodes).toEqual([]);
      expect(watcher.statuses).toEqual(STEP_STATUSES);
      // The first update carries no events (history is read through `execution.events`); each later one the events of its step.
      expect(watcher.updates[0]!.newEvents).toEqual([]);
      expect(watcher.eventIds).toEqual(appended);
      // One update per change: the first, then one per step, nothing in between.
      expect(watcher.updates).toHaveLength(1 + STEPS.length);
      expect(watcher.updates.map((update) => update.newEvents.length)).toEqual([0, ...STEPS.map(([, count]) => count)]);
      const final = watcher.updates.at(-1)!;
      expect(final).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_SUCCEEDED' } });
      expect(watcher.updates.slice(0, -1).every((update) => !update.isFinal && update.endReason === null)).toBe(true);
      // Each update's cursor is where the watch stands: its last event.
      for (const update of watcher.updates.slice(1)) expect(update.cursor).toBe(update.newEvents.at(-1)!.cursor);
      await allStopped(harness);
    });

    it('serves 50 watchers of one execution by one caller with one upstream call per tick', { timeout: 60_000 }, async () => {
      const { upstream } = harness;
      const id = 'ex_shared';
      putExecution(upstream, id, 'workflow_queued');
      const shared = client();
      const watchers = Array.from({ length: 50 }, () => watch(shared, id));
      // 30 s, not 10: fifty streams opened at once by a gateway in this process took past 10 s on a loaded machine.
      await waitFor(() => watchers.every((watcher) => watcher.updates.length >= 1), 'the first update of all 50 watchers', 30_000);
      expect(harness.instance.live.counts).toEqual({ subscriptions: 50, pollers: 1, unread: 0 });

      // One upstream call per tick, whatever the number of watchers: twelve calls span at least eleven ticks
      // (a tick comes POLL_MS after the previous answer); 50 pollers would make them back to back.
      // The slack is for timers on a busy machine.
      const before = upstream.requestsFor(id).length;
      await waitFor(() => upstream.requestsFor(id).length >= before + 12, 'twelve more polls');
      const calls = upstream.requestsFor(id);
      expect(calls[before + 11]!.at - calls[before]!.at).toBeGreaterThanOrEqual(11 * POLL_MS * 0.8);
      expect(shortestGap(upstream, id)).toBeGreaterThanOrEqual(POLL_MS / 2);

      const appended = await driveThroughSteps(upstream, id, watchers);
      await waitFor(() => watchers.every((watcher) => watcher.ended), 'all 50 watchers to complete');
      for (const watcher of watchers) {
        expect(watcher.completed).toBe(true);
        expect(watcher.statuses).toEqual(STEP_STATUSES);
        expect(watcher.eventIds).toEqual(appended);
      }
      expect(shortestGap(upstream, id)).toBeGreaterThanOrEqual(POLL_MS / 2);
      await allStopped(harness);
    });

    it('gives each caller its own poller with its own token, and never another caller\'s data', { timeout: 60_000 }, async () => {
      const { upstream } = harness;
      putExecution(upstream, 'ex_org_a', 'workflow_running', { organizationId: 'org_a' });
      putExecution(upstream, 'ex_org_b', 'workflow_running', { organizationId: 'org_b' });
      const a = watch(client(AUTH_A), 'ex_org_a');
      const a2 = watch(client(AUTH_A2), 'ex_org_a');
      const b = watch(client(AUTH_B), 'ex_org_b');
      // 30 s, not 10: past 10 s on a loaded machine, right after the 50 watchers' case.
      await waitFor(() => [a, a2, b].every((watcher) => watcher.updates.length >= 1), 'the first update of each caller', 30_000);
      // Two callers on ex_org_a: two pollers; one on ex_org_b.
      expect(harness.instance.live.counts).toEqual({ subscriptions: 3, pollers: 3, unread: 0 });
      await waitFor(() => upstream.requestsFor('ex_org_a').length >= 6, 'a few polls of ex_org_a');
      expect(tokensSeen(upstream, 'ex_org_a')).toEqual([AUTH_A, AUTH_A2]);
      expect(tokensSeen(upstream, 'ex_org_b')).toEqual([AUTH_B]);
      // Each poller calls at its own cadence: one call per tick per caller.
      expect(shortestGap(upstream, 'ex_org_a', AUTH_A)).toBeGreaterThanOrEqual(POLL_MS / 2);
      expect(shortestGap(upstream, 'ex_org_a', AUTH_A2)).toBeGreaterThanOrEqual(POLL_MS / 2);

      // B asks for A's execution while A's poller holds it: upstream's answer to B's own token, not A's data.
      const intruder = watch(client(AUTH_B), 'ex_org_a');
      await intruder.end();
      expect(intruder.completed).toBe(true);
      expect(intruder.updates).toEqual([]);
      expect(intruder.errorCodes).toEqual(['NOT_FOUND']);
      expect(tokensSeen(upstream, 'ex_org_a')).toEqual([AUTH_A, AUTH_A2, AUTH_B]);

      const appendedA = advance(upstream, 'ex_org_a', 'workflow_succeeded', 2);
      await a.end();
      await a2.end();
      expect(a.eventIds).toEqual(appendedA);
      expect(a2.eventIds).toEqual(appendedA);
      // B's watch went on, and saw nothing of A's.
      expect(b.ended).toBe(false);
      expect(b.updates).toHaveLength(1);
      const appendedB = advance(upstream, 'ex_org_b', 'workflow_failed', 1);
      await b.end();
      expect(b.eventIds).toEqual(appendedB);
      expect(b.updates.every((update) => update.execution.id === 'ex_org_b')).toBe(true);
      expect([...a.updates, ...a2.updates].every((update) => update.execution.id === 'ex_org_a')).toBe(true);
      expect([a, a2, b].every((watcher) => watcher.completed && watcher.errorCodes.length === 0)).toBe(true);
      await allStopped(harness);
    });

    it('resumes from a cursor with every later event exactly once, however appended, at most 100 per update', async () => {
      const { upstream } = harness;
      const id = 'ex_resume';
      putExecution(upstream, id, 'workflow_running', { eventCount: 5 });
      const first = watch(client(), id);
      await first.received(1);
      expect(first.updates[0]!.newEvents).toEqual([]);
      expect(first.updates[0]!.cursor).not.toBeNull();
      const live = advance(upstream, id, 'workflow_running', 3);
      await first.until((update) => update.newEvents.length > 0, 'the appended events');
      expect(first.eventIds).toEqual(live);
      const lastSeen = first.last!;
      const { createdAt: cursorCreatedAt } = lastSeen.newEvents.at(-1)!.node;
      // A cursor from newEvents, not the update's: the second of the three.
      const edgeCursor = lastSeen.newEvents[1]!.cursor;
      first.stop();
      await allStopped(harness);

      // While away: two events, one created before the cursor's event (appended later, so new), then 247 more.
      const away = [
        ...advance(upstream, id, 'workflow_running', 2),
        ...advance(upstream, id, 'workflow_running', eventsCreatedAt(upstream, id, 1, new Date(Date.parse(cursorCreatedAt) - 3_600_000).toISOString())),
        ...advance(upstream, id, 'workflow_waiting', 247),
      ];
      expect(away).toHaveLength(250);

      const resumed = watch(client(), id, lastSeen.cursor);
      const fromEdge = watch(client(), id, edgeCursor);
      await waitFor(() => resumed.eventIds.length >= away.length && fromEdge.eventIds.length >= away.length + 1, 'the events appended while away');
      expect(resumed.eventIds).toEqual(away);
      expect(fromEdge.eventIds).toEqual([live[2], ...away]);
      const sizes = resumed.updates.map((update) => update.newEvents.length);
      expect(sizes).toEqual([100, 100, 50]);
      for (const update of resumed.updates) expect(update.cursor).toBe(update.newEvents.at(-1)!.cursor);
      expect(fromEdge.updates.every((update) => update.newEvents.length <= 100)).toBe(true);

      // And on, live, to the end.
      const last = advance(upstream, id, 'workflow_succeeded', 2);
      await resumed.end();
      await fromEdge.end();
      expect([...first.eventIds, ...resumed.eventIds]).toEqual([...live, ...away, ...last]);
      expect(fromEdge.eventIds).toEqual([live[2], ...away, ...last]);
      expect(resumed.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
      await allStopped(harness);
    });

    it('gives one final update, then complete, for an execution already terminal', async () => {
      const { upstream } = harness;
      putExecution(upstream, 'ex_done', 'workflow_failed', { eventCount: 6 });
      const watcher = watch(client(), 'ex_done');
      await watcher.end();
      expect(watcher.completed).toBe(true);
      expect(watcher.results).toHaveLength(1);
      expect(watcher.updates[0]).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', newEvents: [], execution: { status: 'WORKFLOW_FAILED' } });
      expect(watcher.updates[0]!.cursor).not.toBeNull();
      expect(upstream.requestsFor('ex_done')).toHaveLength(1);

      // With a cursor (from `events`): the events after it, in the one final update.
      const page = await harness.query<{ execution: { events: { edges: Array<{ cursor: string; node: { id: string } }> } } }>(
        'query ($id: ID!) { execution(id: $id) { events(first: 2) { edges { cursor node { id } } } } }',
        { id: 'ex_done' },
      );
      const second = page.data!.execution.events.edges[1]!.cursor;
      const fromSecond = watch(client(), 'ex_done', second);
      await fromSecond.end();
      expect(fromSecond.results).toHaveLength(1);
      expect(fromSecond.updates[0]).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
      expect(fromSecond.eventIds).toEqual(upstream.get('ex_done')!.events.slice(2).map((event) => event.id));
      await allStopped(harness);
    });

    it('notes an odd value of a new event at its path in the update, and serves the rest', async () => {
      const { upstream } = harness;
      const record = putExecution(upstream, 'ex_odd_event', 'workflow_succeeded', { eventCount: 3 });
      upstream.put({ ...record, events: record.events.map((event, i) => (i === 1 ? { ...event, level: ['not', 'text'] as unknown as string } : event)) });
      const page = await harness.query<{ execution: { events: { edges: Array<{ cursor: string }> } } }>(
        'query ($id: ID!) { execution(id: $id) { events(first: 1) { edges { cursor } } } }',
        { id: 'ex_odd_event' },
      );
      const query = 'subscription ($id: ID!, $after: String) { executionUpdates(id: $id, eventsAfter: $after) { isFinal newEvents { node { id lvl: level } } } }';
      const watcher = new Recorder(client(), { id: 'ex_odd_event', after: page.data!.execution.events.edges[0]!.cursor }, query);
      await watcher.end();
      expect(watcher.results).toHaveLength(1);
      const [result] = watcher.results as Array<WatchResult & { extensions?: { warnings?: Array<{ path: unknown[]; code: string }> } }>;
      expect(result!.errors).toBeUndefined();
      expect(result!.data!.executionUpdates.newEvents.map((edge) => (edge.node as unknown as { lvl: unknown }).lvl)).toEqual([null, record.events[2]!.level]);
      expect(result!.extensions?.warnings?.map(({ path, code }) => ({ path, code }))).toEqual([
        { path: ['executionUpdates', 'newEvents', 0, 'node', 'lvl'], code: 'UNREADABLE_VALUE' },
      ]);
    });

    it("sees a field going from null to a number past a double's range (1e400) as a change: an update with its note", async () => {
      // Readings were compared by their JSON text, in which 1e400 (read as Infinity) and null are both `null`.
      const { upstream } = harness;
      const id = 'ex_past_double_change';
      const record = putExecution(upstream, id, 'workflow_running', { eventCount: 1 });
      const body = (startedAt: string) =>
        JSON.stringify({ code: 200, data: { execution: { ...record.execution, startedAt: '<startedAt>' }, events: record.events } }).replace('"<startedAt>"', startedAt);
      upstream.setFault(id, { kind: 'body', body: body('null') });
      const query = 'subscription ($id: ID!) { executionUpdates(id: $id) { execution { startedAt } } }';
      const watcher = new Recorder(client(), { id }, query);
      await watcher.received(1);
      upstream.setFault(id, { kind: 'body', body: body('1e400') });
      await watcher.received(2);
      const [, changed] = watcher.results as Array<WatchResult & { extensions?: { warnings?: Array<{ path: unknown[]; code: string }> } }>;
      expect(changed!.data).toEqual({ executionUpdates: { execution: { startedAt: null } } });
      expect(changed!.extensions?.warnings?.map(({ path, code }) => ({ path, code }))).toEqual([{ path: ['executionUpdates', 'execution', 'startedAt'], code: 'UNREADABLE_VALUE' }]);
      // And back: a change too, with no note.
      upstream.setFault(id, { kind: 'body', body: body('null') });
      await watcher.received(3);
      expect((watcher.results[2] as { extensions?: unknown }).extensions).toBeUndefined();
      watcher.stop();
      await allStopped(harness);
    });

    it('refuses @skip and @include on the root field (validation), and a variable that does not fit its type (BAD_REQUEST), before any upstream call', async () => {
      const { upstream } = harness;
      putExecution(upstream, 'ex_conditional', 'workflow_running');
      // Counted for this test's execution only: the previous test's last poll, aborted as its watch ended, may still reach upstream.
      const calls = () => upstream.requestsFor('ex_conditional').length;
      const before = calls();
      const root = 'executionUpdates(id: "ex_conditional")';
      for (const [query, variables, code] of [
        [`subscription { ${root} @skip(if: true) { isFinal } }`, {}, 'GRAPHQL_VALIDATION_FAILED'],
        [`subscription ($s: Boolean!) { ${root} @skip(if: $s) { isFinal } }`, { s: false }, 'GRAPHQL_VALIDATION_FAILED'],
        [`subscription { ...F } fragment F on Subscription { ${root} @include(if: false) { isFinal } }`, {}, 'GRAPHQL_VALIDATION_FAILED'],
        [`subscription { ... @include(if: true) { ${root} { isFinal } } }`, {}, 'GRAPHQL_VALIDATION_FAILED'],
        ['subscription ($id: ID!) { executionUpdates(id: $id) { isFinal } }', { id: { x: 1 } }, 'BAD_REQUEST'],
      ] as const) {
        expect(await refusalCodes(new Recorder(client(), variables, query)), query).toEqual([code]);
      }
      expect(calls() - before).toBe(0);
      expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
      // Below the root field, the directives are the client's to use.
      const nested = new Recorder(client(), {}, `subscription { ${root} { isFinal @skip(if: true) execution { id @include(if: true) } } }`);
      await nested.received(1);
      expect(nested.results[0]).toEqual({ data: { executionUpdates: { execution: { id: 'ex_conditional' } } } });
    });

    // The watch moved past the events of an update before its selection ran: refused as a whole (here more events
    // across newEvents' executions than MAX_EVENTS_PER_REQUEST), the update reached the client with no cursor while
    // the watch went on past those events, lost to it with nothing saying so.
    it('ends a watch after an update refused as a whole, so the client subscribes again from its last cursor and loses no event', async () => {
      const { upstream } = harness;
      putExecution(upstream, 'ex_refused_update', 'workflow_running', { eventCount: 1 });
      const nestedEvents = `subscription ($id: ID!, $after: String) {
        executionUpdates(id: $id, eventsAfter: $after) { cursor newEvents { node { id execution { id events(first: 30) { nodes { id } } } } } }
      }`;
      const watcher = new Recorder(client(), { id: 'ex_refused_update' }, nestedEvents);
      await watcher.received(1);
      const before = watcher.updates[0]!.cursor!;
      // 100 events (one update's worth), each selecting a page of 30: 3,000 events in one result.
      const appended = advance(upstream, 'ex_refused_update', 'workflow_running', 100);
      await watcher.end();
      expect(watcher.failure).toBeUndefined();
      expect(watcher.results).toHaveLength(2);
      expect(watcher.results[1]!.data ?? null).toBeNull();
      expect(watcher.errorCodes).toEqual(['BAD_USER_INPUT']);
      await allStopped(harness);
      // From the last cursor it had, with a selection that fits, the client gets every event it missed.
      const resumed = new Recorder(client(), { id: 'ex_refused_update', after: before }, WATCH);
      await resumed.received(1);
      expect(resumed.eventIds).toEqual(appended);
      resumed.stop();
      await allStopped(harness);
    });

    it('refuses bad arguments before any upstream call', async () => {
      const { upstream } = harness;
      // A real cursor of another execution, and the same cursor edited.
      putExecution(upstream, 'ex_cursor_source', 'workflow_succeeded');
      const source = watch(client(), 'ex_cursor_source');
      await source.end();
      const foreign = source.updates[0]!.cursor!;
      putExecution(upstream, 'ex_target', 'workflow_running');
      // Any call but a late poll of an earlier watch, aborted as it ended, which may still reach upstream.
      const earlier = new Set(['/v1/executions/ex_conditional', '/v1/executions/ex_cursor_source']);
      const calls = () => upstream.requests.filter((request) => !earlier.has(request.path)).length;
      const before = calls();

      for (const [id, after] of [
        ['bad id!', undefined],
        ['x'.repeat(65), undefined],
        ['ex_target', foreign],
        ['ex_target', tampered(foreign)],
        ['ex_target', foreign.slice(0, -3)],
        ['ex_target', 'not-a-cursor'],
      ] as const) {
        const refused = watch(client(), id, after);
        await expectRefused(refused, 'BAD_USER_INPUT');
      }
      expect(calls() - before).toBe(0);
      expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
    });

    it('ends a watch at LIVE_MAX_WATCH_MS with WATCH_TIME_LIMIT, and resuming from its cursor misses nothing', () =>
      withHarness({ LIVE_MAX_WATCH_MS: '1000' }, async (own) => {
        const { upstream } = own;
        const id = 'ex_long';
        putExecution(upstream, id, 'workflow_running');
        const started = performance.now();
        const first = new Recorder(clients.for(own), { id });
        await first.received(1);
        // Appended during the watch: delivered before the limit, or left for the resumed watch (a busy machine may be slow).
        const during = advance(upstream, id, 'workflow_running', 4);
        // Ends at the limit (1 s): not before, and not long after (the bound leaves room for a busy machine).
        await first.end(5_000);
        expect(performance.now() - started).toBeGreaterThanOrEqual(950);
        expect(first.completed).toBe(true);
        const final = first.last!;
        expect(final).toMatchObject({ isFinal: true, endReason: 'WATCH_TIME_LIMIT', newEvents: [], execution: { status: 'WORKFLOW_RUNNING' } });
        expect(first.updates.slice(0, -1).every((update) => !update.isFinal)).toBe(true);
        // The final update's cursor is where the watch stood: after the last event it delivered.
        const delivered = first.updates.flatMap((update) => update.newEvents);
        expect(final.cursor).toBe(delivered.length > 0 ? delivered.at(-1)!.cursor : first.updates[0]!.cursor);
        await allStopped(own);

        const away = advance(upstream, id, 'workflow_waiting', 3);
        const resumed = new Recorder(clients.for(own), { id, after: final.cursor });
        await resumed.received(1);
        const last = advance(upstream, id, 'workflow_succeeded', 1);
        await resumed.end();
        expect(resumed.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
        expect([...first.eventIds, ...resumed.eventIds]).toEqual([...during, ...away, ...last]);
        await allStopped(own);
      }));

    it('ends a watch upstream never answered at LIVE_MAX_WATCH_MS too: UPSTREAM_UNAVAILABLE, and its poller stops', () =>
      withHarness({ LIVE_MAX_WATCH_MS: '1000', UPSTREAM_MAX_ATTEMPTS: '1', LIVE_OUTAGE_NOTICE_MS: '100' }, async (own) => {
        const { upstream } = own;
        const id = 'ex_never_answered';
        putExecution(upstream, id, 'workflow_running');
        upstream.setFault(id, { kind: 'status', status: 503 });
        const started = performance.now();
        const watcher = new Recorder(clients.for(own), { id });
        await watcher.end(5_000);
        expect(performance.now() - started).toBeGreaterThanOrEqual(950);
        expect(watcher.updates).toEqual([]);
        // The outage notice, then the error the watch ends with.
        expect(new Set(watcher.errorCodes)).toEqual(new Set(['UPSTREAM_UNAVAILABLE']));
        expect(JSON.stringify(watcher.results.at(-1))).toMatch(/time limit/);
        await allStopped(own);
        const calls = upstream.requestsFor(id).length;
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(upstream.requestsFor(id)).toHaveLength(calls);
      }));

    describe('upstream faults mid-stream', () => {
      let faulty: Harness;
      beforeAll(async () => {
        // A hang is given up after 500 ms, and not retried.
        faulty = await startLiveHarness(lane, { UPSTREAM_TIMEOUT_MS: '500', UPSTREAM_MAX_ATTEMPTS: '1' });
      });
      afterAll(() => faulty.close());

      it.each<[string, Fault]>([
        ['500s', { kind: 'status', status: 500 }],
        // Upstream gave up waiting for the request (086a5ca): transient, as a 503, not a status that ends the watch.
        ['408s', { kind: 'status', status: 408 }],
        // Misdirected (RFC 9110 §15.5.20): asked again, another connection may serve it.
        ['421s', { kind: 'status', status: 421 }],
        ['a hang', { kind: 'hang' }],
      ])('%s: an update carries UPSTREAM_UNAVAILABLE, the stream goes on and recovers', async (name, fault) => {
        const { upstream } = faulty;
        const id = `ex_outage_${name.replace(/\W/g, '')}`;
        putExecution(upstream, id, 'workflow_running');
        const watcher = new Recorder(clients.for(faulty), { id });
        await watcher.received(1);
        upstream.setFault(id, fault);
        const during = advance(upstream, id, 'workflow_running', 2);
        await waitFor(() => watcher.errorCodes.length > 0 || watcher.ended, () => `an outage notice; so far ${watcher.describe()}`, 5_000);
        const notice = watcher.results.find((result) => result.errors?.length)!;
        expect(notice.data ?? null).toBeNull();
        expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
        expect(watcher.ended).toBe(false);

        upstream.setFault(id, undefined);
        await watcher.until((update) => update.newEvents.length > 0, 'the update after recovery');
        const after = advance(upstream, id, 'workflow_succeeded', 1);
        await watcher.end();
        expect(watcher.completed).toBe(true);
        expect(watcher.eventIds).toEqual([...during, ...after]);
        // Told once per outage.
        expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
        expect(watcher.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
        await allStopped(faulty);
      });

      it('a watch that joins during an outage gets the last reading and the notice at once', async () => {
        const { upstream } = faulty;
        const id = 'ex_outage_joined';
        putExecution(upstream, id, 'workflow_running');
        const first = new Recorder(clients.for(faulty), { id });
        await first.received(1);
        upstream.setFault(id, { kind: 'status', status: 500 });
        await waitFor(() => first.errorCodes.length > 0, () => `an outage notice; so far ${first.describe()}`, 5_000);
        const joined = new Recorder(clients.for(faulty), { id });
        // Its poller gives each notice once per outage: a joiner not told now would hear of it only when it ended.
        await joined.received(2, 1_000);
        expect(joined.updates).toHaveLength(1);
        expect(joined.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
        upstream.setFault(id, undefined);
        first.stop();
        joined.stop();
        await allStopped(faulty);
      });

      it('after an outage notice, the first reading once upstream answers again is an update without errors though nothing changed; later unchanged polls push nothing', async () => {
        const { upstream } = faulty;
        const id = 'ex_outage_unchanged';
        putExecution(upstream, id, 'workflow_running');
        const watcher = new Recorder(clients.for(faulty), { id });
        await watcher.received(1);
        const [first] = watcher.updates;
        upstream.setFault(id, { kind: 'status', status: 500 });
        await waitFor(() => watcher.errorCodes.length > 0 || watcher.ended, () => `an outage notice; so far ${watcher.describe()}`, 5_000);
        expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
        const told = watcher.results.length;

        // Upstream heals with the very data it had: only the recovery itself is news, and the page must hear it.
        upstream.setFault(id, undefined);
        await waitFor(() => watcher.results.length > told, () => `an update once upstream answers again; so far ${watcher.describe()}`, 5_000);
        const recovered = watcher.results[told]!;
        expect(recovered.errors).toBeUndefined();
        expect(recovered.data?.executionUpdates).toMatchObject({ isFinal: false, endReason: null, newEvents: [], cursor: first!.cursor, execution: first!.execution });

        // Once: the polls after it, unchanged, push nothing more.
        const polled = upstream.requestsFor(id).length;
        await waitFor(() => upstream.requestsFor(id).length >= polled + 3, 'three more polls');
        expect(watcher.results, watcher.describe()).toHaveLength(told + 1);
        expect(watcher.ended).toBe(false);
        watcher.stop();
        await allStopped(faulty);
      });

      it('a 429 whose Retry-After is longer than the gateway waits: no poll until it has passed, a notice at once worded for a stream, then updates resume', () =>
        // Backoff capped at 100 ms: without honouring Retry-After the poller would call about 20 times in its 2 s.
        withHarness({ UPSTREAM_RETRY_AFTER_CAP_MS: '0', UPSTREAM_MAX_ATTEMPTS: '1', LIVE_OUTAGE_NOTICE_MS: '1000' }, async (own) => {
          const { upstream } = own;
          const id = 'ex_rate_limited';
          putExecution(upstream, id, 'workflow_running');
          const watcher = new Recorder(clients.for(own), { id });
          await watcher.received(1);
          const before = upstream.requestsFor(id).length;
          upstream.setFault(id, { kind: 'status', status: 429, headers: { 'retry-after': '2' } }, 1);
          await waitFor(() => upstream.requestsFor(id).length > before, 'the rate-limited poll');
          const limitedAt = upstream.requestsFor(id)[before]!.at;
          // Told before the pause ends (LIVE_OUTAGE_NOTICE_MS is shorter than the pause), not at its end.
          await waitFor(() => watcher.errorCodes.length > 0, () => `the outage notice; so far ${watcher.describe()}`, 5_000);
          expect(performance.now() - limitedAt).toBeLessThan(1_900);
          const notice = watcher.results.find((result) => result.errors?.length)!.errors![0]!;
          expect(notice.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 429, retryAfterMs: 2_000 });
          expect(notice.message).toMatch(/no calls for 2 s/);
          // A stream polls again by itself: nothing tells its watcher to retry.
          expect(notice.message).not.toMatch(/retry after/i);

          const during = advance(upstream, id, 'workflow_running', 2);
          await watcher.until((update) => update.newEvents.length > 0, 'the update after the pause');
          const calls = upstream.requestsFor(id);
          expect(calls[before + 1]!.at - limitedAt, `upstream calls at ${calls.slice(before).map((call) => Math.round(call.at - limitedAt)).join(', ')} ms after the 429`).toBeGreaterThanOrEqual(1_950);
          const after = advance(upstream, id, 'workflow_succeeded', 1);
          await watcher.end();
          expect(watcher.eventIds).toEqual([...during, ...after]);
          expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
          await allStopped(own);
        }));

      it("a 429 with Retry-After on one of the caller's queries pauses the caller's watches too: no poll until it has passed, then updates resume", () =>
        withHarness({ UPSTREAM_RETRY_AFTER_CAP_MS: '0', UPSTREAM_MAX_ATTEMPTS: '1', LIVE_OUTAGE_NOTICE_MS: '5000' }, async (own) => {
          const { upstream } = own;
          const id = 'ex_caller_paused';
          putExecution(upstream, id, 'workflow_running');
          putExecution(upstream, 'ex_caller_limited', 'workflow_running');
          const watcher = new Recorder(clients.for(own), { id });
          await watcher.received(1);
          upstream.setFault('ex_caller_limited', { kind: 'status', status: 429, headers: { 'retry-after': '1' } }, 1);
          const limited = await own.query('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_caller_limited' });
          // The gateway paused the caller before it answered: polls sent from now on must wait the pause out.
          const answeredAt = performance.now();
          const limitedAt = upstream.requestsFor('ex_caller_limited')[0]!.at;
          expect(limited.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 429, retryAfterMs: 1_000 });
          // A poll sent before the pause began may still be on its way when the answer is read (CI saw one
          // arrive 17 ms after the 429): polls arriving more than 100 ms after the answer were sent in the pause.
          // The new event comes only after those 100 ms, so a poll still on its way cannot carry it (one did, in CI).
          await sleep(100);
          const during = advance(upstream, id, 'workflow_running', 1);
          await watcher.until((update) => update.newEvents.length > 0, 'the update after the pause', 5_000);
          const polls = upstream.requestsFor(id).filter((call) => call.at > answeredAt + 100);
          // Polled every 25 ms otherwise; the caller's pause holds for its poller as for its queries.
          expect(polls[0]!.at - limitedAt, `polls at ${polls.map((call) => Math.round(call.at - limitedAt)).join(', ')} ms after the 429`).toBeGreaterThanOrEqual(950);
          expect(watcher.eventIds).toEqual(during);
          watcher.stop();
          await allStopped(own);
        }));

      it("a watch started during the caller's pause counts the outage from the 429 that began it: the notice comes at once when the two together reach LIVE_OUTAGE_NOTICE_MS", () =>
        withHarness({ UPSTREAM_RETRY_AFTER_CAP_MS: '0', UPSTREAM_MAX_ATTEMPTS: '1', LIVE_OUTAGE_NOTICE_MS: '2400' }, async (own) => {
          const { upstream } = own;
          const id = 'ex_joins_pause';
          putExecution(upstream, id, 'workflow_running');
          putExecution(upstream, 'ex_pauses_caller', 'workflow_running');
          upstream.setFault('ex_pauses_caller', { kind: 'status', status: 429, headers: { 'retry-after': '3' } }, 1);
          await own.query('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_pauses_caller' });
          // 1.2 s of the pause gone, 1.8 left: the outage reaches 2.4 s before the pause ends, though the watch
          // alone would wait only 1.8 s and never reach it. Seconds, not a pause of 1 s and a notice at 800 ms: on a
          // loaded machine the watch began past 800 ms, or past the pause, and its first result was the reading.
          await sleep(1_200);
          const watcher = new Recorder(clients.for(own), { id });
          // The notice first, before any reading: counted from the watch's own start, it would come with none.
          await watcher.received(1, 5_000);
          expect(watcher.results[0]!.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
          await watcher.received(2, 5_000);
          expect(watcher.updates).toHaveLength(1);
          watcher.stop();
          await allStopped(own);
        }));

      it('an outage notice says the pause upstream asked for, and retryAfterMs when the next poll comes, which the backoff may make later', () =>
        // The first failure's backoff is twice the active interval (1,200 ms), longer than the 1 s asked.
        withHarness({ UPSTREAM_RETRY_AFTER_CAP_MS: '0', UPSTREAM_MAX_ATTEMPTS: '1', LIVE_POLL_ACTIVE_MS: '600', LIVE_POLL_MAX_BACKOFF_MS: '5000', LIVE_OUTAGE_NOTICE_MS: '500' }, async (own) => {
          const { upstream } = own;
          const id = 'ex_backoff_longer';
          putExecution(upstream, id, 'workflow_running');
          const watcher = new Recorder(clients.for(own), { id });
          await watcher.received(1);
          upstream.setFault(id, { kind: 'status', status: 429, headers: { 'retry-after': '1' } }, 1);
          await waitFor(() => watcher.errorCodes.length > 0, () => `the outage notice; so far ${watcher.describe()}`, 5_000);
          const notice = watcher.results.find((result) => result.errors?.length)!.errors![0]!;
          expect(notice.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 429, retryAfterMs: 1_200 });
          expect(notice.message).toMatch(/no calls for 1 s; .* polls again in 1\.2 s/);
          watcher.stop();
          await allStopped(own);
        }));

      it('the outage notice comes once the outage has lasted LIVE_OUTAGE_NOTICE_MS, between two failed polls the backoff spaced past it', () =>
        // The first failure's backoff is twice the active interval (2 s): a notice given only at a failed poll came then, not at 500 ms.
        withHarness({ UPSTREAM_MAX_ATTEMPTS: '1', LIVE_POLL_ACTIVE_MS: '1000', LIVE_POLL_MAX_BACKOFF_MS: '10000', LIVE_OUTAGE_NOTICE_MS: '500' }, async (own) => {
          const { upstream } = own;
          const id = 'ex_notice_between_polls';
          putExecution(upstream, id, 'workflow_running');
          const watcher = new Recorder(clients.for(own), { id });
          await watcher.received(1);
          const before = upstream.requestsFor(id).length;
          upstream.setFault(id, { kind: 'status', status: 500 });
          await waitFor(() => upstream.requestsFor(id).length > before, 'the first failed poll', 5_000);
          const failedAt = upstream.requestsFor(id)[before]!.at;
          await waitFor(() => watcher.errorCodes.length > 0, () => `the outage notice; so far ${watcher.describe()}`, 5_000);
          const noticedAfterMs = performance.now() - failedAt;
          // Told before the next poll, which the backoff put 2 s after the first failure, and not before the notice time.
          expect(upstream.requestsFor(id), `notice ${Math.round(noticedAfterMs)} ms after the first failed poll`).toHaveLength(before + 1);
          expect(noticedAfterMs).toBeGreaterThanOrEqual(450);
          expect(noticedAfterMs).toBeLessThan(1_500);
          expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
          expect(watcher.ended).toBe(false);

          // Upstream back before the next poll: the watch goes on from where it was.
          upstream.setFault(id, undefined);
          const after = advance(upstream, id, 'workflow_succeeded', 1);
          await watcher.end();
          expect(watcher.eventIds).toEqual(after);
          expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
          await allStopped(own);
        }));

      it('a reading whose events are no list, or fewer than before: the watch keeps its events, its cursor stays one to resume from, later events come once', async () => {
        const { upstream } = faulty;
        const id = 'ex_odd_events';
        putExecution(upstream, id, 'workflow_running');
        const watcher = new Recorder(clients.for(faulty), { id });
        await watcher.received(1);
        const cursor = watcher.last!.cursor;
        const stored = upstream.get(id)!;
        const envelope = (status: string, events: unknown) =>
          JSON.stringify({ code: 200, data: { execution: { ...stored.execution, status, updatedAt: '2026-03-01T14:00:00.000Z' }, events, message: 'ok' }, message: 'ok', requestId: 'odd' });
        // `events` left out: the status change comes, the events do not go, and no note says none are served.
        const counting = new Recorder(clients.for(faulty), { id }, COUNTING_WATCH);
        await counting.received(1);
        upstream.setFault(id, { kind: 'body', body: envelope('workflow_queued', undefined) });
        await watcher.until((update) => update.execution.status === 'WORKFLOW_QUEUED', 'the update without events');
        expect(watcher.last).toMatchObject({ newEvents: [], cursor });
        await counting.until((update) => update.execution.status === 'WORKFLOW_QUEUED', 'the counting update without events');
        expect((counting.last!.execution as { events?: { totalCount: number } }).events?.totalCount).toBe(stored.events.length);
        expect(counting.results.at(-1)!.extensions?.warnings, counting.describe()).toBeUndefined();
        counting.stop();
        // `events` is no list: the same.
        upstream.setFault(id, { kind: 'body', body: envelope('workflow_waiting', 'not a list') });
        await watcher.until((update) => update.execution.status === 'WORKFLOW_WAITING', 'the update with events that are no list');
        expect(watcher.last).toMatchObject({ newEvents: [], cursor });
        // Fewer events than before (upstream only appends): the same.
        upstream.setFault(id, { kind: 'body', body: envelope('workflow_running', stored.events.slice(0, 1)) });
        await watcher.until((update) => update.execution.status === 'WORKFLOW_RUNNING' && update !== watcher.updates[0], 'the update with fewer events');
        expect(watcher.last).toMatchObject({ newEvents: [], cursor });
        // A watch resumed from that cursor is accepted and gets what follows it.
        const resumed = new Recorder(clients.for(faulty), { id, after: cursor });
        upstream.setFault(id, undefined);
        await resumed.received(1);
        expect(resumed.errorCodes).toEqual([]);
        const after = advance(upstream, id, 'workflow_succeeded', 2);
        await watcher.end();
        await resumed.end();
        expect(watcher.eventIds).toEqual(after);
        expect(resumed.eventIds).toEqual(after);
        expect(watcher.errorCodes).toEqual([]);
        await allStopped(faulty);
      });

      it.each([
        ['no list', (events: unknown[]) => ({ oops: events.length })],
        ['no events at all', () => undefined],
        ['fewer events than the cursor names (a lagging upstream replica)', (events: unknown[]) => events.slice(0, 1)],
      ])('a watch resumed while the first reading holds %s keeps its place, and gets every later event once', async (name, odd) => {
        const { upstream } = faulty;
        const id = `ex_resume_${name.startsWith('no') ? `unlisted_${name.length}` : 'lagging'}`;
        putExecution(upstream, id, 'workflow_running', { eventCount: 4 });
        const cursor = (await eventCursors(faulty, id))[2]!;
        const stored = upstream.get(id)!;
        upstream.setFault(id, {
          kind: 'body',
          body: envelopeOf(stored.execution, odd(stored.events)),
        });
        const resumed = new Recorder(clients.for(faulty), { id, after: cursor });
        await resumed.received(1);
        expect(resumed.errorCodes).toEqual([]);
        expect(resumed.last).toMatchObject({ newEvents: [], cursor });
        upstream.setFault(id, undefined);
        const after = advance(upstream, id, 'workflow_succeeded', 2);
        await resumed.end();
        expect(resumed.errorCodes, resumed.describe()).toEqual([]);
        expect(resumed.eventIds).toEqual([stored.events[3]!.id, ...after]);
        expect(resumed.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
        await allStopped(faulty);
      });

      /** A watch of `id` resumed from `after`, to its end, while upstream answers with `body`. */
      async function watchedToTheEnd(id: string, body: string, after: string): Promise<Recorder> {
        faulty.upstream.setFault(id, { kind: 'body', body });
        try {
          const resumed = new Recorder(clients.for(faulty), { id, after });
          await resumed.end();
          return resumed;
        } finally {
          faulty.upstream.setFault(id, undefined);
        }
      }

      it('a watch resumed from the start of the list, on an execution that never had events and finishes without an events list, ends normally', async () => {
        const { upstream } = faulty;
        const id = 'ex_resume_start_unlisted_end';
        putExecution(upstream, id, 'workflow_running', { eventCount: 0 });
        const stored = upstream.get(id)!;
        const resumed = await watchedToTheEnd(id, envelopeOf({ ...stored.execution, status: 'workflow_succeeded' }, undefined), encodeStartCursor(id));
        expect(resumed.errorCodes, resumed.describe()).toEqual([]);
        expect(resumed.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', newEvents: [] });
        await allStopped(faulty);
      });

      it.each([
        ['no list of events', { oops: 1 }],
        ['no events at all', undefined],
      ])('a resumed watch on a finished execution whose reading has %s ends with UPSTREAM_BAD_RESPONSE, not as if nothing came after the cursor', async (name, events) => {
        const { upstream } = faulty;
        const id = `ex_resume_unlisted_end_${name.length}`;
        putExecution(upstream, id, 'workflow_running', { eventCount: 4 });
        const cursor = (await eventCursors(faulty, id))[1]!;
        const stored = upstream.get(id)!;
        const resumed = await watchedToTheEnd(id, envelopeOf({ ...stored.execution, status: 'workflow_succeeded' }, events), cursor);
        expect(resumed.errorCodes, resumed.describe()).toEqual(['UPSTREAM_BAD_RESPONSE']);
        expect(resumed.updates.filter((update) => update.isFinal)).toEqual([]);
        await allStopped(faulty);
      });

      it.each([
        ['no list', { oops: 1 }],
        ['no events at all', undefined],
        ['events null', null],
      ])('a watch whose execution finishes in a reading with %s ends with UPSTREAM_BAD_RESPONSE, not as if no event came since its cursor', async (name, events) => {
        const { upstream } = faulty;
        const id = `ex_unlisted_end_${name.replaceAll(' ', '_')}`;
        putExecution(upstream, id, 'workflow_running', { eventCount: 2 });
        const watcher = new Recorder(clients.for(faulty), { id });
        await watcher.received(1);
        // Upstream appends and finishes, but its last answer has no list: the appended events are in no reading.
        const stored = upstream.get(id)!;
        const execution = { ...stored.execution, status: 'workflow_succeeded', updatedAt: '2026-03-01T15:00:00.000Z' };
        upstream.setFault(id, { kind: 'body', body: envelopeOf(execution, events) });
        try {
          await watcher.end();
          expect(watcher.errorCodes, watcher.describe()).toEqual(['UPSTREAM_BAD_RESPONSE']);
          expect(watcher.updates.filter((update) => update.isFinal)).toEqual([]);
        } finally {
          upstream.setFault(id, undefined);
        }
        await allStopped(faulty);
      });

      it('a resumed watch whose cursor names an event no reading holds ends with BAD_USER_INPUT after a few readings', async () => {
        const { upstream } = faulty;
        const id = 'ex_resume_gone';
        putExecution(upstream, id, 'workflow_running', { eventCount: 4 });
        const cursor = (await eventCursors(faulty, id))[3]!;
        const stored = upstream.get(id)!;
        // Every reading from now on lacks the event, and each differs from the last (a new updatedAt), as readings that move on do.
        let reading = 0;
        const moveOn = () => {
          reading++;
          const execution = { ...stored.execution, updatedAt: new Date(Date.UTC(2026, 2, 1, 14, 0, reading)).toISOString() };
          upstream.setFault(id, { kind: 'body', body: envelopeOf(execution, stored.events.slice(0, 2)) });
        };
        moveOn();
        const timer = setInterval(moveOn, 10);
        try {
          const resumed = new Recorder(clients.for(faulty), { id, after: cursor });
          await resumed.end();
          expect(resumed.errorCodes).toEqual(['BAD_USER_INPUT']);
          expect(resumed.updates.map((update) => update.cursor)).toEqual([cursor]);
        } finally {
          clearInterval(timer);
          upstream.setFault(id, undefined);
        }
        await allStopped(faulty);
      });

      it.each([
        [404, 'NOT_FOUND'],
        [401, 'UNAUTHENTICATED'],
        [403, 'FORBIDDEN'],
        // Upstream refused the request itself: asked again it refuses the same (a query gets BAD_USER_INPUT too).
        [400, 'BAD_USER_INPUT'],
      ])('a %i after data: one error %s, then complete', async (status, code) => {
        const { upstream } = faulty;
        const id = `ex_gone_${status}`;
        putExecution(upstream, id, 'workflow_running');
        const watcher = new Recorder(clients.for(faulty), { id });
        await watcher.received(1);
        upstream.setFault(id, { kind: 'status', status });
        await watcher.end();
        expect(watcher.completed, watcher.describe()).toBe(true);
        expect(watcher.results).toHaveLength(2);
        expect(watcher.results[1]!.data ?? null).toBeNull();
        expect(watcher.errorCodes).toEqual([code]);
        // Placed on the field, as every field error is (GraphQL spec §7.1.2), not on the operation.
        expect(watcher.results[1]!.errors![0]).toMatchObject({ path: ['executionUpdates'], locations: [{ line: 3, column: 5 }] });
        await allStopped(faulty);
        const calls = upstream.requestsFor(id).length;
        await sleep(4 * POLL_MS);
        expect(upstream.requestsFor(id)).toHaveLength(calls);
      });

      it.each([410, 418, 422])('a %i after data, a status the contract does not name: the query\'s UPSTREAM_BAD_RESPONSE, then complete, no more polls', async (status) => {
        const { upstream } = faulty;
        const id = `ex_unnamed_${status}`;
        putExecution(upstream, id, 'workflow_running');
        const watcher = new Recorder(clients.for(faulty), { id });
        await watcher.received(1);
        upstream.setFault(id, { kind: 'status', status, headers: { 'x-request-id': `req-${status}` } });
        await watcher.end(5_000);
        expect(watcher.completed, watcher.describe()).toBe(true);
        expect(watcher.results).toHaveLength(2);
        expect(watcher.results[1]!.data ?? null).toBeNull();
        const ended = watcher.results[1]!.errors![0]!;
        // What a query of the execution gets from the same answer, extensions included.
        const queried = await faulty.query('query ($id: ID!) { execution(id: $id) { id } }', { id });
        expect(queried.errors![0]!.extensions).toEqual({ code: 'UPSTREAM_BAD_RESPONSE', upstreamStatus: status, upstreamRequestId: `req-${status}` });
        expect(ended.extensions).toEqual(queried.errors![0]!.extensions);
        expect(ended.message).toBe(queried.errors![0]!.message);
        await allStopped(faulty);
        // One poll got the answer, and the query one call of its own: the watch polls it no more.
        const calls = upstream.requestsFor(id).length;
        await sleep(4 * POLL_MS);
        expect(upstream.requestsFor(id)).toHaveLength(calls);
      });
    });

    describe('bounds', () => {
      it('LIVE_MAX_SUBSCRIPTIONS_PER_CALLER refuses a caller\'s next watch until one ends', () =>
        withHarness({ LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '2', METRICS: 'api' }, async (own) => {
          putExecution(own.upstream, 'ex_bound', 'workflow_running', { organizationId: 'org_a' });
          const held = [new Recorder(clients.for(own, AUTH_A), { id: 'ex_bound' }), new Recorder(clients.for(own, AUTH_A), { id: 'ex_bound' })];
          await waitFor(() => held.every((watcher) => watcher.updates.length >= 1), 'two watches');
          const third = new Recorder(clients.for(own, AUTH_A), { id: 'ex_bound' });
          await expectRefused(third, 'TOO_MANY_SUBSCRIPTIONS');
          // The caller's own doing, which no wait changes: final, with nothing to retry after.
          expect(third.results[0]!.errors![0]!.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS' });
          // Which bound, for the operator: the error's code alone does not say.
          expect(await boundsReached(own)).toEqual(reachedOnce('caller_subscriptions'));
          // Another caller is not bound by A's watches.
          const other = new Recorder(clients.for(own, AUTH_A2), { id: 'ex_bound' });
          await other.received(1);
          expect(other.updates).toHaveLength(1);
          held[0]!.stop();
          await waitFor(() => own.instance.live.counts.subscriptions === 2, 'the stopped watch to be released');
          const again = new Recorder(clients.for(own, AUTH_A), { id: 'ex_bound' });
          await again.received(1);
          expect(again.updates).toHaveLength(1);
        }));

      it('LIVE_MAX_SUBSCRIPTIONS refuses any next watch until one ends', () =>
        withHarness({ LIVE_MAX_SUBSCRIPTIONS: '2', METRICS: 'api' }, async (own) => {
          putExecution(own.upstream, 'ex_bound', 'workflow_running', { organizationId: 'org_a' });
          const held = [new Recorder(clients.for(own, AUTH_A), { id: 'ex_bound' }), new Recorder(clients.for(own, AUTH_A2), { id: 'ex_bound' })];
          await waitFor(() => held.every((watcher) => watcher.updates.length >= 1), 'two watches');
          const full = new Recorder(clients.for(own, AUTH), { id: 'ex_demo_4' });
          await expectRefused(full, 'TOO_MANY_SUBSCRIPTIONS');
          // The replica is full for now: another, or this one once a watch ends, may take it (RETRY_AFTER_MS.full).
          expect(full.results[0]!.errors![0]!.message).toContain('at most 2 subscriptions per process. This is temporary');
          expect(full.results[0]!.errors![0]!.extensions!.retryAfterMs).toBeGreaterThanOrEqual(5_000);
          expect(full.results[0]!.errors![0]!.extensions!.retryAfterMs).toBeLessThan(10_000);
          expect(own.upstream.requestsFor('ex_demo_4')).toHaveLength(0);
          expect(await boundsReached(own)).toEqual(reachedOnce('subscriptions'));
          held[1]!.stop();
          await waitFor(() => own.instance.live.counts.subscriptions === 1, 'the stopped watch to be released');
          const again = new Recorder(clients.for(own, AUTH), { id: 'ex_demo_4' });
          await again.received(1);
          expect(again.updates).toHaveLength(1);
        }));

      it('LIVE_MAX_POLLERS refuses a watch of one more execution until a poller stops, not more watches of a polled one', () =>
        // The process's bound, whoever watches: one caller may hold every poller (a caller's share: test/caller-shares.test.ts).
        withHarness({ LIVE_MAX_POLLERS: '2', CALLER_SHARE_PERCENT: '100', METRICS: 'api' }, async (own) => {
          const held = [new Recorder(clients.for(own), { id: 'ex_demo_3' }), new Recorder(clients.for(own), { id: 'ex_demo_4' })];
          await waitFor(() => held.every((watcher) => watcher.updates.length >= 1), 'two watches');
          const full = new Recorder(clients.for(own), { id: 'ex_demo_5' });
          await expectRefused(full, 'TOO_MANY_SUBSCRIPTIONS');
          expect(full.results[0]!.errors![0]!.message).toContain('at most 2 watched executions per process. This is temporary');
          expect(full.results[0]!.errors![0]!.extensions!.retryAfterMs).toBeGreaterThanOrEqual(5_000);
          expect(own.upstream.requestsFor('ex_demo_5')).toHaveLength(0);
          expect(await boundsReached(own)).toEqual(reachedOnce('pollers'));
          // A poller already running takes more watchers.
          const more = new Recorder(clients.for(own), { id: 'ex_demo_3' });
          await more.received(1);
          expect(more.updates).toHaveLength(1);
          held[1]!.stop();
          await waitFor(() => own.instance.live.counts.pollers === 1, 'the stopped poller to be released');
          const again = new Recorder(clients.for(own), { id: 'ex_demo_5' });
          await again.received(1);
          expect(again.updates).toHaveLength(1);
        }));

      it('LIVE_MAX_UNREAD_SUBSCRIPTIONS refuses one more watch upstream has never answered, not a watch of an execution read already', () =>
        // During an outage upstream cannot tell a made-up token from a real one: without this bound such watches held
        // LIVE_MAX_SUBSCRIPTIONS and LIVE_MAX_POLLERS until LIVE_MAX_WATCH_MS (6 h).
        withHarness({ LIVE_MAX_UNREAD_SUBSCRIPTIONS: '2', UPSTREAM_MAX_ATTEMPTS: '1', METRICS: 'api' }, async (own) => {
          const { upstream } = own;
          putExecution(upstream, 'ex_read', 'workflow_running');
          const read = new Recorder(clients.for(own), { id: 'ex_read' });
          await read.received(1);
          expect(own.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1, unread: 0 });

          for (const id of ['ex_unread_1', 'ex_unread_2', 'ex_unread_3']) {
            putExecution(upstream, id, 'workflow_running', { organizationId: 'org_a' });
            upstream.setFault(id, { kind: 'status', status: 503 });
          }
          const waiting = [new Recorder(clients.for(own, AUTH_A), { id: 'ex_unread_1' }), new Recorder(clients.for(own, AUTH_A2), { id: 'ex_unread_2' })];
          await waitFor(() => own.instance.live.counts.unread === 2, () => `two unread watches; now ${JSON.stringify(own.instance.live.counts)}`);
          const refused = new Recorder(clients.for(own, AUTH_A), { id: 'ex_unread_3' });
          await expectRefused(refused, 'TOO_MANY_SUBSCRIPTIONS');
          const [error] = refused.results[0]!.errors!;
          // Temporary, and says when to come back: before, "Try again later" with nothing to wait by, which the typed client took as final.
          expect(error!.message).toContain("at most 2 subscriptions per process waiting for upstream's first answer. This is temporary");
          expect(error!.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS', retryAfterMs: expect.any(Number) });
          expect(upstream.requestsFor('ex_unread_3')).toHaveLength(0);
          expect(await boundsReached(own)).toEqual(reachedOnce('unread_subscriptions'));
          // Another watch of a pair upstream has read joins its poller, which has a reading to give at once.
          const more = new Recorder(clients.for(own), { id: 'ex_read' });
          await more.received(1);
          expect(own.instance.live.counts).toEqual({ subscriptions: 4, pollers: 3, unread: 2 });

          // Upstream answers one of them: it is read, and its place goes to the next.
          upstream.setFault('ex_unread_1', undefined);
          await waiting[0]!.received(1);
          await waitFor(() => own.instance.live.counts.unread === 1, () => `one unread watch; now ${JSON.stringify(own.instance.live.counts)}`);
          const next = new Recorder(clients.for(own, AUTH_A), { id: 'ex_unread_3' });
          await waitFor(() => own.instance.live.counts.unread === 2, () => `the next unread watch; now ${JSON.stringify(own.instance.live.counts)}`);
          // One that leaves unread gives its place back too.
          waiting[1]!.stop();
          await waitFor(() => own.instance.live.counts.unread === 1, () => `the left watch released; now ${JSON.stringify(own.instance.live.counts)}`);
          upstream.setFault('ex_unread_3', undefined);
          await next.received(1);
          await waitFor(() => own.instance.live.counts.unread === 0, () => `every watch read; now ${JSON.stringify(own.instance.live.counts)}`);
          for (const watcher of [read, more, waiting[0]!, next]) watcher.stop();
          await allStopped(own);
          expect(own.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
        }));
    });
  });
}
