/**
 * The check that replicas on one Redis and REDIS_KEY_PREFIX share one
 * REDIS_KEY_SECRET (src/shared-state/key-check.ts), on a real redis-server:
 * replicas with two secrets share nothing, so each is told (one warning, the
 * `keySecretMismatch` flag, the gauge, a field of `/ready`), without readiness
 * failing over it; one secret says nothing; a replica gone is forgotten once
 * its member expires, with one info line. Replicas are RedisStores checking at
 * every heartbeat (1 s, expiry 3 s); the gateway's own check is every 5 s.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { FORMAT, RedisStore, unsealed } from '../src/shared-state/redis-store.js';
import { captureLog, type CapturedLog } from './support/captured-log.js';
import { Harness } from './support/harness.js';
import { sleep, waitFor, waitForAnswer } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const OTHER_SECRET = 'the-other-secret-of-a-half-done-rotation';
// What the waits below allow a check they expect: 10 s, not 3 to 6, as a guard of a hang only. The checks are heartbeat
// timers of this process, and a loaded machine stalls them; each waits for what a defect never brings (a member never
// dropped, a report never made, a flag never cleared), and the bounds that time a check are apart from these.
const HANG_MS = 10_000;
const WARN = 40;
const INFO = 30;
const MISMATCH = /^redis: another replica on this Redis and REDIS_KEY_PREFIX uses a different REDIS_KEY_SECRET: .*expected only while a secret rotation rolls out$/;
const GONE = 'redis: no replica with a different REDIS_KEY_SECRET on this Redis and REDIS_KEY_PREFIX any more';

interface Replica {
  store: RedisStore;
  log: CapturedLog;
}

const warnings = (replica: Replica) => replica.log.lines.filter((line) => line.level === WARN && MISMATCH.test(line.msg));
const clearances = (replica: Replica) => replica.log.lines.filter((line) => line.level === INFO && line.msg === GONE);

let redis: RedisServer;
let inspector: Redis;
let prefixes = 0;
const newPrefix = () => `kc${++prefixes}-${process.pid}:`;
const made: Replica[] = [];
const harnesses: Harness[] = [];

beforeAll(async () => {
  redis = await RedisServer.start();
  inspector = new Redis(redis.url);
});
// Closed at the end, not after each test: the suites run side by side, each under its own prefix.
afterAll(async () => {
  await Promise.all([...made.splice(0).map((replica) => replica.store.close()), ...harnesses.splice(0).map((harness) => harness.close())]);
  await inspector?.quit();
  await redis?.stop();
});

/** A replica on the test's Redis with `secret` under `prefix`, checking every `keyCheckBeats` heartbeats (1 s), connected. */
async function replica(secret: string, prefix: string, keyCheckBeats = 1): Promise<Replica> {
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: redis.url, REDIS_KEY_SECRET: secret, REDIS_KEY_PREFIX: prefix, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const self: Replica = { store: new RedisStore(settings, log.logger, keyCheckBeats), log };
  made.push(self);
  await waitFor(() => self.store.up, 'Redis to answer');
  return self;
}

interface Watched {
  replica: Replica;
  secret: string;
  other: string;
}

/**
 * Samples `key` (every 10 ms, up to 10 s) until each replica reports the other secret, and answers, for each, how many
 * of its own checks (a new stamp on its member) came once the other's member was in the set, the reporting one included.
 * The checks run on this process's timers, so a stall delays them and the sampling alike: none goes unseen.
 */
async function checksUntilReported(key: string, watched: Watched[]): Promise<number[]> {
  const counts = watched.map(() => 0);
  const stamps = watched.map((): string | undefined => undefined);
  const otherSeen = watched.map(() => false);
  const reported = watched.map(() => false);
  const deadline = performance.now() + 10_000;
  while (reported.some((done) => !done)) {
    if (performance.now() > deadline) throw new Error(`timed out after 10000 ms waiting for both replicas to see the other secret; checks ${counts}`);
    const scored = await inspector.zrange(key, 0, -1, 'WITHSCORES');
    watched.forEach(({ replica, secret, other }, index) => {
      if (reported[index]) return;
      let stamp: string | undefined;
      for (let at = 0; at < scored.length; at += 2) {
        if (unsealed(secret, key, scored[at]!) !== undefined) stamp = scored[at + 1];
        else if (unsealed(other, key, scored[at]!) !== undefined) otherSeen[index] = true;
      }
      if (otherSeen[index] && stamp !== undefined && stamp !== stamps[index]) counts[index]! += 1;
      stamps[index] = stamp;
      // Read after the set: a report already made counts the check that made it.
      reported[index] = replica.store.keySecretMismatch;
    });
    await sleep(10);
  }
  return counts;
}

