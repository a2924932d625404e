/** Sharing beyond one request: in-flight dedupe and the terminal cache, always per caller. */
import type { Plugin } from 'graphql-yoga';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeExecution, type StoredExecution } from '../src/demo/demo-data.js';
import type { GatewayContext } from '../src/request/context.js';
import type { RequestScope } from '../src/request/scope.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { Harness, LANES, codes, type HarnessOptions } from './support/harness.js';

const TOKENS = { 'token-a': 'org_a', 'token-b': 'org_b' };
const A = 'Bearer token-a';
const B = 'Bearer token-b';
const executions = [
  makeExecution({ id: 'ex_done', status: 'workflow_succeeded', organizationId: 'org_a' }),
  makeExecution({ id: 'ex_live', status: 'workflow_running', organizationId: 'org_a' }),
  makeExecution({ id: 'ex_b_done', status: 'workflow_failed', organizationId: 'org_b' }),
];
const ONE = `query($id: ID!) { execution(id: $id) { id status } }`;

let harness: Harness | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await harness?.close();
  harness = undefined;
});
async function start(options: HarnessOptions = {}) {
  harness = await Harness.start({ upstream: { executions, tokens: TOKENS }, ...options });
  return harness;
}
const upstreamOf = (response: { extensions?: Record<string, unknown> }) => response.extensions?.upstream;

const waitUntil = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

/**
 * Keeps each request's scope as its operation starts, so a test can see from
 * outside when a request has joined a call (`cost.sharedCalls`) or has been
 * cancelled (`cancellation.aborted`), instead of guessing with sleeps: over HTTP
 * a second request can reach the gateway after the first one's client left.
 */
function scopeProbe(): { plugin: Plugin; scopes: RequestScope[] } {
  const scopes: RequestScope[] = [];
  return {
    scopes,
    plugin: {
      onExecute({ args }) {
        scopes.push((args.contextValue as unknown as GatewayContext).scope);
      },
    },
  };
}

/** POSTs `ONE` for `id` as caller A, over HTTP, until `signal` aborts; resolves with 'left' then. */
function leavingRequest(h: Harness, id: string, signal: AbortSignal): Promise<unknown> {
  return h
    .fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: A },
      body: JSON.stringify({ query: ONE, variables: { id } }),
      signal,
    })
    .then((response) => response.text())
    .catch(() => 'left');
}

describe('in-flight sharing across requests', () => {
  it('lets concurrent requests of the same caller share one upstream call', async () => {
    const h = await start();
    // Upstream answers in 1 s, not 80 ms: only a call still in flight is shared, and on a loaded machine the last of
    // the five requests reached the gateway after the first one's call had ended (2 calls).
    h.upstream.latencyMs = 1_000;
    const responses = await Promise.all(Array.from({ length: 5 }, () => h.query(ONE, { id: 'ex_live' }, { authorization: A })));
    expect(responses.every((response) => response.errors === undefined)).toBe(true);
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(1);
    expect(responses.map(upstreamOf)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ calls: 1, sharedCalls: 0 }),
        expect.objectContaining({ calls: 0, sharedCalls: 1 }),
      ]),
    );
  });

  it('never shares between callers: each gets its own call, data or error', async () => {
    const h = await start();
    h.upstream.latencyMs = 80;
    const [a, b] = await Promise.all([
      h.query(ONE, { id: 'ex_live' }, { authorization: A }),
      h.query(ONE, { id: 'ex_live' }, { authorization: B }),
    ]);
    expect(a.data).toEqual({ execution: { id: 'ex_live', status: 'WORKFLOW_RUNNING' } });
    expect(b.data).toEqual({ execution: null });
    expect(codes(b)).toEqual(['NOT_FOUND']);
    expect(h.upstream.requestsFor('ex_live').map((request) => request.headers.authorization).sort()).toEqual([A, B]);
  });

  it('stops each waiter at its own budget while they share one call', async () => {
    // The budget leaves the second request time to join the first one's call even
    // on a loaded machine (150 ms did not, under the whole suite); upstream answers
    // long after both budgets.
    const h = await start({ env: { REQUEST_BUDGET_MS: '500' } });
    h.upstream.latencyMs = 1_500;
    const short = h.query(ONE, { id: 'ex_live' }, { authorization: A });
    while (h.upstream.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The second request joins the first one's call; each ends at its own budget.
    const late = h.query(ONE, { id: 'ex_live' }, { authorization: A });
    const shortStarted = performance.now();
    expect(codes(await short)).toEqual(['UPSTREAM_TIMEOUT']);
    expect(performance.now() - shortStarted).toBeLessThan(1_000);
    expect(codes(await late)).toEqual(['UPSTREAM_TIMEOUT']);
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(1);
  });
});

