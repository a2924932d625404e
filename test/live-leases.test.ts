/**
 * The lease between replicas, on a real redis-server, at the level of the
 * lease itself (src/shared-state/live-leases.ts): three replicas are three
 * LiveLeases, each on its own Redis connections, as three processes would be.
 * A process that is paused (GC, SIGSTOP, a slow network) is a replica whose
 * subscriber connection is not read meanwhile.
 *
 * - The fence: a holder whose lease lapsed cannot publish after the next
 *   holder, so no watcher goes back to an older reading.
 * - A message delivered late does not silence the holder it reaches.
 * - A follower whose process blocked past REDIS_COMMAND_TIMEOUT_MS while Redis
 *   answered its lease check still follows: its late read is not Redis's silence.
 * - A holder backing off while upstream fails keeps the lease through its
 *   pause, so the others do not take turns polling a failing upstream; so does
 *   one whose poll interval is longer than the lease.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import type { Execution } from '../src/domain/execution.js';
import { createLogger } from '../src/logger.js';
import { LiveLeases, type LeaseMembership, type LeaseNews } from '../src/shared-state/live-leases.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { sleep, waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const AUTHORIZATION = 'Bearer token-a';
/**
 * A second, not 300 ms: the cases read who holds one check after another, and a loaded machine's stall of the test's
 * event loop past the lease between two of them let it lapse and another replica take it, as designed.
 */
const LEASE_MS = 1_000;
const logger = createLogger('silent');

/** A reading of `ex_fence` with this status and update time, and `events` events. */
function reading(status: string, updatedAt: string, events = 0): Execution {
  const id = 'ex_fence';
  return {
    id,
    source: { id, status, updatedAt },
    events: Array.from({ length: events }, (_, i) => ({ id: `evt_${i}`, type: 'log', createdAt: updatedAt })),
    bodyBytes: 100,
  };
}

interface Replica {
  store: RedisStore;
  leases: LiveLeases;
  member: LeaseMembership;
  heard: LeaseNews[];
  latest: Execution | undefined;
  /** Stops reading its subscriber connection, as a paused process does; returns the resume. */
  pause(): () => void;
}

