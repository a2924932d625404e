/**
 * A watch's steps for each reading its poller hands it, on the live layer itself (`LiveExecutions.watch`): the
 * test sets each reading upstream gives and counts them, which a client over SSE or WebSocket cannot do (its
 * reads race the polls). What is refused before any call, a resumed watch waiting for the event its
 * `eventsAfter` names, a watch ended before it was read, and the drain. Each test ends with every count at 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeStartCursor } from '../src/domain/event-cursor.js';
import { MAX_RESUME_MISSES, RETRY_AFTER_MS, type WatchScope } from '../src/live/live-executions.js';
import { callerOf } from '../src/upstream/caller.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { makeExecution } from '../src/demo/demo-data.js';
import type { UpstreamEvent } from '../src/upstream/envelope.js';
import { AUTH, type Harness } from './support/harness.js';
import { advance, allStopped, AUTH_A, AUTH_A2, AUTH_B, envelopeOf, eventCursors, putExecution, sleep, startLiveHarness, waitFor } from './support/live.js';
import { nextWithin, settledWithin, shape, type Steps } from './support/watch-steps.js';

/** The scope of the caller of `authorization` (the demo caller's by default), counting the client-gone listeners a watch holds. */
function scopeOf(listening = { count: 0 }, authorization = AUTH): WatchScope {
  return {
    caller: callerOf(authorization),
    onClientGone: () => {
      listening.count++;
      return () => void listening.count--;
    },
  };
}

const opened: Steps[] = [];

/** Admits a watch of `id` by the demo caller on `harness`: nothing is read yet. */
function admit(harness: Harness, id: string, eventsAfter?: string, scope = scopeOf()): Steps {
  const steps = harness.instance.live.watch(scope, { id, eventsAfter: eventsAfter ?? null })[Symbol.asyncIterator]();
  opened.push(steps);
  return steps;
}

async function allBackToZero(harness: Harness): Promise<void> {
  for (const steps of opened.splice(0)) await steps.return?.();
  harness.upstream.reset();
  await allStopped(harness);
  expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
}

/**
 * Readings of a running execution `id` that hold only its first two of four events, each differing from the one
 * before (a new `updatedAt`), as readings that move on do; and the cursor of the fourth, which none of them holds.
 */
async function readingsWithoutTheEvent(harness: Harness, id: string): Promise<{ cursor: string; moveOn: (events?: 'absent') => Promise<void> }> {
  const { upstream } = harness;
  putExecution(upstream, id, 'workflow_running', { eventCount: 4 });
  const cursor = (await eventCursors(harness, id))[3]!;
  const stored = upstream.get(id)!;
  let reading = 0;
  /** The next reading is set; once a watch polls, resolves once a poll began after it was set. */
  const moveOn = async (events?: 'absent') => {
    reading++;
    const execution = { ...stored.execution, updatedAt: new Date(Date.UTC(2026, 2, 1, 14, 0, reading)).toISOString() };
    upstream.setFault(id, { kind: 'body', body: envelopeOf(execution, events === 'absent' ? undefined : stored.events.slice(0, 2)) });
    if (harness.instance.live.counts.pollers === 0) return;
    // The poll under way may have read the reading before: the one after it began after this one was set.
    const polls = upstream.requestsFor(id).length;
    await waitFor(() => upstream.requestsFor(id).length >= polls + 2, 'a poll of the new reading');
  };
  return { cursor, moveOn };
}

