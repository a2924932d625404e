/**
 * The upstream policy itself (src/upstream/resilience.ts), fed attempts directly
 * with cockatiel's clock (Date) set by the test: the half-open probe and who may
 * be it, the ids passed over and their bound, the slots and shares a call holds,
 * and the retries a call was refused. The same policy over HTTP, against a real
 * upstream, is in resilience.test.ts and fairness.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, UpstreamError } from '../src/errors.js';
import { Cancellation } from '../src/upstream/cancellation.js';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CallerShareFullError,
  TaskCancelledError,
  createUpstreamPolicy,
  type ResilienceOptions,
  type RetrySkip,
} from '../src/upstream/resilience.js';

const HALF_OPEN_MS = 1_000;

/** One failure opens the circuit (any id, any caller); no backoff between attempts. */
const OPTIONS: ResilienceOptions = {
  maxAttempts: 3,
  retryBaseDelayMs: 0,
  retryMaxDelayMs: 0,
  retryAfterCapMs: 2_000,
  breakerThreshold: 1,
  breakerWindowMs: 60_000,
  breakerMinIds: 1,
  breakerMinCallers: 1,
  breakerHalfOpenMs: HALF_OPEN_MS,
  maxConcurrent: 2,
  queue: 2,
  maxConcurrentPerCaller: 2,
};

const failure = (options: { timedOut?: boolean; retryable?: boolean } = {}) =>
  new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, 'HTTP 503', { countsAsFailure: true, upstreamStatus: 503, ...options });

const call = (cancellation = new Cancellation(), admit?: () => void) => ({ cancellation, inShare: false, ...(admit ? { admit } : {}) });

/** What a call settled with: its value, or its error's class name. */
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => value,
    (error: Error) => error.constructor.name,
  );

let now = Date.UTC(2026, 0, 1);
const advance = (ms: number) => {
  now += ms;
  vi.setSystemTime(now);
};

beforeEach(() => {
  // Only Date: cockatiel's half-open clock and the policy's own read it, and real timers still run its retries.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(now);
});
afterEach(() => {
  vi.useRealTimers();
});

type Policy = ReturnType<typeof createUpstreamPolicy>;

/** Opens the circuit with one failing call, and waits out the half-open time: the next call may probe. */
async function openAndWait(policy: Policy, id = 'opening'): Promise<void> {
  await outcome(policy.execute('caller', id, () => Promise.reject(failure()), call()));
  expect(policy.circuitState()).toBe('open');
  advance(HALF_OPEN_MS);
  expect(policy.circuitState()).toBe('half_open');
}

/** A probe for `id` that times out: the circuit reopens, and `id` is passed over. */
async function probeTimesOut(policy: Policy, id: string, caller = 'caller'): Promise<void> {
  const attempts: boolean[] = [];
  const result = await outcome(
    policy.execute(caller, id, (_number, probe) => {
      attempts.push(probe);
      return Promise.reject(failure({ timedOut: true }));
    }, call()),
  );
  expect(result).toBe(UpstreamError.name);
  expect(attempts).toEqual([true]);
  expect(policy.circuitState()).toBe('open');
}

/** Whether a call for `id` is let through as the probe (and then closes the circuit), or refused without an attempt. */
async function probes(policy: Policy, id: string, caller = 'caller'): Promise<boolean> {
  let attempted = false;
  const result = await outcome(
    policy.execute(caller, id, () => {
      attempted = true;
      return Promise.resolve('read');
    }, call()),
  );
  if (!attempted) expect(result).toBe(BrokenCircuitError.name);
  return attempted;
}

describe('the half-open probe', () => {
  it('while the probe is in flight, every other call is refused at once, never sent and never kept waiting', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await openAndWait(policy);
    let answer!: (value: string) => void;
    const probe = policy.execute('caller', 'probe', () => new Promise<string>((resolve) => (answer = resolve)), call());
    expect(policy.circuitState()).toBe('half_open');
    const attempted: string[] = [];
    const others = await Promise.all(
      ['a', 'b'].map((id) =>
        outcome(
          policy.execute('caller', id, () => {
            attempted.push(id);
            return Promise.resolve(id);
          }, call()),
        ),
      ),
    );
    expect(others).toEqual([BrokenCircuitError.name, BrokenCircuitError.name]);
    expect(attempted).toEqual([]);
    answer('read');
    expect(await probe).toBe('read');
    expect(policy.circuitState()).toBe('closed');
  });

  it('a caller already gone never becomes the probe: its call is cancelled, and the next call probes', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await openAndWait(policy);
    const gone = new Cancellation();
    gone.abort(new Error('client left'));
    let attempted = false;
    const result = await outcome(
      policy.execute('caller', 'left', () => {
        attempted = true;
        return Promise.reject(new TaskCancelledError());
      }, call(gone)),
    );
    expect(result).toBe(TaskCancelledError.name);
    expect(attempted).toBe(false);
    // Still due its probe: the cancelled call neither closed the circuit nor took the probe's turn.
    expect(policy.circuitState()).toBe('half_open');
    expect(await probes(policy, 'next')).toBe(true);
    expect(policy.circuitState()).toBe('closed');
  });

  it('says half-open once the probe may go, before any call arrives, and how long until then while open', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await outcome(policy.execute('caller', 'opening', () => Promise.reject(failure()), call()));
    expect(policy.probeInMs()).toBe(HALF_OPEN_MS);
    advance(HALF_OPEN_MS - 1);
    expect([policy.circuitState(), policy.probeInMs()]).toEqual(['open', 1]);
    advance(1);
    expect([policy.circuitState(), policy.probeInMs()]).toEqual(['half_open', 0]);
  });
});

