/**
 * The commands ioredis sends as a connection is made (AUTH, SELECT, CLIENT SETNAME, the ready check's INFO) wait on
 * nothing a query waits for: commands are not queued while the connection is not ready. They had
 * REDIS_COMMAND_TIMEOUT_MS (50 ms) all the same, so a stall of the gateway's event loop past it while they were in
 * flight (a busy host, a container's CPU quota, the gateway's own start) failed the ready check of a Redis that had
 * answered at once: a warning `redis unreachable` with `Ready check failed: Command timed out`, `/ready` degraded,
 * and a reconnect that could meet the same stall. They now have the connect timeout (2 s); commands sent once the
 * connection is ready keep REDIS_COMMAND_TIMEOUT_MS.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';

/** Keeps the event loop busy for `ms`, as a loaded host or a CPU quota's throttling does. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

it('a stall of 200 ms while the ready check is in flight: connected at the first try, no outage told; a command once ready still gives up after 50 ms', async () => {
  const server = await RedisServer.start();
  const log = captureLog('debug');
  const store = new RedisStore(readConfig({ REDIS_URL: server.url, REDIS_KEY_SECRET: SECRET }).sharedState, log.logger);
  const client = store.client as Redis & { info: (...args: unknown[]) => Promise<string> };
  const info = client.info.bind(client);
  let stalls = 0;
  // The first INFO is the ready check's, sent on the connection before it is ready.
  client.info = (...args: unknown[]) => {
    const sent = info(...args);
    if (stalls++ === 0) stall(200);
    return sent;
  };
  try {
    await waitFor(() => store.up, 'Redis to answer', 10_000);
    expect(stalls).toBeGreaterThanOrEqual(1);
    expect(log.lines.filter((line) => line.level >= 40)).toEqual([]);
    expect(log.lines.filter((line) => line.msg === 'redis error')).toEqual([]);
    // Once ready, REDIS_COMMAND_TIMEOUT_MS again: a GET while Redis holds every client's commands for 3 s gives up long
    // before the 2 s a handshake's command has.
    const admin = new Redis(server.url);
    try {
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      const started = performance.now();
      await expect(store.client.get('handshake:probe')).rejects.toThrow('Command timed out');
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      admin.disconnect();
    }
  } finally {
    await store.close();
    await server.stop();
  }
});
