/**
 * The typed client's persisted documents (`persistedDocuments: true`,
 * src/client/persisted-documents.ts): what it puts on the wire (seen by a fetch
 * the test hands the client, which passes every request on to a real gateway),
 * what each TRUSTED_DOCUMENTS mode answers, and how many requests reach the
 * gateway and the fake upstream when the gateway cannot run a hash.
 */
import { createHash } from 'node:crypto';
import { print } from 'graphql';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGatewayClient, ExecutionStatusDocument, GatewayClient, gatewayErrors } from '../src/client/index.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const STATUS_TEXT = print(ExecutionStatusDocument);
const STATUS_HASH = createHash('sha256').update(STATUS_TEXT, 'utf8').digest('hex');
/** A query that is in no manifest. */
const AD_HOC = 'query AdHoc($id: ID!) { execution(id: $id) { id status } }';

interface Sent {
  method: string;
  url: URL;
  body: Record<string, unknown> | undefined;
  status: number;
}

/** A fetch that records each request the client makes and what the gateway answered, and passes it on unchanged. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    sent.push({ method: init?.method ?? 'GET', url, body: typeof init?.body === 'string' ? (JSON.parse(init.body) as Record<string, unknown>) : undefined, status: response.status });
    return response;
  }) as typeof fetch;
}

function clientFor(harness: Harness, sent: Sent[], method: 'GET' | 'POST', persistedDocuments = true): GatewayClient {
  return new GatewayClient(harness.url, { method, persistedDocuments, headers: { authorization: AUTH }, fetch: recordingFetch(sent) });
}

describe.each(LANES)('persisted documents from the typed client (%s lane)', (lane) => {
  const harnesses: Partial<Record<'only' | 'allow' | 'off', Harness>> = {};
  beforeAll(async () => {
    for (const mode of ['only', 'allow', 'off'] as const) harnesses[mode] = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: mode } });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness.close();
  });

  it.each(['POST', 'GET'] as const)('sends the hash alone by %s, which TRUSTED_DOCUMENTS=only runs', async (method) => {
    const harness = harnesses.only!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const { execution } = await clientFor(harness, sent, method).request(ExecutionStatusDocument, { id: 'ex_demo_4' });
    expect(execution?.id).toBe('ex_demo_4');
    expect(sent).toHaveLength(1);
    if (method === 'POST') {
      expect(sent[0]!.body).toEqual({ documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' }, operationName: 'ExecutionStatus' });
    } else {
      expect(sent[0]!.url.searchParams.get('documentId')).toBe(`sha256:${STATUS_HASH}`);
      expect(sent[0]!.url.searchParams.has('query')).toBe(false);
      expect(JSON.parse(sent[0]!.url.searchParams.get('variables')!)).toEqual({ id: 'ex_demo_4' });
    }
    expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(1);
  });

  it('takes graphql-request\'s settings through createGatewayClient too: a GET with the client\'s token', async () => {
    const harness = harnesses.only!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const client = createGatewayClient(harness.url, AUTH, { authorization: 'Bearer stale' }, { persistedDocuments: true, method: 'GET', fetch: recordingFetch(sent) });
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_6' })).execution?.id).toBe('ex_demo_6');
    expect(sent.map((each) => [each.method, each.url.searchParams.get('documentId')])).toEqual([['GET', `sha256:${STATUS_HASH}`]]);
    expect(harness.upstream.requestsFor('ex_demo_6').map((each) => each.headers.authorization)).toEqual([AUTH]);
  });

  it('is what a GET needs under TRUSTED_DOCUMENTS=only: without it, graphql-request sends a one-line text the manifest does not hold', async () => {
    const harness = harnesses.only!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const error = await clientFor(harness, sent, 'GET', false).request(ExecutionStatusDocument, { id: 'ex_demo_4' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ClientError);
    expect(gatewayErrors(error).map((each) => each.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    expect(sent[0]!.url.searchParams.has('query')).toBe(true);
    expect(harness.upstream.requests).toEqual([]);
  });

  it('hashes on requestResult and rawRequest too, and keeps the Authorization a request names as its only one', async () => {
    const harness = harnesses.only!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const client = new GatewayClient(harness.url, { persistedDocuments: true, headers: { authorization: 'Bearer stale' }, fetch: recordingFetch(sent) });
    const result = await client.requestResult({ document: ExecutionStatusDocument, variables: { id: 'ex_demo_2' }, requestHeaders: { Authorization: AUTH } });
    expect(result.errors).toEqual([]);
    expect(result.data?.execution?.id).toBe('ex_demo_2');
    const raw = await client.rawRequest<{ execution: { id: string } }>(STATUS_TEXT, { id: 'ex_demo_3' }, { authorization: AUTH });
    expect(raw.data.execution.id).toBe('ex_demo_3');
    expect(sent.map((each) => each.body?.documentId)).toEqual([`sha256:${STATUS_HASH}`, `sha256:${STATUS_HASH}`]);
    expect(sent.every((each) => each.body?.query === undefined)).toBe(true);
    expect([...harness.upstream.requestsFor('ex_demo_2'), ...harness.upstream.requestsFor('ex_demo_3')].map((each) => each.headers.authorization)).toEqual([AUTH, AUTH]);
  });

  it.each(['POST', 'GET'] as const)('sends the text again once TRUSTED_DOCUMENTS=off refuses the hash, and only text from then on (%s)', async (method) => {
    const harness = harnesses.off!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const client = clientFor(harness, sent, method);
    for (const id of ['ex_demo_4', 'ex_demo_5']) expect((await client.request(ExecutionStatusDocument, { id })).execution?.id).toBe(id);
    expect(sent.map((each) => each.status)).toEqual([400, 200, 200]);
    const texts = sent.map((each) => (method === 'POST' ? each.body?.query : each.url.searchParams.get('query')));
    expect(texts.map((text) => typeof text === 'string')).toEqual([false, true, true]);
    // The refused hash cost no upstream call: one per execution.
    expect(harness.upstream.requests.map((each) => each.path)).toEqual(['/v1/executions/ex_demo_4', '/v1/executions/ex_demo_5']);
  });

  it('sends the text of a document TRUSTED_DOCUMENTS=allow does not know, and from then on, and still hashes the ones it knows', async () => {
    const harness = harnesses.allow!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const client = clientFor(harness, sent, 'POST');
    for (let round = 0; round < 2; round += 1) {
      expect(((await client.request(AD_HOC, { id: 'ex_demo_1' })) as { execution: { id: string } }).execution.id).toBe('ex_demo_1');
      expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
    }
    expect(sent.map((each) => [each.status, each.body?.query === undefined ? 'hash' : 'text'])).toEqual([
      [400, 'hash'],
      [200, 'text'],
      [200, 'hash'],
      [200, 'text'],
      [200, 'hash'],
    ]);
    expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(4);
  });

  it('passes on a refusal that is not about the hash, once: a required variable sent as null', async () => {
    const harness = harnesses.only!;
    harness.upstream.reset();
    const sent: Sent[] = [];
    const error = await clientFor(harness, sent, 'POST')
      .request(ExecutionStatusDocument, { id: null as unknown as string })
      .catch((caught: unknown) => caught);
    expect(gatewayErrors(error).map((each) => each.extensions?.code)).toEqual(['BAD_REQUEST']);
    expect(sent).toHaveLength(1);
    expect(harness.upstream.requests).toEqual([]);
  });
});

describe('persisted documents without Web Crypto', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: { TRUSTED_DOCUMENTS: 'allow' } });
  });
  afterAll(async () => {
    vi.unstubAllGlobals();
    await harness.close();
  });

  it('sends the text, as a page over plain http on another host must', async () => {
    // A page served over http from a host other than localhost has no `crypto.subtle`.
    vi.stubGlobal('crypto', {});
    const sent: Sent[] = [];
    const client = createGatewayClient(harness.url, AUTH, {}, { persistedDocuments: true });
    const recording = new GatewayClient(harness.url, { persistedDocuments: true, headers: { authorization: AUTH }, fetch: recordingFetch(sent) });
    expect((await recording.request(ExecutionStatusDocument, { id: 'ex_demo_4' })).execution?.id).toBe('ex_demo_4');
    expect(sent.map((each) => each.body?.query)).toEqual([STATUS_TEXT]);
    expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_4' })).execution?.id).toBe('ex_demo_4');
    vi.unstubAllGlobals();
  });
});
