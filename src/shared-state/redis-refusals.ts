/**
 * Commands Redis refused with an error reply, in the process log. Such a Redis
 * is up (it answers PINGs and reads, so `/ready` says `connected`) yet takes no
 * writes: full under `noeviction` (`OOM`), a replica after a failover
 * (`READONLY`), persistence failing (`MISCONF`), an ACL that denies a command
 * (`NOPERM`). Each shows only as `gateway_redis_errors_total`, and as upstream
 * calls from every replica where one lease holder would poll; the reply is what
 * tells the on-call why. The first is logged at once, then at most one warning
 * a minute counting those since, as for span exports (src/telemetry/tracing.ts):
 * a full Redis refuses a command per watched pair and tick.
 *
 * A command that timed out or found no connection is not a refusal: the loss of
 * Redis has its own line (./redis-store.ts).
 */
import type { Logger } from '../logger.js';

const WARNING_EVERY_MS = 60_000;

/** Longest reply kept in a line: Redis's own texts are short, a script's error names the script. */
const REPLY_CHARS = 300;

export class RedisRefusals {
  #lastAt = Number.NEGATIVE_INFINITY;
  #heldBack = 0;
  /** The latest reply held back, so the summary says what Redis says now. */
  #lastReply = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** A command failed: logged (or counted for the next line) when Redis refused it. */
  report(error: unknown): void {
    // ioredis's ReplyError (redis-errors): an answer from Redis, never a timeout or a closed connection.
    if (!(error instanceof Error) || error.name !== 'ReplyError') return;
    const reply = error.message.slice(0, REPLY_CHARS);
    if (this.now() - this.#lastAt < WARNING_EVERY_MS) {
      this.#heldBack++;
      this.#lastReply = reply;
      this.#timer ??= setTimeout(() => this.flush(), WARNING_EVERY_MS - (this.now() - this.#lastAt)).unref();
      return;
    }
    this.#lastAt = this.now();
    this.logger.warn({ reply }, 'redis refused a command: leases and shared cache entries are not stored while it does, each replica polls for itself');
  }

  /** Logs how many refusals were held back since the last warning, if any. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#heldBack === 0) return;
    this.logger.warn({ refused: this.#heldBack, reply: this.#lastReply }, 'redis refused more commands since the last warning');
    this.#heldBack = 0;
    this.#lastAt = this.now();
  }
}
