/**
 * A count per caller key that forgets a caller at zero, so callers who left
 * hold no memory: the live subscriptions, watched executions, poll slots and
 * bytes of readings each caller holds (./live-executions.ts, ./poller.ts).
 */
export class CallerCounts {
  readonly #counts = new Map<string, number>();

  /** What `caller` holds now; 0 for a caller holding nothing. */
  of(caller: string): number {
    return this.#counts.get(caller) ?? 0;
  }

  add(caller: string, amount = 1): void {
    this.#counts.set(caller, this.of(caller) + amount);
  }

  /** Gives back `amount` that `add(caller)` counted. */
  remove(caller: string, amount = 1): void {
    const left = this.of(caller) - amount;
    if (left <= 0) this.#counts.delete(caller);
    else this.#counts.set(caller, left);
  }
}
