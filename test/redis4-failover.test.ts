/**
 * A Redis failover behind one name (a DNS name or a proxy that moves to the new primary, as managed Redis services
 * do): the connection a replica has open to the old primary, now a replica itself, stays open and answers every
 * write with READONLY. The gateway connects again on READONLY, at most once per 5 s, and so reaches the new primary
 * (src/shared-state/redis-store.ts). Before, every lease and cache write stayed refused until the process restarted.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it, type TestContext } from 'vitest';
import { readConfig } from '../src/config.js';
import { READ_ONLY_REPLY, RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog, type LoggedLine } from './support/captured-log.js';
import { sleep, waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const LOST = 'redis unreachable: serving from local state until it is back';

/** A loopback relay whose new connections go to `target` (a port); connections already made stay where they went. */
class MovingName {
  connections = 0;
  readonly #sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
    public target: number,
  ) {}

  static async start(target: number): Promise<MovingName> {
    let name: MovingName | undefined;
    const server = createServer((client) => name!.relay(client));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    name = new MovingName(server, (server.address() as { port: number }).port, target);
    return name;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private relay(client: Socket): void {
    this.connections++;
    const redis = connect(this.target, '127.0.0.1');
    for (const socket of [client, redis]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        redis.destroy();
      });
    }
    client.pipe(redis);
    redis.pipe(client);
  }
}

/** A primary and a second server, a name leading to the primary, and a store connected through that name. */
async function onFailoverPair({ onTestFinished }: TestContext): Promise<{ store: RedisStore; logs: LoggedLine[]; name: MovingName; primary: RedisServer; other: RedisServer }> {
  const [primary, other] = [await RedisServer.start(), await RedisServer.start()];
  const name = await MovingName.start(primary.port);
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${name.port}`, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'failover:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(async () => {
    await store.close();
    await name.close();
    await primary.stop();
    await other.stop();
  });
  await waitFor(() => store.up, 'Redis to answer');
  return { store, logs: log.lines, name, primary, other };
}

/** `server` made a replica of `of` (REPLICAOF), as a failover demotes the old primary. */
async function demote(server: RedisServer, of: RedisServer): Promise<void> {
  const admin = new Redis(server.url);
  // A replica loads what its primary sends from a file in its directory: not the working tree's.
  await admin.config('SET', 'repl-diskless-load', 'swapdb');
  await admin.call('REPLICAOF', '127.0.0.1', String(of.port));
  await admin.quit();
}

/** Whether a write through the store's command connection is taken. */
const writes = (store: RedisStore) =>
  store.client.set('failover:probe', '1', 'PX', 10_000).then(
    () => true,
    () => false,
  );

describe.concurrent('a Redis failover behind one name', () => {
  it('the old primary demoted, the name moved to the new one: writes are taken again within moments, with no outage told', async (context) => {
    const { store, logs, name, primary, other } = await onFailoverPair(context);
    expect(await writes(store)).toBe(true);
    name.target = other.port;
    await demote(primary, other);
    let taken = false;
    const deadline = performance.now() + 8_000;
    while (!taken && performance.now() < deadline) {
      taken = await writes(store);
      if (!taken) await sleep(100);
    }
    expect(taken, 'a write taken after the failover').toBe(true);
    const fresh = new Redis(other.url);
    expect(await fresh.get('failover:probe')).toBe('1');
    await fresh.quit();
    expect(store.health).toBe('connected');
    expect(logs.filter((line) => line.msg === LOST)).toEqual([]);
  });

  it('a name that leads to a replica for good: one new connection per 5 s at most, however many writes are refused, and no outage lines', async (context) => {
    const { store, logs, name, primary, other } = await onFailoverPair(context);
    name.target = other.port;
    await demote(other, primary);
    // The connection open to the primary is cut: the one made again leads to the replica.
    store.client.disconnect(true);
    await waitFor(() => name.connections === 2 && store.up, 'the connection made again');
    const [before, told] = [name.connections, logs.length];
    const until = performance.now() + 3_000;
    let refused = 0;
    while (performance.now() < until) {
      if (store.up && !(await writes(store))) refused++;
      await sleep(20);
    }
    // More than 10, not 20: a loaded machine stretches each 20 ms sleep and write to 80 ms or more, and the reconnect
    // takes some of the 3 s; ten refusals that made a connection each would still be ten, not one.
    expect(refused).toBeGreaterThan(10);
    expect(name.connections - before).toBe(1);
    expect(logs.slice(told).filter((line) => line.msg === LOST || String(line.msg).startsWith('redis reachable again'))).toEqual([]);
  });
});

describe('a READONLY reply', () => {
  it("is told apart as a command's (Redis 7, scripts too) and inside a script's error (Redis 6), and nowhere else", () => {
    expect(READ_ONLY_REPLY.test("READONLY You can't write against a read only replica.")).toBe(true);
    // Redis 6 wraps a script's write refused on a replica: the lease checks and deltas are scripts (found by review).
    expect(READ_ONLY_REPLY.test("ERR Error running script (call to f_3b1e): @user_script:1: @user_script: 1: -READONLY You can't write against a read only replica.")).toBe(true);
    expect(READ_ONLY_REPLY.test('ERR unknown command READONLYX')).toBe(false);
    expect(READ_ONLY_REPLY.test("NOPERM this user has no permissions to run the 'set' command")).toBe(false);
  });
});
