/**
 * Pauses upstream asked for (RFC 9110 §10.2.3: how long the client "ought to
 * wait before making a follow-up request"), held for every follow-up rather
 * than for the one call that was answered:
 *
 * - A caller's: after a 429 with Retry-After for a token (RFC 6585 §4), that
 *   caller's further calls are answered by the gateway at once until the pause
 *   ends, instead of each going upstream to be rate-limited again (843 calls in
 *   15 s for one token asked for a pause of 30 s). Keyed on the caller's key (a
 *   hash of its Authorization), never the token; other callers are untouched.
 * - A (caller, execution) pair's: after a 5xx with Retry-After for one
 *   execution, that caller's further calls for it (queries, a new live poller
 *   after a page reload) are answered the same way: each went upstream at once
 *   before (ten watches started in turn during a 3 s Retry-After made ten
 *   calls). Keyed on `pairPauseKey`; the same id for another caller is not
 *   paused, as callers share nothing (README "Isolation").
 */
import { detached } from '../detached-text.js';

/** The key of a (caller, execution) pair's pause: the caller's key (`Caller.key`) and the id. */
export function pairPauseKey(callerKey: string, id: string): string {
  return `${callerKey}:${id}`;
}

/**
 * (Caller, execution) pairs paused at once, at most, as MAX_PAUSED_CALLERS is
 * for callers: twice LIVE_MAX_POLLERS' default, about 100 bytes each.
 */
export const MAX_PAUSED_PAIRS = 10_000;

/**
 * Callers paused at once, at most: past this the oldest pause is forgotten (its
 * caller's next call goes upstream and is paused again), so a flood of
 * rate-limited tokens cannot grow the map without bound.
 */
const MAX_PAUSED_CALLERS = 10_000;

/**
 * Ms before its end at which a pause counts as ended. A call's retry after its own
 * 429 waits exactly the asked time at least, on a timer that counts whole
 * milliseconds from the event loop's clock and so may fire up to one before
 * `performance.now()` says the pause has ended: that retry was refused as the
 * paused caller's.
 */
export const PAUSE_END_SLACK_MS = 2;

export class CallerPauses {
  /**
   * Caller key → when (performance.now() ms) its pause ends, and when the pause began (the first of the
   * Retry-Afters that have followed one another without a gap); in the order pauses were set.
   */
  readonly #pauses = new Map<string, { since: number; until: number }>();

  constructor(private readonly max = MAX_PAUSED_CALLERS) {}

  /** Ms left of the caller's (or pair's) pause; undefined when it has none (an ended pause is forgotten here). */
  remaining(caller: string, now = performance.now()): number | undefined {
    const pause = this.#running(caller, now);
    return pause && Math.ceil(pause.until - now);
  }

  /**
   * Ms since the caller's (or pair's) running pause began, its earlier Retry-Afters included when each came
   * before the last ended; undefined when none runs. A live poller that starts during the pause counts its
   * outage from then, as the poller that got the first Retry-After did (src/live/poller.ts).
   */
  elapsed(caller: string, now = performance.now()): number | undefined {
    const pause = this.#running(caller, now);
    return pause && Math.max(0, Math.round(now - pause.since));
  }

  /** Upstream asked this caller (or pair) for a pause of `ms`; a pause already set for longer stays. */
  pause(caller: string, ms: number, now = performance.now()): void {
    if (!(ms > 0)) return;
    const until = now + ms;
    const current = this.#running(caller, now);
    if (current !== undefined && current.until >= until) return;
    // Re-inserted, so the map stays in the order pauses were set and the first entry is the oldest.
    this.#pauses.delete(caller);
    while (this.#pauses.size >= this.max) {
      const oldest = this.#pauses.keys().next().value as string;
      this.#pauses.delete(oldest);
    }
    // Kept past the request: a pair's key holds an id, which may be cut from its query's text (../detached-text.ts).
    this.#pauses.set(detached(caller), { since: current?.since ?? now, until });
  }

  /**
   * Forgets the caller's (or pair's) pause: upstream has answered it since (a call sent before the pause began,
   * overtaken by the answer that began it), so it serves it again.
   */
  end(caller: string): void {
    this.#pauses.delete(caller);
  }

  /** Callers (or pairs) with a pause remembered, ended ones included until next asked about: 0 lets a caller skip making a key. */
  get size(): number {
    return this.#pauses.size;
  }

  /** The caller's pause while it runs; an ended one is forgotten. */
  #running(caller: string, now: number): { since: number; until: number } | undefined {
    const pause = this.#pauses.get(caller);
    if (pause === undefined) return undefined;
    if (pause.until - now < PAUSE_END_SLACK_MS) {
      this.#pauses.delete(caller);
      return undefined;
    }
    return pause;
  }
}