/** How each lane notices a client leaving differs, so these run on both. */
describe.each(LANES)('in-flight sharing when clients leave (%s lane)', (lane) => {
  it('answers the remaining waiter when the first one leaves early', async () => {
    const probe = scopeProbe();
    const h = await start({ lane, env: { REQUEST_BUDGET_MS: '1000' }, plugins: [probe.plugin] });
    h.upstream.latencyMs = 300;
    const controller = new AbortController();
    const leaving = leavingRequest(h, 'ex_live', controller.signal);
    // Join only once the first request's call is at upstream, so the second one shares it.
    await waitUntil(() => h.upstream.inFlight === 1);
    const staying = h.query(ONE, { id: 'ex_live' }, { authorization: A });
    // Over HTTP the second request could otherwise reach the gateway after the first one left.
    await waitUntil(() => probe.scopes.some((scope) => scope.cost.sharedCalls === 1));
    controller.abort();
    expect(await leaving).toBe('left');
    const response = await staying;
    expect(response.errors).toBeUndefined();
    expect(upstreamOf(response)).toMatchObject({ calls: 0, sharedCalls: 1 });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(1);
  });

  it('starts a fresh call for a request that arrives after every waiter of a shared call left', async () => {
    const probe = scopeProbe();
    const h = await start({ lane, plugins: [probe.plugin], env: { UPSTREAM_RETRY_BASE_DELAY_MS: '2000', UPSTREAM_RETRY_MAX_DELAY_MS: '2000' } });
    // Upstream answers the shared call 503, and it backs off 2 s before its retry (the jitter drawn at its
    // longest): the call sleeps through that pause, cancelled or not, so it would still be there to join when
    // the third request arrives. An attempt in flight, by contrast, ends a few ticks after its cancellation,
    // too briefly for a request to arrive in between. No Retry-After: that would pause the caller's calls for
    // this execution, the third request's included (test/execution-pauses.test.ts).
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    h.upstream.setFault('ex_live', { kind: 'status', status: 503 }, 1);
    const first = new AbortController();
    const second = new AbortController();
    const leftFirst = leavingRequest(h, 'ex_live', first.signal);
    // The first attempt was answered, and the call waits to retry.
    await waitUntil(() => h.upstream.requestsFor('ex_live').length === 1 && h.upstream.inFlight === 0);
    const leftSecond = leavingRequest(h, 'ex_live', second.signal);
    await waitUntil(() => probe.scopes.length === 2 && probe.scopes[1]!.cost.sharedCalls === 1);
    expect(probe.scopes[0]!.cost).toMatchObject({ calls: 1, sharedCalls: 0 });

    // Both clients leave, and the gateway sees each go.
    first.abort();
    expect(await leftFirst).toBe('left');
    second.abort();
    expect(await leftSecond).toBe('left');
    await waitUntil(() => probe.scopes.every((scope) => scope.cancellation.aborted));

    // A third request by the same caller makes its own call, and is served.
    const third = await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(third.errors).toBeUndefined();
    expect(third.data).toEqual({ execution: { id: 'ex_live', status: 'WORKFLOW_RUNNING' } });
    expect(upstreamOf(third)).toMatchObject({ calls: 1, sharedCalls: 0 });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(2);

    // The cancelled call wakes from its pause and stops without reaching upstream.
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(2);
  });
});

