/**
 * A hash sent to a gateway that runs no persisted documents (the default, TRUSTED_DOCUMENTS=off), or one the manifest
 * lacks, was answered Apollo's bare `PersistedQueryNotSupported` / `PersistedQueryNotFound`: right for Apollo's and
 * urql's links, which compare the message with === and send the text, but nothing a person with curl could act on.
 * The message and code stay Apollo's; `extensions.advice` now says what to do next.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { AUTH, Harness } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

const UNKNOWN = `sha256:${createHash('sha256').update('query Unknown { __typename }').digest('hex')}`;

async function posted(harness: Harness, body: unknown): Promise<{ status: number; result: ExecutionResult }> {
  const response = await harness.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
    body: JSON.stringify(body),
  });
  return { status: response.status, result: (await response.json()) as ExecutionResult };
}

describe('persisted-document refusals say what to do next, keeping Apollo\'s message', () => {
  const harnesses: Partial<Record<'off' | 'allow' | 'only', Harness>> = {};
  beforeAll(async () => {
    for (const mode of ['off', 'allow', 'only'] as const) harnesses[mode] = await Harness.start({ env: { TRUSTED_DOCUMENTS: mode } });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness.close();
  });

  it('off: PersistedQueryNotSupported, with advice naming the text and TRUSTED_DOCUMENTS=allow, by POST and over WebSocket', async () => {
    const harness = harnesses.off!;
    const { status, result } = await posted(harness, { documentId: UNKNOWN });
    expect(status).toBe(400);
    expect(result.errors).toEqual([
      {
        message: 'PersistedQueryNotSupported',
        extensions: {
          code: 'PERSISTED_QUERY_NOT_SUPPORTED',
          advice:
            "This gateway runs no persisted documents (TRUSTED_DOCUMENTS=off): send the document's text as `query` (Apollo's and urql's persisted-query links do so on this error by themselves). To run the documents of schema/persisted-documents.json by their hash, start it with TRUSTED_DOCUMENTS=allow.",
        },
      },
    ]);
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
    try {
      const [answer] = await resultsOverWebSocket(client, { query: '', extensions: { persistedQuery: { version: 1, sha256Hash: UNKNOWN.slice(7) } } });
      expect(answer!.errors).toMatchObject([{ message: 'PersistedQueryNotSupported', extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED', advice: expect.stringContaining('TRUSTED_DOCUMENTS=allow') } }]);
    } finally {
      await client.dispose();
    }
  });

  it('allow and only: PersistedQueryNotFound, with advice fitting the mode', async () => {
    const allow = await posted(harnesses.allow!, { documentId: UNKNOWN });
    expect(allow.status).toBe(400);
    expect(allow.result.errors).toMatchObject([{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }]);
    expect(allow.result.errors![0]!.extensions!['advice']).toMatch(/^No document of this gateway's manifest .* send the document's text as `query`/);
    const only = await posted(harnesses.only!, { extensions: { persistedQuery: { version: 1, sha256Hash: UNKNOWN.slice(7) } } });
    expect(only.status).toBe(400);
    expect(only.result.errors).toMatchObject([{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }]);
    expect(only.result.errors![0]!.extensions!['advice']).toContain('with TRUSTED_DOCUMENTS=only nothing else runs: add the operation to schema/operations/, run `npm run generate`');
  });
});
