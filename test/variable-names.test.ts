/**
 * Variables named as properties every plain object inherits. graphql-jit reads a variable the request left out as
 * `variables[name]`, which for `$constructor` or `$toString` is Object's own function: once such an operation was
 * compiled (its 33rd run) it answered INTERNAL_SERVER_ERROR and logged an error on every request. graphql-js stores
 * coerced variables in a plain object, where `__proto__` sets the prototype rather than a value: a `$__proto__` the
 * client sent was lost and refused as not provided. Both lanes must answer alike, on a fresh and a warm document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES, codes } from './support/harness.js';

/** More than the fast lane's warm-up (src/fast-lane/compiled-execution.ts WARM_UP_RUNS): the last runs are compiled where anything is. */
const RUNS = 40;

describe.each(LANES)('variables named as inherited object properties (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'])('serves a nullable $%s left out, every run', async (name) => {
    const query = `query($${name}: String, $id: ID!) { execution(id: $id) { events(after: $${name}, first: 1) { totalCount } } }`;
    for (let run = 1; run <= RUNS; run++) {
      const response = await harness.query(query, { id: 'ex_demo_1' });
      expect({ run, status: response.status, errors: response.errors }).toEqual({ run, status: 200, errors: undefined });
      expect(response.data).toEqual({ execution: { events: { totalCount: expect.any(Number) } } });
    }
    expect(harness.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('refuses $__proto__ as any invalid document (400, GRAPHQL_VALIDATION_FAILED) saying why, every run, upstream never asked', async () => {
    const before = harness.upstream.requests.length;
    for (let run = 1; run <= RUNS; run++) {
      const response = await harness.query('query($__proto__: ID!) { execution(id: $__proto__) { id } }', { ['__proto__']: 'ex_demo_1' });
      expect({ run, status: response.status, codes: codes(response) }).toEqual({ run, status: 400, codes: ['GRAPHQL_VALIDATION_FAILED'] });
      expect(response.errors![0]!.message).toContain('$__proto__');
      expect(response.data).toBeUndefined();
    }
    expect(harness.upstream.requests.length).toBe(before);
    expect(harness.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
