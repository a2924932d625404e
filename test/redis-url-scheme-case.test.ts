/**
 * URL schemes are case-insensitive (RFC 3986 §3.1), and the REDIS_URL check took `REDISS://`, but ioredis takes
 * only a lower-case `rediss://` for TLS: such a URL connected in plain text, the password in its first command,
 * where the operator had asked for TLS. The scheme is now read in lower case, so what reaches the wire is a TLS
 * ClientHello (first byte 0x16), and the store's reasons are those of TLS.
 */
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { redisImpostor } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';

it('REDIS_URL is read with its scheme in lower case, and nothing else of it changed', () => {
  expect(readConfig({ REDIS_URL: 'REDISS://:Pa55@Redis.internal:6380/2', REDIS_KEY_SECRET: SECRET }).sharedState.redisUrl).toBe('rediss://:Pa55@Redis.internal:6380/2');
  expect(readConfig({ REDIS_URL: 'Redis://127.0.0.1:6379', REDIS_KEY_SECRET: SECRET }).sharedState.redisUrl).toBe('redis://127.0.0.1:6379');
});

it.for(['rediss', 'REDISS', 'Rediss'])('%s:// to a port that answers nothing: a TLS handshake is what is sent, with no password in clear, and the reason says no TLS handshake came', async (scheme, { onTestFinished }) => {
  const received: Buffer[] = [];
  const port = await redisImpostor((socket) => socket.on('data', (chunk: Buffer) => received.push(chunk)), onTestFinished);
  const log = captureLog('info');
  const url = `${scheme}://:clear-text-password@127.0.0.1:${port}`;
  const store = new RedisStore(readConfig({ REDIS_URL: url, REDIS_KEY_SECRET: SECRET }).sharedState, log.logger);
  onTestFinished(() => store.close());
  const lost = () => log.lines.filter((line) => line.msg === 'redis unreachable: serving from local state until it is back');
  await waitFor(() => lost().length === 1, 'the warning', 8_000);
  expect(lost()[0]!.reason).toMatch(/^connect ETIMEDOUT \(rediss:\/\/: no TLS handshake within/);
  const bytes = Buffer.concat(received);
  expect(bytes[0], 'a TLS handshake record').toBe(0x16);
  expect(bytes.toString('latin1')).not.toContain('clear-text-password');
});
