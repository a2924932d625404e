/** Sharing beyond one request: in-flight dedupe and the terminal cache, always per caller. */
import { afterEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, codes, type HarnessOptions } from './support/harness.js';

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
  await harness?.close();
  harness = undefined;
});
async function start(options: HarnessOptions = {}) {
  harness = await Harness.start({ upstream: { executions, tokens: TOKENS }, ...options });
  return harness;
}
const upstreamOf = (response: { extensions?: Record<string, unknown> }) => response.extensions?.upstream;

describe('in-flight sharing across requests', () => {
  it('lets concurrent requests of the same caller share one upstream call', async () => {
    const h = await start();
    h.upstream.latencyMs = 80;
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
    const h = await start({ requestBudgetMs: 500 });
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

  it('answers the remaining waiter when the first one leaves early', async () => {
    const h = await start({ requestBudgetMs: 1_000 });
    const url = await h.listen();
    h.upstream.latencyMs = 300;
    const controller = new AbortController();
    const leaving = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: A },
      body: JSON.stringify({ query: ONE, variables: { id: 'ex_live' } }),
      signal: controller.signal,
    }).catch(() => 'left');
    // Join only once the first request's call is at upstream, so the second one shares it.
    while (h.upstream.inFlight === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const staying = h.query(ONE, { id: 'ex_live' }, { authorization: A });
    controller.abort();
    expect(await leaving).toBe('left');
    const response = await staying;
    expect(response.errors).toBeUndefined();
    expect(upstreamOf(response)).toMatchObject({ calls: 0, sharedCalls: 1 });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(1);
  });
});

describe('terminal cache', () => {
  it('serves a finished execution from memory after the first call, per caller', async () => {
    const h = await start({ cache: { terminalTtlMs: 60_000 } });
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
    const h = await start({ cache: { terminalTtlMs: 60_000 } });
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(2);
    await h.query(ONE, { id: 'ex_missing' }, { authorization: A });
    await h.query(ONE, { id: 'ex_missing' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_missing')).toHaveLength(2);
  });

  it('keeps running executions only for the short window configured', async () => {
    const h = await start({ cache: { terminalTtlMs: 60_000, activeTtlMs: 100 } });
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    const hit = await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(upstreamOf(hit)).toMatchObject({ cacheHits: 1 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await h.query(ONE, { id: 'ex_live' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_live')).toHaveLength(2);
  });

  it('expires terminal entries after their TTL', async () => {
    const h = await start({ cache: { terminalTtlMs: 100 } });
    await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await h.query(ONE, { id: 'ex_done' }, { authorization: A });
    expect(h.upstream.requestsFor('ex_done')).toHaveLength(2);
  });

  it('stays within its size bound', async () => {
    const many = Array.from({ length: 20 }, (_, i) => makeExecution({ id: `ex_fill_${i}`, status: 'workflow_succeeded', organizationId: 'org_a', eventCount: 10 }));
    harness = await Harness.start({ upstream: { executions: many, tokens: TOKENS }, cache: { terminalTtlMs: 60_000, maxBytes: 5 * 8_048 } });
    for (const { execution } of many) await harness.query(ONE, { id: execution.id }, { authorization: A });
    // Only the most recent few fit; the first one was evicted and is fetched again.
    const again = await harness.query(ONE, { id: 'ex_fill_0' }, { authorization: A });
    expect(upstreamOf(again)).toMatchObject({ calls: 1, cacheHits: 0 });
    const recent = await harness.query(ONE, { id: 'ex_fill_19' }, { authorization: A });
    expect(upstreamOf(recent)).toMatchObject({ calls: 0, cacheHits: 1 });
  });
});

describe('extensions.upstream', () => {
  it('reports calls and upstream time, and can be switched off', async () => {
    const h = await start();
    h.upstream.latencyMs = 30;
    const response = await h.query(`{ a: execution(id: "ex_done") { id } b: execution(id: "ex_live") { id } }`, undefined, { authorization: A });
    expect(upstreamOf(response)).toMatchObject({ calls: 2, cacheHits: 0, sharedCalls: 0 });
    expect((upstreamOf(response) as { timeMs: number }).timeMs).toBeGreaterThanOrEqual(50);
    await h.close();
    harness = await Harness.start({ upstream: { executions, tokens: TOKENS }, upstreamExtensions: false });
    const off = await harness.query(ONE, { id: 'ex_done' }, { authorization: A });
    expect(off.extensions).toBeUndefined();
  });
});
