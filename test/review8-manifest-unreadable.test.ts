/**
 * A manifest the gateway cannot read for another reason than its absence (a directory at its path, a file its user
 * may not read) was told ": run npm run generate.", which neither could run on a production host (its tools pruned)
 * nor would fix a permission or a misplaced volume. It now says what to fix on the host, or to turn trusted documents
 * off; a manifest read but no JSON still says to write it again.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { ConfigError, defaultOperationLimits } from '../src/config.js';
import { readManifest } from '../src/pipeline/trusted-documents.js';

it('a directory where the manifest should be is told as a file to put there, not as one to generate', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'persisted-documents.json');
  mkdirSync(path);
  const read = () => readManifest({ introspection: true, limits: defaultOperationLimits() }, pathToFileURL(path));
  expect(read).toThrow(ConfigError);
  expect(read).toThrow(
    new RegExp(`^TRUSTED_DOCUMENTS needs the persisted-documents manifest ${path}: EISDIR: [^\\n]*\\. Make it a file the user the gateway runs as can read, or set TRUSTED_DOCUMENTS=off$`),
  );
});
