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
import { keptBytes } from './support/heap.js';

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