describe('ids passed over as the probe', () => {
  it('an id whose probe timed out waits a second half-open time, then probes again when it is all that is asked for', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await openAndWait(policy);
    await probeTimesOut(policy, 'slow');
    advance(HALF_OPEN_MS);
    expect(await probes(policy, 'slow')).toBe(false);
    advance(HALF_OPEN_MS - 1);
    expect(await probes(policy, 'slow')).toBe(false);
    advance(1);
    expect(await probes(policy, 'slow')).toBe(true);
  });

  it('forgets the ids it passed over once the circuit closes: in the next outage each may probe at once', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await openAndWait(policy);
    await probeTimesOut(policy, 'slow');
    advance(HALF_OPEN_MS);
    expect(await probes(policy, 'other')).toBe(true);
    expect(policy.circuitState()).toBe('closed');
    await openAndWait(policy);
    expect(await probes(policy, 'slow')).toBe(true);
  });

  it('keeps at most 1,024 of them, forgetting the one passed over longest ago, and an id passed over again is the latest', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await openAndWait(policy);
    const passOver = async (id: string) => {
      await probeTimesOut(policy, id);
      advance(HALF_OPEN_MS);
    };
    await passOver('first');
    await passOver('second');
    for (let i = 0; i < 1_022; i++) await passOver(`id_${i}`);
    // 1,024 passed over. 'first' probes again once twice the half-open time has passed, is passed over again and
    // becomes the latest, so the next one past 1,024 forgets 'second'.
    advance(HALF_OPEN_MS);
    await passOver('first');
    await passOver('last');
    expect(await probes(policy, 'first')).toBe(false);
    expect(await probes(policy, 'id_0')).toBe(false);
    expect(await probes(policy, 'second')).toBe(true);
  });
});

describe('each opening starts a fresh window', () => {
  it('failures from before the circuit opened are not counted again once it closes', async () => {
    // Three failing ids open it; once closed, one more failing id alone must not reopen it.
    const policy = createUpstreamPolicy({ ...OPTIONS, breakerThreshold: 3, breakerMinIds: 3 });
    for (const id of ['a', 'b', 'c']) await outcome(policy.execute('caller', id, () => Promise.reject(failure()), call()));
    expect(policy.circuitState()).toBe('open');
    advance(HALF_OPEN_MS);
    expect(await probes(policy, 'd')).toBe(true);
    await outcome(policy.execute('caller', 'e', () => Promise.reject(failure()), call()));
    expect(policy.circuitState()).toBe('closed');
  });
});

