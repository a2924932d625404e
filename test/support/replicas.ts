/**
 * Gateways as replicas in one test file: one real redis-server and one fake
 * upstream for the file, replicas started per test on both and closed after it
 * (README "Scaling out"). Call `useReplicas` inside a `describe`: it registers
 * that describe's hooks.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import { FakeUpstream, type FakeUpstreamOptions } from '../../src/demo/fake-upstream.js';
import { Harness, type LaneName } from './harness.js';
import { Clients, liveEnv, TOKENS, waitFor } from './live.js';
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
