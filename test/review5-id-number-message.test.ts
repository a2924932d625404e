/**
 * The refusal of an ID variable sent as a JSON number past 2^53 names the number it was read as, and says so: the
 * client sent 9007199254740993 and was told 'got invalid value 9007199254740992', a value it never sent, as if the
 * gateway had mixed up its request with another's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, Harness } from './support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

it('says the number was read rounded, and to send the id as a string', async () => {
  const response = await harness.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: '{"query":"query ($id: ID!) { execution(id: $id) { id } }","variables":{"id":9007199254740993}}',
  });
  expect(response.status).toBe(400);
  const body = (await response.json()) as ExecutionResult;
  expect(body.errors![0]!.message).toBe(
    'Variable "$id" got an integer past 2^53, which JSON readers round (it was read as 9007199254740992): an ID cannot hold it exactly; send the id as a string.',
  );
  expect(body.errors![0]!.extensions?.['code']).toBe('BAD_REQUEST');
});
