/**
 * A failover behind one name (a DNS name or proxy that moves to the new primary): the old primary, demoted, refuses
 * writes (READONLY), and the command connection is made again through the name (redis4-failover). The subscription
 * connection, made through the same name, stayed on the old primary: its PINGs answered, it heard the new primary's
 * messages only while the old one replicated from it, so none during a resync and none at all from an old primary
 * that cannot reach the new one. The followers on that replica kept their watchers' reading for good. Now it is made
 * again with the command connection.
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { sleep, waitFor, waitForAnswer } from './support/live.js';
import { RedisServer } from './support/redis.js';

const CHANNEL = 'failover5:updates';

it('the old primary demoted and cut off from the new one: the subscriber follows the name to the new primary and hears it', async () => {
  const [old, next] = [await RedisServer.start(), await RedisServer.start()];
  // A loopback name whose new connections go to `target`; those made stay where they went.
  let target = old.port;
  const sockets = new Set<Socket>();
  const name = createServer((client) => {
    const redis = connect(target, '127.0.0.1');
    for (const socket of [client, redis]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => (client.destroy(), redis.destroy()));
    }
    client.pipe(redis);
    redis.pipe(client);
  });
  name.listen(0, '127.0.0.1');
  await once(name, 'listening');
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${(name.address() as { port: number }).port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_KEY_PREFIX: 'failover5:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  const admin = [new Redis(old.url), new Redis(next.url)] as const;
  try {
    const heard: string[] = [];
    const subscriber = store.subscriber;
    subscriber.on('message', (_channel: string, text: string) => heard.push(text));
    // As the live leases do (autoResubscribe off): subscribe at each 'ready'.
    subscriber.on('ready', () => void subscriber.subscribe(CHANNEL).catch(() => undefined));
    await waitFor(() => store.up && subscriber.status === 'ready', 'both connections');
    await waitForAnswer(async () => (await admin[0].pubsub('NUMSUB', CHANNEL))[1] === 1, 'the subscription on the old primary');

    // The failover: the name leads to the new primary; the old one is made a replica of a primary it cannot reach.
    target = next.port;
    await admin[0].call('REPLICAOF', '127.0.0.1', String(await freePort()));
    // A write meets READONLY, as a lease check would within a tick.
    await store.client.set('failover5:probe', '1').catch(() => undefined);

    await waitForAnswer(async () => (await admin[1].pubsub('NUMSUB', CHANNEL))[1] === 1, 'the subscription on the new primary', 8_000);
    await admin[1].publish(CHANNEL, 'after the failover');
    await waitFor(() => heard.includes('after the failover'), 'the new primary heard', 5_000);
    await sleep(100);
    expect(log.lines.filter((line) => String(line.msg).startsWith('redis unreachable'))).toEqual([]);
  } finally {
    await store.close();
    for (const redis of admin) redis.disconnect();
    for (const socket of sockets) socket.destroy();
    name.close();
    await old.stop();
    await next.stop();
  }
});
