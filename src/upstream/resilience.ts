/**
 * Every fault-handling policy for upstream calls, composed in one place with
 * cockatiel. From the outside in:
 *
 *   bulkhead  at most `maxConcurrent` calls in flight per process, `queue` waiting;
 *             beyond that a call is refused at once instead of piling up memory.
 *             A waiting call whose caller leaves gives its place up at once (Slots,
 *             below, rather than cockatiel's bulkhead, which kept it until its turn).
 *   retry     only the transient failures of this idempotent GET (network errors,
 *             408, 421, 425, 429, 502, 503, 504), a bounded number of attempts, exponential backoff
 *             with decorrelated jitter, stretched to upstream's Retry-After, and
 *             within a retry budget (RetryBudget below): when many calls fail at
 *             once, most fail after one attempt instead of each making three. A
 *             Retry-After longer than `retryAfterCapMs` is not waited for: that
 *             answer is not retryable at all (src/errors.ts), and its error
 *             carries the delay to the client. An attempt whose caller has left
 *             stops before reaching upstream, and a cancelled attempt is never
 *             retried.
 *   breaker   cockatiel's circuit breaker, judged by ./failure-judge.ts: it opens
 *             only when failures spread over many ids and callers (or upstream
 *             cannot be reached at all), never for failures concentrated on one
 *             caller or one id; then calls fail fast for `breakerHalfOpenMs`
 *             (UPSTREAM_BREAKER_HALF_OPEN_MS), and one probe decides whether it
 *             closes again; while the probe is in flight every other call is
 *             refused at once too (BrokenCircuitError),
 *             rather than waiting for it as cockatiel would. It judges each attempt's
 *             own outcome: a caller that went away is not an upstream failure. The
 *             probe is the circuit's rather than its caller's: it runs to its own
 *             deadline even when its caller leaves, and a probe that times out or
 *             cannot reach upstream reopens the circuit (see `holdsAgainstUpstream`).
 *
 * Each attempt's deadline and the caller's cancellation are kept by the attempt
 * itself (executions-client.ts) rather than by cockatiel's timeout policy and
 * signals, whose AbortControllers and listeners cost more per call than the
 * three policies together.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  DelegateBackoff,
  ExponentialBackoff,
  TaskCancelledError,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type IBackoff,
  type IRetryBackoffContext,
} from 'cockatiel';
import { LRUCache } from 'lru-cache';
import type { Cancellation } from './cancellation.js';
import { FailureJudge } from './failure-judge.js';
import { UpstreamError } from '../errors.js';

export { BrokenCircuitError, BulkheadRejectedError, TaskCancelledError };

/** The circuit's states by the one name `/ready` and the `gateway_upstream_circuit_state` series both use. */
export type CircuitName = 'closed' | 'open' | 'half_open' | 'isolated';
const CIRCUIT_NAMES: Record<CircuitState, CircuitName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};
/** Every state's name, in cockatiel's order. */
export const CIRCUIT_STATE_NAMES: readonly CircuitName[] = Object.values(CIRCUIT_NAMES);

export interface ResilienceOptions {
  /** Attempts in all, the first included (cockatiel's default would be unbounded). */
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Longest Retry-After the gateway will wait; an answer asking for longer is not retried. */
  retryAfterCapMs: number;
  /**
   * Longest a Retry-After is read as, in ms (UPSTREAM_PAUSE_MAX_MS): a longer one reads as this long everywhere it
   * counts (./retry-after.ts `parseRetryAfter`). Unset: MAX_RETRY_AFTER_MS, a day.
   */
  pauseMaxMs?: number;
  /**
   * Whether a caller upstream has not yet answered without refusing its token (`proveCaller`) gets one call in
   * flight at a time rather than its share (UPSTREAM_REFUSED_TOKEN_MS > 0): made-up tokens cost nothing to invent,
   * and one such request for 100 ids made 100 calls, all refused.
   */
  probeUnprovenCallers?: boolean;
  /** Failing (caller, id) pairs in the window, or unreachable attempts in a row, that open the circuit (failure-judge.ts). */
  breakerThreshold: number;
  /** How far back failures are judged. */
  breakerWindowMs: number;
  /** Distinct ids the failures must span before the circuit opens. */
  breakerMinIds: number;
  /** Distinct callers the failures must span before the circuit opens (1: single tenant). */
  breakerMinCallers: number;
  breakerHalfOpenMs: number;
  maxConcurrent: number;
  queue: number;
  /** Calls one caller may have in flight; the rest wait in a queue of its own (`queue` long). */
  maxConcurrentPerCaller: number;
}

