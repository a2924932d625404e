/**
 * With WORKERS > 1, whether the process as a whole can serve: the primary
 * knows (it forks, sees each worker listen and exit), but `/ready` is answered
 * by a worker, which alone knew only of itself. A worker that listened said
 * 200 while its siblings were in a crash loop, and the load balancer kept
 * sending to a process at a fraction of its capacity, whose replacements
 * failed at start again and again.
 *
 * So the primary tells every worker where the workers stand, each time that
 * changes (a worker listens or exits, a probation ends), and a worker's `/ready`
 * is 200 only when its own state is ready and the primary's word is `ready`:
 *
 * - `starting`: not every configured worker has listened yet, and none has
 *   exited since the first start (a worker that has listened while its
 *   siblings load).
 * - `restarting`: fewer workers serve than configured since one exited, or
 *   every one serves but a replacement forked after failures at start has not
 *   yet served FAILED_AT_START_MS since it listened (it may crash like the ones
 *   before it: 200 for the seconds it lives made `/ready` flap).
 * - `ready`: every configured worker serves.
 *
 * Until a worker has heard the primary, it counts as `starting`.
 */

/** A worker that exits before it listens, or within this many ms of its fork, failed at start (./process.ts). */
export const FAILED_AT_START_MS = 5_000;

/** The primary's word on its workers, as `/ready` shows it under `workers` (with WORKERS > 1 only). */
export interface WorkersReport {
  status: 'starting' | 'ready' | 'restarting';
  /** WORKERS. */
  configured: number;
  /** Workers that listen now. */
  serving: number;
  /** Worker exits in a row that were failures at start (reset by the exit of one that had stayed up). */
  failedAtStartInARow: number;
  /** Why not ready, in counts; only while not ready. */
  reason?: string;
}

/** What the primary counts to make a report. */
export interface WorkerCounts {
  configured: number;
  serving: number;
  /** Whether any worker has exited (and been replaced) since the first fork. */
  anyExited: boolean;
  failedAtStartInARow: number;
  /** A replacement forked after failures at start has listened less than FAILED_AT_START_MS ago. */
  onProbation: boolean;
}

export function workersReport(counts: WorkerCounts): WorkersReport {
  const { configured, serving, anyExited, failedAtStartInARow, onProbation } = counts;
  const base = { configured, serving, failedAtStartInARow };
  if (serving >= configured && !onProbation) return { status: 'ready', ...base };
  if (!anyExited) return { status: 'starting', ...base, reason: `${serving} of ${configured} workers listening; the others are still starting` };
  if (serving >= configured) {
    return {
      status: 'restarting',
      ...base,
      reason: `${serving} of ${configured} workers serving, but the last replacement, after ${failedAtStartInARow} failed at start in a row, has served less than ${FAILED_AT_START_MS} ms`,
    };
  }
  const why =
    failedAtStartInARow > 0
      ? `${failedAtStartInARow} worker exits in a row failed at start; replacements start after a back-off`
      : 'a worker exited and its replacement is starting';
  return { status: 'restarting', ...base, reason: `${serving} of ${configured} workers serving: ${why}` };
}

/** The message that carries a report from the primary to its workers. */
const WORKERS_REPORT = 'execution-gateway:workers';

export function workersMessage(report: WorkersReport): { type: typeof WORKERS_REPORT; report: WorkersReport } {
  return { type: WORKERS_REPORT, report };
}

/** The report a message from the primary carries; undefined for any other message. */
export function reportOf(message: unknown): WorkersReport | undefined {
  if (typeof message !== 'object' || message === null || (message as { type?: unknown }).type !== WORKERS_REPORT) return undefined;
  return (message as { report: WorkersReport }).report;
}
