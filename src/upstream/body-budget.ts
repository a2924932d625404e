/**
 * How many bytes of upstream bodies the process reads at once (UPSTREAM_MAX_BYTES_IN_FLIGHT): every call's
 * body is charged here from the moment its size is known until it has been parsed, so that the bulkhead's
 * UPSTREAM_MAX_CONCURRENT calls cannot each hold an UPSTREAM_MAX_BODY_BYTES body at the same moment (256 calls
 * of 128 MiB each is 32 GiB of text, where the heap check at start, src/server/heap-budget.ts, counts what
 * this bound lets through).
 *
 * A body that does not fit is refused, never waited for: a call that waited while holding part of the
 * budget could wait for one that waits for it, and upstream's answer would be held on its socket meanwhile.
 * A body is always let through when no other body is charged, so one execution as large as
 * UPSTREAM_MAX_BODY_BYTES is still served whatever this bound says; at most max(bound, UPSTREAM_MAX_BODY_BYTES)
 * bytes are charged at any moment.
 *
 * By hand: a byte semaphore that refuses rather than queues is a few lines, and no library the project uses
 * has one (cockatiel's bulkhead counts calls, not bytes, and queues).
 */

/** A body's charge: grows as the body's size becomes known, released once the body is parsed or given up. */
export interface BodyLease {
  /** Bytes charged to this lease now. */
  readonly bytes: number;
  /**
   * Charges `more` bytes to this lease: true when they fit under the bound, or when this lease is the only one
   * charged (a lone body is never refused); false, with nothing charged, otherwise.
   */
  grow(more: number): boolean;
  /** Gives every byte of this lease back. Idempotent. */
  release(): void;
}

export class BodyBudget {
  /** Bytes charged by every lease not yet released. */
  #charged = 0;
  /** Leases holding at least one byte. */
  #holders = 0;

  /** @param maxBytes UPSTREAM_MAX_BYTES_IN_FLIGHT: the bound on bytes charged at once, in bytes. */
  constructor(readonly maxBytes: number) {}

  /** Bytes of upstream bodies charged now (the gauge `gateway_upstream_body_bytes_in_flight`). */
  get charged(): number {
    return this.#charged;
  }

  /** A lease of no bytes yet, for one body. */
  lease(): BodyLease {
    const budget = this;
    let bytes = 0;
    let released = false;
    return {
      get bytes() {
        return bytes;
      },
      grow(more) {
        if (released || more <= 0) return !released;
        const alone = budget.#holders === (bytes > 0 ? 1 : 0);
        if (!alone && budget.#charged + more > budget.maxBytes) return false;
        if (bytes === 0) budget.#holders++;
        bytes += more;
        budget.#charged += more;
        return true;
      },
      release() {
        if (released) return;
        released = true;
        if (bytes === 0) return;
        budget.#charged -= bytes;
        budget.#holders--;
        bytes = 0;
      },
    };
  }
}

/** A body refused by the budget (BodyLease.grow was false): the call is answered UPSTREAM_UNAVAILABLE. */
export class BodiesInFlightError extends Error {
  override name = 'BodiesInFlightError';
}