export type UpstreamPolicy = ReturnType<typeof createUpstreamPolicy>;

const isRetryable = (error: Error) => error instanceof UpstreamError && error.retryable;

/**
 * Envoy's retry budget: retries in flight at most `RETRY_BUDGET_SHARE` of the
 * calls in flight, and always `MIN_RETRIES_IN_FLIGHT`. Without it, an outage
 * the breaker does not judge as one (a single caller's batch lookups, say)
 * made every call three attempts: 3,600 upstream requests for 1,200 ids. A
 * lone failing call still gets every attempt; a flood of them gets about one
 * each. By hand: cockatiel has no budget, and Envoy's is a setting of a proxy.
 */
export class RetryBudget {
  /** Calls in flight, each counted once whatever its attempts. */
  calls = 0;
  /** Retries in flight (attempts after the first), from the moment one is decided. */
  retries = 0;

  /** Whether one more retry fits: counted with it, retries in flight stay within the budget (not `<`: 76 calls allow 15.2, so 15, not a 16th). */
  allows(): boolean {
    return this.retries + 1 <= Math.max(MIN_RETRIES_IN_FLIGHT, this.calls * RETRY_BUDGET_SHARE);
  }
}

/** Why a retryable failure with attempts left got no retry sent to upstream. */
export type RetrySkip = 'budget' | 'circuit_open';

/** Envoy's defaults: a fifth of the calls in flight may be retries, and at least three retries may run. */
export const RETRY_BUDGET_SHARE = 0.2;
export const MIN_RETRIES_IN_FLIGHT = 3;

/**
 * Ids, and callers, passed over as the next half-open probe at most: one is added per probe that
 * reopened the circuit, so this bounds memory through an outage of days, not what anyone can send.
 */
const PASSED_OVER_MAX = 1_024;

/** Callers remembered as proven (`proveCaller`), at most: past it the least recently proven is forgotten, and probed again. */
const MAX_PROVEN_CALLERS = 100_000;

