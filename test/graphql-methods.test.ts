/**
 * The methods `/graphql` takes, on both lanes: GET and POST; OPTIONS, a CORS
 * preflight (answered as before) or a plain one (204 with `Allow`, RFC 9110
 * §9.3.7); anything else, HEAD and graphql-sse's single-connection PUT
 * included, a 405 with `Allow`, a GraphQL error body with a code and the
 * request id, whatever the request carries (no Authorization: not CSRF
 * prevention's 403; an event-stream Accept: not an event stream).
 */
import type { ExecutionResult } from 'graphql';
import { createClient, NetworkError } from 'graphql-sse';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES, codes } from './support/harness.js';

const ALLOW = 'GET, POST, OPTIONS';

describe.each(LANES)('methods on /graphql (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it('answers HEAD with 405 and Allow, no body, and runs nothing (a HEAD would run the operation only to drop its result)', async () => {
    const answer = await harness.fetch(`/graphql?query=${encodeURIComponent('{ execution(id: "ex_demo_1") { id } }')}`, {
      method: 'HEAD',
      headers: { authorization: AUTH },
    });
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe(ALLOW);
    expect(answer.headers.get('x-request-id')).toBeTruthy();
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await answer.text()).toBe('');
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it.each([
    ['without Origin', {}],
    ['with an Origin but no Access-Control-Request-Method (no preflight)', { origin: 'https://app.example' }],
  ])('answers a plain OPTIONS %s with 204 and Allow', async (_name, headers: Record<string, string>) => {
    const answer = await harness.fetch('/graphql', { method: 'OPTIONS', headers: { ...headers, 'x-request-id': 'options-1' } });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('allow')).toBe(ALLOW);
    expect(answer.headers.get('x-request-id')).toBe('options-1');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    // RFC 9110 §8.6: no Content-Length on a 204.
    expect(answer.headers.get('content-length')).toBeNull();
    expect(await answer.text()).toBe('');
  });

  it('answers a CORS preflight as before: no Allow, the CORS headers its origin gets', async () => {
    const answer = await harness.fetch('/graphql', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
    });
    expect(answer.status).toBe(204);
    const headers = Object.fromEntries([...answer.headers].filter(([name]) => !['date', 'connection', 'keep-alive', 'x-request-id'].includes(name)));
    expect(headers).toEqual({
      'access-control-allow-origin': 'https://app.example',
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'content-type,authorization',
      'access-control-expose-headers': 'x-request-id',
      'access-control-max-age': '600',
      'cache-control': 'no-store',
      vary: 'Access-Control-Request-Headers, Origin',
    });
  });

  describe.each(['PUT', 'DELETE', 'PATCH'])('%s', (method) => {
    it.each([
      // graphql-sse's single-connection reservation: a PUT with the client's headers only.
      ['with no other header', {}],
      ['with Authorization', { authorization: AUTH }],
      ['accepting an event stream', { authorization: AUTH, accept: 'text/event-stream' }],
      ['from an allowed origin', { origin: 'https://app.example', 'content-type': 'application/json' }],
    ])('is refused %s with 405, Allow and a GraphQL error body with a code', async (_name, headers: Record<string, string>) => {
      const answer = await harness.fetch('/graphql', { method, headers: { ...headers, 'x-request-id': `method-${method}` } });
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe(ALLOW);
      expect(answer.headers.get('x-request-id')).toBe(`method-${method}`);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      if (headers.origin) expect(answer.headers.get('access-control-allow-origin')).toBe(headers.origin);
      const body = (await answer.json()) as ExecutionResult;
      expect(body.errors![0]!.message).toBe('Method not allowed: GraphQL supports GET and POST.');
      expect(codes(body)).toEqual(['BAD_REQUEST']);
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });

  // RFC 9110 §10.2.1: Allow lists the methods the target takes; it must come with a 405 and may come elsewhere.
  // The gateway sends it where the method is what is answered (a 405, a plain OPTIONS), and there always as
  // `GET, POST, OPTIONS`. Yoga's parameter checks put `Allow: GET, POST` on some 400s (not every one), which
  // left out OPTIONS and told a client whose method was fine nothing about what to change.
  it.each([
    ['POST', '{"query":"{ __typename }","variables":[]}'],
    ['POST', '{"query":"{ __typename }","extensions":"x"}'],
    ['POST', '{"query":1}'],
    ['POST', '{"query":["{ __typename }"]}'],
    ['GET', `variables=${encodeURIComponent('[]')}&query=${encodeURIComponent('{ __typename }')}`],
    ['GET', `extensions=${encodeURIComponent('"x"')}&query=${encodeURIComponent('{ __typename }')}`],
  ])('answers a %s whose parameters are malformed (%s) with 400 BAD_REQUEST and no Allow: its method is not what is wrong', async (method, sent) => {
    const answer = await (method === 'GET'
      ? harness.fetch(`/graphql?${sent}`, { headers: { authorization: AUTH } })
      : harness.fetch('/graphql', { method, headers: { authorization: AUTH, 'content-type': 'application/json' }, body: sent }));
    expect(answer.status).toBe(400);
    expect(answer.headers.get('allow')).toBeNull();
    expect(codes((await answer.json()) as ExecutionResult)).toEqual(['BAD_REQUEST']);
    expect(harness.upstream.requests).toHaveLength(0);
    // The same operation with its parameters right: no Allow either, and a 405 keeps its own.
    const served = await harness.fetch('/graphql', { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(served.status).toBe(200);
    expect(served.headers.get('allow')).toBeNull();
    expect((await harness.fetch('/graphql', { method: 'DELETE', headers: { authorization: AUTH } })).headers.get('allow')).toBe(ALLOW);
  });

  it("refuses graphql-sse's single-connection mode with 405 and a GraphQL error body the client can read", async () => {
    // The client aborts its reservation request once it fails: its body is read before the client sees it.
    const received: Array<{ method: string; status: number; allow: string | null; body: string }> = [];
    const fetchFn = async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      const body = await response.text();
      received.push({ method: init?.method ?? 'GET', status: response.status, allow: response.headers.get('allow'), body });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const client = createClient({ url: harness.url, singleConnection: true, retryAttempts: 0, headers: { authorization: AUTH }, fetchFn });
    const error = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: resolve, complete: () => resolve(undefined) });
    });
    client.dispose();
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError<Response>).response?.status).toBe(405);
    const [reservation, ...rest] = received;
    expect(rest).toEqual([]);
    expect(reservation).toMatchObject({ method: 'PUT', status: 405, allow: ALLOW });
    expect(codes(JSON.parse(reservation!.body) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });
});
