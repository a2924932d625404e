/**
 * The typed client's persisted documents across a rollout (review 2). After one PERSISTED_QUERY_NOT_SUPPORTED (a
 * replica with TRUSTED_DOCUMENTS=off) the client sent text for good, and after one PERSISTED_QUERY_NOT_FOUND (a
 * replica whose manifest lacked the document) text for that document for good. A GET's text is graphql-request's
 * one-line form, which no manifest holds: once the fleet runs TRUSTED_DOCUMENTS=only, every GET of such a client (an
 * open page, a long-lived service) was refused PERSISTED_QUERY_NOT_IN_LIST until it was made again. A text the
 * gateway refuses so now has the client send the hash again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutionStatusDocument, GatewayClient } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

describe('persisted documents from the typed client across a rollout to TRUSTED_DOCUMENTS=only', () => {
  let before: Harness;
  let after: Harness;
  beforeAll(async () => {
    [before, after] = await Promise.all([Harness.start({ env: { TRUSTED_DOCUMENTS: 'off' } }), Harness.start({ env: { TRUSTED_DOCUMENTS: 'only' } })]);
  });
  afterAll(async () => {
    await Promise.all([before.close(), after.close()]);
  });

  /** A client behind a balancer that sends every request to `target()`'s gateway, as a rolling deploy moves it; what each request was. */
  function client(target: () => Harness): { client: GatewayClient; sent: string[] } {
    const sent: string[] = [];
    const balancer = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const to = new URL(target().url);
      url.host = to.host;
      sent.push(`${target() === before ? 'off' : 'only'} ${url.searchParams.has('documentId') ? 'hash' : 'text'}`);
      return fetch(url, init);
    };
    return { client: new GatewayClient(before.url, { method: 'GET', persistedDocuments: true, headers: { authorization: AUTH }, fetch: balancer }), sent };
  }

  it('sends the hash again once a gateway refuses the text: a GET works on the new replicas after an old one said hashes were off', async () => {
    let serving = before;
    const { client: gateway, sent } = client(() => serving);
    expect((await gateway.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    // The rollout: every replica now runs TRUSTED_DOCUMENTS=only.
    serving = after;
    expect((await gateway.request(ExecutionStatusDocument, { id: 'ex_demo_2' })).execution?.id).toBe('ex_demo_2');
    expect((await gateway.request(ExecutionStatusDocument, { id: 'ex_demo_3' })).execution?.id).toBe('ex_demo_3');
    // The old replica's refusal, its text; the new one's refusal of the text, then hashes from then on.
    expect(sent).toEqual(['off hash', 'off text', 'only text', 'only hash', 'only hash']);
  });
});
