/**
 * A token put in the URL (`ws://…/graphql?token=…`, `?authorization=`, `/graphql?access_token=…` over HTTP or
 * Server-Sent Events) is not read, as before, but the refusal now says so: it was the generic "Missing
 * Authorization", as if nothing had been sent. The message names the parameter (never its value) and where the
 * gateway reads a token instead (a WebSocket's connectionParams, the Authorization header), on both lanes, with
 * no upstream call; the token reaches no answer and no log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AUTH, Harness, LANES } from './support/harness.js';
import { nextEvents, resultsOverWebSocket } from './support/transports.js';

const SECRET = 'Bearer url-secret-7f3a';
const QUERY = '{ execution(id: "ex_demo_1") { id } }';
const WATCH = 'subscription { executionUpdates(id: "ex_demo_2") { isFinal } }';
const NEVER = 'but this gateway never reads a token from a URL (proxies, access logs and browser history keep URLs)';
const overSocket = (names: string) =>
  `Missing Authorization: the WebSocket's URL has ${names}, ${NEVER}: send it in connection_init as \`connectionParams: { authorization: 'Bearer <token>' }\` (the key \`authorization\`, in any case, at the top level or inside \`headers\`), and leave it out of the URL.`;
const overHttp = (names: string) => `Missing Authorization: the URL has ${names}, ${NEVER}: send the \`Authorization: Bearer <token>\` header instead, and leave it out of the URL.`;
const GENERAL =
  'Missing Authorization: send the `Authorization: Bearer <token>` you would send to the executions API, as a header (over WebSocket: `connectionParams: { authorization }` in connection_init).';

describe.each(LANES)('a token in the URL (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  async function overWebSocket(query: string, search: string, connectionParams: Record<string, unknown> = {}): Promise<ExecutionResult[]> {
    const client = createClient({ url: `${harness.url.replace(/^http/, 'ws')}${search}`, webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
    try {
      return await resultsOverWebSocket(client, { query });
    } finally {
      await client.dispose();
    }
  }

  it.each([
    ['?token=', `?token=${encodeURIComponent(SECRET)}`, '`token`'],
    ['?authorization=', `?authorization=${encodeURIComponent(SECRET)}`, '`authorization`'],
    ['?access_token= and ?apiKey=', `?x=1&access_token=${encodeURIComponent(SECRET)}&apiKey=k`, '`access_token`, `apiKey`'],
  ])('over a WebSocket, %s is told the gateway reads connectionParams, never the URL', async (_name, search, names) => {
    const before = harness.upstream.requests.length;
    const [query] = await overWebSocket(QUERY, search);
    expect(query!.errors).toMatchObject([{ message: overSocket(names), extensions: { code: 'UNAUTHENTICATED' }, path: ['execution'] }]);
    const [watch] = await overWebSocket(WATCH, search);
    expect(watch!.errors).toMatchObject([{ message: overSocket(names), extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(JSON.stringify([query, watch])).not.toContain('url-secret');
    expect(harness.upstream.requests.length).toBe(before);
    expect(harness.rawLogs).not.toContain('url-secret');
  });

  it('over a WebSocket, a token in connectionParams is served whatever the URL holds', async () => {
    const [result] = await overWebSocket(QUERY, `?token=${encodeURIComponent(SECRET)}`, { authorization: AUTH });
    expect(result!.errors).toBeUndefined();
    expect(result!.data).toEqual({ execution: { id: 'ex_demo_1' } });
  });

  it('over GET, the URL\'s token is named and the header asked for', async () => {
    const before = harness.upstream.requests.length;
    const response = await harness.fetch(`/graphql?${new URLSearchParams({ query: QUERY, access_token: SECRET })}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    const body = (await response.json()) as ExecutionResult;
    expect(body.errors).toMatchObject([{ message: overHttp('`access_token`'), extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(JSON.stringify(body)).not.toContain('url-secret');
    expect(harness.upstream.requests.length).toBe(before);
    expect(harness.rawLogs).not.toContain('url-secret');
  });

  it('over Server-Sent Events (POST to a URL with ?token=), the same', async () => {
    const response = await harness.fetch(`/graphql?token=${encodeURIComponent(SECRET)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: WATCH }),
    });
    const events = nextEvents(await response.text());
    expect(events[0]!.errors).toMatchObject([{ message: overHttp('`token`'), extensions: { code: 'UNAUTHENTICATED' } }]);
    expect(harness.upstream.requestsFor('ex_demo_2')).toHaveLength(0);
  });

  it('keeps the general message for a URL with no token-like parameter', async () => {
    const [result] = await overWebSocket(QUERY, '?client=web');
    expect(result!.errors![0]!.message).toBe(GENERAL);
    const response = await harness.fetch(`/graphql?${new URLSearchParams({ query: QUERY, tokens: 'x' })}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(((await response.json()) as ExecutionResult).errors![0]!.message).toBe(GENERAL);
  });
});
