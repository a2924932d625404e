/**
 * How many messages one WebSocket may still send (WS_MAX_MESSAGES_PER_SECOND), or upgrades one client address may still
 * make (WS_MAX_UPGRADES_PER_SECOND, ./upgrade-budget.ts): a token bucket, refilled at `perSecond` and holding at most
 * `burst`. A bucket rather than a count per fixed window: a window lets twice its budget through across its edge, and a
 * bucket costs no timer, only a clock read per message.
 */
export class MessageBudget {
  #left: number;
  #at: number;

  /** `now`: a clock in ms (performance.now() unless a test gives one). */
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#left = burst;
    this.#at = now();
  }

  /** Takes one message from the budget; false when none is left (the message is past the rate). */
  take(): boolean {
    this.#refill();
    if (this.#left < 1) return false;
    this.#left -= 1;
    return true;
  }

  /** Ms until `take()` would succeed (0: now); read after a refused `take()`, it is what a Retry-After says. */
  waitMs(): number {
    this.#refill();
    return this.#left >= 1 ? 0 : ((1 - this.#left) * 1000) / this.perSecond;
  }

  #refill(): void {
    const now = this.now();
    this.#left = Math.min(this.burst, this.#left + ((now - this.#at) * this.perSecond) / 1000);
    this.#at = now;
  }
}
