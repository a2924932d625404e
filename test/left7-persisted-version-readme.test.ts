/**
 * The README's persisted-query bullet said a hash of any `version` but 1, sent with no text, is `BAD_REQUEST`
 * "Unsupported persisted query version", in every mode; its table said that with `TRUSTED_DOCUMENTS=off` a hash
 * alone is `PERSISTED_QUERY_NOT_SUPPORTED`. The code does the table's (Apollo Server checks in that order, and its
 * clients send the text on PersistedQueryNotSupported): the bullet now says the version is checked with `allow` and
 * `only` only. Held here to the code, by a request of each kind.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, codes, Harness } from './support/harness.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
const HASH = 'a'.repeat(64);

describe('a persistedQuery of version 2 with no text', () => {
  const harnesses: Partial<Record<'off' | 'allow', Harness>> = {};
  beforeAll(async () => {
    harnesses.off = await Harness.start({ env: { TRUSTED_DOCUMENTS: 'off' } });
    harnesses.allow = await Harness.start({ env: { TRUSTED_DOCUMENTS: 'allow' } });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness.close();
  });

  const send = async (harness: Harness) => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 2, sha256Hash: HASH } } }),
    });
    return { status: response.status, body: (await response.json()) as ExecutionResult };
  };

  it('is PERSISTED_QUERY_NOT_SUPPORTED with off and BAD_REQUEST with allow, as the README says', async () => {
    const off = await send(harnesses.off!);
    expect(off.status).toBe(400);
    expect(codes(off.body)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
    const allow = await send(harnesses.allow!);
    expect(allow.status).toBe(400);
    expect(codes(allow.body)).toEqual(['BAD_REQUEST']);
    expect(allow.body.errors![0]!.message).toMatch(/^Unsupported persisted query version: /);
    expect(harnesses.off!.upstream.requests).toEqual([]);
    expect(harnesses.allow!.upstream.requests).toEqual([]);

    // The table's `off` row, and the bullet and the BAD_REQUEST row agreeing with it.
    expect(README).toContain('| `off` (default) | runs | the text runs; a hash alone is `PERSISTED_QUERY_NOT_SUPPORTED` |');
    expect(README).toContain("with `allow` or `only` and no text, any other `version`, or none, is `BAD_REQUEST` \"Unsupported persisted query version: …\"");
    expect(README).toContain('with `off`, a hash without a text is `PERSISTED_QUERY_NOT_SUPPORTED` whatever its `version`');
    expect(README).toContain('a version other than 1 with no text, with `TRUSTED_DOCUMENTS=allow` or `only` (`400`, "Unsupported persisted query version"');
    expect(README).not.toMatch(/Apollo's automatic persisted queries; with no text, any other `version`/);
  });
});
