/**
 * Headers given to the typed client as a function (review 2): graphql-request takes `headers: () => HeadersInit`,
 * called per request, the form a page uses to read the current token. GatewayClient's Authorization promises
 * (README "Typed client": a token `setHeader` sets later replaces it; one among a request's `requestHeaders` is that
 * request's only one) held for a record, a Headers and an array, not for a function: `setHeader` set a property of
 * the function, which no request reads, so the refreshed token never went out; a request's own Authorization was sent
 * beside the function's, joined by fetch into "Bearer expired, <token>", which upstream refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

describe('the typed client with headers given as a function', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  /** A client whose headers are a function returning an expired token and a tag; what it sent the gateway, each request. */
  function client(): { client: GatewayClient; sent: Headers[] } {
    const sent: Headers[] = [];
    const fetchSpy = (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    return { client: new GatewayClient(harness.url, { headers: () => ({ Authorization: 'Bearer expired', 'x-trace-tag': 'a' }), fetch: fetchSpy }), sent };
  }

  it('setHeader replaces the Authorization the function gives, and keeps its other headers', async () => {
    const { client: gateway, sent } = client();
    gateway.setHeader('authorization', AUTH).setHeader('x-other', 'b');
    const { errors } = await gateway.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors).toEqual([]);
    await gateway.request(ExecutionStatusDocument, { id: 'ex_demo_2' });
    expect(sent.map((each) => [each.get('authorization'), each.get('x-trace-tag'), each.get('x-other')])).toEqual([
      [AUTH, 'a', 'b'],
      [AUTH, 'a', 'b'],
    ]);
    expect(['ex_demo_1', 'ex_demo_2'].flatMap((id) => harness.upstream.requestsFor(id)).map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
  });

  it("a request's own Authorization is that request's only one; the function's is sent again after", async () => {
    const { client: gateway, sent } = client();
    const own = await gateway.requestResult(ExecutionStatusDocument, { id: 'ex_demo_3' }, { Authorization: AUTH });
    expect(own.errors).toEqual([]);
    const raw = await gateway.rawRequest<{ execution: { id: string } }>('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_demo_5' }, { authorization: AUTH });
    expect(raw.data.execution.id).toBe('ex_demo_5');
    const after = await gateway.requestResult(ExecutionStatusDocument, { id: 'ex_demo_4' });
    expect(after.errors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(sent.map((each) => [each.get('authorization'), each.get('x-trace-tag')])).toEqual([
      [AUTH, 'a'],
      [AUTH, 'a'],
      ['Bearer expired', 'a'],
    ]);
  });
});

describe('the typed client with headers given as a function, refreshed often', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it('keeps one function over them however often setHeader is called (a token refreshed every few minutes for weeks)', async () => {
    const gateway = new GatewayClient(harness.url, { headers: () => ({ Authorization: 'Bearer expired' }) });
    for (let refresh = 0; refresh < 100_000; refresh++) gateway.setHeader('Authorization', refresh % 2 ? AUTH : 'Bearer expired');
    gateway.setHeader('authorization', 'Bearer expired');
    const headers = gateway.requestConfig.headers as () => HeadersInit;
    expect(new Headers(headers()).get('authorization')).toBe('Bearer expired');
    gateway.setHeader('authorization', AUTH);
    const { errors } = await gateway.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors).toEqual([]);
  });
});
