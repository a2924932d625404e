/**
 * Two replicas on one real redis-server, as a platform team runs them (README "Scaling out", "Isolation",
 * "Caching"), against one fake upstream whose requests are counted: a finished execution one replica cached
 * read through the other by other callers, values Redis holds that no replica of this prefix wrote, a Redis
 * full under `noeviction`, and a lease holder drained while the other replica has watchers.
 */
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { LANES, type Harness } from './support/harness.js';
import { advance, AUTH_A, AUTH_A2, AUTH_B, putExecution, Recorder, sleep, waitFor, waitForAnswer, watch } from './support/live.js';
import { readiness } from './support/redis.js';
import { useReplicas } from './support/replicas.js';

const PREFIX = 'replicas12:';
const QUERY = /* GraphQL */ `query($id: ID!) { execution(id: $id) { id status events(first: 10) { totalCount } } }`;
const WARN = 40;

interface Answer {
  execution: { id: string; status: string; events: { totalCount: number } } | null;
}

const codes = (response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => (response.errors ?? []).map((error) => error.extensions?.code);
const calls = (response: { extensions?: Record<string, unknown> }) => (response.extensions?.upstream as { calls: number } | undefined)?.calls;
/** The warnings a replica logged whose message starts with `start`. */
const warnings = (replica: Harness, start: string) => replica.logs.filter((line) => line.level === WARN && String(line.msg).startsWith(start));

describe.each(LANES)('two replicas on one Redis, as operators meet them, %s lane', { timeout: 60_000 }, (lane) => {
  const replicas = useReplicas(lane);
  // A finished execution is kept a minute; a busy machine's stalled event loop does not turn a Redis read into a miss.
  const env = { TERMINAL_CACHE_TTL_MS: '60000', REDIS_KEY_PREFIX: PREFIX, REDIS_COMMAND_TIMEOUT_MS: '1000' };

  /** A client of the test's Redis, closed after the test. */
  function probe(): Redis {
    const client = new Redis(replicas.redis.url);
    onTestFinished(() => client.disconnect());
    return client;
  }

  /** The key replica `on` stores `id` under for `authorization` in the shared cache. */
  const cacheKey = (on: Harness, authorization: string, id: string) => on.instance.redis!.key('cache', on.instance.redis!.callerTag(authorization), id);

  it('a finished execution A cached is served by B from Redis to its caller only: every other caller is asked of upstream with its own token, and one upstream refuses gets its code, never the execution', async () => {
    const { upstream } = replicas;
    const [a, b] = [await replicas.replica(env), await replicas.replica(env)];
    const redis = probe();
    const id = 'ex_r12_cross';
    putExecution(upstream, id, 'workflow_succeeded', { organizationId: 'org_a' });

    const first = await a.query<Answer>(QUERY, { id }, { authorization: AUTH_A });
    expect(first.data?.execution).toMatchObject({ id, status: 'WORKFLOW_SUCCEEDED' });
    await waitForAnswer(async () => (await redis.exists(cacheKey(a, AUTH_A, id))) === 1, 'A to store it in Redis');
    const fromB = await b.query<Answer>(QUERY, { id }, { authorization: AUTH_A });
    expect(fromB.data).toEqual(first.data);
    expect(calls(fromB)).toBe(0);

    // Another token of the same organization: its own call, with its own token.
    const sameOrganization = await b.query<Answer>(QUERY, { id }, { authorization: AUTH_A2 });
    expect(sameOrganization.data).toEqual(first.data);
    expect(calls(sameOrganization)).toBe(1);
    // A token upstream does not let see the execution, and one it does not know: their codes, no data.
    const otherOrganization = await b.query<Answer>(QUERY, { id }, { authorization: AUTH_B });
    expect(otherOrganization.data).toEqual({ execution: null });
    expect(codes(otherOrganization)).toEqual(['NOT_FOUND']);
    const unknown = await b.query<Answer>(QUERY, { id }, { authorization: 'Bearer revoked-token' });
    expect(unknown.data).toEqual({ execution: null });
    expect(codes(unknown)).toEqual(['UNAUTHENTICATED']);
    const none = await b.query<Answer>(QUERY, { id }, { authorization: null });
    expect(none.data).toEqual({ execution: null });
    expect(codes(none)).toEqual(['UNAUTHENTICATED']);
    // Asked through A, which holds the execution in its own cache: the same refusals.
    expect(codes(await a.query<Answer>(QUERY, { id }, { authorization: AUTH_B }))).toEqual(['NOT_FOUND']);

    // What upstream saw: each caller's own token, once for the one cached, never a token for another caller.
    expect(upstream.requestsFor(id).map((request) => request.headers.authorization)).toEqual([AUTH_A, AUTH_A2, AUTH_B, 'Bearer revoked-token', AUTH_B]);
    // One entry per caller upstream served, none for those it refused.
    for (const [authorization, stored] of [[AUTH_A2, 1], [AUTH_B, 0], ['Bearer revoked-token', 0]] as const) {
      await waitForAnswer(async () => (await redis.exists(cacheKey(b, authorization, id))) === stored, `${authorization}'s entry ${stored ? 'stored' : 'absent'}`);
    }
    await sleep(100);
    expect(await redis.exists(cacheKey(b, AUTH_B, id), cacheKey(b, 'Bearer revoked-token', id))).toBe(0);
    for (const replica of [a, b]) for (const token of ['token-a', 'token-a2', 'token-b', 'revoked-token']) expect(replica.rawLogs).not.toContain(token);
  });

  it("an entry another REDIS_KEY_PREFIX wrote is not read; a key of another type where a replica keeps a cache entry or a pair's outage is one refusal line, never served, and queries and watches go on", async () => {
    const { upstream, clients } = replicas;
    const [a, b] = [await replicas.replica(env), await replicas.replica(env)];
    const elsewhere = await replicas.replica({ ...env, REDIS_KEY_PREFIX: 'replicas12-staging:' });
    const redis = probe();

    // Another deployment on the same Redis, with the same secret and callers, under its own prefix.
    const shared = 'ex_r12_prefix';
    putExecution(upstream, shared, 'workflow_succeeded', { organizationId: 'org_a' });
    expect(calls(await elsewhere.query(QUERY, { id: shared }, { authorization: AUTH_A }))).toBe(1);
    await waitForAnswer(async () => (await redis.exists(cacheKey(elsewhere, AUTH_A, shared))) === 1, 'the other prefix to store it');
    expect(cacheKey(elsewhere, AUTH_A, shared)).not.toBe(cacheKey(a, AUTH_A, shared));
    expect(calls(await a.query(QUERY, { id: shared }, { authorization: AUTH_A }))).toBe(1);
    expect(upstream.requestsFor(shared)).toHaveLength(2);

    // A hash where the cache entry would be: refused (WRONGTYPE), asked of upstream, then overwritten by what upstream said.
    const done = 'ex_r12_wrongtype';
    putExecution(upstream, done, 'workflow_succeeded', { organizationId: 'org_a' });
    await redis.hset(cacheKey(a, AUTH_A, done), 'status', 'workflow_succeeded');
    const served = await a.query<Answer>(QUERY, { id: done }, { authorization: AUTH_A });
    expect(served.errors).toBeUndefined();
    expect(served.data?.execution).toMatchObject({ id: done, events: { totalCount: 3 } });
    await waitForAnswer(async () => (await redis.type(cacheKey(a, AUTH_A, done))) === 'string', 'the entry rewritten');
    expect(calls(await b.query(QUERY, { id: done }, { authorization: AUTH_A }))).toBe(0);
    expect(upstream.requestsFor(done)).toHaveLength(1);
    expect(warnings(a, 'redis refused a shared cache command').map((line) => line.reply)).toEqual(['WRONGTYPE Operation against a key holding the wrong kind of value']);

    // A hash where the pair's outage record would be: no lease can be checked, so each replica polls for its own watchers.
    const live = 'ex_r12_wrongtype_live';
    putExecution(upstream, live, 'workflow_running', { organizationId: 'org_a' });
    const outageKey = a.instance.redis!.key('outage', a.instance.redis!.callerTag(AUTH_A), live);
    await redis.hset(outageKey, 'since', 'yesterday');
    const watchers = [watch(clients.for(a, AUTH_A), live), watch(clients.for(b, AUTH_A), live)];
    await waitFor(() => watchers.every((watcher) => watcher.updates.length >= 1), () => `every first update; ${watchers.map((watcher) => watcher.describe()).join(' | ')}`);
    const appended = advance(upstream, live, 'workflow_waiting', 2);
    await waitFor(() => watchers.every((watcher) => watcher.eventIds.join() === appended.join()), () => `the change on both; ${watchers.map((watcher) => watcher.describe()).join(' | ')}`);
    for (const replica of [a, b]) {
      expect(warnings(replica, 'redis refused a live lease command').map((line) => String(line.reply).split(' script:')[0])).toEqual(['WRONGTYPE Operation against a key holding the wrong kind of value']);
      expect(replica.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
    }
    // Gone, the pair has one lease again.
    await redis.del(outageKey);
    await waitFor(() => a.instance.live.leases!.held + b.instance.live.leases!.held === 1, 'one lease in all once the key is gone');
    for (const watcher of watchers) expect(watcher.errorCodes).toEqual([]);
  });

  it('Redis full under noeviction: every query is answered, from upstream once per replica, with one line per kind of refused command, not one per request; writes are taken again once it has room', async () => {
    const { upstream } = replicas;
    const [a, b] = [await replicas.replica(env), await replicas.replica(env)];
    const redis = probe();
    const ids = Array.from({ length: 12 }, (_, i) => `ex_r12_full_${i}`);
    for (const id of ids) putExecution(upstream, id, 'workflow_succeeded', { organizationId: 'org_a' });
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.config('SET', 'maxmemory', '1');
    try {
      for (let round = 0; round < 2; round++) {
        for (const id of ids) {
          for (const replica of [a, b]) {
            const response = await replica.query<Answer>(QUERY, { id }, { authorization: AUTH_A });
            expect(response.errors).toBeUndefined();
            expect(response.data?.execution).toMatchObject({ id, status: 'WORKFLOW_SUCCEEDED' });
          }
        }
      }
      // Nothing reached Redis: each replica asked upstream once, and then served its own copy.
      for (const id of ids) expect(upstream.requestsFor(id)).toHaveLength(2);
      for (const replica of [a, b]) {
        const refused = warnings(replica, 'redis refused a shared cache command');
        expect(refused, JSON.stringify(refused)).toHaveLength(1);
        expect(String(refused[0]!.reply)).toMatch(/^OOM command not allowed/);
        expect(await readiness(replica.origin)).toMatchObject({ redis: 'connected' });
        expect(await replica.metricValue('gateway_redis_errors_total')).toBeGreaterThanOrEqual(ids.length);
      }
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
    const later = 'ex_r12_full_after';
    putExecution(upstream, later, 'workflow_succeeded', { organizationId: 'org_a' });
    expect(calls(await a.query(QUERY, { id: later }, { authorization: AUTH_A }))).toBe(1);
    await waitForAnswer(async () => (await redis.exists(cacheKey(a, AUTH_A, later))) === 1, 'A to store it once Redis has room');
    expect(calls(await b.query(QUERY, { id: later }, { authorization: AUTH_A }))).toBe(0);
    expect(upstream.requestsFor(later)).toHaveLength(1);
  });

  it("the lease holder drained: it gives the lease back as its watches end, so the other replica polls at its next tick, not a lease later, and its watchers get the next change", async () => {
    const { upstream, clients } = replicas;
    // A lease far longer than the test's waits: a takeover that waited for it to lapse would time out.
    const leased = { ...env, LIVE_LEASE_MS: '30000' };
    const a = await replicas.replica(leased);
    const id = 'ex_r12_drained';
    putExecution(upstream, id, 'workflow_running', { organizationId: 'org_a' });
    const onA = watch(clients.for(a, AUTH_A), id);
    await waitFor(() => onA.updates.length >= 1 && a.instance.live.leases!.held === 1, () => `A's first update and lease; ${onA.describe()}`);
    const b = await replicas.replica(leased);
    const onB: Recorder = watch(clients.for(b, AUTH_A), id);
    await waitFor(() => onB.updates.length >= 1, () => `B's first update; ${onB.describe()}`);
    expect(b.instance.live.leases!.held).toBe(0);

    await a.instance.drain({ unreadyMs: 0, graceMs: 2_000 });
    expect(onA.errorCodes).toEqual(['SHUTTING_DOWN']);
    await waitFor(() => b.instance.live.leases!.held === 1, 'B to take the lease', 5_000);
    const appended = advance(upstream, id, 'workflow_waiting', 2);
    await waitFor(() => onB.eventIds.join() === appended.join() && onB.statuses.includes('WORKFLOW_WAITING'), () => `B's watcher to get the change; ${onB.describe()}`, 5_000);
    expect(onB.errorCodes).toEqual([]);
  });
});
