/**
 * The breaker's rule itself (src/upstream/failure-judge.ts), fed outcomes
 * directly: which mixes of callers' failures open the circuit. The same rule
 * over HTTP, with real upstream answers, is in fairness.test.ts.
 */
import { CircuitState } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { FailureJudge } from '../src/upstream/failure-judge.js';
import { UpstreamError } from '../src/upstream/upstream-error.js';

/** The production defaults (README "Upstream faults"). */
const DEFAULTS = { threshold: 10, windowMs: 10_000, minIds: 5, minCallers: 2 };

const ids = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}_${i + 1}`);

async function fail(judge: FailureJudge, caller: string, id: string, status = 500): Promise<void> {
  const error = new UpstreamError(ErrorCode.UPSTREAM_UNAVAILABLE, `HTTP ${status}`, { countsAsFailure: true, upstreamStatus: status });
  await judge.observe(caller, id, Promise.reject(error)).catch(() => undefined);
}

async function succeed(judge: FailureJudge, caller: string, id: string): Promise<void> {
  await judge.observe(caller, id, Promise.resolve(id));
}

/** What cockatiel would be told after a failed attempt while closed. */
const opens = (judge: FailureJudge) => judge.failure(CircuitState.Closed);

describe('failure judge', () => {
  it('one caller rate-limited on many ids plus another caller\'s one broken id do not open it', async () => {
    const judge = new FailureJudge(DEFAULTS);
    // a: 429 on its token, loading a 20-id dashboard.
    for (const id of ids('a', 20)) await fail(judge, 'a', id, 429);
    // b: one broken id among healthy ones; c: healthy.
    await fail(judge, 'b', 'broken');
    for (const id of ids('b', 5)) await succeed(judge, 'b', id);
    for (const id of ids('c', 5)) await succeed(judge, 'c', id);
    expect(opens(judge)).toBe(false);
    // Again later in the window: b's broken id asked again, a's flood again, the same.
    await fail(judge, 'b', 'broken');
    for (const id of ids('a', 20)) await fail(judge, 'a', id, 429);
    expect(opens(judge)).toBe(false);
  });

  it('an outage that fails most pairs of every caller opens it, however unevenly the callers ask', async () => {
    const judge = new FailureJudge(DEFAULTS);
    for (const id of ids('a', 20)) await fail(judge, 'a', id, 503);
    await succeed(judge, 'b', 'b_ok');
    for (const id of ids('b', 2)) await fail(judge, 'b', id, 503);
    expect(opens(judge)).toBe(true);
    expect(judge.reason).toMatch(/22 of 23 \(caller, id\) pairs failing/);
  });

  it('an outage spread evenly over callers opens it', async () => {
    const judge = new FailureJudge(DEFAULTS);
    for (const caller of ['a', 'b', 'c']) for (const id of ids(caller, 4)) await fail(judge, caller, id, 503);
    expect(opens(judge)).toBe(true);
  });

  it('single tenant (minCallers 1): one caller failing across ids still opens it', async () => {
    const judge = new FailureJudge({ ...DEFAULTS, minCallers: 1 });
    for (const id of ids('a', 10)) await fail(judge, 'a', id, 503);
    await succeed(judge, 'a', 'a_ok');
    expect(opens(judge)).toBe(true);
  });

  it('forgets each caller\'s pairs as they leave the window', async () => {
    const judge = new FailureJudge({ ...DEFAULTS, windowMs: 100 });
    // b's healthy pairs age out; then a's flood and b's one failure are all that is left: b fails all it asks.
    for (const id of ids('b', 30)) await succeed(judge, 'b', id);
    await new Promise((resolve) => setTimeout(resolve, 150));
    for (const id of ids('a', 20)) await fail(judge, 'a', id, 503);
    await fail(judge, 'b', 'b_1', 503);
    expect(opens(judge)).toBe(true);
  });
});
