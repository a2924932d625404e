/**
 * A document no manifest holds, sent by the typed client with persisted documents to a TRUSTED_DOCUMENTS=only
 * gateway: once the client knows the gateway lacks its hash, it sends the text, and on the text's refusal the hash
 * again (the manifest may have gained it since). Refused as a hash too, the text went out a third time, to be
 * refused again: three requests per call where two say all there is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

const UNLISTED = 'query Unlisted($id: ID!) { execution(id: $id) { id } }';

describe('a document outside the manifest of a TRUSTED_DOCUMENTS=only gateway', () => {
  let only: Harness;
  beforeAll(async () => {
    only = await Harness.start({ env: { TRUSTED_DOCUMENTS: 'only' } });
  });
  afterAll(() => only.close());

  it('costs no request past the text and the hash, and fails with the text refusal, its advice included', async () => {
    const sent: string[] = [];
    const recording = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      sent.push(url.searchParams.has('documentId') ? 'hash' : 'text');
      return fetch(input, init);
    };
    const client = new GatewayClient(only.url, { method: 'GET', persistedDocuments: true, headers: { authorization: AUTH }, fetch: recording });
    for (let call = 0; call < 2; call++) {
      const error = await client.request(UNLISTED, { id: 'ex_demo_1' }).then(
        () => undefined,
        (refusal: unknown) => refusal as { response?: { errors?: Array<{ message: string; extensions?: { code?: string } }> } },
      );
      const errors = error?.response?.errors ?? [];
      expect(errors.map((each) => each.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
      expect(errors[0]!.message).toContain('npm run generate');
    }
    // The first call: its hash (unknown), then its text; the second: its text, then its hash once more.
    expect(sent).toEqual(['hash', 'text', 'text', 'hash']);
  });
});
