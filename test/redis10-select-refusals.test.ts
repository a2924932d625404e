/**
 * A REDIS_URL naming a database (`/1`) makes ioredis send SELECT as each connection is made, before anything else but
 * AUTH. Redis refuses it for reasons that have nothing to do with the database: no password given to a Redis that
 * asks one (NOAUTH), a wrong one (the AUTH's WRONGPASS, then NOAUTH for the SELECT), a script running past
 * `busy-reply-threshold` (BUSY). Each was read as "a database this Redis does not have": one error line saying so,
 * and Redis never used again by the process, even once the password was right or the script done. Only a refusal of
 * the database itself (its number out of range, a user without SELECT) may end the use of Redis; the others are a
 * connection failing, told with Redis's reply, and the connection is made again.
 */
import { Redis } from 'ioredis';
import { describe, expect, it, type TestContext } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog, type LoggedLine } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const NOT_USED = 'redis not used:';
const LOST = 'redis unreachable: serving from local state until it is back';

/** A store on `server`'s database 1 with `credentials` (`:password@`), its log lines, closed with the test. */
function storeOn({ onTestFinished }: TestContext, server: RedisServer, credentials = ''): { store: RedisStore; logs: LoggedLine[] } {
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://${credentials}127.0.0.1:${server.port}/1`, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'select:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  return { store, logs: log.lines };
}

async function serverWith(context: TestContext, password?: string): Promise<RedisServer> {
  const server = await RedisServer.start({ password });
  context.onTestFinished(() => server.stop());
  return server;
}

const notUsed = (logs: LoggedLine[]) => logs.filter((line) => String(line.msg).startsWith(NOT_USED));
const lost = (logs: LoggedLine[]) => logs.filter((line) => line.msg === LOST);

describe.concurrent('a SELECT refused for another reason than the database', () => {
  it('no password for a Redis that asks one: told NOAUTH as Redis unreachable, and used once the password is no longer asked', async (context) => {
    const server = await serverWith(context, 'the-password');
    const { store, logs } = storeOn(context, server);
    await waitFor(() => lost(logs).length === 1, 'the loss line');
    expect(lost(logs)[0]).toMatchObject({ level: 40, reason: expect.stringMatching(/^NOAUTH /) });
    expect(notUsed(logs)).toEqual([]);
    const admin = new Redis(`redis://:the-password@127.0.0.1:${server.port}`);
    await admin.config('SET', 'requirepass', '');
    await admin.quit();
    // ioredis tries again every 2 s at most.
    await waitFor(() => store.up, 'Redis to be used', 10_000);
    expect(notUsed(logs)).toEqual([]);
    // On the database REDIS_URL names, not database 0.
    expect(await store.client.call('CLIENT', 'INFO')).toMatch(/ db=1 /);
  }, 20_000);

  it('a wrong password: the reason is the AUTH\'s WRONGPASS, not the SELECT\'s NOAUTH, nor a database Redis lacks', async (context) => {
    const server = await serverWith(context, 'the-password');
    const { logs } = storeOn(context, server, ':not-the-password@');
    await waitFor(() => lost(logs).length === 1, 'the loss line');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lost(logs)[0]).toMatchObject({ reason: expect.stringMatching(/^WRONGPASS /) });
    expect(notUsed(logs)).toEqual([]);
    expect(JSON.stringify(logs)).not.toContain('not-the-password');
  }, 20_000);

  it('a script running past busy-reply-threshold (BUSY): told so, and used once the script is over', async (context) => {
    const server = await serverWith(context);
    const admin = new Redis(server.url);
    const other = new Redis(server.url);
    context.onTestFinished(() => void (admin.disconnect(), other.disconnect()));
    // `other` ready before the script runs: ioredis's ready check (INFO) refused BUSY rejects what it has queued, SCRIPT
    // KILL below included, and a client connecting late on a loaded machine failed the test with Redis's BUSY.
    await Promise.all([admin.config('SET', 'busy-reply-threshold', '100'), other.ping()]);
    // Minutes of counting, ended by SCRIPT KILL below (a script that wrote nothing may be killed).
    const script = admin.eval('local i = 0 while i < 1e12 do i = i + 1 end return i', 0).catch((error: Error) => error);
    await waitForAnswer(async () => (await other.ping().catch((error: Error) => error.message)).startsWith('BUSY'), 'Redis to be busy');
    const { store, logs } = storeOn(context, server);
    await waitFor(() => lost(logs).length === 1, 'the loss line');
    expect(lost(logs)[0]).toMatchObject({ reason: expect.stringMatching(/^BUSY /) });
    await other.script('KILL');
    expect(String(await script)).toMatch(/killed/i);
    await waitFor(() => store.up, 'Redis to be used', 10_000);
    expect(notUsed(logs)).toEqual([]);
    expect(await store.client.call('CLIENT', 'INFO')).toMatch(/ db=1 /);
  }, 20_000);
});
