/**
 * `batchRequests` held to the header handling of the client's other entry points (`request`, `rawRequest`,
 * `requestResult`): a request's own headers in any form fetch takes, and each replacing the client's header of its
 * name in any case. graphql-request merged the two as keys, so a batch's `Authorization` went out beside the client's
 * `authorization`, joined by fetch into one header (`Bearer old, Bearer new`), and a Map's headers went nowhere. The
 * gateway answers every batch BAD_REQUEST, but what went out is what a proxy or the gateway's log saw.
 */
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGatewayClient, ErrorCode, gatewayErrors } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

/** What the gateway received with each request: its `x-tenant` and its Authorization. */
const seen: Array<{ tenant: string | null; authorization: string | null }> = [];
const probe: Plugin = {
  onRequest: ({ request }) => void seen.push({ tenant: request.headers.get('x-tenant'), authorization: request.headers.get('authorization') }),
};

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ plugins: [probe] });
});
afterAll(() => harness.close());

const DOCUMENTS = [{ document: '{ __typename }' }];

it.each([
  ['a record', () => ({ Authorization: AUTH, 'X-Tenant': 'acme' })],
  ['a Headers', () => new Headers({ Authorization: AUTH, 'X-Tenant': 'acme' })],
  ['an array of pairs', () => [['Authorization', AUTH], ['X-Tenant', 'acme']] as [string, string][]],
  ['a Map', () => new Map([['Authorization', AUTH], ['X-Tenant', 'acme']]) as unknown as Headers],
])("a batch's requestHeaders as %s replace the client's of their names, in either form of the call", async (_form, requestHeaders) => {
  const client = createGatewayClient(harness.url, 'Bearer stale', { 'x-tenant': 'other' });
  for (const attempt of [() => client.batchRequests(DOCUMENTS, requestHeaders()), () => client.batchRequests({ documents: DOCUMENTS, requestHeaders: requestHeaders() })]) {
    seen.length = 0;
    const error = await thrownBy(attempt());
    expect(gatewayErrors(error).map((each) => each.extensions?.code)).toEqual([ErrorCode.BAD_REQUEST]);
    expect(seen).toEqual([{ tenant: 'acme', authorization: AUTH }]);
  }
  // The client's own headers still go with its other batches.
  seen.length = 0;
  await thrownBy(client.batchRequests(DOCUMENTS));
  expect(seen).toEqual([{ tenant: 'other', authorization: 'Bearer stale' }]);
});
