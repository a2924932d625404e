/**
 * The context step's finer points, held equal on both lanes: when the next
 * context hook runs after an asynchronous one, a late breakContextBuilding, a
 * thenable that never calls back, and an instrumentation envelop holds but
 * Yoga does not. envelop runs this step on both lanes today; a fast lane that
 * ran it itself (tried in f74be50 and reverted) differed in each of them.
 * test/operation-hooks.test.ts has the plain cases.
 */
import type { Plugin } from 'graphql-yoga';
import { afterEach, describe, expect, it } from 'vitest';
import type { LaneName } from './support/harness.js';
import { closeLaneHarnesses, onBothLanes } from './support/lane-answers.js';

afterEach(closeLaneHarnesses);

/** What each lane's plugins recorded: `seen[0]` is the fast lane's, `seen[1]` the full lane's. */
function perLane<T>(seen: T[]): Record<LaneName, T> {
  return { fast: seen[0]!, full: seen[1]! };
}

describe('context hooks on both lanes', () => {
  it('the next context hook is called as many microtasks after an asynchronous hook settles', async () => {
    const seen: number[] = [];
    await onBothLanes(() => {
      let ticks = 0;
      return [
        {
          onContextBuilding: () => {
            const bump = () => {
              ticks += 1;
              if (ticks < 50) queueMicrotask(bump);
            };
            queueMicrotask(bump);
            return Promise.resolve();
          },
        },
        { onContextBuilding: () => void seen.push(ticks) },
      ];
    });
    const lanes = perLane(seen);
    expect(lanes.fast, `fast lane ${lanes.fast} microtasks, full lane ${lanes.full}`).toBe(lanes.full);
  });

  it('breakContextBuilding called one microtask after its hook settled does not stop the later hooks (envelop had moved on)', async () => {
    const seen: Record<string, number>[] = [];
    await onBothLanes(() => {
      const counts = { later: 0, callbacks: 0 };
      seen.push(counts);
      return [
        { onContextBuilding: () => () => void (counts.callbacks += 1) },
        {
          onContextBuilding: ({ breakContextBuilding }) => {
            const settled = Promise.resolve();
            void settled.then(() => undefined).then(() => breakContextBuilding());
            return settled;
          },
        },
        { onContextBuilding: () => void (counts.later += 1) },
      ];
    });
    expect(perLane(seen)).toEqual({ fast: seen[1], full: { later: 1, callbacks: 0 } });
  });

  it('a hook returning a thenable whose then() returns nothing: the later hooks run when it settles, after the operation, as in envelop', async () => {
    const got = await onBothLanes(() => {
      return [
        {
          onContextBuilding: () => {
            return {
              then(resolve: (value: unknown) => void) {
                setTimeout(() => resolve(undefined), 30);
              },
            } as unknown as void;
          },
        },
        { onContextBuilding: ({ extendContext }) => extendContext({ late: true } as object) },
        {
          onExecute: ({ args, setResultAndStopExecution }) =>
            setResultAndStopExecution({
              data: { execution: null },
              extensions: { lateHookRanBeforeExecute: (args.contextValue as unknown as Record<string, unknown>)['late'] === true },
            }),
        },
      ];
    });
    expect(got.full.body.extensions).toMatchObject({ lateHookRanBeforeExecute: false });
  });

  it('a context instrumentation envelop holds but Yoga does not (dropped in onYogaInit) wraps the context step on both lanes', async () => {
    const seen: string[][] = [];
    await onBothLanes(() => {
      const wrapped: string[] = [];
      seen.push(wrapped);
      return [
        {
          instrumentation: {
            context: (_payload: object, step: () => void) => {
              wrapped.push('context');
              step();
            },
          },
          onYogaInit(this: Plugin) {
            delete (this as { instrumentation?: unknown }).instrumentation;
          },
        } as Plugin,
      ];
    });
    expect(perLane(seen)).toEqual({ fast: seen[1], full: ['context'] });
  });
});
