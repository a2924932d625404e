/**
 * The Redis connection's state across outages, as the operator meets it (src/shared-state/redis-store.ts): one
 * warning per outage with that outage's reason, one line when Redis is back, `up` (and so `/ready` and
 * `gateway_redis_up`) true as soon as a connection is ready. Each test has its own real `redis-server`, which it stops,
 * freezes and restarts.
 */
import { Redis } from 'ioredis';
import { describe, expect, it, type TestContext } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog, type LoggedLine } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const WARN = 40;
const INFO = 30;
const LOST = 'redis unreachable: serving from local state until it is back';
const BACK = 'redis reachable again: sharing state with the other replicas';

/**
 * A store on a Redis of its own (command timeout `timeoutMs`), connected, with its log lines; both closed when the
 * test finishes (the test's own hook: the tests run side by side).
 */
async function storeOnOwnRedis(
  { onTestFinished }: TestContext,
  timeoutMs = 1000,
  /** Before the store connects: what the test sets up on its Redis; returns the URL the store uses (default: the server's). */
  prepare?: (server: RedisServer) => Promise<string>,
): Promise<{ store: RedisStore; server: RedisServer; logs: LoggedLine[] }> {
  const server = await RedisServer.start();
  const url = prepare ? await prepare(server) : server.url;
  const log = captureLog('debug');
  const settings = readConfig({ REDIS_URL: url, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'outages:', REDIS_COMMAND_TIMEOUT_MS: String(timeoutMs) }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(async () => {
    server.resume();
    await store.close();
    await server.stop();
  });
  await waitFor(() => store.up, 'Redis to answer');
  return { store, server, logs: log.lines };
}

const lost = (logs: LoggedLine[]) => logs.filter((line) => line.level === WARN && line.msg === LOST);
const back = (logs: LoggedLine[]) => logs.filter((line) => line.level === INFO && line.msg === BACK);
const refusals = (logs: LoggedLine[]) => logs.filter((line) => line.msg === 'redis error' && String(line.err).startsWith('NOAUTH')).length;
const refusedConnections = (logs: LoggedLine[]) => logs.filter((line) => line.msg === 'redis error' && String(line.err).includes('ECONNREFUSED'));

/**
 * Closes the store's command connection from Redis's side (`CLIENT KILL`): a close with no error on the client's side.
 * `connected`: a connection of the test's own to ask on (one made before a password was set), else a new one.
 */
async function killCommandConnection(server: RedisServer, connected?: Redis): Promise<void> {
  const admin = connected ?? new Redis(server.url);
  try {
    const list = (await admin.client('LIST')) as string;
    const line = list.split('\n').find((entry) => entry.includes('name=execution-gateway-commands'));
    const id = /\bid=(\d+)/.exec(line ?? '')?.[1];
    expect(id, list).toBeDefined();
    await admin.client('KILL', 'ID', id!);
  } finally {
    if (!connected) admin.disconnect();
  }
}

describe.concurrent('Redis lost and found again', () => {
  it('a Redis user that may not PING: its refusal is an answer, Redis stays up, and the refusal is logged once with its reply', async (context) => {
    const { store, logs } = await storeOnOwnRedis(context, 1000, async (server) => {
      const admin = new Redis(server.url);
      try {
        await admin.call('ACL', 'SETUSER', 'no-ping', 'on', '>a-password', '~outages:*', '&outages:*', '+@all', '-ping');
      } finally {
        admin.disconnect();
      }
      return `redis://no-ping:a-password@127.0.0.1:${server.port}`;
    });
    const refusals = () => logs.filter((line) => line.level === WARN && String(line.msg).startsWith('redis refused PING'));
    // Three heartbeats, a PING refused at each: two unanswered in a row counted as a loss before.
    await waitFor(() => refusals().length === 1, 'the refusal logged');
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(store.up).toBe(true);
    expect(lost(logs)).toEqual([]);
    expect(refusals()).toHaveLength(1);
    expect(refusals()[0]!.reply).toMatch(/^NOPERM /);
  });


  it('a second outage after Redis came back is told again, with its own reason, not the first one\'s', async (context) => {
    const { store, server, logs } = await storeOnOwnRedis(context);

    // The first outage: Redis dies, and ioredis's attempts to connect again are refused meanwhile.
    await server.stop();
    await waitFor(() => !store.up && refusedConnections(logs).length >= 1, 'Redis lost, a connection refused');
    expect(lost(logs)).toHaveLength(1);
    await server.start();
    await waitFor(() => store.up && back(logs).length === 1, 'Redis found again');

    // The second: Redis closes the connection, with no error; ioredis connects again at once.
    await killCommandConnection(server);
    await waitFor(() => lost(logs).length === 2 && back(logs).length === 2 && store.up, 'the second loss and return told');
    // The kill is a close, or a reset when a heartbeat's PING lay unread in Redis's buffer as it closed: either is this outage's own.
    expect(['the connection closed', 'read ECONNRESET']).toContain(lost(logs)[1]!.reason);
  });

  it('a password set on a running Redis: the loss reads "the connection closed", and the refusal each reconnect meets is told once more', async (context) => {
    const { store, server, logs } = await storeOnOwnRedis(context);
    const admin = new Redis(server.url);
    try {
      await admin.config('SET', 'requirepass', 'a-password-set-later');
      await killCommandConnection(server, admin);
      const changed = () => logs.filter((line) => line.level === WARN && line.msg === 'redis still unreachable, now for another reason');
      await waitFor(() => changed().length === 1, 'the reconnect\'s refusal told');
      // A close, or a reset when a heartbeat's PING lay unread in Redis's buffer as it killed the connection.
      expect(lost(logs)).toHaveLength(1);
      expect(['the connection closed', 'read ECONNRESET']).toContain(lost(logs)[0]!.reason);
      expect(changed()[0]!.reason).toMatch(/^NOAUTH /);
      expect(JSON.stringify(logs)).not.toContain('a-password-set-later');
      // Refused at every reconnect, for the same reason: told once.
      await waitFor(() => refusals(logs) >= 3, 'two more refused reconnects', 10_000);
      expect(changed()).toHaveLength(1);
      await admin.config('SET', 'requirepass', '');
      await waitFor(() => store.up && back(logs).length === 1, 'Redis found again');
    } finally {
      admin.disconnect();
    }
  }, 20_000);

  it('a hang\'s flag does not outlive its connection: the next connection counts as up the moment it is ready', async (context) => {
    // A short command timeout, so two PINGs miss within two heartbeats (1 s each).
    const { store, server, logs } = await storeOnOwnRedis(context, 100);
    const upAtReady: boolean[] = [];
    // Registered after the store's own listener: it sees the state the store set at 'ready'.
    store.client.on('ready', () => upAtReady.push(store.up));

    // Counted from here: on a loaded machine two late PINGs in a row can count as a loss at 100 ms before the hang,
    // and the store is back from it first: the lines this hang adds are what is checked.
    await waitFor(() => store.up, 'Redis up before the hang');
    const [lostBefore, backBefore] = [lost(logs).length, back(logs).length];
    server.pause();
    await waitFor(() => !store.up && lost(logs).length === lostBefore + 1, 'the hang counted as a loss', 8_000);
    expect(lost(logs).at(-1)!.reason).toMatch(/^2 PINGs in a row unanswered within 100 ms$/);
    // Redis goes away while hung and comes back: a new connection, after a hang.
    await server.stop();
    await server.start();
    await waitFor(() => upAtReady.length >= 1, 'a new connection ready', 15_000);
    expect(upAtReady[0]).toBe(true);
    expect(back(logs)).toHaveLength(backBefore + 1);
  }, 30_000);
});
