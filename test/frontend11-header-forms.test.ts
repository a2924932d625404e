/**
 * `headers` in every form fetch takes (a record, a `Headers`, an array of pairs), given to `watchExecution` and to
 * `createGatewayClient`. A `Headers` was spread into `{}`, so none of its headers went out; an array of pairs went out as
 * headers named `0`, `1`, … holding each pair joined by a comma; another iterable of pairs (a Map, @whatwg-node's Headers,
 * which fetch takes as pairs) as its own properties, or none.
 *
 * `batchRequests` took a request's own headers as graphql-request does, merged with the client's as keys: a batch's
 * `Authorization` went out beside the client's `authorization`, joined by fetch into one header (`Bearer old, Bearer
 * new`), and a Map's headers went nowhere. The gateway answers every batch BAD_REQUEST, but what went out is what a
 * proxy in front of it, or its log, saw.
 *
 * A header given twice goes out as fetch sends it from a Headers: one value, joined. fetch joins `Cookie` values by
 * `; ` (the one field whose list is no comma list); the client joined every name by `, `, and `a=1, b=2` is one cookie
 * `a` whose value is `1, b=2` to any cookie parser (a session proxy in front of the gateway lost its session cookie).
 */
import { Headers as PonyfillHeaders } from '@whatwg-node/fetch';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createGatewayClient, ErrorCode, ExecutionStatusDocument, GatewayClient, gatewayErrors, watchExecution, type ExecutionUpdate, type WatchOptions } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

/**
 * What the gateway received with each request: its `x-tenant`, its Authorization, whether a header named `0` came, and
 * its Cookie when one came (undefined otherwise, which toEqual reads as absent: only the cases that send one name it).
 */
const seen: Array<{ tenant: string | null; authorization: string | null; zero: string | null; cookie?: string | undefined }> = [];
const probe: Plugin = {
  onRequest: ({ request }) =>
    void seen.push({
      tenant: request.headers.get('x-tenant'),
      authorization: request.headers.get('authorization'),
      zero: request.headers.get('0'),
      cookie: request.headers.get('cookie') ?? undefined,
    }),
};

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start({ plugins: [probe] });
});
afterAll(() => harness.close());

/** Each form of the same headers: a tenant, and an Authorization that must give way to the `authorization` argument. */
const FORMS: ReadonlyArray<[string, () => NonNullable<WatchOptions['headers']>]> = [
  ['a record', () => ({ 'X-Tenant': 'acme', Authorization: 'Bearer someone-else' })],
  ['a Headers', () => new Headers({ 'X-Tenant': 'acme', Authorization: 'Bearer someone-else' })],
  ['an array of pairs', () => [['X-Tenant', 'acme'], ['Authorization', 'Bearer someone-else']]],
  // fetch takes any iterable of pairs: a Map, another library's Headers (graphql-yoga's request headers in a BFF).
  ['a Map', () => new Map([['X-Tenant', 'acme'], ['Authorization', 'Bearer someone-else']]) as unknown as Headers],
  ['@whatwg-node/fetch\'s Headers', () => new PonyfillHeaders({ 'X-Tenant': 'acme', Authorization: 'Bearer someone-else' }) as unknown as Headers],
  // An iterator is iterable, so fetch takes it too, but it gives its pairs once: a watch that read it to check the headers
  // and again to send them sent none of them.
  ["a Map's entries(), an iterator", () => new Map([['X-Tenant', 'acme'], ['Authorization', 'Bearer someone-else']]).entries() as unknown as Headers],
];

/** The updates of a watch of the finished ex_demo_6 (one final update), or what it threw, within 5 s. */
async function watched(options: WatchOptions): Promise<{ updates: ExecutionUpdate[]; error: unknown }> {
  const stop = AbortSignal.timeout(5_000);
  const updates: ExecutionUpdate[] = [];
  try {
    for await (const update of watchExecution(harness.url, AUTH, 'ex_demo_6', { retryDelayMs: 10, ...options, signal: stop })) updates.push(update);
    return { updates, error: undefined };
  } catch (error) {
    return { updates, error };
  }
}

describe('headers in every form fetch takes', () => {
  it.each(FORMS)('watchExecution over Server-Sent Events sends %s, with the authorization argument as the only token', async (_form, headers) => {
    seen.length = 0;
    const { updates, error } = await watched({ headers: headers() });
    expect(error).toBeUndefined();
    expect(updates.map((update) => update.isFinal)).toEqual([true]);
    expect(seen).toEqual([{ tenant: 'acme', authorization: AUTH, zero: null }]);
  });

  it.each(FORMS)('watchExecution over a WebSocket takes %s, which it does not send (a browser WebSocket sends no headers)', async (_form, headers) => {
    const { updates, error } = await watched({ headers: headers(), transport: 'websocket', webSocketImpl: WebSocket });
    expect(error).toBeUndefined();
    expect(updates.map((update) => update.isFinal)).toEqual([true]);
  });

  it('watchExecution over Server-Sent Events refuses an array pair fetch cannot send, naming the header', async () => {
    const before = harness.upstream.requests.length;
    const { updates, error } = await watched({ headers: [['x tenant', 'acme']] });
    expect(updates).toEqual([]);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/^headers\["x tenant"\] is no header name/);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it.each(FORMS)('createGatewayClient sends %s, with the authorization argument as the only token', async (_form, headers) => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH, headers());
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    expect((await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' })).data?.execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([
      { tenant: 'acme', authorization: AUTH, zero: null },
      { tenant: 'acme', authorization: AUTH, zero: null },
    ]);
  });

  it.each(FORMS)('createGatewayClient without an authorization argument sends %s whole, its Authorization included', async (_form, headers) => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, undefined, headers());
    const { errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(seen).toEqual([{ tenant: 'acme', authorization: 'Bearer someone-else', zero: null }]);
  });
});