describe('the live lease on a real redis-server', () => {
  let redis: RedisServer;
  const made: Replica[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    for (const replica of made.splice(0)) {
      replica.member.leave();
      await replica.store.close();
    }
    await sleep(LEASE_MS);
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /**
   * A replica whose keys are in Redis database `db` (REDIS_URL's path). Its commands have a second, not the default
   * 50 ms: a check that times out twice, or two late PINGs (Redis then counts as lost), make a replica poll for itself,
   * which a loaded machine's stalls did at 50 ms; the case about a blocked event loop sets its own.
   */
  async function replica(start: Execution, db = 0, { commandTimeoutMs = 1_000, leaseMs = LEASE_MS } = {}): Promise<Replica> {
    const store = new RedisStore(readConfig({ REDIS_URL: `${redis.url}/${db}`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: String(commandTimeoutMs) }).sharedState, logger);
    await waitFor(() => store.up, 'Redis to answer');
    const leases = new LiveLeases(store, leaseMs, logger);
    const replica: Replica = {
      store,
      leases,
      heard: [],
      latest: start,
      member: undefined as unknown as LeaseMembership,
      pause() {
        const socket = (store.subscriber as unknown as { stream: { pause(): void; resume(): void } }).stream;
        socket.pause();
        return () => socket.resume();
      },
    };
    replica.member = leases.join(AUTHORIZATION, 'ex_fence', () => replica.latest, (news) => {
      replica.heard.push(news);
      if (news.kind === 'changed') replica.latest = news.execution;
    });
    made.push(replica);
    return replica;
  }

  /** Resolves once `count` replicas' subscriptions to the pair's channel are in place. */
  async function subscribed(count: number, store: RedisStore): Promise<void> {
    const channel = store.key('updates', store.callerTag(AUTHORIZATION), 'ex_fence');
    for (;;) {
      const [, subscribers] = (await store.client.pubsub('NUMSUB', channel)) as [string, number];
      if (subscribers >= count) return;
      await sleep(10);
    }
  }

  const statuses = (replica: Replica) => replica.heard.map((news) => (news.kind === 'changed' ? `${String(news.execution.source.status)}@${String(news.execution.source.updatedAt)}` : news.kind));

  it('a holder whose lease lapsed while it was paused cannot publish its old reading after the new holder\'s', async () => {
    const first = reading('workflow_running', '12:00');
    const [a, b, c] = [await replica(first), await replica(first), await replica(first)];
    await subscribed(3, a.store);
    expect(await a.member.holds()).toBe(true);
    expect(await b.member.holds()).toBe(false);
    // A reads upstream (waiting, 12:01), and is paused before it publishes; its lease lapses.
    const resumeA = a.pause();
    await sleep(LEASE_MS + 100);
    // B takes over and publishes what it read since (running again, 12:02).
    expect(await b.member.holds()).toBe(true);
    b.member.published(first, reading('workflow_running', '12:02'));
    await waitFor(() => c.heard.length === 1, 'the new holder\'s reading at C');
    // A wakes up and publishes the reading it made before the pause.
    a.member.published(first, reading('workflow_waiting', '12:01'));
    resumeA();
    await sleep(200);
    expect(statuses(c)).toEqual(['workflow_running@12:02']);
    expect(c.latest?.source.updatedAt).toBe('12:02');
    // A knows now that it does not hold the lease.
    await waitFor(() => a.leases.held === 0, 'A to count the lease as lost');
    expect(b.leases.held).toBe(1);
  });

  it('a message that reaches the new holder after it took the lease does not silence it', async () => {
    const first = reading('workflow_running', '12:00');
    const [a, b, c] = [await replica(first), await replica(first), await replica(first)];
    await subscribed(3, a.store);
    expect(await a.member.holds()).toBe(true);
    // B's subscriber is slow: A's last reading, published while A still held the lease, reaches B late.
    const resumeB = b.pause();
    a.member.published(first, reading('workflow_running', '12:01', 1));
    await waitFor(() => c.heard.length === 1, 'A\'s reading at C');
    a.member.leave();
    expect(await b.member.holds()).toBe(true);
    resumeB();
    await waitFor(() => b.heard.length === 1, 'A\'s reading at B');
    // B, the holder, publishes its next reading: C gets it.
    b.member.published(reading('workflow_running', '12:01', 1), reading('workflow_succeeded', '12:03', 2));
    await waitFor(() => c.heard.length === 2, () => `B's reading at C: ${JSON.stringify(statuses(c))}`);
    expect(statuses(c)).toEqual(['workflow_running@12:01', 'workflow_succeeded@12:03']);
    expect(c.latest?.events).toHaveLength(2);
  });

  it('a follower whose event loop blocks past REDIS_COMMAND_TIMEOUT_MS while Redis answers its lease check still follows, not polls beside the holder', async () => {
    const first = reading('workflow_running', '12:00');
    // A command timeout of 250 ms, blocked 750 ms; a lease of 3 s, so the check asked once more after the block still
    // finds A's lease, renewed before it, however late a loaded machine sends it.
    const settings = { commandTimeoutMs: 250, leaseMs: 3_000 };
    const [a, b] = [await replica(first, 0, settings), await replica(first, 0, settings)];
    // A follower whose SUBSCRIBE Redis has not acknowledged yet polls for itself: B follows once it has. Redis has
    // both SUBSCRIBEs, and answers B's PING after its SUBSCRIBE, so B has read the acknowledgment by then.
    await subscribed(2, a.store);
    await b.store.subscriber.ping();
    const blockMs = 3 * b.store.commandTimeoutMs;
    for (let check = 1; check <= 5; check++) {
      // A renews the lease, as the holder does at each of its ticks.
      expect(await a.member.holds()).toBe(true);
      // Redis answers B's check at once; B's process is busy (a GC pause, a large body parsed) for three times the
      // command timeout, so the timeout's timer runs before the answer is read: ioredis fails a command that was answered.
      const asked = b.member.holds();
      const until = performance.now() + blockMs;
      while (performance.now() < until);
      expect(await asked, `check ${check}: B would poll upstream beside the holder`).toBe(false);
    }
    expect([a.leases.held, b.leases.held]).toEqual([1, 0]);
  });

  it("two deployments kept apart by their Redis database (same prefix and secret) each hold their own lease and hear none of the other's updates", async () => {
    // Channels are not per database: every subscriber of the channel on the server gets what is published.
    const first = reading('workflow_running', '12:00');
    const [production, productionFollower, staging] = [await replica(first, 1), await replica(first, 1), await replica(first, 2)];
    await subscribed(3, production.store);
    expect(await production.member.holds()).toBe(true);
    expect(await productionFollower.member.holds()).toBe(false);
    expect(await staging.member.holds()).toBe(true);
    production.member.published(first, reading('workflow_waiting', '12:01'));
    staging.member.published(first, reading('workflow_failed', '12:02'));
    await waitFor(() => productionFollower.heard.length >= 1, "production's update at its follower");
    await sleep(200);
    expect(statuses(productionFollower)).toEqual(['workflow_waiting@12:01']);
    expect(statuses(staging)).toEqual([]);
    expect(statuses(production)).toEqual([]);
  });

  it('a holder backing off keeps the lease through its pause and LIVE_LEASE_MS after it, then lets it go', async () => {
    const first = reading('workflow_running', '12:00');
    const [a, b] = [await replica(first), await replica(first)];
    expect(await a.member.holds()).toBe(true);
    // Upstream fails; A pauses 3 × the lease before its next poll.
    a.member.pausing(3 * LEASE_MS);
    await sleep(2 * LEASE_MS);
    expect(await b.member.holds()).toBe(false);
    await sleep(3 * LEASE_MS);
    // A died during its pause (it never polled again): B takes over once the pause and a lease have passed.
    expect(await b.member.holds()).toBe(true);
  });

  it('a holder whose poll interval outlasts the lease keeps it through the rest; a rest well within it sends nothing', async () => {
    const first = reading('workflow_running', '12:00');
    const [a, b] = [await replica(first), await replica(first)];
    const leaseKey = a.store.key('lease', a.store.callerTag(AUTHORIZATION), 'ex_fence');
    expect(await a.member.holds()).toBe(true);
    // A rest of a tenth of the lease: the lease is left as the poll renewed it.
    a.member.resting(LEASE_MS / 10);
    await sleep(50);
    expect(await a.store.client.pttl(leaseKey)).toBeLessThanOrEqual(LEASE_MS);
    // A poll interval twice the lease (LIVE_POLL_*_MS above LIVE_LEASE_MS): kept through it, so B does not poll too.
    expect(await a.member.holds()).toBe(true);
    a.member.resting(2 * LEASE_MS);
    await sleep(1.5 * LEASE_MS);
    expect(await b.member.holds()).toBe(false);
    // A died in its rest: B takes over once the rest and a lease have passed.
    await sleep(2 * LEASE_MS);
    expect(await b.member.holds()).toBe(true);
  });
});
