/**
 * GraphiQL's docs and a codegen'd client's hover text are the root fields' descriptions, read by introspection:
 * a frontend handles the codes they name. `executions` named none (not the `BAD_USER_INPUT` that refuses more than
 * 100 ids, on the non-null field, so `data` is null; nor an item's own codes), and `execution` left out the bound of
 * 100 distinct executions per request that refuses the 101st alias or id beside it.
 */
import { describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

interface Described {
  name: string;
  description: string;
  args: Array<{ name: string; description: string }>;
}

const QUERY_FIELDS = '{ __type(name: "Query") { fields { name description args { name description } } } }';

describe('Query fields describe the errors they answer with', () => {
  it('names the codes of executions(ids) and the per-request bound of execution, as introspection serves them', async () => {
    const harness = await Harness.start();
    try {
      const introspected = await harness.query<{ __type: { fields: Described[] } }>(QUERY_FIELDS);
      expect(introspected.errors).toBeUndefined();
      const field = (name: string) => introspected.data!.__type.fields.find((each) => each.name === name)!;
      const executions = field('executions');
      const execution = field('execution');

      // More than 100 ids: refused on the field itself, which is non-null, so the whole `data` is null.
      const ids = Array.from({ length: 101 }, () => 'ex_demo_1');
      const callsBefore = harness.upstream.requests.length;
      const tooMany = await harness.query('query ($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids });
      expect(tooMany.data).toBeNull();
      expect(tooMany.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['executions'], 'BAD_USER_INPUT']]);
      expect(harness.upstream.requests.length).toBe(callsBefore);
      expect(executions.description).toMatch(/more than 100 ids[^.]*`BAD_USER_INPUT`/i);
      expect(executions.description).toContain('`data` is then null');
      expect(executions.args.find((arg) => arg.name === 'ids')!.description).toContain('`BAD_USER_INPUT`');

      // An item's own error: the codes `execution` answers with, in its place.
      const items = await harness.query('{ executions(ids: ["ex_demo_1", "not an id!", "ex_missing"]) { id } }');
      expect(items.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([
        [['executions', 1], 'BAD_USER_INPUT'],
        [['executions', 2], 'NOT_FOUND'],
      ]);
      for (const code of ['BAD_USER_INPUT', 'NOT_FOUND']) expect(executions.description).toContain(`\`${code}\``);

      // The 101st distinct execution of one request, beside a list of 100, is refused on `execution`.
      const hundred = Array.from({ length: 100 }, (_, index) => `ex_bound_${index}`);
      const past = await harness.query('query ($ids: [ID!]!) { executions(ids: $ids) { id } one: execution(id: "ex_demo_2") { id } }', { ids: hundred });
      expect(past.errors?.find((error) => error.path?.[0] === 'one')?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(execution.description).toMatch(/more than 100 distinct executions/);
    } finally {
      await harness.close();
    }
  });
});
