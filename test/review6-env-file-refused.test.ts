/**
 * A start refused for its settings names a `.env` file it did not load: NODE_ENV=production with UPSTREAM_URL
 * written in `.env` was refused "UPSTREAM_URL … required" with nothing about the file, since the `.env` warning came
 * only once the configuration was read, the very case it was written for.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'review6-env-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

it('a refused start names the .env file that sets what it lacks, never a value', () => {
  writeFileSync(join(directory, '.env'), 'UPSTREAM_URL=https://user:s3cret@api.example.com\n');
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), main], {
    cwd: directory,
    env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0', METRICS: 'off' },
    encoding: 'utf8',
    // tsx takes 10-40 s to start on a loaded 2-core CI machine: what is tested is what it writes, not how soon.
    timeout: 50_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('UPSTREAM_URL');
  expect(run.stderr).toContain(
    `execution-gateway: ${join(directory, '.env')} sets UPSTREAM_URL, which this process's environment lacks: the gateway reads its environment only, never a .env file.`,
  );
  expect(run.stderr + run.stdout).not.toContain('s3cret');
}, 60_000);
