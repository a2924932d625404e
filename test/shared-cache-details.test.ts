/**
 * The shared cache's rules (src/shared-state/shared-cache.ts) at the level of
 * the class, on a real redis-server: what is stored (a bound on bytes, not
 * characters), what a value read must be to count as an entry (its bound
 * reached exactly, an expiry, a body size no smaller than itself), and a
 * command Redis refuses on either side: a miss or a dropped write, counted,
 * and the refusal logged with its reply. test/shared-cache.test.ts drives the
 * whole through gateways.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import type { Execution } from '../src/domain/execution.js';
import { storedJson } from '../src/domain/json-depth.js';
import { SharedCache } from '../src/shared-state/shared-cache.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const AUTHORIZATION = 'Bearer token-a';
const MAX_VALUE_BYTES = 2_000;
const TTL_MS = 60_000;
const CACHE_REFUSED = 'redis refused a shared cache command: replicas do not share the executions they read while it does, each asks upstream for its own';
const LEASE_REFUSED = 'redis refused a live lease command: no lease is held while it does, each replica polls for its own watchers';

/** An execution whose stored JSON (as SharedCache writes it) is exactly `chars` characters, padded with `unit`. */
function executionOf(id: string, chars: number, unit = 'x'): Execution {
  const base = (note: string): Execution => ({ id, source: { id, status: 'workflow_running', note }, events: [], bodyBytes: 100 });
  const length = (execution: Execution) => storedJson({ source: execution.source, events: execution.events, bodyBytes: execution.bodyBytes }).length;
  const execution = base(unit.repeat(Math.floor((chars - length(base(''))) / unit.length)));
  expect(length(execution)).toBe(chars);
  return execution;
}

