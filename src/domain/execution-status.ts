/**
 * Upstream sends lowercase statuses and will grow new ones. The gateway maps the
 * known ones to the ExecutionStatus enum and everything else to UNKNOWN, keeping
 * the raw value (the GraphQL field `Execution.rawStatus`, read by rawStatusOf) so
 * no information is lost.
 */
import type { Execution } from './execution.js';
import { readText, UNREADABLE } from './fields.js';
import { detached } from '../detached-text.js';
import { textPrefix } from '../text-prefix.js';

export const KNOWN_EXECUTION_STATUSES = [
  'AWAITING_PAYMENT',
  'PAYMENT_CONFIRMED',
  'WORKFLOW_QUEUED',
  'WORKFLOW_RUNNING',
  'WORKFLOW_WAITING',
  'WORKFLOW_SUCCEEDED',
  'WORKFLOW_FAILED',
  'WORKFLOW_CANCELLED',
] as const;

export type ExecutionStatus = (typeof KNOWN_EXECUTION_STATUSES)[number] | 'UNKNOWN';

/** The documented statuses as upstream spells them. */
export const UPSTREAM_STATUSES: readonly string[] = KNOWN_EXECUTION_STATUSES.map((status) => status.toLowerCase());

const byUpstreamValue = new Map<string, ExecutionStatus>(
  KNOWN_EXECUTION_STATUSES.map((status) => [status.toLowerCase(), status]),
);

const TERMINAL: ReadonlySet<ExecutionStatus> = new Set(['WORKFLOW_SUCCEEDED', 'WORKFLOW_FAILED', 'WORKFLOW_CANCELLED']);

/**
 * The enum value for upstream's status text (in any case, with or without
 * whitespace around it); UNKNOWN for a value the enum does not know.
 */
function toExecutionStatus(raw: string): ExecutionStatus {
  const exact = byUpstreamValue.get(raw);
  if (exact !== undefined) return exact;
  const lower = raw.toLowerCase();
  // Padding is how a value is written, not a new status: " workflow_succeeded " has finished.
  return byUpstreamValue.get(lower) ?? byUpstreamValue.get(lower.trim()) ?? 'UNKNOWN';
}

/** The status as upstream sent it, as text; null when it sent none, or nothing readable as text. */
export function rawStatusOf(execution: Execution): string | null {
  const raw = readText(execution.source.status);
  return raw === UNREADABLE ? null : raw;
}

/** Where the execution is in its lifecycle: UNKNOWN when upstream sent no status, or one the enum does not know. */
export function statusOf(execution: Execution): ExecutionStatus {
  const raw = rawStatusOf(execution);
  return raw === null ? 'UNKNOWN' : toExecutionStatus(raw);
}

/** Terminal executions never change again (succeeded, failed or cancelled). */
export function isTerminalStatus(status: ExecutionStatus): boolean {
  return TERMINAL.has(status);
}

/** The most of an unknown status a warning carries: upstream may send one of any length (1 MB was seen). */
const LOGGED_STATUS_CHARS = 64;

/** What a warning about an unknown status logs: the value, or its first LOGGED_STATUS_CHARS characters and its length. */
export interface UnknownStatusNote {
  rawStatus: string;
  /** Present when rawStatus was cut: the length of the value as sent. */
  rawStatusLength?: number;
  rawStatusCut?: true;
}

function noteOf(raw: string): UnknownStatusNote {
  if (raw.length <= LOGGED_STATUS_CHARS) return { rawStatus: raw };
  // Never half a surrogate pair: the log line stays well-formed UTF-8.
  return { rawStatus: textPrefix(raw, LOGGED_STATUS_CHARS), rawStatusLength: raw.length, rawStatusCut: true };
}

/** Distinct unknown status values told one by one; a misbehaving upstream cannot grow the set without limit. */
export const TOLD_STATUSES_MAX = 1_000;

/**
 * Warns once per process for each status value the enum does not know yet (`warn`); past TOLD_STATUSES_MAX
 * values, each new one goes to `pastLimit` instead, which the gateway logs bounded (one line a minute with a count):
 * silent there, a real new status that came after an upstream's junk was never told.
 */
export class UnknownStatusReporter {
  /**
   * Keyed on what is logged, not the value: 1,000 values of 1 MB would keep
   * 1 GB alive, and values that would log the same line are one warning.
   */
  readonly #seen = new Set<string>();
  constructor(
    private readonly warn: (note: UnknownStatusNote) => void,
    private readonly pastLimit: (note: UnknownStatusNote) => void,
  ) {}

  observe(raw: string | null): void {
    if (raw === null || toExecutionStatus(raw) !== 'UNKNOWN') return;
    const note = noteOf(raw);
    const key = note.rawStatusCut ? `${note.rawStatus}\u0000${raw.length}` : raw;
    if (this.#seen.has(key)) return;
    if (this.#seen.size >= TOLD_STATUSES_MAX) return this.pastLimit(note);
    // The cut status is a slice of the whole value, which it would keep (../detached-text.ts).
    this.#seen.add(detached(key));
    this.warn(note);
  }
}
