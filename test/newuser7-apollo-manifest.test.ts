/**
 * `npm run schema:check -- <manifest>` holds the schema to the documents of frontend builds still deployed. A frontend
 * on Apollo Client (the client README's advice on persisted queries is written for) ships the manifest Apollo's
 * tooling writes, `{ "format": "apollo-persisted-query-manifest", "version": 1, "operations": [{ id, body, … }] }`:
 * the check refused it, exit 2, as "not a persisted-documents manifest", so its documents were never checked.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KnownDocumentsError, readKnownDocuments } from '../scripts/known-documents.js';
import { checkSchema, problems } from '../scripts/schema-changes.js';

const BASELINE = readFileSync(new URL('../schema/baseline.graphql', import.meta.url), 'utf8');

const STATUS = 'query RowStatus($id: ID!) {\n  execution(id: $id) {\n    id\n    status\n    __typename\n  }\n}';
const BROKEN = 'query Gone($id: ID!) {\n  execution(id: $id) {\n    id\n    legacyField\n  }\n}';

/** A manifest as @apollo/generate-persisted-query-manifest writes it. */
const apolloManifest = (...bodies: string[]) =>
  JSON.stringify({
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: bodies.map((body, index) => ({ id: `${index}`.padStart(64, 'a'), name: body.split(/[ (]/)[1], type: 'query', body })),
  });

describe("schema:check with an Apollo Client frontend's manifest", () => {
  it('reads each operation by its id and body, and holds it to the schema as any known document', async () => {
    const documents = readKnownDocuments('web-4.1.json', apolloManifest(STATUS, BROKEN));
    expect(documents.map(({ key, text }) => [key.slice(-1), text])).toEqual([
      ['0', STATUS],
      ['1', BROKEN],
    ]);
    const found = problems(await checkSchema(BASELINE, BASELINE, [], documents));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('(query Gone): Cannot query field "legacyField" on type "Execution".');
  });

  it('refuses one it cannot read as Apollo\'s, saying what is wrong in it', () => {
    expect(() => readKnownDocuments('web.json', JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 2, operations: [] }))).toThrow(
      'web.json is an Apollo persisted query manifest of version 2: only version 1 is read',
    );
    expect(() => readKnownDocuments('web.json', JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'x', query: STATUS }] }))).toThrow(
      'web.json: operations[0] of this Apollo persisted query manifest has no "id" and "body" strings',
    );
    // Anything else still names both shapes it reads.
    expect(() => readKnownDocuments('web.json', '[]')).toThrow(KnownDocumentsError);
    expect(() => readKnownDocuments('web.json', '[]')).toThrow(/apollo-persisted-query-manifest/);
  });

  it('runs from the command line: the broken document fails the check (1), where the manifest was refused (2)', { timeout: 60_000 }, async () => {
    const directory = mkdtempSync(join(tmpdir(), 'newuser7-apollo-'));
    try {
      const manifest = join(directory, 'persisted-query-manifest.json');
      writeFileSync(manifest, apolloManifest(STATUS, BROKEN));
      const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts', manifest], { cwd: new URL('..', import.meta.url) }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(run.stderr).toContain(`${manifest}#`);
      expect(run.stderr).toContain('(query Gone): Cannot query field "legacyField" on type "Execution".');
      expect(run.stderr).not.toContain('(query RowStatus)');
      expect(run.code).toBe(1);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
