/**
 * "Did you mean …?" hints with TRUSTED_DOCUMENTS=only, FIELD_SUGGESTIONS unset. Such a gateway serves no introspection,
 * as INTROSPECTION=false does not (README "Trusted documents": no ad-hoc introspection), and hides its hints alike: a
 * variable of a listed document given a misspelt enum value or input field was answered with the values and fields
 * its type has (`Did you mean the enum value "DESC"?`), which introspection, refused, would have named.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';

const manifest = JSON.parse(readFileSync(new URL('../schema/persisted-documents.json', import.meta.url), 'utf8')) as Record<string, string>;
const EVENTS = Object.keys(manifest).find((hash) => manifest[hash]!.startsWith('query ExecutionEvents('))!;

const MISSPELT: ReadonlyArray<[string, Record<string, unknown>, RegExp]> = [
  ['an enum value', { id: 'ex_demo_1', order: 'DESCC' }, /Value "DESCC" does not exist in "EventOrder" enum\.$/],
  ['an input field', { id: 'ex_demo_1', filter: { level: ['error'] } }, /Field "level" is not defined by type "ExecutionEventFilter"\.$/],
];

describe.each(LANES)('TRUSTED_DOCUMENTS=only, FIELD_SUGGESTIONS unset (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: 'only' } });
  });
  afterAll(() => harness.close());

  it.each(MISSPELT)('names no hint for %s of a listed document', async (_what, variables, named) => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
      body: JSON.stringify({ documentId: `sha256:${EVENTS}`, variables }),
    });
    const { errors } = (await response.json()) as { errors: Array<{ message: string; extensions?: { code?: string } }> };
    expect(response.status).toBe(400);
    expect(errors.map((error) => error.extensions?.code)).toEqual(['BAD_REQUEST']);
    expect(errors[0]!.message).toMatch(named);
    expect(errors[0]!.message).not.toMatch(/Did you mean/);
  });
});
