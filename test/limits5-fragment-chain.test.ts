/**
 * A document whose fragments spread one another in a long chain, within a raised OPERATION_MAX_TOKENS (2,000
 * fragments, 61 KB, fit the default MAX_REQUEST_BODY_BYTES): the validation rules follow spreads by recursion and ran out of stack, which was a masked
 * 500 logged as the gateway's own failure. It is a GRAPHQL_VALIDATION_FAILED saying what to change
 * (src/pipeline/operation-limits.ts `useValidationBudget`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES, type LaneName } from './support/harness.js';

/** `{ ...F0 } fragment F0 on Query { ...F1 } … fragment F<n-1> on Query { __typename }`: 8 tokens per fragment. */
function chain(fragments: number): string {
  const name = (i: number) => `F${i.toString(36)}`;
  const definitions = Array.from({ length: fragments }, (_, i) => `fragment ${name(i)} on Query{${i + 1 < fragments ? `...${name(i + 1)}` : '__typename'}}`);
  return `{...${name(0)}} ${definitions.join(' ')}`;
}

describe.each(LANES)('a long chain of fragments, %s lane', (lane: LaneName) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { OPERATION_MAX_TOKENS: '100000', MAX_REQUEST_BODY_BYTES: '1048576' } });
  });
  afterAll(async () => {
    await harness?.close();
  });

  it('is refused as too deep to validate, not answered with a 500', async () => {
    // 2,000 (61 KB, within the default body bound) was enough here; 12,000 (96,000 tokens) is, whatever the stack's size.
    for (const query of [chain(2_000), chain(12_000)]) {
      const answer = await harness.query(query);
      expect(answer.status).toBe(400);
      expect(answer.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
        [
          'GRAPHQL_VALIDATION_FAILED',
          'The document is too deeply nested to validate: its fragments spread one another, or its selections nest, further than the gateway follows. Spread fewer fragments inside one another, or split the request.',
        ],
      ]);
    }
    expect(harness.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
    expect(harness.upstream.requests).toHaveLength(0);
    // A short chain is served.
    const served = await harness.query(chain(20));
    expect(served.errors).toBeUndefined();
    expect(served.data).toEqual({ __typename: 'Query' });
  });
});
