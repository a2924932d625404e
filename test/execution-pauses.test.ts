/**
 * Upstream's Retry-After on a 5xx for one execution (RFC 9110 §10.2.3: how long the client "ought to
 * wait before making a follow-up request"), held for every follow-up of that caller for that execution:
 * a new poller (a page reloaded, watchers coming and going) and queries, not only the poller or call
 * that got it. Counted by the calls the real fake upstream sees.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { codes, type Harness } from './support/harness.js';
import { AUTH_A, AUTH_A2, Clients, putExecution, Recorder, sleep, startLiveHarness, waitFor } from './support/live.js';
import { useReplicas, watchAgainAcrossPause } from './support/replicas.js';
import { CallerPauses } from '../src/upstream/caller-pauses.js';

/** Upstream's pause, in seconds: longer than the gateway waits to retry (UPSTREAM_RETRY_AFTER_CAP_MS, 2 s by default). */
const PAUSE_S = 3;
/**
 * A pause for the cases that never wait for its end, only act within it: ten watches or queries in turn, which a
 * loaded machine can stretch past PAUSE_S, and then calls after the pause are due, as designed.
 */
const LONG_PAUSE_S = 30;
const ONE = 'query ($id: ID!) { execution(id: $id) { id status } }';

describe('a 503 with Retry-After for one execution', () => {
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1' });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  /** Watches `id` until its first update, then makes upstream answer it 503 with Retry-After and waits for that answer; returns when it came. */
  async function pausedByAWatch(id: string, pauseS = PAUSE_S): Promise<{ watcher: Recorder; pausedAt: number }> {
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    const watcher = new Recorder(clients.for(harness, AUTH_A), { id });
    await watcher.received(1);
    const before = harness.upstream.requestsFor(id).length;
    harness.upstream.setFault(id, { kind: 'status', status: 503, headers: { 'retry-after': String(pauseS) } });
    await waitFor(() => harness.upstream.requestsFor(id).length > before, 'the poll answered 503');
    await waitFor(() => watcher.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${watcher.describe()}`);
    return { watcher, pausedAt: harness.upstream.requestsFor(id).at(-1)!.at };
  }

  /** As pausedByAWatch, then the watch ends and its poller stops (a page left or reloaded); `from`: when it had. */
  async function pausedThenLeft(id: string, pauseS = PAUSE_S): Promise<{ pausedAt: number; from: number }> {
    const { watcher, pausedAt } = await pausedByAWatch(id, pauseS);
    watcher.stop();
    await waitFor(() => harness.instance.live.counts.pollers === 0, 'the poller to stop');
    return { pausedAt, from: performance.now() };
  }

  /** Upstream calls for `id` between `from` and the end of the pause that began at `pausedAt` (a little slack for timers). */
  const callsInPause = (id: string, from: number, pausedAt: number, pauseS = PAUSE_S) =>
    harness.upstream.requestsFor(id).filter((request) => request.at > from && request.at < pausedAt + pauseS * 1000 - 20).length;

  it('a watch started as the previous one ends calls upstream no sooner than the pause ends, and is told of the pause at once', async () => {
    const id = 'ex_pause_reload';
    // The page reloads: its watch ends, and a new one of the same execution starts at once.
    const { pausedAt, from } = await pausedThenLeft(id);
    const reloaded = new Recorder(clients.for(harness, AUTH_A), { id });
    await waitFor(() => reloaded.results.length >= 1, () => `the new watch's notice; ${reloaded.describe()}`, 2_000);
    const notice = reloaded.results[0]!.errors?.[0];
    expect(notice?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(notice?.extensions?.retryAfterMs).toBeGreaterThan(0);
    expect(notice?.extensions?.retryAfterMs).toBeLessThanOrEqual(PAUSE_S * 1000 * 1.2);
    await sleep(Math.max(0, pausedAt + PAUSE_S * 1000 - performance.now() - 50));
    expect(callsInPause(id, from, pausedAt), 'upstream calls for the execution before its Retry-After ended').toBe(0);
    // Once the pause is over, polling goes on and the watch gets its reading.
    harness.upstream.setFault(id, undefined);
    await reloaded.until((update) => update.execution.id === id, 'a reading after the pause', 5_000);
    reloaded.stop();
  });

  it('watchers joining and leaving one after another during the pause make no upstream call', async () => {
    const id = 'ex_pause_churn';
    const { pausedAt, from } = await pausedThenLeft(id, LONG_PAUSE_S);
    for (let i = 0; i < 10; i++) {
      const next = new Recorder(clients.for(harness, AUTH_A), { id });
      // Each is told of the pause (the notice) before it leaves.
      // 10 s, far under the 30 s a watch waiting out the pause before its notice would take.
      await waitFor(() => next.results.length >= 1, () => `watch #${i + 1}'s notice; ${next.describe()}`);
      next.stop();
      await waitFor(() => harness.instance.live.counts.pollers === 0, 'the poller to stop');
    }
    expect(performance.now()).toBeLessThan(pausedAt + LONG_PAUSE_S * 1000);
    expect(callsInPause(id, from, pausedAt, LONG_PAUSE_S), 'upstream calls for the execution by ten watches in turn during its Retry-After').toBe(0);
  });

  it("queries of the execution during the pause are answered at once with UPSTREAM_UNAVAILABLE and the time left, without calling upstream; another caller's are not", async () => {
    const id = 'ex_pause_query';
    const { watcher, pausedAt } = await pausedByAWatch(id, LONG_PAUSE_S);
    const from = performance.now();
    // One after another (concurrent ones would share one call): a page refreshing, a client retrying.
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await harness.query(ONE, { id }, { authorization: AUTH_A }));
    for (const answer of answers) {
      expect(codes(answer)).toEqual(['UPSTREAM_UNAVAILABLE']);
      const left = answer.errors![0]!.extensions!.retryAfterMs as number;
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(LONG_PAUSE_S * 1000);
      expect(answer.extensions, 'the calls the query made').toMatchObject({ upstream: { calls: 0 } });
      expect(answer.errors![0]!.message).toMatch(/asked for no calls for it/);
    }
    expect(performance.now()).toBeLessThan(pausedAt + LONG_PAUSE_S * 1000);
    expect(callsInPause(id, from, pausedAt, LONG_PAUSE_S), 'upstream calls for the execution by ten queries during its Retry-After').toBe(0);
    expect(harness.instance.client.refusals.execution_paused).toBeGreaterThanOrEqual(10);
    // The pause is the caller's for this execution: another token of the same organization still asks upstream.
    const other = await harness.query(ONE, { id }, { authorization: AUTH_A2 });
    expect(codes(other)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(other.errors![0]!.extensions).toMatchObject({ upstreamStatus: 503 });
    watcher.stop();
  });

  it("a query's 503 with Retry-After holds for the caller's watch of that execution too", async () => {
    const id = 'ex_pause_by_query';
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    harness.upstream.setFault(id, { kind: 'status', status: 503, headers: { 'retry-after': String(PAUSE_S) } });
    const answer = await harness.query(ONE, { id }, { authorization: AUTH_A });
    expect(answer.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503, retryAfterMs: PAUSE_S * 1000 });
    const pausedAt = harness.upstream.requestsFor(id).at(-1)!.at;
    const from = performance.now();
    const watcher = new Recorder(clients.for(harness, AUTH_A), { id });
    await waitFor(() => watcher.results.length >= 1, () => `the watch's notice; ${watcher.describe()}`, 2_000);
    expect(watcher.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
    await sleep(Math.max(0, pausedAt + PAUSE_S * 1000 - performance.now() - 50));
    expect(callsInPause(id, from, pausedAt), 'upstream calls by the watch during the Retry-After its query got').toBe(0);
    watcher.stop();
  });

  it("an answer for the pair that overtakes the 503 ends its pause: upstream served the execution since, so the caller's next query is asked upstream, and answered", async () => {
    const id = 'ex_pause_overtaken';
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    // A call already on its way when the pause begins: a live poll shares no call with a query (README "Isolation"),
    // so the query goes upstream while the poll waits there.
    harness.upstream.setFault(id, { kind: 'slow', ms: 400 });
    const watcher = new Recorder(clients.for(harness, AUTH_A), { id });
    await waitFor(() => harness.upstream.requestsFor(id).length === 1, 'the first poll upstream');
    harness.upstream.setFault(id, { kind: 'status', status: 503, headers: { 'retry-after': String(PAUSE_S * 10) } }, 1);
    const paused = await harness.query(ONE, { id }, { authorization: AUTH_A });
    expect(paused.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
    // Upstream answers the earlier poll after the 503: it serves the execution.
    await watcher.received(1);
    expect(watcher.errorCodes).toEqual([]);
    const calls = harness.upstream.requestsFor(id).length;
    const next = await harness.query(ONE, { id }, { authorization: AUTH_A });
    // Before, refused for the rest of the 30 s without a call.
    expect(next.errors).toBeUndefined();
    expect(next.data).toEqual({ execution: { id, status: 'WORKFLOW_RUNNING' } });
    expect(harness.upstream.requestsFor(id).length).toBeGreaterThan(calls);
    watcher.stop();
  });
});

describe('a 5xx with Retry-After for one execution, asked by a query', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1' });
  });
  afterAll(() => harness.close());

  // Every 5xx, the first and the last of the class (RFC 9110 §15.6): a Retry-After on any says how long the execution stays unavailable.
  it.each([500, 599])("HTTP %i: the caller's next query of that execution is refused without calling upstream, with the time left", async (status) => {
    const id = `ex_pause_${status}`;
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    harness.upstream.setFault(id, { kind: 'status', status, headers: { 'retry-after': String(PAUSE_S) } });
    const first = await harness.query(ONE, { id }, { authorization: AUTH_A });
    expect(first.errors![0]!.extensions).toMatchObject({ upstreamStatus: status });
    const next = await harness.query(ONE, { id }, { authorization: AUTH_A });
    expect(codes(next)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(next.errors![0]!.message).toMatch(/asked for no calls for it/);
    expect(next.extensions).toMatchObject({ upstream: { calls: 0 } });
    expect(harness.upstream.requestsFor(id)).toHaveLength(1);
  });
});

