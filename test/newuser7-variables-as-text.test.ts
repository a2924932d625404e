/**
 * A client that encodes its variables twice (`JSON.stringify` of the variables put in a body that is stringified
 * again, a common slip with hand-written fetch calls and some HTTP tools) sends `"variables": "{\"id\": …}"`. The
 * gateway answered in Yoga's words, "Expected "variables" param to be empty or an object, but given string.", which
 * says what is wrong but not what to send; now it says to send the object itself, on both lanes, by POST and GET.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VARIABLES_AS_TEXT } from '../src/errors.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const QUERY = 'query One($id: ID!) { execution(id: $id) { id } }';

describe.each(LANES)('variables sent as a string (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (variables: unknown) =>
    harness.fetch('/graphql', { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY, variables }) });

  it('by POST: 400 BAD_REQUEST saying to send the object, with no upstream call', async () => {
    harness.upstream.reset();
    const response = await post(JSON.stringify({ id: 'ex_demo_1' }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: VARIABLES_AS_TEXT, extensions: { code: 'BAD_REQUEST' } }] });
    expect(harness.upstream.requests).toHaveLength(0);
    expect(VARIABLES_AS_TEXT).toMatch(/^Expected "variables" param to be empty or an object, but given string: send the variables as a JSON object/);
  });

  it('by GET, a JSON string in the parameter: the same', async () => {
    const search = new URLSearchParams({ query: QUERY, variables: JSON.stringify(JSON.stringify({ id: 'ex_demo_1' })) });
    const response = await harness.fetch(`/graphql?${search}`, { headers: { authorization: AUTH } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ errors: [{ message: VARIABLES_AS_TEXT, extensions: { code: 'BAD_REQUEST' } }] });
  });

  it('the object itself runs, and another kind of value keeps its own refusal', async () => {
    const served = (await (await post({ id: 'ex_demo_1' })).json()) as { data?: unknown };
    expect(served.data).toEqual({ execution: { id: 'ex_demo_1' } });
    const array = await post([{ id: 'ex_demo_1' }]);
    expect(array.status).toBe(400);
    expect(((await array.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe('Expected "variables" param to be empty or an object, but given array.');
  });
});
