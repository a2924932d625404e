/**
 * An Authorization that is the token alone, with no scheme (`demo-token` where `Bearer demo-token` was meant: a
 * frontend that passed its token as the whole header, `createGatewayClient(url, token)`), is refused by upstream
 * with a 401. The gateway told that caller "send a valid, unexpired token (sign in again for a new one)", and a new
 * token changed nothing; it now says to send `Bearer <token>`, on a query, on the answer it remembers
 * (UPSTREAM_REFUSED_TOKEN_MS) and on a watch. A token with a scheme keeps the old advice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';
import { nextEvents } from './support/transports.js';

const ONE = 'query One($id: ID!) { execution(id: $id) { id } }';
const BARE = 'The executions API did not accept the Authorization token: it is a bare token with no scheme before it; send `Authorization: Bearer <token>`.';

describe.each(LANES)('a bare token upstream refuses (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { UPSTREAM_REFUSED_TOKEN_MS: '60000' } });
  });
  afterAll(() => harness.close());

  it('is told to send Bearer <token>, then from memory, with no second upstream call', async () => {
    harness.upstream.reset();
    const first = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: DEMO_TOKEN });
    expect(first.errors).toHaveLength(1);
    expect(first.errors![0]!.message).toBe(BARE);
    expect(first.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
    const again = await harness.query(ONE, { id: 'ex_demo_2' }, { authorization: DEMO_TOKEN });
    expect(again.errors![0]!.message).toMatch(
      /^The executions API did not accept the Authorization token: refused moments ago, so not asked again during the next \d+(\.\d)? s; it is a bare token with no scheme before it; send `Authorization: Bearer <token>`\.$/,
    );
    expect(again.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([DEMO_TOKEN]);
  });

  it('is told so on a watch too', async () => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: 'tok-watch', accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { executionUpdates(id: "ex_demo_4") { isFinal } }' }),
    });
    const [result] = nextEvents(await response.text());
    expect(result!.errors![0]!.message).toBe(BARE);
    expect(result!.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
  });

  it('keeps the advice to get a valid token when the header has a scheme', async () => {
    const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'Bearer made-up' });
    expect(response.errors![0]!.message).toBe('The executions API did not accept the Authorization token: send a valid, unexpired token (sign in again for a new one).');
  });
});
