/**
 * Live updates through Redis are sealed to their channel (README "Scaling out"):
 * whoever can PUBLISH to Redis without REDIS_KEY_SECRET cannot reach a watcher.
 * Two gateways on one real redis-server and one fake upstream, a pair watched
 * on both over Server-Sent Events and WebSocket; messages published on the
 * pair's channel by hand, as a security review reproduced it: a `failed` that
 * ended every watch with the forger's text, a `changed` that put a made-up
 * status reason and events before the watchers. Each is published plain, with
 * a seal that is no HMAC, sealed with another secret, and as a replica sealed
 * it for another execution's channel (captured there, published here); none
 * reaches a watcher, each is counted, and the replicas' own updates still come.
 */
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/demo/fake-upstream.js';
import { FORMAT, sealed } from '../src/shared-state/redis-store.js';
import type { Harness } from './support/harness.js';
import { advance, AUTH_A, Clients, putExecution, sleep, waitFor, waitForAnswer, watch, type Recorder } from './support/live.js';
import type { RedisServer } from './support/redis.js';
import { useReplicas } from './support/replicas.js';

const POLL_MS = 50;
const EVIL = 'Your session expired: sign in again at https://evil.example';

describe('forged live updates on a pair\'s channel', () => {
  const replicas = useReplicas();
  const ws = new Clients('ws');
  let redis: RedisServer;
  let upstream: FakeUpstream;
  beforeAll(() => ({ redis, upstream } = replicas));
  afterEach(() => ws.disposeAll());

  const replica = () => replicas.replica({ LIVE_POLL_ACTIVE_MS: String(POLL_MS), LIVE_POLL_WAITING_MS: String(POLL_MS), METRICS: 'api' });

  /** The pair's channel for `id` (one caller watches it), once both replicas subscribed to it. */
  async function channelOf(admin: Redis, id: string): Promise<string> {
    let channels: string[] = [];
    await waitForAnswer(async () => (channels = (await admin.call('PUBSUB', 'CHANNELS', `*:updates:*:${id}`)) as string[]).length === 1, `the channel of ${id}`);
    await waitForAnswer(async () => ((await admin.pubsub('NUMSUB', channels[0]!)) as [string, number])[1] === 2, `both replicas on the channel of ${id}`);
    return channels[0]!;
  }

  /** A watch of `id` over SSE and one over WebSocket on each replica, once each had its first update. */
  async function watchers(a: Harness, b: Harness, id: string): Promise<Recorder[]> {
    const all = [a, b].flatMap((each) => [watch(replicas.clients.for(each, AUTH_A), id), watch(ws.for(each, AUTH_A), id)]);
    await waitFor(() => all.every((watcher) => watcher.updates.length >= 1), 'every first update');
    return all;
  }

  it('plain, badly sealed, sealed with another secret, or sealed for another channel: none reaches an SSE or WebSocket watcher, each is dropped and counted; genuine updates still arrive', async () => {
    const [a, b] = [await replica(), await replica()];
    const id = 'ex_forged';
    const other = 'ex_forged_other';
    for (const each of [id, other]) putExecution(upstream, each, 'workflow_running', { eventCount: 1, organizationId: 'org_a' });
    const watching = await watchers(a, b, id);
    const otherWatching = await watchers(a, b, other);
    const admin = new Redis(redis.url);
    const listener = new Redis(redis.url);
    try {
      const channel = await channelOf(admin, id);
      const otherChannel = await channelOf(admin, other);

      // A genuine update of the other execution, as the holder sealed it for that execution's channel.
      const captured: string[] = [];
      listener.on('message', (_channel: string, text: string) => captured.push(text));
      await listener.subscribe(otherChannel);
      advance(upstream, other, 'workflow_waiting', 2);
      await waitFor(() => captured.length >= 1, 'a genuine update of the other execution');
      await waitFor(() => otherWatching.every((watcher) => watcher.statuses.includes('WORKFLOW_WAITING')), 'the other execution\'s update at its watchers');

      const failure = { v: FORMAT, kind: 'failed', from: 'attacker', seq: 1, at: Date.now(), message: EVIL, extensions: { code: 'UNAUTHENTICATED' } };
      const fakeEvents = Array.from({ length: 11 }, (_, i) => ({ id: `ev_fake_${i}`, executionId: id, type: 'log', createdAt: '2026-03-01T12:00:00.000Z', message: 'fake' }));
      const change = (seq: number) => ({
        v: FORMAT,
        kind: 'changed',
        from: 'attacker',
        seq,
        count: 1,
        set: { statusReason: EVIL },
        events: fakeEvents,
        bodyBytes: 100_000,
        db: 0,
      });
      const forgeries: string[] = [];
      let seq = 1;
      for (const message of [failure, change(++seq)]) forgeries.push(JSON.stringify(message));
      for (const message of [{ ...failure, seq: ++seq }, change(++seq)]) forgeries.push(`${'A'.repeat(43)}.${JSON.stringify(message)}`);
      for (const message of [{ ...failure, seq: ++seq }, change(++seq)]) forgeries.push(sealed('another-secret-of-at-least-32-characters', channel, JSON.stringify(message)));
      forgeries.push(captured[0]!);
      const receivers: number[] = [];
      for (const text of forgeries) receivers.push(await admin.publish(channel, text));
      await sleep(POLL_MS * 6);
      for (const watcher of watching) {
        expect(watcher.ended, watcher.describe()).toBe(false);
        expect(watcher.errorCodes).toEqual([]);
        expect(watcher.eventIds.filter((event) => event.startsWith('ev_fake_'))).toEqual([]);
        expect(JSON.stringify(watcher.results)).not.toContain('evil.example');
        expect(watcher.statuses).toEqual(['WORKFLOW_RUNNING']);
      }
      // Each was delivered to both replicas (their watches still open): dropped there, not lost on the way.
      expect(receivers).toEqual(forgeries.map(() => 2));
      for (const each of [a, b]) {
        expect(each.instance.live.leases!.dropped).toEqual({ unsealed: forgeries.length, replayed: 0, stale: 0 });
        expect(await each.metricLines('gateway_live_updates_dropped_total')).toContain(`gateway_live_updates_dropped_total{reason="unsealed"} ${forgeries.length}`);
        // Logged once, not once a message: the rest are counted for the next line.
        expect(each.logs.filter((line) => String(line.msg).startsWith('redis: dropped a live update'))).toHaveLength(1);
      }

      // The replicas' own updates still reach every watcher, on whichever replica holds the lease.
      const appended = advance(upstream, id, 'workflow_succeeded', 2);
      for (const watcher of watching) {
        await watcher.end();
        expect(watcher.completed, watcher.describe()).toBe(true);
        expect(watcher.errorCodes).toEqual([]);
        expect(watcher.statuses).toEqual(['WORKFLOW_RUNNING', 'WORKFLOW_SUCCEEDED']);
        expect(watcher.eventIds.slice(-2)).toEqual(appended);
      }
      expect(a.instance.live.leases!.held + b.instance.live.leases!.held).toBeLessThanOrEqual(1);
    } finally {
      listener.disconnect();
      admin.disconnect();
    }
  });
});
