/**
 * A field whose response key is `then`. Yoga's executor (@graphql-tools/executor) takes any object with a `then` that
 * is not null for a promise: an object completed at once (an `events` page, an edge) whose `then` held a value was
 * called as one, `completed.then is not a function`, answered INTERNAL_SERVER_ERROR ("Unexpected error.", the whole
 * execution null) with an error line per request, on the full lane always and on the fast lane for its first 32 runs
 * (graphql-jit's compiled code, after them, served it). Refused now as an invalid document, on both lanes, every run,
 * saying why, as a variable named `$__proto__` is (test/variable-names.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WARM_UP_RUNS } from '../src/fast-lane/compiled-execution.js';
import { codes, Harness, LANES } from './support/harness.js';

/** Past the fast lane's warm-up: the last runs are compiled where anything is. */
const RUNS = WARM_UP_RUNS + 4;

const DOCUMENTS = [
  ['a count of an events page', 'query PageCount($id: ID!) { execution(id: $id) { events(first: 1) { then: totalCount } } }'],
  ['a cursor of an edge', 'query EdgeCursor($id: ID!) { execution(id: $id) { events(first: 1) { edges { then: cursor } } } }'],
  ['an id of an execution', 'query ExecutionId($id: ID!) { execution(id: $id) { then: id } }'],
  ['a root field', 'query Root($id: ID!) { then: execution(id: $id) { id } }'],
] as const;

describe.each(LANES)('a field aliased then (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each(DOCUMENTS)('as %s is GRAPHQL_VALIDATION_FAILED saying why, every run, upstream never asked, nothing logged as an error', async (_what, query) => {
    const before = harness.upstream.requests.length;
    for (let run = 1; run <= RUNS; run++) {
      const response = await harness.query(query, { id: 'ex_demo_2' });
      expect({ run, status: response.status, codes: codes(response), data: response.data }).toEqual({ run, status: 400, codes: ['GRAPHQL_VALIDATION_FAILED'], data: undefined });
      expect(response.errors![0]!.message).toBe('A field cannot be aliased "then": Yoga\'s executor reads an object holding a "then" as a promise, and fails it. Alias it otherwise.');
    }
    expect(harness.upstream.requests.length).toBe(before);
    expect(harness.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('any other alias, `thenable` and `Then` among them, is served', async () => {
    const response = await harness.query('query Others($id: ID!) { execution(id: $id) { Then: id events(first: 1) { thenable: totalCount } } }', { id: 'ex_demo_2' });
    expect({ status: response.status, errors: response.errors }).toEqual({ status: 200, errors: undefined });
    expect(response.data).toEqual({ execution: { Then: 'ex_demo_2', events: { thenable: 5 } } });
  });
});
