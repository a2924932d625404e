/**
 * Data warnings in the log: each kind of note on each field once per process,
 * so a misbehaving upstream cannot flood the log, and an operator still learns
 * which fields it sends odd values in.
 */
import type { DataWarning } from '../errors.js';
import type { Logger } from '../logger.js';
import type { WarningLog, WarningOrigin } from './scope.js';

/** Distinct (field, code) pairs remembered; past this, nothing more is logged. */
const MAX_REMEMBERED = 1_000;

export class OncePerFieldLog implements WarningLog {
  readonly #seen = new Set<string>();

  /** `counter` counts every warning, logged or not (src/telemetry/metrics.ts). */
  constructor(
    private readonly logger: Logger,
    private readonly counter?: { warning(code: string): void },
  ) {}

  /**
   * The line names the first occurrence: the gateway's request id, the execution
   * and upstream's response id, so an operator can take it to upstream (never the value).
   */
  observe(field: string, warning: DataWarning, origin: WarningOrigin): void {
    this.counter?.warning(warning.code);
    const key = `${field}:${warning.code}`;
    if (this.#seen.has(key) || this.#seen.size >= MAX_REMEMBERED) return;
    this.#seen.add(key);
    const { upstreamRequestId } = warning;
    this.logger.warn({ field, code: warning.code, ...origin, ...(upstreamRequestId !== undefined ? { upstreamRequestId } : {}) }, `upstream data: ${warning.message}`);
  }
}
