/**
 * The typed client's queries given headers fetch cannot send (a value past U+00FF, such as a user's name `Łukasz`, or
 * holding a line break; a name with a space). fetch refused them with words that name no header ("Cannot convert
 * argument to a ByteString because the character at index 0 has a value of 321…") or quote the value whole
 * (`Headers.append: "a\nb" is an invalid header value.`), a TypeError `gatewayErrors` reads as a network failure.
 * watchExecution names the header and never its value; so do queries now, before anything is sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, ExecutionStatusDocument, ExecutionsDocument, gatewayErrors } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

describe("the typed client's queries given headers fetch cannot send", () => {
  it.each([
    [{ 'x-tenant': '\u0141ukasz-s3cret' }, /^headers\["x-tenant"\] is not a valid header value: control characters \(line breaks included\) and characters past U\+00FF are not allowed/],
    [{ 'x-request-id': 's3cret\nb' }, /^headers\["x-request-id"\] is not a valid header value/],
    [{ 'x tenant': 's3cret' }, /^headers\["x tenant"\] is no header name/],
    // Name and value swapped: the name is the credential, told by its length only.
    [{ 'Bearer s3cret-token': 'authorization' }, /^a header name of 19 characters \(not shown: it reads as a credential; name and value swapped\?\) is no header name/],
    [{ [`x ${'s3cret'.repeat(11)}`]: 'v' }, /^a header name of 68 characters \(not shown/],
  ])('%j: a TypeError naming the header, never its value, from request and requestResult; nothing is sent', async (headers, message) => {
    const before = harness.upstream.requests.length;
    const client = createGatewayClient(harness.url, AUTH, headers);
    for (const attempt of [() => client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }), () => client.requestResult(ExecutionsDocument, { ids: ['ex_demo_1'] })]) {
      const error = await thrownBy(attempt());
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('s3cret');
      expect(gatewayErrors(error)).toEqual([]);
    }
    // A request's own headers are checked the same way.
    const own = await thrownBy(createGatewayClient(harness.url, AUTH).request(ExecutionStatusDocument, { id: 'ex_demo_1' }, headers));
    expect((own as Error).message).toMatch(message);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('sends a value of Latin-1 letters (Zoë) as fetch does', async () => {
    const client = createGatewayClient(harness.url, AUTH, { 'x-tenant': 'Zo\u00eb' });
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
  });
});
