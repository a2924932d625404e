/**
 * The typed client's checks of a token no header can carry (front8-token-header) covered request, rawRequest and
 * requestResult, not batchRequests, which GatewayClient inherits from graphql-request: there fetch's own TypeError
 * still told `Headers.append: "Bearer s3cret⏎token" is an invalid header value.`, the token in a message a page logs
 * and reports. Now the same ClientError UNAUTHENTICATED, status 0, naming no token, before anything is sent.
 */
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGatewayClient, ErrorCode, gatewayErrors } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

it.each(['Bearer s3cret\ntoken', 'Bearer s3cret\u2019token'])('batchRequests with %j: UNAUTHENTICATED, no token in the message, nothing sent', async (token) => {
  const before = harness.upstream.requests.length;
  const client = createGatewayClient(harness.url, token);
  for (const attempt of [
    () => client.batchRequests([{ document: '{ execution(id: "ex_demo_1") { id } }' }]),
    () => client.batchRequests({ documents: [{ document: '{ execution(id: "ex_demo_1") { id } }' }] }),
    () => createGatewayClient(harness.url, AUTH).batchRequests([{ document: '{ __typename }' }], { authorization: token }),
  ]) {
    const error = await thrownBy(attempt());
    expect(error).toBeInstanceOf(ClientError);
    expect(gatewayErrors(error).map((each) => each.extensions?.code)).toEqual([ErrorCode.UNAUTHENTICATED]);
    expect((error as ClientError).response.status).toBe(0);
    expect(String((error as Error).message)).not.toContain('s3cret');
  }
  expect(harness.upstream.requests.length).toBe(before);
});

it('a batch with a good token still reaches the gateway, which answers that batching is not supported', async () => {
  const error = await thrownBy(createGatewayClient(harness.url, AUTH).batchRequests([{ document: '{ __typename }' }]));
  expect(gatewayErrors(error).map((each) => each.extensions?.code)).toEqual([ErrorCode.BAD_REQUEST]);
});
