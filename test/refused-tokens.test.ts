/**
 * Tokens upstream refuses (UPSTREAM_REFUSED_TOKEN_MS): a made-up token costs upstream one call, not one per id,
 * and a token upstream refused is answered by the gateway for a while, with the same code, without asking again.
 * A refusal upstream writes in a 200's envelope (`{"code": 401}`, `403`, `429`), which the gateway maps like the HTTP
 * status (README "When upstream data is odd"), counts as that refusal for the caller too: the 200's head proved the
 * caller before its envelope was read, so a made-up token refused in the envelope made one call per id, and three
 * made-up tokens rate-limited in the envelope opened the circuit for everyone.
 * Against a real upstream on loopback; what upstream was asked is what is asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';

/** The default, over the harness's 0. */
const REMEMBERED = { UPSTREAM_REFUSED_TOKEN_MS: '5000' };
const IDS = Array.from({ length: 100 }, (_, i) => `ex_made_up_${i}`);
const MANY = `query Many($ids: [ID!]!) { executions(ids: $ids) { id } }`;
const ONE = `query One($id: ID!) { execution(id: $id) { id } }`;

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const codes = (response: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) => (response.errors ?? []).map((error) => error.extensions?.code);

/** Upstream's answer to every call for `ids`: HTTP 200 whose envelope carries `code`. */
function envelopeRefusal(ids: readonly string[], code: number): void {
  for (const id of ids) harness!.upstream.setFault(id, { kind: 'status', status: 200, body: JSON.stringify({ code, message: 'refused', requestId: `up-${code}` }), headers: { 'content-type': 'application/json' } });
}

/** Upstream's refusal `status` of every call for `ids`, in each way the gateway reads one: as the HTTP status, or in a 200's envelope. */
const REFUSAL_FORMS: ReadonlyArray<[string, (ids: readonly string[], status: number) => void]> = [
  ['as its HTTP status', (ids, status) => ids.forEach((id) => harness!.upstream.setFault(id, { kind: 'status', status }))],
  ["in a 200's envelope", envelopeRefusal],
];

