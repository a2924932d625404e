/**
 * A field aliased `__proto__`. graphql-js builds each result object without a prototype, so the alias is a key like
 * any other. graphql-jit writes the leaves of an object as an object literal, where `"__proto__": value` sets the
 * prototype instead: from its compiled run on (the 33rd), the fast lane dropped the aliased field from the answer,
 * without an error, where the full lane and the first 32 runs served it. Both lanes must answer alike, every run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WARM_UP_RUNS } from '../src/fast-lane/compiled-execution.js';
import { Harness, LANES } from './support/harness.js';

/** Past the fast lane's warm-up: the last runs are compiled where anything is. */
const RUNS = WARM_UP_RUNS + 4;

const DOCUMENTS = [
  ['a leaf of an execution', 'query Leaf($id: ID!) { execution(id: $id) { __proto__: id status } }', '{"execution":{"__proto__":"ex_demo_2","status":"PAYMENT_CONFIRMED"}}'],
  ['a leaf of the root', 'query Root($id: ID!) { __proto__: __typename execution(id: $id) { id } }', '{"__proto__":"Query","execution":{"id":"ex_demo_2"}}'],
  ['an object', 'query Object($id: ID!) { execution(id: $id) { id __proto__: events(first: 1) { totalCount } } }', '{"execution":{"id":"ex_demo_2","__proto__":{"totalCount":5}}}'],
] as const;

describe.each(LANES)('a field aliased __proto__ (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  // The data as JSON text: an object literal takes `__proto__` as its prototype, as graphql-jit's code did.
  it.each(DOCUMENTS)('is served under its alias as %s, every run', async (_what, query, data) => {
    for (let run = 1; run <= RUNS; run++) {
      const response = await harness.query(query, { id: 'ex_demo_2' });
      expect({ run, status: response.status, errors: response.errors, data: JSON.stringify(response.data) }).toEqual({ run, status: 200, errors: undefined, data });
    }
    expect(harness.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
