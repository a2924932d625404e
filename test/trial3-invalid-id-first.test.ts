/**
 * An invalid execution id is named before the `events` page below it. A frontend whose route parameter was
 * not loaded yet (`id: ""`) and that kept a cursor from the page before got "Argument `after` is a cursor of
 * execution "ex_demo_7", not "". Cursors only work on the execution they came from.", and went after the
 * cursor; the id's own error came only once the page was mended. A page size out of range hid it the same way.
 * Neither costs an upstream call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { wsClient } from './support/live.js';
import { nextEvents, resultsOverWebSocket } from './support/transports.js';

const EMPTY = 'Execution id must not be empty: pass the id of the execution to read, e.g. `ex_acme_7` (an id not known yet, such as a route parameter still loading, is no reason to send the request).';
const PATTERN = 'Invalid execution id "bad id!": ids are 1-64 characters of letters, digits, "_" and "-" (allowed pattern ^[A-Za-z0-9_-]{1,64}$).';

describe.each(LANES)('an invalid id is named before its page (%s lane)', (lane) => {
  let harness: Harness;
  let cursor: string;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: demoExecutions() } });
    const page = await harness.query<{ execution: { events: { pageInfo: { endCursor: string } } } }>('{ execution(id: "ex_demo_7") { events(first: 2) { pageInfo { endCursor } } } }');
    cursor = page.data!.execution.events.pageInfo.endCursor;
  });
  afterAll(() => harness.close());

  const messages = (response: { errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number> }> }) =>
    (response.errors ?? []).map((error) => [error.path, error.message]);

  it('on execution', async () => {
    harness.upstream.reset();
    const response = await harness.query('query($id: ID!, $after: String, $first: Int) { execution(id: $id) { events(after: $after, first: $first) { totalCount } } }', { id: '', after: cursor });
    expect(messages(response)).toEqual([[['execution'], EMPTY]]);
    const sized = await harness.query('query($id: ID!, $first: Int) { execution(id: $id) { events(first: $first) { totalCount } } }', { id: 'bad id!', first: 500 });
    expect(messages(sized)).toEqual([[['execution'], PATTERN]]);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('on each item of executions(ids), its valid siblings still refused by their page as before', async () => {
    harness.upstream.reset();
    const response = await harness.query('query($ids: [ID!]!, $after: String) { executions(ids: $ids) { events(after: $after) { totalCount } } }', {
      ids: ['', 'ex_demo_6', 'bad id!'],
      after: cursor,
    });
    expect(response.data).toEqual({ executions: [null, null, null] });
    expect(messages(response)).toEqual([
      [['executions', 0], EMPTY],
      [['executions', 1], 'Argument `after` is a cursor of execution "ex_demo_7", not "ex_demo_6". Cursors only work on the execution they came from.'],
      [['executions', 2], PATTERN],
    ]);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('on a watch', async () => {
    harness.upstream.reset();
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
      body: JSON.stringify({ query: 'subscription($id: ID!) { executionUpdates(id: $id) { execution { events(last: 500) { totalCount } } } }', variables: { id: '' } }),
    });
    expect(nextEvents(await response.text()).map((result) => messages(result))).toEqual([[[['executionUpdates'], EMPTY]]]);
    const client = wsClient(harness);
    try {
      const results = await resultsOverWebSocket(client, { query: 'subscription($id: ID!, $first: Int) { executionUpdates(id: $id) { execution { events(first: $first) { totalCount } } } }', variables: { id: 'bad id!', first: 500 } });
      expect(results.map((result) => messages(result))).toEqual([[[['executionUpdates'], PATTERN]]]);
    } finally {
      await client.dispose();
    }
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