describe('a token upstream refuses', () => {
  it('costs upstream one call for a request of 100 ids, each id answered UNAUTHENTICATED', async () => {
    harness = await Harness.start({ env: REMEMBERED });
    const response = await harness.query(MANY, { ids: IDS }, { authorization: 'Bearer made-up-1' });
    expect(harness.upstream.requests).toHaveLength(1);
    expect(codes(response)).toEqual(IDS.map(() => 'UNAUTHENTICATED'));
    const [first, ...rest] = response.errors!.map((error) => error.message);
    expect(first).toBe('The executions API did not accept the Authorization token: send a valid, unexpired token (sign in again for a new one).');
    for (const message of rest) expect(message).toMatch(/^The executions API did not accept the Authorization token: refused moments ago, so not asked again during the next [45](\.\d)? s; send a valid, unexpired token \(sign in again for a new one\)\.$/);
    for (const error of response.errors!) expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  const REFUSED_MS = 5_000;

  it('is answered without calling upstream until UPSTREAM_REFUSED_TOKEN_MS has passed, then asked once again', async () => {
    // 5 s, not 2: every query below must land within the window, and a loaded machine's stall of 2 s let one reach
    // upstream, as designed. The wait for its end is timed from the refusal, so the case is only 3 s longer.
    harness = await Harness.start({ env: { UPSTREAM_REFUSED_TOKEN_MS: String(REFUSED_MS), METRICS: 'api' } });
    const made = { authorization: 'Bearer made-up-2' };
    expect(codes(await harness.query(ONE, { id: 'ex_demo_1' }, made))).toEqual(['UNAUTHENTICATED']);
    const refused = performance.now();
    for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3']) {
      const again = await harness.query(ONE, { id }, made);
      expect(codes(again)).toEqual(['UNAUTHENTICATED']);
      expect(again.errors![0]!.message).toMatch(/: refused moments ago, so not asked again during the next (\d+(\.\d)? s|\d+ ms); send a valid, unexpired token \(sign in again for a new one\)\.$/);
    }
    expect(harness.upstream.requests).toHaveLength(1);
    expect(await harness.metricLines('gateway_upstream_refused_total')).toContain('gateway_upstream_refused_total{by="token_refused"} 3');
    // Another caller is untouched meanwhile.
    expect((await harness.query(ONE, { id: 'ex_demo_1' })).errors).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, refused + REFUSED_MS + 100 - performance.now()));
    expect(codes(await harness.query(ONE, { id: 'ex_demo_1' }, made))).toEqual(['UNAUTHENTICATED']);
    expect(harness.upstream.requests.filter((request) => request.headers.authorization === made.authorization)).toHaveLength(2);
  });

  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
  ])("refused in a 200's envelope, costs upstream one call for a request of 20 ids (envelope code %i)", async (code, expected) => {
    harness = await Harness.start({ env: REMEMBERED, upstream: { latencyMs: 50 } });
    const ids = Array.from({ length: 20 }, (_, i) => `ex_enveloped_${code}_${i}`);
    envelopeRefusal(ids, code);
    const response = await harness.query(MANY, { ids }, { authorization: 'Bearer made-up-enveloped' });
    expect(codes(response)).toEqual(ids.map(() => expected));
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('remembers a 403 as FORBIDDEN, for the token, whatever the id', async () => {
    harness = await Harness.start({ env: REMEMBERED });
    harness.upstream.setFault('ex_demo_1', { kind: 'status', status: 403, body: JSON.stringify({ code: 403, message: 'forbidden', requestId: 'up-403' }) });
    const first = await harness.query(ONE, { id: 'ex_demo_1' });
    expect(first.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', upstreamStatus: 403 });
    const other = await harness.query(ONE, { id: 'ex_demo_2' });
    expect(other.errors![0]!.message).toMatch(/^The token is valid but has no access to executions: refused moments ago, so not asked again during the next [45](\.\d)? s; use a token that is allowed to read executions\.$/);
    expect(other.errors![0]!.extensions).toMatchObject({ code: 'FORBIDDEN', upstreamStatus: 403 });
    expect(harness.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_demo_1']);
  });

  it('asks upstream for every id when UPSTREAM_REFUSED_TOKEN_MS is 0', async () => {
    harness = await Harness.start({ env: { UPSTREAM_REFUSED_TOKEN_MS: '0' } });
    const response = await harness.query(MANY, { ids: IDS.slice(0, 30) }, { authorization: 'Bearer made-up-3' });
    expect(codes(response)).toEqual(IDS.slice(0, 30).map(() => 'UNAUTHENTICATED'));
    expect(harness.upstream.requests).toHaveLength(30);
  });
});

describe('a caller upstream has not yet accepted', () => {
  const LATENCY_MS = 1_000;

  it('has one call in flight until upstream answers it, then its whole share, remembered for its next requests', async () => {
    // Upstream answers in 1 s, not 150 ms, and the calls after the first must start within 900 ms of each other, not
    // 140: they run in this process beside the fake upstream, and a loaded machine's stall past 140 ms spread calls
    // started together. One after another they still spread over 7 s, two at a time over 3 s.
    harness = await Harness.start({ env: REMEMBERED, upstream: { latencyMs: LATENCY_MS } });
    const ids = Array.from({ length: 8 }, (_, i) => `ex_demo_${i + 1}`);
    const first = await harness.query(MANY, { ids });
    expect(first.errors).toBeUndefined();
    const arrivals = harness.upstream.requests.map((request) => request.at);
    expect(arrivals).toHaveLength(ids.length);
    // The first call alone; the others together once it was answered (not one after another).
    const [probe, ...rest] = arrivals;
    for (const at of rest) expect(at - probe!).toBeGreaterThanOrEqual(LATENCY_MS - 10);
    expect(Math.max(...rest) - Math.min(...rest)).toBeLessThan(LATENCY_MS - 100);
    // Proven: its next request's calls all start at once.
    harness.upstream.reset();
    expect((await harness.query(MANY, { ids })).errors).toBeUndefined();
    const again = harness.upstream.requests.map((request) => request.at);
    expect(again).toHaveLength(ids.length);
    expect(Math.max(...again) - Math.min(...again)).toBeLessThan(LATENCY_MS - 100);
  });

  it('keeps the first call alone for a made-up token, so refused ids never reach upstream', async () => {
    harness = await Harness.start({ env: REMEMBERED, upstream: { latencyMs: 50 } });
    const response = await harness.query(MANY, { ids: IDS.slice(0, 20) }, { authorization: 'Bearer made-up-4' });
    expect(codes(response)).toEqual(IDS.slice(0, 20).map(() => 'UNAUTHENTICATED'));
    expect(harness.upstream.requests).toHaveLength(1);
    // The valid caller beside it is served in full.
    const valid = await harness.query(MANY, { ids: ['ex_demo_1', 'ex_demo_2'] }, { authorization: AUTH });
    expect(valid.errors).toBeUndefined();
  });
});

describe('the circuit breaker and callers upstream has not yet accepted', () => {
  const TOKENS = Object.fromEntries(['tok-a', 'tok-b', 'tok-c', 'tok-d'].map((token) => [token, DEMO_ORGANIZATION]));
  const BREAKER = { ...REMEMBERED, UPSTREAM_BREAKER_THRESHOLD: '5', UPSTREAM_BREAKER_MIN_IDS: '5', UPSTREAM_BREAKER_MIN_CALLERS: '2', UPSTREAM_MAX_ATTEMPTS: '1' };
  const ids = Array.from({ length: 5 }, (_, i) => `ex_demo_${i + 1}`);
  const opened = () => harness!.logs.some((line) => line.msg === 'upstream circuit opened: failing fast');

  it.each(REFUSAL_FORMS)('counts the 429s, %s, of callers it never accepted as one caller: three such tokens do not open it for everyone', async (_form, refuse) => {
    harness = await Harness.start({ env: BREAKER, upstream: { tokens: TOKENS } });
    refuse(ids, 429);
    for (const token of ['tok-a', 'tok-b', 'tok-c']) await harness.query(MANY, { ids }, { authorization: `Bearer ${token}` });
    expect(harness.upstream.requests).toHaveLength(15);
    expect(opened()).toBe(false);
    for (const id of ids) harness.upstream.setFault(id, undefined);
    expect((await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'Bearer tok-d' })).errors).toBeUndefined();
  });

  it('counts the 429s of callers it has accepted each as their own, and opens', async () => {
    harness = await Harness.start({ env: BREAKER, upstream: { tokens: TOKENS } });
    for (const token of ['tok-a', 'tok-b', 'tok-c']) expect((await harness.query(ONE, { id: 'ex_demo_6' }, { authorization: `Bearer ${token}` })).errors).toBeUndefined();
    for (const id of ids) harness.upstream.setFault(id, { kind: 'status', status: 429 });
    for (const token of ['tok-a', 'tok-b', 'tok-c']) await harness.query(MANY, { ids }, { authorization: `Bearer ${token}` });
    expect(opened()).toBe(true);
  });
});
