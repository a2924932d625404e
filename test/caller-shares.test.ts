/**
 * One caller's share of what the process keeps for all callers (CALLER_SHARE_PERCENT, README
 * "Caching" and "Live executions"): the cache of finished executions, the watched executions (LIVE_MAX_POLLERS) and the
 * pollers' upstream slots. A caller that asks for thousands of finished executions, or watches many,
 * holds its share of each and no more, so another caller's cached executions stay cached and its
 * watches are polled. Counted by the calls the real fake upstream sees for the other caller.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { PollSlots } from '../src/live/poller.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { codes, Harness } from './support/harness.js';
import { advance, AUTH_A, AUTH_A2, AUTH_B, Clients, liveEnv, putExecution, requestsSince, sleep, TOKENS, waitFor, watch } from './support/live.js';

const MANY = `query($ids: [ID!]!) { executions(ids: $ids) { id status } }`;
const ONE = `query($id: ID!) { execution(id: $id) { id status } }`;
/** Finished executions of org_a: a flood of distinct ids for one caller. */
const FLOOD = Array.from({ length: 300 }, (_, i) => `ex_flood_${i}`);
/** Finished executions of org_b: what the other caller reads over and over. */
const OWN_B = Array.from({ length: 5 }, (_, i) => `ex_own_b_${i}`);

describe('one caller flooding the cache of finished executions', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it("evicts only its own entries: another caller's cached executions are still served without an upstream call", async () => {
    harness = await Harness.start({
      // About 100 entries of a small execution (4 KiB of overhead each, plus its body).
      env: { CACHE_MAX_BYTES: String(100 * 6 * 1024), TERMINAL_CACHE_TTL_MS: '60000', METRICS: 'api' },
      upstream: {
        tokens: TOKENS,
        executions: [
          ...FLOOD.map((id) => makeExecution({ id, status: 'workflow_succeeded', organizationId: 'org_a' })),
          ...OWN_B.map((id) => makeExecution({ id, status: 'workflow_succeeded', organizationId: 'org_b' })),
        ],
      },
    });
    const h = harness;
    const readB = () => h.query(MANY, { ids: OWN_B }, { authorization: AUTH_B });
    expect((await readB()).errors).toBeUndefined();
    const calls = () => OWN_B.reduce((sum, id) => sum + h.upstream.requestsFor(id).length, 0);
    expect(calls()).toBe(OWN_B.length);
    // Cached: read again, no call.
    await readB();
    expect(calls()).toBe(OWN_B.length);
    // Caller A asks for 300 distinct finished executions, three times the cache.
    for (let start = 0; start < FLOOD.length; start += 100) {
      const answer = await h.query(MANY, { ids: FLOOD.slice(start, start + 100) }, { authorization: AUTH_A });
      expect(answer.errors).toBeUndefined();
    }
    const before = calls();
    await readB();
    expect(calls() - before, "upstream calls for B's cached executions after A's flood").toBe(0);
    // A still has a cache: its share of it (the last executions it read).
    const last = FLOOD.at(-1)!;
    const lastCalls = h.upstream.requestsFor(last).length;
    await h.query(ONE, { id: last }, { authorization: AUTH_A });
    expect(h.upstream.requestsFor(last)).toHaveLength(lastCalls);
    expect(h.instance.executions.cacheStats.bytes).toBeLessThanOrEqual(h.instance.executions.cacheStats.maxBytes);
    expect(await h.metricLines('gateway_caller_share_reached_total')).toContainEqual(expect.stringMatching(/resource="cache"\} [1-9]/));
  });
});

/**
 * The cache share entry by entry: executions of one size, a cache of room for four and a half of them, a share of
 * half (two and a quarter entries). Which entry left is read from the upstream calls a read again makes.
 */
