/**
 * The line a refused PING logs (src/shared-state/redis-store.ts `#ping`). Its advice, to grant the gateway's Redis user
 * +ping, answers an ACL's refusal (NOPERM) only: a PING renamed away (`rename-command PING ""`, `ERR unknown command`)
 * was told the same, a grant that changes nothing, for a Redis that needs nothing done.
 */
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

it('a PING renamed away is logged with its reply, without advice to grant +ping', async ({ onTestFinished }) => {
  const server = await RedisServer.start({ settings: ['--rename-command', 'PING', ''] });
  onTestFinished(() => server.stop());
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: server.url, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_KEY_PREFIX: 'advice:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  const refused = () => log.lines.filter((line) => String(line.msg).startsWith('redis refused PING'));
  await waitFor(() => refused().length > 0, 'the refused PING to be logged', 15_000);
  expect(String(refused()[0]!.reply)).toMatch(/^ERR unknown command/);
  expect(String(refused()[0]!.msg)).not.toMatch(/\+ping/);
  expect(store.up).toBe(true);
}, 40_000);
