/**
 * A page size above 100 says how to get more events. A frontend asking `events(first: 1000)` for a whole
 * log was told "must be between 0 and 100, got 1000." and the execution came back null: nothing said that
 * the rest comes by paging on with the cursor. A negative size keeps its words: there is no more to get.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';

describe.each(LANES)('page sizes out of range (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: demoExecutions() } });
  });
  afterAll(() => harness.close());

  it.each([
    ['first', 1000, 'Argument `first` must be between 0 and 100, got 1000. For more events, page on with `after: pageInfo.endCursor` while `pageInfo.hasNextPage`.'],
    ['last', 101, 'Argument `last` must be between 0 and 100, got 101. For more events, page on with `before: pageInfo.startCursor` while `pageInfo.hasPreviousPage`.'],
    ['first', -1, 'Argument `first` must be between 0 and 100, got -1.'],
  ])('`%s: %i`', async (name, size, message) => {
    harness.upstream.reset();
    const response = await harness.query(`query($size: Int) { execution(id: "ex_demo_long") { events(${name}: $size) { totalCount } } }`, { size });
    expect(response.data).toEqual({ execution: null });
    expect(response.errors?.map((error) => [error.path, error.extensions?.['code'], error.message])).toEqual([[['execution'], 'BAD_USER_INPUT', message]]);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
