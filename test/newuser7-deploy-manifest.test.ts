/**
 * A gateway deployed from its build (README "Production build": dist/ with the production dependencies) with
 * TRUSTED_DOCUMENTS on reads schema/persisted-documents.json beside dist/. Deployed without schema/, it refused to
 * start saying only "(npm run generate)": on the host the build tools are pruned, and the manifest is committed, so
 * generating it is not the fix; shipping it is.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultOperationLimits, readConfig } from '../src/config.js';
import { manifestRefusal, readManifest } from '../src/pipeline/trusted-documents.js';

const SETTINGS = { introspection: true, limits: defaultOperationLimits() };

describe('TRUSTED_DOCUMENTS on a host the manifest was not deployed to', () => {
  const absent = pathToFileURL(join(mkdtempSync(join(tmpdir(), 'newuser7-deploy-')), 'schema', 'persisted-documents.json'));

  it('says to deploy schema/ beside dist/, or to turn trusted documents off', () => {
    expect(() => readManifest(SETTINGS, absent)).toThrow(ConfigError);
    expect(() => readManifest(SETTINGS, absent)).toThrow(
      /^TRUSTED_DOCUMENTS needs the persisted-documents manifest \S+: ENOENT: [^\n]*\. Deploy schema\/persisted-documents\.json of the release with dist\/ \(schema\/ beside dist\/\), or set TRUSTED_DOCUMENTS=off$/,
    );
  });

  it('gives start-up the same line, among the settings\' refusals', () => {
    let refused: unknown;
    try {
      readConfig({ TRUSTED_DOCUMENTS: 'only', PORT: 'abc' }, { manifest: (settings) => manifestRefusal(settings, absent) });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(ConfigError);
    const lines = (refused as ConfigError).message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^Invalid PORT="abc"/);
    expect(lines[1]).toMatch(/Deploy schema\/persisted-documents\.json of the release with dist\/ \(schema\/ beside dist\/\), or set TRUSTED_DOCUMENTS=off$/);
  });

  it('says nothing of deploying for a manifest that is there but unreadable as JSON', () => {
    const directory = mkdtempSync(join(tmpdir(), 'newuser7-deploy-'));
    expect(() => readManifest(SETTINGS, pathToFileURL(directory))).toThrow(/EISDIR/);
    expect(() => readManifest(SETTINGS, pathToFileURL(directory))).not.toThrow(/Deploy schema/);
  });
});
