/**
 * An empty string sent as a cursor says what stands for no cursor. A frontend whose "no cursor yet" state is
 * `''` (a form field, a URL parameter, `useState('')`) sent `after: ""` for its first page and was told only to
 * "pass a cursor returned by this field", which it had none of; the execution came back null. Now the message
 * says to leave the argument out or pass null. Refused as before, with no upstream call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { nextEvents } from './support/transports.js';

const PAGE = 'Pass a cursor returned by this field (edges.cursor, pageInfo.startCursor or pageInfo.endCursor), unchanged.';

describe.each(LANES)('an empty cursor (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: demoExecutions() } });
  });
  afterAll(() => harness.close());

  it.each(['after', 'before'])('as `%s` of a page', async (name) => {
    harness.upstream.reset();
    const response = await harness.query(`query($cursor: String) { execution(id: "ex_demo_7") { events(${name}: $cursor) { totalCount } } }`, { cursor: '' });
    expect(response.data).toEqual({ execution: null });
    expect(response.errors?.map((error) => [error.extensions?.['code'], error.message])).toEqual([
      ['BAD_USER_INPUT', `Argument \`${name}\` is not a valid events cursor. ${PAGE} An empty string is no cursor: to page without one, leave \`${name}\` out or pass null.`],
    ]);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('as a watch\'s `eventsAfter`', async () => {
    harness.upstream.reset();
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
      body: JSON.stringify({ query: 'subscription($after: String) { executionUpdates(id: "ex_demo_4", eventsAfter: $after) { cursor } }', variables: { after: '' } }),
    });
    const [result] = nextEvents(await response.text());
    expect(result?.errors?.map((error) => error.message)).toEqual([
      "Argument `eventsAfter` is not a valid events cursor. Pass, unchanged, the `cursor` of an update or of one of its `newEvents`, or a cursor of this execution's `events` (edges.cursor, pageInfo.startCursor or pageInfo.endCursor). An empty string is no cursor: to watch from now on, leave `eventsAfter` out or pass null.",
    ]);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('a cursor that is not empty is refused in the same words as before', async () => {
    const response = await harness.query('{ execution(id: "ex_demo_7") { events(after: "not-a-cursor") { totalCount } } }');
    expect(response.errors?.map((error) => error.message)).toEqual([`Argument \`after\` is not a valid events cursor. ${PAGE}`]);
  });
});
