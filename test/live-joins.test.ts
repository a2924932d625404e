/**
 * A watch's life around its poller, on the live layer itself: a watch is
 * admitted (`LiveExecutions.watch`) and read (`next()`) in two steps, and its
 * poller may stop between them (its last watcher left, upstream answered
 * NOT_FOUND, the execution ended). Over SSE and WebSocket nothing runs between
 * the two, so these scenarios are driven by direct calls. With REDIS_URL, the
 * same around the lease: watches started while their poller asks Redis for it,
 * a poller stopping then, and a follower whose own read is out while the holder
 * publishes (a newer reading, or a notice asking for a pause). Each ends with
 * every count at 0.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { statusOf } from '../src/domain/execution-status.js';
import type { WatchStep } from '../src/live/live-executions.js';
import { callerOf } from '../src/upstream/caller.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { AUTH, Harness } from './support/harness.js';
import { advance, allStopped, AUTH_A, liveEnv, putExecution, sleep, startLiveHarness, TOKENS, waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';
import { nextWithin, shape, type Steps } from './support/watch-steps.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';

let harness: Harness;
beforeAll(async () => {
  harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1' });
});
afterAll(() => harness.close());

const opened: Steps[] = [];
afterEach(async () => {
  for (const steps of opened.splice(0)) await steps.return?.();
  harness.upstream.reset();
  await allBackToZero(harness);
});

/** Admits a watch of `id` by the demo caller: nothing is read yet. */
function admit(id: string, eventsAfter?: string): Steps {
  const steps = harness.instance.live.watch({ caller: callerOf(AUTH), onClientGone: () => () => undefined }, { id, eventsAfter: eventsAfter ?? null })[Symbol.asyncIterator]();
  opened.push(steps);
  return steps;
}

