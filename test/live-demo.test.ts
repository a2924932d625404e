import { afterEach, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { LIVE_DEMO_ID, runLiveDemo } from '../src/demo/live-demo.js';

const statusOf = (upstream: FakeUpstream) => (upstream.get(LIVE_DEMO_ID)!.execution as { status: string }).status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the demo's execution has `status`, checking every 5 ms; the time it took, in ms. */
async function until(upstream: FakeUpstream, status: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (statusOf(upstream) !== status) {
    if (Date.now() - started > timeoutMs) throw new Error(`still ${statusOf(upstream)} after ${timeoutMs} ms`);
    await sleep(5);
  }
  return Date.now() - started;
}

describe('the demo live execution', () => {
  let stop: (() => void) | undefined;
  let upstream: FakeUpstream | undefined;
  afterEach(async () => {
    stop?.();
    await upstream?.close();
  });

  it('stays succeeded until a gateway caching finished executions has let its copy go, then starts over', async () => {
    upstream = await FakeUpstream.start();
    stop = runLiveDemo(upstream, { stepMs: 10, restMs: 10, terminalTtlMs: 400 });
    await until(upstream, 'workflow_succeeded', 5_000);
    // Started over before the copy expires, every watch would be served the old ending. Looked at 100 ms past the
    // copy's 400 ms, timed from when it succeeded, not 1 s from when this saw it: the rest is 1.4 s, and a loaded
    // machine's stall of 400 ms before or after the look made it land past the start-over, as designed.
    const finishedAtOf = () => (upstream!.get(LIVE_DEMO_ID)!.execution as { finishedAt: string }).finishedAt;
    const finishedAt = finishedAtOf();
    await sleep(Math.max(0, Date.parse(finishedAt) + 500 - Date.now()));
    // The same ending, not the next run's (10 ms steps: a start-over is succeeded again within 50 ms).
    expect({ status: statusOf(upstream), finishedAt: finishedAtOf() }).toEqual({ status: 'workflow_succeeded', finishedAt });
    await until(upstream, 'awaiting_payment', 10_000);
    expect(upstream.get(LIVE_DEMO_ID)!.events).toHaveLength(1);
  });

  // It stayed null through running and succeeded, while finishedAt was set: the schema says null only until the workflow starts.
  it('sets startedAt when the workflow first runs, keeps it after, and has none before', async () => {
    upstream = await FakeUpstream.start();
    stop = runLiveDemo(upstream, { stepMs: 30, restMs: 5_000 });
    const execution = () => upstream!.get(LIVE_DEMO_ID)!.execution as { startedAt?: string | null; finishedAt?: string | null };
    expect(execution().startedAt ?? null).toBeNull();
    await until(upstream, 'workflow_running', 10_000);
    const startedAt = execution().startedAt;
    expect(startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await until(upstream, 'workflow_succeeded', 10_000);
    expect(execution().startedAt).toBe(startedAt);
    expect(Date.parse(execution().finishedAt!)).toBeGreaterThanOrEqual(Date.parse(startedAt!));
  });
});
