/**
 * Nothing a misbehaving upstream leaves behind keeps the process alive: a gateway whose watches saw a poll hang, a 503
 * asking for a 30 s pause and a body stall, over Server-Sent Events and WebSocket and through `watchExecution`, exits
 * by itself once its watchers left, it drained and its upstream closed (test/support/live12-exit-child.ts). A timer or
 * socket left running would hold it: the child names what does, 3 s on.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { expect, it } from 'vitest';

it('live12: the process exits once the watchers left and the gateway drained, whatever upstream was doing', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/live12-exit-child.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  expect({ code, out, err }).toEqual({ code: 0, out: 'closed\n', err: '' });
}, 70_000);