/** A running execution `id` watched once, that watch past its first reading, and a second watch admitted after it (the late joiner). */
async function watchedThenJoined(id: string): Promise<{ first: Steps; late: Steps }> {
  putExecution(harness.upstream, id, 'workflow_running');
  const first = admit(id);
  expect(shape(await nextWithin(first))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
  return { first, late: admit(id) };
}

/** Waits for every poller of `replicas` to stop, then expects every count at 0. */
async function allBackToZero(...replicas: Harness[]): Promise<void> {
  for (const replica of replicas) {
    await allStopped(replica);
    expect(replica.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
  }
}

describe('a watch admitted to a poller that stops before the watch is first read', () => {
  it('when its last watcher leaves, gets the updates that follow, to the end', async () => {
    const id = 'ex_join_left';
    const { first, late } = await watchedThenJoined(id);
    await first.return!();
    expect(shape(await nextWithin(late))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING', isFinal: false });
    advance(harness.upstream, id, 'workflow_succeeded', 1);
    expect(shape(await nextWithin(late))).toEqual({ kind: 'update', status: 'WORKFLOW_SUCCEEDED', isFinal: true, endReason: 'EXECUTION_ENDED' });
    expect(await nextWithin(late)).toBe('done');
  });

  it('when its last watcher leaves before upstream first answered, still gets the first reading', async () => {
    const id = 'ex_join_left_unread';
    putExecution(harness.upstream, id, 'workflow_running');
    // The late watch is admitted first: its poller is made for it, and the other starts it.
    const late = admit(id);
    const first = admit(id);
    const reading = first.next();
    await first.return!();
    await reading;
    expect(shape(await nextWithin(late))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING', isFinal: false });
    expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1, unread: 0 });
  });

  it('when upstream answers NOT_FOUND, ends with NOT_FOUND, as every watch of the execution does', async () => {
    const id = 'ex_join_gone';
    const { first, late } = await watchedThenJoined(id);
    harness.upstream.setFault(id, { kind: 'status', status: 404 });
    expect(shape(await nextWithin(first))).toEqual({ kind: 'failed', code: 'NOT_FOUND' });
    expect(shape(await nextWithin(late))).toEqual({ kind: 'failed', code: 'NOT_FOUND' });
    expect(await nextWithin(late)).toBe('done');
  });

  it('when the execution ends, gets the final update', async () => {
    const id = 'ex_join_ended';
    const { first, late } = await watchedThenJoined(id);
    advance(harness.upstream, id, 'workflow_succeeded', 1);
    expect(shape(await nextWithin(first))).toMatchObject({ kind: 'update', isFinal: true });
    await waitFor(() => harness.instance.live.counts.pollers === 0, 'the ended poller to stop');
    expect(shape(await nextWithin(late))).toEqual({ kind: 'update', status: 'WORKFLOW_SUCCEEDED', isFinal: true, endReason: 'EXECUTION_ENDED' });
    expect(await nextWithin(late)).toBe('done');
  });
});

describe('with REDIS_URL, watches started while their poller asks Redis for the lease', () => {
  let redis: RedisServer;
  let replica: Harness;
  beforeAll(async () => {
    redis = await RedisServer.start();
    // Ticks far apart: each upstream call in the test's window is a first poll.
    replica = await startLiveHarness('fast', { REDIS_URL: redis.url, REDIS_KEY_SECRET: SECRET, LIVE_POLL_ACTIVE_MS: '5000', UPSTREAM_MAX_ATTEMPTS: '1' });
    await waitFor(() => replica.instance.redis!.up, 'the replica to reach Redis');
  });
  afterAll(async () => {
    await replica?.close();
    await redis?.stop();
  });

  it("a poller that stops while its lease is being taken does not give up the lease of the pair's next poller", async () => {
    const id = 'ex_join_lease_handover';
    putExecution(replica.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    const store = replica.instance.redis!;
    const leaseKey = store.key('lease', store.callerTag(AUTH_A), id);
    const scope = { caller: callerOf(AUTH_A), onClientGone: () => () => undefined };
    // The first watch is read, so its poller asks Redis for the lease, and leaves before Redis answers.
    const left = replica.instance.live.watch(scope, { id })[Symbol.asyncIterator]();
    const reading = left.next();
    await left.return!();
    await reading;
    expect(replica.instance.live.counts.pollers).toBe(0);
    // The next watch of the pair gets a poller of its own, which takes the lease in turn.
    const next = replica.instance.live.watch(scope, { id })[Symbol.asyncIterator]();
    try {
      expect(shape(await nextWithin(next))).toMatchObject({ kind: 'update', status: 'WORKFLOW_RUNNING' });
      await sleep(100);
      expect(replica.instance.live.leases!.held).toBe(1);
      expect(await store.client.get(leaseKey)).toBe(replica.instance.live.leases!.replica);
    } finally {
      await next.return!();
    }
    await allBackToZero(replica);
  });

  it('share one first poll: one upstream call, not one per watch', async () => {
    const id = 'ex_join_lease';
    putExecution(replica.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    const scope = { caller: callerOf(AUTH_A), onClientGone: () => () => undefined };
    const watches = [0, 1, 2].map(() => replica.instance.live.watch(scope, { id })[Symbol.asyncIterator]());
    try {
      // Read in the same tick: the first starts the poll, which is waiting for Redis's answer when the others start.
      const firsts = await Promise.all(watches.map((steps) => nextWithin(steps)));
      expect(firsts.map(shape)).toEqual(firsts.map(() => ({ kind: 'update', status: 'WORKFLOW_RUNNING', isFinal: false, endReason: null })));
      await sleep(100);
      expect(replica.upstream.requestsFor(id)).toHaveLength(1);
    } finally {
      for (const steps of watches) await steps.return!();
    }
    await allBackToZero(replica);
  });
});

/**
 * Two replicas on one Redis for the suite it is called in (its beforeAll and afterAll), each reading its own
 * fake upstream, so every call is known to be the holder's (started first) or the follower's.
 */
function twoReplicas(env: Record<string, string>, followerEnv: Record<string, string> = {}) {
  const pair = {} as { redis: RedisServer; upstreams: [FakeUpstream, FakeUpstream]; holder: Harness; follower: Harness };
  beforeAll(async () => {
    pair.redis = await RedisServer.start();
    pair.upstreams = [await FakeUpstream.start({ executions: [], tokens: TOKENS }), await FakeUpstream.start({ executions: [], tokens: TOKENS })];
    const shared = liveEnv({ REDIS_URL: pair.redis.url, REDIS_KEY_SECRET: SECRET, LIVE_LEASE_MS: '1000', UPSTREAM_MAX_ATTEMPTS: '1', ...env });
    pair.holder = await Harness.start({ sharedUpstream: pair.upstreams[0], env: shared });
    pair.follower = await Harness.start({ sharedUpstream: pair.upstreams[1], env: { ...shared, ...followerEnv } });
    await waitFor(() => pair.holder.instance.redis!.up && pair.follower.instance.redis!.up, 'both replicas to reach Redis');
  });
  afterAll(async () => {
    await pair.holder?.close();
    await pair.follower?.close();
    for (const upstream of pair.upstreams ?? []) await upstream.close();
    await pair.redis?.stop();
  });
  return pair;
}

describe('with REDIS_URL, a follower whose own read is older than what the holder published meanwhile', () => {
  // The follower's upstream, slow and a step behind, answers the state the execution had when the request came
  // in, after the holder's newer reading was published (a slow answer, a lagging replica).
  const pair = twoReplicas({});

  /** Starts a watch on `replica` and keeps its steps as they come. */
  function follow(replica: Harness, id: string) {
    const steps = replica.instance.live.watch({ caller: callerOf(AUTH_A), onClientGone: () => () => undefined }, { id })[Symbol.asyncIterator]();
    const seen: WatchStep[] = [];
    const reading = (async () => {
      for (let step = await steps.next(); !step.done; step = await steps.next()) seen.push(step.value);
    })();
    return {
      statuses: () => seen.flatMap((step) => (step.kind === 'update' ? [statusOf(step.execution)] : [])),
      stop: async () => {
        await steps.return!();
        await reading;
      },
    };
  }

  /** A running execution `id` on both upstreams, watched on the holder until it read it and holds the lease. */
  async function heldAndRead(id: string): Promise<ReturnType<typeof follow>> {
    const { holder, upstreams: [fresh, lagging] } = pair;
    lagging.put(putExecution(fresh, id, 'workflow_running', { organizationId: 'org_a' }));
    const first = follow(holder, id);
    await waitFor(() => first.statuses().length === 1 && holder.instance.live.leases!.held === 1, 'the holder to read and hold the lease');
    return first;
  }

  it('does not keep its older fields: its watchers get the status the holder read', async () => {
    const { holder, follower, upstreams: [fresh, lagging] } = pair;
    const id = 'ex_join_stale';
    const first = await heldAndRead(id);
    // The follower has no reading: it reads upstream itself, and its answer is slow.
    lagging.latencyMs = 400;
    const second = follow(follower, id);
    try {
      await waitFor(() => lagging.requestsFor(id).length === 1, "the follower's first read");
      // Meanwhile the status changes, with no event: the holder publishes it.
      advance(fresh, id, 'workflow_waiting', 0);
      await waitFor(() => first.statuses().includes('WORKFLOW_WAITING'), 'the holder to read the change');
      await waitFor(() => second.statuses().length === 1, "the follower's first update");
      expect(second.statuses()).toEqual(['WORKFLOW_RUNNING']);
      // The follower's upstream catches up; from here on one event is appended, with no change of status.
      lagging.put(fresh.get(id)!);
      lagging.latencyMs = 0;
      advance(fresh, id, 'workflow_waiting', 1);
      await waitFor(() => first.statuses().length === 3, 'the holder to read the event');
      await waitFor(() => second.statuses().at(-1) === 'WORKFLOW_WAITING', () => `the follower's watch to see the status; it saw ${second.statuses().join(', ')}`, 2_000);
    } finally {
      await first.stop();
      await second.stop();
    }
    await allBackToZero(holder, follower);
  });

  it('after a gap, does not take its own read over a newer reading the holder published while it was out', async () => {
    const { holder, follower, upstreams: [fresh, lagging] } = pair;
    const id = 'ex_join_stale_gap';
    const first = await heldAndRead(id);
    const second = follow(follower, id);
    try {
      await waitFor(() => second.statuses().length === 1, "the follower's first update");
      // Messages may have been lost while the subscription connections were away: the follower reads upstream
      // itself, within its poll interval, and its answer is slow.
      lagging.latencyMs = 400;
      const reads = lagging.requestsFor(id).length;
      expect(await holder.instance.redis!.client.client('KILL', 'TYPE', 'pubsub')).toBe(2);
      await waitFor(() => lagging.requestsFor(id).length > reads, "the follower's read after the reconnect");
      // Meanwhile the status changes, with no event: the holder publishes it, in sequence, and the follower takes it.
      advance(fresh, id, 'workflow_waiting', 0);
      await waitFor(() => second.statuses().includes('WORKFLOW_WAITING'), () => `the follower to hear the change; it saw ${second.statuses().join(', ')}`);
      // The slow answer (the state before the change) has come; the follower's upstream catches up.
      await sleep(500);
      lagging.put(fresh.get(id)!);
      lagging.latencyMs = 0;
      advance(fresh, id, 'workflow_waiting', 1);
      await waitFor(() => first.statuses().length === 3, 'the holder to read the event');
      await waitFor(() => second.statuses().length === 3, () => `the follower to hear the event; it saw ${second.statuses().join(', ')}`);
      expect(second.statuses()).toEqual(['WORKFLOW_RUNNING', 'WORKFLOW_WAITING', 'WORKFLOW_WAITING']);
    } finally {
      await first.stop();
      await second.stop();
    }
    await allBackToZero(holder, follower);
  });
});

describe("with REDIS_URL, a follower whose lease check is out when the holder's notice asks for a pause", () => {
  // A lease check the follower's Redis does not answer times out after 2 s, and then the follower polls for itself.
  const pair = twoReplicas({ UPSTREAM_RETRY_AFTER_CAP_MS: '0' }, { REDIS_COMMAND_TIMEOUT_MS: '2000' });

  it('waits out the pause before it reads upstream for itself', async () => {
    const { holder, follower, upstreams: [ofHolder, ofFollower] } = pair;
    const id = 'ex_join_pause';
    ofFollower.put(putExecution(ofHolder, id, 'workflow_running', { organizationId: 'org_a' }));
    const scope = { caller: callerOf(AUTH_A), onClientGone: () => () => undefined };
    const first = holder.instance.live.watch(scope, { id })[Symbol.asyncIterator]();
    const second = follower.instance.live.watch(scope, { id })[Symbol.asyncIterator]();
    const client = (follower.instance.redis!.client as unknown as { stream: { pause(): void; resume(): void } }).stream;
    try {
      expect(shape(await nextWithin(first))).toMatchObject({ kind: 'update' });
      await waitFor(() => holder.instance.live.leases!.held === 1, 'the holder to hold the lease');
      expect(shape(await nextWithin(second))).toMatchObject({ kind: 'update' });
      await sleep(200);
      // The follower's next lease check goes out, and Redis's answer is not read.
      client.pause();
      await sleep(100);
      const paused = performance.now();
      // Meanwhile upstream asks the holder for a pause of 5 s: the notice reaches the follower's watch.
      ofHolder.setFault(id, { kind: 'status', status: 429, headers: { 'retry-after': '5' } }, 1);
      expect(shape(await nextWithin(second))).toEqual({ kind: 'outage', code: 'UPSTREAM_UNAVAILABLE' });
      // The lease check times out (Redis cannot say who polls: the follower does), well within the pause.
      await sleep(2_600);
      // Counted within the pause only (from the holder's 429 on): a loaded machine that took seconds to deliver the
      // notice looks past the pause's end, when the follower's read is due, as designed.
      const pauseEnds = ofHolder.requestsFor(id).find((request) => request.at > paused)!.at + 5_000;
      const early = ofFollower.requestsFor(id).filter((request) => request.at > paused && request.at < pauseEnds - 20);
      expect(early.map((request) => Math.round(request.at - paused))).toEqual([]);
    } finally {
      client.resume();
      await first.return!();
      await second.return!();
    }
    await allBackToZero(holder, follower);
  }, 30_000);
});
