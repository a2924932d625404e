/**
 * The `.env` check at start (src/config.ts, unloadedEnvFile) reads a regular file only: a FIFO named `.env` (a
 * secrets tool that serves one) would block the synchronous read, and with it the gateway's start, for good.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const directory = mkdtempSync(join(tmpdir(), 'env-fifo-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

it('a FIFO named .env is passed over at once, not read', () => {
  execFileSync('mkfifo', [join(directory, '.env')]);
  const config = fileURLToPath(new URL('../src/config.ts', import.meta.url));
  const code = `const { unloadedEnvFile } = await import(${JSON.stringify(config)}); console.log(JSON.stringify(unloadedEnvFile(${JSON.stringify(directory)}) ?? null));`;
  // In a child with a deadline: a blocked read would hang this test's own worker. The deadline is for a read blocked
  // for good, so it leaves room for tsx's start (10-40 s on a loaded 2-core CI machine), and so does the test's.
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 50_000 });
  expect(run.signal).toBeNull();
  expect(run.stdout.trim()).toBe('null');
}, 60_000);
