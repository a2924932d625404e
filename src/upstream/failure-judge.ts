/**
 * Decides when upstream as a whole is failing, as opposed to one caller or one
 * execution. It is the `breaker` of cockatiel's circuit breaker
 * (./resilience.ts): cockatiel keeps the states, the half-open timer, the probe
 * and the events; this class only says when to open.
 *
 * Why not a count of consecutive failures: one caller asking ten times for an
 * id that upstream answers with 500 (or whose huge body always times out, or
 * while upstream rate-limits their token) would switch the gateway off for
 * everyone. A failure says little about upstream until others fail too.
 *
 * Every attempt that reached the breaker is recorded with whom it was for (the
 * caller's key, a hash of their Authorization header) and which execution:
 *
 *   healthy      upstream answered, and not with a failure (a 404 is upstream
 *                working);
 *   failed       a network error, an attempt timeout, a 5xx, a 429, or a 408, 421 or 425
 *                (UpstreamError.countsAsFailure);
 *   unreachable  a failure that happened before any request was sent: connection
 *                refused, DNS, no route (UpstreamError.unreachable). No request
 *                can cause it, so it is held against upstream as a whole.
 *
 * Cancelled attempts are not recorded: a caller who left says nothing of upstream.
 *
 * The rule. The circuit opens when, within the last `windowMs`, counting each
 * (caller, id) pair once by its latest outcome,
 *   - at least `threshold` pairs are failing,
 *   - they span at least `minIds` distinct ids and `minCallers` distinct callers,
 *   - they are at least half of the pairs seen,
 *   - and, when `minCallers` is 2 or more, leaving out the caller with the most
 *     failing pairs (on a tie, the one failing the larger share of its pairs;
 *     callers tied on both are each left out in turn, and it must hold for
 *     every one), the other callers' failing pairs are still at least half of
 *     their pairs seen and span two ids at least;
 * or when `threshold` attempts in a row could not reach upstream at all.
 *
 * Why this shape:
 *   - Pairs, not attempts: asking again for the same failing id adds nothing, so
 *     hammering cannot outweigh everyone else's traffic.
 *   - Distinct ids and callers: failures on one id (whoever asks) or of one
 *     caller (whatever they ask) never reach the spread, whatever their kind.
 *   - Half of the pairs: an outage fails most calls, while a busy gateway always
 *     sees a few scattered failures; those stay below half.
 *   - Half of the others' pairs too: one caller's flood of failing pairs (a
 *     rate-limited token loading a dashboard of 20 ids) plus one stray failure of
 *     another caller (one broken id) would meet every count above, although
 *     neither is upstream failing. An outage fails most pairs of every caller, so
 *     it still holds without the worst one.
 *     (It is computed only once the other conditions hold: a walk over the
 *     failing callers, while every attempt only updates counters.)
 *   - Unreachable in a row: when nothing can be sent, waiting for a spread of
 *     callers only prolongs the failing; and no caller can provoke it.
 * A single-tenant gateway (one service token for everybody) has one caller:
 * `minCallers` = 1 lets its failures open the circuit, still only across
 * `minIds` ids.
 *
 * The probe. While half-open, only the probe reaches upstream: resilience.ts
 * refuses every other call at once, as an open circuit does. cockatiel reopens on any failure it is told to
 * count. One probe's 500 cannot tell a still-failing upstream from the one id
 * that always fails, so resilience.ts counts only a probe that could not reach
 * upstream or timed out; any other probe failure closes the circuit and the
 * rule judges afresh (the window is cleared each time the circuit opens, so
 * only new evidence opens it again). The price, during an outage that answers
 * 5xx: each half-open lets through the few calls the rule needs to open again,
 * answered at once. A timeout is counted because that price is a whole attempt
 * deadline for every call let through against an upstream that hangs; and as a
 * timeout may be its id's own (a huge body), the ids (and, with several
 * callers, the callers) whose probes reopened the circuit are passed over as the
 * next probe while others ask (resilience.ts), so a caller hammering such ids
 * cannot keep the circuit open after an outage ends.
 *
 * Hand-written: cockatiel's breakers (consecutive, count, sampling) count
 * outcomes, not whom they belong to; the consecutive part is cockatiel's own.
 */
import { CircuitState, ConsecutiveBreaker, type IBreaker } from 'cockatiel';
import { detached } from '../detached-text.js';
import { UpstreamError } from '../errors.js';

