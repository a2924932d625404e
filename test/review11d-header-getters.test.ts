/**
 * Client headers whose Authorization is a getter (`{ get authorization() { return `Bearer ${session.token}` } }`) or a
 * Proxy's, a common way to hand a client the token as it is refreshed: graphql-request spreads the object per request,
 * reading the token each time. `setHeader` of any other header copied the object's values into the client's own copy, so
 * the token was read once: from then on every request went out with the token it gave then, a stale one once
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

const MAKERS: ReadonlyArray<[string, (headers: Record<string, string>) => GatewayClient]> = [
  ['the constructor', (headers) => new GatewayClient(harness.url, { headers })],
  ['setHeaders', (headers) => new GatewayClient(harness.url).setHeaders(headers)],
];

/** Headers whose Authorization reads `token()` as it is read: through a getter, or a Proxy's `get`. */
const FORMS: ReadonlyArray<[string, (token: () => string) => Record<string, string>]> = [
  [
    'a getter',
    (token) => ({
      'x-app': 'bff',
      get authorization() {
        return token();
      },
    }),
  ],
  ['a Proxy', (token) => new Proxy({ 'x-app': 'bff', authorization: 'Bearer unset' }, { get: (target, name) => (name === 'authorization' ? token() : Reflect.get(target, name)) })],
];

describe.each(FORMS)('a header given through %s', (_form, form) => {
  it.each(MAKERS)('given to %s, is read per request after setHeader of another header, however often', async (_given, make) => {
    seen.length = 0;
    let authorization = 'Bearer expired';
    const headers = form(() => authorization);
    const client = make(headers);
    client.setHeader('X-App', 'old');
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
    expect(headers['x-app']).toBe('bff');
  });
});
