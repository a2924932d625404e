/**
 * An Int variable sent as a JSON integer past 2^53 is refused naming the number as it was read, and saying so,
 * as an ID variable is: graphql-js told the client that sent 9007199254740993 it 'got invalid value
 * 9007199254740992', a value it never sent. On both lanes, over POST, GET, Server-Sent Events and a WebSocket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AUTH, codes, Harness, LANES } from './support/harness.js';
import { nextEvents, resultsOverWebSocket } from './support/transports.js';

const QUERY = 'query ($first: Int) { execution(id: "ex_demo_1") { events(first: $first) { totalCount } } }';
const WATCH = 'subscription ($first: Int) { executionUpdates(id: "ex_demo_1") { execution { events(first: $first) { totalCount } } } }';
const ROUNDED =
  'Variable "$first" got an integer past 2^53, which JSON readers round (it was read as 9007199254740992): an Int holds whole numbers from -2147483648 to 2147483647 only.';
/** What JSON.parse cannot read as sent, and its refusal: a number past a double's range too (test/left7-past-double-numbers.test.ts for the rest of it). */
const UNSAFE = [
  ['an integer past 2^53', '{"first":9007199254740993}', ROUNDED],
  [
    "a number past a double's range",
    '{"first":1e400}',
    'Variable "$first" got a number past a double\'s range (above 1.8e308), which JSON readers cannot hold: an Int holds whole numbers from -2147483648 to 2147483647 only.',
  ],
] as const;

describe.each(LANES)('an Int variable JSON.parse may round (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (query: string, variablesJson: string, accept?: string) => harness.postVariablesText(query, variablesJson, AUTH, accept);

  it.each([
    ['9007199254740993', ROUNDED],
    // Past the bound on its own side (test/left7-negative-rounded.test.ts).
    ['-12345678901234567890', ROUNDED.replace('past 2^53', 'past -2^53').replace('9007199254740992', '-12345678901234567000')],
  ])('%s over POST is a 400 BAD_REQUEST that says how it was read, with no upstream call', async (sent, message) => {
    const before = harness.upstream.requests.length;
    const response = await post(QUERY, `{"first":${sent}}`);
    const body = (await response.json()) as ExecutionResult;
    expect(response.status).toBe(400);
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    expect(body.errors![0]!.message).toBe(message);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(harness.upstream.requests.length).toBe(before);
  });

  it.each(UNSAFE)('%s is refused the same over GET', async (_name, variables, message) => {
    const params = new URLSearchParams({ query: QUERY, variables });
    const response = await harness.fetch(`/graphql?${params}`, { headers: { authorization: AUTH } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ExecutionResult).errors![0]!.message).toBe(message);
  });

  it.each(UNSAFE)('%s refuses a watch over Server-Sent Events before it starts', async (_name, variables, message) => {
    const before = harness.upstream.requests.length;
    const response = await post(WATCH, variables, 'text/event-stream');
    const events = nextEvents(await response.text());
    expect(events.map(codes)).toEqual([['BAD_REQUEST']]);
    expect(events[0]!.errors![0]!.message).toBe(message);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('refuses a watch over a WebSocket', async () => {
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
    try {
      const results = await resultsOverWebSocket(client, { query: WATCH, variables: { first: Number('9007199254740993') } });
      expect(results.map(codes)).toEqual([['BAD_REQUEST']]);
      expect(results[0]!.errors![0]!.message).toBe(ROUNDED);
    } finally {
      await client.dispose();
    }
  });

  it('leaves an Int the schema refuses but JSON reads exactly to graphql-js, as sent', async () => {
    const response = await post(QUERY, '{"first":3000000000}');
    expect(response.status).toBe(400);
    expect(((await response.json()) as ExecutionResult).errors![0]!.message).toBe(
      'Variable "$first" got invalid value 3000000000; Int cannot represent non 32-bit signed integer value: 3000000000',
    );
  });
});
