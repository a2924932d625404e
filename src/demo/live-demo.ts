/**
 * The demo's live execution (`ex_demo_live`): it advances through the
 * statuses and appends events every few seconds, so a subscription in
 * GraphiQL shows updates arriving. Once it has succeeded it rests, then starts
 * over, so the demo can be watched again.
 */
import type { FakeUpstream } from './fake-upstream.js';
import { makeEvents, makeExecution, DEMO_ORGANIZATION } from './demo-data.js';

export const LIVE_DEMO_ID = 'ex_demo_live';

/** Statuses in order, with how many events each step appends. */
const STEPS: ReadonlyArray<[status: string, events: number]> = [
  ['workflow_queued', 1],
  ['workflow_running', 2],
  ['workflow_running', 3],
  ['workflow_waiting', 1],
  ['workflow_running', 2],
  ['workflow_succeeded', 1],
];

/**
 * Runs the live execution on `upstream`, one step every `stepMs`, resting
 * `restMs` once succeeded, and at least until a gateway that caches finished
 * executions for `terminalTtlMs` has let the copy it made as the execution
 * ended go (a real execution never runs again once finished, so until then the
 * gateway would serve the old ending to every query; watches poll upstream
 * itself). A copy made by a query during the rest outlives it by up to the rest
 * (README "Live executions"). Returns the stop.
 */
export function runLiveDemo(upstream: FakeUpstream, { stepMs = 3_000, restMs = 15_000, terminalTtlMs = 0 } = {}): () => void {
  const rest = Math.max(restMs, terminalTtlMs + 1_000);
  let step = 0;
  let timer: NodeJS.Timeout;
  const start = () => {
    step = 0;
    upstream.put(makeExecution({ id: LIVE_DEMO_ID, status: 'awaiting_payment', eventCount: 1, minute: 40 }));
    timer = setTimeout(advance, stepMs);
  };
  const advance = () => {
    const [status, count] = STEPS[step]!;
    const stored = upstream.get(LIVE_DEMO_ID)!;
    const now = Date.now();
    const firstSeq = stored.events.length + 1;
    // makeEvents spaces events half a second apart from its start, counted from sequence 0: this ends them at about now.
    const events = makeEvents(LIVE_DEMO_ID, DEMO_ORGANIZATION, count, now - Math.floor((firstSeq + count) / 2) * 1000, firstSeq);
    const at = new Date(now).toISOString();
    // Started when the workflow first runs, as the schema says of `startedAt`; finished when it succeeds.
    const started = stored.execution.startedAt == null && status === 'workflow_running' ? { startedAt: at } : {};
    const finished = status === 'workflow_succeeded' ? { finishedAt: at } : {};
    upstream.put({ execution: { ...stored.execution, status, updatedAt: at, ...started, ...finished }, events: [...stored.events, ...events] });
    step++;
    timer = step < STEPS.length ? setTimeout(advance, stepMs) : setTimeout(start, rest);
    timer.unref();
  };
  start();
  timer!.unref();
  return () => clearTimeout(timer);
}
