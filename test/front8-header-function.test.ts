/**
 * Headers given to the typed client as a function (graphql-request calls it per request) whose values fetch cannot send:
 * a token read with a line break inside it, or a curly quote pasted with it. fetch's refusal quoted the value whole
 * (`Headers.append: "Bearer …\n…" is an invalid header value.`): the token went into the error's message, which a page
 * logs and reports. Now a TypeError naming the header, never its value, before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, ExecutionsDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

describe('headers given as a function, holding a value fetch cannot send', () => {
  it.each([
    ['authorization', 'Bearer s3cret\ntoken'],
    ['authorization', 'Bearer s3cret\u2019token'],
    ['x-tenant', '\u0141ukasz-s3cret'],
  ])('%s: %j rejects with a TypeError naming the header, never its value; nothing is sent', async (name, value) => {
    const before = harness.upstream.requests.length;
    const client = new GatewayClient(harness.url, { headers: () => ({ authorization: AUTH, [name]: value }) });
    for (const attempt of [() => client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }), () => client.requestResult(ExecutionsDocument, { ids: ['ex_demo_1'] })]) {
      const error = await thrownBy(attempt());
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(
        `headers[${JSON.stringify(name)}] is not a valid header value: control characters (line breaks included) and characters past U+00FF are not allowed (encode the value, e.g. with encodeURIComponent). Nothing was sent.`,
      );
    }
    // setHeader over the function keeps the check.
    client.setHeader('x-trace-tag', 'a');
    expect((await thrownBy(client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })) as Error).message).not.toContain('s3cret');
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('a function of good headers still serves', async () => {
    const client = new GatewayClient(harness.url, { headers: () => ({ authorization: AUTH, 'x-tenant': 'Zo\u00eb' }) });
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
  });
});