export function createUpstreamPolicy(options: ResilienceOptions) {
  const exponential = new ExponentialBackoff({
    initialDelay: options.retryBaseDelayMs,
    maxDelay: options.retryMaxDelayMs,
  });
  // Exponential backoff, stretched to the upstream's Retry-After when it asks for longer
  // (never past the cap: a longer one is not retryable in the first place).
  const backoff = new DelegateBackoff<IRetryBackoffContext<unknown>, IBackoff<unknown>>((context, previous) => {
    const next = (previous ?? exponential).next(context);
    const error = 'error' in context.result ? context.result.error : undefined;
    const retryAfter = error instanceof UpstreamError ? error.retryAfterMs : undefined;
    // Past the asked time by up to a fifth, never before it and never past the cap: calls rate-limited
    // together do not all come back in the same instant.
    const asked = retryAfter === undefined ? undefined : Math.min(options.retryAfterCapMs, Math.round(retryAfter * (1 + 0.2 * Math.random())));
    const delay = asked === undefined ? next.duration : Math.max(next.duration, asked);
    return { delay, state: next };
  });

  // Callers upstream has answered without refusing their token, most recent last; one forgotten is probed again.
  const proven = new LRUCache<string, true>({ max: MAX_PROVEN_CALLERS });
  const judge = new FailureJudge({
    threshold: options.breakerThreshold,
    windowMs: options.breakerWindowMs,
    minIds: options.breakerMinIds,
    minCallers: options.breakerMinCallers,
    ...(options.probeUnprovenCallers ? { proven: (caller: string) => proven.has(caller) } : {}),
  });
  // What the breaker holds against upstream. While half-open only a probe that could not reach upstream
  // or timed out counts: cockatiel reopens on any counted failure, and one probe's 500 may be its own
  // id's (failure-judge.ts, "The probe"); uncounted, cockatiel closes the circuit and the judge decides
  // afresh, which costs little, as 5xx come back at once. A timeout is counted: uncounted, a hanging
  // upstream closed the circuit at every probe, and the whole load then went upstream and waited a full
  // attempt deadline each until enough of them had timed out to open it again (44 attempts instead of
  // 14, in 10 s of 8 callers against an upstream hanging for all). The id (and, with several callers, the
  // caller) whose probe timed out is passed over as the next probe (`passedOver`), so neither one id that
  // always times out nor one caller's executions that do can keep the circuit open.
  const holdsAgainstUpstream = (error: Error) =>
    error instanceof UpstreamError &&
    error.countsAsFailure &&
    (breakerPolicy.state !== CircuitState.HalfOpen || error.unreachable || error.timedOut);
  const breakerPolicy: CircuitBreakerPolicy = circuitBreaker(handleWhen(holdsAgainstUpstream), {
    halfOpenAfter: options.breakerHalfOpenMs,
    breaker: judge,
  });
  // When (Date.now(), cockatiel's clock) the circuit last opened: cockatiel lets the probe through
  // `breakerHalfOpenMs` after, by the same clock.
  let openedAt = 0;
  /** The id and caller of the probe in flight, while half-open. */
  let probe: { id: string; caller: string } | undefined;
  /**
   * The ids, and with `breakerMinCallers` of 2 or more the callers, whose probes reopened the
   * circuit since it last closed: their calls do not probe again until a second `breakerHalfOpenMs`
   * has passed since the latest opening, so another's call probes when there is one, and they
   * still probe when they are all that is asked for. Only the latest id was passed over before: an
   * id that always times out, asked for often, wins every probe, and a caller with two such
   * executions (a tenant's huge ones), asking for each in turn, won them all and held the circuit
   * open for every other caller after upstream recovered. Cleared when the circuit closes; each at
   * most PASSED_OVER_MAX (the oldest forgotten), one entry per half-open at most.
   */
  const passedOver = { ids: new Set<string>(), callers: new Set<string>() };
  const passOver = (set: Set<string>, value: string) => {
    set.delete(value);
    set.add(value);
    if (set.size > PASSED_OVER_MAX) set.delete(set.values().next().value!);
  };
  // Each opening starts a fresh window: what reopens the circuit is new evidence.
  breakerPolicy.onBreak(() => {
    openedAt = Date.now();
    if (probe) {
      passOver(passedOver.ids, probe.id);
      // One tenant's executions say nothing of upstream for the others; a single tenant's only caller is never passed over.
      if (options.breakerMinCallers > 1) passOver(passedOver.callers, probe.caller);
    }
    probe = undefined;
    judge.clear();
  });
  breakerPolicy.onReset(() => {
    passedOver.ids.clear();
    passedOver.callers.clear();
    probe = undefined;
  });
  /** Milliseconds until an open circuit lets its probe through (0: the next call is the probe); 0 when not open. */
  const probeInMs = () =>
    breakerPolicy.state === CircuitState.Open ? Math.max(0, openedAt + options.breakerHalfOpenMs - Date.now()) : 0;

  // The process's slots. cockatiel's bulkhead kept a queued call whose caller had left until a slot
  // freed (an attempt deadline, against a hanging upstream), and refused live calls meanwhile as if its
  // queue were full of them: clients that leave and ask again filled it with the dead.
  const slots = new Slots(options.maxConcurrent, { waiting: 0, max: options.queue }, () => new BulkheadRejectedError(options.maxConcurrent, options.queue));
  const budget = new RetryBudget();
  // Failures the budget alone kept from a retry: a call that ends with one was refused a retry (unless that was its last attempt).
  const spentBudget = new WeakSet<Error>();
  const retryPolicy = retry(
    handleWhen((error) => {
      if (!isRetryable(error)) return false;
      if (budget.allows()) return true;
      spentBudget.add(error);
      return false;
    }),
    { maxAttempts: options.maxAttempts - 1, backoff },
  );
  const skipListeners: Array<(reason: RetrySkip) => void> = [];
  /** What a call's failure says of the retry it did not get: `last` is its latest attempt's number (0: none ran). */
  const skipped = (error: unknown, last: number) => {
    let reason: RetrySkip | undefined;
    if (error instanceof BrokenCircuitError && last > 1) reason = 'circuit_open';
    else if (error instanceof Error && spentBudget.has(error) && last < options.maxAttempts) reason = 'budget';
    if (reason) for (const listener of skipListeners) listener(reason);
  };
  // Counted from the decision on, its backoff pause included: retries waiting to start are spent budget too.
  retryPolicy.onRetry(() => budget.retries++);
  // Half-open lets the probe alone through. cockatiel's own half-open makes every other call await the
  // probe, holding its bulkhead slot where no cancellation reaches it, and then sends them all upstream
  // at once if the probe closes the circuit: against a hanging upstream, that is a whole attempt
  // deadline of no failing fast. Refused at once instead, as the open circuit refuses them.
  // `fn` is told whether its attempt is the probe. A caller already gone never becomes the probe: cockatiel
  // closes the circuit on any outcome it does not count, and a cancelled attempt is one.
  const breaker = <T>(caller: string, id: string, cancellation: Cancellation, fn: (probe: boolean) => Promise<T>): Promise<T> => {
    const state = breakerPolicy.state;
    if (state === CircuitState.HalfOpen) return Promise.reject(new BrokenCircuitError());
    if (state === CircuitState.Open && probeInMs() === 0) {
      if (cancellation.aborted) return Promise.reject(new TaskCancelledError());
      const passed = passedOver.ids.has(id) || passedOver.callers.has(caller);
      if (passed && Date.now() < openedAt + 2 * options.breakerHalfOpenMs) return Promise.reject(new BrokenCircuitError());
      probe = { id, caller };
    }
    // cockatiel runs `fn` while Open only as the probe (an open circuit not yet due throws instead).
    return breakerPolicy.execute(() => fn(state === CircuitState.Open));
  };
  // Each caller's own share of the bulkhead, in front of it: its calls past the share wait apart,
  // taking no slot of the process's, so one caller (a flood of batch lookups) cannot starve the others.
  // Made on a caller's first call and dropped with its last; every share's waiting calls together
  // are at most `queue`, as the bulkhead's own are.
  const shares = new Map<string, Slots>();
  const room: Room = { waiting: 0, max: options.queue };
  const shareLimit = (caller: string) => (options.probeUnprovenCallers && !proven.has(caller) ? 1 : options.maxConcurrentPerCaller);
  return {
    /**
     * Runs one upstream call through every policy; `attempt` is called once per
     * attempt, with its number (1 for the first) and whether it is the half-open
     * probe (which should run to its own deadline, its caller's cancellation
     * notwithstanding: its outcome decides the circuit for everyone). `caller` (a key, never the token) and `id` say whose attempt each
     * outcome is, for the breaker's judge. `call.admit` runs once the call has its slot, before the first
     * attempt, and again before each retry, outside the breaker: what it throws refuses the call (or its
     * retry), upstream not called again.
     */
    execute<T>(
      caller: string,
      id: string,
      attempt: (number: number, probe: boolean) => Promise<T>,
      call: { cancellation: Cancellation; inShare: boolean; admit?: () => void },
    ): Promise<T> {
      // cockatiel counts retries from 0; attempts are counted from 1.
      const run = () => {
        budget.calls++;
        let last = 0;
        const attempts = () =>
          retryPolicy
            .execute((context) => {
              last = context.attempt + 1;
              const number = context.attempt + 1;
              const send = () => breaker(caller, id, call.cancellation, (probe) => judge.observe(caller, id, attempt(number, probe)));
              if (context.attempt === 0) return send();
              // Admitted again, before the breaker: the caller may have been paused while this retry waited out its
              // backoff (another of its calls got a 429), and the retry went upstream to be rate-limited again.
              return new Promise<T>((resolve) => {
                call.admit?.();
                resolve(send());
              }).finally(() => budget.retries--);
            })
            .finally(() => slots.leave());
        const admitted = () => {
          try {
            call.admit?.();
          } catch (error) {
            slots.leave();
            throw error;
          }
          return attempts();
        };
        return slots
          .enter(call.cancellation)
          .then(admitted)
          .then(
            (value) => {
              budget.calls--;
              return value;
            },
            (error: unknown) => {
              budget.calls--;
              skipped(error, last);
              throw error;
            },
          );
      };
      if (!call.inShare) return run();
      let share = shares.get(caller);
      if (!share) shares.set(caller, (share = new Slots(shareLimit(caller), room, () => new CallerShareFullError(options.maxConcurrentPerCaller))));
      const own = share;
      const leave = () => {
        own.leave();
        if (own.idle && shares.get(caller) === own) shares.delete(caller);
      };
      return own.enter(call.cancellation).then(
        () => run().finally(leave),
        (error: unknown) => {
          if (own.idle && shares.get(caller) === own) shares.delete(caller);
          throw error;
        },
      );
    },
    /**
     * Upstream answered `caller` with a status other than 401, 403 and 429 (the token was taken): from now on it has
     * its whole share, and its calls waiting behind its first one start at once.
     */
    proveCaller(caller: string): void {
      if (!options.probeUnprovenCallers || proven.get(caller)) return;
      proven.set(caller, true);
      shares.get(caller)?.raise(options.maxConcurrentPerCaller);
    },
    /** cockatiel's retry policy: its `onRetry` fires when a retry is decided, before its pause, sent or not. */
    retry: retryPolicy,
    /**
     * Calls `listener` for each retry a call did not get although its failure
     * was retryable and attempts were left: the budget was spent (`budget`), or
     * the retry was decided but the circuit refused it at once, never reaching
     * upstream (`circuit_open`).
     */
    onRetrySkipped(listener: (reason: RetrySkip) => void): void {
      skipListeners.push(listener);
    },
    /** Calls and retries in flight, for tests. */
    budget,
    /** For reading the calls in flight and queued (`executionSlots`, `queueSlots`: what is free), as of cockatiel's bulkhead. */
    bulkhead: {
      get executionSlots(): number {
        return options.maxConcurrent - slots.running;
      },
      get queueSlots(): number {
        return options.queue - slots.waiting;
      },
    },
    /** For logging its state changes. */
    breaker: breakerPolicy,
    /**
     * The circuit as the next call finds it: HalfOpen from the moment an open
     * circuit lets its probe through, whether or not a call has come yet.
     * cockatiel's own `state` moves from Open only when a call arrives, so with
     * no traffic it said Open for good, on `/ready` and the state gauge alike,
     * long after the probe was allowed.
     */
    circuitState(): CircuitName {
      const state = breakerPolicy.state;
      return CIRCUIT_NAMES[state === CircuitState.Open && probeInMs() === 0 ? CircuitState.HalfOpen : state];
    },
    /** Milliseconds until the open circuit lets its probe through; 0 when the next call may be it, or not open. */
    probeInMs,
    /** Why the circuit last opened. */
    judge,
    /** Calls waiting in their caller's share now (they take no bulkhead slot, so `bulkhead.queueSlots` does not count them). */
    get waitingInShares(): number {
      return room.waiting;
    },
    /** Callers with a share now: made on a caller's first call and dropped with its last, so a caller seen once is not kept. */
    get callersWithShares(): number {
      return shares.size;
    },
  };
}

