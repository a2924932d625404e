/**
 * The copy of its headers a client writes `setHeader` into (src/client/index.ts), through a real gateway.
 *
 * One headers object given to several clients (a BFF's defaults, `new GatewayClient(url, { headers: defaults })` per
 * caller): graphql-request's `setHeader` writes into the object it was given, so a caller's token set on its client went
 * into the shared defaults, and every other client made from them sent that caller's token.
 *
 * Client headers whose Authorization is a getter (`{ get authorization() { return `Bearer ${session.token}` } }`) or a
 * Proxy's, a common way to hand a client the token as it is refreshed: graphql-request spreads the object per request,
 * reading the token each time. A copy of the object's values made at `setHeader` read the token once: from then on every
 * request went out with the token it gave then, a stale one once refreshed (UNAUTHENTICATED). A copy of its names made
 * there sent no header the app added to the object later, and one it deleted as the text `undefined`.
 */
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, ExecutionStatusDocument, GatewayClient } from '../src/client/index.js';
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

/** The ways a client is given its headers object. */
const MAKERS: ReadonlyArray<[string, (headers: Record<string, string>) => GatewayClient]> = [
  ['the constructor', (headers) => new GatewayClient(harness.url, { headers })],
  ['setHeaders', (headers) => new GatewayClient(harness.url).setHeaders(headers)],
  // Its `headers` were copied as the client was made: a getter's token was read once, a header added later never went out.
  ['createGatewayClient', (headers) => createGatewayClient(harness.url, undefined, headers)],
];

describe('headers shared by several clients', () => {
  it.each(MAKERS)("given to %s, take no client's setHeader: one caller's token never goes out for another", async (_given, make) => {
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

describe('headers the app changes after setHeader', () => {
  // graphql-request's setHeader wrote into the object, so a header the app added or deleted there later went out as it
  // was then; the copy of the names it had at setHeader sent none added later (a token set on sign-in: UNAUTHENTICATED),
  // and a header deleted since as the text `undefined`.
  it.each(MAKERS)('given to %s, send a header added to them later, and no longer one deleted from them', async (_given, make) => {
    seen.length = 0;
    const headers: Record<string, string> = { 'x-app': 'bff' };
    const client = make(headers);
    client.setHeader('x-trace', '1');
    headers['Authorization'] = AUTH;
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    delete headers['x-app'];
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    // A header setHeader set still replaces the object's of its name, in any case.
    headers['X-Trace'] = '2';
    client.setHeader('X-APP', 'web');
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([
      { app: 'bff', authorization: AUTH },
      { app: null, authorization: AUTH },
      { app: 'web', authorization: AUTH },
    ]);
    expect(headers).toEqual({ Authorization: AUTH, 'X-Trace': '2' });
  });
});
