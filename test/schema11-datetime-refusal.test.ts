/**
 * The DateTime scalar's description, what GraphiQL and codegen show beside `createdAfter` and `createdBefore`, said
 * an input it cannot read "is refused" and named no code. It is refused before anything runs, the whole request with
 * no `data`: `GRAPHQL_VALIDATION_FAILED` as a literal, `BAD_REQUEST` as a variable's value (README "Error codes").
 */
import { describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

describe('DateTime describes how an input it cannot read is refused', () => {
  it('names the code a literal and a variable get, as the gateway answers them', async () => {
    const harness = await Harness.start();
    try {
      const introspected = await harness.query<{ __type: { description: string } }>('{ __type(name: "DateTime") { description } }');
      expect(introspected.errors).toBeUndefined();
      const description = introspected.data!.__type.description;

      const literal = await harness.query('{ execution(id: "ex_demo_7") { events(filter: { createdAfter: "2026-03-01" }) { totalCount } } }');
      const variable = await harness.query('query ($t: DateTime) { execution(id: "ex_demo_7") { events(filter: { createdAfter: $t }) { totalCount } } }', { t: '2026-03-01' });
      for (const [answer, code] of [[literal, 'GRAPHQL_VALIDATION_FAILED'], [variable, 'BAD_REQUEST']] as const) {
        expect(answer.data).toBeUndefined();
        expect(answer.errors?.map((error) => error.extensions?.code)).toEqual([code]);
        expect(description).toContain(`\`${code}\``);
      }
      expect(harness.upstream.requests).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });
});
