/**
 * An empty execution id says what to send. A page whose route parameter had not loaded sent `id: ""` and got
 * "Execution id must not be empty.": what was wrong, not what to do. Now it names what an id looks like and
 * that a page with no id yet should not send the request. No upstream call, on every field that takes an id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { nextEvents } from './support/transports.js';

const EMPTY =
  'Execution id must not be empty: pass the id of the execution to read, e.g. `ex_acme_7` (an id not known yet, such as a route parameter still loading, is no reason to send the request).';

describe.each(LANES)('an empty execution id (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: demoExecutions() } });
  });
  afterAll(() => harness.close());

  it('on execution and on an item of executions(ids)', async () => {
    harness.upstream.reset();
    const response = await harness.query('query($id: ID!, $ids: [ID!]!) { execution(id: $id) { id } executions(ids: $ids) { id } }', { id: '', ids: ['ex_demo_1', ''] });
    expect(response.data).toEqual({ execution: null, executions: [{ id: 'ex_demo_1' }, null] });
    expect(response.errors?.map((error) => [error.path, error.extensions?.['code'], error.message])).toEqual([
      [['execution'], 'BAD_USER_INPUT', EMPTY],
      [['executions', 1], 'BAD_USER_INPUT', EMPTY],
    ]);
    expect(harness.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_demo_1']);
  });

  it('on a watch', async () => {
    harness.upstream.reset();
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
      body: JSON.stringify({ query: 'subscription { executionUpdates(id: "") { cursor } }' }),
    });
    expect(nextEvents(await response.text()).map((result) => result.errors?.map((error) => error.message))).toEqual([[EMPTY]]);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
