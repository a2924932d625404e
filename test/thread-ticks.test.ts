/**
 * The per-thread CPU reader behind `npm run bench:cpu`, on real processes:
 * a child spinning its JavaScript thread is charged to the main thread, and
 * a child whose work runs on libuv's pool to the other threads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { threadTicks } from '../bench/lib/procfs.js';

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** A node child running `script`, once it has said it started. */
async function child(script: string): Promise<ChildProcess> {
  const started = spawn(process.execPath, ['-e', `process.stdout.write('go\\n'); ${script}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(started);
  await once(started.stdout!, 'data');
  return started;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('threadTicks', () => {
  it('charges a busy JavaScript thread to the main thread', async () => {
    const spinner = await child('const end = Date.now() + 10_000; while (Date.now() < end) {}');
    const before = threadTicks(spinner.pid!);
    await settle(600);
    const after = threadTicks(spinner.pid!);
    // 600 ms of a spinning thread: at least a quarter of it even on a loaded machine, in 10 ms ticks.
    expect(after.mainUser + after.mainSystem - before.mainUser - before.mainSystem).toBeGreaterThanOrEqual(15);
    expect(after.otherUser + after.otherSystem - before.otherUser - before.otherSystem).toBeLessThan(after.mainUser + after.mainSystem - before.mainUser - before.mainSystem);
  });

  it("charges libuv's pool to the other threads, and an idle main thread nothing", async () => {
    // pbkdf2 runs on the pool; the main thread only waits for it.
    const hasher = await child(
      "const { pbkdf2 } = require('node:crypto'); const end = Date.now() + 10_000; const next = () => Date.now() < end && pbkdf2('p', 's', 200_000, 32, 'sha256', next); for (let i = 0; i < 4; i++) next();",
    );
    const before = threadTicks(hasher.pid!);
    await settle(600);
    const after = threadTicks(hasher.pid!);
    const other = after.otherUser + after.otherSystem - before.otherUser - before.otherSystem;
    const main = after.mainUser + after.mainSystem - before.mainUser - before.mainSystem;
    expect(other).toBeGreaterThanOrEqual(15);
    expect(main).toBeLessThan(other / 4);
  });

  it('reads nothing of a process that is gone', async () => {
    const done = await child('');
    if (done.exitCode === null) await once(done, 'exit');
    expect(threadTicks(done.pid!)).toEqual({ mainUser: 0, mainSystem: 0, otherUser: 0, otherSystem: 0 });
  });
});
