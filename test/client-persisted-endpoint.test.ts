/**
 * setEndpoint moves the typed client to another gateway; what the last one said of persisted documents (hashes off,
 * or a hash it did not know) was kept, so a client moved from a TRUSTED_DOCUMENTS=off gateway to an `only` one sent
 * text first on every document, and had each refused before it sent the hash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

describe('setEndpoint with persisted documents', () => {
  let off: Harness;
  let only: Harness;
  beforeAll(async () => {
    [off, only] = await Promise.all([Harness.start({ env: { TRUSTED_DOCUMENTS: 'off' } }), Harness.start({ env: { TRUSTED_DOCUMENTS: 'only' } })]);
  });
  afterAll(async () => {
    await Promise.all([off.close(), only.close()]);
  });

  it('asks the new gateway by hash first, whatever the last one said', async () => {
    const sent: string[] = [];
    const recording = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      sent.push(`${url.port === new URL(off.url).port ? 'off' : 'only'} ${url.searchParams.has('documentId') ? 'hash' : 'text'}`);
      return fetch(input, init);
    };
    const client = new GatewayClient(off.url, { method: 'GET', persistedDocuments: true, headers: { authorization: AUTH }, fetch: recording });
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    client.setEndpoint(only.url);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_2' })).execution?.id).toBe('ex_demo_2');
    expect(sent).toEqual(['off hash', 'off text', 'only hash']);
  });
});
