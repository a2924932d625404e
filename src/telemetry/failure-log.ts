/**
 * Failures in the log, bounded (upstream calls, Redis refusals): one `warn` line per attempt made a
 * connection-reset outage write 3,900 lines in 10 s for 13 client requests,
 * drowning the log and its shipper when the log is most needed. The first
 * failure of a kind is logged at once (an operator sees it without delay);
 * the rest of that kind within `intervalMs` are counted, not logged, and one
 * line at the end of the interval says how many (`suppressed`), with the last
 * one's details. A kind with none left to report is forgotten, so its next
 * failure is logged at once again.
 */
import type { Logger } from '../logger.js';

/** Distinct kinds tracked at once; past this, failures of new kinds are counted under one shared kind. */
const MAX_KINDS = 100;
const OTHER_KIND = 'other';

interface Window {
  suppressed: number;
  /** The last suppressed failure's fields, logged with the count. */
  last: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

export class FailureLog {
  readonly #windows = new Map<string, Window>();
  /** Closed at shutdown: what fails after it is logged at once, as no interval is left to report it. */
  #closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs: number,
  ) {}

  /** One failure of `kind` (an error code or name: a small set), with what its line carries. */
  observe(kind: string, fields: Record<string, unknown>): void {
    if (this.#closed) {
      this.logger.warn(fields, this.message);
      return;
    }
    const key = this.#windows.has(kind) || this.#windows.size < MAX_KINDS ? kind : OTHER_KIND;
    const window = this.#windows.get(key);
    if (window) {
      window.suppressed++;
      window.last = fields;
      return;
    }
    this.logger.warn(fields, this.message);
    this.#open(key, fields);
  }

  /**
   * At shutdown: logs the counts not yet reported (they would be lost), forgets
   * every kind, and logs any later failure at once (attempts still settling
   * while the pool closes), with no timer left behind.
   */
  close(): void {
    this.#closed = true;
    this.#flush();
  }

  #flush(): void {
    for (const [kind, window] of this.#windows) {
      clearTimeout(window.timer);
      this.#report(window);
      this.#windows.delete(kind);
    }
  }

  #open(kind: string, last: Record<string, unknown>): void {
    const window: Window = {
      suppressed: 0,
      last,
      timer: setTimeout(() => {
        if (window.suppressed === 0) {
          this.#windows.delete(kind);
          return;
        }
        // Reported, and a new interval starts: still at most one line per kind per interval.
        this.#report(window);
        this.#windows.delete(kind);
        this.#open(kind, window.last);
      }, this.intervalMs),
    };
    window.timer.unref();
    this.#windows.set(kind, window);
  }

  #report(window: Window): void {
    if (window.suppressed === 0) return;
    this.logger.warn({ ...window.last, suppressed: window.suppressed, intervalMs: this.intervalMs }, `${this.message} (repeated)`);
  }
}
