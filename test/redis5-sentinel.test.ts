/**
 * REDIS_URL naming a Sentinel's port (`redis-server --sentinel`, 26379 beside 6379): a Sentinel answers PING, INFO
 * and CLIENT as Redis does, so the connection was `connected` in `/ready` while every GET, SET and EVAL was refused
 * `ERR unknown command` (no lease, no cache entry, each replica polling for itself), and only the key check's refusal
 * line, about `eval`, hinted why. Now one error line at connection says it is a Sentinel and what to set, and Redis is
 * not used.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

it('a Sentinel port: one error line at connection naming it and what to set, and Redis not used', async () => {
  const port = await freePort();
  // Sentinel rewrites its configuration file: one of its own, in a directory of its own.
  const directory = mkdtempSync(join(tmpdir(), 'redis5-sentinel-'));
  const file = join(directory, 'sentinel.conf');
  writeFileSync(file, `port ${port}\nbind 127.0.0.1\nloglevel warning\n`);
  const child = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' });
  const log = captureLog('info');
  let store: RedisStore | undefined;
  try {
    await waitForAnswer(() => accepts(port), 'redis-server --sentinel', 10_000);
    const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
    store = new RedisStore(settings, log.logger, 1);
    const errors = () => log.lines.filter((line) => line.level >= 50);
    await waitFor(() => errors().length >= 1, 'the error line', 8_000);
    expect(errors()[0]).toMatchObject({
      msg: 'redis not used: REDIS_URL names a Redis Sentinel, not the primary it watches; serving from local state. Set REDIS_URL to the primary through a name or proxy that follows failovers (the gateway does not ask Sentinel; README "Scaling out") and restart',
      reason: 'REDIS_URL names a Redis Sentinel (redis_mode:sentinel), which stores no keys',
    });
    expect(store.health).toBe('degraded');
    // Past a key check (every heartbeat here) and a reconnect's time: still the one line, nothing refused, not connected again.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(log.lines.filter((line) => line.level >= 40)).toHaveLength(1);
    expect(store.health).toBe('degraded');
    expect(store.client.status).toBe('end');
  } finally {
    await store?.close();
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    rmSync(directory, { recursive: true, force: true });
  }
});
