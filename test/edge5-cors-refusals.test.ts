/**
 * What a browser page at an allowed origin can read of every answer the HTTP edge gives itself: the status, the
 * body with its `extensions.code`, and `x-request-id` (exposed), as of the pipeline's answers; on both lanes.
 * `Access-Control-Allow-Methods` and `-Max-Age` mean something on a preflight only, so they are not compared.
 * The masked 500 of a request that failed outside the pipeline carried no CORS header at all: the page saw a bare
 * "Failed to fetch", and could read neither the code nor the request id to report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plugin } from 'graphql-yoga';
import { AUTH, Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const ORIGIN = 'https://app.example';
const JSON_BODY = { origin: ORIGIN, authorization: AUTH, 'content-type': 'application/json' };

/** A plugin broken for requests that ask for it: what throws outside the pipeline's own error handling. */
const broken: Plugin = {
  onRequest({ request }) {
    if (request.headers.get('x-test-explode') === 'onRequest') throw new Error('onRequest broke');
  },
  onResponse({ request }) {
    if (request.headers.get('x-test-explode') === 'onResponse') throw new Error('onResponse broke');
  },
};

interface Seen {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** The CORS view of an answer: what lets a page at ORIGIN read it. */
function readable(seen: Seen) {
  return {
    allowOrigin: seen.headers.get('access-control-allow-origin'),
    exposed: (seen.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/),
    varyOrigin: (seen.headers.get('vary') ?? '').toLowerCase().split(/\s*,\s*/).includes('origin'),
    requestId: seen.headers.get('x-request-id') !== undefined,
    credentials: seen.headers.get('access-control-allow-credentials') ?? null,
  };
}

/** Status, headers (lowercased) and body of a raw HTTP/1.1 answer. */
function parseRaw(text: string): Seen {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()] as [string, string]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') };
}

describe.each(LANES)('CORS on the edge\'s own answers (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, plugins: [broken], env: { CORS_ORIGINS: `${ORIGIN},https://other.example`, MAX_REQUEST_BODY_BYTES: '1000' } });
  });
  afterAll(() => harness.close());

  const viaFetch = async (path: string, init: RequestInit): Promise<Seen> => {
    const response = await harness.fetch(path, init);
    return { status: response.status, headers: new Map(response.headers), body: await response.text() };
  };
  const viaRaw = async (bytes: string): Promise<Seen> => parseRaw((await rawExchange(harness.url, bytes)).text);

  /** A served answer's view, every refusal's model. */
  let served: ReturnType<typeof readable>;
  beforeAll(async () => {
    const ok = await viaFetch('/graphql', { method: 'POST', headers: JSON_BODY, body: '{"query":"{ __typename }"}' });
    expect(ok.status).toBe(200);
    served = readable(ok);
    expect(served).toEqual({ allowOrigin: ORIGIN, exposed: ['x-request-id'], varyOrigin: true, requestId: true, credentials: null });
  });

  const post = (headers: Record<string, string>, body = '{"query":"{ __typename }"}') => ({ method: 'POST', headers: { ...JSON_BODY, ...headers }, body });
  it.each<[string, number, string, () => Promise<Seen>]>([
    ['a path not served', 404, 'BAD_REQUEST', () => viaFetch('/nope', post({}))],
    ['a method not taken', 405, 'BAD_REQUEST', () => viaFetch('/graphql', { ...post({}), method: 'PUT' })],
    ['an Accept nothing satisfies', 406, 'BAD_REQUEST', () => viaFetch('/graphql', post({ accept: 'image/png' }))],
    ['a body over the limit', 413, 'BAD_REQUEST', () => viaFetch('/graphql', post({}, ' '.repeat(2000)))],
    ['a URL past 16 KiB', 414, 'BAD_REQUEST', () => viaFetch(`/graphql?q=${'a'.repeat(17_000)}`, { headers: { origin: ORIGIN } })],
    ['a media type no parser reads', 415, 'BAD_REQUEST', () => viaFetch('/graphql', post({ 'content-type': 'application/xml' }, '<a/>'))],
    ['a content coding', 415, 'BAD_REQUEST', () => viaFetch('/graphql', post({ 'content-encoding': 'gzip' }))],
    ['header fields past 16 KiB', 431, 'BAD_REQUEST', () => viaFetch('/graphql', post({ 'x-big': 'a'.repeat(17_000) }))],
    ['two Authorization lines', 400, 'BAD_REQUEST', () => viaRaw(`POST /graphql HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nAuthorization: a\r\nAuthorization: b\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)],
    ['an Expect other than 100-continue', 417, 'BAD_REQUEST', () => viaRaw(`POST /graphql HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}`)],
    ['an unknown method', 501, 'BAD_REQUEST', () => viaRaw(`BREW /graphql HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\n\r\n`)],
    ['HTTP/2.0 in HTTP/1 syntax', 505, 'BAD_REQUEST', () => viaRaw(`GET /graphql HTTP/2.0\r\nHost: x\r\nOrigin: ${ORIGIN}\r\n\r\n`)],
    ['a plugin that threw in onRequest', 500, 'INTERNAL_SERVER_ERROR', () => viaFetch('/graphql', post({ 'x-test-explode': 'onRequest' }))],
    ['a plugin that threw in onResponse', 500, 'INTERNAL_SERVER_ERROR', () => viaFetch('/graphql', post({ 'x-test-explode': 'onResponse' }))],
  ])('%s (%i): readable as a served answer is, with its code and no stack', async (_name, status, code, send) => {
    const seen = await send();
    expect(seen.status).toBe(status);
    expect(readable(seen)).toEqual(served);
    const body = JSON.parse(seen.body) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors.map((error) => error.extensions.code)).toEqual([code]);
    expect(seen.body).not.toMatch(/\n\s+at |broke/);
  });

  it('gives another origin none of it on the 500 either, varying by Origin', async () => {
    const seen = await viaFetch('/graphql', post({ origin: 'https://evil.example', 'x-test-explode': 'onRequest' }));
    expect(seen.status).toBe(500);
    expect([...seen.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    expect(readable(seen).varyOrigin).toBe(true);
  });
});
