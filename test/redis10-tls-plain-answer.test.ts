/**
 * A rediss:// REDIS_URL naming a port that answers in plain text (an HTTP service, a plain proxy, the wrong port):
 * the reason, in the log and in `/ready`, was OpenSSL's error string, `80CC…:error:0A00010B:SSL
 * routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:` and a line break,
 * and nothing said that the far end speaks no TLS. Now OpenSSL's reason alone, and what to change.
 */
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { redisImpostor } from './support/redis.js';

it('rediss:// to a port answering in plain text: one line, OpenSSL\'s reason without its source, and to use redis:// or the TLS port', async ({ onTestFinished }) => {
  // As an HTTP service answers bytes it cannot read.
  const port = await redisImpostor((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')), onTestFinished);
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `rediss://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  const lost = () => log.lines.filter((line) => line.msg === 'redis unreachable: serving from local state until it is back');
  await waitFor(() => lost().length === 1, 'the warning', 8_000);
  const expected = 'wrong version number: REDIS_URL is rediss:// but its far end does not answer in TLS: use redis:// if Redis serves plain text there, or the port it serves TLS on';
  expect(lost()[0]!.reason).toBe(expected);
  expect(store.reason).toBe(expected);
});
