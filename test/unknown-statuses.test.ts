/**
 * Unknown execution statuses in the log (src/domain/execution-status.ts): once per new value, and past the values
 * told one by one, still told, bounded, so a status upstream adds after a run of junk is never silent.
 */
import { describe, expect, it } from 'vitest';
import { TOLD_STATUSES_MAX, UnknownStatusReporter, type UnknownStatusNote } from '../src/domain/execution-status.js';

describe('UnknownStatusReporter', () => {
  it('tells each new value once, known statuses never, and past the limit hands each new value on instead of dropping it', () => {
    const told: UnknownStatusNote[] = [];
    const past: UnknownStatusNote[] = [];
    const reporter = new UnknownStatusReporter(
      (note) => told.push(note),
      (note) => past.push(note),
    );
    reporter.observe('workflow_running');
    reporter.observe(null);
    for (let i = 0; i < TOLD_STATUSES_MAX; i++) reporter.observe(`junk_${i}`);
    reporter.observe('junk_0');
    expect(told).toHaveLength(TOLD_STATUSES_MAX);
    expect(past).toEqual([]);
    reporter.observe('workflow_paused');
    reporter.observe('workflow_paused');
    expect(told).toHaveLength(TOLD_STATUSES_MAX);
    // Not kept past the limit: each sighting goes on, and the gateway's bounded log counts them.
    expect(past).toEqual([{ rawStatus: 'workflow_paused' }, { rawStatus: 'workflow_paused' }]);
    // A value told before the limit stays told once.
    reporter.observe('junk_999');
    expect(past).toHaveLength(2);
  });
});
