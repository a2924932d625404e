/**
 * The execution cache shared by replicas through Redis (src/shared-state/,
 * src/upstream/shared-executions.ts), against a real `redis-server` on
 * loopback (test/support/redis.ts), never a mock: two gateways on one fake
 * upstream share finished executions per caller, keyed by an HMAC of the
 * caller's Authorization; what is not shared (active executions, values over
 * REDIS_CACHE_MAX_VALUE_BYTES, another caller's entries, values this version
 * did not write) costs an upstream call and nothing else; and a Redis that is
 * absent at start or dies mid-run degrades to local state, quickly, with one
 * log line, and is used again once it is back.
 *
 * Counts are what the fake upstream saw, per id. Writes to Redis happen in the
 * background after a response, so a test waits (with a deadline) for the key
 * to appear before asking the other replica.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../src/config.js';
import { demoExecutions, DEMO_ORGANIZATION, DEMO_TOKEN, makeEvents } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { FORMAT, SEAL_BYTES, sealed } from '../src/shared-state/redis-store.js';
import { AUTH, Harness, LANES, type GraphQLResponse, type LaneName } from './support/harness.js';
import { RedisServer } from './support/redis.js';
import { RedisProxy } from './support/redis-proxy.js';

const SECRET = 'test-secret-for-the-caller-hmac-0123456789';
const OTHER_SECRET = 'another-secret-for-the-caller-hmac-987654321';
const OTHER_TOKEN = 'other-token';
const OTHER_AUTH = `Bearer ${OTHER_TOKEN}`;
/** Both callers see the demo organization, so they are served the same executions. */
const TOKENS = { [DEMO_TOKEN]: DEMO_ORGANIZATION, [OTHER_TOKEN]: DEMO_ORGANIZATION };

// ex_demo_1…8 follow UPSTREAM_STATUSES: 4 is workflow_running, 6/7/8 succeeded/failed/cancelled.
const SUCCEEDED = 'ex_demo_6';
const FAILED = 'ex_demo_7';
const CANCELLED = 'ex_demo_8';
const RUNNING = 'ex_demo_4';
const AWAITING = 'ex_demo_1';
const CONFIRMED = 'ex_demo_2';
const QUEUED = 'ex_demo_3';

const QUERY = `query($id: ID!) {
  execution(id: $id) {
    id status rawStatus isTerminal statusReason responsePayload finishedAt
    events(first: 100) { totalCount nodes { id message createdAt } }
  }
}`;

interface ExecutionData {
  execution: {
    id: string;
    rawStatus: string;
    isTerminal: boolean;
    statusReason: string | null;
    responsePayload: unknown;
    events: { totalCount: number; nodes: Array<{ id: string; message: string }> };
  } | null;
}

const DEMO = new Map(demoExecutions().map((stored) => [stored.execution.id, stored]));

/** The response is the demo execution `id`, whole, with no error. */
function expectServed(response: GraphQLResponse<ExecutionData>, id: string): void {
  expect(response.status).toBe(200);
  expect(response.errors).toBeUndefined();
  const stored = DEMO.get(id)!;
  const execution = response.data!.execution!;
  expect(execution).toMatchObject({
    id,
    rawStatus: stored.execution.status,
    statusReason: stored.execution.statusReason,
    responsePayload: stored.execution.responsePayload,
  });
  expect(execution.events.totalCount).toBe(stored.events.length);
  expect(execution.events.nodes.map((event) => event.id)).toEqual(stored.events.map((event) => event.id));
}

const costOf = (response: { extensions?: Record<string, unknown> }) => response.extensions?.upstream as { calls: number; cacheHits: number; sharedCalls: number };

function ask(harness: Harness, id: string, authorization = AUTH): Promise<GraphQLResponse<ExecutionData>> {
  return harness.query<ExecutionData>(QUERY, { id }, { authorization });
}

/**
 * How long a replica may take to find a Redis that came back: ioredis waits up to 2 s between tries
 * (src/shared-state/redis-store.ts), and a loaded CI machine once took more than the 3 s left of the default wait.
 */
const RECONNECT_MS = 15_000;

