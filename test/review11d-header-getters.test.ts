/**
 * Client headers whose Authorization is a getter (`{ get authorization() { return `Bearer ${session.token}` } }`), a
 * common way to hand a client the token as it is refreshed: graphql-request spreads the object per request, calling
 * the getter each time. `setHeader` of any other header copied the object's values into the client's own copy, so
 * the getter was read once: from then on every request went out with the token it gave then, a stale one once
 * refreshed (UNAUTHENTICATED), and one caller's token kept by a client that reads the current caller's.
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

describe('a header given as a getter', () => {
  it.each([
    ['the constructor', (headers: Record<string, string>) => new GatewayClient(harness.url, { headers })],
    ['setHeaders', (headers: Record<string, string>) => new GatewayClient(harness.url).setHeaders(headers)],
  ])('given to %s, is read per request after setHeader of another header', async (_given, make) => {
    seen.length = 0;
    let authorization = 'Bearer expired';
    const headers = {
      'x-app': 'bff',
      get authorization() {
        return authorization;
      },
    };
    const client = make(headers);
    client.setHeader('X-App', 'web');
    authorization = AUTH;
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    authorization = 'Bearer revoked';
    const { errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(seen).toEqual([
      { app: 'web', authorization: AUTH },
      { app: 'web', authorization: 'Bearer revoked' },
    ]);
    // The object given is left as it was: other clients may share it.
    expect(Object.getOwnPropertyDescriptor(headers, 'authorization')?.get).toBeTypeOf('function');
    expect(headers['x-app']).toBe('bff');
  });
});