describe("a request's own headers in every form fetch takes", () => {
  it.each(FORMS)("request, requestResult and rawRequest send %s, its Authorization the request's only one", async (_form, headers) => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH);
    const own = () => headers() as HeadersInit;
    const results = [
      await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' }, own()),
      await client.requestResult({ document: ExecutionStatusDocument, variables: { id: 'ex_demo_1' }, requestHeaders: own() }),
    ];
    for (const { errors } of results) expect(errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    await expect(client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }, own())).rejects.toThrow(/Authorization/);
    await expect(client.rawRequest('{ execution(id: "ex_demo_1") { id } }', {}, own())).rejects.toThrow(/Authorization/);
    expect(seen).toEqual(Array.from({ length: 4 }, () => ({ tenant: 'acme', authorization: 'Bearer someone-else', zero: null })));
  });

  it.each(FORMS)("batchRequests sends %s in either form of the call, each header the batch's only one of its name", async (_form, headers) => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH, { 'x-tenant': 'other' });
    const documents = [{ document: '{ __typename }' }];
    const own = () => headers() as HeadersInit;
    for (const batch of [() => client.batchRequests(documents, own()), () => client.batchRequests({ documents, requestHeaders: own() }), () => client.batchRequests(documents)]) {
      expect(gatewayErrors(await thrownBy(batch())).map((each) => each.extensions?.code)).toEqual([ErrorCode.BAD_REQUEST]);
    }
    expect(seen).toEqual([
      { tenant: 'acme', authorization: 'Bearer someone-else', zero: null },
      { tenant: 'acme', authorization: 'Bearer someone-else', zero: null },
      // The client's own go with its other batches.
      { tenant: 'other', authorization: AUTH, zero: null },
    ]);
  });
});

describe("GatewayClient's headers in every form fetch takes", () => {
  it.each(FORMS)('sends %s, and a token setHeader sets replaces its Authorization', async (_form, headers) => {
    seen.length = 0;
    const client = new GatewayClient(harness.url, { headers: headers() as HeadersInit });
    const { errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    client.setHeader('Authorization', AUTH);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([
      { tenant: 'acme', authorization: 'Bearer someone-else', zero: null },
      { tenant: 'acme', authorization: AUTH, zero: null },
    ]);
  });
});

describe('setHeader in another case than the header it replaces', () => {
  // A Headers gives its names in lower case: `setHeader('X-Tenant', …)` over it went out beside the old value, joined by
  // fetch into one header (`acme, other`), where graphql-request's setHeader replaces a header.
  it.each(FORMS)('replaces the tenant of %s, in any case, as it replaces the Authorization', async (_form, headers) => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH, headers());
    client.setHeader('x-TENANT', 'other');
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([{ tenant: 'other', authorization: AUTH, zero: null }]);
  });
});

describe("a request's own header in another case than the client's", () => {
  // graphql-request merges the client's headers and a request's as keys: `x-tenant` and `X-Tenant` both went out, joined by
  // fetch into one header (`acme, other`), where a request's own header replaces the client's, as its Authorization does.
  it.each(FORMS)("replaces the client's, given as %s, for that request alone", async (_form, headers) => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH, headers());
    const fromFunction = new GatewayClient(harness.url, { headers: () => headers() as HeadersInit });
    fromFunction.setHeader('authorization', AUTH);
    for (const each of [client, fromFunction]) {
      await each.request(ExecutionStatusDocument, { id: 'ex_demo_1' }, { 'X-TENANT': 'other' });
      await each.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' }, new Headers({ 'X-TENANT': 'other' }));
      await each.request(ExecutionStatusDocument, { id: 'ex_demo_1' });
    }
    const once = [
      { tenant: 'other', authorization: AUTH, zero: null },
      { tenant: 'other', authorization: AUTH, zero: null },
      { tenant: 'acme', authorization: AUTH, zero: null },
    ];
    expect(seen).toEqual([...once, ...once]);
  });
});

describe('a header given twice', () => {
  const twice: Array<[string, string]> = [
    ['Cookie', 'session=s1'],
    ['Cookie', 'csrf=c1'],
    ['X-Tenant', 'acme'],
    ['x-tenant', 'beta'],
  ];
  /** As fetch sends `twice` from a Headers. */
  const joined = { tenant: 'acme, beta', authorization: AUTH, zero: null, cookie: 'session=s1; csrf=c1' };

  it('goes out from createGatewayClient joined as fetch joins it, a Cookie by `; `', async () => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH, twice);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([joined]);
  });

  // graphql-request reads an array of pairs into an object, one name after another: of a name given twice in the same
  // case only the last value went out.
  it("goes out from a request's own headers and GatewayClient's joined as fetch joins it, a Cookie by `; `", async () => {
    seen.length = 0;
    const client = createGatewayClient(harness.url, AUTH);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }, twice)).execution?.id).toBe('ex_demo_1');
    expect((await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' }, twice)).data?.execution?.id).toBe('ex_demo_1');
    const own = new GatewayClient(harness.url, { headers: [...twice, ['authorization', AUTH]] });
    expect((await own.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    expect(seen).toEqual([joined, joined, joined]);
  });

  it('goes out from watchExecution over Server-Sent Events joined as fetch joins it, a Cookie by `; `', async () => {
    seen.length = 0;
    const { updates, error } = await watched({ headers: twice });
    expect(error).toBeUndefined();
    expect(updates.map((update) => update.isFinal)).toEqual([true]);
    expect(seen).toEqual([joined]);
  });
});
