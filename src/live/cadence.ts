/**
 * How often a watched execution is polled: by its status, with jitter so
 * pollers started together drift apart, and backing off while upstream fails.
 */
import type { ExecutionStatus } from '../domain/execution-status.js';

export interface CadenceSettings {
  /** Awaiting payment: the slowest to change. */
  pollPaymentMs: number;
  /** Payment confirmed, or the workflow waiting on a signal or timer. */
  pollWaitingMs: number;
  /** Queued or running: nodes start and fail by the second. */
  pollActiveMs: number;
  /** ± this fraction of the interval, at random: 0 to 1 (LIVE_POLL_JITTER_PERCENT ÷ 100). */
  pollJitter: number;
  /** Longest pause between polls while upstream fails (the pause doubles per failure); never shorter than the status's own interval. */
  pollMaxBackoffMs: number;
}

/** The pause in ms (1 at least) before the next poll of an execution in `status`, after `failures` failed polls in a row; `random` returns [0, 1). */
export function nextPollDelay(status: ExecutionStatus, failures: number, settings: CadenceSettings, random: () => number = Math.random): number {
  const base = intervalFor(status, settings);
  // Never below the base interval: with LIVE_POLL_MAX_BACKOFF_MS under a poll interval, a cap alone
  // would poll a failing upstream more often than a healthy one (a 10 ms cap: every 10 ms).
  const backedOff = failures === 0 ? base : Math.max(base, Math.min(settings.pollMaxBackoffMs, base * 2 ** failures));
  const spread = backedOff * settings.pollJitter;
  return Math.max(1, Math.round(backedOff - spread + 2 * spread * random()));
}

/**
 * How many polls in a row a poller of an execution in `status` has made before `elapsedMs` since upstream
 * began failing: its first at 0, each later one after nextPollDelay's pause without jitter (the polls' own
 * time left out). A replica that takes over a pair's outage (src/shared-state/live-leases.ts) backs off from
 * there, so its failure now is the pair's next: with the replicas taking turns, each backing off from the
 * start polled a failing upstream several times as often as one replica alone. 0 when `elapsedMs` is 0 or less.
 */
export function failuresWithin(status: ExecutionStatus, elapsedMs: number, settings: CadenceSettings): number {
  if (!(elapsedMs > 0)) return 0;
  const base = intervalFor(status, settings);
  let failures = 0;
  let at = 0;
  for (;;) {
    if (at >= elapsedMs) return failures;
    failures++;
    const pause = Math.max(base, Math.min(settings.pollMaxBackoffMs, base * 2 ** failures));
    // Past the cap (or under the interval) every pause is the same: the failures left at once.
    if (pause >= settings.pollMaxBackoffMs || pause === base) return failures + Math.max(0, Math.ceil((elapsedMs - at) / pause) - 1);
    at += pause;
  }
}

function intervalFor(status: ExecutionStatus, settings: CadenceSettings): number {
  switch (status) {
    case 'AWAITING_PAYMENT':
      return settings.pollPaymentMs;
    case 'WORKFLOW_QUEUED':
    case 'WORKFLOW_RUNNING':
      return settings.pollActiveMs;
    default:
      return settings.pollWaitingMs;
  }
}
