/**
 * A graphql-ws client whose `authorization` is null (`connectionParams: { authorization: token ?? null }`, sent before
 * sign-in) was told "connectionParams has `authorization` but no `authorization`", naming as unread the one key the
 * gateway reads. Now such a key is not named: alone it gets the general message, beside others only they are named.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Harness } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

async function over(connectionParams: Record<string, unknown>): Promise<ExecutionResult[]> {
  const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
  try {
    return await resultsOverWebSocket(client, { query: '{ execution(id: "ex_demo_1") { id } }' });
  } finally {
    await client.dispose();
  }
}

it('a null authorization is not named as a key the gateway does not read', async () => {
  const general = 'Missing Authorization: send the `Authorization: Bearer <token>` you would send to the executions API, as a header (over WebSocket: `connectionParams: { authorization }` in connection_init).';
  const [alone] = await over({ authorization: null });
  expect(alone!.errors).toMatchObject([{ message: general, extensions: { code: 'UNAUTHENTICATED' } }]);
  const [inHeaders] = await over({ headers: { Authorization: null } });
  expect(inHeaders!.errors![0]!.message).toBe(general);
  const [beside] = await over({ Authorization: null, authToken: 'Bearer demo-token' });
  expect(beside!.errors![0]!.message).toMatch(/^Missing Authorization: connectionParams has `authToken` but no `authorization`/);
  expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(0);
});

it('past the names the message is given, the count of the others is a floor, not a count of what was kept', async () => {
  const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${i}`, 'x']));
  const [result] = await over(many);
  // 22 others were sent: "17 other keys" (the 20 names kept less the 3 shown) was a count that lied.
  expect(result!.errors![0]!.message).toMatch(/^Missing Authorization: connectionParams has `k0`, `k1`, `k2` and 17 or more other keys but no `authorization`/);
  const [few] = await over(Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'x'])));
  expect(few!.errors![0]!.message).toMatch(/^Missing Authorization: connectionParams has `k0`, `k1`, `k2` and 2 other keys but no/);
});