describe('the cache share, entry by entry', () => {
  const A_IDS = Array.from({ length: 5 }, (_, i) => `ex_share_a_${i}`);
  const B_IDS = Array.from({ length: 4 }, (_, i) => `ex_share_b_${i}`);
  const executions = [
    ...A_IDS.map((id) => makeExecution({ id, status: 'workflow_succeeded', organizationId: 'org_a' })),
    ...B_IDS.map((id) => makeExecution({ id, status: 'workflow_succeeded', organizationId: 'org_b' })),
  ];
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  /** The bytes one entry counts: every execution here is the same size. */
  async function entrySize(): Promise<number> {
    const probe = await Harness.start({ env: { TERMINAL_CACHE_TTL_MS: '60000' }, upstream: { tokens: TOKENS, executions } });
    try {
      const sizes: number[] = [];
      for (const [auth, id] of [[AUTH_A, A_IDS[0]!], [AUTH_B, B_IDS[0]!]] as const) {
        const before = probe.instance.executions.cacheStats.bytes;
        await probe.query(ONE, { id }, { authorization: auth });
        sizes.push(probe.instance.executions.cacheStats.bytes - before);
      }
      expect(sizes[0]).toBeGreaterThan(0);
      expect(sizes[1]).toBe(sizes[0]);
      return sizes[0]!;
    } finally {
      await probe.close();
    }
  }

  let size: number | undefined;
  async function start(ttlMs: number): Promise<Harness> {
    // Measured once for the three tests: every execution here is the same size.
    size ??= await entrySize();
    harness = await Harness.start({
      env: { CACHE_MAX_BYTES: String(Math.floor(4.5 * size)), CALLER_SHARE_PERCENT: '50', TERMINAL_CACHE_TTL_MS: String(ttlMs) },
      upstream: { tokens: TOKENS, executions },
    });
    return harness;
  }

  /** Reads `id` as `auth`; true when the cache answered (no upstream call). */
  const cached = async (h: Harness, auth: string, id: string) => {
    const before = h.upstream.requestsFor(id).length;
    const answer = await h.query(ONE, { id }, { authorization: auth });
    expect(answer.errors).toBeUndefined();
    return h.upstream.requestsFor(id).length === before;
  };

  it('a caller past its share keeps every entry while the cache has room; once full, it makes room from the one it used longest ago', async () => {
    const h = await start(60_000);
    const counts = h.instance.executions.counts;
    const [a0, a1, a2] = A_IDS as [string, string, string];
    for (const id of [a0, a1, a2]) expect(await cached(h, AUTH_A, id)).toBe(false);
    // Three entries, past A's share of two and a quarter, but the cache has room: none leaves.
    expect(await cached(h, AUTH_A, a0)).toBe(true);
    expect(h.instance.executions.cacheStats.entries).toBe(3);
    expect(counts.cacheShareReached).toBe(0);
    // B's first two: within its share, so the LRU decides when the second finds the cache full.
    expect(await cached(h, AUTH_B, B_IDS[0]!)).toBe(false);
    expect(await cached(h, AUTH_B, B_IDS[1]!)).toBe(false);
    expect(counts).toMatchObject({ cacheShareReached: 0, cacheEvictions: 1 });
    // The LRU's oldest was A's a1 (a0 was read again since).
    expect(await cached(h, AUTH_A, a0)).toBe(true);
    expect(await cached(h, AUTH_B, B_IDS[0]!)).toBe(true);
    expect(h.instance.executions.cacheStats.entries).toBe(4);
    // A reads a3 with the cache full and itself past its share: room is made from its own entries, the one it used
    // longest ago first (a2, not a0, which it read since), and B's stay.
    expect(await cached(h, AUTH_A, A_IDS[3]!)).toBe(false);
    expect(counts).toMatchObject({ cacheShareReached: 1, cacheEvictions: 2 });
    expect(await cached(h, AUTH_A, a0)).toBe(true);
    expect(await cached(h, AUTH_B, B_IDS[0]!)).toBe(true);
    expect(await cached(h, AUTH_B, B_IDS[1]!)).toBe(true);
    expect(await cached(h, AUTH_A, a2)).toBe(false);
  });

  it('an entry that expired no longer counts against its caller, nor as an eviction', async () => {
    const ttlMs = 1_000;
    const h = await start(ttlMs);
    const counts = h.instance.executions.counts;
    const [a0, a1, a2, a3, a4] = A_IDS as [string, string, string, string, string];
    expect(await cached(h, AUTH_A, a0)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(await cached(h, AUTH_A, a1)).toBe(false);
    // a0 has expired, a1 not yet: A holds both until a0 is read again, leaves as expired, and comes back.
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await cached(h, AUTH_B, B_IDS[0]!)).toBe(false);
    expect(await cached(h, AUTH_A, a0)).toBe(false);
    expect(counts.cacheEvictions).toBe(0);
    // Another caller of the same organisation, within its share, fills the cache: the LRU's oldest, A's a1, leaves.
    for (const id of [a2, a3]) expect(await cached(h, AUTH_A2, id)).toBe(false);
    expect(counts).toMatchObject({ cacheEvictions: 1, cacheShareReached: 0 });
    // A holds a0 alone, so with a4 it is within its share: the LRU makes room (B's entry), not A's own a0.
    expect(await cached(h, AUTH_A, a4)).toBe(false);
    expect(counts).toMatchObject({ cacheEvictions: 2, cacheShareReached: 0 });
    expect(await cached(h, AUTH_A, a0)).toBe(true);
    expect(await cached(h, AUTH_B, B_IDS[0]!)).toBe(false);
  });

  it('a caller whose entries have all left holds nothing: it is no longer counted among those holding entries', async () => {
    const h = await start(60_000);
    expect(await cached(h, AUTH_A, A_IDS[0]!)).toBe(false);
    expect(h.instance.executions.cacheStats).toMatchObject({ entries: 1, callers: 1 });
    for (const id of B_IDS.slice(0, 2)) expect(await cached(h, AUTH_B, id)).toBe(false);
    // Another caller's second entry finds the cache full, within its share: the LRU's oldest, A's only entry, leaves.
    for (const id of A_IDS.slice(1, 3)) expect(await cached(h, AUTH_A2, id)).toBe(false);
    expect(h.instance.executions.cacheStats).toMatchObject({ entries: 4, callers: 2 });
    expect(await cached(h, AUTH_A, A_IDS[0]!)).toBe(false);
  });
});