describe('the pauses kept per pair', () => {
  it('say how long a running pause has run, from the Retry-After that began it, and forget it once it ended', () => {
    const pauses = new CallerPauses(10);
    pauses.pause('pair', 1_000, 0);
    expect(pauses.elapsed('pair', 400)).toBe(400);
    // A longer Retry-After while it runs lengthens it, and it still began at 0.
    pauses.pause('pair', 1_000, 500);
    expect(pauses.remaining('pair', 600)).toBe(900);
    expect(pauses.elapsed('pair', 600)).toBe(600);
    expect(pauses.elapsed('pair', 1_500)).toBeUndefined();
    // One after it ended begins a new pause.
    pauses.pause('pair', 1_000, 2_000);
    expect(pauses.elapsed('pair', 2_100)).toBe(100);
  });
});

describe('a 503 with Retry-After for one execution, the outage notice of a watch started during the pause', () => {
  let harness: Harness;
  const clients = new Clients('sse');
  // The notice is due once the outage reaches 2 s, or at once when the pause makes it reach that.
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1', LIVE_OUTAGE_NOTICE_MS: '2000' });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it.each([
    { status: 503, pause: "the caller's for the execution", auth: AUTH_A, id: 'ex_pause_notice' },
    // A 429's pause is the caller's as a whole: another token, so the 503 case's pause does not hold for it.
    { status: 429, pause: "the caller's", auth: AUTH_A2, id: 'ex_pause_notice_429' },
  ])('counts the outage from the $status that began $pause pause, so a watch started when less than the notice time is left is told at once', async ({ status, auth, id }) => {
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    const first = new Recorder(clients.for(harness, auth), { id });
    await first.received(1);
    harness.upstream.setFault(id, { kind: 'status', status, headers: { 'retry-after': String(PAUSE_S) } });
    await waitFor(() => first.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${first.describe()}`);
    const pausedAt = harness.upstream.requestsFor(id).at(-1)!.at;
    first.stop();
    await waitFor(() => harness.instance.live.counts.pollers === 0, 'the poller to stop');
    // 1.5 s into the 3 s pause: 1.5 s left, under the notice time, and the outage has lasted 1.5 s.
    await sleep(Math.max(0, pausedAt + 1_500 - performance.now()));
    const reloaded = new Recorder(clients.for(harness, auth), { id });
    await waitFor(() => reloaded.results.length >= 1, () => `the new watch's notice; ${reloaded.describe()}`, 1_000);
    expect(reloaded.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(performance.now()).toBeLessThan(pausedAt + PAUSE_S * 1000);
    expect(harness.upstream.requestsFor(id).filter((request) => request.at > pausedAt + 1)).toHaveLength(0);
    reloaded.stop();
  });
});