describe('terminal cache', () => {
  it('serves a finished execution from memory after the first call, per caller', async () => {
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '60000' } });
    const first = await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    const second = await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    expect(second.data).toEqual(first.data);
    expect(upstreamOf(first)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(upstreamOf(second)).toMatchObject({ calls: 0, cacheHits: 1 });
    expect(h.upstream.requestsFor('ex_done')).toHaveLength(1);

    // Another caller never sees the cached entry: upstream decides for them.
    const other = await h.query(ONE, { id: 'ex_done' }, { authorization: B });
    expect(codes(other)).toEqual(['NOT_FOUND']);
    expect(h.upstream.requestsFor('ex_done')).toHaveLength(2);
  });

  it('does not cache executions that can still change, nor errors', async () => {
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '60000' } });
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(2);
    await h.query(ONE, { id: 'ex_missing' }, { authorization: A });
    await h.query(ONE, { id: 'ex_missing' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_missing')).toHaveLength(2);
  });

  // Absent and null too: upstream's contract always lists the events (empty included), so a reading without them may be a partial one.
  it.each([
    ['events that are no list', { events: { glitch: true } }],
    ['events null', { events: null }],
    ['no events', {}],
  ])('does not cache a finished execution read with %s: the next request asks again', async (_name, missing) => {
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '60000' } });
    const stored = h.upstream.get('ex_done')!;
    h.upstream.setFault('ex_done', {
      kind: 'body',
      body: JSON.stringify({ code: 200, data: { execution: stored.execution, ...missing, message: 'ok' }, message: 'ok', requestId: 'glitch' }),
    });
    const events = `query($id: ID!) { execution(id: $id) { id events(first: 50) { totalCount } } }`;
    const glitched = await h.query<{ execution: { events: { totalCount: number } } }>(events, { id: 'ex_done' }, { authorization: A });
    expect(glitched.data?.execution.events.totalCount).toBe(0);
    h.upstream.setFault('ex_done', undefined);
    const next = await h.query<{ execution: { events: { totalCount: number } } }>(events, { id: 'ex_done' }, { authorization: A });
    expect(next.data?.execution.events.totalCount).toBe(stored.events.length);
    expect(upstreamOf(next)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(h.upstream.requestsFor('ex_done')).toHaveLength(2);
  });

  it('keeps running executions only for the short window configured', async () => {
    // A second: the hit right after must land within it on a loaded machine too.
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '60000', ACTIVE_CACHE_TTL_MS: '1000' } });
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    const hit = await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(upstreamOf(hit)).toMatchObject({ cacheHits: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(2);
  });

  it('expires terminal entries after their TTL', async () => {
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '100' } });
    await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_done')).toHaveLength(2);
  });

  it('stays within its size bound', async () => {
    const many = Array.from({ length: 20 }, (_, i) => makeExecution({ id: `ex_fill_${i}`, status: 'workflow_succeeded', organizationId: 'org_a', eventCount: 10 }));
    harness = await Harness.start({ upstream: { executions: many, tokens: TOKENS }, env: { TERMINAL_CACHE_TTL_MS: '60000', CACHE_MAX_BYTES: String(5 * 8_048) } });
    for (const { execution } of many) await harness.query(ONE, { id: execution.id }, { authorization: A });
    // Only the most recent few fit; the first one was evicted and is fetched again.
    const again = await harness.query(ONE, { id: 'ex_fill_0' }, { authorization: A });
    expect(upstreamOf(again)).toMatchObject({ calls: 1, cacheHits: 0 });
    const recent = await harness.query(ONE, { id: 'ex_fill_19' }, { authorization: A });
    expect(upstreamOf(recent)).toMatchObject({ calls: 0, cacheHits: 1 });
  });
});

/** A finished execution of caller A carrying a `payloadBytes` string in its requestPayload. */
function withPayload(id: string, payloadBytes: number): StoredExecution {
  const stored = makeExecution({ id, status: 'workflow_succeeded', organizationId: 'org_a' });
  stored.execution.requestPayload = { blob: 'x'.repeat(payloadBytes) };
  return stored;
}