describe('the pollers\' slots', () => {
  it('a caller within its share takes any free slot; past it, one only while more than a share stays free', () => {
    const slots = new PollSlots(8, 2);
    // A lone caller: all but one share.
    const taken = Array.from({ length: 8 }, () => slots.tryTake('a')).filter(Boolean).length;
    expect(taken).toBe(6);
    expect(slots.shareReached).toBe(2);
    // Another caller has its share, and no more once the slots run out.
    expect([slots.tryTake('b'), slots.tryTake('b'), slots.tryTake('c')]).toEqual([true, true, false]);
    slots.give('a');
    expect(slots.tryTake('a')).toBe(false);
    expect(slots.tryTake('c')).toBe(true);
    // Exactly at its share, with no more than a share free: refused, so the last share stays for the others.
    const few = new PollSlots(4, 2);
    expect([few.tryTake('a'), few.tryTake('a'), few.tryTake('a')]).toEqual([true, true, false]);
    expect([few.tryTake('b'), few.tryTake('b')]).toEqual([true, true]);
  });
});

describe('one caller watching many executions', () => {
  const clients = new Clients('sse');
  let harness: Harness | undefined;
  afterEach(async () => {
    await clients.disposeAll();
    await harness?.close();
    harness = undefined;
  });

  it("holds its share of the pollers' upstream slots: another caller's watch is polled while its polls hang", async () => {
    // 9 calls in flight, half of them the pollers' (4.5, rounded down): 4 slots, a caller's share one (25%).
    harness = await Harness.start({ env: liveEnv({ UPSTREAM_MAX_CONCURRENT: '9', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '9', UPSTREAM_TIMEOUT_MS: '20000', METRICS: 'api' }), upstream: { tokens: TOKENS } });
    const h = harness;
    const hanging = Array.from({ length: 8 }, (_, i) => `ex_hang_a_${i}`);
    for (const id of hanging) {
      putExecution(h.upstream, id, 'workflow_running', { organizationId: 'org_a' });
      h.upstream.setFault(id, { kind: 'hang' });
    }
    const ofA = hanging.map((id) => watch(clients.for(h, AUTH_A), id));
    const inFlightA = () => hanging.filter((id) => h.upstream.requestsFor(id).length > 0).length;
    // Every poller of A's started, and its polls took what slots they may, before B comes: waited for, not a fixed
    // 300 ms and 2 s, which a loaded machine's stalls outlast (fewer of A's polls started, fewer of B's made).
    await waitFor(() => h.instance.live.counts.pollers === hanging.length && inFlightA() >= 3, () => `A's pollers and polls (${h.instance.live.counts.pollers} pollers, ${inFlightA()} polls)`);
    const idB = 'ex_polled_b';
    putExecution(h.upstream, idB, 'workflow_running', { organizationId: 'org_b' });
    const since = performance.now();
    const ofB = watch(clients.for(h, AUTH_B), idB);
    await waitFor(() => requestsSince(h.upstream, idB, since) >= 5 && ofB.updates.length >= 1, () => `five upstream calls for B's watch while A's polls hang; so far ${requestsSince(h.upstream, idB, since)}, ${ofB.describe()}`);
    // A's polls in flight at once: past its share (one slot) only while more than a share stays free: three of four.
    expect(inFlightA()).toBe(3);
    expect(await h.metricLines('gateway_caller_share_reached_total')).toContainEqual(expect.stringMatching(/resource="poll_slots"\} [1-9]/));
    for (const each of [...ofA, ofB]) each.stop();
  });

  it("polls past its share of queries: its watch reaches upstream while its own query holds the caller's only slot", async () => {
    // A caller's share of the bulkhead is one call; a live poll holds a pollers' slot instead (README "Upstream faults").
    // The query holds the caller's slot 8 s: a watch made to wait for it would see its first update past that.
    harness = await Harness.start({ env: liveEnv({ UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1', UPSTREAM_TIMEOUT_MS: '8000' }), upstream: { tokens: TOKENS } });
    const h = harness;
    putExecution(h.upstream, 'ex_query_hangs', 'workflow_running', { organizationId: 'org_a' });
    h.upstream.setFault('ex_query_hangs', { kind: 'hang' });
    putExecution(h.upstream, 'ex_watched_a', 'workflow_running', { organizationId: 'org_a' });
    const query = h.query(ONE, { id: 'ex_query_hangs' }, { authorization: AUTH_A });
    let answered = false;
    void query.finally(() => (answered = true));
    await waitFor(() => h.upstream.requestsFor('ex_query_hangs').length === 1, 'the query at upstream');
    const watched = watch(clients.for(h, AUTH_A), 'ex_watched_a');
    // Its first update came while the query still held the caller's slot, and its polls went on: judged by the query
    // still unanswered, not by 2.5 s of a 3 s hold, which a loaded machine's stalls could pass.
    await watched.received(1, 6_000);
    await waitFor(() => h.upstream.requestsFor('ex_watched_a').length >= 3, 'more polls of the watched execution', 6_000);
    expect(answered).toBe(false);
    expect(h.upstream.requestsFor('ex_query_hangs')).toHaveLength(1);
    watched.stop();
    expect(codes(await query)).toEqual(['UPSTREAM_TIMEOUT']);
  });

  it('holds its share of the watched executions: its watch of one more is refused with TOO_MANY_SUBSCRIPTIONS, and another caller still watches', async () => {
    harness = await Harness.start({ env: liveEnv({ LIVE_MAX_POLLERS: '8', METRICS: 'api' }), upstream: { tokens: TOKENS } });
    const h = harness;
    const ids = Array.from({ length: 3 }, (_, i) => `ex_watched_a_${i}`);
    for (const id of ids) putExecution(h.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    putExecution(h.upstream, 'ex_watched_b', 'workflow_running', { organizationId: 'org_b' });
    // 25% of 8: two executions per caller.
    const admitted = ids.slice(0, 2).map((id) => watch(clients.for(h, AUTH_A), id));
    for (const each of admitted) await each.received(1);
    // A second watch of an execution it already watches takes no new poller.
    const again = watch(clients.for(h, AUTH_A), ids[0]!);
    await again.received(1);
    const refused = watch(clients.for(h, AUTH_A), ids[2]!);
    // Before, admitted: one caller could hold every poller of the process.
    await refused.end(5_000);
    expect(refused.errorCodes).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
    // Its own doing, which no wait changes: final, with nothing to retry after.
    expect(refused.results[0]!.errors![0]!.extensions).not.toHaveProperty('retryAfterMs');
    const other = watch(clients.for(h, AUTH_B), 'ex_watched_b');
    await other.received(1);
    expect(other.errorCodes).toEqual([]);
    expect(await h.metricLines('gateway_caller_share_reached_total')).toContainEqual(expect.stringMatching(/resource="pollers"\} 1/));
    for (const each of [...admitted, again, other]) each.stop();
  });

  it("holds its share of the watches upstream has not answered yet: two callers with slow executions leave a third room, and are told when to come back", async () => {
    // 8 unread places, a caller's share (25%) two; executions upstream does not answer for the test's length.
    harness = await Harness.start({ env: liveEnv({ LIVE_MAX_UNREAD_SUBSCRIPTIONS: '8', UPSTREAM_TIMEOUT_MS: '20000', METRICS: 'api' }), upstream: { tokens: TOKENS } });
    const h = harness;
    const slow = (org: string) => Array.from({ length: 4 }, (_, i) => `ex_slow_${org}_${i}`);
    for (const [org, ids] of [['org_a', slow('a')], ['org_b', slow('b')]] as const) {
      for (const id of ids) {
        putExecution(h.upstream, id, 'workflow_running', { organizationId: org });
        h.upstream.setFault(id, { kind: 'hang' });
      }
    }
    const ofA = slow('a').map((id) => watch(clients.for(h, AUTH_A), id));
    const ofB = slow('b').map((id) => watch(clients.for(h, AUTH_B), id));
    const watchers = [...ofA, ...ofB];
    // Which two of a caller's four come first is the network's choice: two of each are refused.
    await waitFor(() => [ofA, ofB].every((group) => group.filter((each) => each.ended).length === 2), () => `two refused of each caller's four; ${watchers.map((each) => each.describe()).join(', ')}`);
    const refused = watchers.filter((each) => each.ended);
    for (const each of refused) {
      expect(each.errorCodes).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      const [error] = each.results[0]!.errors!;
      expect(error!.message).toContain("at most 2 subscriptions per caller waiting for upstream's first answer. This is temporary");
      expect(error!.extensions!.retryAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(error!.extensions!.retryAfterMs).toBeLessThan(2_000);
    }
    await waitFor(() => h.instance.live.counts.unread === 4, 'the admitted watches, unread');
    // A third caller's watch of an execution upstream answers. Before, refused: A's and B's four each held all eight places.
    putExecution(h.upstream, 'ex_readable_a2', 'workflow_running', { organizationId: 'org_a' });
    const other = watch(clients.for(h, AUTH_A2), 'ex_readable_a2');
    await other.received(1);
    expect(other.errorCodes).toEqual([]);
    expect(other.updates).toHaveLength(1);
    expect(await h.metricLines('gateway_caller_share_reached_total')).toContainEqual('gateway_caller_share_reached_total{resource="unread_subscriptions"} 4');
    expect(await h.metricLines('gateway_live_bound_reached_total')).toContainEqual('gateway_live_bound_reached_total{bound="unread_subscriptions"} 0');
    for (const each of [...watchers, other]) each.stop();
  });

  describe("the pollers' readings (LIVE_MAX_HELD_BYTES)", () => {
    /** Running executions of 200 events: three of org_a, one of org_b. */
    const ids = Array.from({ length: 3 }, (_, i) => `ex_held_a_${i}`);
    const idB = 'ex_held_b';
    const executions = [
      ...ids.map((id) => makeExecution({ id, status: 'workflow_running', organizationId: 'org_a', eventCount: 200 })),
      makeExecution({ id: idB, status: 'workflow_running', organizationId: 'org_b', eventCount: 200 }),
    ];
    /** What LIVE_MAX_HELD_BYTES counts for one of them: its body as upstream sends it, but for the envelope's few bytes. */
    const reading = entryBytes({ bodyBytes: Buffer.byteLength(JSON.stringify(executions[0])), events: executions[0]!.events });

    it("a caller holds its share: a reading past it ends that execution's watches with TOO_MANY_SUBSCRIPTIONS and stops its poller; another caller still watches; a watch that ends gives its share back", async () => {
      // The process holds 10 readings, a caller 25% of that: two and a half.
      harness = await Harness.start({ env: liveEnv({ LIVE_MAX_HELD_BYTES: String(10 * reading), LIVE_POLL_ACTIVE_MS: '100', METRICS: 'api' }), upstream: { tokens: TOKENS, executions } });
      const h = harness;
      const admitted = ids.slice(0, 2).map((id) => watch(clients.for(h, AUTH_A), id));
      for (const each of admitted) await each.received(1);
      expect(h.instance.live.heldBytes).toBeGreaterThanOrEqual(2 * reading);
      expect(h.instance.live.heldBytes).toBeLessThan(2.1 * reading);
      const refused = watch(clients.for(h, AUTH_A), ids[2]!);
      // Before, kept: a caller's pollers held what its executions' bodies made them, up to UPSTREAM_MAX_BODY_BYTES each.
      await refused.end(5_000);
      expect(refused.errorCodes).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      expect(refused.updates).toEqual([]);
      expect(h.instance.live.counts.pollers).toBe(2);
      expect(h.instance.live.heldBytes).toBeLessThan(2.1 * reading);
      // Its poller stopped: no more calls for that execution, while the admitted ones are still polled.
      const calls = h.upstream.requestsFor(ids[2]!).length;
      const since = performance.now();
      await sleep(500);
      expect(h.upstream.requestsFor(ids[2]!)).toHaveLength(calls);
      expect(requestsSince(h.upstream, ids[0]!, since)).toBeGreaterThanOrEqual(2);
      const other = watch(clients.for(h, AUTH_B), idB);
      await other.received(1);
      expect(other.errorCodes).toEqual([]);
      expect(await h.metricLines('gateway_caller_share_reached_total')).toContainEqual(expect.stringMatching(/resource="live_readings"\} 1/));
      expect(await h.metricLines('gateway_live_held_bytes')).toEqual([`gateway_live_held_bytes ${h.instance.live.heldBytes}`]);
      // A's first watch ends: its reading is let go, and the third execution fits.
      admitted[0]!.stop();
      await waitFor(() => h.instance.live.counts.pollers === 2, "the first watch's poller stopped");
      const again = watch(clients.for(h, AUTH_A), ids[2]!);
      await again.received(1);
      expect(again.errorCodes).toEqual([]);
      for (const each of [admitted[1]!, again, other]) each.stop();
      await waitFor(() => h.instance.live.counts.pollers === 0, 'every poller stopped');
      expect(h.instance.live.heldBytes).toBe(0);
    });

    it('a reading that grows past the share ends its watch; one reading is kept however large, but never past the process bound', async () => {
      // The process holds 3 readings; a caller 25% of that, three quarters of one.
      harness = await Harness.start({ env: liveEnv({ LIVE_MAX_HELD_BYTES: String(3 * reading), LIVE_POLL_ACTIVE_MS: '100', METRICS: 'api' }), upstream: { tokens: TOKENS, executions } });
      const h = harness;
      // Alone, past its share: kept, so a single large execution can be watched (up to the process's bound).
      const first = watch(clients.for(h, AUTH_A), ids[0]!);
      await first.received(1);
      expect(first.errorCodes).toEqual([]);
      // Another, small one beside it is past the share: refused before any upstream call.
      putExecution(h.upstream, 'ex_held_small', 'workflow_running', { organizationId: 'org_a', eventCount: 1 });
      const small = watch(clients.for(h, AUTH_A), 'ex_held_small');
      await small.end(5_000);
      expect(small.errorCodes).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      expect(h.upstream.requestsFor('ex_held_small')).toHaveLength(0);
      // The first grows, 600 events appended: still its caller's only reading, now past the whole process's bound.
      advance(h.upstream, ids[0]!, 'workflow_running', 600);
      await first.end(5_000);
      expect(first.errorCodes).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      expect(first.updates).toHaveLength(1);
      expect(h.instance.live.heldBytes).toBe(0);
      // Counted by the bound it met, the process's; the small one met its caller's share.
      expect(await h.metricLines('gateway_live_bound_reached_total')).toContainEqual('gateway_live_bound_reached_total{bound="readings"} 1');
      expect(await h.metricLines('gateway_caller_share_reached_total')).toContainEqual(expect.stringMatching(/resource="live_readings"\} 1/));
      // Its last reading, once finished, is passed on and let go, never refused.
      const last = watch(clients.for(h, AUTH_B), idB);
      await last.received(1);
      advance(h.upstream, idB, 'workflow_succeeded', 600);
      await last.end(5_000);
      expect(last.errorCodes).toEqual([]);
      expect(last.statuses).toEqual(['WORKFLOW_RUNNING', 'WORKFLOW_SUCCEEDED']);
      expect(h.instance.live.heldBytes).toBe(0);
    });

    it('a reading whose events are no list keeps its last list, and still counts it', async () => {
      harness = await Harness.start({ env: liveEnv({ LIVE_MAX_HELD_BYTES: String(10 * reading), LIVE_POLL_ACTIVE_MS: '100' }), upstream: { tokens: TOKENS, executions } });
      const h = harness;
      const watcher = watch(clients.for(h, AUTH_A), ids[0]!);
      await watcher.received(1);
      const held = h.instance.live.heldBytes;
      expect(held).toBeGreaterThanOrEqual(reading);
      const { execution } = h.upstream.get(ids[0]!)!;
      h.upstream.setFault(ids[0]!, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution, events: 'not a list' } }) });
      const calls = h.upstream.requestsFor(ids[0]!).length;
      await waitFor(() => h.upstream.requestsFor(ids[0]!).length >= calls + 3, 'three polls of the body without events');
      // Before, 4 KiB and a few hundred bytes: the body without its events, while the poller kept them.
      expect(h.instance.live.heldBytes).toBe(held);
      expect(watcher.errorCodes).toEqual([]);
      watcher.stop();
    });
  });
});
