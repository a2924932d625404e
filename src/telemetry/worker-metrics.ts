/**
 * The workers' own series (README "Metrics"): how many run, by state, against
 * WORKERS, and how many exited and were replaced. With WORKERS=N only the
 * primary knows them: a dead worker's registry is gone with it, and a worker
 * in a crash loop showed only as a circuit state summing short while `/ready`
 * stayed 200. So they live in a registry of the primary's, which its scrape
 * adds to the workers' sum (./metrics-server.ts `clusterSource`). A single
 * process (WORKERS=1) exports the same series in its own registry, 1 serving
 * of 1 configured and no exits, so one dashboard and one alert fit both.
 *
 * Labels are bounded: a state, how the exit came and whether it failed at
 * start, never a pid or an exit code (any of 256) or signal name.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** A worker process's state: forked and not yet listening, or listening on the API port (until it exits). */
export type WorkerState = 'starting' | 'serving';
const WORKER_STATES: readonly WorkerState[] = ['starting', 'serving'];

/** How a worker exited: killed by a signal (the OOM killer's SIGKILL), or exited with a code of its own. */
export type WorkerExitReason = 'signal' | 'exit_code';
const EXIT_REASONS: readonly WorkerExitReason[] = ['signal', 'exit_code'];

export interface WorkerSeries {
  /** Counts a worker that exited while the gateway served (so is replaced): how, and whether it failed at start (the primary's `failedAtStart`). */
  exited(signal: string | null, failedAtStart: boolean): void;
}

/** Registers the series in `registry`: `configured` is WORKERS, `states` the processes alive in each state, read when scraped. */
export function observeWorkers(registry: Registry, configured: number, states: () => Record<WorkerState, number>): WorkerSeries {
  const registers = [registry];
  new Gauge({
    name: 'gateway_workers',
    help: 'Worker processes alive, by state: starting (forked, not listening yet) or serving (listening); a single process (WORKERS=1) is 1 serving. Below gateway_workers_configured: workers died and are being replaced',
    labelNames: ['state'],
    registers,
    collect() {
      const now = states();
      for (const state of WORKER_STATES) this.set({ state }, now[state]);
    },
  });
  new Gauge({ name: 'gateway_workers_configured', help: 'Worker processes the gateway runs when all is well (WORKERS)', registers }).set(configured);
  const exits = new Counter({
    name: 'gateway_worker_exits_total',
    help: 'Workers that exited while the gateway served, each replaced (not those a shutdown stops), by reason (signal: killed by one; exit_code: exited itself) and failedAtStart (true: before it listened or within 5 s of its fork, whose replacement backs off)',
    labelNames: ['reason', 'failedAtStart'],
    registers,
  });
  // Every pair from 0, so a rate over them has a baseline before the first exit.
  for (const reason of EXIT_REASONS) for (const failedAtStart of ['true', 'false']) exits.inc({ reason, failedAtStart }, 0);
  return {
    exited(signal, failedAtStart) {
      exits.inc({ reason: signal === null ? 'exit_code' : 'signal', failedAtStart: String(failedAtStart) });
    },
  };
}