export interface FailureJudgeOptions {
  /** Failing (caller, id) pairs in the window that may open the circuit; also unreachable attempts in a row that open it. */
  threshold: number;
  /** How far back outcomes count, in milliseconds. */
  windowMs: number;
  /** Distinct ids the failing pairs must span. */
  minIds: number;
  /** Distinct callers the failing pairs must span (1: single tenant). */
  minCallers: number;
  /**
   * Whether upstream has ever answered `caller` without refusing its token (resilience.ts `proveCaller`). A 429 for a
   * caller it has not is counted as one caller together with every other such: tokens cost nothing to invent, and an
   * upstream that rate-limits unknown tokens opened the circuit for everyone on three made-up ones. Unset: each its own.
   */
  proven?: (caller: string) => boolean;
}

/** The one caller every 429 of a caller not yet proven is counted as (`proven` above); no caller key is empty. */
const UNPROVEN_CALLERS = '';

interface Outcome {
  /** `${caller} ${id}`, the pair's key in #pairs: made once, detached from the request it came with. */
  readonly key: string;
  readonly caller: string;
  readonly id: string;
  failed: boolean;
  /** performance.now() when it was recorded. */
  at: number;
}

/**
 * Pairs remembered at most; past it the oldest are dropped, which only shortens
 * the window under extreme load (tens of thousands of distinct pairs in one window).
 */
const MAX_PAIRS = 65_536;

export class FailureJudge implements IBreaker {
  readonly #options: FailureJudgeOptions;
  /** Latest outcome per pair, oldest first (a pair seen again moves to the end). */
  readonly #pairs = new Map<string, Outcome>();
  readonly #failingIds = new Map<string, number>();
  readonly #failingCallers = new Map<string, number>();
  /** Pairs seen in the window per caller, failing or not. */
  readonly #callerPairs = new Map<string, number>();
  #failing = 0;
  /** cockatiel's own counter, for attempts in a row that could not reach upstream. */
  readonly #unreachable: ConsecutiveBreaker;
  #unreachableInARow = false;
  /** Whether the latest failure observed was an attempt deadline passing (else: not reached, or an answer). */
  #lastTimedOut = false;
  #reason = '';

  constructor(options: FailureJudgeOptions) {
    this.#options = options;
    this.#unreachable = new ConsecutiveBreaker(options.threshold);
  }

  /**
   * Records the outcome of one attempt for `caller` and `id`, then settles as it
   * does. Runs inside the circuit breaker, so it sees every attempt that reached
   * upstream and none refused by an open circuit; an outcome is recorded before
   * cockatiel asks `failure()`.
   */
  observe<T>(caller: string, id: string, attempt: Promise<T>): Promise<T> {
    return attempt.then(
      (value) => {
        this.#healthy(caller, id);
        return value;
      },
      (error: unknown) => {
        // Anything else is a cancelled attempt, or a bug: neither says anything of upstream.
        if (error instanceof UpstreamError) {
          if (!error.countsAsFailure) this.#healthy(caller, id);
          else {
            this.#lastTimedOut = error.timedOut;
            const unproven = error.rateLimited && this.#options.proven?.(caller) === false;
            this.#record(unproven ? UNPROVEN_CALLERS : caller, id, true);
            if (error.unreachable) this.#unreachableInARow = this.#unreachable.failure();
          }
        }
        throw error;
      },
    );
  }

