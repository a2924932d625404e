/**
 * A header given twice among `createGatewayClient`'s or `watchExecution`'s headers (an array of pairs, undici's record of
 * value arrays) goes out as fetch sends it from a Headers: one value, joined. fetch joins `Cookie` values by `; ` (the
 * one field whose list is no comma list); the client joined every name by `, `, and `a=1, b=2` is one cookie `a` whose
 * value is `1, b=2` to any cookie parser (a session proxy in front of the gateway lost its session cookie).
 */
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGatewayClient, ExecutionStatusDocument, watchExecution } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

/** What the gateway received with each request: its Cookie and its `x-tenant`. */
const seen: Array<{ cookie: string | null; tenant: string | null }> = [];
const probe: Plugin = {
  onRequest: ({ request }) => void seen.push({ cookie: request.headers.get('cookie'), tenant: request.headers.get('x-tenant') }),
};

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ plugins: [probe] });
});
afterAll(() => harness.close());

const HEADERS: Array<[string, string]> = [
  ['Cookie', 'session=s1'],
  ['cookie', 'csrf=c1'],
  ['X-Tenant', 'acme'],
  ['x-tenant', 'beta'],
];
/** As fetch sends HEADERS from a Headers. */
const JOINED = { cookie: 'session=s1; csrf=c1', tenant: 'acme, beta' };

it('createGatewayClient joins a repeated Cookie as fetch does', async () => {
  seen.length = 0;
  const client = createGatewayClient(harness.url, AUTH, HEADERS);
  expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
  expect(seen).toEqual([JOINED]);
});

it('watchExecution over Server-Sent Events joins a repeated Cookie as fetch does', async () => {
  seen.length = 0;
  const updates = [];
  for await (const update of watchExecution(harness.url, AUTH, 'ex_demo_6', { headers: HEADERS, signal: AbortSignal.timeout(10_000) })) updates.push(update);
  expect(updates.map((update) => update.isFinal)).toEqual([true]);
  expect(seen).toEqual([JOINED]);
});
