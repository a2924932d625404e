/**
 * The circuit breaker is fair (README "Upstream faults", src/upstream/failure-judge.ts):
 * failures concentrated on one caller or one id, whatever their kind, never
 * open the circuit for others; an outage that fails across many ids and
 * callers opens it, whatever the status, and it recovers by itself.
 *
 * Everything goes over HTTP through the edge, on both lanes, against the fake
 * upstream on loopback with several tokens (callers), each seeing its own
 * organization's executions. The breaker runs with the production defaults
 * (stated here, since the harness switches it off for other suites), except a
 * short half-open time.
 */
import { spawn } from 'node:child_process';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { FakeUpstream, type Fault } from '../src/demo/fake-upstream.js';
import { createLogger } from '../src/logger.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { captureLog } from './support/captured-log.js';
import { Harness, LANES, codes, type GraphQLResponse, type LaneName } from './support/harness.js';
import { waitFor } from './support/live.js';
import { sendOver } from './support/transports.js';

const ONE = `query($id: ID!) { execution(id: $id) { id status } }`;
/** Long enough that checks made while the circuit is open finish before it half-opens, on a loaded 2-core machine too. */
const HALF_OPEN_MS = 1_500;

/** The breaker's production defaults, and a short half-open time. */
const BREAKER_ENV = {
  UPSTREAM_BREAKER_THRESHOLD: '10',
  UPSTREAM_BREAKER_WINDOW_MS: '10000',
  UPSTREAM_BREAKER_MIN_IDS: '5',
  UPSTREAM_BREAKER_MIN_CALLERS: '2',
  UPSTREAM_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
};

/**
 * Three callers (tokens), each seeing the twelve executions of its own
 * organization; and twelve more tokens of organization a (colleagues of a).
 * Twelve: more than the threshold, so that only the spread keeps the circuit
 * closed when one caller fails on all its ids, or all colleagues on one id.
 */
const CALLERS = ['a', 'b', 'c'] as const;
type Caller = (typeof CALLERS)[number];
const IDS_PER_CALLER = 12;
const COLLEAGUES = Array.from({ length: 12 }, (_, i) => `Bearer token-a${i + 1}`);
const idsOf = (caller: Caller) => Array.from({ length: IDS_PER_CALLER }, (_, i) => `ex_${caller}_${i + 1}`);
const ALL_IDS = CALLERS.flatMap(idsOf);
const auth = (caller: Caller) => `Bearer token-${caller}`;

const UPSTREAM = {
  tokens: Object.fromEntries([
    ...CALLERS.map((caller) => [`token-${caller}`, `org_${caller}`]),
    ...COLLEAGUES.map((header) => [header.slice('Bearer '.length), 'org_a']),
  ]),
  executions: CALLERS.flatMap((caller) =>
    idsOf(caller).map((id) => makeExecution({ id, status: 'workflow_succeeded', organizationId: `org_${caller}` })),
  ),
};

const OPENED = 'upstream circuit opened: failing fast';
const CLOSED = 'upstream circuit closed again';
const FAILING_FAST = /stops calling it/;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let harness: Harness | undefined;
let extra: GatewayInstance | undefined;
let extraUpstream: FakeUpstream | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (extra) {
    extra.server.closeAllConnections();
    await extra.close();
    extra = undefined;
  }
  await extraUpstream?.close();
  extraUpstream = undefined;
});