  /** Whether the rule (above) says upstream as a whole is failing now. */
  shouldOpen(): boolean {
    const now = performance.now();
    this.#prune(now);
    const { threshold, minIds, minCallers, windowMs } = this.#options;
    if (this.#unreachableInARow) {
      this.#reason = `${threshold} attempts in a row could not reach upstream`;
      return true;
    }
    const spread =
      this.#failing >= threshold &&
      this.#failingIds.size >= minIds &&
      this.#failingCallers.size >= minCallers &&
      this.#failing * 2 >= this.#pairs.size &&
      (minCallers < 2 || this.#othersFailing());
    if (spread) {
      this.#reason =
        `${this.#failing} of ${this.#pairs.size} (caller, id) pairs failing within ${windowMs} ms, ` +
        `across ${this.#failingIds.size} ids and ${this.#failingCallers.size} callers`;
    }
    return spread;
  }

  /**
   * Whether, leaving out the caller with the most failing pairs, the others'
   * failing pairs are at least half of their pairs seen and span two ids: one
   * caller's flood plus another's one broken id (even when that id is all the
   * other asked for) is no outage. The top caller on a tie is the one failing
   * the larger share of its pairs; callers tied on both are each left out in
   * turn, and it must hold every time, so the answer never depends on which
   * caller came first. O(failing callers), then O(pairs) per tied caller only
   * when the half holds.
   */
  #othersFailing(): boolean {
    let tops: string[] = [];
    let most = 0;
    let topShare = 0;
    for (const [caller, failing] of this.#failingCallers) {
      const share = failing / (this.#callerPairs.get(caller) ?? failing);
      if (failing > most || (failing === most && share > topShare)) {
        most = failing;
        topShare = share;
        tops = [caller];
      } else if (failing === most && share === topShare) {
        tops.push(caller);
      }
    }
    return tops.every((top) => this.#othersFailingWithout(top, most));
  }

  #othersFailingWithout(top: string, topFailing: number): boolean {
    const othersPairs = this.#pairs.size - (this.#callerPairs.get(top) ?? 0);
    if ((this.#failing - topFailing) * 2 < othersPairs) return false;
    let firstId: string | undefined;
    for (const outcome of this.#pairs.values()) {
      if (!outcome.failed || outcome.caller === top) continue;
      if (firstId === undefined) firstId = outcome.id;
      else if (outcome.id !== firstId) return true;
    }
    return false;
  }

  /** Why the circuit last opened, for the log line. */
  get reason(): string {
    return this.#reason;
  }

  /** Forgets every outcome: after the circuit opened, only new evidence counts. */
  clear(): void {
    this.#pairs.clear();
    this.#failingIds.clear();
    this.#failingCallers.clear();
    this.#callerPairs.clear();
    this.#failing = 0;
    this.#unreachable.success();
    this.#unreachableInARow = false;
  }

  // IBreaker: cockatiel calls these after each attempt it counts.

  /** Only the unreachable counter: the window is rebuilt from live traffic, not restored. */
  get state(): unknown {
    return this.#unreachable.state;
  }

  set state(value: unknown) {
    if (typeof value === 'number') this.#unreachable.state = value;
  }

  /** Already recorded by `observe`, which knows whose attempt it was. */
  success(): void {}

  /**
   * Closed: open by the rule. Half-open: cockatiel reopens whatever this says,
   * and only a probe that could not reach upstream or timed out is counted then
   * (resilience.ts), so that is the reason: the first opening's, kept, told the
   * log and `/ready` that failures were spread over callers while nothing could be reached.
   */
  failure(state: CircuitState): boolean {
    if (state === CircuitState.Closed) return this.shouldOpen();
    this.#reason = this.#lastTimedOut ? 'the half-open probe timed out' : 'the half-open probe could not reach upstream';
    return true;
  }

  #healthy(caller: string, id: string): void {
    this.#record(caller, id, false);
    this.#unreachable.success();
    this.#unreachableInARow = false;
  }

  #record(caller: string, id: string, failed: boolean): void {
    const now = performance.now();
    // Caller keys are base64url, never a space, so the key is unambiguous.
    const key = `${caller} ${id}`;
    // A pair seen again is updated in place (one object per pair, not per attempt) and moves to the end, as
    // #prune walks the pairs oldest first; its caller's pair count stands, and only a changed outcome is recounted.
    let outcome = this.#pairs.get(key);
    if (outcome) {
      this.#pairs.delete(key);
      if (outcome.failed !== failed) this.#count(outcome, failed ? 1 : -1);
      outcome.failed = failed;
      outcome.at = now;
    } else {
      // Kept past the request: an id cut from its query's text would keep all of it (../detached-text.ts).
      outcome = { key: detached(key), caller: detached(caller), id: detached(id), failed, at: now };
      bump(this.#callerPairs, outcome.caller, 1);
      if (failed) this.#count(outcome, 1);
    }
    this.#pairs.set(outcome.key, outcome);
    this.#prune(now);
  }

  #prune(now: number): void {
    const horizon = now - this.#options.windowMs;
    for (const [key, outcome] of this.#pairs) {
      if (outcome.at > horizon && this.#pairs.size <= MAX_PAIRS) break;
      this.#forget(key, outcome);
    }
  }

  #forget(key: string, outcome: Outcome): void {
    this.#pairs.delete(key);
    bump(this.#callerPairs, outcome.caller, -1);
    if (outcome.failed) this.#count(outcome, -1);
  }

  #count(outcome: Outcome, delta: 1 | -1): void {
    this.#failing += delta;
    bump(this.#failingIds, outcome.id, delta);
    bump(this.#failingCallers, outcome.caller, delta);
  }
}

function bump(counts: Map<string, number>, key: string, delta: 1 | -1): void {
  const next = (counts.get(key) ?? 0) + delta;
  if (next > 0) counts.set(key, next);
  else counts.delete(key);
}
