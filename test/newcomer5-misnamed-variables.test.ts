/**
 * `{"variables": {"Id": "x"}}` for `query($id: ID!)` was told only 'Variable "$id" of required type "ID!" was not
 * provided.', though the client had sent a value: under another name. Now the refusal names what was sent and what
 * the operation declares, on both lanes and over a subscription's transports, with the same code and status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AUTH, Harness, LANES } from './support/harness.js';
import { nextEvents, resultsOverWebSocket } from './support/transports.js';

const QUERY = 'query($id: ID!){execution(id:$id){id}}';
const MISNAMED = 'Variable "$id" of required type "ID!" was not provided: variables has `Id`, which the operation does not declare; did you mean `$id`? Send it as `"id"` in variables.';

describe.each(LANES)('a misnamed variable, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (body: unknown, accept = 'application/graphql-response+json') =>
    harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept, authorization: AUTH }, body: JSON.stringify(body) });

  it('names the variable sent and the one declared, by POST and GET, still BAD_REQUEST and 400, with no upstream call', async () => {
    const posted = await post({ query: QUERY, variables: { Id: 'ex_demo_1' } });
    expect(posted.status).toBe(400);
    const body = (await posted.json()) as ExecutionResult;
    expect(body.errors).toMatchObject([{ message: MISNAMED, locations: [{ line: 1, column: 7 }], extensions: { code: 'BAD_REQUEST' } }]);
    const got = await harness.fetch(`/graphql?${new URLSearchParams({ query: QUERY, variables: '{"Id":"ex_demo_1"}' })}`, { headers: { authorization: AUTH, accept: 'application/graphql-response+json' } });
    expect(got.status).toBe(400);
    expect(((await got.json()) as ExecutionResult).errors![0]!.message).toBe(MISNAMED);
    expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(0);
  });

  it('lists the names sent when none is close to the one declared', async () => {
    const body = (await (await post({ query: QUERY, variables: { executionRef: 'ex_demo_1', page: 2 } })).json()) as ExecutionResult;
    expect(body.errors![0]!.message).toBe(
      'Variable "$id" of required type "ID!" was not provided: variables has `executionRef`, `page`, which the operation does not declare; send the value as `id`, the name the operation declares (without its `$`).',
    );
    expect(body.errors![0]!.extensions?.['code']).toBe('BAD_REQUEST');
  });

  it('leaves graphql-js to speak when nothing undeclared was sent, and serves a variable sent right beside a stray one', async () => {
    const missing = (await (await post({ query: QUERY, variables: {} })).json()) as ExecutionResult;
    expect(missing.errors![0]!.message).toBe('Variable "$id" of required type "ID!" was not provided.');
    const served = (await (await post({ query: QUERY, variables: { id: 'ex_demo_1', Id: 'x' } })).json()) as ExecutionResult;
    expect(served.errors).toBeUndefined();
    expect(served.data).toEqual({ execution: { id: 'ex_demo_1' } });
  });

  it('says the same to a subscription, over Server-Sent Events and WebSocket', async () => {
    const subscription = 'subscription($id: ID!){executionUpdates(id:$id){isFinal}}';
    const sse = await post({ query: subscription, variables: { ID: 'ex_demo_1' } }, 'text/event-stream');
    const [first] = nextEvents(await sse.text());
    expect(first!.errors![0]!.message).toBe(MISNAMED.replace('`Id`', '`ID`'));
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
    try {
      const [result] = await resultsOverWebSocket(client, { query: subscription, variables: { ID: 'ex_demo_1' } });
      expect(result!.errors).toMatchObject([{ message: MISNAMED.replace('`Id`', '`ID`'), extensions: { code: 'BAD_REQUEST' } }]);
    } finally {
      await client.dispose();
    }
  });
});
