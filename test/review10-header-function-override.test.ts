/**
 * Headers given to the typed client as a function whose Authorization fetch cannot send (a stale token stored with a
 * line break or a curly quote inside it), replaced as the client documents it: by `setHeader('authorization', …)`
 * (a refreshed token), or by a request's own Authorization, which is its only one. The replaced value is never sent,
 * yet the check of the function's headers refused every such request with a TypeError naming `authorization`: a
 * refreshed token could not rescue the client. The check is of the headers a request sends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, ExecutionsDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

describe.each([
  ['a line break', 'Bearer s3cret\ntoken'],
  ['a curly quote', 'Bearer s3cret\u2019token'],
])('a headers function whose Authorization holds %s', (_what, stale) => {
  it('serves with the token setHeader set over it, which alone reaches upstream', async () => {
    const client = new GatewayClient(harness.url, { headers: () => ({ authorization: stale, 'x-tenant': 'a' }) });
    client.setHeader('Authorization', AUTH);
    harness.upstream.reset();
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    const result = await client.requestResult(ExecutionsDocument, { ids: ['ex_demo_2'] });
    expect(result.data?.executions.map((execution) => execution?.id)).toEqual(['ex_demo_2']);
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
  });

  it("serves a request that gives its own Authorization, which alone reaches upstream", async () => {
    const client = new GatewayClient(harness.url, { headers: () => ({ authorization: stale, 'x-tenant': 'a' }) });
    harness.upstream.reset();
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }, { Authorization: AUTH })).execution?.id).toBe('ex_demo_1');
    const result = await client.requestResult(ExecutionsDocument, { ids: ['ex_demo_2'] }, { authorization: AUTH });
    expect(result.data?.executions.map((execution) => execution?.id)).toEqual(['ex_demo_2']);
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
  });

  it('still refuses, naming the header and never its value, when nothing replaces it; nothing is sent', async () => {
    const client = new GatewayClient(harness.url, { headers: () => ({ authorization: stale }) });
    client.setHeader('x-tenant', 'a');
    harness.upstream.reset();
    const error = await thrownBy(client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^headers\["authorization"\] is not a valid header value/);
    expect((error as Error).message).not.toContain('s3cret');
    expect(harness.upstream.requests).toEqual([]);
  });
});
