/**
 * A Redis user that may not SELECT, with a database in REDIS_URL (README "Scaling out", ACL): Redis refuses the
 * SELECT with NOPERM, as it refuses a database it does not have, and the replica must not go on in database 0. The
 * line must say which: told "a database this Redis does not have", the on-call fixed a REDIS_URL that was right.
 */
import { Redis } from 'ioredis';
import { describe, expect, it, type TestContext } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog, type LoggedLine } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const NOT_USED = 'redis not used:';

/** A store on a Redis of its own as the ACL user `gw`, granted `commands` (and the prefix's keys and channels), on database `db`. */
async function storeAs({ onTestFinished }: TestContext, commands: string[], db: number): Promise<{ store: RedisStore; logs: LoggedLine[] }> {
  const server = await RedisServer.start();
  const admin = new Redis(server.url);
  await admin.call('ACL', 'SETUSER', 'gw', 'on', '>gw-password', '~acl:*', '&acl:*', ...commands);
  await admin.quit();
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://gw:gw-password@127.0.0.1:${server.port}/${db}`, REDIS_KEY_SECRET: SECRET, REDIS_KEY_PREFIX: 'acl:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(async () => {
    await store.close();
    await server.stop();
  });
  return { store, logs: log.lines };
}

describe.concurrent('a Redis user without SELECT', () => {
  it('REDIS_URL …/1: one error line saying the user may not SELECT (its reply and how to grant it), not that the database is missing; Redis unused', async (context) => {
    const { store, logs } = await storeAs(context, ['+@all', '-select'], 1);
    const lines = () => logs.filter((line) => String(line.msg).startsWith(NOT_USED));
    await waitFor(() => lines().length === 1, 'the error line');
    expect(lines()[0]).toMatchObject({
      level: 50,
      msg: 'redis not used: the Redis user of REDIS_URL may not SELECT the database REDIS_URL names; serving from local state. Grant the user +select (README "Scaling out") and restart',
      reason: expect.stringMatching(/^Redis refused database 1 of REDIS_URL \(NOPERM /),
    });
    expect(store.health).toBe('degraded');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(lines()).toHaveLength(1);
  });

  it('granted SELECT as README lists it, the same user is connected on database 1', async (context) => {
    const { store, logs } = await storeAs(context, ['+get', '+set', '+del', '+pttl', '+eval', '+pexpire', '+publish', '+time', '+zadd', '+zcard', '+zremrangebyscore', '+subscribe', '+unsubscribe', '+ping', '+info', '+select'], 1);
    await waitFor(() => store.up, 'Redis to answer');
    expect(logs.filter((line) => String(line.msg).startsWith(NOT_USED))).toEqual([]);
  });
});
