/**
 * `executions(ids)` past 100 ids says what to do: send the rest in another request, and that repeats count
 * (101 copies of one id are refused too, test/request-guards.test.ts). It said only "at most 100 are allowed
 * per query", where the bound on distinct executions across a request (src/errors.ts `tooManyExecutions`)
 * already said "split it into several requests".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';

const MANY = `query($ids: [ID!]!) { executions(ids: $ids) { id } }`;

describe.each(LANES)('the bound on ids names what to do (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: demoExecutions() } });
  });
  afterAll(() => harness.close());

  it.each([
    ['101 distinct ids', Array.from({ length: 101 }, (_, i) => `ex_${i}`)],
    ['101 copies of one id', Array.from({ length: 101 }, () => 'ex_demo_1')],
  ])('%s', async (_name, ids) => {
    const response = await harness.query(MANY, { ids });
    expect(response.errors?.map((error) => [error.extensions?.['code'], error.message])).toEqual([
      [
        'BAD_USER_INPUT',
        'Argument `ids` holds 101 ids, repeats included; at most 100 are allowed per request: send the rest in another request.',
      ],
    ]);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
