/**
 * Two frontend mistakes with the Authorization header, each refused by upstream with a 401 that the gateway answered
 * "send a valid, unexpired token (sign in again for a new one)", which mends neither: the scheme written twice
 * (`Bearer Bearer <token>`: a token kept with its scheme, and code that adds one), and a token that is the text
 * `undefined` or `null` (a template literal whose variable was not set yet). Each is now told what to mend, on a
 * query, on the answer remembered (UPSTREAM_REFUSED_TOKEN_MS) and on a watch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { nextEvents } from './support/transports.js';

const ONE = 'query One($id: ID!) { execution(id: $id) { id } }';
const WHAT = 'The executions API did not accept the Authorization token';
const TWICE = `${WHAT}: it says \`Bearer\` twice (a token kept with its scheme, and the scheme added again); send \`Authorization: Bearer <token>\` with the scheme once.`;
const UNSET = (text: string) =>
  `${WHAT}: its token is the text \`${text}\`, what JavaScript writes for a variable with no value: set the token before the request is sent (is it read before sign-in finished?).`;

describe('an Authorization plainly malformed, which upstream refuses', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: { UPSTREAM_REFUSED_TOKEN_MS: '60000' } });
  });
  afterAll(() => harness.close());

  it('`Bearer Bearer <token>` is told the scheme came twice, then from memory, with one upstream call', async () => {
    harness.upstream.reset();
    const first = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'Bearer Bearer demo-token' });
    expect(first.errors![0]!.message).toBe(TWICE);
    expect(first.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
    const again = await harness.query(ONE, { id: 'ex_demo_2' }, { authorization: 'Bearer Bearer demo-token' });
    expect(again.errors![0]!.message).toMatch(/^The executions API did not accept the Authorization token: refused moments ago, so not asked again during the next \d+(\.\d)? s; it says `Bearer` twice/);
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it.each(['undefined', 'null'])('`Bearer %s` is told its token variable was not set', async (text) => {
    const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: `Bearer ${text}` });
    expect(response.errors![0]!.message).toBe(UNSET(text));
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  it('is told so on a watch too', async () => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: 'Bearer undefined', accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { executionUpdates(id: "ex_demo_4") { isFinal } }' }),
    });
    const [result] = nextEvents(await response.text());
    // Remembered from the query above, or answered anew: the advice is the same.
    expect(result!.errors![0]!.message).toContain(UNSET('undefined').slice(WHAT.length + 2));
    expect(result!.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  it('keeps the advice to get a valid token for a token that only looks like one of these', async () => {
    for (const authorization of ['Bearer bearer-token-9', 'Bearer undefined-user', 'Bearer nullable']) {
      const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization });
      expect(response.errors![0]!.message, authorization).toBe(`${WHAT}: send a valid, unexpired token (sign in again for a new one).`);
    }
  });
});