/** What a queue waits in: at most `max` (UPSTREAM_QUEUE) calls `waiting`; every caller's share waits in one, the bulkhead in its own. */
interface Room {
  waiting: number;
  max: number;
}

/**
 * A call refused because its caller's share is full and no room to wait is
 * left: the gateway's own refusal, which the upstream client answers as
 * UPSTREAM_UNAVAILABLE (as it does cockatiel's BulkheadRejectedError).
 */
export class CallerShareFullError extends Error {
  override readonly name = 'CallerShareFullError';

  constructor(readonly limit: number) {
    super(`caller share of ${limit} full`);
  }
}

/**
 * Slots with a queue in front: at most `limit` calls run, the rest wait in
 * order while `room` (shared by every queue drawing on it) lasts. Serves as the
 * process's bulkhead and as each caller's share of it. By hand because
 * cockatiel's bulkhead keeps a waiter whose request has gone until its turn
 * comes, so the dead would fill the queue.
 */
class Slots {
  #running = 0;
  readonly #waiting: Array<{ admit(): void }> = [];

  constructor(
    private limit: number,
    private readonly room: Room,
    /** The error a call is refused with when no slot and no room to wait are left. */
    private readonly refuse: () => Error,
  ) {}

  get idle(): boolean {
    return this.#running === 0 && this.#waiting.length === 0;
  }

