/**
 * A request without a token is told so before the `events` page below the execution is refused. A page whose
 * token had not loaded yet, holding a cursor from its URL, got "Argument `after` is not a valid events cursor…"
 * (BAD_USER_INPUT) and went after the cursor; the UNAUTHENTICATED it needed came only once that was mended. The
 * same request without the page was UNAUTHENTICATED at once. No upstream call either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';
import { nextEvents } from './support/transports.js';

describe.each(LANES)('a missing token is named before the page (%s lane)', (lane) => {
  let harness: Harness;
  let missing: string;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: demoExecutions() } });
    // The words a request without a token gets when no page is refused.
    missing = (await harness.query('{ execution(id: "ex_demo_1") { id } }', undefined, { authorization: null })).errors![0]!.message;
  });
  afterAll(() => harness.close());

  const answers = (response: { errors?: ReadonlyArray<{ message: string; path?: ReadonlyArray<string | number>; extensions?: Record<string, unknown> }> }) =>
    (response.errors ?? []).map((error) => [error.path, error.extensions?.['code'], error.message]);

  it('on execution and on each item of executions(ids)', async () => {
    harness.upstream.reset();
    const response = await harness.query(
      'query($after: String) { execution(id: "ex_demo_7") { events(after: $after) { totalCount } } executions(ids: ["ex_demo_1", "ex_demo_2"]) { events(first: 500) { totalCount } } }',
      { after: 'from-the-url' },
      { authorization: null },
    );
    expect(response.data).toEqual({ execution: null, executions: [null, null] });
    expect(answers(response)).toEqual([
      [['execution'], 'UNAUTHENTICATED', missing],
      [['executions', 0], 'UNAUTHENTICATED', missing],
      [['executions', 1], 'UNAUTHENTICATED', missing],
    ]);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('on a watch', async () => {
    harness.upstream.reset();
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { executionUpdates(id: "ex_demo_4") { execution { events(after: "from-the-url") { totalCount } } } }' }),
    });
    expect(nextEvents(await response.text()).map((result) => answers(result))).toEqual([[[['executionUpdates'], 'UNAUTHENTICATED', missing]]]);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('with a token, the page is refused as before', async () => {
    const response = await harness.query('{ execution(id: "ex_demo_7") { events(first: 500) { totalCount } } }');
    expect(answers(response).map(([path, code]) => [path, code])).toEqual([[['execution'], 'BAD_USER_INPUT']]);
  });
});