describe('the shared cache on a real redis-server', () => {
  let redis: RedisServer;
  let admin: Redis;
  let store: RedisStore;
  let cache: SharedCache;
  const log = captureLog('info');

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    // A second for each command, not the default 50 ms: a read that times out is a miss, which a busy machine would make of a hit.
    store = new RedisStore(readConfig({ REDIS_URL: redis.url, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState, log.logger);
    await waitFor(() => store.up, 'Redis to answer');
    cache = new SharedCache(store, MAX_VALUE_BYTES);
  });
  afterEach(async () => {
    await admin.config('SET', 'maxmemory', '0');
    await admin.flushall();
  });
  afterAll(async () => {
    await store?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const keyOf = (id: string) => store.key('cache', store.callerTag(AUTHORIZATION), id);
  /** Waits for the background SET: the store's connection answers a PING after it. */
  const written = () => store.client.ping();

  it('stores and reads back an execution of exactly the bound; one character more stays local', async () => {
    cache.set(AUTHORIZATION, executionOf('ex_at_bound', MAX_VALUE_BYTES), TTL_MS);
    await written();
    expect(await cache.get(AUTHORIZATION, 'ex_at_bound')).toMatchObject({ execution: { id: 'ex_at_bound' } });
    const tooLarge = cache.counts.tooLarge;
    cache.set(AUTHORIZATION, executionOf('ex_past_bound', MAX_VALUE_BYTES + 1), TTL_MS);
    await written();
    expect(cache.counts.tooLarge).toBe(tooLarge + 1);
    expect(await admin.exists(keyOf('ex_past_bound'))).toBe(0);
  });

  it('bounds bytes, not characters: an execution under the bound in characters but past it in UTF-8 stays local', async () => {
    const tooLarge = cache.counts.tooLarge;
    // About 1,900 characters, each é two bytes in UTF-8.
    cache.set(AUTHORIZATION, executionOf('ex_accented', 1_900, 'é'), TTL_MS);
    await written();
    expect(cache.counts.tooLarge).toBe(tooLarge + 1);
    expect(await admin.exists(keyOf('ex_accented'))).toBe(0);
  });

  it('takes no value without an expiry as an entry (a PERSIST, a restore): a local copy would never expire', async () => {
    cache.set(AUTHORIZATION, executionOf('ex_persisted', 500), TTL_MS);
    await written();
    await admin.persist(keyOf('ex_persisted'));
    const misses = cache.counts.misses;
    expect(await cache.get(AUTHORIZATION, 'ex_persisted')).toBeUndefined();
    expect(cache.counts.misses).toBe(misses + 1);
  });

  it('counts a value read as no smaller than its own JSON, whatever body size it says', async () => {
    const key = keyOf('ex_small_body');
    const json = JSON.stringify({ source: { id: 'ex_small_body', status: 'workflow_running', note: 'n'.repeat(300) }, events: [], bodyBytes: 1 });
    await admin.set(key, store.seal(key, json), 'PX', TTL_MS);
    const entry = await cache.get(AUTHORIZATION, 'ex_small_body');
    expect(entry?.execution.bodyBytes).toBe(json.length);
  });

  it('a read Redis refuses is a miss, counted as an error, and the refusal is logged with its reply', async () => {
    await admin.rpush(keyOf('ex_wrong_type'), 'not a string');
    const { misses, errors } = cache.counts;
    expect(await cache.get(AUTHORIZATION, 'ex_wrong_type')).toBeUndefined();
    expect(cache.counts).toMatchObject({ misses: misses + 1, errors: errors + 1 });
    await waitFor(() => log.lines.some((line) => String(line.reply).startsWith('WRONGTYPE')), 'the refusal logged');
    expect(log.lines.find((line) => String(line.reply).startsWith('WRONGTYPE'))!.msg).toBe(CACHE_REFUSED);
  });

  it('a write Redis refuses (out of memory) is dropped and counted as an error', async () => {
    // Its refusal goes to the same bounded log line as the read's above: counted into the next one, a minute on.
    await admin.config('SET', 'maxmemory', '1');
    const { errors } = cache.counts;
    cache.set(AUTHORIZATION, executionOf('ex_oom', 500), TTL_MS);
    await waitFor(() => cache.counts.errors === errors + 1, 'the refused write counted');
    await admin.config('SET', 'maxmemory', '0');
    expect(await admin.exists(keyOf('ex_oom'))).toBe(0);
  });

  it('a Redis user refused only the leases\' EVAL: cache entries are stored and read, and only the lease line is logged', async ({ onTestFinished }) => {
    // One line for every use said cache entries were not stored here, while every SET went through.
    await admin.call('ACL', 'SETUSER', 'no-eval', 'on', '>no-eval-password', '~*', '&*', '+@all', '-eval');
    onTestFinished(async () => void (await admin.call('ACL', 'DELUSER', 'no-eval')));
    const own = captureLog('info');
    const url = `redis://no-eval:no-eval-password@127.0.0.1:${redis.port}`;
    const limited = new RedisStore(readConfig({ REDIS_URL: url, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState, own.logger);
    onTestFinished(() => limited.close());
    await waitFor(() => limited.up, 'Redis to answer');
    const limitedCache = new SharedCache(limited, MAX_VALUE_BYTES);
    limitedCache.set(AUTHORIZATION, executionOf('ex_no_eval', 500), TTL_MS);
    await waitForAnswer(async () => (await admin.exists(keyOf('ex_no_eval'))) === 1, 'the entry stored');
    expect((await limitedCache.get(AUTHORIZATION, 'ex_no_eval'))?.execution.id).toBe('ex_no_eval');
    // A lease command as src/shared-state/live-leases.ts sends it, and hands its failure back.
    await limited.client.eval('return 1', 0).catch((error: unknown) => limited.failed(error, 'leases'));
    const refused = () => own.lines.filter((line) => String(line.msg).startsWith('redis refused a '));
    await waitFor(() => refused().length >= 1, 'the lease refusal logged');
    expect(refused().map((line) => line.msg)).toEqual([LEASE_REFUSED]);
    expect(String(refused()[0]!.reply)).toMatch(/^NOPERM /);
    expect(limitedCache.counts).toMatchObject({ hits: 1, errors: 0 });
  });
});