describe('terminal cache size, counted from the bytes read', () => {
  // Each 300 kB execution counts about 640 kB (README "Caching"), so three fit in 2 MB;
  // the 1 MB one counts more than the whole cache.
  const LIMIT = 2_000_000;
  const large = Array.from({ length: 6 }, (_, i) => withPayload(`ex_large_${i}`, 300_000));
  const huge = withPayload('ex_huge', 1_000_000);
  const env = { TERMINAL_CACHE_TTL_MS: '60000', CACHE_MAX_BYTES: String(LIMIT) };

  it('keeps only what fits: an evicted execution is a miss, and upstream sees a new call', async () => {
    const h = await start({ upstream: { executions: [...large, huge], tokens: TOKENS }, env });
    for (const { execution } of large) expect(upstreamOf(await h.query(ONE, { id: execution.id }, { authorization: A }))).toMatchObject({ calls: 1 });
    // The three most recent are served from memory …
    for (const id of ['ex_large_5', 'ex_large_4', 'ex_large_3']) {
      expect(upstreamOf(await h.query(ONE, { id }, { authorization: A })), id).toMatchObject({ calls: 0, cacheHits: 1 });
    }
    // … the older ones were evicted: each is fetched again.
    const evicted = await h.query(ONE, { id: 'ex_large_2' }, { authorization: A });
    expect(evicted.data).toEqual({ execution: { id: 'ex_large_2', status: 'WORKFLOW_SUCCEEDED' } });
    expect(upstreamOf(evicted)).toMatchObject({ calls: 1, cacheHits: 0 });
    expect(h.upstream.requestsFor('ex_large_2')).toHaveLength(2);
  });

  it('does not cache an execution bigger than the whole cache, nor evict others for it', async () => {
    const h = await start({ upstream: { executions: [...large, huge], tokens: TOKENS }, env });
    await h.query(ONE, { id: 'ex_large_0' }, { authorization: A });
    for (let i = 0; i < 2; i++) {
      const response = await h.query(ONE, { id: 'ex_huge' }, { authorization: A });
      expect(response.data).toEqual({ execution: { id: 'ex_huge', status: 'WORKFLOW_SUCCEEDED' } });
      expect(upstreamOf(response)).toMatchObject({ calls: 1, cacheHits: 0 });
    }
    expect(h.upstream.requestsFor('ex_huge')).toHaveLength(2);
    expect(upstreamOf(await h.query(ONE, { id: 'ex_large_0' }, { authorization: A }))).toMatchObject({ calls: 0, cacheHits: 1 });
  });

  it('never counts more than CACHE_MAX_BYTES, each entry from the body as read', async () => {
    // The gateway's own cache, filled by requests over HTTP.
    const h = await start({ upstream: { executions: [...large, huge], tokens: TOKENS }, env });
    const shared = h.instance.executions;
    const wireBytes = async (id: string) => (await (await fetch(`${h.upstream.url}/v1/executions/${id}`, { headers: { authorization: A } })).arrayBuffer()).byteLength;

    await h.query(ONE, { id: 'ex_large_0' }, { authorization: A });
    const bytes = await wireBytes('ex_large_0');
    // The parsed form weighs more than its body (bench/heap-factor.ts): the count is never below it.
    const counted = entryBytes({ bodyBytes: bytes, events: large[0]!.events });
    expect(shared.cacheStats).toEqual({ entries: 1, bytes: counted, maxBytes: LIMIT, callers: 1 });
    expect(counted).toBeGreaterThanOrEqual(2 * bytes);

    for (const id of ['ex_large_1', 'ex_huge', 'ex_large_2', 'ex_large_3', 'ex_large_0', 'ex_huge', 'ex_large_4', 'ex_large_5', 'ex_large_1']) {
      await h.query(ONE, { id }, { authorization: A });
      expect(shared.cacheStats.bytes, id).toBeLessThanOrEqual(LIMIT);
      expect(shared.cacheStats.entries, id).toBeLessThanOrEqual(3);
    }
    expect(shared.cacheStats.entries).toBe(3);
  });

  it('has no cache at all with CACHE_MAX_BYTES=0', async () => {
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '60000', CACHE_MAX_BYTES: '0' } });
    await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    const again = await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    expect(again.data).toEqual({ execution: { id: 'ex_done', status: 'WORKFLOW_SUCCEEDED' } });
    expect(upstreamOf(again)).toMatchObject({ calls: 1, cacheHits: 0 });
    // No cache, so no misses either (gateway_cache_misses_total counts lookups a cache could not serve).
    expect(h.instance.executions.counts).toMatchObject({ cacheHits: 0, cacheMisses: 0, cacheEvictions: 0 });
    expect(h.instance.executions.cacheStats).toEqual({ entries: 0, bytes: 0, maxBytes: 0, callers: 0 });
  });
});

