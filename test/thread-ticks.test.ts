/**
 * The per-thread CPU reader behind `npm run bench:cpu`, on real processes:
 * a child spinning its JavaScript thread is charged to the main thread, and
 * a child whose work runs on libuv's pool to the other threads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { threadTicks, type ThreadTicks } from '../bench/lib/procfs.js';

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

const sum = (ticks: ThreadTicks) => ({ main: ticks.mainUser + ticks.mainSystem, other: ticks.otherUser + ticks.otherSystem });

/** CPU a process spends from now until it has spent `ticks` clock ticks in all (polled; a loaded machine only makes it slower). */
async function spend(pid: number, ticks: number): Promise<{ main: number; other: number }> {
  const before = sum(threadTicks(pid));
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = sum(threadTicks(pid));
    const spent = { main: now.main - before.main, other: now.other - before.other };
    if (spent.main + spent.other >= ticks) return spent;
  }
  throw new Error(`process ${pid} did not spend ${ticks} ticks of CPU within 15 s`);
}

describe('threadTicks', () => {
  it('charges a busy JavaScript thread to the main thread', async () => {
    const spinner = await child('const end = Date.now() + 60_000; while (Date.now() < end) {}');
    const spent = await spend(spinner.pid!, 30);
    expect(spent.main).toBeGreaterThanOrEqual(0.8 * (spent.main + spent.other));
  });

  it("charges libuv's pool to the other threads, and an idle main thread little", async () => {
    // pbkdf2 runs on the pool; the main thread only waits for it.
    const hasher = await child(
      "const { pbkdf2 } = require('node:crypto'); const end = Date.now() + 60_000; const next = () => Date.now() < end && pbkdf2('p', 's', 200_000, 32, 'sha256', next); for (let i = 0; i < 4; i++) next();",
    );
    const spent = await spend(hasher.pid!, 30);
    expect(spent.other).toBeGreaterThanOrEqual(0.8 * (spent.main + spent.other));
  });

  it('reads nothing of a process that is gone', async () => {
    const done = await child('');
    if (done.exitCode === null) await once(done, 'exit');
    expect(threadTicks(done.pid!)).toEqual({ mainUser: 0, mainSystem: 0, otherUser: 0, otherSystem: 0 });
  });
});
