/**
 * An ID variable sent as a JSON number past 2^53 is refused, not rounded: JSON.parse reads 9007199254740993 as
 * 9007199254740992, and graphql-js's ID turns that into the text of another id, which the gateway then asked
 * upstream for, serving another execution under the id the client sent. On every transport and lane.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { demoExecutions, makeExecution } from '../src/demo/demo-data.js';
import { AUTH, codes, Harness, LANES } from './support/harness.js';
import { nextEvents, resultsOverWebSocket } from './support/transports.js';

/** What JSON.parse makes of 9007199254740993 (2^53 + 1), and the id its text names. */
const ROUNDED = '9007199254740992';
const SENT = '9007199254740993';
const MESSAGE = `Variable "$id" got an integer past 2^53, which JSON readers round (it was read as ${ROUNDED}): an ID cannot hold it exactly; send the id as a string.`;

describe.each(LANES)('an ID variable past 2^53 (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: [...demoExecutions(), makeExecution({ id: ROUNDED, status: 'workflow_running' })] } });
  });
  afterAll(() => harness.close());

  const post = (query: string, variablesJson: string, accept?: string) => harness.postVariablesText(query, variablesJson, AUTH, accept);

  it('is a 400 BAD_REQUEST naming it, with no upstream call, for execution(id:)', async () => {
    const response = await post('query ($id: ID!) { execution(id: $id) { id } }', `{"id":${SENT}}`);
    const body = (await response.json()) as ExecutionResult;
    expect(response.status).toBe(400);
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    expect(body.errors![0]!.message).toBe(MESSAGE);
    expect(body.data).toBeUndefined();
    expect(harness.upstream.requestsFor(ROUNDED)).toHaveLength(0);
  });

  it('is refused in a list of ids, and a safe integer still names its id', async () => {
    const refused = await post('query ($ids: [ID!]!) { executions(ids: $ids) { id } }', `{"ids":["ex_demo_1",${SENT}]}`);
    expect(refused.status).toBe(400);
    expect(codes((await refused.json()) as ExecutionResult)).toEqual(['BAD_REQUEST']);
    expect(harness.upstream.requestsFor(ROUNDED)).toHaveLength(0);
    expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(0);

    const served = await post('query ($id: ID!) { execution(id: $id) { id } }', '{"id":12345}');
    expect(((await served.json()) as ExecutionResult).errors?.[0]?.extensions?.['code']).toBe('NOT_FOUND');
    expect(harness.upstream.requestsFor('12345')).toHaveLength(1);
  });

  it('refuses a watch over Server-Sent Events before it starts', async () => {
    const response = await post('subscription ($id: ID!) { executionUpdates(id: $id) { isFinal } }', `{"id":${SENT}}`, 'text/event-stream');
    expect(response.status).toBe(200);
    const events = nextEvents(await response.text());
    expect(events.map(codes)).toEqual([['BAD_REQUEST']]);
    expect(events[0]!.errors![0]!.message).toBe(MESSAGE);
    expect(harness.upstream.requestsFor(ROUNDED)).toHaveLength(0);
  });

  it('leaves a subscription no answer serves its 406, whatever its variables', async () => {
    const response = await post('subscription ($id: ID!) { executionUpdates(id: $id) { isFinal } }', `{"id":${SENT}}`);
    expect(response.status).toBe(406);
    expect(codes((await response.json()) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });

  it('refuses an operation over a WebSocket as an error before it ran', async () => {
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
    try {
      // graphql-ws's client sends variables with JSON.stringify, which writes the rounded number: the same value arrives.
      const results = await resultsOverWebSocket(client, { query: 'subscription ($id: ID!) { executionUpdates(id: $id) { isFinal } }', variables: { id: Number(SENT) } });
      expect(results.map(codes)).toEqual([['BAD_REQUEST']]);
      expect(results[0]!.errors![0]!.message).toBe(MESSAGE);
    } finally {
      await client.dispose();
    }
    expect(harness.upstream.requestsFor(ROUNDED)).toHaveLength(0);
  });
});