describe('a watch on the live layer', () => {
  let harness: Harness;
  beforeAll(async () => {
    // One caller may hold both unread places (its share of them is tested below).
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1', LIVE_MAX_UNREAD_SUBSCRIPTIONS: '2', CALLER_SHARE_PERCENT: '100' });
  });
  afterAll(() => harness.close());
  afterEach(() => allBackToZero(harness));

  it('is refused before any call without a caller, and for an id outside the allowed pattern', () => {
    expect(() => harness.instance.live.watch({ caller: null, onClientGone: () => () => undefined }, { id: 'ex_nobody' })).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) }),
    );
    expect(() => admit(harness, 'ex/../admin')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
    expect(harness.upstream.requests).toHaveLength(0);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
  });

  it('joining a poller that has no reading yet is unread too, and counts against LIVE_MAX_UNREAD_SUBSCRIPTIONS', () => {
    putExecution(harness.upstream, 'ex_unread', 'workflow_running');
    admit(harness, 'ex_unread');
    admit(harness, 'ex_unread');
    expect(harness.instance.live.counts).toEqual({ subscriptions: 2, pollers: 1, unread: 2 });
    expect(() => admit(harness, 'ex_unread')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'TOO_MANY_SUBSCRIPTIONS' }) }));
    expect(harness.instance.live.counts).toEqual({ subscriptions: 2, pollers: 1, unread: 2 });
  });

  it('ended before it was ever read: read then, it is done, calls nothing and holds no listener', async () => {
    putExecution(harness.upstream, 'ex_ended_unread', 'workflow_running');
    const listening = { count: 0 };
    const steps = admit(harness, 'ex_ended_unread', undefined, scopeOf(listening));
    await steps.return!();
    expect(await steps.next()).toEqual({ done: true, value: undefined });
    await sleep(100);
    expect(listening.count).toBe(0);
    expect(harness.upstream.requestsFor('ex_ended_unread')).toHaveLength(0);
  });

  // A reading with no events list is no miss: the next may have one (the poller keeps the list it had once it has one).
  // A reading that changed nothing is one: counted only when readings changed, a cursor naming an event upstream no
  // longer has was never refused while the execution rested (waiting, awaiting payment), for up to LIVE_MAX_WATCH_MS.
  it.each([
    ['a list lacking it', undefined, 2],
    ['no events list', 'absent' as const, 1],
  ])(`resumed from an event no reading holds, the first reading with %s: BAD_USER_INPUT once ${MAX_RESUME_MISSES} polls read a list lacking it, changed or not`, async (_title, first, from) => {
    const id = `ex_resume_misses_${from}`;
    const { upstream } = harness;
    const { cursor, moveOn } = await readingsWithoutTheEvent(harness, id);
    await moveOn(first);
    const steps = admit(harness, id, cursor);
    // The client keeps its place.
    expect(await nextWithin(steps)).toMatchObject({ kind: 'update', cursor, newEvents: [], isFinal: false });
    const next = steps.next();
    let missingFrom = upstream.requestsFor(id).length;
    if (first === 'absent') {
      // Polls reading no list, every POLL_MS: no miss, however many.
      const polls = upstream.requestsFor(id).length;
      await waitFor(() => upstream.requestsFor(id).length >= polls + 2 * MAX_RESUME_MISSES, 'polls of readings with no list');
      expect(await settledWithin(next, 50)).toBe('silent');
      missingFrom = upstream.requestsFor(id).length;
      await moveOn();
    }
    // From here every poll reads the same list lacking the event: nothing upstream changes again. The first step
    // already counted one such reading when the first had a list.
    expect(shape(await settledWithin(next))).toEqual({ kind: 'failed', code: 'BAD_USER_INPUT' });
    expect(upstream.requestsFor(id).length - missingFrom).toBeGreaterThanOrEqual(first === 'absent' ? MAX_RESUME_MISSES : MAX_RESUME_MISSES - 1);
  });

  it('not read past its outage notice when upstream answers again: the update that ends the notice comes when read, with no further change upstream', async () => {
    const id = 'ex_outage_unread';
    putExecution(harness.upstream, id, 'workflow_running');
    const steps = admit(harness, id);
    expect(shape(await nextWithin(steps))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
    harness.upstream.setFault(id, { kind: 'status', status: 503 });
    expect(shape(await nextWithin(steps))).toEqual({ kind: 'outage', code: 'UPSTREAM_UNAVAILABLE' });
    // The step was taken, the next not yet asked for: the reading that comes meanwhile must not wait for another.
    const polls = harness.upstream.requestsFor(id).length;
    harness.upstream.setFault(id, undefined);
    await waitFor(() => harness.upstream.requestsFor(id).length >= polls + 2, 'a poll answered again');
    expect(shape(await nextWithin(steps))).toEqual({ kind: 'update', status: 'WORKFLOW_RUNNING', isFinal: false, endReason: null });
  });

  it('resumed and still waiting for its event after an outage notice: told when upstream answers again, though a newer reading came before it read', async () => {
    const id = 'ex_resume_outage';
    const { cursor, moveOn } = await readingsWithoutTheEvent(harness, id);
    await moveOn();
    const steps = admit(harness, id, cursor);
    expect(await nextWithin(steps)).toMatchObject({ kind: 'update', cursor });
    harness.upstream.setFault(id, { kind: 'status', status: 503 });
    expect(shape(await nextWithin(steps))).toEqual({ kind: 'outage', code: 'UPSTREAM_UNAVAILABLE' });
    // Upstream answers again, then moves on, both before the watch reads: the update that ends the notice still comes.
    await moveOn();
    await moveOn();
    expect(await nextWithin(steps)).toMatchObject({ kind: 'update', cursor, newEvents: [], isFinal: false });
  });

  it('resumed on a finished execution whose list lacks the event: BAD_USER_INPUT at its one reading, as no later one comes', async () => {
    const id = 'ex_resume_finished';
    putExecution(harness.upstream, id, 'workflow_running', { eventCount: 4 });
    const cursor = (await eventCursors(harness, id))[3]!;
    const stored = harness.upstream.get(id)!;
    harness.upstream.setFault(id, { kind: 'body', body: envelopeOf({ ...stored.execution, status: 'workflow_succeeded' }, stored.events.slice(0, 2)) });
    expect(shape(await nextWithin(admit(harness, id, cursor)))).toEqual({ kind: 'failed', code: 'BAD_USER_INPUT' });
  });

  it('resumed from the start of the list, on an execution with no events yet: its first update carries none and the start cursor', async () => {
    const id = 'ex_resume_empty';
    putExecution(harness.upstream, id, 'workflow_running', { eventCount: 0 });
    const start = encodeStartCursor(id);
    expect(await nextWithin(admit(harness, id, start))).toMatchObject({ kind: 'update', cursor: start, newEvents: [] });
  });

  // An event without an id is named by its place (`#<position>`). Inserted by upstream after e1, it is `#1` in a
  // query's list [e1, #1, e2, e3], and last in the watch's [e1, e2, e3, #3], whose orders part at 1: the cursor
  // names that very place.
  it('resumed from a query cursor of an event without an id, inserted where the watch\'s order and upstream\'s part: starts there, with every event after it in the watch\'s order', async () => {
    const id = 'ex_resume_parting';
    const record = putExecution(harness.upstream, id, 'workflow_running', { eventCount: 3 });
    const watching = admit(harness, id);
    expect(await nextWithin(watching)).toMatchObject({ kind: 'update', newEvents: [] });
    const [e1, e2, e3] = record.events as [UpstreamEvent, UpstreamEvent, UpstreamEvent];
    // Same createdAt as e1: upstream lists it after e1, before e2.
    const { id: _dropped, ...bare } = e1;
    const nameless = bare as unknown as UpstreamEvent;
    harness.upstream.put({ execution: { ...record.execution, updatedAt: '2026-03-01T13:30:00.000Z' }, events: [e1, nameless, e2, e3] });
    const inserted = await nextWithin(watching);
    expect(inserted !== 'silent' && inserted !== 'done' && inserted.kind === 'update' && inserted.newEvents.length).toBe(1);
    const page = await harness.query<{ execution: { events: { nodes: Array<{ id: string }>; pageInfo: { endCursor: string } } } }>(
      'query ($id: ID!) { execution(id: $id) { events(first: 2) { nodes { id } pageInfo { endCursor } } } }',
      { id },
    );
    expect(page.data?.execution.events.nodes.map((node) => node.id)).toEqual([e1.id, '#1']);
    const step = await nextWithin(admit(harness, id, page.data!.execution.events.pageInfo.endCursor));
    expect(step !== 'silent' && step !== 'done' && step.kind === 'update' && step.newEvents.map((edge) => edge.node.source.id ?? '(no id)')).toEqual([e2.id, e3.id, '(no id)']);
  });
});

