/**
 * An empty persisted-document hash (`extensions.persistedQuery.sha256Hash: ""`, `documentId: ""` or `"sha256:"`) names
 * no document: it is a request with neither text nor hash, `BAD_REQUEST` as README "Trusted documents" says, as one
 * without `sha256Hash` is. It was PERSISTED_QUERY_NOT_FOUND, whose advice tells a client to send the text of a
 * document it never named (and on which Apollo's link resends the request).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';

const NO_DOCUMENT = 'Must provide a query string, or the hash of a persisted document as `extensions.persistedQuery.sha256Hash` or `documentId`.';

const SENT: ReadonlyArray<[string, () => [string, RequestInit]]> = [
  ['an empty sha256Hash', () => ['/graphql', { method: 'POST', body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: '' } } }) }]],
  ['an empty documentId', () => ['/graphql', { method: 'POST', body: JSON.stringify({ documentId: '' }) }]],
  ['a documentId of its prefix alone', () => ['/graphql', { method: 'POST', body: JSON.stringify({ documentId: 'sha256:' }) }]],
  ['an empty documentId in a GET', () => ['/graphql?documentId=', { method: 'GET' }]],
];

describe.each(LANES)('%s lane', (lane) => {
  describe.each(['allow', 'only'])('TRUSTED_DOCUMENTS=%s', (mode) => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: mode } });
    });
    afterAll(() => harness.close());

    it.each(SENT)('%s is BAD_REQUEST, as no hash is, with no upstream call', async (_what, request) => {
      const [path, init] = request();
      const response = await harness.fetch(path, {
        ...init,
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH, 'x-graphql-yoga-csrf': '1' },
      });
      const body = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(response.status).toBe(400);
      expect(body.errors.map((error) => error.extensions.code)).toEqual(['BAD_REQUEST']);
      expect(body.errors[0]!.message).toBe(NO_DOCUMENT);
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });
});
