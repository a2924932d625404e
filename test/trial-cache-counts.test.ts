/**
 * gateway_cache_hits_total and gateway_cache_misses_total with REDIS_URL: a lookup
 * the shared cache (Redis) serves is one lookup served, so it counts one hit and no
 * miss. It used to count both (the local miss, then the shared hit), so
 * hits / (hits + misses) read 2/3 for two lookups both served without upstream
 * (one replica read ex_demo_6 from Redis, then from its own cache).
 */
import { describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import type { Execution } from '../src/domain/execution.js';
import { readExecution } from '../src/upstream/envelope.js';
import { Cancellation } from '../src/upstream/cancellation.js';
import { callerOf } from '../src/upstream/caller.js';
import type { ExecutionsClient } from '../src/upstream/executions-client.js';
import type { SharedCache } from '../src/shared-state/shared-cache.js';
import { SharedExecutions, type LoadScope } from '../src/upstream/shared-executions.js';

function execution(id: string): Execution {
  const stored = makeExecution({ id, status: 'workflow_succeeded' });
  const body = { code: 0, data: { execution: stored.execution, events: stored.events } };
  return readExecution(body, id, JSON.stringify(body).length) as Execution;
}

function scope(): LoadScope {
  return { requestId: 'r', cancellation: new Cancellation(), cost: { calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 } };
}

/** A replica whose Redis holds `inRedis`, and whose upstream serves every id. */
function replica(inRedis: Set<string>) {
  let upstreamCalls = 0;
  const client = {
    timeoutMs: 1000,
    assertAllowedId: () => {},
    getExecution: async (id: string, _headers: unknown, _cancellation: unknown, options: { sent?: () => void } = {}) => {
      upstreamCalls++;
      options.sent?.();
      return execution(id);
    },
  } as unknown as ExecutionsClient;
  const shared = {
    get: async (_authorization: string, id: string) => (inRedis.has(id) ? { execution: execution(id), expiresAt: performance.now() + 60_000 } : undefined),
    set: () => {},
  } as unknown as SharedCache;
  const executions = new SharedExecutions(client, { terminalTtlMs: 60_000, activeTtlMs: 0, maxBytes: 64 * 1024 * 1024, shared });
  return { executions, upstreamCalls: () => upstreamCalls };
}

describe('cache hit and miss counts with a shared cache behind the local one', () => {
  const caller = callerOf('Bearer demo-token');

  it('a lookup Redis serves is one hit and no miss: every lookup is a hit or a miss, never both', async () => {
    const { executions, upstreamCalls } = replica(new Set(['ex_demo_6']));
    await executions.get('ex_demo_6', caller, scope()); // local miss, served by Redis
    await executions.get('ex_demo_6', caller, scope()); // local hit
    expect(upstreamCalls()).toBe(0);
    expect(executions.counts.cacheHits).toBe(2);
    expect(executions.counts.cacheMisses).toBe(0);
  });

  it('a lookup neither cache serves is one miss', async () => {
    const { executions, upstreamCalls } = replica(new Set());
    await executions.get('ex_demo_7', caller, scope());
    expect(upstreamCalls()).toBe(1);
    expect(executions.counts.cacheHits).toBe(0);
    expect(executions.counts.cacheMisses).toBe(1);
    await executions.get('ex_demo_7', caller, scope());
    expect(executions.counts).toMatchObject({ cacheHits: 1, cacheMisses: 1 });
  });

  it('lookups that join one shared lookup Redis serves: every one a hit or a miss, hits + misses = lookups', async () => {
    const { executions, upstreamCalls } = replica(new Set(['ex_demo_8']));
    await Promise.all([executions.get('ex_demo_8', caller, scope()), executions.get('ex_demo_8', caller, scope())]);
    expect(upstreamCalls()).toBe(0);
    expect(executions.counts.cacheHits + executions.counts.cacheMisses).toBe(2);
  });
});