// Side by side: each waits on checks a second apart, and no test's prefix is another's.
describe.concurrent('the key secret check on a real redis-server', () => {
  it('two secrets on one prefix: each replica reports it within a few seconds, with one warning; the marker holds neither secret', async () => {
    const prefix = newPrefix();
    const key = `${prefix}v${FORMAT}:key-check`;
    const [a, b] = [await replica(SECRET, prefix), await replica(OTHER_SECRET, prefix)];
    // Counted in each replica's own checks (its member's stamps), not in seconds: the heartbeats that run them are
    // timers of this process, and a loaded machine's stall of 2 s made a report at the next check read as late.
    const checksAfterOther = await checksUntilReported(key, [
      { replica: a, secret: SECRET, other: OTHER_SECRET },
      { replica: b, secret: OTHER_SECRET, other: SECRET },
    ]);
    // The first check after the other's member was written reports it; one more for a stamp read before its answer.
    for (const checks of checksAfterOther) expect(checks).toBeLessThanOrEqual(2);
    // More checks that find the same: still one line each.
    await sleep(2_500);
    for (const replica of [a, b]) {
      expect(replica.store.keySecretMismatch).toBe(true);
      expect(warnings(replica)).toHaveLength(1);
      expect(warnings(replica)[0]).toMatchObject({ otherSecrets: 1 });
      expect(clearances(replica)).toEqual([]);
      for (const secret of [SECRET, OTHER_SECRET]) expect(replica.log.raw()).not.toContain(secret);
    }

    // The one key of the check, named without a secret: one member per secret, each unsealing with its own only.
    expect(a.store.fleetKey('key-check')).toBe(key);
    expect(await inspector.keys(`${prefix}*`)).toEqual([key]);
    const members = await inspector.zrange(key, 0, -1);
    expect(members).toHaveLength(2);
    for (const member of members) {
      expect(member).not.toContain(SECRET);
      expect(member).not.toContain(OTHER_SECRET);
      expect([unsealed(SECRET, key, member), unsealed(OTHER_SECRET, key, member)].filter((json) => json !== undefined)).toEqual(['{}']);
      for (const line of [...a.log.raw().split('\n'), ...b.log.raw().split('\n')]) expect(line).not.toContain(member);
    }
    // Gone a few checks after the last replica: 3 s at one check a second.
    const ttl = await inspector.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_000);
  });

  it('at the gateway\'s pace, a check every 5 heartbeats: the first at once, none at the next four, each member kept 3 checks (15 s)', async () => {
    const prefix = newPrefix();
    const key = `${prefix}v${FORMAT}:key-check`;
    await replica(SECRET, prefix, 5);
    // Timed from the connection's 'ready' on (checks are counted by heartbeats with Redis up), not from before the
    // connection was made, which a loaded machine slows: the check at the fifth heartbeat would come 5 s in.
    const since = performance.now();
    await waitForAnswer(async () => (await inspector.exists(key)) === 1, 'the first check', 3_000);
    expect(performance.now() - since).toBeLessThan(2_500);
    const ttl = await inspector.pttl(key);
    expect(ttl).toBeGreaterThan(12_000);
    expect(ttl).toBeLessThanOrEqual(15_000);
    const [member] = await inspector.zrange(key, 0, -1);
    const score = await inspector.zscore(key, member!);
    await sleep(3_000);
    expect(await inspector.zscore(key, member!)).toBe(score);
  });

  it('one secret says nothing; nor does another secret under another prefix', async () => {
    const prefix = newPrefix();
    const [a, b] = [await replica(SECRET, prefix), await replica(SECRET, prefix)];
    const elsewhere = await replica(OTHER_SECRET, newPrefix());
    // Three checks each, time enough to see any other secret.
    await sleep(3_200);
    expect(await inspector.zcard(`${prefix}v${FORMAT}:key-check`)).toBe(1);
    for (const replica of [a, b, elsewhere]) {
      expect(replica.store.keySecretMismatch).toBe(false);
      expect(warnings(replica)).toEqual([]);
      expect(clearances(replica)).toEqual([]);
    }
  });

  it('the other replica gone: the flag clears once its member expired, with one info line', async () => {
    const prefix = newPrefix();
    const [a, b] = [await replica(SECRET, prefix), await replica(OTHER_SECRET, prefix)];
    await waitFor(() => a.store.keySecretMismatch, 'A to see the other secret', HANG_MS);
    // Timed from before the close: B renews nothing once it began, and a close slowed by a loaded machine, counted
    // in, shortened what A's wait seemed to take.
    const closed = performance.now();
    await b.store.close();
    await waitFor(() => !a.store.keySecretMismatch, 'A to forget the other secret', HANG_MS);
    // Not before the member's 3 s, less the check at most 1 s after the last renewal.
    expect(performance.now() - closed).toBeGreaterThan(1_900);
    await sleep(1_200);
    expect(warnings(a)).toHaveLength(1);
    expect(clearances(a)).toHaveLength(1);
    expect(await inspector.zcard(`${prefix}v${FORMAT}:key-check`)).toBe(1);
  });
});

