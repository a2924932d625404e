/**
 * Where suggestions are hidden (FIELD_SUGGESTIONS=false, the default with NODE_ENV=production), the "Did you mean
 * …?" hints graphql-js's executor puts in variable errors are stripped from each message
 * (src/pipeline/operation-limits.ts). graphql-js quotes the value a variable got, whole, and the expression that
 * stripped them scanned to the end of the message from every "Did you mean " with no `?` after it: a 62 KB string
 * of them given for an enum or an Int, with no token, held the process for 5 to 9 s, every other request waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, Harness, LANES } from './support/harness.js';

const ORDER = 'query($order: EventOrder) { execution(id: "ex_demo_1") { events(order: $order) { totalCount } } }';
const FIRST = 'query($first: Int) { execution(id: "ex_demo_1") { events(first: $first) { totalCount } } }';
const HINTS = 'Did you mean '.repeat(4_700);

describe.each(LANES)('suggestions hidden, a variable full of "Did you mean " (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { FIELD_SUGGESTIONS: 'false' } });
  });
  afterAll(() => harness.close());

  const post = (query: string, variables: Record<string, unknown>, authorization?: string) =>
    harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify({ query, variables }),
    });

  it('is refused at once, without a token or an upstream call, while another request is served beside it', async () => {
    const started = performance.now();
    const [order, first, served] = await Promise.all([
      post(ORDER, { order: HINTS }),
      post(FIRST, { first: ` ${HINTS}x` }),
      post('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_demo_1' }, AUTH),
    ]);
    const ms = performance.now() - started;
    for (const refused of [order, first]) {
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as ExecutionResult;
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(body.errors![0]!.message).toMatch(/^Variable "\$(order|first)" got invalid value " ?Did you mean Did you mean /);
    }
    expect(served.status).toBe(200);
    expect(await served.json()).toMatchObject({ data: { execution: { id: 'ex_demo_1' } } });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH]);
    // 14 to 15 s for the two before; some tens of milliseconds now. The bound leaves room for a busy machine.
    expect(ms).toBeLessThan(2_500);
  });

  it('still strips the hint from an enum value a letter off', async () => {
    const body = (await (await post(ORDER, { order: 'ASCE' })).json()) as ExecutionResult;
    expect(body.errors![0]!.message).toBe('Variable "$order" got invalid value "ASCE"; Value "ASCE" does not exist in "EventOrder" enum.');
  });
});