describe('ids refused by the allow-list', () => {
  it('cost no upstream call, and report none', async () => {
    const h = await start({ env: { TERMINAL_CACHE_TTL_MS: '60000' } });
    for (const id of ['../admin', 'x'.repeat(65), 'ex 1', '..']) {
      const response = await h.query(ONE, { id }, { authorization: A });
      expect(codes(response), id).toEqual(['BAD_USER_INPUT']);
      expect(upstreamOf(response), id).toEqual({ calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 });
    }
    // Beside an allowed id, only that one counts.
    const mixed = await h.query(`{ executions(ids: ["ex_live", "../admin"]) { id } }`, undefined, { authorization: A });
    expect(codes(mixed)).toEqual(['BAD_USER_INPUT']);
    expect(upstreamOf(mixed)).toMatchObject({ calls: 1, cacheHits: 0, sharedCalls: 0 });
    expect(h.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_live']);
  });

  it('are described by the configured pattern, and by the default wording only for the default pattern', async () => {
    const h = await start();
    const refusedByDefault = await h.query(ONE, { id: 'ex 1' }, { authorization: A });
    expect(refusedByDefault.errors?.[0]?.message).toBe(
      'Invalid execution id "ex 1": ids are 1-64 characters of letters, digits, "_" and "-" (allowed pattern ^[A-Za-z0-9_-]{1,64}$).',
    );
    await h.close();

    harness = await Harness.start({ upstream: { executions, tokens: TOKENS }, env: { EXECUTION_ID_PATTERN: '^ex_[a-z]+$' } });
    const refused = await harness.query(ONE, { id: 'ex_123' }, { authorization: A });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    const message = refused.errors?.[0]?.message ?? '';
    expect(message).toBe('Invalid execution id "ex_123": ids must match the allowed pattern ^ex_[a-z]+$.');
    expect(message).not.toMatch(/1-64|letters|digits/);
    expect(upstreamOf(refused)).toMatchObject({ calls: 0 });
    // The custom pattern lets through what it allows.
    expect((await harness.query(ONE, { id: 'ex_done' }, { authorization: A })).data).toEqual({ execution: { id: 'ex_done', status: 'WORKFLOW_SUCCEEDED' } });
    expect(harness.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_done']);
  });
});

describe('extensions.upstream', () => {
  it('reports no upstream time for a call never sent: its wait in the bulkhead queue was the gateway\'s', async () => {
    const h = await start({ env: { UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1', REQUEST_BUDGET_MS: '1000' } });
    h.upstream.setFault('ex_live', { kind: 'hang' });
    const holding = h.query(ONE, { id: 'ex_live' }, { authorization: A });
    await waitUntil(() => h.upstream.inFlight === 1);
    const queuedAnswer = h.query(ONE, { id: 'ex_done' }, { authorization: B });
    // A second request joins the hanging call, which then holds the one slot past the queued request's budget.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const joining = h.query(ONE, { id: 'ex_live' }, { authorization: A });
    const queued = await queuedAnswer;
    expect(codes(queued)).toEqual(['UPSTREAM_TIMEOUT']);
    expect(upstreamOf(queued)).toEqual({ calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 });
    const held = await holding;
    expect(codes(held)).toEqual(['UPSTREAM_TIMEOUT']);
    expect(upstreamOf(held)).toMatchObject({ calls: 1 });
    expect(upstreamOf(await joining)).toMatchObject({ calls: 0, sharedCalls: 1 });
    expect(h.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_live']);
  });

  it('reports calls and upstream time, and can be switched off', async () => {
    const h = await start();
    h.upstream.latencyMs = 30;
    const response = await h.query(`{ a: execution(id: "ex_done") { id } b: execution(id: "ex_live") { id } }`, undefined, { authorization: A });
    expect(upstreamOf(response)).toMatchObject({ calls: 2, cacheHits: 0, sharedCalls: 0 });
    expect((upstreamOf(response) as { timeMs: number }).timeMs).toBeGreaterThanOrEqual(50);
    await h.close();
    harness = await Harness.start({ upstream: { executions, tokens: TOKENS }, env: { UPSTREAM_EXTENSIONS: 'false' } });
    const off = await harness.query(ONE, { id: 'ex_done' }, { authorization: A });
    expect(off.extensions).toBeUndefined();
  });
});
