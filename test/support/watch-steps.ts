/**
 * Reading a watch's steps on the live layer itself (`LiveExecutions.watch`), as test/live-joins.test.ts and
 * test/live-watch.test.ts drive them: a step or its absence within a time, and the few fields a test compares.
 */
import { statusOf } from '../../src/domain/execution-status.js';
import type { WatchStep } from '../../src/live/live-executions.js';

export type Steps = AsyncIterator<WatchStep>;

/**
 * The watch's next step, or 'silent' when none comes within `ms` (a watch left without polls waits for
 * LIVE_MAX_WATCH_MS, 6 h). 10 s by default: a step that comes returns at once, and a loaded machine can take past
 * 2 s to poll and answer; a case that means silence names its own short `ms`. After 'silent' the `next()` it made is still pending and takes the next step: a test
 * reads no more of that watch through this.
 */
export async function nextWithin(steps: Steps, ms = 10_000): Promise<WatchStep | 'done' | 'silent'> {
  return settledWithin(steps.next(), ms);
}

/** What `next`, a pending `next()` of a watch, resolves to within `ms`, or 'silent'. */
export async function settledWithin(next: Promise<IteratorResult<WatchStep>>, ms = 10_000): Promise<WatchStep | 'done' | 'silent'> {
  let timer: NodeJS.Timeout | undefined;
  const silent = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), ms)));
  try {
    const step = await Promise.race([next, silent]);
    return step === 'silent' ? step : step.done ? 'done' : step.value;
  } finally {
    clearTimeout(timer);
  }
}

/** A step as tests compare it: an update's status and end, or a failure's or notice's code. */
export const shape = (step: WatchStep | 'done' | 'silent') =>
  typeof step === 'string'
    ? step
    : step.kind === 'update'
      ? { kind: 'update', status: statusOf(step.execution), isFinal: step.isFinal, endReason: step.endReason }
      : { kind: step.kind, code: step.error.extensions.code };
