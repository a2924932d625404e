/**
 * The live benchmark's world (`npm run bench:live`), shared by the driver
 * (bench/live.ts) and the fake upstream's process (bench/upstream-server.ts,
 * via ./live-upstream.ts), so neither sends it to the other: the callers (one
 * bearer token and one organization each), the running executions spread over
 * them, and the marker every change appends.
 *
 * Execution j belongs to caller j mod `callers`: only that caller can see it
 * (upstream answers 404 to others), so every watched execution is one
 * (caller, execution) pair and the ideal upstream load is one call per watched
 * execution per poll interval.
 */
import { makeExecution, type StoredExecution } from '../../src/demo/demo-data.js';
import type { UpstreamEvent } from '../../src/upstream/envelope.js';

/** Tokens the fake upstream knows for the live benchmark (the driver uses the first `callers` of them). */
export const LIVE_MAX_CALLERS = 1000;
/** Events each execution starts with (a step starts over from these). */
export const LIVE_INITIAL_EVENTS = 20;

const pad = (k: number) => String(k).padStart(4, '0');
export const liveToken = (k: number) => `live-caller-${pad(k)}`;
export const liveOrganization = (k: number) => `org_live_${pad(k)}`;
export const liveExecutionId = (j: number) => `ex_live_${j}`;
/** Index j of `ex_live_<j>`, or -1. */
export function liveExecutionIndex(id: string): number {
  if (!id.startsWith('ex_live_')) return -1;
  const j = Number(id.slice('ex_live_'.length));
  return Number.isInteger(j) && j >= 0 ? j : -1;
}
export const liveOwner = (j: number, callers: number) => j % callers;

/** Bearer token → organization, for FakeUpstream's `tokens`. */
export function liveTokens(): Record<string, string> {
  return Object.fromEntries(Array.from({ length: LIVE_MAX_CALLERS }, (_, k) => [liveToken(k), liveOrganization(k)]));
}

export function liveExecution(j: number, callers: number): StoredExecution {
  return makeExecution({
    id: liveExecutionId(j),
    status: 'workflow_running',
    organizationId: liveOrganization(liveOwner(j, callers)),
    eventCount: LIVE_INITIAL_EVENTS,
    minute: j % 1440,
  });
}

/**
 * The event a change appends. Its `data` is `{"seq":…,"changedAt":…}` in that
 * order (the driver finds it in the SSE text with a regular expression):
 * `seq` counts the execution's changes from 1 in this step, `changedAt` is
 * when the change became visible upstream, in ms since the epoch
 * (performance.timeOrigin + performance.now(), comparable across processes on
 * one machine).
 */
export function changeEvent(stored: StoredExecution, seq: number, changedAt: number): UpstreamEvent {
  const { execution } = stored;
  const position = stored.events.length + 1;
  const type = seq % 3 === 0 ? 'node.completed' : seq % 3 === 1 ? 'node.started' : 'log';
  return {
    createdAt: new Date(Math.floor(changedAt)).toISOString(),
    data: { seq, changedAt },
    eventType: type,
    executionId: execution.id,
    id: `ev_${execution.id}_${position}`,
    level: 'info',
    message: `change ${seq} of ${execution.id}`,
    nodeId: `node_${seq % 5}`,
    organizationId: execution.organizationId,
    requestId: `req_${execution.id}`,
    runId: `run_${execution.id}`,
    title: null,
    workflowId: execution.workflowId,
  };
}

/** Matches one change marker in an SSE `data:` line (the JSON scalar keeps upstream's key order). */
export const CHANGE_MARKER = /"seq":(\d+),"changedAt":([\d.]+)/g;

/** What each subscriber asks for: what a page showing a running execution would select. */
export const LIVE_SUBSCRIPTION = `subscription Watch($id: ID!) {
  executionUpdates(id: $id) {
    isFinal
    endReason
    cursor
    execution { id status updatedAt }
    newEvents { cursor node { id createdAt level eventType message data } }
  }
}`;

/** Body of POST /live/setup on the upstream's control port. */
export interface LiveSetup {
  executions: number;
  callers: number;
  /** Each execution changes once per this many ms, at its own phase (j / executions of the period). */
  changeEveryMs: number;
  /** Every this many changes of an execution also flips its status (workflow_running ↔ workflow_queued: both polled at the active cadence); 0: never. */
  statusFlipEvery: number;
}

/** GET /live/changes: one entry per change, in the order they happened (parallel arrays). */
export interface LiveChangeLog {
  /** Index of the first entry returned (`?from=`). */
  from: number;
  execution: number[];
  seq: number[];
  changedAt: number[];
  /** When upstream first received a request for that execution after the change (ms since the epoch); null if not yet. */
  polledAt: (number | null)[];
}

/** GET /live/stats. */
export interface LiveUpstreamStats {
  running: boolean;
  executions: number;
  changes: number;
  /** Requests for live executions since setup. */
  liveRequests: number;
}

export const nowEpochMs = () => performance.timeOrigin + performance.now();
