/**
 * GraphiQL on a gateway without the demo opens with `Authorization: Bearer <your token>` in its headers. A first query
 * run before the placeholder was replaced reached upstream, whose 401 the gateway answered "send a valid, unexpired
 * token (sign in again for a new one)": the newcomer went looking for a new token, when the header still held none.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphiqlOptions } from '../src/pipeline/graphiql.js';
import { Harness } from './support/harness.js';

const ONE = 'query One($id: ID!) { execution(id: $id) { id } }';
const WHAT = 'The executions API did not accept the Authorization token';
const PLACEHOLDER = (token: string) => `${WHAT}: its token is the placeholder \`${token}\` (as GraphiQL's headers and the examples write it): put your own token in its place.`;

describe("an Authorization still holding a placeholder's angle brackets", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: { UPSTREAM_REFUSED_TOKEN_MS: '60000' } });
  });
  afterAll(() => harness.close());

  it("GraphiQL's own header, sent as it opened, is told to put a token in the placeholder's place, then from memory", async () => {
    const headers = JSON.parse(graphiqlOptions({}).defaultHeaders!) as { Authorization: string };
    expect(headers.Authorization).toBe('Bearer <your token>');
    harness.upstream.reset();
    const first = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: headers.Authorization });
    expect(first.errors![0]!.message).toBe(PLACEHOLDER('<your token>'));
    expect(first.errors![0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
    const again = await harness.query(ONE, { id: 'ex_demo_2' }, { authorization: headers.Authorization });
    expect(again.errors![0]!.message).toMatch(/^The executions API did not accept the Authorization token: refused moments ago, so not asked again during the next \d+(\.\d)? s; its token is the placeholder `<your token>`/);
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('so is the `Bearer <token>` the messages write, in any case and spacing', async () => {
    const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'bearer   <token>' });
    expect(response.errors![0]!.message).toBe(PLACEHOLDER('<token>'));
  });

  it('keeps the advice to get a valid token for a token that only holds angle brackets', async () => {
    for (const authorization of ['Bearer <abc', 'Bearer a<b>', 'Bearer <a> <b>']) {
      const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization });
      expect(response.errors![0]!.message, authorization).toBe(`${WHAT}: send a valid, unexpired token (sign in again for a new one).`);
    }
  });
});