describe('the retries a call did not get', () => {
  const skips = (policy: Policy) => {
    const reasons: RetrySkip[] = [];
    policy.onRetrySkipped((reason) => reasons.push(reason));
    return reasons;
  };

  it('a call refused by the open circuit before any attempt was no retry skipped', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    await outcome(policy.execute('caller', 'opening', () => Promise.reject(failure()), call()));
    const reasons = skips(policy);
    expect(await outcome(policy.execute('caller', 'refused', () => Promise.resolve('read'), call()))).toBe(BrokenCircuitError.name);
    expect(reasons).toEqual([]);
  });

  it('a retry the circuit refused is one (circuit_open); a call whose last attempt failed was refused none', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    const reasons = skips(policy);
    // The first attempt's failure opens the circuit: its retry is decided, and refused at once.
    expect(await outcome(policy.execute('caller', 'x', () => Promise.reject(failure({ retryable: true })), call()))).toBe(BrokenCircuitError.name);
    expect(reasons).toEqual(['circuit_open']);
    const spent = createUpstreamPolicy({ ...OPTIONS, breakerThreshold: 100 });
    const none = skips(spent);
    let attempts = 0;
    const result = await outcome(
      spent.execute('caller', 'y', () => {
        attempts++;
        return Promise.reject(failure({ retryable: true }));
      }, call()),
    );
    expect([result, attempts]).toEqual([UpstreamError.name, OPTIONS.maxAttempts]);
    expect(none).toEqual([]);
    expect(spent.budget).toMatchObject({ calls: 0, retries: 0 });
  });
  it('a call whose last attempt failed while the budget was spent was refused no retry: it had none left', async () => {
    const policy = createUpstreamPolicy({ ...OPTIONS, maxAttempts: 2, breakerThreshold: 1_000, maxConcurrent: 32, queue: 0 });
    const reasons = skips(policy);
    // Twenty calls in flight let four retries run at once (a fifth of them); each of four calls gets one.
    const holds: Array<(value: string) => void> = [];
    const held = Array.from({ length: 16 }, (_, i) => policy.execute('caller', `held_${i}`, () => new Promise<string>((resolve) => holds.push(resolve)), call()));
    const retries: Array<(error: Error) => void> = [];
    const failing = ['a', 'b', 'c', 'd'].map((id) =>
      outcome(policy.execute('caller', id, (number) => (number === 1 ? Promise.reject(failure({ retryable: true })) : new Promise<string>((_, reject) => retries.push(reject))), call())),
    );
    await vi.waitFor(() => expect(retries).toHaveLength(4));
    expect(policy.budget).toMatchObject({ calls: 20, retries: 4 });
    // Sixteen calls end: the four left allow three retries, and the budget is spent when the first retry fails.
    for (const hold of holds) hold('read');
    await Promise.all(held);
    retries[0]!(failure({ retryable: true }));
    expect(await failing[0]).toBe(UpstreamError.name);
    expect(reasons).toEqual([]);
    for (const reject of retries.slice(1)) reject(failure({ retryable: true }));
    await Promise.all(failing);
    expect(policy.budget).toMatchObject({ calls: 0, retries: 0 });
  });
});

describe('slots and shares', () => {
  it('a call whose admission throws gives its slot back: the bulkhead stays whole', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    const refused = await outcome(
      policy.execute('caller', 'x', () => Promise.resolve('read'), call(undefined, () => {
        throw new Error('paused');
      })),
    );
    expect(refused).toBe('Error');
    expect(policy.bulkhead.executionSlots).toBe(OPTIONS.maxConcurrent);
    expect(policy.budget).toMatchObject({ calls: 0, retries: 0 });
  });

  it('counts a call out of the retry budget whether it succeeds or fails', async () => {
    const policy = createUpstreamPolicy(OPTIONS);
    expect(await policy.execute('caller', 'x', () => Promise.resolve('read'), call())).toBe('read');
    expect(policy.budget.calls).toBe(0);
  });

  it('a call whose caller left before a slot was free is cancelled without waiting and takes no place in the queue', async () => {
    const policy = createUpstreamPolicy({ ...OPTIONS, maxConcurrent: 1, queue: 1 });
    let answer!: (value: string) => void;
    const holding = policy.execute('caller', 'a', () => new Promise<string>((resolve) => (answer = resolve)), call());
    const gone = new Cancellation();
    gone.abort(new Error('client left'));
    expect(await outcome(policy.execute('caller', 'b', () => Promise.resolve('b'), call(gone)))).toBe(TaskCancelledError.name);
    expect(policy.bulkhead.queueSlots).toBe(1);
    // The queue's one place is free for a live call.
    const waiting = policy.execute('caller', 'c', () => Promise.resolve('c'), call());
    expect(policy.bulkhead.queueSlots).toBe(0);
    expect(await outcome(policy.execute('caller', 'd', () => Promise.resolve('d'), call()))).toBe(BulkheadRejectedError.name);
    answer('a');
    expect([await holding, await waiting]).toEqual(['a', 'c']);
  });

  it("a caller's share is dropped with its last call, so a share full before does not refuse later calls", async () => {
    const policy = createUpstreamPolicy({ ...OPTIONS, maxConcurrent: 4, queue: 0, maxConcurrentPerCaller: 1 });
    let answer!: (value: string) => void;
    const first = policy.execute('caller', 'a', () => new Promise<string>((resolve) => (answer = resolve)), { cancellation: new Cancellation(), inShare: true });
    const full = await outcome(policy.execute('caller', 'b', () => Promise.resolve('b'), { cancellation: new Cancellation(), inShare: true }));
    expect(full).toBe(CallerShareFullError.name);
    expect(policy.callersWithShares).toBe(1);
    answer('a');
    expect(await first).toBe('a');
    expect(policy.callersWithShares).toBe(0);
    expect(await policy.execute('caller', 'c', () => Promise.resolve('c'), { cancellation: new Cancellation(), inShare: true })).toBe('c');
    expect(policy.waitingInShares).toBe(0);
    expect(policy.callersWithShares).toBe(0);
  });
});
