/**
 * Gateways as replicas in one test file: one real redis-server and one fake
 * upstream for the file, replicas started per test on both and closed after it
 * (README "Scaling out"). Call `useReplicas` inside a `describe`: it registers
 * that describe's hooks.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { FakeUpstream, type FakeUpstreamOptions } from '../../src/demo/fake-upstream.js';
import { Harness, type LaneName } from './harness.js';
import { AUTH_A, Clients, liveEnv, putExecution, Recorder, sleep, TOKENS, waitFor } from './live.js';
import { RedisServer } from './redis.js';

/** REDIS_KEY_SECRET of every replica: they must share it to read each other's keys. */
export const REPLICA_SECRET = 'a-test-secret-of-at-least-32-characters';

export interface Replicas {
  /** The upstream every replica calls (made before the first test). */
  readonly upstream: FakeUpstream;
  /** The Redis every replica shares. */
  readonly redis: RedisServer;
  /** SSE clients, disposed after each test. */
  readonly clients: Clients;
  /**
   * A replica on `lane`, with live settings (test/support/live.ts `liveEnv`) and a 1 s lease
   * under `env`; resolves once it reaches Redis. Closed after the test.
   */
  replica(env?: Record<string, string>): Promise<Harness>;
  /** Closes one replica before the test ends (a replica that goes away mid-test). */
  close(replica: Harness): Promise<void>;
}

/** `upstream`: options of the fake upstream beyond the live callers (its `anySchemeSpelling`, say). */
export function useReplicas(lane: LaneName = 'fast', upstreamOptions: FakeUpstreamOptions = {}): Replicas {
  let redis: RedisServer | undefined;
  let upstream: FakeUpstream | undefined;
  const harnesses: Harness[] = [];
  const clients = new Clients('sse');
  beforeAll(async () => {
    redis = await RedisServer.start();
    upstream = await FakeUpstream.start({ executions: [], tokens: TOKENS, ...upstreamOptions });
  });
  afterEach(async () => {
    await clients.disposeAll();
    for (const harness of harnesses.splice(0)) await harness.close();
  });
  afterAll(async () => {
    await upstream?.close();
    await redis?.stop();
  });
  return {
    get upstream() {
      return upstream!;
    },
    get redis() {
      return redis!;
    },
    clients,
    async replica(env = {}) {
      const harness = await Harness.start({
        lane,
        sharedUpstream: upstream!,
        env: liveEnv({ REDIS_URL: redis!.url, REDIS_KEY_SECRET: REPLICA_SECRET, LIVE_LEASE_MS: '1000', ...env }),
      });
      harnesses.push(harness);
      await waitFor(() => harness.instance.redis!.up, 'the replica to reach Redis');
      return harness;
    },
    async close(replica) {
      harnesses.splice(harnesses.indexOf(replica), 1);
      await replica.close();
    },
  };
}

/**
 * A watch on replica A meets a 503 with `Retry-After: pauseS`; its last watcher leaves, and the
 * page watches again through replica B with `authorizationOnB`. Asserts that B's watch is told at
 * once and calls upstream no sooner than the pause A was asked for ends; returns B's watch, still
 * open, with the fault still set.
 */
export async function watchAgainAcrossPause(replicas: Replicas, id: string, authorizationOnB: string, pauseS: number): Promise<Recorder> {
  const { upstream, clients } = replicas;
  const [a, b] = [await replicas.replica({ UPSTREAM_MAX_ATTEMPTS: '1' }), await replicas.replica({ UPSTREAM_MAX_ATTEMPTS: '1' })];
  putExecution(upstream, id, 'workflow_running', { organizationId: 'org_a' });
  const first = new Recorder(clients.for(a, AUTH_A), { id });
  await first.received(1);
  const before = upstream.requestsFor(id).length;
  upstream.setFault(id, { kind: 'status', status: 503, headers: { 'retry-after': String(pauseS) } });
  await waitFor(() => upstream.requestsFor(id).length > before, 'the poll answered 503');
  await waitFor(() => first.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${first.describe()}`);
  const pausedAt = upstream.requestsFor(id).at(-1)!.at;
  // The last watcher on replica A leaves (its poller gives the lease up), and the page watches again through replica B.
  first.stop();
  await waitFor(() => a.instance.live.counts.pollers === 0, 'the poller on A to stop');
  const from = performance.now();
  const second = new Recorder(clients.for(b, authorizationOnB), { id });
  await waitFor(() => second.results.length >= 1, () => `the watch's notice on B; ${second.describe()}`, 2_000);
  expect(second.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
  await sleep(Math.max(0, pausedAt + pauseS * 1000 - performance.now() - 50));
  const during = upstream.requestsFor(id).filter((request) => request.at > from && request.at < pausedAt + pauseS * 1000 - 20);
  expect(during.length, 'upstream calls by the watch on B before the Retry-After A got ended').toBe(0);
  return second;
}
