/**
 * Upstream sends lowercase statuses and will grow new ones. The gateway maps the
 * known ones to the ExecutionStatus enum and everything else to UNKNOWN, keeping
 * the raw value (Execution.rawStatus) so no information is lost.
 */
import type { Execution } from './execution.js';
import { readText, UNREADABLE } from './fields.js';

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

/** The enum value for upstream's status text (in any case); UNKNOWN for a value the enum does not know. */
export function toExecutionStatus(raw: string): ExecutionStatus {
  return byUpstreamValue.get(raw) ?? byUpstreamValue.get(raw.toLowerCase()) ?? 'UNKNOWN';
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

/** Warns once per process for each status value the enum does not know yet. */
export class UnknownStatusReporter {
  readonly #seen = new Set<string>();
  constructor(private readonly warn: (raw: string) => void) {}

  observe(raw: string | null): void {
    if (raw === null || toExecutionStatus(raw) !== 'UNKNOWN' || this.#seen.has(raw)) return;
    // Bounded: a misbehaving upstream cannot grow this set without limit.
    if (this.#seen.size >= 1000) return;
    this.#seen.add(raw);
    this.warn(raw);
  }
}
