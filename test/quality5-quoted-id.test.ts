/**
 * An invalid execution id is quoted in its BAD_USER_INPUT cut at 64 characters, never through the middle of a
 * character: an emoji cut in half was quoted as the text `\ud83d`, half of a character the client never sent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, Harness } from './support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

it.each([63, 64])('quotes whole characters of a long id (padding %i)', async (padding) => {
  const response = await harness.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: JSON.stringify({ query: 'query ($id: ID!) { execution(id: $id) { id } }', variables: { id: `${'x'.repeat(padding)}${'😀'.repeat(10)}` } }),
  });
  const error = ((await response.json()) as ExecutionResult).errors![0]!;
  expect(error.extensions?.['code']).toBe('BAD_USER_INPUT');
  expect(error.message).toMatch(/^Invalid execution id "x+(?:😀)?…"/);
  expect(error.message).not.toContain('\\u');
  expect(harness.upstream.requests.length).toBe(0);
});