describe.each(LANES)('circuit breaker fairness (%s lane)', (lane) => {
  async function start(env: Record<string, string> = {}): Promise<Harness> {
    harness = await Harness.start({ lane, upstream: UPSTREAM, env: { ...BREAKER_ENV, ...env } });
    return harness;
  }

  const ask = (h: Harness, caller: Caller, id: string) => h.query<{ execution: { id: string } | null }>(ONE, { id }, { authorization: auth(caller) });

  /** A healthy answer for this id. */
  function expectServed(response: GraphQLResponse<{ execution: { id: string } | null }>, id: string): void {
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ execution: { id, status: 'WORKFLOW_SUCCEEDED' } });
  }

  const opened = (h: Harness) => h.logs.some((line) => line.msg === OPENED);
  const failEverywhere = (h: Harness, fault: Fault | undefined) => {
    for (const id of ALL_IDS) h.upstream.setFault(id, fault);
  };

  /** Each caller asks for its first `perCaller` ids, round robin: failures spread over ids and callers. */
  async function spreadTraffic(h: Harness, perCaller: number) {
    const responses = [];
    for (let i = 0; i < perCaller; i++) {
      for (const caller of CALLERS) responses.push(await ask(h, caller, idsOf(caller)[i]!));
    }
    return responses;
  }

  /** Open: fails fast, whoever asks for whatever, without calling upstream. */
  async function expectFailingFast(h: Harness): Promise<void> {
    const before = h.upstream.requests.length;
    for (const caller of CALLERS) {
      const response = await ask(h, caller, idsOf(caller)[5]!);
      expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(response.errors![0]!.message).toMatch(FAILING_FAST);
    }
    expect(h.upstream.requests).toHaveLength(before);
  }

  describe('failures concentrated on one caller or one id never open the circuit', () => {
    /**
     * Caller a asks for `id` `times` times, one after the other (concurrent asks
     * would share one upstream call), while b and c keep asking for their own
     * ids; every answer of theirs must be served.
     */
    async function hammerWhileOthersAsk(h: Harness, id: string, times: number) {
      let hammering = true;
      const hammer = (async () => {
        const responses = [];
        for (let i = 0; i < times; i++) responses.push(await ask(h, 'a', id));
        hammering = false;
        return responses;
      })();
      let served = 0;
      try {
        while (hammering) {
          for (const caller of ['b', 'c'] as const) {
            for (const other of idsOf(caller)) {
              expectServed(await ask(h, caller, other), other);
              served++;
            }
          }
        }
      } catch (error) {
        // Not left running against a harness the test is about to close.
        await hammer.catch(() => undefined);
        throw error;
      }
      // a's other ids are fine too.
      expectServed(await ask(h, 'a', 'ex_a_2'), 'ex_a_2');
      expect(served).toBeGreaterThan(0);
      return hammer;
    }

    it('one caller hammering an id answered with 500 leaves everyone else served', async () => {
      const h = await start();
      h.upstream.setFault('ex_a_1', { kind: 'status', status: 500 });
      const hammering = await hammerWhileOthersAsk(h, 'ex_a_1', 20);
      for (const response of hammering) {
        // Upstream's own answer, every time: never the open circuit's.
        expect(response.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 500 });
      }
      // Every one of the 20 calls reached upstream: the circuit never opened.
      expect(h.upstream.requestsFor('ex_a_1')).toHaveLength(20);
      expect(opened(h)).toBe(false);
    });

    it('hammering adds no weight to a few scattered failures of others', async () => {
      const h = await start();
      // Four of b's ids fail, each asked once: four ids, one caller, nowhere near an outage.
      const scattered = idsOf('b').slice(8);
      for (const id of scattered) h.upstream.setFault(id, { kind: 'status', status: 500 });
      for (const id of scattered) expect(codes(await ask(h, 'b', id))).toEqual(['UPSTREAM_UNAVAILABLE']);
      // Caller a hammering its own broken id makes 5 ids and 2 callers, but each (caller, id) counts once.
      h.upstream.setFault('ex_a_1', { kind: 'status', status: 500 });
      for (let i = 0; i < 20; i++) await ask(h, 'a', 'ex_a_1');
      for (const id of idsOf('b').slice(0, 8)) expectServed(await ask(h, 'b', id), id);
      expectServed(await ask(h, 'c', 'ex_c_1'), 'ex_c_1');
      expect(h.upstream.requestsFor('ex_a_1')).toHaveLength(20);
      expect(opened(h)).toBe(false);
    });

    it('one caller whose id always times out (a huge body) leaves everyone else served', async () => {
      // One attempt of 1 s: the others' answers must come within it too, on a loaded machine (at 500 ms, one of theirs
      // passed it once in a whole-suite run, with the suite's other files beside it).
      const h = await start({ UPSTREAM_TIMEOUT_MS: '1000', UPSTREAM_MAX_ATTEMPTS: '1' });
      h.upstream.setFault('ex_a_1', { kind: 'hang' });
      const hammering = await hammerWhileOthersAsk(h, 'ex_a_1', 8);
      for (const response of hammering) expect(codes(response)).toEqual(['UPSTREAM_TIMEOUT']);
      expect(h.upstream.requestsFor('ex_a_1')).toHaveLength(8);
      expect(opened(h)).toBe(false);
    });

    it('one caller failing on all its ids (a per-token 429, say) does not open it for others', async () => {
      const h = await start({ UPSTREAM_MAX_ATTEMPTS: '1' });
      // The fake rate-limits every id of caller a: 12 ids, one caller.
      for (const id of idsOf('a')) h.upstream.setFault(id, { kind: 'status', status: 429 });
      for (let round = 0; round < 2; round++) {
        for (const id of idsOf('a')) {
          const response = await ask(h, 'a', id);
          expect(response.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 429 });
        }
        for (const id of idsOf('b')) expectServed(await ask(h, 'b', id), id);
      }
      expect(h.upstream.requests.filter((request) => request.path.startsWith('/v1/executions/ex_a_'))).toHaveLength(24);
      expect(opened(h)).toBe(false);
    });

    it('one caller rate-limited on all its ids plus another caller\'s one broken id do not open it for a third', async () => {
      const h = await start({ UPSTREAM_MAX_ATTEMPTS: '1' });
      for (const id of idsOf('a')) h.upstream.setFault(id, { kind: 'status', status: 429 });
      h.upstream.setFault('ex_b_12', { kind: 'status', status: 500 });
      for (const id of idsOf('b').slice(0, 4)) expectServed(await ask(h, 'b', id), id);
      for (const id of idsOf('c').slice(0, 4)) expectServed(await ask(h, 'c', id), id);
      // a's dashboard: 12 failing pairs, one caller; then b's one broken id: a second caller with one failure.
      for (const id of idsOf('a')) expect(codes(await ask(h, 'a', id))).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect((await ask(h, 'b', 'ex_b_12')).errors![0]!.extensions).toMatchObject({ upstreamStatus: 500 });
      for (const id of idsOf('c')) expectServed(await ask(h, 'c', id), id);
      expect(opened(h)).toBe(false);
    });

    it('one id failing for every caller does not open it for other ids', async () => {
      const h = await start();
      // Upstream fails on this one id, for everyone who asks: 12 callers, one id.
      h.upstream.setFault('ex_a_1', { kind: 'status', status: 500 });
      for (let round = 0; round < 2; round++) {
        for (const authorization of COLLEAGUES) {
          const response = await h.query(ONE, { id: 'ex_a_1' }, { authorization });
          expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
        }
      }
      for (const authorization of COLLEAGUES) expectServed(await h.query(ONE, { id: 'ex_a_2' }, { authorization }), 'ex_a_2');
      for (const caller of CALLERS) expectServed(await ask(h, caller, idsOf(caller)[1]!), idsOf(caller)[1]!);
      expect(h.upstream.requestsFor('ex_a_1')).toHaveLength(24);
      expect(opened(h)).toBe(false);
    });
  });

  describe('an outage across ids and callers opens the circuit, and it recovers by itself', () => {
    it.each([500, 503, 429])('HTTP %i on every id', async (status) => {
      const h = await start();
      failEverywhere(h, { kind: 'status', status });
      // 3 callers × 4 ids: the 10th failing (caller, id) pair opens it.
      const responses = await spreadTraffic(h, 4);
      for (const response of responses) expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(responses.slice(0, 9).every((response) => response.errors![0]!.extensions!.upstreamStatus === status)).toBe(true);
      expect(responses.slice(10).every((response) => FAILING_FAST.test(response.errors![0]!.message))).toBe(true);
      expect(opened(h)).toBe(true);
      await expectFailingFast(h);

      // Upstream recovers; after the half-open time the first call probes, and then all are served.
      failEverywhere(h, undefined);
      await pause(HALF_OPEN_MS + 50);
      for (const caller of CALLERS) {
        for (const id of idsOf(caller).slice(0, 3)) expectServed(await ask(h, caller, id), id);
      }
      expect(h.logs.some((line) => line.msg === CLOSED)).toBe(true);
    });

    it('timeouts on every id', async () => {
      // Long enough that all 12 calls are in flight before the first times out, on a loaded machine too.
      const h = await start({ UPSTREAM_TIMEOUT_MS: '1000' });
      failEverywhere(h, { kind: 'hang' });
      const responses = await Promise.all(CALLERS.flatMap((caller) => idsOf(caller).slice(0, 4).map((id) => ask(h, caller, id))));
      for (const response of responses) expect(codes(response)).toEqual(['UPSTREAM_TIMEOUT']);
      expect(h.upstream.requests).toHaveLength(12);
      expect(opened(h)).toBe(true);
      await expectFailingFast(h);

      failEverywhere(h, undefined);
      await pause(HALF_OPEN_MS + 50);
      for (const caller of CALLERS) expectServed(await ask(h, caller, idsOf(caller)[0]!), idsOf(caller)[0]!);
      expect(h.logs.some((line) => line.msg === CLOSED)).toBe(true);
    });

    it('half-open against a hanging upstream: the probe alone reaches upstream, every other call is refused at once', async () => {
      // Waiting for the probe would take the whole attempt deadline; a refusal takes far less, on a loaded machine too.
      const TIMEOUT_MS = 3_000;
      const h = await start({ UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) });
      failEverywhere(h, { kind: 'hang' });
      await Promise.all(CALLERS.flatMap((caller) => idsOf(caller).slice(0, 4).map((id) => ask(h, caller, id))));
      expect(opened(h)).toBe(true);

      // Still hanging when it half-opens: many callers ask at once, each for other ids.
      await pause(HALF_OPEN_MS + 50);
      const before = h.upstream.requests.length;
      const timed = async (caller: Caller, id: string) => {
        const response = await ask(h, caller, id);
        return { response, at: performance.now() };
      };
      const answers = await Promise.all(CALLERS.flatMap((caller) => idsOf(caller).slice(4).map((id) => timed(caller, id))));
      expect(h.upstream.requests.length - before).toBe(1);
      const probe = answers.filter(({ response }) => codes(response)[0] === 'UPSTREAM_TIMEOUT');
      const refused = answers.filter(({ response }) => FAILING_FAST.test(response.errors?.[0]?.message ?? ''));
      expect(probe).toHaveLength(1);
      expect(refused).toHaveLength(answers.length - 1);
      // Refused well before the probe's answer, which waited out the deadline: a call held until the probe ends is
      // answered with it. (Timed from each request's start, a refusal among them took 1.4 s on a busy machine;
      // counted back from the probe's answer, a slow machine slows both sides.)
      const probedAt = probe[0]!.at;
      for (const { response, at } of refused) {
        expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
        expect(probedAt - at, `refused ${Math.round(probedAt - at)} ms before the probe's answer`).toBeGreaterThan(TIMEOUT_MS / 3);
      }
    });

    it('a probe failing on one caller\'s broken id does not keep the circuit open after the outage ends', async () => {
      const h = await start({ UPSTREAM_MAX_ATTEMPTS: '1' });
      failEverywhere(h, { kind: 'status', status: 500 });
      await spreadTraffic(h, 4);
      expect(opened(h)).toBe(true);

      // The outage is over, but for one id of caller a, who keeps asking for it.
      failEverywhere(h, undefined);
      h.upstream.setFault('ex_a_1', { kind: 'status', status: 500 });
      await pause(HALF_OPEN_MS + 50);
      const probe = await ask(h, 'a', 'ex_a_1');
      expect(probe.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 500 });
      for (let i = 0; i < 10; i++) await ask(h, 'a', 'ex_a_1');
      for (const caller of CALLERS) {
        for (const id of idsOf(caller).slice(1)) expectServed(await ask(h, caller, id), id);
      }
      expect(h.upstream.requestsFor('ex_a_1').length).toBe(1 + 1 + 10);
    });
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(LANES)('an upstream that refuses connections (%s lane)', (lane: LaneName) => {
  it('opens the circuit, confirms the outage with one probe, and recovers by itself once upstream is back', async () => {
    const port = await closedPort();
    const config = readConfig({
      ...BREAKER_ENV,
      FAST_LANE: String(lane === 'fast'),
      // One attempt per call, so each answer tells what that attempt met.
      UPSTREAM_MAX_ATTEMPTS: '1',
      UPSTREAM_RETRY_BASE_DELAY_MS: '2',
      UPSTREAM_RETRY_MAX_DELAY_MS: '10',
      TERMINAL_CACHE_TTL_MS: '0',
    });
    const log = captureLog('info');
    extra = createInstance(config, { upstreamUrl: `http://127.0.0.1:${port}`, logger: log.logger });
    const url = `http://127.0.0.1:${await extra.listen(0, '127.0.0.1')}/graphql`;
    const ask = async (caller: Caller, id: string) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth(caller) },
        body: JSON.stringify({ query: ONE, variables: { id } }),
      });
      return (await response.json()) as GraphQLResponse<{ execution: { id: string } | null }>;
    };

    // One caller, one id, yet refusals are no request's fault: 10 in a row open the circuit.
    const messages: string[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await ask('a', 'ex_a_1');
      expect(codes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      messages.push(response.errors![0]!.message);
    }
    expect(messages.slice(0, 10)).toEqual(Array(10).fill('The executions API could not be reached; retry shortly.'));
    expect(messages[10]).toMatch(FAILING_FAST);
    expect(messages[11]).toMatch(FAILING_FAST);
    expect(log.lines.some((line) => line.msg === OPENED)).toBe(true);

    // Half-open while upstream is still down: the probe is refused, the circuit opens again at once.
    await pause(HALF_OPEN_MS + 50);
    expect((await ask('b', 'ex_b_1')).errors![0]!.message).toBe('The executions API could not be reached; retry shortly.');
    expect((await ask('c', 'ex_c_1')).errors![0]!.message).toMatch(FAILING_FAST);

    // Upstream comes back on that port; after the half-open time calls are served, with no restart.
    extraUpstream = await FakeUpstream.start({ ...UPSTREAM, port });
    await pause(HALF_OPEN_MS + 50);
    for (const caller of CALLERS) {
      const response = await ask(caller, idsOf(caller)[0]!);
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ execution: { id: idsOf(caller)[0], status: 'WORKFLOW_SUCCEEDED' } });
    }
    expect(extraUpstream.requests).toHaveLength(3);
    expect(log.lines.some((line) => line.msg === CLOSED)).toBe(true);
  });
});

