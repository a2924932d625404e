/**
 * A REDIS_URL naming a Sentinel is one error line (README "Scaling out"), told once the INFO sent at 'ready' is
 * answered. A heartbeat's key check, or a cache read, sent while that INFO was on its way went behind it, was refused
 * by the Sentinel (`ERR unknown command`) and told as a warning of its own after the error line: two lines for one
 * cause, and redis5-sentinel's count failed whenever a heartbeat fell within that round trip. Here a relay holds the
 * Sentinel's answers to that INFO and what follows for longer than a heartbeat, so both are sent within it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';

/** Longer than a heartbeat (1 s): at least one key check is sent while the mode check waits. */
const HOLD_MS = 1_500;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

it('a Sentinel port: refusals of commands sent before its INFO was answered add no line to the one error line', async () => {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'flake7n-sentinel-'));
  const file = join(directory, 'sentinel.conf');
  writeFileSync(file, `port ${port}\nbind 127.0.0.1\nloglevel warning\n`);
  const child = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' });
  // Each connection relayed; from the store's `INFO server` on, the Sentinel's answers are held HOLD_MS, then written at once.
  const sockets = new Set<Socket>();
  const relay = createServer((client) => {
    const sentinel = connect(port, '127.0.0.1');
    let sent = '';
    let held: Buffer[] | undefined;
    let released = false;
    for (const socket of [client, sentinel]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => (client.destroy(), sentinel.destroy()));
    }
    client.on('data', (chunk: Buffer) => {
      sent += chunk.toString('latin1');
      if (!released && held === undefined && sent.includes('$6\r\nserver\r\n')) {
        held = [];
        setTimeout(() => {
          released = true;
          client.write(Buffer.concat(held!));
          held = undefined;
        }, HOLD_MS);
      }
      sentinel.write(chunk);
    });
    sentinel.on('data', (chunk: Buffer) => (held ? held.push(chunk) : client.write(chunk)));
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const log = captureLog('info');
  let store: RedisStore | undefined;
  try {
    await waitForAnswer(() => accepts(port), 'redis-server --sentinel', 10_000);
    const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${(relay.address() as { port: number }).port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_COMMAND_TIMEOUT_MS: '5000' }).sharedState;
    // A key check at every heartbeat, as redis5-sentinel runs it.
    store = new RedisStore(settings, log.logger, 1);
    const client = store.client;
    let read = false;
    // A cache read at 'ready' (after the store's own listeners, so behind its INFO), its failure handed back as the shared cache does.
    client.once('ready', () => void client.get('flake7n:entry').then(undefined, (error: unknown) => store!.failed(error, 'cache')).finally(() => (read = true)));
    const errors = () => log.lines.filter((line) => line.level >= 50);
    await waitFor(() => errors().length >= 1 && read, 'the error line and the read answered', 15_000);
    // Give the refused key check's handler its turn (it ran before this, in the same microtask queue, when it did).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(log.lines.filter((line) => line.level >= 40).map((line) => line.msg)).toEqual([
      'redis not used: REDIS_URL names a Redis Sentinel, not the primary it watches; serving from local state. Set REDIS_URL to the primary through a name or proxy that follows failovers (the gateway does not ask Sentinel; README "Scaling out") and restart',
    ]);
    expect(store.keyCheckErrors).toBeGreaterThanOrEqual(1);
  } finally {
    await store?.close();
    for (const socket of sockets) socket.destroy();
    relay.close();
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  }
});