  /** Calls holding a slot now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting in this queue now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves once the call may run (then `leave()` when it ends). Rejects at
   * once with `refuse()` when no slot and no room to wait are left, and with
   * TaskCancelledError when `cancellation` fires while it waits (its place is
   * given up then, not when its turn comes).
   */
  enter(cancellation: Cancellation): Promise<void> {
    if (this.#running < this.limit) {
      this.#running++;
      return Promise.resolve();
    }
    if (this.room.waiting >= this.room.max) return Promise.reject(this.refuse());
    if (cancellation.aborted) return Promise.reject(new TaskCancelledError());
    return new Promise<void>((resolve, reject) => {
      this.room.waiting++;
      const waiter = {
        admit: () => {
          stopWatching();
          this.room.waiting--;
          this.#running++;
          resolve();
        },
      };
      const stopWatching = cancellation.onAbort(() => {
        const at = this.#waiting.indexOf(waiter);
        if (at < 0) return;
        this.#waiting.splice(at, 1);
        this.room.waiting--;
        reject(new TaskCancelledError());
      });
      this.#waiting.push(waiter);
    });
  }

  leave(): void {
    this.#running--;
    this.#waiting.shift()?.admit();
  }

  /** Lets `limit` calls run from now on, starting waiting ones while there is room. */
  raise(limit: number): void {
    this.limit = limit;
    while (this.#running < this.limit && this.#waiting.length > 0) this.#waiting.shift()!.admit();
  }
}