describe.each(LANES)('each caller\'s share of the bulkhead (%s lane)', (lane: LaneName) => {
  it('a caller flooding upstream with batch lookups takes at most UPSTREAM_MAX_CONCURRENT_PER_CALLER slots; another caller is served meanwhile', async () => {
    harness = await Harness.start({
      lane,
      upstream: UPSTREAM,
      env: { UPSTREAM_MAX_CONCURRENT: '4', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '2', UPSTREAM_QUEUE: '100', TERMINAL_CACHE_TTL_MS: '0', REQUEST_BUDGET_MS: '20000' },
    });
    const h = harness;
    // Without the share, b waits for the first of a's calls to end (1,400 ms); with it, a request's own time. Six ids,
    // more than the four slots, so that without the share a would hold them all: twelve took 9 s, two at a time.
    const flooded = idsOf('a').slice(0, 6);
    for (const id of flooded) h.upstream.setFault(id, { kind: 'slow', ms: 1_500 });
    const flood = [0, 1, 2].map(() =>
      h.query<{ executions: Array<{ id: string } | null> }>(`{ executions(ids: ${JSON.stringify(flooded)}) { id } }`, undefined, { authorization: auth('a') }),
    );
    // Waited for, not slept on: a busy machine may take longer than a fixed pause to start a's calls, and b then met
    // free slots whatever the share.
    await waitFor(() => h.upstream.inFlight === 2 && h.instance.client.policies.waitingInShares > 0, () => `a's share full, the rest waiting; ${h.upstream.inFlight} in flight`);
    // a holds 2 of the 4 slots, the rest of its calls waiting apart: b gets a slot at once.
    const started = performance.now();
    const fromB = await h.query<{ execution: { id: string } | null }>(ONE, { id: 'ex_b_1' }, { authorization: auth('b') });
    expect(fromB.errors).toBeUndefined();
    expect(fromB.data?.execution?.id).toBe('ex_b_1');
    // Before the share, b waited behind a's calls: a slot frees only every 1,500 ms. The bound leaves a busy machine
    // room (450 ms against 600 ms calls failed once, at 520 ms, beside other jobs on both cores).
    expect(performance.now() - started).toBeLessThan(900);
    // Every call of a's was made, at most two at a time.
    for (const answer of await Promise.all(flood)) expect(answer.data?.executions.map((each) => each?.id)).toEqual(flooded);
    expect(h.upstream.maxInFlight).toBeLessThanOrEqual(3);
  }, 30_000);

  it('a caller whose calls hang up to its whole share leaves no other caller waiting for a socket, and the circuit stays closed (default pool, share and breaker)', async () => {
    // The production defaults of the bulkhead (256), the share (64), the pool (unset) and the breaker; a short attempt deadline.
    const TIMEOUT_MS = 2_000;
    harness = await Harness.start({ lane, upstream: UPSTREAM, env: { ...BREAKER_ENV, UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), UPSTREAM_CONNECTIONS: '' } });
    const h = harness;
    const ask = (caller: Caller, id: string) => h.query<{ execution: { id: string } | null }>(ONE, { id }, { authorization: auth(caller) });
    const expectServed = (response: GraphQLResponse<{ execution: { id: string } | null }>, id: string) => {
      expect(response.errors).toBeUndefined();
      expect(response.data?.execution?.id).toBe(id);
    };
    // 70 ids of a's that upstream never answers: 64 calls hang in a's share, 6 wait behind them.
    const hanging = Array.from({ length: 70 }, (_, i) => `ex_hang_${i + 1}`);
    for (const id of hanging) h.upstream.setFault(id, { kind: 'hang' });
    const flood = Array.from({ length: 7 }, (_, i) =>
      h.query(`{ executions(ids: ${JSON.stringify(hanging.slice(i * 10, i * 10 + 10))}) { id } }`, undefined, { authorization: auth('a') }),
    );
    const deadline = performance.now() + 5_000;
    while (h.upstream.inFlight < 64 && performance.now() < deadline) await pause(10);
    expect(h.upstream.inFlight).toBe(64);
    // b is answered at once: its call gets a socket of its own instead of queueing behind a's (then timing out there).
    const started = performance.now();
    expectServed(await ask('b', 'ex_b_1'), 'ex_b_1');
    expect(performance.now() - started).toBeLessThan(TIMEOUT_MS / 4);
    // a's 64 calls time out: one caller's failures, so the circuit stays closed and b is still served.
    await Promise.all(flood);
    expectServed(await ask('b', 'ex_b_2'), 'ex_b_2');
    expectServed(await ask('c', 'ex_c_1'), 'ex_c_1');
    expect(h.logs.some((line) => line.msg === OPENED)).toBe(false);
  }, 30_000);

  it('past its share and its queue, a caller\'s call is refused at once with UPSTREAM_UNAVAILABLE, saying why', async () => {
    harness = await Harness.start({ lane, upstream: UPSTREAM, env: { UPSTREAM_MAX_CONCURRENT: '4', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1', UPSTREAM_QUEUE: '0', TERMINAL_CACHE_TTL_MS: '0' } });
    const h = harness;
    for (const id of idsOf('a')) h.upstream.setFault(id, { kind: 'slow', ms: 200 });
    const answer = await h.query<{ executions: Array<{ id: string } | null> }>(`{ executions(ids: ${JSON.stringify(idsOf('a').slice(0, 3))}) { id } }`, undefined, { authorization: auth('a') });
    expect(answer.data?.executions.filter((each) => each !== null)).toHaveLength(1);
    expect(codes(answer)).toEqual(['UPSTREAM_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE']);
    for (const error of answer.errors!) expect(error.message).toBe("This caller has 1 call to the executions API running and the gateway's queue is full; retry once it has finished.");
    expect(h.upstream.requests).toHaveLength(1);
  });

  it('a request that left gives up its place in the queue: the caller\'s next call waits instead of being refused', async () => {
    harness = await Harness.start({ lane, upstream: UPSTREAM, env: { UPSTREAM_MAX_CONCURRENT: '4', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1', UPSTREAM_QUEUE: '1', TERMINAL_CACHE_TTL_MS: '0' } });
    const h = harness;
    h.upstream.setFault('ex_a_1', { kind: 'slow', ms: 800 });
    const running = h.query(ONE, { id: 'ex_a_1' }, { authorization: auth('a') });
    const policies = h.instance.client.policies;
    // Conditions, not pauses: a loaded machine may take longer than 100 ms to start a call, or to hear a client left
    // (the next call was then refused, the queue's one place still taken).
    await waitFor(() => h.upstream.requestsFor('ex_a_1').length === 1, "a's first call to reach upstream");
    // The next call of a's waits in the queue's one place; its client leaves.
    const controller = new AbortController();
    const leaving = h
      .fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth('a') }, body: JSON.stringify({ query: ONE, variables: { id: 'ex_a_2' } }), signal: controller.signal })
      .catch(() => undefined);
    await waitFor(() => policies.waitingInShares === 1, "a's next call to wait in the queue");
    controller.abort();
    await leaving;
    await waitFor(() => policies.waitingInShares === 0, 'the call whose client left to give up its place');
    // Its place is free: this one waits, then is served.
    const waiting = await h.query<{ execution: { id: string } | null }>(ONE, { id: 'ex_a_3' }, { authorization: auth('a') });
    expect(waiting.errors).toBeUndefined();
    expect(waiting.data?.execution?.id).toBe('ex_a_3');
    expect((await running).errors).toBeUndefined();
    // The call whose client left never reached upstream.
    expect(h.upstream.requestsFor('ex_a_2')).toHaveLength(0);
  });

  it('a live poll never waits in its caller\'s share: the caller\'s watch is served while its queries hold the share', async () => {
    harness = await Harness.start({ lane, upstream: UPSTREAM, env: { UPSTREAM_MAX_CONCURRENT: '4', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1', UPSTREAM_QUEUE: '10', TERMINAL_CACHE_TTL_MS: '0' } });
    const h = harness;
    h.upstream.setFault('ex_a_1', { kind: 'slow', ms: 2_500 });
    const running = h.query(ONE, { id: 'ex_a_1' }, { authorization: auth('a') });
    // a's one slot taken before the watch starts (a fixed pause could pass before it was, and test nothing).
    await waitFor(() => h.upstream.requestsFor('ex_a_1').length === 1, "a's query to reach upstream");
    const started = performance.now();
    const { results } = await sendOver(h, 'SSE (POST)', 'subscription { executionUpdates(id: "ex_a_2") { isFinal } }', { authorization: auth('a') });
    expect(results).toEqual([{ data: { executionUpdates: { isFinal: true } } }]);
    // Waiting in the share, the poll would have come after a's call, 2.4 s later.
    expect(performance.now() - started).toBeLessThan(1_500);
    expect((await running).errors).toBeUndefined();
  });
});

/**
 * A listener in a stopped process, its accept queue full: the kernel answers no
 * more SYNs, so a connect to it never completes (what a blackholed upstream or
 * a saturated one looks like). Resolves with its port and a way to end it.
 */
async function stalledListener(): Promise<{ port: number; close(): void }> {
  const child = spawn(process.execPath, ['-e', "const s = require('node:net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(s.address().port))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(Number(String(chunk).trim()))));
  child.kill('SIGSTOP');
  const fillers: Socket[] = [];
  // Until a connect stalls: then the queue is full.
  for (let i = 0; i < 20; i++) {
    const socket = connect(port, '127.0.0.1');
    fillers.push(socket);
    const connected = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
      setTimeout(() => resolve(false), 300);
    });
    if (!connected) break;
  }
  return {
    port,
    close() {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}

describe.each(LANES)('an upstream whose connections never complete (%s lane)', (lane: LaneName) => {
  it('answers UPSTREAM_TIMEOUT at the attempt deadline, and a client that leaves frees its bulkhead slot at once', async () => {
    const listener = await stalledListener();
    try {
      const config = readConfig({
        FAST_LANE: String(lane === 'fast'),
        UPSTREAM_TIMEOUT_MS: '500',
        UPSTREAM_MAX_ATTEMPTS: '1',
        UPSTREAM_MAX_CONCURRENT: '1',
        UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1',
        UPSTREAM_QUEUE: '0',
        TERMINAL_CACHE_TTL_MS: '0',
      });
      extra = createInstance(config, { upstreamUrl: `http://127.0.0.1:${listener.port}`, logger: createLogger('silent') });
      const url = `http://127.0.0.1:${await extra.listen(0, '127.0.0.1')}/graphql`;
      const ask = (caller: Caller, signal?: AbortSignal) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth(caller) },
          body: JSON.stringify({ query: ONE, variables: { id: `ex_${caller}_1` } }),
          ...(signal ? { signal } : {}),
        }).then((response) => response.json() as Promise<GraphQLResponse<{ execution: unknown }>>);

      // undici alone would wait 10 s for the connect.
      const started = performance.now();
      const timedOut = await ask('a');
      expect(codes(timedOut)).toEqual(['UPSTREAM_TIMEOUT']);
      expect(performance.now() - started).toBeLessThan(3_000);

      // A client that leaves while its call connects gives its slot back: the next caller's call runs (and times out), not refused as over the bulkhead.
      const leaving = new AbortController();
      const left = ask('b', leaving.signal).catch(() => 'left');
      await pause(100);
      leaving.abort();
      await left;
      await pause(50);
      const next = await ask('c');
      expect(codes(next)).toEqual(['UPSTREAM_TIMEOUT']);
    } finally {
      listener.close();
    }
  });
});
