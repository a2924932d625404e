/**
 * `/ready` said `"redis": "degraded"` and nothing more: why (a far end that never answers, a refused connection, a
 * wrong password) was only in the log of the replica that lost it. It now adds `redisReason` while degraded, the log's
 * reason with no address in it (`/ready` answers whoever reaches the port), and drops it once Redis is back.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { Harness } from './support/harness.js';
import { liveEnv, TOKENS, waitForAnswer } from './support/live.js';
import { readiness, RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';

it('a far end that never answers: /ready says so in redisReason', async () => {
  const sockets = new Set<Socket>();
  const hole = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('error', () => undefined);
  });
  hole.listen(0, '127.0.0.1');
  await once(hole, 'listening');
  const upstream = await FakeUpstream.start({ executions: [], tokens: TOKENS });
  const gateway = await Harness.start({
    sharedUpstream: upstream,
    env: liveEnv({ REDIS_URL: `redis://127.0.0.1:${(hole.address() as { port: number }).port}`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '300' }),
  });
  try {
    await waitForAnswer(async () => (await readiness(gateway.url)).redisReason !== undefined && !String((await readiness(gateway.url)).redisReason).startsWith('not connected'), 'a reason in /ready', 8_000);
    expect(await readiness(gateway.url)).toMatchObject({
      redis: 'degraded',
      redisReason:
        "the far end of REDIS_URL accepted the connection and never answered (nothing within 2000 ms to the connection's first commands): a stopped or overloaded Redis, or a proxy or load balancer with no Redis behind it",
    });
  } finally {
    await gateway.close();
    await upstream.close();
    for (const socket of sockets) socket.destroy();
    hole.close();
  }
});

it('nothing listening, then a Redis there: redisReason names the refusal without the address, and is gone once connected', async () => {
  const port = await freePort();
  const upstream = await FakeUpstream.start({ executions: [], tokens: TOKENS });
  const gateway = await Harness.start({ sharedUpstream: upstream, env: liveEnv({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000' }) });
  let redis: RedisServer | undefined;
  try {
    await waitForAnswer(async () => (await readiness(gateway.url)).redisReason === 'connect ECONNREFUSED', 'the refusal in /ready', 8_000);
    expect(JSON.stringify(await readiness(gateway.url))).not.toContain(String(port));
    redis = await RedisServer.start({ port });
    await waitForAnswer(async () => (await readiness(gateway.url)).redis === 'connected', 'Redis connected', 10_000);
    expect(await readiness(gateway.url)).not.toHaveProperty('redisReason');
  } finally {
    await gateway.close();
    await upstream.close();
    await redis?.stop();
  }
});
