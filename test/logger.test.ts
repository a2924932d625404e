/**
 * The process's logger when nothing reads its stdout (a log driver whose backend
 * is down, a wedged shipper): lines wait in memory up to LOG_BUFFER_MAX_BYTES,
 * past it they are dropped, and once the reader is back one line says how many.
 * A real child process writing to a real pipe its parent leaves unread.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOG_BUFFER_MAX_BYTES } from '../src/logger.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe('logger with an unread stdout', () => {
  // At LOG_LEVEL=error the lines dropped are errors: the report must pass that level too.
  it.each(['info', 'error'])('keeps at most LOG_BUFFER_MAX_BYTES of lines, then reports the dropped ones once stdout is read again (%s)', async (level) => {
    // 100,000 lines of about 500 bytes: some 50 MB, three times the bound.
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/support/stalled-log.ts', '100000', level], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    await vi.waitFor(() => expect(stderr).toContain('\n'), { timeout: 30_000, interval: 50 });
    const { grownBytes } = JSON.parse(stderr) as { grownBytes: number };
    // The bound (16 MiB), and room for what the log and the collector keep besides; unbounded, 50 MB and more.
    expect(grownBytes).toBeLessThan(24 * 1024 * 1024);

    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    await vi.waitFor(() => expect(stdout).toContain('log lines dropped'), { timeout: 30_000, interval: 50 });
    const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const report = lines.find((line) => line.msg === 'log lines dropped: stdout was not read')!;
    const requests = lines.filter((line) => line.msg === 'request').length;
    expect(report).toMatchObject({ level: 50, maxBufferedBytes: LOG_BUFFER_MAX_BYTES });
    // Every line is either written or counted as dropped.
    expect(requests + (report.dropped as number)).toBe(100_000);
    child.kill('SIGKILL');
    await once(child, 'exit');
  }, 60_000);

  it('reports the dropped lines when the process exits before stdout was read again', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/stalled-log-exit.ts', '100000'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const exited = once(child, 'exit') as Promise<[number]>;
    // Not read until the child has logged past the bound and is in its exit (pino's flush there waits for the reader).
    child.stdout!.pause();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    let stdout = '';
    const ended = new Promise((resolve) => child.stdout!.on('end', resolve));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stdout!.resume();
    const [code] = await exited;
    await ended;
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = lines.filter((line) => line.msg === 'request').length;
    expect(requests).toBeLessThan(100_000);
    const report = lines.find((line) => line.msg === 'log lines dropped: stdout was not read');
    expect(report).toMatchObject({ level: 50, maxBufferedBytes: LOG_BUFFER_MAX_BYTES });
    const shutdown = lines.some((line) => line.msg === 'shutdown complete') ? 1 : 0;
    expect(requests + shutdown + (report!.dropped as number)).toBe(100_001);
  }, 60_000);
});

