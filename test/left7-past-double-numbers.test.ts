/**
 * A JSON number past a double's range (`1e400`) sent for an Int, an ID, a string-taking type (at any depth) or a
 * Float is refused saying what was sent: JSON.parse reads it as ±Infinity, and graphql-js told the client it 'got
 * invalid value Infinity', a value it never sent. On both lanes, over POST and a WebSocket (raw: graphql-ws's client
 * would send the number as null), with no upstream call; GET and Server-Sent Events in test/edge5-int-numbers.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import WebSocket from 'ws';
import { roundedIdError } from '../src/pipeline/id-variables.js';
import { AUTH, codes, Harness, LANES } from './support/harness.js';

const FIRST = 'query ($first: Int) { execution(id: "ex_demo_1") { events(first: $first) { totalCount } } }';
const WATCH = 'subscription ($first: Int) { executionUpdates(id: "ex_demo_1") { execution { events(first: $first) { totalCount } } } }';
const BY_ID = 'query ($id: ID!) { execution(id: $id) { id } }';
const FILTERED = 'query ($f: ExecutionEventFilter) { execution(id: "ex_demo_1") { events(filter: $f) { totalCount } } }';
const INT = 'an Int holds whole numbers from -2147483648 to 2147483647 only.';
const ABOVE = `Variable "$first" got a number past a double's range (above 1.8e308), which JSON readers cannot hold: ${INT}`;

describe.each(LANES)('a number past a double\'s range (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (query: string, variablesJson: string, accept?: string) => harness.postVariablesText(query, variablesJson, AUTH, accept);

  it.each([
    ['an Int', FIRST, '{"first":1e400}', ABOVE],
    ['a negative Int', FIRST, '{"first":-1e400}', `Variable "$first" got a number past a double's range (below -1.8e308), which JSON readers cannot hold: ${INT}`],
    ['an ID', BY_ID, '{"id":1E+999}', 'Variable "$id" got a number past a double\'s range (above 1.8e308), which JSON readers cannot hold: an ID cannot hold it exactly; send the id as a string.'],
    [
      'a String in a list of an input object',
      FILTERED,
      '{"f":{"eventTypes":["log",-1e400]}}',
      'Variable "$f" got a number past a double\'s range (below -1.8e308) at "f.eventTypes[1]", which JSON readers cannot hold: String takes no number: send a string.',
    ],
  ])('%s over POST is a 400 BAD_REQUEST that says what was sent, with no upstream call', async (_name, query, variables, message) => {
    const before = harness.upstream.requests.length;
    const response = await post(query, variables);
    const body = (await response.json()) as ExecutionResult;
    expect(response.status).toBe(400);
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    expect(body.errors![0]!.message).toBe(message);
    expect(body.errors![0]!.message).not.toMatch(/Infinity/);
    expect(harness.upstream.requests.length).toBe(before);
  });

  // GET and Server-Sent Events: test/edge5-int-numbers.test.ts, beside an integer past 2^53.

  it('refuses a watch over a WebSocket', async () => {
    const before = harness.upstream.requests.length;
    const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
    const received = (type: string) =>
      new Promise<{ type: string; payload?: unknown }>((resolve, reject) => {
        const found = () => messages.find((message) => message.type === type);
        const check = () => {
          const message = found();
          if (message) resolve(message);
        };
        socket.on('message', check);
        socket.once('close', () => reject(new Error(`closed before a ${type} message`)));
        check();
      });
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
      await received('connection_ack');
      socket.send(`{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(WATCH)},"variables":{"first":1e400}}}`);
      const refusal = await received('error');
      expect(refusal.payload).toEqual([expect.objectContaining({ message: ABOVE, extensions: { code: 'BAD_REQUEST' } })]);
      expect(harness.upstream.requests.length).toBe(before);
    } finally {
      socket.terminate();
    }
  });
});

describe('a Float variable past a double\'s range', () => {
  // The gateway's schema takes no Float argument: a schema that does, as the check is written for any.
  const schema = buildSchema('type Query { scaled(by: Float): Int }');
  const document = parse('query ($by: Float) { scaled(by: $by) }');

  it('is refused saying what was sent, not as Infinity', () => {
    const refused = roundedIdError(schema, document, undefined, { by: JSON.parse('-1e400') as number });
    expect(refused?.errors?.map((error) => error.message)).toEqual([
      'Variable "$by" got a number past a double\'s range (below -1.8e308), which JSON readers cannot hold: a Float holds numbers up to about ±1.8e308 only.',
    ]);
    expect(refused?.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', http: { status: 400 } });
  });

  it('is left to graphql-js when it is an integer past 2^53: a Float is a double, which is what it takes', () => {
    expect(roundedIdError(schema, document, undefined, { by: Number('9007199254740993') })).toBeUndefined();
  });
});
