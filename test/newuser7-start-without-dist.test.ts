/**
 * `npm start` where dist/ must be built and TypeScript is not installed refuses in one line. On a fresh clone installed
 * with `npm ci --omit=dev` (a production install) there is no dist/ at all, yet the line said to "start dist/ as it is
 * with `node dist/main.js`", which ended in ERR_MODULE_NOT_FOUND. It offers that only where dist/main.js exists.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url);

/** A checkout of the start scripts with no node_modules: no TypeScript to build with. */
function checkoutWithoutTypeScript(): string {
  const directory = mkdtempSync(join(tmpdir(), 'newuser7-start-'));
  for (const path of ['scripts/start.mjs', 'scripts/build.mjs', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(new URL(path, ROOT), join(directory, path), { recursive: true });
  mkdirSync(join(directory, 'src'));
  writeFileSync(join(directory, 'src', 'main.ts'), 'export {};\n');
  return directory;
}

/** `npm start`'s script run in `directory`: its exit code and what it wrote to stderr. */
async function start(directory: string): Promise<{ code: number; stderr: string }> {
  return promisify(execFile)(process.execPath, ['scripts/start.mjs'], { cwd: directory, env: { PATH: process.env.PATH } }).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );
}

describe('npm start with no TypeScript to build dist/', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const directory of made.splice(0)) rmSync(directory, { recursive: true, force: true });
  });

  it('with no dist/ at all, says to build it, not to start it as it is', { timeout: 30_000 }, async () => {
    const directory = checkoutWithoutTypeScript();
    made.push(directory);
    const { code, stderr } = await start(directory);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'execution-gateway: cannot start: dist/ is missing or was not built by `npm run build`, and TypeScript is not installed to build it. Run `npm ci && npm run build` (then `npm prune --omit=dev` drops the build tools).\n',
    );
  });

  it('with a dist/ it cannot vouch for, still offers to start that one as it is', { timeout: 30_000 }, async () => {
    const directory = checkoutWithoutTypeScript();
    made.push(directory);
    mkdirSync(join(directory, 'dist'));
    writeFileSync(join(directory, 'dist', 'main.js'), '');
    const { code, stderr } = await start(directory);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'execution-gateway: cannot start: dist/ is missing or was not built by `npm run build`, and TypeScript is not installed to build it. Run `npm ci && npm run build`, or start dist/ as it is with `node dist/main.js`.\n',
    );
  });
});
