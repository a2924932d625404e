/**
 * The details of the live lease (src/shared-state/live-leases.ts) on a real
 * redis-server, each checked where it lands: in Redis (keys, PTTLs, channel
 * subscribers, what is published) or in what a replica hears. A replica is a
 * RedisStore and a LiveLeases on their own connections, as a process would be;
 * messages another release or a faulty writer might send are published raw.
 *
 * - Pause records: own vs another replica's, a shorter one never cuts a longer
 *   one short, the exact duration.
 * - Outage records: the start as the holder saw it, kept through the pause plus
 *   a lease, cleared by a reading, never in the future; forgotten when Redis
 *   cannot say.
 * - Lease keeping: renewals every third of the lease while a poll is on its
 *   way, rests that need keeping and those that do not, giving the lease back.
 * - What followers take: another format, sequence gaps, deltas whose body size
 *   says too little, large deltas, fields carried along.
 * - A publish that failed: the next reading goes whole, unless the lease was
 *   lost meanwhile.
 * - The deaf fallback when the subscription connection stays away, the
 *   SUBSCRIBE refusal warning, and the errors counter.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import type { Execution } from '../src/domain/execution.js';
import { storedJson } from '../src/domain/json-depth.js';
import { createLogger } from '../src/logger.js';
import { LiveLeases, type LeaseMembership, type LeaseNews } from '../src/shared-state/live-leases.js';
import { FORMAT, RedisStore, sealed, unsealed } from '../src/shared-state/redis-store.js';
import { captureLog, type LoggedLine } from './support/captured-log.js';
import { sleep, waitFor, waitForAnswer } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const AUTHORIZATION = 'Bearer token-a';
const WARN = 40;
const INFO = 30;
const silent = createLogger('silent');

/** A reading of `id` with this status, `events` events and `extra` fields. */
function reading(id: string, status: string, events = 0, extra: Partial<Execution> & { fields?: Record<string, unknown> } = {}): Execution {
  const { fields, ...rest } = extra;
  return {
    id,
    source: { id, status, ...fields },
    events: Array.from({ length: events }, (_, i) => ({ id: `evt_${i}`, type: 'log' })),
    bodyBytes: 100,
    ...rest,
  };
}

interface Replica {
  store: RedisStore;
  leases: LiveLeases;
  member: LeaseMembership;
  heard: LeaseNews[];
  latest: Execution | undefined;
  logs: LoggedLine[];
  keys: { lease: string; outage: string; pause: string; channel: string };
}

