/**
 * A graphql-ws client that sends its token under a key other servers read (`connectionParams: { authToken }`,
 * `{ token }`, `{ headers: { token } }`) was told 'Missing Authorization', as if it had sent none. Now the refusal
 * names the keys it sent (never a value) and the one the gateway reads, for queries and subscriptions, with no
 * upstream call; over HTTP the message is unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AUTH, Harness } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

const READS = "but no `authorization`, the one key this gateway reads a token from (in any case, at the top level or inside `headers`): send `connectionParams: { authorization: 'Bearer <token>' }` in connection_init.";

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

async function over(connectionParams: Record<string, unknown>, query: string): Promise<ExecutionResult[]> {
  const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
  try {
    return await resultsOverWebSocket(client, { query });
  } finally {
    await client.dispose();
  }
}

describe('a WebSocket token under a key the gateway does not read', () => {
  it.each([
    [{ authToken: 'Bearer demo-token' }, '`authToken`'],
    [{ token: 'demo-token', clientName: 'web' }, '`token`, `clientName`'],
    [{ headers: { token: 'demo-token' } }, '`headers.token`'],
    [{ Headers: { Authorization: 'Bearer demo-token' } }, '`Headers`'],
    [{ headers: [['authorization', 'Bearer demo-token']] }, '`headers`'],
  ])('%j is told which keys came and which one is read', async (params, named) => {
    const [result] = await over(params, '{ execution(id: "ex_demo_1") { id } }');
    expect(result!.errors).toMatchObject([{ message: `Missing Authorization: connectionParams has ${named} ${READS}`, extensions: { code: 'UNAUTHENTICATED' }, path: ['execution'] }]);
    const text = JSON.stringify(result);
    expect(text).not.toContain('demo-token');
  });

  it('never quotes a key that is no plain name (it may be the token itself)', async () => {
    const [result] = await over({ 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x': true, session: 'abc' }, '{ execution(id: "ex_demo_1") { id } }');
    expect(result!.errors![0]!.message).toBe(`Missing Authorization: connectionParams has \`session\` and 1 other key ${READS}`);
  });

  it('says the same to a subscription, and reaches upstream for none of them', async () => {
    const [result] = await over({ authToken: 'Bearer demo-token' }, 'subscription { executionUpdates(id: "ex_demo_2") { isFinal } }');
    expect(result!.errors![0]).toMatchObject({ message: `Missing Authorization: connectionParams has \`authToken\` ${READS}`, extensions: { code: 'UNAUTHENTICATED' } });
    expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(0);
    expect(harness.upstream.requestsFor('ex_demo_2')).toHaveLength(0);
  });

  it('keeps the general message with no connectionParams and over HTTP, and serves `authorization`', async () => {
    const general = 'Missing Authorization: send the `Authorization: Bearer <token>` you would send to the executions API, as a header (over WebSocket: `connectionParams: { authorization }` in connection_init).';
    const [none] = await over({}, '{ execution(id: "ex_demo_1") { id } }');
    expect(none!.errors![0]!.message).toBe(general);
    const http = await harness.query('{ execution(id: "ex_demo_1") { id } }', undefined, { authorization: null });
    expect(http.errors?.[0]?.message).toBe(general);
    const [served] = await over({ authorization: AUTH, token: 'ignored' }, '{ execution(id: "ex_demo_3") { id } }');
    expect(served).toMatchObject({ data: { execution: { id: 'ex_demo_3' } } });
  });
});
