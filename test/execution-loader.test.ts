import { describe, expect, it } from 'vitest';
import type { Execution } from '../src/domain/execution.js';
import { ExecutionLoader } from '../src/upstream/execution-loader.js';

function loaderOver(fail: Set<string> = new Set()) {
  const batches: string[][] = [];
  const loader = new ExecutionLoader(async (ids) => {
    batches.push([...ids]);
    return ids.map((id) => (fail.has(id) ? new Error(`no ${id}`) : ({ id } as unknown as Execution)));
  });
  return { loader, batches };
}

describe('ExecutionLoader', () => {
  it('hands a repeated id the first load’s own promise, in one batch', async () => {
    const { loader, batches } = loaderOver();
    const first = loader.load('ex_a');
    const again = loader.load('ex_a');
    const other = loader.load('ex_b');
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect((await again).id).toBe('ex_a');
    expect(batches).toEqual([['ex_a', 'ex_b']]);
    // Loaded once per request: a later load is answered from the same promise, with no batch.
    expect(loader.load('ex_a')).toBe(first);
    expect(batches).toHaveLength(1);
  });

  it('rejects every load of a failing id with its error, and loadMany keeps each in its place', async () => {
    const { loader, batches } = loaderOver(new Set(['ex_bad']));
    const loads = [loader.load('ex_bad'), loader.load('ex_bad')];
    const many = loader.loadMany(['ex_ok', 'ex_bad', 'ex_ok']);
    for (const load of loads) await expect(load).rejects.toThrow('no ex_bad');
    const settled = await many;
    expect(settled.map((item) => (item instanceof Error ? item.message : item.id))).toEqual(['ex_ok', 'no ex_bad', 'ex_ok']);
    expect(batches).toEqual([['ex_bad', 'ex_ok']]);
  });

  it('still honours DataLoader’s clear and prime, whose cache map it reads', async () => {
    const { loader, batches } = loaderOver();
    const first = loader.load('ex_a');
    await first;
    loader.clear('ex_a');
    const fresh = loader.load('ex_a');
    expect(fresh).not.toBe(first);
    await fresh;
    expect(batches).toEqual([['ex_a'], ['ex_a']]);
    const primed = { id: 'ex_p' } as unknown as Execution;
    loader.prime('ex_p', primed);
    expect(await loader.load('ex_p')).toBe(primed);
    expect(batches).toHaveLength(2);
  });
});
