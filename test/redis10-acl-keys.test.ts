/**
 * A Redis user whose ACL does not grant REDIS_KEY_PREFIX's keys (`~other:*` where the prefix is `execution-gateway:`,
 * a prefix changed on one side): every lease, cache entry and key check is refused `NOPERM this user has no
 * permissions to access one of the keys used as arguments`, which names neither the key nor what to grant, while a
 * refused SUBSCRIBE's line gives the channels. Each refusal line now gives the keys to grant, `~<prefix>*`.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

it('keys the ACL does not grant: the refusal lines of commands and of the key check name the keys to grant', async ({ onTestFinished }) => {
  const server = await RedisServer.start();
  onTestFinished(() => server.stop());
  const admin = new Redis(server.url);
  await admin.call('ACL', 'SETUSER', 'gw', 'on', '>gw-password', '~other:*', '&acl-keys:*', '+@all');
  await admin.quit();
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://gw:gw-password@127.0.0.1:${server.port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_KEY_PREFIX: 'acl-keys:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  // A key check at every heartbeat.
  const store = new RedisStore(settings, log.logger, 1);
  onTestFinished(() => store.close());
  await waitFor(() => store.up, 'Redis to answer');
  await store.client.get(store.key('cache', store.callerTag('Bearer x'), 'ex_1')).catch((error: unknown) => store.failed(error, 'cache'));
  const refused = (start: string) => log.lines.filter((line) => String(line.msg).startsWith(start));
  await waitFor(() => refused('redis refused the key secret check').length === 1 && refused('redis refused a shared cache command').length === 1, 'both refusals logged');
  for (const line of [...refused('redis refused the key secret check'), ...refused('redis refused a shared cache command')]) {
    expect(line).toMatchObject({ reply: expect.stringMatching(/^NOPERM /), keys: '~acl-keys:*', grant: 'the Redis user of REDIS_URL needs these keys (README "Scaling out", ACL)' });
  }
});
