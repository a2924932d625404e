/**
 * `events(first:)` and `last:` said "outside that range `BAD_USER_INPUT`", which a frontend reads as the execution
 * nulled with an error beside the rest of `data`. A literal large enough to pass the static cost limit
 * (OPERATION_MAX_COST) is refused in validation instead, the whole request `GRAPHQL_VALIDATION_FAILED` with no
 * `data` at all (README "Paging through events"); the arguments' descriptions, what GraphiQL and codegen show, say both.
 */
import { describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

interface Arg {
  name: string;
  description: string;
}

describe('events page size arguments describe both refusals', () => {
  it('names GRAPHQL_VALIDATION_FAILED for a literal past the cost limit, as the gateway answers it', async () => {
    const harness = await Harness.start();
    try {
      const introspected = await harness.query<{ __type: { fields: Array<{ name: string; args: Arg[] }> } }>(
        '{ __type(name: "Execution") { fields { name args { name description } } } }',
      );
      expect(introspected.errors).toBeUndefined();
      const args = introspected.data!.__type.fields.find((field) => field.name === 'events')!.args;

      for (const name of ['first', 'last']) {
        const inRange = await harness.query(`{ execution(id: "ex_demo_1") { events(${name}: 101) { totalCount } } }`);
        expect(inRange.data).toEqual({ execution: null });
        expect(inRange.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);

        const calls = harness.upstream.requests.length;
        const past = await harness.query(`{ execution(id: "ex_demo_1") { events(${name}: 1000000) { totalCount } } }`);
        expect(past.data).toBeUndefined();
        expect(past.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
        expect(harness.upstream.requests.length).toBe(calls);

        const description = args.find((arg) => arg.name === name)!.description;
        expect(description).toContain('`BAD_USER_INPUT`');
        expect(description).toContain('`GRAPHQL_VALIDATION_FAILED`');
        expect(description).toContain('`OPERATION_MAX_COST`');
      }
    } finally {
      await harness.close();
    }
  });
});