/** Polls `condition` until it holds; fails after `timeoutMs` with `what`. */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`not in ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const tagOf = (authorization: string, secret = SECRET) => createHmac('sha256', secret).update(authorization).digest('base64url');
const cacheKey = (prefix: string, id: string, authorization = AUTH, secret = SECRET) => `${prefix}v${FORMAT}:cache:${tagOf(authorization, secret)}:${id}`;

/**
 * Every key matching `pattern`, sorted, but the replicas' check of their key secret (one sorted set per prefix,
 * written from a replica's first second up, test/redis-key-check.test.ts): what these tests count is the cache.
 */
async function keys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found.filter((key) => !key.endsWith(':key-check')).sort();
}

/** The sum of a metric's samples in the harness's registry (0 when it has none). */
async function metric(harness: Harness, name: string): Promise<number> {
  const text = await harness.instance.metrics!.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

const WARN = 40;
const INFO = 30;
const lossLines = (harness: Harness) => harness.logs.filter((line) => line.level === WARN && line.msg === 'redis unreachable: serving from local state until it is back');
const backLines = (harness: Harness) => harness.logs.filter((line) => line.level === INFO && String(line.msg).startsWith('redis reachable again'));
/** The command connection's failed (re)connection attempts, logged at debug. */
const redisErrors = (harness: Harness) => harness.logs.filter((line) => line.msg === 'redis error' && line.role === 'commands');

async function ready(harness: Harness): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await harness.fetch('/ready');
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

// Everything a test starts, stopped after it.
let upstream: FakeUpstream | undefined;
const harnesses: Harness[] = [];
const clients: Redis[] = [];
const servers: RedisServer[] = [];

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.stop()));
  await upstream?.close();
  upstream = undefined;
});

/** One fake upstream for the replicas of a test; both callers accepted. */
async function sharedUpstream(): Promise<FakeUpstream> {
  upstream = await FakeUpstream.start({ executions: demoExecutions(), tokens: TOKENS });
  return upstream;
}

/**
 * A replica on the test's upstream. `connected`: wait until its Redis connection is ready; until then
 * (a few ms after start) it neither reads nor writes Redis, by design, and a test's first read would not be shared.
 */
async function replica(lane: LaneName, env: Record<string, string>, connected = true): Promise<Harness> {
  const harness = await Harness.start({ lane, sharedUpstream: upstream!, env });
  harnesses.push(harness);
  if (connected) await waitFor('the replica connected to Redis', () => harness.instance.redis!.up);
  return harness;
}

function inspector(url: string): Redis {
  const client = new Redis(url);
  // Reconnects by itself when a test restarts the server; nothing to report meanwhile.
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

// One Redis for the sharing suites; each test keys under its own prefix.
let redisServer: RedisServer;
let redis: Redis;
let prefixes = 0;
const newPrefix = () => `t${++prefixes}-${process.pid}:`;

beforeAll(async () => {
  redisServer = await RedisServer.start();
  redis = new Redis(redisServer.url);
});

afterAll(async () => {
  await redis?.quit();
  await redisServer?.stop();
});

/**
 * Gateway settings of a replica on `url`. The command timeout is raised from
 * its 50 ms default in the sharing suites so that a busy CI machine (a stalled
 * event loop fires the timer before the reply is read) cannot turn a hit into a
 * miss and an extra upstream call; the outage suites keep the default.
 */
const sharing = (url: string, prefix: string, extra: Record<string, string> = {}) => ({
  REDIS_URL: url,
  REDIS_KEY_SECRET: SECRET,
  REDIS_KEY_PREFIX: prefix,
  REDIS_COMMAND_TIMEOUT_MS: '1000',
  TERMINAL_CACHE_TTL_MS: '60000',
  ...extra,
});

describe.each(LANES)('shared cache between two replicas, %s lane', (lane) => {
  it('a warning on an execution B serves from Redis names the upstream response A read it from', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const b = await replica(lane, sharing(redisServer.url, prefix));
    const stored = DEMO.get(SUCCEEDED)!;
    upstream!.put({ ...stored, execution: { ...stored.execution, startedAt: 'soon' } });
    const startedAt = 'query($id: ID!) { execution(id: $id) { startedAt } }';
    const fromA = await a.query(startedAt, { id: SUCCEEDED });
    const [noteA] = fromA.extensions!.warnings as Array<{ upstreamRequestId?: string }>;
    expect(noteA!.upstreamRequestId).toMatch(/^up-\d+$/);
    await waitFor('A stored it in Redis', async () => (await redis.exists(cacheKey(prefix, SUCCEEDED))) === 1);
    const fromB = await b.query(startedAt, { id: SUCCEEDED });
    expect(costOf(fromB)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(fromB.extensions!.warnings).toEqual(fromA.extensions!.warnings);
  });

  it('an execution B serves from Redis carries the notes A served it with: numbers past a double\'s range stay unreadable', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const b = await replica(lane, sharing(redisServer.url, prefix));
    const stored = DEMO.get(SUCCEEDED)!;
    // JSON.parse reads 1e400 as Infinity, which JSON.stringify writes as null: Redis held null, and B served it without a note.
    const envelope = JSON.stringify({
      code: 200,
      data: {
        execution: { ...stored.execution, statusReason: '<past>', startedAt: '<past>', requestPayload: { big: '<past>' }, responsePayload: '<past>' },
        events: stored.events.map((event, i) => (i === 0 ? { ...event, createdAt: '<past>', id: '<past>' } : event)),
      },
      requestId: 'req-past-double',
    }).replaceAll('"<past>"', '1e400');
    upstream!.setFault(SUCCEEDED, { kind: 'body', body: envelope });
    const select = 'query($id: ID!) { execution(id: $id) { id statusReason startedAt requestPayload responsePayload events(first: 1) { nodes { id createdAt } } } }';
    const fromA = await a.query(select, { id: SUCCEEDED });
    expect(fromA.errors).toBeUndefined();
    expect((fromA.extensions!.warnings as Array<{ path: unknown[] }>).map((note) => note.path)).toEqual([
      ['execution', 'statusReason'],
      ['execution', 'startedAt'],
      ['execution', 'responsePayload'],
      ['execution', 'events', 'nodes', 0, 'id'],
      ['execution', 'events', 'nodes', 0, 'createdAt'],
    ]);
    await waitFor('A stored it in Redis', async () => (await redis.exists(cacheKey(prefix, SUCCEEDED))) === 1);
    const fromB = await b.query(select, { id: SUCCEEDED });
    expect(costOf(fromB)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(fromB.data).toEqual(fromA.data);
    expect(fromB.extensions!.warnings).toEqual(fromA.extensions!.warnings);
  });

  it('odd upstream data reads the same fresh, from the local cache and from Redis: the same values, the same notes, never a lost execution', async () => {
    await sharedUpstream();
    const stored = DEMO.get(SUCCEEDED)!;
    const event = (index: number, fields: Record<string, unknown>) => ({ ...stored.events[index], ...fields });
    const envelope = (execution: Record<string, unknown>, events: unknown) => JSON.stringify({ code: 200, data: { execution: { ...stored.execution, ...execution }, events } });
    const deep = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
    const bodies: Array<[string, string | Buffer, Record<string, string>?, string?]> = [
      ['duplicate keys (the last one counts)', envelope({}, stored.events).replace('"status":', '"status":["bogus"],"status":')],
      ['payloads nested 10,000 levels', envelope({ requestPayload: '<deep>' }, [event(0, { data: '<deep>' })]).replaceAll('"<deep>"', deep(10_000))],
      ['numbers as event ids: past 2^53, and past a double', envelope({}, [event(0, { id: '<a>' }), event(1, { id: '<b>' }), event(2, { id: '<c>' })]).replace('"<a>"', '12345678901234567890').replace('"<b>"', '12345678901234567891').replace('"<c>"', '1e400')],
      ['-0 as a text field and an event id (JSON.stringify writes 0)', envelope({ statusReason: '<-0>' }, [event(0, { id: '<-0>' }), event(1, { id: 0 })]).replaceAll('"<-0>"', '-0')],
      ['events out of order, with duplicate ids', envelope({}, [event(0, { id: 'e3', createdAt: '2026-03-01T12:00:03Z' }), event(1, { id: 'e1', createdAt: '2026-03-01T12:00:01Z' }), event(2, { id: 'e1' }), event(3, { id: 'e2', createdAt: '2026-03-01T12:00:01Z' })])],
      [
        'timestamps in odd spellings, valid and not',
        envelope({ createdAt: '2026-03-01t12:00:00.123456789z', updatedAt: '2026-03-01 12:00:00+0530', startedAt: '2026-03-01T12:00:60Z', finishedAt: '2026-02-30T00:00:00Z' }, [
          event(0, { createdAt: '2026-03-01T12:00:00-00:00' }),
          event(1, { createdAt: 1_772_366_400_000 }),
          event(2, { createdAt: '2026-03-01' }),
          event(3, { createdAt: '2026-03-01T24:00:00Z' }),
          event(4, { createdAt: '<negative past a double>' }),
        ]).replace('"<negative past a double>"', '-1e400'),
      ],
      // With their events, empty or not: a reading without them is not cached (test/shared-executions.test.ts).
      ['no envelope but data', JSON.stringify({ data: { execution: stored.execution, events: stored.events } })],
      ['event entries that are no objects', envelope({}, [null, 5, [], 'x', {}])],
      ['an execution of nothing but its id and status', JSON.stringify({ data: { execution: { id: SUCCEEDED, status: 'workflow_succeeded' }, events: [] } })],
      ['UTF-16LE with its byte-order mark', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(envelope({ statusReason: 'Zahlung für Rechnung 😀' }, stored.events), 'utf16le')])],
      ['a charset the gateway does not know', envelope({ statusReason: 'naïve' }, stored.events), { 'content-type': 'application/json; charset=x-klingon' }],
      ['an execution id written as a number', JSON.stringify({ data: { execution: { ...stored.execution, id: 12345 }, events: stored.events } }), undefined, '12345'],
    ];
    const query = `query($id: ID!) { execution(id: $id) { id status rawStatus statusReason requestPayload createdAt updatedAt startedAt finishedAt
      events(first: 10) { totalCount edges { cursor node { id executionId createdAt data level } } }
      newest: events(first: 10, order: DESC) { nodes { id createdAt } }
      later: events(first: 10, filter: { createdAfter: "2026-03-01T12:00:00.500Z" }) { totalCount nodes { id } } } }`;
    const seen = (response: GraphQLResponse) => ({ data: response.data, errors: response.errors, warnings: response.extensions?.warnings });
    for (const [quirk, body, headers, id = SUCCEEDED] of bodies) {
      const prefix = newPrefix();
      const a = await replica(lane, sharing(redisServer.url, prefix));
      const b = await replica(lane, sharing(redisServer.url, prefix));
      upstream!.setFault(id, { kind: 'body', body, ...(headers ? { headers } : {}) });
      const fresh = await a.query(query, { id });
      expect(fresh.errors, quirk).toBeUndefined();
      expect((fresh.data as { execution?: { id?: string } } | undefined)?.execution?.id, quirk).toBe(id);
      const local = await a.query(query, { id });
      expect(costOf(local), quirk).toMatchObject({ calls: 0, cacheHits: 1 });
      expect(seen(local), quirk).toEqual(seen(fresh));
      await waitFor(`A stored ${quirk} in Redis`, async () => (await redis.exists(cacheKey(prefix, id))) === 1);
      const shared = await b.query(query, { id });
      expect(costOf(shared), quirk).toMatchObject({ calls: 0, cacheHits: 1 });
      expect(seen(shared), quirk).toEqual(seen(fresh));
      await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
    }
  });

  it('a finished execution read through A is served by B from Redis: one upstream call in all, the same data', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const b = await replica(lane, sharing(redisServer.url, prefix));

    const fromA = await ask(a, SUCCEEDED);
    expectServed(fromA, SUCCEEDED);
    expect(costOf(fromA)).toMatchObject({ calls: 1, cacheHits: 0, sharedCalls: 0 });
    await waitFor('A stored it in Redis', async () => (await redis.exists(cacheKey(prefix, SUCCEEDED))) === 1);

    const fromB = await ask(b, SUCCEEDED);
    expectServed(fromB, SUCCEEDED);
    expect(fromB.data).toEqual(fromA.data);
    expect(costOf(fromB)).toMatchObject({ calls: 0, cacheHits: 1, sharedCalls: 0 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(1);

    // B keeps it locally now: a second read is a local hit, no Redis read, no call.
    const again = await ask(b, SUCCEEDED);
    expect(costOf(again)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(1);
    expect(upstream!.requests).toHaveLength(1);

    expect(await metric(a, 'gateway_shared_cache_hits_total')).toBe(0);
    expect(await metric(a, 'gateway_shared_cache_misses_total')).toBe(1);
    expect(await metric(b, 'gateway_shared_cache_hits_total')).toBe(1);
    expect(await metric(b, 'gateway_shared_cache_misses_total')).toBe(0);
    expect(await metric(b, 'gateway_redis_errors_total')).toBe(0);
    expect(await metric(b, 'gateway_redis_up')).toBe(1);
    expect(await ready(b)).toEqual({ status: 200, body: { status: 'ready', upstream: { circuit: 'closed' }, redis: 'connected' } });
  });

  it('is per caller: another caller gets its own call and key; keys are HMACs of the caller, with no token or plain hash in Redis', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const b = await replica(lane, sharing(redisServer.url, prefix));

    expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
    await waitFor('A stored it in Redis', async () => (await redis.exists(cacheKey(prefix, SUCCEEDED))) === 1);

    // The other caller asks B: A's entry is not theirs.
    const other = await ask(b, SUCCEEDED, OTHER_AUTH);
    expectServed(other, SUCCEEDED);
    expect(costOf(other)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(2);
    expect(upstream!.requestsFor(SUCCEEDED).map((request) => request.headers.authorization)).toEqual([AUTH, OTHER_AUTH]);
    await waitFor('B stored the other caller\'s in Redis', async () => (await redis.exists(cacheKey(prefix, SUCCEEDED, OTHER_AUTH))) === 1);

    // Exactly two keys, one per caller, under `<prefix>v<FORMAT>:cache:<tag>:<id>`, tags the HMAC of each Authorization.
    const stored = await keys(redis, `${prefix}*`);
    expect(stored).toEqual([cacheKey(prefix, SUCCEEDED), cacheKey(prefix, SUCCEEDED, OTHER_AUTH)].sort());
    const tags = stored.map((key) => key.slice(`${prefix}v${FORMAT}:cache:`.length, -`:${SUCCEEDED}`.length));
    expect(new Set(tags).size).toBe(2);
    expect(tags.every((tag) => /^[A-Za-z0-9_-]{43}$/.test(tag))).toBe(true);
    expect(a.instance.redis!.callerTag(AUTH)).toBe(tagOf(AUTH));

    // Each caller reads back its own entry through the other replica.
    const mine = await ask(b, SUCCEEDED);
    expect(costOf(mine)).toMatchObject({ calls: 0, cacheHits: 1 });
    const theirs = await ask(a, SUCCEEDED, OTHER_AUTH);
    expect(costOf(theirs)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(2);

    // Nothing in Redis (keys or values, whatever any test stored) holds a token, the header, or a plain hash of either.
    const secrets = [DEMO_TOKEN, OTHER_TOKEN].flatMap((token) =>
      [token, `Bearer ${token}`].flatMap((text) => [
        text,
        createHash('sha256').update(text).digest('hex'),
        createHash('sha256').update(text).digest('base64url'),
        createHash('sha256').update(text).digest('base64'),
        Buffer.from(text).toString('base64url'),
      ]),
    );
    const everything = await keys(redis, '*');
    expect(everything.length).toBeGreaterThanOrEqual(2);
    const values = await Promise.all(everything.map((key) => redis.get(key)));
    for (const text of [...everything, ...values.map(String)]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }

    // The tag depends on REDIS_KEY_SECRET: a replica with another secret misses the same caller's entry, and writes its own key.
    const c = await replica(lane, { ...sharing(redisServer.url, prefix), REDIS_KEY_SECRET: OTHER_SECRET });
    const fromC = await ask(c, SUCCEEDED);
    expectServed(fromC, SUCCEEDED);
    expect(costOf(fromC)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(3);
    expect(await metric(c, 'gateway_shared_cache_misses_total')).toBe(1);
    await waitFor('C stored it under its own tag', async () => (await redis.exists(cacheKey(prefix, SUCCEEDED, AUTH, OTHER_SECRET))) === 1);
    expect(tagOf(AUTH, OTHER_SECRET)).not.toBe(tagOf(AUTH));
    expect(await keys(redis, `${prefix}*`)).toHaveLength(3);
  });

  it('does not share active executions by default (ACTIVE_CACHE_TTL_MS=0): B calls upstream again, and nothing is stored', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const b = await replica(lane, sharing(redisServer.url, prefix));

    expectServed(await ask(a, RUNNING), RUNNING);
    // A barrier: writes go out in order on A's one connection, so once a later terminal write has landed, an earlier one would have too.
    expectServed(await ask(a, CANCELLED), CANCELLED);
    await waitFor('A stored the terminal one', async () => (await redis.exists(cacheKey(prefix, CANCELLED))) === 1);
    expect(await keys(redis, `${prefix}*`)).toEqual([cacheKey(prefix, CANCELLED)]);

    const fromB = await ask(b, RUNNING);
    expectServed(fromB, RUNNING);
    expect(costOf(fromB)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(2);
    // Nor locally: each read of an active execution is a call, and no longer a Redis read once it was seen running.
    const missesBefore = await metric(b, 'gateway_shared_cache_misses_total');
    for (let i = 0; i < 3; i++) expect(costOf(await ask(b, RUNNING))).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(5);
    expect(await metric(b, 'gateway_shared_cache_misses_total')).toBe(missesBefore);
    expect(upstream!.requestsFor(CANCELLED)).toHaveLength(1);
    expect(await keys(redis, `${prefix}*`)).toEqual([cacheKey(prefix, CANCELLED)]);

    // It finishes: B's next call finds it so and shares it. A last saw it running, so it skips Redis and calls upstream once more; then it serves it from its cache.
    upstream!.put({ ...DEMO.get(RUNNING)!, execution: { ...DEMO.get(RUNNING)!.execution, status: 'workflow_succeeded' } });
    expect(costOf(await ask(b, RUNNING))).toMatchObject({ calls: 1 });
    await waitFor('B stored the finished one', async () => (await redis.exists(cacheKey(prefix, RUNNING))) === 1);
    expect(costOf(await ask(a, RUNNING))).toMatchObject({ calls: 1 });
    expect(costOf(await ask(a, RUNNING))).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(7);
  });

  it('keeps executions over REDIS_CACHE_MAX_VALUE_BYTES out of Redis, counted; the bound is on the stored JSON\'s bytes', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const small = sharing(redisServer.url, prefix, { REDIS_CACHE_MAX_VALUE_BYTES: '100' });
    const a = await replica(lane, small);
    const b = await replica(lane, small);

    expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
    // Refused synchronously, before any write: once the response is here the count is too.
    expect(await metric(a, 'gateway_shared_cache_too_large_total')).toBe(1);
    const fromB = await ask(b, SUCCEEDED);
    expectServed(fromB, SUCCEEDED);
    expect(costOf(fromB)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(2);
    expect(await metric(b, 'gateway_shared_cache_too_large_total')).toBe(1);
    expect(await metric(b, 'gateway_shared_cache_misses_total')).toBe(1);
    expect(await keys(redis, `${prefix}*`)).toEqual([]);
    // Still cached locally on each replica.
    expect(costOf(await ask(a, SUCCEEDED))).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(costOf(await ask(b, SUCCEEDED))).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(2);

    // The exact bound: the value's own size is allowed, one byte less is not.
    const measure = newPrefix();
    const m = await replica(lane, sharing(redisServer.url, measure));
    await ask(m, FAILED);
    await waitFor('stored to measure', async () => (await redis.exists(cacheKey(measure, FAILED))) === 1);
    // The bound is on the JSON, not on the seal in front of it.
    const size = Buffer.byteLength((await redis.get(cacheKey(measure, FAILED)))!) - SEAL_BYTES;
    const under = newPrefix();
    const refuses = await replica(lane, sharing(redisServer.url, under, { REDIS_CACHE_MAX_VALUE_BYTES: String(size - 1) }));
    expectServed(await ask(refuses, FAILED), FAILED);
    expect(await metric(refuses, 'gateway_shared_cache_too_large_total')).toBe(1);
    const exact = newPrefix();
    const takes = await replica(lane, sharing(redisServer.url, exact, { REDIS_CACHE_MAX_VALUE_BYTES: String(size) }));
    expectServed(await ask(takes, FAILED), FAILED);
    expect(await metric(takes, 'gateway_shared_cache_too_large_total')).toBe(0);
    await waitFor('stored at exactly the bound', async () => (await redis.exists(cacheKey(exact, FAILED))) === 1);
    expect(await keys(redis, `${under}*`)).toEqual([]);
    expect(upstream!.requestsFor(FAILED)).toHaveLength(3);
  });

  it('stores with the local cache\'s TTL (PX): TERMINAL_CACHE_TTL_MS for finished, ACTIVE_CACHE_TTL_MS for others; gone once expired', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const env = sharing(redisServer.url, prefix, { TERMINAL_CACHE_TTL_MS: '45000', ACTIVE_CACHE_TTL_MS: '7000' });
    const a = await replica(lane, env);
    const b = await replica(lane, env);

    await ask(a, FAILED);
    await ask(a, RUNNING);
    await waitFor('both stored', async () => (await redis.exists(cacheKey(prefix, FAILED), cacheKey(prefix, RUNNING))) === 2);
    const terminalTtl = await redis.pttl(cacheKey(prefix, FAILED));
    expect(terminalTtl).toBeGreaterThan(40_000);
    expect(terminalTtl).toBeLessThanOrEqual(45_000);
    const activeTtl = await redis.pttl(cacheKey(prefix, RUNNING));
    expect(activeTtl).toBeGreaterThan(2_000);
    expect(activeTtl).toBeLessThanOrEqual(7_000);
    // With ACTIVE_CACHE_TTL_MS set, an active execution is shared too.
    expect(costOf(await ask(b, RUNNING))).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(1);

    // An entry Redis expired is a miss. 1.5 s, not 300 ms: a loaded machine's stall of 300 ms between seeing the entry
    // and asking its PTTL finds it gone (-2).
    const short = newPrefix();
    const c = await replica(lane, sharing(redisServer.url, short, { TERMINAL_CACHE_TTL_MS: '1500' }));
    const d = await replica(lane, sharing(redisServer.url, short, { TERMINAL_CACHE_TTL_MS: '1500' }));
    await ask(c, CANCELLED);
    await waitFor('stored', async () => (await redis.exists(cacheKey(short, CANCELLED))) === 1);
    const ttl = await redis.pttl(cacheKey(short, CANCELLED));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_500);
    await waitFor('expired', async () => (await redis.exists(cacheKey(short, CANCELLED))) === 0);
    const fromD = await ask(d, CANCELLED);
    expectServed(fromD, CANCELLED);
    expect(costOf(fromD)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(CANCELLED)).toHaveLength(2);
  });

  it('treats a value this version did not write as a miss: an upstream call, the right answer, no error; then overwrites it', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const b = await replica(lane, sharing(redisServer.url, prefix));
    // Sealed as a replica seals (so what is tested here is the value itself).
    const plant = (id: string, value: string) => redis.set(cacheKey(prefix, id), sealed(SECRET, cacheKey(prefix, id), value), 'PX', 60_000);
    const valid = (id: string, source: Record<string, unknown>) => JSON.stringify({ source: { ...source, id }, events: [], bodyBytes: 100 });

    await plant(SUCCEEDED, '{"source": {"id": "ex_demo_6"'); // not JSON
    await plant(FAILED, valid(SUCCEEDED, DEMO.get(SUCCEEDED)!.execution as unknown as Record<string, unknown>)); // another id's execution
    // The right id and shape, but a size this version never writes (it stores the decoded body's byte count).
    await plant(CANCELLED, JSON.stringify({ source: DEMO.get(CANCELLED)!.execution, events: [], bodyBytes: -1_000_000 }));
    await plant(QUEUED, JSON.stringify({ source: { id: QUEUED, status: 'workflow_queued' } })); // no events, no bodyBytes
    await plant(AWAITING, 'null');
    await plant(RUNNING, JSON.stringify([{ source: { id: RUNNING }, events: [], bodyBytes: 1 }]));
    // A control: a value of the right shape is read (so the misses above are not a key mismatch).
    await plant(CONFIRMED, valid(CONFIRMED, { ...DEMO.get(CONFIRMED)!.execution, statusReason: 'planted in redis' }));

    for (const id of [SUCCEEDED, FAILED, CANCELLED, QUEUED, AWAITING, RUNNING]) {
      const response = await ask(a, id);
      expectServed(response, id);
      expect(costOf(response)).toMatchObject({ calls: 1, cacheHits: 0 });
      expect(upstream!.requestsFor(id)).toHaveLength(1);
    }
    const planted = await ask(a, CONFIRMED);
    expect(planted.errors).toBeUndefined();
    expect(planted.data!.execution).toMatchObject({ id: CONFIRMED, statusReason: 'planted in redis', events: { totalCount: 0 } });
    expect(costOf(planted)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(CONFIRMED)).toHaveLength(0);
    expect(await metric(a, 'gateway_shared_cache_misses_total')).toBe(6);
    expect(await metric(a, 'gateway_shared_cache_hits_total')).toBe(1);
    expect(await metric(a, 'gateway_redis_errors_total')).toBe(0);
    expect(a.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);

    // What upstream answered for the finished ones replaced the foreign values, and B reads it.
    for (const id of [SUCCEEDED, FAILED, CANCELLED]) {
      await waitFor(`${id} rewritten`, async () => {
        const text = await redis.get(cacheKey(prefix, id));
        try {
          return (JSON.parse(text!.slice(SEAL_BYTES)) as { source: { id: string } }).source.id === id && text!.includes('"events":[{');
        } catch {
          return false;
        }
      });
      const fromB = await ask(b, id);
      expectServed(fromB, id);
      expect(costOf(fromB)).toMatchObject({ calls: 0, cacheHits: 1 });
      expect(upstream!.requestsFor(id)).toHaveLength(1);
    }
  });

  it('reads a value only under the key it was sealed to, only if a replica with the secret sealed it, and never one over the bound', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const a = await replica(lane, sharing(redisServer.url, prefix));
    const valid = (id: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ source: { ...(DEMO.get(id)!.execution as unknown as Record<string, unknown>), statusReason: 'planted in redis', ...extra }, events: [], bodyBytes: 100 });
    // Written by someone who can write to Redis but has no secret: not sealed, or sealed with another secret.
    await redis.set(cacheKey(prefix, AWAITING), valid(AWAITING), 'PX', 60_000);
    await redis.set(cacheKey(prefix, QUEUED), sealed(OTHER_SECRET, cacheKey(prefix, QUEUED), valid(QUEUED)), 'PX', 60_000);
    // One caller's entry copied under another caller's key, and another id's.
    await redis.set(cacheKey(prefix, CONFIRMED, OTHER_AUTH), sealed(SECRET, cacheKey(prefix, CONFIRMED), valid(CONFIRMED)), 'PX', 60_000);
    // Sealed as a replica seals, but past REDIS_CACHE_MAX_VALUE_BYTES (1 MiB): never parsed.
    const huge = valid(SUCCEEDED, { statusReason: 'x'.repeat(1_100_000) });
    await redis.set(cacheKey(prefix, SUCCEEDED), sealed(SECRET, cacheKey(prefix, SUCCEEDED), huge), 'PX', 60_000);
    // The control: sealed right, under its own key.
    await redis.set(cacheKey(prefix, FAILED), sealed(SECRET, cacheKey(prefix, FAILED), valid(FAILED)), 'PX', 60_000);

    for (const [id, authorization] of [[AWAITING, AUTH], [QUEUED, AUTH], [CONFIRMED, OTHER_AUTH], [SUCCEEDED, AUTH]] as const) {
      const response = await ask(a, id, authorization);
      expectServed(response, id);
      expect((response.data as ExecutionData).execution!.statusReason, id).not.toBe('planted in redis');
      expect(costOf(response), id).toMatchObject({ calls: 1, cacheHits: 0 });
    }
    const planted = await ask(a, FAILED);
    expect((planted.data as ExecutionData).execution).toMatchObject({ id: FAILED, statusReason: 'planted in redis' });
    expect(costOf(planted)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(await metric(a, 'gateway_shared_cache_misses_total')).toBe(4);
  });
});

describe('ACTIVE_CACHE_TTL_MS across replicas', () => {
  /**
   * A copy taken from Redis is kept locally for no longer than it had left there
   * (GET and PTTL in one round trip), so an active execution is never served
   * past ACTIVE_CACHE_TTL_MS after upstream answered, whichever replica serves it.
   */
  it('an active execution read from Redis is not served longer than ACTIVE_CACHE_TTL_MS after upstream answered', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const env = sharing(redisServer.url, prefix, { ACTIVE_CACHE_TTL_MS: '2000' });
    const a = await replica('fast', env);
    const b = await replica('fast', env);
    const eventCount = DEMO.get(RUNNING)!.events.length;

    expect(costOf(await ask(a, RUNNING))).toMatchObject({ calls: 1 });
    await waitFor('A stored it', async () => (await redis.exists(cacheKey(prefix, RUNNING))) === 1);
    // Upstream moves on.
    upstream!.appendEvents(RUNNING, makeEvents(RUNNING, DEMO_ORGANIZATION, 1, Date.parse('2026-03-01T13:00:00.000Z'), eventCount + 1));

    // Within the TTL, B may serve what A read (time is what this test is about: a plain wait).
    await new Promise((resolve) => setTimeout(resolve, 800));
    const early = await ask(b, RUNNING);
    expect(costOf(early)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(early.data!.execution!.events.totalCount).toBe(eventCount);
    // A copy read from Redis is not written back: its time there still counts from upstream's answer.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await redis.pttl(cacheKey(prefix, RUNNING))).toBeLessThan(1_300);

    // Once Redis has expired it, ACTIVE_CACHE_TTL_MS has passed since upstream answered: no replica may serve it any more.
    await waitFor('Redis expired it', async () => (await redis.exists(cacheKey(prefix, RUNNING))) === 0);
    const late = await ask(b, RUNNING);
    expect(costOf(late)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(late.data!.execution!.events.totalCount).toBe(eventCount + 1);
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(2);
  });

  it('a replica that last saw an execution running still reads Redis for it once its own copy expired: another replica may have read upstream since', async () => {
    await sharedUpstream();
    const prefix = newPrefix();
    const env = sharing(redisServer.url, prefix, { ACTIVE_CACHE_TTL_MS: '1000' });
    const a = await replica('fast', env);
    const b = await replica('fast', env);
    expect(costOf(await ask(b, RUNNING))).toMatchObject({ calls: 1 });
    // B's own copy expires with the one it stored in Redis, or before.
    await waitFor('B stored it', async () => (await redis.exists(cacheKey(prefix, RUNNING))) === 1);
    await waitFor('Redis expired it', async () => (await redis.exists(cacheKey(prefix, RUNNING))) === 0);
    expect(costOf(await ask(a, RUNNING))).toMatchObject({ calls: 1 });
    await waitFor('A stored it', async () => (await redis.exists(cacheKey(prefix, RUNNING))) === 1);
    expect(costOf(await ask(b, RUNNING))).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(2);
  });
});

describe.each(LANES)('Redis unreachable, %s lane', (lane) => {
  it('at start: served from upstream at once, /ready degraded, one warning; once Redis is up, connected and shared', async () => {
    await sharedUpstream();
    // A port that was Redis's and has nothing listening now; the same server starts on it later.
    const server = await RedisServer.start();
    servers.push(server);
    await server.stop();
    const prefix = 'unreachable:';
    // Two seconds for each command: the sharing checked at the end must not hang on a 50 ms timeout missed in a stall of
    // a loaded machine, and a query left waiting for a command's timeout would pass the 1.8 s bound below.
    const env = { REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, TERMINAL_CACHE_TTL_MS: '60000', REDIS_COMMAND_TIMEOUT_MS: '2000' };
    const a = await replica(lane, env, false);
    const b = await replica(lane, env, false);

    expect(await ready(a)).toEqual({ status: 200, body: { status: 'ready', upstream: { circuit: 'closed' }, redis: 'degraded', redisReason: 'connect ECONNREFUSED' } });
    expect(await metric(a, 'gateway_redis_up')).toBe(0);

    // Queries while ioredis keeps failing to reconnect (at least three attempts).
    const latencies: number[] = [];
    let runningQueries = 0;
    let finishedQueries = 0;
    const timed = async (harness: Harness, id: string) => {
      const started = performance.now();
      const response = await ask(harness, id);
      latencies.push(performance.now() - started);
      expectServed(response, id);
      return response;
    };
    await waitFor('three failed connection attempts', async () => {
      await timed(a, FAILED);
      await timed(b, FAILED);
      await timed(a, RUNNING);
      runningQueries++;
      finishedQueries += 2;
      return redisErrors(a).length >= 3 && redisErrors(b).length >= 3;
    });
    expect(finishedQueries).toBeGreaterThanOrEqual(2);
    // 1.8 s, not 1 s, as killed-mid-run allows: the gateways run in this test's process, and a loaded machine stalls it.
    expect(Math.max(...latencies)).toBeLessThan(1_800);
    // No sharing without Redis: one call per replica for the finished one (then local), one per read of the active one.
    expect(upstream!.requestsFor(FAILED)).toHaveLength(2);
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(runningQueries);
    expect(lossLines(a)).toHaveLength(1);
    expect(lossLines(b)).toHaveLength(1);
    expect(backLines(a)).toHaveLength(0);
    // The finished one once, the running one once: once seen running, it is not looked for in Redis again.
    expect(await metric(a, 'gateway_shared_cache_misses_total')).toBe(2);
    expect(await metric(a, 'gateway_redis_errors_total')).toBe(0);
    expect((await ready(b)).body.redis).toBe('degraded');

    await server.start();
    await waitFor('A reports redis connected', async () => (await ready(a)).body.redis === 'connected', RECONNECT_MS);
    await waitFor('B reports redis connected', async () => (await ready(b)).body.redis === 'connected', RECONNECT_MS);
    expect(await metric(a, 'gateway_redis_up')).toBe(1);
    expect(await metric(b, 'gateway_redis_up')).toBe(1);
    expect(backLines(a)).toHaveLength(1);
    expect(backLines(b)).toHaveLength(1);
    expect(lossLines(a)).toHaveLength(1);

    // Sharing works again.
    const check = inspector(server.url);
    expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
    await waitFor('A stored it in Redis', async () => (await check.exists(cacheKey(prefix, SUCCEEDED))) === 1);
    const fromB = await ask(b, SUCCEEDED);
    expectServed(fromB, SUCCEEDED);
    expect(costOf(fromB)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(1);
  });

  it('killed mid-run: every query still answered, quickly; after a restart the replicas share again', async () => {
    await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    const prefix = 'killed:';
    // Two seconds for each command, not the default 50 ms: a loaded machine's stall fired B's GET's timeout before its
    // reply was read, and B called upstream (calls 1, not a cache hit). The kill closes the connection, failing what
    // is in flight at once; a query left waiting for a command's timeout instead would pass the 1.8 s bound below.
    const env = { REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, TERMINAL_CACHE_TTL_MS: '60000', REDIS_COMMAND_TIMEOUT_MS: '2000' };
    const a = await replica(lane, env);
    const b = await replica(lane, env);
    const check = inspector(server.url);

    expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
    await waitFor('A stored it in Redis', async () => (await check.exists(cacheKey(prefix, SUCCEEDED))) === 1);
    expect(costOf(await ask(b, SUCCEEDED))).toMatchObject({ calls: 0, cacheHits: 1 });

    // Both replicas query in a loop while Redis dies.
    const results: Array<{ id: string; ms: number; response: GraphQLResponse<ExecutionData> }> = [];
    let going = true;
    const loop = async (harness: Harness) => {
      for (let i = 0; going; i++) {
        const id = i % 2 === 0 ? RUNNING : SUCCEEDED;
        const started = performance.now();
        const response = await ask(harness, id);
        results.push({ id, ms: performance.now() - started, response });
      }
    };
    const loops = [loop(a), loop(b)];
    let linesBefore = [a, b].map(() => ({ lost: 0, back: 0 }));
    try {
      await waitFor('queries before the kill', () => results.length >= 20);
      // Counted from here: on a saturated host two late PINGs already count as a loss (README "Scaling out"). Each
      // replica is back from any such loss first: one still counted lost when Redis dies has no new loss to tell.
      await waitFor('both count Redis up before the kill', () => a.instance.redis!.up && b.instance.redis!.up);
      linesBefore = [a, b].map((each) => ({ lost: lossLines(each).length, back: backLines(each).length }));
      await server.stop();
      await waitFor('both saw Redis go', () => !a.instance.redis!.up && !b.instance.redis!.up);
      const seen = results.length;
      await waitFor('queries after the kill', () => results.length >= seen + 20);
    } finally {
      going = false;
      await Promise.all(loops);
    }
    for (const { id, response } of results) expectServed(response, id);
    // A query that waited for Redis would wait until it is back, which it is not within this loop. 1.8 s, not 1 s: one
    // run of this file beside two others on a loaded machine went past 1 s (the gateways run in this test's process).
    expect(Math.max(...results.map((result) => result.ms))).toBeLessThan(1_800);
    const runningReads = results.filter((result) => result.id === RUNNING).length;
    expect(upstream!.requestsFor(RUNNING)).toHaveLength(runningReads);
    // Kept locally by both replicas all along.
    expect(upstream!.requestsFor(SUCCEEDED)).toHaveLength(1);

    // While Redis is down each replica calls upstream for what it has not cached.
    const downA = await ask(a, CANCELLED);
    const downB = await ask(b, CANCELLED);
    expectServed(downA, CANCELLED);
    expectServed(downB, CANCELLED);
    expect(costOf(downB)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstream!.requestsFor(CANCELLED)).toHaveLength(2);
    expect((await ready(a)).body.redis).toBe('degraded');
    expect(await metric(b, 'gateway_redis_up')).toBe(0);
    expect(lossLines(a)).toHaveLength(linesBefore[0]!.lost + 1);
    expect(lossLines(b)).toHaveLength(linesBefore[1]!.lost + 1);
    // Killed, Redis closes the connection with no error: the warning had no reason, the commonest outage's. A command
    // written as the kill lands is told the reset (ECONNRESET) or the write into the closed socket (EPIPE) instead.
    for (const each of [a, b]) expect(String(lossLines(each).at(-1)!.reason ?? '')).toMatch(/^(?:the connection closed|.*ECONN|write EPIPE$)/);

    await server.start();
    await waitFor('both reconnected', async () => (await ready(a)).body.redis === 'connected' && (await ready(b)).body.redis === 'connected', RECONNECT_MS);
    expect(backLines(a)).toHaveLength(linesBefore[0]!.back + 1);
    expect(backLines(b)).toHaveLength(linesBefore[1]!.back + 1);
    expect(await metric(a, 'gateway_redis_up')).toBe(1);

    // The restarted Redis is empty; a finished execution new to both is shared again.
    expectServed(await ask(a, FAILED), FAILED);
    await waitFor('A stored it in the new Redis', async () => (await check.exists(cacheKey(prefix, FAILED))) === 1);
    const fromB = await ask(b, FAILED);
    expectServed(fromB, FAILED);
    expect(costOf(fromB)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(upstream!.requestsFor(FAILED)).toHaveLength(1);
    expect(lossLines(a)).toHaveLength(linesBefore[0]!.lost + 1);
  });
});

describe.each(LANES)('Redis that refuses the connection, %s lane', (lane) => {
  it('a wrong password: the one warning says why (WRONGPASS), never the password; served from upstream meanwhile', async () => {
    await sharedUpstream();
    const password = 'the-right-password-7f3a';
    const wrong = 'a-wrong-password-91c2';
    const server = await RedisServer.start({ password });
    servers.push(server);
    const env = { REDIS_URL: `redis://:${wrong}@127.0.0.1:${server.port}`, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'wrongpass:', TERMINAL_CACHE_TTL_MS: '60000' };
    const a = await replica(lane, env, false);

    // ioredis tries again every 2 s at most: two refusals, and still one line.
    await waitFor('two refused connections', () => redisErrors(a).length >= 2, 8_000);
    expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
    expect(await ready(a)).toEqual({ status: 200, body: { status: 'ready', upstream: { circuit: 'closed' }, redis: 'degraded', redisReason: expect.stringMatching(/^WRONGPASS /) } });
    expect(lossLines(a)).toHaveLength(1);
    // Redis answered, and refused: "unreachable" alone sent the on-call after the network.
    expect(String(lossLines(a)[0]!.reason)).toMatch(/^WRONGPASS invalid username-password pair/);
    const text = JSON.stringify(a.logs);
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(password);
  }, 15_000);

  // ioredis went on in database 0 when Redis refused the SELECT: another deployment's cache and leases, in silence.
  it('a database this Redis does not have (REDIS_URL …/99): one error line saying so, degraded, and nothing written to database 0', async () => {
    await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    const prefix = 'db99:';
    // Two seconds for each command: with the default 50 ms a loaded machine's stall timed out the first connection's
    // SELECT and ready check, and Redis was told unreachable ('Command timed out') before the reconnect's refusal.
    const a = await replica(lane, { REDIS_URL: `${server.url}/99`, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, TERMINAL_CACHE_TTL_MS: '60000', REDIS_COMMAND_TIMEOUT_MS: '2000' }, false);
    const refused = () => a.logs.filter((line) => String(line.msg).startsWith('redis not used: REDIS_URL names a database'));
    await waitFor('the error line', () => refused().length === 1);
    expect(refused()[0]).toMatchObject({ level: 50, reason: expect.stringMatching(/^Redis refused database 99 of REDIS_URL \(ERR DB index is out of range/) });
    for (const id of [SUCCEEDED, RUNNING, SUCCEEDED]) expectServed(await ask(a, id), id);
    expect(await ready(a)).toEqual({ status: 200, body: { status: 'ready', upstream: { circuit: 'closed' }, redis: 'degraded', redisReason: expect.stringMatching(/^Redis refused database 99 of REDIS_URL \(ERR DB index is out of range/) } });
    expect(await inspector(server.url).keys(`${prefix}*`)).toEqual([]);
    // Told once, as what it is: not as Redis being unreachable.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(refused()).toHaveLength(1);
    expect(lossLines(a)).toEqual([]);
  });

  it('nothing listening: the warning says the connection was refused', async () => {
    await sharedUpstream();
    // Port 1, below the ephemeral range: a port a stopped server freed could be taken meanwhile by another test's
    // server, or be the reconnect's own source port (a TCP connection to itself), and then Redis's ready check failed
    // on a stream that was no Redis ("Stream isn't writeable …") instead of being refused (CI, 2026-12-05).
    const a = await replica(lane, { REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'refused:' }, false);
    await waitFor('the warning', () => lossLines(a).length === 1);
    expect(String(lossLines(a)[0]!.reason)).toContain('ECONNREFUSED');
  });

  it('an HTTP service at REDIS_URL: the warning says the far end does not answer as Redis does', async () => {
    await sharedUpstream();
    const http = createServer((_request, response) => response.end('not Redis'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = http.address() as AddressInfo;
      const a = await replica(lane, { REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'http:' }, false);
      await waitFor('the warning', () => lossLines(a).length === 1);
      const reason = String(lossLines(a)[0]!.reason);
      // Not ioredis's follow-on ("Stream isn't writeable …"), nor its request to be reported.
      expect(reason).toMatch(/^the far end of REDIS_URL does not answer as Redis does \(Protocol error, got "H" as reply type byte\.?\)$/);
      expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
    } finally {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});

describe.each(LANES)('Redis that hangs, %s lane', (lane) => {
  it('counts as lost while it answers nothing (a PING a second), so queries stop waiting on it; counts as back once it answers', async () => {
    const upstream = await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    const prefix = 'hung:';
    const env = { REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, TERMINAL_CACHE_TTL_MS: '60000' };
    const a = await replica(lane, env);
    expectServed(await ask(a, SUCCEEDED), SUCCEEDED);

    // Counted from here: on a loaded machine two late PINGs in a row already count as a loss at 50 ms (README "Scaling
    // out"), and A is back from it first: the lines this hang adds are what is checked.
    await waitFor('A counts Redis up before the hang', () => a.instance.redis!.up);
    const [lostBefore, backBefore] = [lossLines(a).length, backLines(a).length];
    server.pause();
    try {
      await waitFor('A noticed the hang', async () => (await ready(a)).body.redis === 'degraded');
      expect(await metric(a, 'gateway_redis_up')).toBe(0);
      expect(lossLines(a)).toHaveLength(lostBefore + 1);
      expect(lossLines(a).at(-1)!.reason).toBe('2 PINGs in a row unanswered within 50 ms');
      // Nothing waits on Redis now: a miss goes to upstream at once.
      const started = performance.now();
      const miss = await ask(a, CANCELLED);
      expectServed(miss, CANCELLED);
      expect(costOf(miss)).toMatchObject({ calls: 1, cacheHits: 0 });
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      server.resume();
    }
    await waitFor('A found it again', async () => (await ready(a)).body.redis === 'connected');
    expect(await metric(a, 'gateway_redis_up')).toBe(1);
    expect(backLines(a)).toHaveLength(backBefore + 1);
    expect(lossLines(a)).toHaveLength(lostBefore + 1);
    expect(upstream.requestsFor(SUCCEEDED)).toHaveLength(1);
  });
});

describe('Redis behind a network that goes silent', () => {
  it('a command connection that hears nothing (no FIN, no RST) is closed and made again: the shared cache works again within seconds', async () => {
    await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    // The replica reaches Redis through a relay that can black-hole a connection: its socket stays open and hears nothing.
    const proxy = await RedisProxy.start(server.port);
    try {
      const prefix = 'silent:';
      const env = { REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: prefix, TERMINAL_CACHE_TTL_MS: '60000' };
      const a = await replica('fast', { ...env, REDIS_URL: proxy.url() });
      expect(proxy.silence('execution-gateway-commands')).toBe(1);
      const silencedAt = performance.now();
      await waitFor('A counted Redis as lost', () => !a.instance.redis!.up, 5_000);
      await waitFor('A connected again', () => a.instance.redis!.up, 15_000);
      const backMs = performance.now() - silencedAt;
      expect(backMs).toBeLessThan(10_000);
      expect(a.logs.filter((line) => line.msg?.startsWith('redis connection silent'))).toMatchObject([{ level: WARN, role: 'commands' }]);
      // Shared again: A's answer is stored in Redis, and B, on Redis directly, is served it without calling upstream.
      expectServed(await ask(a, SUCCEEDED), SUCCEEDED);
      const direct = inspector(server.url);
      await waitFor('the entry in Redis', async () => (await direct.exists(cacheKey(prefix, SUCCEEDED))) === 1);
      // B's read is about sharing, not speed: under a full test run's load the default 50 ms passed, and B called upstream.
      const b = await replica('fast', { ...env, REDIS_URL: server.url, REDIS_COMMAND_TIMEOUT_MS: '1000' });
      const served = await ask(b, SUCCEEDED);
      expectServed(served, SUCCEEDED);
      expect(costOf(served)).toMatchObject({ calls: 0 });
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('a Redis that is busy and answers nothing for 3 s keeps its connection: it is hung meanwhile, not cut', async () => {
    await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    const a = await replica('fast', { REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'busy:' });
    const check = inspector(server.url);
    const before = await connectionIds(check, 'execution-gateway-commands');
    expect(before).toHaveLength(1);
    const seen = new Set<boolean>();
    const sampler = setInterval(() => seen.add(a.instance.redis!.up), 5);
    try {
      // Every client of Redis waits behind the script, the replica's PINGs included: three heartbeats without a byte.
      await check.eval(BUSY, 0, 3_000_000);
      await waitFor('A found it again', () => a.instance.redis!.up, 5_000);
    } finally {
      clearInterval(sampler);
    }
    expect([...seen].sort()).toEqual([false, true]);
    expect(await connectionIds(check, 'execution-gateway-commands')).toEqual(before);
    expect(a.logs.filter((line) => line.msg?.startsWith('redis connection silent'))).toEqual([]);
  });

  it('a Redis that is busy for 3 s keeps the subscription connection too: its silence is Redis\'s, not the network\'s', async () => {
    await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    const a = await replica('fast', { REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'busy-sub:' });
    // Made on first use, as a live lease makes it.
    const subscriber = a.instance.redis!.subscriber;
    await waitFor('the subscription connection', () => subscriber.status === 'ready');
    const check = inspector(server.url);
    const before = await connectionIds(check, 'execution-gateway-subscriber');
    expect(before).toHaveLength(1);
    // Every client of Redis waits behind the script, the subscriber's PINGs included: three heartbeats without a byte.
    await check.eval(BUSY, 0, 3_000_000);
    await waitFor('A found it again', () => a.instance.redis!.up, 5_000);
    expect(a.logs.filter((line) => line.msg?.startsWith('redis connection silent'))).toEqual([]);
    expect(await connectionIds(check, 'execution-gateway-subscriber')).toEqual(before);
  });
});

/**
 * Ids of the connections named `name` (CLIENT LIST), asked through the test's own client, which has no command timeout.
 * Asked through the replica's connection, CLIENT ID had its 50 ms command timeout (REDIS_COMMAND_TIMEOUT_MS's default):
 * a loaded machine's stall of the test's event loop fired it though Redis answered at once ('Command timed out').
 */
async function connectionIds(client: Redis, name: string): Promise<string[]> {
  const list = (await client.client('LIST')) as string;
  return list
    .split('\n')
    .filter((line) => line.split(' ').includes(`name=${name}`))
    .map((line) => /(?:^| )id=(\d+)/.exec(line)![1]!);
}

/** A Lua script that keeps Redis busy for ARGV[1] microseconds: every command behind it waits, as behind a slow KEYS or a fork. */
const BUSY = `local s = redis.call('TIME')
repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) >= tonumber(ARGV[1])`;

describe('Redis that is slow for a moment', () => {
  it('is not counted as lost for one late PING, only for two running', async () => {
    await sharedUpstream();
    const server = await RedisServer.start();
    servers.push(server);
    // A 250 ms command timeout, so that a loaded machine's stalls do not make PINGs late besides the chosen ones.
    const a = await replica('fast', { REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'slow:', REDIS_COMMAND_TIMEOUT_MS: '250' });
    const store = a.instance.redis!;
    // The chosen PINGs queue behind 600 ms of Lua on the same connection: past the timeout, and over before the next PING.
    const ping = store.client.ping.bind(store.client);
    let late = new Set<number>();
    let pings = 0;
    (store.client as { ping: () => Promise<string> }).ping = () => {
      if (late.has(pings++)) store.client.eval(BUSY, 0, 600_000).catch(() => undefined);
      return ping();
    };
    const seen = new Set<boolean>();
    const sampler = setInterval(() => seen.add(store.up), 5);
    try {
      late = new Set([pings]);
      await waitFor('the late PING and two more', () => pings >= Math.max(...late) + 3, 10_000);
      expect([...seen]).toEqual([true]);
      expect(lossLines(a)).toHaveLength(0);
      expect((await ready(a)).body.redis).toBe('connected');

      late = new Set([pings, pings + 1]);
      await waitFor('A counted Redis as lost', () => !store.up, 10_000);
      expect(lossLines(a)).toHaveLength(1);
      await waitFor('A found it again', () => store.up, 10_000);
      expect(backLines(a)).toHaveLength(1);
    } finally {
      clearInterval(sampler);
    }
  });
});

describe('shared-state configuration', () => {
  const URL = 'redis://127.0.0.1:6379/0';
  const refuses = (env: Record<string, string>, message: RegExp) => {
    expect(() => readConfig(env)).toThrow(ConfigError);
    expect(() => readConfig(env)).toThrow(message);
  };

  it('refuses REDIS_URL without REDIS_KEY_SECRET, a secret under 32 characters, and a URL that is not redis(s)://', () => {
    refuses({ REDIS_URL: URL }, /REDIS_URL is set but REDIS_KEY_SECRET is not/);
    refuses({ REDIS_URL: URL, REDIS_KEY_SECRET: '' }, /REDIS_KEY_SECRET is not/);
    refuses({ REDIS_URL: URL, REDIS_KEY_SECRET: 'x'.repeat(31) }, /Invalid REDIS_KEY_SECRET=.*at least 32 characters/);
    refuses({ REDIS_URL: 'http://127.0.0.1:6379', REDIS_KEY_SECRET: SECRET }, /Invalid REDIS_URL=.*redis:\/\/ or rediss:\/\//);
    refuses({ REDIS_URL: '127.0.0.1:6379', REDIS_KEY_SECRET: SECRET }, /Invalid REDIS_URL/);
    refuses({ REDIS_URL: URL, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '0' }, /Invalid REDIS_COMMAND_TIMEOUT_MS/);
  });

  it('takes a redis:// or rediss:// URL with a secret of 32 characters or more, with the documented defaults', () => {
    expect(readConfig({ REDIS_URL: URL, REDIS_KEY_SECRET: 'x'.repeat(32) }).sharedState).toMatchObject({
      redisUrl: URL,
      redisKeySecret: 'x'.repeat(32),
      redisKeyPrefix: 'execution-gateway:',
      redisCommandTimeoutMs: 50,
      redisMaxValueBytes: 1024 * 1024,
    });
    expect(readConfig({ REDIS_URL: 'rediss://:pw@redis.internal:6380/1', REDIS_KEY_SECRET: SECRET }).sharedState.redisUrl).toBe('rediss://:pw@redis.internal:6380/1');
    expect(readConfig({}).sharedState.redisUrl).toBeUndefined();
  });
});
