/**
 * Variables nested thousands of levels deep fit in a 64 KiB body (`[` and `]`, two bytes a level). The check for
 * numbers JSON.parse rounded (src/pipeline/id-variables.ts) walked them by recursion and ran out of stack at about
 * 5,000 levels, even in a variable the operation does not declare: a masked 500 on every lane and transport.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';

const QUERY = 'query($id: ID!) { execution(id: $id) { id } }';
const nestedArrays = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);
const nestedObjects = (levels: number) => '{"":'.repeat(levels) + '1' + '}'.repeat(levels);

describe.each(LANES)('variables nested deeper than the stack (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (variablesJson: string) => harness.postVariablesText(QUERY, variablesJson, AUTH);

  it.each([
    ['30,000 arrays', nestedArrays(30_000)],
    ['13,000 objects', nestedObjects(13_000)],
  ])('serves an operation beside an undeclared variable of %s, with one upstream call of its caller', async (_name, nested) => {
    harness.upstream.reset();
    const response = await post(`{"id":"ex_demo_1","x":${nested}}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { execution: { id: 'ex_demo_1' } } });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH]);
  });

  it('refuses such a value given for the id as a variable of the wrong type, without calling upstream', async () => {
    harness.upstream.reset();
    for (const nested of [nestedArrays(30_000), nestedArrays(30_000, '1e400'), nestedObjects(13_000)]) {
      const response = await post(`{"id":${nested}}`);
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.errors.map((error) => error.extensions.code)).toEqual(['BAD_REQUEST']);
      expect(body.errors[0]!.message).toMatch(/^Variable "\$id" got invalid value .{0,80}; ID cannot represent value/);
    }
    expect(harness.upstream.requests).toEqual([]);
  });

  it('serves it by GET too, whose parameters hold 7,000 levels within the head', async () => {
    harness.upstream.reset();
    const variables = `{"id":"ex_demo_1","x":${nestedArrays(7_000)}}`;
    const response = await harness.fetch(`/graphql?query=${encodeURIComponent(QUERY)}&variables=${variables}`, { headers: { authorization: AUTH, accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { execution: { id: 'ex_demo_1' } } });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH]);
  });
});
