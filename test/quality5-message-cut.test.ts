/**
 * A message cut at 500 characters (src/pipeline/error-codes.ts) never ends in half a surrogate pair: graphql-js
 * quotes a variable's value in its coercion error, and a value with an emoji where the cut fell sent `\ud83d…`, a
 * lone surrogate, which strict JSON readers (Rust's serde_json among them) refuse, failing the whole response.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, Harness, LANES } from './support/harness.js';

const LONE_SURROGATE = /\p{Cs}/u;

describe.each(LANES)('%s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  // Emoji are two UTF-16 units each: of two paddings one apart, one puts the cut between the two halves of one.
  it.each([440, 441])('a cut through emoji keeps whole characters (padding %i)', async (padding) => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({
        query: 'query ($first: Int) { execution(id: "ex_demo_1") { id events(first: $first) { totalCount } } }',
        variables: { first: `${'x'.repeat(padding)}${'😀'.repeat(100)}` },
      }),
    });
    const text = await response.text();
    expect(text).not.toMatch(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i);
    const message = ((JSON.parse(text) as ExecutionResult).errors ?? [])[0]!.message;
    expect(message.endsWith('…')).toBe(true);
    expect(message.length).toBeLessThanOrEqual(500);
    expect(LONE_SURROGATE.test(message)).toBe(false);
    expect(harness.upstream.requests.length).toBe(0);
  });
});
