/**
 * One headers object given to several clients (a BFF's defaults, `new GatewayClient(url, { headers: defaults })` per
 * caller). graphql-request's `setHeader` writes into the object it was given: a caller's token set on its client went
 * into the shared defaults, and every other client made from them sent that caller's token, as its own requests and
 * the next caller's before its own `setHeader`.
 */
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

/** What the gateway received with each request: its `x-app` and its Authorization. */
const seen: Array<{ app: string | null; authorization: string | null }> = [];
const probe: Plugin = {
  onRequest: ({ request }) => void seen.push({ app: request.headers.get('x-app'), authorization: request.headers.get('authorization') }),
};

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ plugins: [probe] });
});
afterAll(() => harness.close());

describe('headers shared by several clients', () => {
  it.each([
    ['the constructor', (headers: Record<string, string>) => new GatewayClient(harness.url, { headers })],
    ['setHeaders', (headers: Record<string, string>) => new GatewayClient(harness.url).setHeaders(headers)],
  ])("given to %s, take no client's setHeader: one caller's token never goes out for another", async (_given, make) => {
    seen.length = 0;
    const defaults: Record<string, string> = { 'x-app': 'bff', Authorization: 'Bearer default' };
    const first = make(defaults);
    const second = make(defaults);
    first.setHeader('authorization', AUTH);
    first.setHeader('X-App', 'first');
    expect((await first.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    const { errors } = await second.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(seen).toEqual([
      { app: 'first', authorization: AUTH },
      { app: 'bff', authorization: 'Bearer default' },
    ]);
    expect(defaults).toEqual({ 'x-app': 'bff', Authorization: 'Bearer default' });
  });
});
