/**
 * REDIS_URL leading to a far end that accepts the TCP connection and never writes a byte (a proxy or load balancer
 * with no Redis behind it, a stopped Redis whose kernel still accepts): the warning said ioredis's `Command timed
 * out`, as if Redis were slow, and sent the on-call after Redis's latency. It now says the far end accepted and
 * never answered, once however many reconnects meet the same.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';

const LOST = 'redis unreachable: serving from local state until it is back';

it('a far end that accepts and never answers: one warning saying so, not "Command timed out"', async () => {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const log = captureLog('info');
  // The connection's first commands have 2 s whatever this says (src/shared-state/redis-store.ts): what is tested is the wording.
  const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_COMMAND_TIMEOUT_MS: '300' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  try {
    const warnings = () => log.lines.filter((line) => line.level >= 40);
    await waitFor(() => warnings().length >= 1, 'the warning', 8_000);
    expect(warnings()[0]).toMatchObject({
      msg: LOST,
      reason:
        "the far end of REDIS_URL accepted the connection and never answered (nothing within 2000 ms to the connection's first commands): a stopped or overloaded Redis, or a proxy or load balancer with no Redis behind it",
    });
    // Reconnects meet the same: no second line.
    await waitFor(() => accepted >= 3, 'two reconnects', 10_000);
    expect(warnings()).toHaveLength(1);
    expect(store.health).toBe('degraded');
  } finally {
    await store.close();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});
