/**
 * A PING Redis refuses (src/shared-state/redis-store.ts `#ping`, CANNOT_SERVE). Only a refusal that says Redis serves
 * no command now (BUSY, LOADING, MASTERDOWN) keeps it lost. A Redis whose PING is renamed away (`rename-command PING
 * ""`, a hardened config) answers `ERR unknown command 'ping'` and serves every other command: since BUSY and LOADING
 * were told apart, every refusal but NOPERM was taken as theirs, and such a Redis was `redis unreachable` for good,
 * each replica polling upstream for itself. A replica serving no stale data while its primary is down (MASTERDOWN to
 * PING and to every command) still is lost, with that reply.
 */
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { sleep, waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

it('a Redis without PING (renamed away) stays used: its refusal is an answer, logged, not an outage', async ({ onTestFinished }) => {
  const server = await RedisServer.start({ settings: ['--rename-command', 'PING', ''] });
  onTestFinished(() => server.stop());
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: server.url, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_KEY_PREFIX: 'renamed:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  await waitFor(() => store.up, 'Redis to be used');
  // The refused PING, logged as such, is the sign the heartbeat ran; give it a few more beats to be taken as lost.
  await waitFor(() => log.lines.some((line) => String(line.msg).startsWith('redis refused PING')), 'the refused PING to be logged', 15_000);
  await sleep(3_000);
  expect(log.lines.filter((line) => line.msg === 'redis unreachable: serving from local state until it is back')).toEqual([]);
  expect(store.up).toBe(true);
  await store.client.set('renamed:probe', 'ok');
  expect(await store.client.get('renamed:probe')).toBe('ok');
}, 40_000);

it('a replica that serves no stale data while its primary is down (MASTERDOWN to PING and to every command) stays lost, with that reply', async ({ onTestFinished }) => {
  // Port 1 on loopback: a primary that is never there.
  const server = await RedisServer.start({ settings: ['--replicaof', '127.0.0.1', '1', '--replica-serve-stale-data', 'no'] });
  onTestFinished(() => server.stop());
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: server.url, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_KEY_PREFIX: 'masterdown:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  const told = () => log.lines.filter((line) => line.msg === 'redis unreachable: serving from local state until it is back' && String(line.reason).includes('MASTERDOWN'));
  await waitFor(() => told().length === 1, 'MASTERDOWN told as the reason', 15_000);
  expect(told()[0]!.reason).toMatch(/^Redis refuses PING, and so every command: MASTERDOWN /);
  expect(store.up).toBe(false);
}, 40_000);
