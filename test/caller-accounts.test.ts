/**
 * One token is one caller, however its Authorization header spells the scheme
 * (src/request/caller-account.ts): `Bearer x`, `bearer x` and `Bearer   x`
 * are the same credentials to an upstream that reads them as RFC 9110 §11.1
 * and RFC 6750 §2.1 say (the fake upstream's `anySchemeSpelling`). The bounds
 * and judgements kept per caller (live subscriptions, a Retry-After pause, whose
 * failures open the circuit) count that token once; what is shared between
 * requests stays keyed by the exact header upstream is sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { accountOf } from '../src/request/caller-account.js';
import { Caller } from '../src/request/scope.js';
import { codes, Harness, LANES, type LaneName } from './support/harness.js';
import { AUTH_A, AUTH_A2, AUTH_B, liveEnv, sseClient, TOKENS, watch, waitFor } from './support/live.js';

/** Ten running executions of org_a, one of org_b. */
const IDS_A = Array.from({ length: 10 }, (_, i) => `ex_acct_${i}`);
const EXECUTIONS = [...IDS_A.map((id) => makeExecution({ id, status: 'workflow_running', organizationId: 'org_a' })), makeExecution({ id: 'ex_acct_b', status: 'workflow_running', organizationId: 'org_b' })];
const MANY = `query($ids: [ID!]!) { executions(ids: $ids) { id } }`;
const ONE = `query($id: ID!) { execution(id: $id) { id } }`;

/** `Bearer token-a` spelt as the RFCs allow. */
const SPELLINGS_A = ['bearer token-a', 'BEARER token-a', 'Bearer   token-a', 'bEaReR\ttoken-a'];

describe('accountOf', () => {
  it('reads the scheme in any case and any run of spaces before the credentials, which keep their case', () => {
    for (const spelling of SPELLINGS_A) expect(accountOf(spelling)).toBe('bearer token-a');
    expect(accountOf(AUTH_A)).toBe('bearer token-a');
    expect(accountOf('Bearer Token-A')).toBe('bearer Token-A');
    expect(accountOf('Bearer token-a2')).not.toBe(accountOf(AUTH_A));
    expect(accountOf('Basic dXNlcjpwYXNz')).toBe('basic dXNlcjpwYXNz');
    expect(accountOf('token-a')).toBe('token-a');
    expect(accountOf('Token-A')).toBe('Token-A');
  });

  it('reads `Bearer` with no token, in any case, as one caller', () => {
    for (const spelling of ['Bearer', 'bearer', 'BEARER ', ' bEaReR']) expect(accountOf(spelling)).toBe('bearer');
  });

  it('merges the accounting only: the key shared data is kept under stays the exact header', () => {
    const [exact, lower] = [new Caller(AUTH_A), new Caller('bearer token-a')];
    expect(lower.accountKey).toBe(exact.accountKey);
    expect(lower.key).not.toBe(exact.key);
    expect(new Caller(AUTH_B).accountKey).not.toBe(exact.accountKey);
  });
});

describe.each(LANES)('one token spelt several ways (%s lane)', (lane: LaneName) => {
  let harness: Harness | undefined;
  const start = async (env: Record<string, string>) =>
    (harness = await Harness.start({ lane, env: liveEnv(env), upstream: { tokens: TOKENS, anySchemeSpelling: true, executions: EXECUTIONS } }));
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('holds at most LIVE_MAX_SUBSCRIPTIONS_PER_CALLER live subscriptions over all its spellings', async () => {
    const h = await start({ LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '2' });
    const admitted = [watch(sseClient(h, AUTH_A), IDS_A[0]!), watch(sseClient(h, SPELLINGS_A[0]), IDS_A[1]!)];
    for (const each of admitted) await each.received(1);
    expect(admitted.map((each) => each.errorCodes)).toEqual([[], []]);
    const refused = SPELLINGS_A.slice(1).map((spelling, i) => watch(sseClient(h, spelling), IDS_A[2 + i]!));
    for (const each of refused) await each.end();
    expect(refused.map((each) => each.errorCodes)).toEqual(refused.map(() => ['TOO_MANY_SUBSCRIPTIONS']));
    // Another token is another caller.
    const other = watch(sseClient(h, AUTH_B), 'ex_acct_b');
    await other.received(1);
    expect(other.errorCodes).toEqual([]);
    for (const each of [...admitted, other]) each.stop();
  });

  it("a 429's Retry-After pauses the token in every spelling", async () => {
    const h = await start({});
    h.upstream.setFault(IDS_A[0]!, { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    expect(codes(await h.query(ONE, { id: IDS_A[0] }, { authorization: AUTH_A }))).toEqual(['UPSTREAM_UNAVAILABLE']);
    for (const spelling of SPELLINGS_A) {
      const paused = await h.query(ONE, { id: IDS_A[1] }, { authorization: spelling });
      expect(paused.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
      expect(paused.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(25_000);
    }
    expect(h.upstream.requestsFor(IDS_A[1]!)).toHaveLength(0);
    // Another caller is not paused.
    expect(codes(await h.query(ONE, { id: 'ex_acct_b' }, { authorization: AUTH_B }))).toEqual([]);
  });

  it("its own failures, sent in two spellings, are one caller's: the circuit stays closed for everyone else", async () => {
    const h = await start({ UPSTREAM_BREAKER_THRESHOLD: '10', UPSTREAM_MAX_ATTEMPTS: '1' });
    for (const id of IDS_A) h.upstream.setFault(id, { kind: 'status', status: 500 });
    for (const authorization of [AUTH_A, SPELLINGS_A[0]!, SPELLINGS_A[2]!]) {
      expect(new Set(codes(await h.query(MANY, { ids: IDS_A }, { authorization })))).toEqual(new Set(['UPSTREAM_UNAVAILABLE']));
    }
    expect(codes(await h.query(ONE, { id: 'ex_acct_b' }, { authorization: AUTH_B }))).toEqual([]);
    expect(await (await h.fetch('/ready')).json()).toMatchObject({ upstream: { circuit: 'closed' } });
    // A second token of the tenant is a second caller (README "Upstream faults"): the same failures then open it.
    await h.query(MANY, { ids: IDS_A }, { authorization: AUTH_A2 });
    await waitFor(() => h.logs.some((line) => line.msg === 'upstream circuit opened: failing fast'), 'the circuit to open');
  });
});