describe('the live lease in detail, on a real redis-server', () => {
  let redis: RedisServer;
  let admin: Redis;
  const made: Replica[] = [];
  const others: Redis[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
  });
  afterEach(async () => {
    // Whatever a test denied, every later test starts from an open server.
    await admin.config('SET', 'maxclients', '10000');
    await admin.call('ACL', 'SETUSER', 'default', 'on', 'nopass', 'allkeys', 'allchannels', 'allcommands');
    for (const replica of made.splice(0)) {
      replica.member.leave();
      await replica.store.close();
    }
    for (const connection of others.splice(0)) connection.disconnect();
    await admin.flushall();
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  /**
   * A replica watching `id` (from `start`), with a lease of `leaseMs`; its LiveLeases' log lines in `logs`.
   * `connected` runs once its command connection is up, before it joins the pair (which makes its subscription connection).
   */
  async function replica(
    id: string,
    { start, leaseMs = 3_000, env = {}, connected }: { start?: Execution; leaseMs?: number; env?: Record<string, string>; connected?: () => Promise<void> } = {},
  ): Promise<Replica> {
    // A second for each command, not the default 50 ms: the assertions read Redis on the replica's own connection, and a
    // machine busy with other suites may take longer than 50 ms to read an answer.
    const store = new RedisStore(readConfig({ REDIS_URL: redis.url, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000', ...env }).sharedState, silent);
    await waitFor(() => store.up, 'Redis to answer');
    await connected?.();
    const { logger, lines: logs } = captureLog('debug');
    const leases = new LiveLeases(store, leaseMs, logger);
    const tag = store.callerTag(AUTHORIZATION);
    const replica: Replica = {
      store,
      leases,
      heard: [],
      latest: start,
      logs,
      member: undefined as unknown as LeaseMembership,
      keys: { lease: store.key('lease', tag, id), outage: store.key('outage', tag, id), pause: store.key('pause', tag, id), channel: store.key('updates', tag, id) },
    };
    replica.member = leases.join(AUTHORIZATION, id, () => replica.latest, (news) => {
      replica.heard.push(news);
      if (news.kind === 'changed') replica.latest = news.execution;
    });
    made.push(replica);
    return replica;
  }

  async function numsub(channel: string): Promise<number> {
    const [, subscribers] = (await admin.pubsub('NUMSUB', channel)) as [string, number];
    return subscribers;
  }

  /** Resolves once `count` subscriptions to `channel` are in place. */
  async function subscribed(count: number, channel: string): Promise<void> {
    await waitForAnswer(async () => (await numsub(channel)) >= count, `${count} subscribers`, 10_000);
  }

  /** Both replicas subscribed, and each has read Redis's acknowledgment (its PING is answered after its SUBSCRIBE). */
  async function following(...replicas: Replica[]): Promise<void> {
    await subscribed(replicas.length, replicas[0]!.keys.channel);
    for (const each of replicas) await each.store.subscriber.ping();
  }

  /** What is published on `channel`, parsed, as a subscriber of its own hears it. */
  async function listen(channel: string): Promise<Record<string, unknown>[]> {
    const listener = new Redis(redis.url);
    others.push(listener);
    const messages: Record<string, unknown>[] = [];
    // Sealed to the channel (src/shared-state/live-leases.ts): what a follower reads is the JSON behind the seal.
    listener.on('message', (heardOn: string, text: string) => messages.push(JSON.parse(unsealed(SECRET, heardOn, text)!) as Record<string, unknown>));
    await listener.subscribe(channel);
    return messages;
  }

  /** Cuts `connection` and keeps it from coming back: Redis is at maxclients. This file's own redis-server only. */
  async function cutForGood(connection: Redis): Promise<void> {
    const clientsNow = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))![1]);
    await admin.config('SET', 'maxclients', String(clientsNow - 1));
    await kill(connection);
  }

  async function kill(connection: Redis): Promise<void> {
    const port = (connection as unknown as { stream: { localPort: number } }).stream.localPort;
    await admin.client('KILL', 'ADDR', `127.0.0.1:${port}`);
  }

  const warnings = (replica: Replica, start: string) => replica.logs.filter((line) => line.level === WARN && line.msg.startsWith(start));

  describe('pause and outage records', () => {
    it('a pause is recorded for exactly its length, counts for the other replicas only, and a shorter one leaves a longer one be', async () => {
      const [a, b] = [await replica('ex_pause'), await replica('ex_pause')];
      await following(a, b);
      a.member.pause(2_000);
      // Same connection as the MARK_PAUSE: read after it, with no sleep.
      const recorded = await a.store.client.pttl(a.keys.pause);
      expect(recorded).toBeGreaterThan(1_500);
      expect(recorded).toBeLessThanOrEqual(2_000);
      expect(await a.store.client.get(a.keys.pause)).toBe(a.leases.replica);
      // A's own client keeps A's pauses: the lease check does not hand it back as another's.
      expect(await a.member.holds()).toBe(true);
      expect(a.member.pausedFor()).toBeUndefined();
      expect(await b.member.holds()).toBe(false);
      expect(b.member.pausedFor()).toBeGreaterThan(1_000);
      expect(b.member.pausedFor()).toBeLessThanOrEqual(2_000);
      // B is asked for a shorter pause: A's longer one stays, by A.
      b.member.pause(500);
      expect(await b.store.client.get(b.keys.pause)).toBe(a.leases.replica);
      expect(await b.store.client.pttl(b.keys.pause)).toBeGreaterThan(1_000);
      // A longer one replaces it.
      b.member.pause(5_000);
      expect(await b.store.client.get(b.keys.pause)).toBe(b.leases.replica);
      expect(await b.store.client.pttl(b.keys.pause)).toBeGreaterThan(4_000);
      // A pause of a second or less from another replica counts too.
      await admin.del(a.keys.pause);
      b.member.pause(800);
      expect(await b.store.client.pttl(b.keys.pause)).toBeGreaterThan(0);
      expect(await a.member.holds()).toBe(true);
      expect(a.member.pausedFor()).toBeGreaterThan(0);
      expect(a.member.pausedFor()).toBeLessThanOrEqual(800);
    });

    it('an outage is recorded from its start for the pause plus a lease, read by every replica, cleared by a reading; one in the future reads as now', async () => {
      const leaseMs = 3_000;
      const [a, b] = [await replica('ex_outage', { leaseMs }), await replica('ex_outage', { leaseMs })];
      await following(a, b);
      expect(await a.member.holds()).toBe(true);
      const before = Date.now();
      a.member.failing(performance.now() - 5_000, 1_000);
      const stored = Number(await a.store.client.get(a.keys.outage));
      // Wall-clock, as the replicas share it: five seconds before the call.
      expect(stored).toBeGreaterThanOrEqual(before - 5_000 - 50);
      expect(stored).toBeLessThanOrEqual(Date.now() - 5_000 + 50);
      const ttl = await a.store.client.pttl(a.keys.outage);
      expect(ttl).toBeGreaterThan(1_000 + leaseMs - 500);
      expect(ttl).toBeLessThanOrEqual(1_000 + leaseMs);
      expect(await b.member.holds()).toBe(false);
      const since = b.member.outageSince()!;
      expect(performance.now() - since).toBeGreaterThan(4_700);
      expect(performance.now() - since).toBeLessThan(5_000 + 1_000);
      // A reading from upstream ends it, for everyone.
      a.member.recovered();
      expect(await a.store.client.exists(a.keys.outage)).toBe(0);
      expect(await b.member.holds()).toBe(false);
      expect(b.member.outageSince()).toBeUndefined();
      // Another host's clock runs a minute ahead: its start is now, not a minute from now.
      await admin.set(a.keys.outage, String(Date.now() + 60_000), 'PX', 10_000);
      expect(await b.member.holds()).toBe(false);
      expect(b.member.outageSince()).toBeLessThanOrEqual(performance.now());
      expect(b.member.outageSince()).toBeGreaterThan(performance.now() - 1_000);
    });

    it('a lease check Redis refuses forgets the outage it read before (Redis cannot say), polls, and counts the error; so does a background command', async () => {
      const [a, b] = [await replica('ex_refused'), await replica('ex_refused')];
      await following(a, b);
      expect(await a.member.holds()).toBe(true);
      a.member.failing(performance.now() - 2_000, 1_000);
      expect(await b.member.holds()).toBe(false);
      expect(b.member.outageSince()).toBeDefined();
      const errorsBefore = b.leases.errors;
      // A Redis that refuses scripts answers everything else: B's connection stays up.
      await admin.call('ACL', 'SETUSER', 'default', '-eval');
      expect(await b.member.holds()).toBe(true);
      expect(b.store.up).toBe(true);
      expect(b.member.outageSince()).toBeUndefined();
      expect(b.member.pausedFor()).toBeUndefined();
      expect(b.leases.errors).toBe(errorsBefore + 1);
      b.member.pause(1_000);
      await waitFor(() => b.leases.errors === errorsBefore + 2, () => `the refused MARK_PAUSE counted: ${b.leases.errors - errorsBefore}`, 5_000);
      expect(await admin.exists(b.keys.pause)).toBe(0);
    });
  });

  describe('keeping and giving up the lease', () => {
    it('a poll on its way renews the lease every third of it, and not after it ended; a rest after it counts from the last renewal', async () => {
      const leaseMs = 3_000;
      const a = await replica('ex_polling', { leaseMs });
      expect(await a.member.holds()).toBe(true);
      const stop = a.member.polling();
      // When the lease was last renewed, as each PTTL says (a renewal sets it back to leaseMs): the least of each
      // renewal's estimates, the one read with the least delay.
      const renewals: number[] = [];
      const startedAt = performance.now();
      while (performance.now() - startedAt < 3_300) {
        const left = await a.store.client.pttl(a.keys.lease);
        const at = performance.now() - (leaseMs - left);
        if (renewals.length === 0 || at - renewals[renewals.length - 1]! > 300) renewals.push(at);
        else renewals[renewals.length - 1] = Math.min(renewals[renewals.length - 1]!, at);
        await sleep(20);
      }
      stop();
      const gaps = renewals.slice(1).map((at, i) => Math.round(at - renewals[i]!));
      expect(gaps.length, `renewals ${JSON.stringify(gaps)}`).toBeGreaterThanOrEqual(2);
      // Every third of the lease (1,000 ms); timers on a busy machine only fire later, never earlier.
      expect(Math.min(...gaps), `gaps between renewals: ${JSON.stringify(gaps)}`).toBeLessThan(1_250);
      // The poll took longer than the lease, but it was renewed a moment ago: a short rest needs no keeping.
      a.member.resting(300);
      const afterRest = await a.store.client.pttl(a.keys.lease);
      expect(afterRest).toBeLessThanOrEqual(leaseMs);
      await sleep(1_500);
      // No renewal since the poll ended: the lease only ran down.
      expect(await a.store.client.pttl(a.keys.lease)).toBeLessThanOrEqual(afterRest - 1_300);
    });

    it('a renewal that finds the lease taken by another stops counting it held', async () => {
      const a = await replica('ex_stolen', { leaseMs: 600 });
      expect(await a.member.holds()).toBe(true);
      expect(a.leases.held).toBe(1);
      const stop = a.member.polling();
      await admin.set(a.keys.lease, 'another-replica', 'PX', 60_000);
      await waitFor(() => a.leases.held === 0, 'A to count the lease lost at its next renewal', 3_000);
      stop();
      expect(await admin.get(a.keys.lease)).toBe('another-replica');
    });

    it('a rest within three quarters of the lease sends nothing; a longer one keeps the lease through the rest plus a lease', async () => {
      const leaseMs = 3_000;
      const a = await replica('ex_resting', { leaseMs });
      expect(await a.member.holds()).toBe(true);
      a.member.resting(leaseMs / 2);
      expect(await a.store.client.pttl(a.keys.lease)).toBeLessThanOrEqual(leaseMs);
      expect(await a.member.holds()).toBe(true);
      a.member.resting(0.9 * leaseMs);
      const kept = await a.store.client.pttl(a.keys.lease);
      expect(kept).toBeGreaterThan(0.9 * leaseMs + leaseMs - 500);
      expect(kept).toBeLessThanOrEqual(0.9 * leaseMs + leaseMs);
    });

    it('leaving unsubscribes and gives the lease back; a lease taken by a check still on its way when the poller left is given back too', async () => {
      const [a, b] = [await replica('ex_leave'), await replica('ex_leave')];
      await subscribed(2, a.keys.channel);
      expect(await b.member.holds()).toBe(true);
      b.member.leave();
      expect(b.leases.held).toBe(0);
      await waitForAnswer(async () => (await numsub(a.keys.channel)) === 1, 'B to unsubscribe');
      await waitForAnswer(async () => (await admin.exists(a.keys.lease)) === 0, 'B to give the lease back');
      expect(await a.member.holds()).toBe(true);
      a.member.leave();
      await waitForAnswer(async () => (await admin.exists(a.keys.lease)) === 0, 'A to give the lease back');
      // C asks, and its last watcher leaves before the answer: the lease it was given goes back at once.
      const c = await replica('ex_leave');
      const asked = c.member.holds();
      c.member.leave();
      expect(await asked).toBe(false);
      // Same connection as the RELEASE, which was sent before the answer reached the caller.
      expect(await c.store.client.exists(c.keys.lease)).toBe(0);
      expect(c.leases.held).toBe(0);
    });

    it('a lease check that timed out while Redis answered is asked again and counted', async () => {
      // A longer command timeout than the default 50 ms: only the blocked checks time out on a busy machine.
      const [a, b] = [await replica('ex_timeout'), await replica('ex_timeout', { env: { REDIS_COMMAND_TIMEOUT_MS: '200' } })];
      await following(a, b);
      const blockMs = 3 * b.store.commandTimeoutMs;
      for (let check = 1; check <= 2; check++) {
        expect(await a.member.holds()).toBe(true);
        const asked = b.member.holds();
        const until = performance.now() + blockMs;
        while (performance.now() < until);
        expect(await asked).toBe(false);
        expect(b.leases.errors).toBe(check);
      }
    });
  });

  describe('what a follower takes from the channel', () => {
    /**
     * A follower of `id` holding `start`, subscribed; `next(fields)` publishes a delta on its channel, sealed as a
     * replica with the secret would (the JSON otherwise raw), and resolves with what B heard of it.
     */
    async function follower(id: string, start: Execution | undefined) {
      const b = await replica(id, { start });
      await following(b);
      const publish = (fields: Record<string, unknown>) =>
        admin.publish(b.keys.channel, sealed(SECRET, b.keys.channel, JSON.stringify({ v: FORMAT, kind: 'changed', db: 0, ...fields })));
      // Redis delivers in order, and each delta taken is heard as a change or a gap: once B heard something, it
      // has had every message published before too.
      const next = async (fields: Record<string, unknown>): Promise<LeaseNews[]> => {
        const before = b.heard.length;
        await publish(fields);
        await waitFor(() => b.heard.length > before, `B to hear ${JSON.stringify(fields).slice(0, 100)}`);
        return b.heard.slice(before);
      };
      return { b, publish, next };
    }

    const statusOf = (news: LeaseNews[]) => news.map((each) => (each.kind === 'changed' ? String(each.execution.source.status) : each.kind));

    it('a message of another format is ignored; a skipped sequence number is a gap; a repeated or an older one is a replay, dropped unheard and counted', async () => {
      const { b, publish, next } = await follower('ex_seq', reading('ex_seq', 'running'));
      await publish({ v: FORMAT + 1, from: 'h', seq: 1, count: 0, set: { status: 'other-format' }, bodyBytes: 10_000 });
      expect(statusOf(await next({ from: 'h', seq: 1, count: 0, set: { status: 's1' }, bodyBytes: 10_000 }))).toEqual(['s1']);
      expect(statusOf(await next({ from: 'h', seq: 3, count: 0, set: { status: 's3' }, bodyBytes: 10_000 }))).toEqual(['gap']);
      expect(statusOf(await next({ from: 'h', seq: 4, count: 0, set: { status: 's4' }, bodyBytes: 10_000 }))).toEqual(['s4']);
      // Redis delivers a message once: a publisher's number heard again, or an older one, is someone publishing it anew.
      await publish({ from: 'h', seq: 4, count: 0, set: { status: 's4-again' }, bodyBytes: 10_000 });
      await publish({ from: 'h', seq: 2, count: 0, set: { status: 's2' }, bodyBytes: 10_000 });
      // Another publisher's number is its own: in sequence from where it was, a replay of it no later.
      expect(statusOf(await next({ from: 'g', seq: 7, count: 0, set: { status: 'g7' }, bodyBytes: 10_000 }))).toEqual(['g7']);
      await publish({ from: 'h', seq: 4, count: 0, set: { status: 's4-after-g' }, bodyBytes: 10_000 });
      expect(statusOf(await next({ from: 'h', seq: 5, count: 0, set: { status: 's5' }, bodyBytes: 10_000 }))).toEqual(['s5']);
      expect(b.latest?.source.status).toBe('s5');
      expect(b.leases.dropped).toEqual({ unsealed: 0, replayed: 3, stale: 0 });
    });

    it('a genuine failure or outage notice published again is dropped: one numbered no later than its publisher\'s last, or sent over 30 s from now (a watch started after the original); each counted', async () => {
      const { b, publish, next } = await follower('ex_replay', reading('ex_replay', 'running'));
      const notice = { kind: 'outage', from: 'h', seq: 1, at: Date.now(), message: 'upstream fails', extensions: { code: 'UPSTREAM_UNAVAILABLE' } };
      expect(statusOf(await next(notice))).toEqual(['outage']);
      // Sealed as the holder sealed it (whoever can SUBSCRIBE can capture it): before, told to the watchers each time.
      await publish(notice);
      await publish({ ...notice, seq: 2, at: Date.now() - 31_000 });
      await publish({ ...notice, seq: 3, at: Date.now() + 31_000 });
      await publish({ ...notice, seq: 4, at: undefined });
      expect(statusOf(await next({ ...notice, kind: 'failed', seq: 5, at: Date.now(), extensions: { code: 'NOT_FOUND' } }))).toEqual(['failed']);
      expect(b.leases.dropped).toEqual({ unsealed: 0, replayed: 1, stale: 3 });
    });

    it('a publisher that joins a pair again goes on numbering where it was, so its followers take its messages as new', async () => {
      const id = 'ex_rejoin';
      const [a, b] = [await replica(id), await replica(id, { start: reading(id, 'running') })];
      await following(a, b);
      const messages = await listen(a.keys.channel);
      expect(await a.member.holds()).toBe(true);
      a.member.published(reading(id, 'running'), reading(id, 'waiting'));
      await waitFor(() => b.heard.length === 1, 'the first reading at B');
      a.member.leave();
      await waitForAnswer(async () => (await admin.exists(a.keys.lease)) === 0, 'A to give the lease back');
      // The pair's last watcher at A left and a new one came: a new membership, in the same process.
      const again = a.leases.join(AUTHORIZATION, id, () => undefined, () => {});
      try {
        await subscribed(2, a.keys.channel);
        await a.store.subscriber.ping();
        expect(await again.holds()).toBe(true);
        again.published(reading(id, 'waiting'), reading(id, 'running', 1));
        await waitFor(() => b.heard.length === 2, 'the second reading at B');
        // Numbered from 1 again, it was a replay of the first to B, and dropped.
        expect(messages.map((message) => message.seq)).toEqual([1, 2]);
        expect(b.heard.map((news) => news.kind)).toEqual(['changed', 'changed']);
        expect(b.latest?.source.status).toBe('running');
        expect(b.leases.dropped).toEqual({ unsealed: 0, replayed: 0, stale: 0 });
      } finally {
        again.leave();
      }
    });

    it('a delta whose bodyBytes says less than its base and itself hold is a gap; a whole one, or one over a longer reading, counts itself alone', async () => {
      const blob = 'x'.repeat(40_000);
      const base = reading('ex_size', 'running', 3, { bodyBytes: 100_000, fields: { blob } });
      const { b, next } = await follower('ex_size', base);
      // The least an honest holder says for a delta over B's reading: B's reading less the field replaced, plus the delta, less the slack.
      const least = async (from: string, delta: Record<string, unknown>) => {
        const replaced = storedJson({ status: 'running' }).length;
        let bodyBytes = 0;
        for (let round = 0; round < 3; round++) {
          const length = JSON.stringify({ v: FORMAT, kind: 'changed', db: 0, from, ...delta, bodyBytes }).length;
          bodyBytes = base.bodyBytes - replaced + length - 1_024;
        }
        return bodyBytes;
      };
      const short = { seq: 1, count: 3, set: { status: 'short' } };
      expect(statusOf(await next({ from: 'short', ...short, bodyBytes: (await least('short', short)) - 500 }))).toEqual(['gap']);
      const honest = { seq: 1, count: 3, set: { status: 'honest' } };
      expect(statusOf(await next({ from: 'honest', ...honest, bodyBytes: (await least('honest', honest)) + 10 }))).toEqual(['honest']);
      // A new holder's first reading, whole: the blob is gone, and the reading is what the delta says.
      expect(statusOf(await next({ from: 'whole', seq: 1, count: 3, whole: true, set: { id: 'ex_size', status: 'whole' }, bodyBytes: 300 }))).toEqual(['whole']);
      expect(b.latest?.source).toEqual({ id: 'ex_size', status: 'whole' });
      // B read upstream later than the holder (3 events, the holder's delta starts at 2): its size is the delta's.
      b.latest = base;
      const events = [{ id: 'evt_2', type: 'log' }, { id: 'evt_3', type: 'log' }];
      expect(statusOf(await next({ from: 'behind', seq: 1, count: 2, set: { status: 'behind' }, events, bodyBytes: 5_000 }))).toEqual(['behind']);
      expect(b.latest?.events).toHaveLength(4);
      expect(b.latest?.bodyBytes).toBe(5_000);
    });

    it('a holder\'s first reading reaches a replica with none as a gap naming it; the next ones carry the request id, unreadable events and large fields', async () => {
      const id = 'ex_carry';
      const { b } = await follower(id, undefined);
      const a = await replica(id);
      await following(a, b);
      expect(await a.member.holds()).toBe(true);
      const first = reading(id, 'running', 2);
      a.member.published(undefined, first);
      await waitFor(() => b.heard.length === 1, 'the first reading at B');
      expect(b.heard[0]).toEqual({ kind: 'gap', whole: { source: first.source, count: 2 } });
      b.latest = first;
      const second = reading(id, 'waiting', 3, { upstreamRequestId: 'req_42', eventsUnreadable: true });
      a.member.published(first, second);
      await waitFor(() => b.heard.length === 2, 'the second reading at B');
      expect(b.latest).toMatchObject({ upstreamRequestId: 'req_42', eventsUnreadable: true, source: { status: 'waiting' } });
      // A field of 200 kB: far within what a subscriber's output buffer takes, published as it is.
      const large = 'y'.repeat(200_000);
      const third = reading(id, 'waiting', 3, { bodyBytes: 250_000, fields: { output: large } });
      a.member.published(second, third);
      await waitFor(() => b.heard.length === 3, 'the third reading at B');
      expect(b.heard[2]!.kind).toBe('changed');
      expect(b.latest?.source.output).toBe(large);
    });
  });

  describe('a publish that failed', () => {
    it('refused by Redis (an ACL without PUBLISH): the holder gives the lease up and polls for itself, a replica that can publish takes it and its readings reach the followers', async () => {
      const id = 'ex_no_publish';
      await admin.call('ACL', 'SETUSER', 'no-publish', 'on', '>a-password', 'allkeys', 'allchannels', '+@all', '-publish');
      try {
        const leaseMs = 1_000;
        const noPublish = { REDIS_URL: `redis://no-publish:a-password@127.0.0.1:${redis.port}` };
        const a = await replica(id, { leaseMs, env: noPublish });
        const [b, c] = [await replica(id, { leaseMs, start: reading(id, 'running') }), await replica(id, { leaseMs, start: reading(id, 'running') })];
        await following(a, b, c);
        expect(await a.member.holds()).toBe(true);
        a.member.published(reading(id, 'running'), reading(id, 'running', 1));
        await waitFor(() => a.leases.errors >= 1, 'the refused publish');
        // A polls for itself, without the lease; renewed at each check before, it kept B and C following for good.
        expect(await a.member.holds()).toBe(true);
        expect(a.leases.held).toBe(0);
        expect(await b.member.holds()).toBe(true);
        expect(b.leases.held).toBe(1);
        expect(await c.member.holds()).toBe(false);
        // A follows B, whose publishes go through, as C does.
        expect(await a.member.holds()).toBe(false);
        const changed = reading(id, 'waiting', 2);
        b.member.published(reading(id, 'running'), changed);
        await waitFor(() => c.heard.length === 1 && a.heard.length === 1, 'B\'s reading at A and C');
        expect(c.latest?.source.status).toBe('waiting');
      } finally {
        await admin.call('ACL', 'DELUSER', 'no-publish');
      }
    });

    it('makes the next published reading whole, so a follower that missed the one before is set right', async () => {
      const id = 'ex_owed';
      const [a, b] = [await replica(id), await replica(id, { start: reading(id, 'running') })];
      await following(a, b);
      const messages = await listen(a.keys.channel);
      expect(await a.member.holds()).toBe(true);
      await admin.call('ACL', 'SETUSER', 'default', '-eval');
      a.member.published(reading(id, 'running'), reading(id, 'waiting', 0, { fields: { at: '12:01' } }));
      await waitFor(() => a.leases.errors === 1, 'the refused publish');
      await admin.call('ACL', 'SETUSER', 'default', '+eval');
      a.member.published(reading(id, 'waiting', 0, { fields: { at: '12:01' } }), reading(id, 'waiting', 0, { fields: { at: '12:02' } }));
      await waitFor(() => b.heard.length === 1, 'the reading at B');
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ seq: 2, whole: true, set: { status: 'waiting', at: '12:02' } });
      expect(b.latest?.source).toEqual({ id, status: 'waiting', at: '12:02' });
    });

    it('is not made up for after the lease was lost meanwhile: the holder that took it next published for it', async () => {
      const id = 'ex_owed_lost';
      const [a, b] = [await replica(id), await replica(id)];
      await following(a, b);
      const messages = await listen(a.keys.channel);
      expect(await a.member.holds()).toBe(true);
      await admin.call('ACL', 'SETUSER', 'default', '-eval');
      a.member.published(reading(id, 'running'), reading(id, 'waiting'));
      await waitFor(() => a.leases.errors === 1, 'the refused publish');
      await admin.call('ACL', 'SETUSER', 'default', '+eval');
      // A's lease lapses (A was paused) and B takes it, then B's last watcher leaves and A takes it again.
      await admin.del(a.keys.lease);
      expect(await b.member.holds()).toBe(true);
      expect(await a.member.holds()).toBe(false);
      b.member.leave();
      await waitForAnswer(async () => (await admin.exists(a.keys.lease)) === 0, 'B to give the lease back');
      expect(await a.member.holds()).toBe(true);
      a.member.published(reading(id, 'waiting'), reading(id, 'succeeded'));
      await waitFor(() => messages.some((message) => (message.set as { status?: string } | undefined)?.status === 'succeeded'), 'A\'s reading on the channel');
      // A delta, and no marker before it sending every follower upstream.
      expect(messages.map((message) => [message.seq, message.count, message.set])).toEqual([[2, 0, { status: 'succeeded' }]]);
    });
  });

  describe('the subscription connection', () => {
    it('a follower whose subscription connection stays away while commands are answered polls after a second, says so once per loss, and counts from the command connection\'s return', async () => {
      const id = 'ex_deaf';
      const leaseMs = 60_000;
      const [a, b] = [await replica(id, { leaseMs }), await replica(id, { leaseMs })];
      await following(a, b);
      expect(await a.member.holds()).toBe(true);
      expect(await b.member.holds()).toBe(false);
      const retries: { at: number; delay: number }[] = [];
      b.store.subscriber.on('reconnecting', (delay: number) => retries.push({ at: performance.now(), delay }));
      const deaf = () => warnings(b, 'redis subscription connection down');

      await cutForGood(b.store.subscriber);
      await waitFor(() => b.store.subscriber.status !== 'ready', 'the subscription connection to drop', 5_000);
      const droppedAt = performance.now();
      // A drop ioredis mends at once is covered by the read when it is back: B still follows.
      expect(await b.member.holds()).toBe(false);
      // Its reconnection attempts, each refused, do not start the second again.
      await sleep(1_800 - (performance.now() - droppedAt));
      expect(await b.member.holds()).toBe(true);
      expect(await b.member.holds()).toBe(true);
      expect(deaf()).toHaveLength(1);
      expect(b.store.up).toBe(true);

      // The command connection drops too and comes back while the subscriber's next attempt is still far off: the
      // subscriber's time away counts from then, as after a Redis restart.
      const last = retries[retries.length - 1];
      if (!last || last.at + last.delay - performance.now() < 800) {
        const seen = retries.length;
        await waitFor(() => retries.length > seen, 'the subscriber\'s next attempt', 5_000);
      }
      await kill(b.store.client);
      await waitFor(() => !b.store.up, 'B to count Redis lost', 5_000);
      await waitFor(() => b.store.up, 'B\'s command connection back', 5_000);
      expect(b.store.subscriber.status).not.toBe('ready');
      expect(await b.member.holds()).toBe(false);

      // Back: B follows again, and the next loss is told again.
      await admin.config('SET', 'maxclients', '10000');
      await waitFor(() => b.store.subscriber.status === 'ready', 'the subscription connection back', 10_000);
      await waitFor(() => b.logs.some((line) => line.level === INFO && line.msg.startsWith('redis subscription connection back')), 'the line saying it is back');
      await b.store.subscriber.ping();
      expect(await b.member.holds()).toBe(false);
      await cutForGood(b.store.subscriber);
      await waitFor(() => b.store.subscriber.status !== 'ready', 'the subscription connection to drop again', 5_000);
      const deadline = performance.now() + 6_000;
      while (!(await b.member.holds())) {
        if (performance.now() > deadline) throw new Error('B never polled for itself after the second loss');
        await sleep(100);
      }
      expect(deaf()).toHaveLength(2);
    }, 30_000);

    it("a lease check waits for the answer to the pair's first SUBSCRIBE, up to a second: a replica whose subscription connection is being made follows at once, one whose connection Redis refuses polls for itself meanwhile; each hears the acknowledgment that came after its check, a holder and a replica acknowledged before its first check do not", async () => {
      const id = 'ex_first_subscribe';
      const a = await replica(id);
      await following(a);
      expect(await a.member.holds()).toBe(true);
      // B's subscription connection is made as it joins the pair, and its SUBSCRIBE sent once that is ready: before,
      // B's first check came before Redis acknowledged it, and B read upstream before it could hear A.
      const b = await replica(id);
      expect(b.store.subscriber.status).not.toBe('ready');
      expect(await b.member.holds()).toBe(false);
      // Redis takes no new client: the subscription connection of a replica that joins now is refused until it does.
      const full = async () => {
        const clientsNow = Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))![1]);
        await admin.config('SET', 'maxclients', String(clientsNow));
      };
      // C's check waits a second, then C polls for itself.
      const c = await replica(id, { connected: full });
      const askedAt = performance.now();
      expect(await c.member.holds()).toBe(true);
      expect(performance.now() - askedAt).toBeGreaterThanOrEqual(900);
      await admin.config('SET', 'maxclients', '10000');
      await subscribed(3, c.keys.channel);
      await c.store.subscriber.ping();
      expect(await c.member.holds()).toBe(false);
      expect([a.leases.held, b.leases.held, c.leases.held]).toEqual([1, 0, 0]);
      // B's acknowledgment came while its check waited, C's after C read upstream for itself: each hears it, and its
      // poller, with a reading or a poll on its way, reads upstream once more (src/live/poller.ts). D, acknowledged
      // before its first check, has read nothing the holder's messages could outdate.
      const d = await replica(id);
      await subscribed(4, d.keys.channel);
      await d.store.subscriber.ping();
      expect(await d.member.holds()).toBe(false);
      expect([a.heard, b.heard, c.heard, d.heard]).toEqual([[], [{ kind: 'subscribed' }], [{ kind: 'subscribed' }], []]);
      // A holder reads upstream at each of its ticks: an acknowledgment after it took the lease is nothing to it.
      const e = await replica(`${id}_held`, { connected: full });
      expect(await e.member.holds()).toBe(true);
      expect(e.leases.held).toBe(1);
      await admin.config('SET', 'maxclients', '10000');
      await subscribed(1, e.keys.channel);
      await e.store.subscriber.ping();
      expect(e.heard).toEqual([]);
    });

    it('a refused SUBSCRIBE is one warning until one is acknowledged; the next refusal after that is told again', async () => {
      await admin.call('ACL', 'SETUSER', 'default', 'resetchannels');
      const x = await replica('ex_refusal_1');
      const refusals = () => warnings(x, 'redis refused to SUBSCRIBE');
      await waitFor(() => refusals().length === 1, 'the refusal', 5_000);
      // Refused, X polls for itself beside the holder.
      await admin.set(x.keys.lease, 'another-replica', 'PX', 60_000);
      expect(await x.member.holds()).toBe(true);
      await admin.call('ACL', 'SETUSER', 'default', 'allchannels');
      const tag = x.store.callerTag(AUTHORIZATION);
      const second = x.leases.join(AUTHORIZATION, 'ex_refusal_2', () => undefined, () => undefined);
      await subscribed(1, x.store.key('updates', tag, 'ex_refusal_2'));
      await x.store.subscriber.ping();
      await admin.call('ACL', 'SETUSER', 'default', 'resetchannels');
      // Redis closes a connection subscribed to a channel it no longer allows; X subscribes again when it is
      // back, or for a new pair: refused either way.
      await waitFor(() => x.store.subscriber.status === 'ready', 'the subscription connection', 10_000);
      const third = x.leases.join(AUTHORIZATION, 'ex_refusal_3', () => undefined, () => undefined);
      await waitFor(() => refusals().length === 2, () => `the second refusal told: ${refusals().length}`, 5_000);
      second.leave();
      third.leave();
      expect(refusals()).toHaveLength(2);
    });

    it('a SUBSCRIBE failed at once by a socket that cannot be written is not asked again: the connection\'s next \'ready\' subscribes the pair', async () => {
      const x = await replica('ex_unwritable_1');
      await following(x);
      const before = x.leases.errors;
      // Destroyed, the socket fails every command at once, while the status says 'ready' until its 'close' a turn later.
      (x.store.subscriber as unknown as { stream: { destroy(): void } }).stream.destroy();
      expect(x.store.subscriber.status).toBe('ready');
      const second = x.leases.join(AUTHORIZATION, 'ex_unwritable_2', () => undefined, () => undefined);
      await sleep(100);
      // Asked again from its own failure, it failed again at once, without end, and the event loop never turned.
      expect(x.leases.errors - before).toBe(1);
      await subscribed(1, x.store.key('updates', x.store.callerTag(AUTHORIZATION), 'ex_unwritable_2'));
      second.leave();
    });

    it('a SUBSCRIBE that times out is no refusal: no warning, counted, and asked again until acknowledged, so the pair follows its holder', async () => {
      const x = await replica('ex_slow_1');
      await following(x);
      const socket = (x.store.subscriber as unknown as { stream: { pause(): void; resume(): void } }).stream;
      socket.pause();
      const second = x.leases.join(AUTHORIZATION, 'ex_slow_2', () => undefined, () => undefined);
      try {
        await waitFor(() => x.leases.errors >= 1, 'the SUBSCRIBE to time out', 5_000);
      } finally {
        socket.resume();
      }
      expect(x.logs.some((line) => line.msg === 'redis: could not subscribe to live updates')).toBe(true);
      expect(warnings(x, 'redis refused to SUBSCRIBE')).toEqual([]);
      // Another replica holds the pair's lease: once a SUBSCRIBE is acknowledged, X follows it rather than polling
      // beside it (asked once only, the pair polled for as long as the connection stayed up).
      await admin.set(x.store.key('lease', x.store.callerTag(AUTHORIZATION), 'ex_slow_2'), 'another-replica', 'PX', 60_000);
      const deadline = performance.now() + 5_000;
      while (await second.holds()) {
        if (performance.now() > deadline) throw new Error('the pair never followed its holder after the SUBSCRIBE timed out');
        await sleep(100);
      }
      second.leave();
    });
  });
});
