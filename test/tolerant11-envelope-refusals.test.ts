/**
 * A refusal of the token that upstream writes in a 200's envelope (`{"code": 401}`, `403`, `429`), which the gateway
 * maps like the HTTP status (README "When upstream data is odd"), counts as that refusal for the caller too: until
 * upstream has once answered a caller without refusing its token, the caller has one call in flight, and its 429s count
 * toward UPSTREAM_BREAKER_MIN_CALLERS as one caller with every other such (README UPSTREAM_REFUSED_TOKEN_MS). The 200's
 * head proved the caller before its envelope was read: a made-up token refused in the envelope made one call per id,
 * and three made-up tokens rate-limited in the envelope opened the circuit for everyone. Against a real upstream on
 * loopback; what upstream was asked is what is asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION } from '../src/demo/demo-data.js';
import { Harness } from './support/harness.js';

const REMEMBERED = { UPSTREAM_REFUSED_TOKEN_MS: '5000' };
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

describe('a token refused in a 200 envelope', () => {
  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
  ])('costs upstream one call for a request of 20 ids (envelope code %i)', async (code, expected) => {
    harness = await Harness.start({ env: REMEMBERED, upstream: { latencyMs: 50 } });
    const ids = Array.from({ length: 20 }, (_, i) => `ex_enveloped_${code}_${i}`);
    envelopeRefusal(ids, code);
    const response = await harness.query(MANY, { ids }, { authorization: 'Bearer made-up-enveloped' });
    expect(codes(response)).toEqual(ids.map(() => expected));
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('counts the envelope 429s of callers it never accepted as one caller: three such tokens do not open the circuit', async () => {
    const TOKENS = Object.fromEntries(['tok-a', 'tok-b', 'tok-c', 'tok-d'].map((token) => [token, DEMO_ORGANIZATION]));
    const BREAKER = { ...REMEMBERED, UPSTREAM_BREAKER_THRESHOLD: '5', UPSTREAM_BREAKER_MIN_IDS: '5', UPSTREAM_BREAKER_MIN_CALLERS: '2', UPSTREAM_MAX_ATTEMPTS: '1' };
    harness = await Harness.start({ env: BREAKER, upstream: { tokens: TOKENS } });
    const ids = Array.from({ length: 5 }, (_, i) => `ex_demo_${i + 1}`);
    envelopeRefusal(ids, 429);
    for (const token of ['tok-a', 'tok-b', 'tok-c']) await harness.query(MANY, { ids }, { authorization: `Bearer ${token}` });
    expect(harness.upstream.requests).toHaveLength(15);
    expect(harness.logs.some((line) => line.msg === 'upstream circuit opened: failing fast')).toBe(false);
    for (const id of ids) harness.upstream.setFault(id, undefined);
    expect((await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'Bearer tok-d' })).errors).toBeUndefined();
  });
});
