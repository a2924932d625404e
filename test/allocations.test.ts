/**
 * The allocation summary behind `npm run bench:alloc`: sources named by where
 * the code lives, and a real sampling heap profile from Node 20 with freed
 * objects kept, taken with the sampler's own settings.
 */
import { Session } from 'node:inspector';
import { describe, expect, it } from 'vitest';
import { sourceOf, summarizeAllocations, type SamplingHeapProfile } from '../bench/lib/allocations.js';

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T))));
}

describe('allocation summary', () => {
  it('names a package, a gateway folder compiled or not, a node module, and V8', () => {
    expect(sourceOf('file:///app/node_modules/@envelop/core/cjs/orchestrator.js')).toBe('@envelop/core');
    expect(sourceOf('file:///app/node_modules/graphql-yoga/node_modules/@whatwg-node/server/cjs/index.js')).toBe('@whatwg-node/server');
    expect(sourceOf('file:///app/node_modules/undici/lib/core/request.js')).toBe('undici');
    expect(sourceOf('file:///app/.bench-dist/fast-lane/runner.js')).toBe('gateway: fast-lane');
    expect(sourceOf('file:///tmp/gw-pre/src/upstream/executions-client.ts')).toBe('gateway: upstream');
    expect(sourceOf('file:///app/.bench-dist/main.js')).toBe('gateway: (top level)');
    expect(sourceOf('node:internal/streams/readable')).toBe('node:internal/streams/readable');
    expect(sourceOf('')).toBe('(V8)');
  });

  it('counts objects young-generation collections freed: 64 MB made and dropped show as about 64 MB', async () => {
    const session = new Session();
    session.connect();
    try {
      await post(session, 'HeapProfiler.enable');
      await post(session, 'HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
      let kept = 0;
      // 64 rounds of 16,384 two-element arrays, none of which outlives its round.
      for (let round = 0; round < 64; round++) kept += Array.from({ length: 16_384 }, (_, i) => [i, round]).length;
      const { profile } = await post<{ profile: SamplingHeapProfile }>(session, 'HeapProfiler.stopSampling');
      expect(kept).toBe(64 * 16_384);
      const summary = summarizeAllocations(profile);
      expect(summary.totalBytes).toBeGreaterThan(32 * 1024 * 1024);
      const here = summary.bySource.find(({ source }) => source.endsWith('test/allocations.test.ts'));
      expect(here?.bytes ?? 0).toBeGreaterThan(16 * 1024 * 1024);
      expect(summary.bySource.map(({ bytes }) => bytes)).toEqual([...summary.bySource.map(({ bytes }) => bytes)].sort((a, b) => b - a));
    } finally {
      session.disconnect();
    }
  });
});