/** The GraphQL error `start` threw (it must throw), as a client would read it. */
function refusal(start: () => unknown): { message: string; extensions: Record<string, unknown> } {
  try {
    start();
  } catch (error) {
    return error as { message: string; extensions: Record<string, unknown> };
  }
  throw new Error('the watch was admitted');
}

/** Expects a temporary refusal: TOO_MANY_SUBSCRIPTIONS saying so, with a `retryAfterMs` in `kind`'s window. */
function expectBusy(refused: { message: string; extensions: Record<string, unknown> }, kind: keyof typeof RETRY_AFTER_MS, limit: string): void {
  const { minMs } = RETRY_AFTER_MS[kind];
  expect(refused.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS', retryAfterMs: expect.any(Number) });
  expect(Number.isInteger(refused.extensions.retryAfterMs)).toBe(true);
  expect(refused.extensions.retryAfterMs).toBeGreaterThanOrEqual(minMs);
  expect(refused.extensions.retryAfterMs).toBeLessThan(2 * minMs);
  expect(refused.message).toContain(`at most ${limit}.`);
  expect(refused.message).toContain('This is temporary');
  expect(refused.message).toContain('`extensions.retryAfterMs`');
}

/**
 * Refusals at the live bounds: at one that frees by itself (the unread bound, a caller's share of it, the
 * process's subscriptions and pollers) temporary, with `retryAfterMs`; at the caller's own bounds final, without.
 * Four callers: the demo caller, A, A2 and B.
 */
describe('a watch refused at a live bound', () => {
  let harness: Harness;
  beforeAll(async () => {
    // 4 unread places, a caller's share 2 of them; 7 subscriptions, 3 per caller; 6 pollers, a caller's share 3.
    harness = await startLiveHarness('fast', {
      UPSTREAM_MAX_ATTEMPTS: '1',
      LIVE_MAX_UNREAD_SUBSCRIPTIONS: '4',
      CALLER_SHARE_PERCENT: '50',
      LIVE_MAX_SUBSCRIPTIONS: '7',
      LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '3',
      LIVE_MAX_POLLERS: '6',
    });
  });
  afterAll(() => harness.close());
  afterEach(() => allBackToZero(harness));

  const as = (authorization: string) => scopeOf(undefined, authorization);

  it("a caller holds its share of the unread places, and others still watch; past the process's bound, or a caller's share of it, the refusal is temporary, with retryAfterMs", () => {
    const live = harness.instance.live;
    // Nothing is read here (no step is asked for), so every watch stays unread, as while upstream is slow.
    admit(harness, 'ex_slow_a_1', undefined, as(AUTH_A));
    admit(harness, 'ex_slow_a_2', undefined, as(AUTH_A));
    // Before, admitted: two callers with slow executions held every unread place, and a third was refused.
    expectBusy(refusal(() => admit(harness, 'ex_slow_a_3', undefined, as(AUTH_A))), 'unread', "2 subscriptions per caller waiting for upstream's first answer");
    expect(live.shareCounts.unreadSubscriptions).toBe(1);
    admit(harness, 'ex_slow_b_1', undefined, as(AUTH_B));
    admit(harness, 'ex_slow_b_2', undefined, as(AUTH_B));
    expect(live.counts).toEqual({ subscriptions: 4, pollers: 4, unread: 4 });
    // The process's bound: temporary too (before, its message said "try again later" with nothing to wait by, and the typed client gave up).
    expectBusy(refusal(() => admit(harness, 'ex_slow_c', undefined, as(AUTH_A2))), 'unread', "4 subscriptions per process waiting for upstream's first answer");
    expect(live.boundCounts).toMatchObject({ unreadSubscriptions: 1, subscriptions: 0, callerSubscriptions: 0, pollers: 0 });
    expect(live.shareCounts.unreadSubscriptions).toBe(1);
    expect(upstreamCalls(harness)).toBe(0);
  });

  it("the process's subscriptions and pollers: temporary, with a longer retryAfterMs; a caller's own subscriptions: final, without", async () => {
    const live = harness.instance.live;
    // The counts run on from the test before, on the same process.
    const before = { bounds: live.boundCounts, share: live.shareCounts.unreadSubscriptions };
    const read = async (id: string, authorization: string) => {
      const steps = admit(harness, id, undefined, as(authorization));
      expect(shape(await nextWithin(steps))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
      return steps;
    };
    const orgOf = { [AUTH]: undefined, [AUTH_A]: 'org_a', [AUTH_A2]: 'org_a', [AUTH_B]: 'org_b' } as const;
    for (const [id, authorization] of [['ex_full_d', AUTH], ['ex_full_a_1', AUTH_A], ['ex_full_a_2', AUTH_A], ['ex_full_a_3', AUTH_A], ['ex_full_b_1', AUTH_B], ['ex_full_b_2', AUTH_B], ['ex_full_c', AUTH_A2]] as const) {
      const organizationId = orgOf[authorization];
      putExecution(harness.upstream, id, 'workflow_running', organizationId ? { organizationId } : {});
    }
    // The demo caller: one execution, three watches, its own bound.
    await read('ex_full_d', AUTH);
    const joins = [admit(harness, 'ex_full_d'), admit(harness, 'ex_full_d')];
    const own = refusal(() => admit(harness, 'ex_full_d'));
    expect(own.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS' });
    expect(own.message).toBe('Too many live subscriptions: at most 3 subscriptions per caller. Close some before opening more.');
    for (const id of ['ex_full_a_1', 'ex_full_a_2', 'ex_full_a_3']) await read(id, AUTH_A);
    await read('ex_full_b_1', AUTH_B);
    expect(live.counts).toMatchObject({ subscriptions: 7, pollers: 5 });
    expectBusy(refusal(() => admit(harness, 'ex_full_b_2', undefined, as(AUTH_B))), 'full', '7 subscriptions per process');
    // The process full too: the caller at its own bound is still refused for good. Told "temporary", it came back
    // after retryAfterMs, for as long as the process stayed full, only to meet its own bound once it had room.
    const ownWhileFull = refusal(() => admit(harness, 'ex_full_d'));
    expect(ownWhileFull.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS' });
    expect(ownWhileFull.message).toBe('Too many live subscriptions: at most 3 subscriptions per caller. Close some before opening more.');
    await joins[0]!.return!();
    await read('ex_full_b_2', AUTH_B);
    await joins[1]!.return!();
    expect(live.counts).toMatchObject({ subscriptions: 6, pollers: 6 });
    expectBusy(refusal(() => admit(harness, 'ex_full_c', undefined, as(AUTH_A2))), 'full', '6 watched executions per process');
    const { bounds } = before;
    expect(live.boundCounts).toEqual({ ...bounds, subscriptions: bounds.subscriptions + 1, pollers: bounds.pollers + 1, callerSubscriptions: bounds.callerSubscriptions + 2 });
    expect(live.shareCounts.unreadSubscriptions).toBe(before.share);
  });
});

describe('a bound of one, named', () => {
  it('says "1 subscription" and "1 watched execution", not "1 subscriptions"', async () => {
    const harness = await startLiveHarness('fast', { LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '1', LIVE_MAX_POLLERS: '1', CALLER_SHARE_PERCENT: '100' });
    try {
      const held = admit(harness, 'ex_demo_3');
      expect(shape(await nextWithin(held))).toMatchObject({ kind: 'update' });
      expect(refusal(() => admit(harness, 'ex_demo_3')).message).toBe('Too many live subscriptions: at most 1 subscription per caller. Close some before opening more.');
      expect(refusal(() => admit(harness, 'ex_demo_4', undefined, scopeOf(undefined, AUTH_B))).message).toContain('at most 1 watched execution per process. This is temporary');
      await held.return!();
    } finally {
      await harness.close();
    }
  });
});

/** Upstream calls so far, for every execution. */
const upstreamCalls = (harness: Harness) => harness.upstream.requests.length;

describe('a reading exactly at LIVE_MAX_HELD_BYTES', () => {
  const id = 'ex_held_exactly';
  const record = makeExecution({ id, status: 'workflow_running', eventCount: 5 });
  const body = envelopeOf(record.execution, record.events);
  const held = entryBytes({ bodyBytes: Buffer.byteLength(body), events: record.events });

  it.each([
    ['kept', held, undefined],
    ['refused one byte under it', held - 1, 'TOO_MANY_SUBSCRIPTIONS'],
  ])('is %s', async (_title, bound, code) => {
    const harness = await startLiveHarness('fast', { LIVE_MAX_HELD_BYTES: String(bound), CALLER_SHARE_PERCENT: '100' });
    try {
      harness.upstream.put(record);
      harness.upstream.setFault(id, { kind: 'body', body });
      const step = await nextWithin(admit(harness, id));
      if (code) expect(shape(step)).toEqual({ kind: 'failed', code });
      else {
        expect(shape(step)).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
        expect(harness.instance.live.heldBytes).toBe(bound);
      }
      await allBackToZero(harness);
    } finally {
      await harness.close();
    }
  });
});

describe('a watch that reaches LIVE_MAX_WATCH_MS', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1', LIVE_MAX_WATCH_MS: '1000' });
  });
  afterAll(() => harness.close());
  afterEach(() => allBackToZero(harness));

  it('while resumed and still waiting for its event: the final update keeps the cursor the client sent, not the start of the list', async () => {
    const id = 'ex_resume_limit';
    const { cursor, moveOn } = await readingsWithoutTheEvent(harness, id);
    // Readings with no list: no miss, so the watch still waits when its time is up (three with a list lacking the
    // event would have ended it first, BAD_USER_INPUT).
    await moveOn('absent');
    const steps = admit(harness, id, cursor);
    expect(await nextWithin(steps)).toMatchObject({ kind: 'update', cursor, isFinal: false });
    expect(await nextWithin(steps)).toMatchObject({ kind: 'update', cursor, newEvents: [], isFinal: true, endReason: 'WATCH_TIME_LIMIT' });
  });
});

describe('a watch when the process drains', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1' });
  });
  afterAll(() => harness.close());

  it('ends with SHUTTING_DOWN, though a newer reading came before it was read; one that ended already is not counted; later ones are refused', async () => {
    const id = 'ex_drained';
    putExecution(harness.upstream, id, 'workflow_running');
    const running = admit(harness, id);
    const ended = admit(harness, id);
    expect(shape(await nextWithin(running))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
    expect(shape(await nextWithin(ended))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
    await ended.return!();

    expect(harness.instance.live.shutDown()).toBe(1);
    // Not read yet, the watch still holds its poller, which reads on: the newer reading must not replace the end.
    const polls = harness.upstream.requestsFor(id).length;
    advance(harness.upstream, id, 'workflow_waiting', 1);
    await waitFor(() => harness.upstream.requestsFor(id).length >= polls + 2, 'a poll of the newer reading');
    expect(shape(await nextWithin(running))).toEqual({ kind: 'failed', code: 'SHUTTING_DOWN' });
    expect(await nextWithin(running)).toBe('done');

    expect(() => admit(harness, id)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'SHUTTING_DOWN' }) }));
    await allBackToZero(harness);
  });
});
