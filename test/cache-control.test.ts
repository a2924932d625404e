/**
 * `Cache-Control: no-store` on every answer (src/pipeline/cache-control.ts):
 * each lane, GET and POST, results and errors, the pipeline's and the HTTP
 * edge's own refusals (written through a ServerResponse or on the raw socket),
 * a CORS preflight and an event stream, which also forbids transformation
 * (src/pipeline/event-stream.ts). GraphiQL's page, the same bytes for every
 * view, is `no-cache` with an ETag instead (src/pipeline/graphiql.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const TYPENAME = encodeURIComponent('{ __typename }');
const EXECUTION = JSON.stringify({ query: '{ execution(id: "ex_demo_4") { id status } }' });
const json = { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH };

/** The headers of a raw HTTP/1.1 answer, names lowercased. */
function rawHeaders(text: string): { status: number; headers: Record<string, string> } {
  const [statusLine = '', ...lines] = (text.split('\r\n\r\n', 1)[0] ?? '').split('\r\n');
  return { status: Number(statusLine.split(' ')[1]), headers: Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()])) };
}

describe.each(LANES)('Cache-Control (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { CORS_ORIGINS: 'https://app.example', MAX_REQUEST_BODY_BYTES: '1024' } });
  });
  afterAll(() => harness.close());

  const ANSWERS: Array<[string, number, () => Promise<Response>]> = [
    ['a GET of an execution', 200, () => harness.fetch(`/graphql?query=${encodeURIComponent('{ execution(id: "ex_demo_4") { id } }')}`, { headers: { authorization: AUTH } })],
    ['a GET needing no token', 200, () => harness.fetch(`/graphql?query=${TYPENAME}`, { headers: { 'x-graphql-yoga-csrf': '1' } })],
    ['a POST of an execution', 200, () => harness.fetch('/graphql', { method: 'POST', headers: json, body: EXECUTION })],
    ['a validation error', 400, () => harness.fetch('/graphql', { method: 'POST', headers: json, body: JSON.stringify({ query: '{ nope }' }) })],
    ['an upstream 404', 200, () => harness.fetch('/graphql', { method: 'POST', headers: { ...json, accept: 'application/json' }, body: JSON.stringify({ query: '{ execution(id: "ex_missing") { id } }' }) })],
    ['a GET without the CSRF header', 403, () => harness.fetch(`/graphql?query=${TYPENAME}`)],
    ['a method /graphql does not take', 405, () => harness.fetch('/graphql', { method: 'PUT', headers: json, body: EXECUTION })],
    ['a CORS preflight', 204, () => harness.fetch('/graphql', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } })],
    ['an unknown path (the edge)', 404, () => harness.fetch('/nope', { headers: { authorization: AUTH } })],
    ['an Accept with q=0 only (the edge)', 406, () => harness.fetch('/graphql', { method: 'POST', headers: { ...json, accept: 'application/json;q=0' }, body: EXECUTION })],
    ['a body over the limit (the edge)', 413, () => harness.fetch('/graphql', { method: 'POST', headers: json, body: 'x'.repeat(2_048) })],
    ['a head past 16 KiB (the edge)', 431, () => harness.fetch(`/graphql?query=${TYPENAME}`, { headers: { 'x-graphql-yoga-csrf': '1', 'x-padding': 'p'.repeat(20_000) } })],
    ['an unsupported media type', 415, () => harness.fetch('/graphql', { method: 'POST', headers: { ...json, 'content-type': 'application/xml' }, body: '<q/>' })],
  ];

  it("sends GraphiQL's page with an ETag and no-cache, and a 304 with no body to a browser that has it", async () => {
    const page = await harness.fetch('/graphql', { headers: { accept: 'text/html', origin: 'https://app.example' } });
    const bytes = (await page.arrayBuffer()).byteLength;
    expect(page.status).toBe(200);
    expect(bytes).toBeGreaterThan(1_000_000);
    const etag = page.headers.get('etag');
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(page.headers.get('vary')).toMatch(/Origin.*Accept/);
    // Never framed by another site, never sniffed; the 304 carries the same.
    const framing = (response: Response) => ['content-security-policy', 'x-frame-options', 'x-content-type-options'].map((name) => response.headers.get(name));
    expect(framing(page)).toEqual(["frame-ancestors 'none'", 'DENY', 'nosniff']);

    for (const ifNoneMatch of [etag!, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await harness.fetch('/graphql', { headers: { accept: 'text/html', origin: 'https://app.example', 'if-none-match': ifNoneMatch } });
      expect([again.status, (await again.arrayBuffer()).byteLength], ifNoneMatch).toEqual([304, 0]);
      // The headers the page had: its tag and caching, Vary, CORS and a request id of its own.
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('cache-control')).toBe('no-cache');
      expect(again.headers.get('vary')).toBe(page.headers.get('vary'));
      expect(again.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(again.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(again.headers.get('x-request-id')).not.toBe(page.headers.get('x-request-id'));
      expect(again.headers.get('content-type')).toBeNull();
      expect(framing(again)).toEqual(framing(page));
    }
    // Another tag: the page, whole.
    const changed = await harness.fetch('/graphql', { headers: { accept: 'text/html', 'if-none-match': '"an-older-page"' } });
    expect([changed.status, (await changed.arrayBuffer()).byteLength]).toEqual([200, bytes]);
    // An operation's answer is never revalidated, whatever the tag: no-store, as every other answer.
    const operation = await harness.fetch(`/graphql?query=${TYPENAME}`, { headers: { 'x-graphql-yoga-csrf': '1', 'if-none-match': etag! } });
    expect(operation.status).toBe(200);
    expect(await operation.json()).toMatchObject({ data: { __typename: 'Query' } });
    expect([operation.headers.get('cache-control'), operation.headers.get('etag')]).toEqual(['no-store', null]);
  });

  it.each(ANSWERS)('on %s (%i): no-store', async (_name, status, request) => {
    const response = await request();
    await response.arrayBuffer();
    expect(response.status).toBe(status);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it.each([
    ['malformed HTTP', 400, 'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nNot A Header\r\n\r\n'],
    ['a head past what the parser reads', 431, `GET /graphql?query=${TYPENAME} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-padding: ${'p'.repeat(70_000)}\r\n\r\n`],
    ['a refused WebSocket upgrade', 404, 'GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'],
  ])('on %s (%i, written on the socket): no-store', async (_name, status, bytes) => {
    const { text } = await rawExchange(harness.url, bytes);
    const answer = rawHeaders(text);
    expect(answer.status, text.slice(0, 200)).toBe(status);
    expect(answer.headers['cache-control']).toBe('no-store');
  });

  it.each(['GET', 'POST'])('on a subscription by %s: an event stream that is neither stored nor transformed', async (method) => {
    const query = 'subscription { executionUpdates(id: "ex_demo_4") { isFinal } }';
    const headers = { accept: 'text/event-stream', authorization: AUTH };
    const response =
      method === 'GET'
        ? await harness.fetch(`/graphql?query=${encodeURIComponent(query)}`, { headers })
        : await harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-store, no-transform');
    // No coding was applied: none is said by no Content-Encoding; `none` is no registered coding (RFC 9110 §8.4.1).
    expect(response.headers.get('content-encoding')).toBeNull();
    // What stops nginx buffering the stream stays.
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    await response.body?.cancel();
  });
});
