/**
 * Whether another replica on this Redis and REDIS_KEY_PREFIX runs with another
 * REDIS_KEY_SECRET. Every key's caller part and every value's seal come from
 * the secret, so two such replicas share nothing, no cache entry and no live
 * lease (each holds its own and polls upstream for its watchers), while both
 * report Redis `connected`. Detected, never refused: a deliberate rotation runs
 * two secrets until the rolling deploy ends, and failing readiness on it would
 * stall that deploy.
 *
 * One key whose name no secret is part of, `<prefix>v<FORMAT>:key-check`: a
 * sorted set of one member per secret in use, the seal of a fixed JSON under
 * that key (`sealed`), each scored with when a replica with that secret last
 * checked. Replicas with the same secret write the same member, so the set stays
 * as small as the number of secrets, and a member no replica renews is dropped
 * after EXPIRY_CHECKS checks. This replica's member is the only one its secret
 * makes, so every other member is another secret's: the script answers the
 * set's size alone, whatever is in it. A member reveals no more than a sealed
 * cache entry does. Whoever can write the prefix can add a member, and so
 * raise the warning (as it can delete every key); one scored ahead of Redis's
 * clock is dropped too, so none outlives two expiries without being written
 * again.
 *
 * A sorted set rather than one string each replica reads and overwrites: with
 * one value, each replica only reads the one written just before its own check,
 * so with three or more replicas checking in a steady order some never saw the
 * other secret, and drifting timers made them flip between seeing and not.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { RedisRefusals } from './redis-refusals.js';

/**
 * Checks a member stays in the set once no replica with its secret renews it: a
 * check or two lost to a slow Redis or a GC pause does not make a secret vanish,
 * and a replica gone (or fixed) stops counting within this many.
 */
const EXPIRY_CHECKS = 3;

// Members renewed within ARGV[2] ms (none scored later than that ahead), this replica's (ARGV[1]) stamped with Redis's
// clock, so replicas' clocks are never compared; the set goes when nobody checks for ARGV[2] ms. The answer is the
// set's size: a set grown by a hostile writer costs Redis the trim, not every replica a reply of it. Redis ≥ 5
// replicates a script's effects, which lets TIME come before a write; an older Redis refuses the script (logged).
const CHECK = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('(%.0f', now - expiry))
redis.call('ZREMRANGEBYSCORE', KEYS[1], string.format('(%.0f', now + expiry), '+inf')
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[1])
redis.call('PEXPIRE', KEYS[1], expiry)
return redis.call('ZCARD', KEYS[1])`;

/** What the check needs of the store (./redis-store.ts). */
export interface KeyCheckStore {
  readonly client: Redis;
  /** `json` sealed to `key` with this replica's secret. */
  seal(key: string, json: string): string;
  /** REDIS_KEY_PREFIX: a refusal by the ACL names its keys to grant. */
  readonly keyPrefix: string;
}

export class KeyCheck {
  readonly #member: string;
  readonly #expiryMs: number;
  /** Heartbeats with Redis up, counted to check on every `everyBeats`-th. */
  #beats = 0;
  #checking = false;
  #mismatch = false;
  #closed = false;
  #errors = 0;
  readonly #refusals: RedisRefusals;

  /** `key`: the set's name (`<prefix>v<FORMAT>:key-check`). A check every `everyBeats` heartbeats of `heartbeatMs`. */
  constructor(
    private readonly store: KeyCheckStore,
    private readonly key: string,
    private readonly logger: Logger,
    private readonly everyBeats: number,
    heartbeatMs: number,
  ) {
    // Nothing of this replica in it: every replica with this secret renews one member.
    this.#member = store.seal(key, '{}');
    this.#expiryMs = EXPIRY_CHECKS * everyBeats * heartbeatMs;
    this.#refusals = new RedisRefusals(
      logger,
      'redis refused the key secret check: whether every replica on this Redis and REDIS_KEY_PREFIX uses one REDIS_KEY_SECRET is not known while it does',
      store.keyPrefix,
    );
  }

  /**
   * Another secret was in the set at the last check Redis answered (kept while Redis is away: nothing says it
   * went, and nothing is shared meanwhile anyway).
   */
  get mismatch(): boolean {
    return this.#mismatch;
  }

  /** Checks that failed or timed out, for `gateway_redis_errors_total`. */
  get errors(): number {
    return this.#errors;
  }

  /** At a heartbeat with Redis up: one script every `everyBeats` (the first at once), none while one is in flight. */
  beat(): void {
    if (this.#closed || this.#beats++ % this.everyBeats !== 0 || this.#checking) return;
    this.#checking = true;
    (this.store.client.eval(CHECK, 1, this.key, this.#member, this.#expiryMs) as Promise<number>).then(
      (size) => {
        this.#checking = false;
        this.#seen(size - 1);
      },
      // The next check tries again. A refusal (a Redis older than 5, a user without the commands, the key holding
      // another type, a Redis out of memory) is logged: without it the check would never report, and nothing say why.
      (error: unknown) => {
        this.#checking = false;
        this.#errors++;
        if (!this.#closed) this.#refusals.report(error);
      },
    );
  }

  close(): void {
    this.#closed = true;
    this.#refusals.close();
  }

  /** `others`: members of other secrets in the set now. Logs only a change, never a member. */
  #seen(others: number): void {
    if (this.#closed || others > 0 === this.#mismatch) return;
    this.#mismatch = others > 0;
    if (this.#mismatch) {
      this.logger.warn(
        { otherSecrets: others },
        'redis: another replica on this Redis and REDIS_KEY_PREFIX uses a different REDIS_KEY_SECRET: it and this one share no cache and no live lease (each polls upstream for its own watchers); expected only while a secret rotation rolls out',
      );
    } else {
      this.logger.info({ unseenMs: this.#expiryMs }, 'redis: no replica with a different REDIS_KEY_SECRET on this Redis and REDIS_KEY_PREFIX any more');
    }
  }
}
