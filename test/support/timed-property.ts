/**
 * Properties over a real gateway, bounded by time as well as by runs.
 */
import fc from 'fast-check';
import { expect } from 'vitest';

/**
 * Runs `predicate` on up to `numRuns` values until `budgetMs` has passed; past it, a run passes unrun, and at least
 * `minRuns` must have run. Not fast-check's interruptAfterTimeLimit: it abandons the run in flight, whose upstream
 * calls then land in the next run's record. `beforeRun` resets what a run records.
 */
export async function withinTime<T>(
  arb: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<void>,
  { numRuns, budgetMs, minRuns, beforeRun }: { numRuns: number; budgetMs: number; minRuns: number; beforeRun: () => void },
): Promise<void> {
  const deadline = performance.now() + budgetMs;
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(arb, async (value) => {
      if (performance.now() > deadline) return;
      runs++;
      beforeRun();
      await predicate(value);
    }),
    { numRuns },
  );
  expect(runs).toBeGreaterThanOrEqual(minRuns);
}
