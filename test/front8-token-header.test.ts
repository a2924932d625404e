/**
 * A token no HTTP header can carry (a curly quote pasted with it, a line break inside it) given to the typed client's
 * queries. watchExecution refuses it at once as UNAUTHENTICATED; a query rejected with fetch's own TypeError ("Cannot
 * convert argument to a ByteString…", `Headers.append: … is an invalid header value`), which names no header and which
 * `gatewayErrors` reads as a network failure: a dashboard retried it as the gateway being down, for ever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError } from 'graphql-request';
import { createGatewayClient, ErrorCode, ExecutionsDocument, ExecutionStatusDocument, gatewayErrors, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

/** What a caller reads of a refusal: the codes `gatewayErrors` types, and the first message. */
function refusal(error: unknown): { codes: unknown[]; message: string | undefined; status: number | undefined } {
  return {
    codes: gatewayErrors(error).map((each) => each.extensions?.code),
    message: gatewayErrors(error)[0]?.message,
    status: error instanceof ClientError ? error.response.status : undefined,
  };
}

const UNSENDABLE = ['Bearer s3cret\u2019token', 'Bearer s3cret\ntoken', 'Bearer s3cret\u0001token'];

describe('a token no header can carry, given to the typed client', () => {
  it.each(UNSENDABLE)('%j: request, rawRequest and requestResult reject with UNAUTHENTICATED, nothing sent', async (token) => {
    const before = harness.upstream.requests.length;
    const client = createGatewayClient(harness.url, token);
    for (const attempt of [
      () => client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }),
      () => client.rawRequest('{ execution(id: "ex_demo_1") { id } }'),
      () => client.requestResult(ExecutionsDocument, { ids: ['ex_demo_1'] }),
    ]) {
      const error = await thrownBy(attempt());
      expect(error).toBeInstanceOf(ClientError);
      const told = refusal(error);
      expect(told.codes).toEqual([ErrorCode.UNAUTHENTICATED]);
      expect(told.message).toMatch(/^authorization is not a valid Authorization header value: control characters \(line breaks included\) and characters past U\+00FF are not allowed/);
      // Nothing was sent: no answer to quote a status of.
      expect(told.status).toBe(0);
      // The token never appears in what a page may log.
      expect(String((error as Error).message)).not.toContain('s3cret');
    }
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('set later (setHeader) or for one request (requestHeaders) too; a good token set again works', async () => {
    const client = createGatewayClient(harness.url, AUTH);
    client.setHeader('Authorization', UNSENDABLE[0]!);
    expect(refusal(await thrownBy(client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }))).codes).toEqual([ErrorCode.UNAUTHENTICATED]);
    client.setHeader('Authorization', AUTH);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    const own = await thrownBy(client.request(ExecutionStatusDocument, { id: 'ex_demo_1' }, { authorization: UNSENDABLE[1]! }));
    expect(refusal(own).codes).toEqual([ErrorCode.UNAUTHENTICATED]);

    const fromConfig = new GatewayClient(harness.url, { headers: { Authorization: UNSENDABLE[0]! } });
    expect(refusal(await thrownBy(fromConfig.requestResult(ExecutionsDocument, { ids: ['ex_demo_1'] }))).codes).toEqual([ErrorCode.UNAUTHENTICATED]);
  });

  it('leaves a token with whitespace around it alone: fetch sends it without, and the gateway takes it', async () => {
    const client = createGatewayClient(harness.url, `  ${AUTH}\n`);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
  });
});
