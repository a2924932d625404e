/**
 * Query's description, the first thing GraphiQL's docs show, said every field needs an `Authorization` header and
 * not what a field gets without one: null with `UNAUTHENTICATED`, and no upstream call, which a frontend handles as
 * "sign in again" before the token was ever sent.
 */
import { describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

describe('Query describes a request without a token', () => {
  it('names UNAUTHENTICATED, as the gateway answers a field asked for without Authorization', async () => {
    const harness = await Harness.start();
    try {
      const introspected = await harness.query<{ __type: { description: string } }>('{ __type(name: "Query") { description } }');
      expect(introspected.errors).toBeUndefined();

      const response = await fetch(harness.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ execution(id: "ex_demo_7") { id } }' }),
      });
      const answer = (await response.json()) as { data?: unknown; errors?: Array<{ path?: unknown; extensions?: { code?: string } }> };
      expect(answer.data).toEqual({ execution: null });
      expect(answer.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['execution'], 'UNAUTHENTICATED']]);
      expect(harness.upstream.requests).toHaveLength(0);

      expect(introspected.data!.__type.description).toMatch(/without (it|one)[^.]*null with `UNAUTHENTICATED`/);
    } finally {
      await harness.close();
    }
  });
});
