/**
 * A PING Redis refuses because it cannot serve (BUSY: a script past `busy-reply-threshold`; LOADING: a replica loading
 * its primary's dataset) was taken, as a refusal by an ACL without PING is, for a sign of life: the log said `redis refused PING:
 * … grant the gateway's Redis user +ping`, advice about an ACL nobody had changed, then `redis reachable again: sharing
 * state with the other replicas` while Redis refused every lease and cache command, and `/ready` said `connected`.
 * Now such a refusal keeps Redis lost, with Redis's reply as the reason, until a PING is answered PONG.
 */
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';
import { RedisServer } from './support/redis.js';

const LOST = 'redis unreachable: serving from local state until it is back';
const CHANGED = 'redis still unreachable, now for another reason';
const BACK = 'redis reachable again: sharing state with the other replicas';

it('a script running past busy-reply-threshold: Redis stays lost with BUSY as the reason, no advice to grant +ping, back once the script ends', async ({ onTestFinished }) => {
  const server = await RedisServer.start();
  onTestFinished(() => server.stop());
  const admin = new Redis(server.url);
  const other = new Redis(server.url);
  onTestFinished(() => void (admin.disconnect(), other.disconnect()));
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: server.url, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_KEY_PREFIX: 'busy:', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  await waitFor(() => store.up, 'Redis to answer');

  // `other` ready before the script runs: ioredis's ready check (INFO) refused BUSY rejects what it has queued, SCRIPT
  // KILL below included, and a client connecting late on a loaded machine failed the test with Redis's BUSY.
  await Promise.all([admin.config('SET', 'busy-reply-threshold', '100'), other.ping()]);
  // Minutes of counting, ended by SCRIPT KILL below (a script that wrote nothing may be killed).
  const script = admin.eval('local i = 0 while i < 1e12 do i = i + 1 end return i', 0).catch((error: Error) => error);
  await waitForAnswer(async () => (await other.ping().catch((error: Error) => error.message)).startsWith('BUSY'), 'Redis to be busy');
  const busyTold = () => log.lines.filter((line) => (line.msg === LOST || line.msg === CHANGED) && String(line.reason).includes('BUSY Redis is busy running a script'));
  await waitFor(() => busyTold().length === 1, 'BUSY told as the reason');
  expect(busyTold()[0]!.reason).toMatch(/^Redis refuses PING, and so every command: BUSY /);
  // Two more heartbeats, each PING refused: still lost, and nothing said to be back.
  await new Promise((resolve) => setTimeout(resolve, 2_200));
  expect(store.up).toBe(false);
  expect(store.reason).toMatch(/BUSY/);
  expect(log.lines.filter((line) => line.msg === BACK)).toEqual([]);
  expect(log.lines.filter((line) => String(line.msg).startsWith('redis refused PING'))).toEqual([]);

  await other.script('KILL');
  expect(String(await script)).toMatch(/killed/i);
  await waitFor(() => store.up, 'Redis back');
  expect(log.lines.filter((line) => line.msg === BACK)).toHaveLength(1);
}, 20_000);
