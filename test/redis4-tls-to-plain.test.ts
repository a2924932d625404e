/**
 * REDIS_URL `rediss://` to a Redis that serves no TLS: the TCP connection is made, Redis takes the TLS handshake for
 * the start of a command and answers nothing, and ioredis's connect timeout fires. The warning said only `connect
 * ETIMEDOUT`, which sent the on-call after the network; it now says the handshake did not come, and why it may not.
 */
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const LOST = 'redis unreachable: serving from local state until it is back';

it('rediss:// to a plain Redis: one warning whose reason names the TLS handshake, not the network alone', async () => {
  const server = await RedisServer.start();
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `rediss://127.0.0.1:${server.port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  try {
    const lost = () => log.lines.filter((line) => line.msg === LOST);
    await waitFor(() => lost().length === 1, 'the warning', 8_000);
    expect(lost()[0]!.reason).toBe('connect ETIMEDOUT (rediss://: no TLS handshake within 2 s: the server does not serve TLS, or the network drops the connection)');
    expect(store.health).toBe('degraded');
  } finally {
    await store.close();
    await server.stop();
  }
});
