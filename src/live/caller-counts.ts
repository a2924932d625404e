/**
 * A count per caller key that forgets a caller at zero, so callers who left
 * hold no memory: the live subscriptions, watched executions and poll slots
 * each caller holds (./live-executions.ts, ./poller.ts).
 */
export class CallerCounts {
  readonly #counts = new Map<string, number>();

  /** What `caller` holds now; 0 for a caller holding nothing. */
  of(caller: string): number {
    return this.#counts.get(caller) ?? 0;
  }

  add(caller: string): void {
    this.#counts.set(caller, this.of(caller) + 1);
  }

  /** Gives back one that `add(caller)` counted. */
  remove(caller: string): void {
    const left = this.of(caller) - 1;
    if (left <= 0) this.#counts.delete(caller);
    else this.#counts.set(caller, left);
  }
}
