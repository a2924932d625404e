/**
 * Text kept past its request keeps nothing else alive (src/detached-text.ts):
 * an id cut from a long query's text, kept by a process-wide table, would keep
 * the whole text.
 */
import { describe, expect, it } from 'vitest';
import { detached } from '../src/detached-text.js';
import { UnknownStatusReporter } from '../src/domain/execution-status.js';
import { CallerPauses } from '../src/upstream/caller-pauses.js';
import { FailureJudge } from '../src/upstream/failure-judge.js';
import { heapAfterCollection } from './support/heap.js';


/** `count` ids of 20 characters, each cut from a text of its own of 200,000 characters that nothing else keeps. */
function cutIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const text = `{ execution(id: "ex_${String(i).padStart(16, '0')}") { id } } # ${'x'.repeat(200_000)}`;
    return text.slice(text.indexOf('ex_'), text.indexOf('ex_') + 19);
  });
}

/** Heap kept by what `keep` keeps of 30 cut ids, once their texts could go: what the texts would add is 6 MB. */
async function keptBytes(keep: (ids: string[]) => Promise<void> | void): Promise<number> {
  const before = heapAfterCollection();
  await keep(cutIds(30));
  return heapAfterCollection() - before;
}

describe('detached', () => {
  it('copies text exactly, lone surrogates included', () => {
    for (const text of ['ex_acme_7', 'é漢字🙂', '\ud800 lone \udc00', '', 'x'.repeat(100)]) expect(detached(text)).toBe(text);
  });

  it('keeps none of the text a slice was cut from', async () => {
    const kept: string[] = [];
    // The measure can fail: keeping the slices themselves holds 6 MB.
    expect(await keptBytes((ids) => void kept.push(...ids))).toBeGreaterThan(5_000_000);
    kept.length = 0;
    expect(await keptBytes((ids) => void kept.push(...ids.map(detached)))).toBeLessThan(1_000_000);
  });
});

describe('process-wide tables keep ids without their requests\' text', () => {
  it('the failure judge\'s pairs', async () => {
    const judge = new FailureJudge({ threshold: 5, windowMs: 60_000, minIds: 2, minCallers: 1 });
    const grown = await keptBytes(async (ids) => {
      for (const id of ids) await judge.observe('caller-key', id, Promise.resolve('answered'));
    });
    expect(grown).toBeLessThan(1_000_000);
  });

  it('the pauses of (caller, execution) pairs', async () => {
    const pauses = new CallerPauses();
    const grown = await keptBytes((ids) => {
      for (const id of ids) pauses.pause(`caller-key:${id}`, 60_000);
    });
    expect(grown).toBeLessThan(1_000_000);
    expect(pauses.size).toBe(30);
  });

  it('the statuses told of once', async () => {
    const reporter = new UnknownStatusReporter(() => {});
    const grown = await keptBytes((ids) => {
      // A status of 200,000 characters, cut to 64 for the warning: the cut is a slice of it.
      for (const id of ids) reporter.observe(`${id}${'s'.repeat(200_000)}`);
    });
    expect(grown).toBeLessThan(1_000_000);
  });
});
