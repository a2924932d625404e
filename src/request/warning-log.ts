/**
 * Data warnings in the log: each kind of note on each field once per process,
 * so a misbehaving upstream cannot flood the log, and an operator still learns
 * which fields it sends odd values in.
 */
import type { DataWarning } from '../errors.js';
import type { Logger } from '../logger.js';
import type { WarningLog } from './scope.js';

/** Distinct (field, code) pairs remembered; past this, nothing more is logged. */
const MAX_REMEMBERED = 1_000;

export class OncePerFieldLog implements WarningLog {
  readonly #seen = new Set<string>();

  /** `counter` counts every warning, logged or not (src/telemetry/metrics.ts). */
  constructor(
    private readonly logger: Logger,
    private readonly counter?: { warning(code: string): void },
  ) {}

  observe(field: string, warning: DataWarning): void {
    this.counter?.warning(warning.code);
    const key = `${field}:${warning.code}`;
    if (this.#seen.has(key) || this.#seen.size >= MAX_REMEMBERED) return;
    this.#seen.add(key);
    this.logger.warn({ field, code: warning.code }, `upstream data: ${warning.message}`);
  }
}