describe.concurrent('the key secret check refused', () => {
  it('a Redis user that may not run scripts: the refusal is logged with its reply, and nothing is reported', async () => {
    const prefix = newPrefix();
    const user = `kc-noscript-${process.pid}`;
    await inspector.call('ACL', 'SETUSER', user, 'on', '>a-password', `~${prefix}*`, `&${prefix}*`, '+@all', '-@scripting');
    const url = new URL(redis.url);
    url.username = user;
    url.password = 'a-password';
    const log = captureLog('info');
    const { lines } = log;
    const settings = readConfig({ REDIS_URL: url.href, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
    const store = new RedisStore(settings, log.logger, 1);
    made.push({ store, log });
    await waitFor(() => lines.some((line) => line.level === WARN && String(line.msg).startsWith('redis refused the key secret check: ')), 'the refusal to be logged', HANG_MS);
    expect(lines.find((line) => line.level === WARN)).toMatchObject({ reply: expect.stringMatching(/^NOPERM/) });
    expect(store.keySecretMismatch).toBe(false);
    // A refused check is tried again at the next heartbeat, and counted.
    await waitFor(() => store.keyCheckErrors >= 3, 'two more refused checks', HANG_MS);
    expect(await inspector.exists(`${prefix}v${FORMAT}:key-check`)).toBe(0);
    // Those not yet told are counted in one line at close.
    await store.close();
    const refusals = lines.filter((line) => line.level === WARN && String(line.msg).startsWith('redis refused the key secret check: '));
    expect(refusals).toEqual([expect.objectContaining({ reply: expect.stringMatching(/^NOPERM/) }), expect.objectContaining({ msg: expect.stringMatching(/\(repeated\)$/), suppressed: store.keyCheckErrors - 1 })]);
  });
});

describe.concurrent('the key secret check against a hostile writer', () => {
  // A member scored far ahead was never dropped, and the key's expiry was renewed at each check: a warning for good.
  // A set of 300,000 members came back whole to every replica at each check, stalling its command connection.
  it('a member scored ahead of Redis\'s clock is dropped at the next check, unreported; one scored now is reported, then forgotten', async () => {
    const prefix = newPrefix();
    const key = `${prefix}v${FORMAT}:key-check`;
    const [now] = (await inspector.time()) as [number, number];
    // Far ahead, and just past the expiry (3 s here) ahead: each would have outlived every check.
    await inspector.zadd(key, 99_999_999_999_999, 'from-the-future', now * 1000 + 13_000, 'seconds-ahead');
    const a = await replica(SECRET, prefix);
    await waitForAnswer(async () => (await inspector.zscore(key, 'from-the-future')) === null && (await inspector.zscore(key, 'seconds-ahead')) === null, 'the members ahead to be dropped', HANG_MS);
    expect(a.store.keySecretMismatch).toBe(false);
    expect(warnings(a)).toEqual([]);

    const [seconds] = (await inspector.time()) as [number, number];
    await inspector.zadd(key, seconds * 1000, 'written-by-hand');
    await waitFor(() => a.store.keySecretMismatch, 'the member to be reported', HANG_MS);
    expect(warnings(a)[0]).toMatchObject({ otherSecrets: 1 });
    await waitFor(() => !a.store.keySecretMismatch, 'the member to expire', HANG_MS);
    expect(clearances(a)).toHaveLength(1);
    expect(await inspector.zrange(key, 0, -1)).toHaveLength(1);
  });
});

describe.concurrent('the key secret check in a gateway', () => {
  it('/ready stays 200 and says so in an extra field; gateway_redis_key_secret_mismatch is 1', async () => {
    const prefix = newPrefix();
    // A replica with the other secret checked first: the gateway's first check (its first heartbeat up) finds it.
    await replica(OTHER_SECRET, prefix);
    await waitForAnswer(async () => (await inspector.exists(`${prefix}v${FORMAT}:key-check`)) === 1, 'the other replica to check', HANG_MS);
    const harness = await Harness.start({ env: { REDIS_URL: redis.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, REDIS_COMMAND_TIMEOUT_MS: '1000' } });
    harnesses.push(harness);
    await waitFor(() => harness.instance.redis!.keySecretMismatch, 'the gateway to see the other secret', HANG_MS);

    const answer = await harness.fetch('/ready');
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ status: 'ready', upstream: { circuit: 'closed' }, redis: 'connected', redisKeySecretMismatch: true });
    const text = await harness.instance.metrics!.registry.metrics();
    expect(text).toContain('# HELP gateway_redis_key_secret_mismatch Workers that see another replica on this Redis and REDIS_KEY_PREFIX using a different REDIS_KEY_SECRET');
    expect(text).toContain('# TYPE gateway_redis_key_secret_mismatch gauge');
    expect(text.split('\n')).toContain('gateway_redis_key_secret_mismatch 1');
    expect(harness.logs.filter((line) => line.level === WARN && MISMATCH.test(String(line.msg)))).toHaveLength(1);
    expect(harness.rawLogs).not.toContain(SECRET);
  });
});