describe('a 503 with Retry-After for one execution, two replicas on one Redis', () => {
  const replicas = useReplicas();

  it("a watch started on the other replica as the last one ends calls upstream no sooner than the pause ends, and is told of it at once", async () => {
    const id = 'ex_pause_replicas';
    const second = await watchAgainAcrossPause(replicas, id, AUTH_A, PAUSE_S);
    replicas.upstream.setFault(id, undefined);
    await second.until((update) => update.execution.id === id, 'a reading after the pause', 5_000);
    second.stop();
  });
});

describe('a Retry-After longer than UPSTREAM_PAUSE_MAX_MS', () => {
  /** The gateway's longest pause in these tests: the setting's least. */
  const PAUSE_MAX_MS = 1_000;
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { UPSTREAM_MAX_ATTEMPTS: '1', UPSTREAM_PAUSE_MAX_MS: String(PAUSE_MAX_MS) });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it.each([
    // A maintenance page's 503, asking for a day, that upstream is over with at once.
    ['a 503 asking for a day', 503, '86400'],
    ['a 503 asking until an HTTP-date years ahead', 503, 'Wed, 21 Oct 2099 07:28:00 GMT'],
    ["a 429 asking for a day (the caller's pause)", 429, '86400'],
  ])("%s holds the caller's calls for the execution no longer than the setting: then upstream is asked again, and answers", async (_name, status, retryAfter) => {
    const id = `ex_pause_max_${status}_${retryAfter.length}`;
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    // One failure, then upstream is back.
    harness.upstream.setFault(id, { kind: 'status', status, headers: { 'retry-after': retryAfter } }, 1);
    const first = await harness.query(ONE, { id }, { authorization: AUTH_A });
    // The client is told when the gateway calls again, not upstream's day: before, 86,400,000 ms, and every call refused that long.
    expect(first.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: status, retryAfterMs: PAUSE_MAX_MS });
    const pausedAt = performance.now();
    const during = await harness.query(ONE, { id }, { authorization: AUTH_A });
    expect(codes(during)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(during.errors![0]!.extensions!.retryAfterMs).toBeLessThanOrEqual(PAUSE_MAX_MS);
    expect(harness.upstream.requestsFor(id)).toHaveLength(1);
    await sleep(Math.max(0, pausedAt + PAUSE_MAX_MS + 20 - performance.now()));
    const after = await harness.query(ONE, { id }, { authorization: AUTH_A });
    expect(after.errors).toBeUndefined();
    expect(after.data).toEqual({ execution: { id, status: 'WORKFLOW_RUNNING' } });
    expect(harness.upstream.requestsFor(id)).toHaveLength(2);
  });

  it('a watch whose poll got a 503 asking for a day reads upstream again once the setting has passed', async () => {
    const id = 'ex_pause_max_watch';
    putExecution(harness.upstream, id, 'workflow_running', { organizationId: 'org_a' });
    const watcher = new Recorder(clients.for(harness, AUTH_A), { id });
    await watcher.received(1);
    harness.upstream.setFault(id, { kind: 'status', status: 503, headers: { 'retry-after': '86400' } }, 1);
    await waitFor(() => watcher.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${watcher.describe()}`);
    const noticedAt = performance.now();
    const notice = watcher.results.findIndex((result) => result.errors);
    // The first update once upstream answers again carries no errors (README "Live executions"): the poller read it.
    const read = () => watcher.results.slice(notice + 1).some((result) => result.errors === undefined);
    await waitFor(read, () => `a reading after the pause; ${watcher.describe()}`, 5_000);
    // Before, the poller waited out upstream's day (up to LIVE_MAX_WATCH_MS, 6 h).
    expect(performance.now() - noticedAt).toBeLessThan(PAUSE_MAX_MS * 1.5 + 2_000);
    watcher.stop();
  });
});
