/**
 * `setHeaders`, graphql-request's way to replace a client's headers, given another iterable of pairs fetch takes (a Map,
 * @whatwg-node/fetch's Headers, which graphql-yoga hands a BFF as a request's headers), as the constructor's `headers`
 * may be. graphql-request read it as a record of its own properties: none of its headers went out, its Authorization
 * included, and a token `setHeader` set later was a property of the Map, sent nowhere either.
 */
import { Headers as PonyfillHeaders } from '@whatwg-node/fetch';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

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

const FORMS: ReadonlyArray<[string, () => HeadersInit]> = [
  ['a record', () => ({ 'X-Tenant': 'acme', Authorization: AUTH })],
  ['a Headers', () => new Headers({ 'X-Tenant': 'acme', Authorization: AUTH })],
  ['an array of pairs', () => [['X-Tenant', 'acme'], ['Authorization', AUTH]]],
  ['a Map', () => new Map([['X-Tenant', 'acme'], ['Authorization', AUTH]]) as unknown as HeadersInit],
  ["@whatwg-node/fetch's Headers", () => new PonyfillHeaders({ 'X-Tenant': 'acme', Authorization: AUTH }) as unknown as HeadersInit],
];

describe('setHeaders in every form fetch takes', () => {
  it.each(FORMS)('sends %s, and a header setHeader sets later replaces its own', async (_form, headers) => {
    seen.length = 0;
    const client = new GatewayClient(harness.url, { headers: { 'X-Tenant': 'old', Authorization: 'Bearer old' } });
    client.setHeaders(headers());
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    client.setHeader('x-tenant', 'other');
    expect((await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' })).data?.execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([
      { tenant: 'acme', authorization: AUTH },
      { tenant: 'other', authorization: AUTH },
    ]);
  });
});
