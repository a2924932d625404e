/**
 * Commands Redis refused with an error reply, in the process log. Such a Redis
 * is up (it answers PINGs and reads, so `/ready` says `connected`) yet takes no
 * writes: full under `noeviction` (`OOM`), a replica after a failover
 * (`READONLY`), persistence failing (`MISCONF`), an ACL that denies a command
 * (`NOPERM`). Each shows only as `gateway_redis_errors_total`, and as upstream
 * calls from every replica where one lease holder would poll; the reply is what
 * tells the on-call why. Bounded as upstream failures are
 * (../telemetry/failure-log.ts): the first at once, then one line a minute
 * counting those since, with the latest reply, as a full Redis refuses a
 * command per watched pair and tick.
 *
 * A command that timed out or found no connection is not a refusal: the loss of
 * Redis has its own line (./redis-store.ts).
 */
import type { Logger } from '../logger.js';
import { FailureLog } from '../telemetry/failure-log.js';

const INTERVAL_MS = 60_000;

/** Longest reply kept in a line: Redis's own texts are short, a script's error names the script. */
const REPLY_CHARS = 300;

/** An answer from Redis refusing the command (ioredis's ReplyError, from redis-errors), never a timeout or a closed connection. */
export function isRedisRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/**
 * Redis's refusal of a key an ACL does not grant: `NOPERM this user has no permissions to access one of the keys used as
 * arguments` names neither the key nor the grant, where a refused SUBSCRIBE's line gives the channels to grant.
 */
const KEY_REFUSAL = /^NOPERM .*\bkeys?\b/;

export class RedisRefusals {
  readonly #log: FailureLog;

  /**
   * `message`: what the refused commands were for and what is lost while Redis refuses them, as the line says it.
   * `keyPrefix`: REDIS_KEY_PREFIX, whose keys (`~<prefix>*`) a line about a key the ACL refused names to grant.
   */
  constructor(
    logger: Logger,
    message: string,
    private readonly keyPrefix?: string,
  ) {
    this.#log = new FailureLog(logger, message, INTERVAL_MS);
  }

  /** A command failed: logged (or counted for the next line) when Redis refused it. */
  report(error: unknown): void {
    if (!isRedisRefusal(error)) return;
    const reply = (error as Error).message.slice(0, REPLY_CHARS);
    const grant = this.keyPrefix !== undefined && KEY_REFUSAL.test(reply) ? { keys: `~${this.keyPrefix}*`, grant: 'the Redis user of REDIS_URL needs these keys (README "Scaling out", ACL)' } : {};
    this.#log.observe('refused', { reply, ...grant });
  }

  /** At shutdown: logs the count not yet reported. */
  close(): void {
    this.#log.close();
  }
}
