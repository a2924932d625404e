/**
 * A request whose parameters hold a `then` (`{"query": …, "then": 1}`, `?query=…&then=1`). Yoga (and
 * @whatwg-node/promise-helpers, whose `isPromise` is `value?.then != null`) took the parsed parameters for a promise
 * and called their `then`: the full lane answered 500 "Unexpected error." with an error logged, the fast lane a 400
 * saying `variables` and `extensions` were not JSON objects. Any other parameter Yoga does not know is a 400 naming it;
 * a GET's it does not read are ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const QUERY = '{ execution(id: "ex_tp_1") { id } }';

describe.each(LANES)('a request parameter named then (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
    harness.upstream.put(makeExecution({ id: 'ex_tp_1', status: 'RUNNING', eventCount: 1 }));
  });
  afterAll(() => harness.close());

  const expectRefused = async (response: Response, name: string) => {
    const body = (await response.json()) as { errors?: Array<{ message: string; extensions?: { code?: string } }> };
    expect({ status: response.status, errors: body.errors?.map(({ message, extensions }) => ({ message, code: extensions?.code })) }).toEqual({
      status: 400,
      errors: [{ message: `Unexpected parameter "${name}" in the request body.`, code: 'BAD_REQUEST' }],
    });
  };

  it.each(['then', 'thenable'])('a POST body\'s `%s` is refused as any unknown parameter is, 400 BAD_REQUEST', async (name) => {
    const before = harness.upstream.requests.length;
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
      body: JSON.stringify({ query: QUERY, [name]: 1 }),
    });
    await expectRefused(response, name);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it.each(['then', 'thenable'])('a POST body\'s `%s: null` is served, as Yoga ignores any parameter that is null', async (name) => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
      body: JSON.stringify({ query: QUERY, [name]: null }),
    });
    expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 200, body: { data: { execution: { id: 'ex_tp_1' } } } });
  });

  it.each(['then', 'thenable'])('a GET\'s `%s` is ignored, as any parameter Yoga does not read, and nothing is logged as an error', async (name) => {
    const response = await harness.fetch(`/graphql?query=${encodeURIComponent(QUERY)}&${name}=1`, { headers: { accept: 'application/graphql-response+json', authorization: AUTH } });
    expect({ status: response.status, body: await response.json() }).toMatchObject({ status: 200, body: { data: { execution: { id: 'ex_tp_1' } } } });
    expect(harness.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });
});
