/**
 * A Redis password as `openssl rand -base64` makes it holds `/` (and may hold `+`, `=`), and a generated one may hold
 * `#`, `?`, `@` or `%`: written into REDIS_URL as it is, `/`, `?`, `#` and `@` end the URL's password early, and
 * start-up said only `must be a redis:// or rediss:// URL such as redis://:password@127.0.0.1:6379/0`, which the
 * operator's URL already looked like; a `%` not followed by two hex digits passed, and ioredis's `URIError: URI
 * malformed` ended the process with a stack. The refusal now says to percent-encode them (never quoting the
 * password), and the encoded password is what Redis is sent.
 */
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { configRefusal } from './support/config-refusal.js';
import { waitFor } from './support/live.js';
import { RedisServer } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const ADVICE = 'percent-encode /, ?, #, @, % and blanks in its user name and password (%2F, %3F, %23, %40, %25, %20)';

describe('a REDIS_URL password with a character a URL reserves', () => {
  it.each([
    ['/', 'redis://:Qx7/Zk9+ef=@10.0.0.7:6379'],
    ['#', 'rediss://:Qx7#Zk9@redis.internal:6380/2'],
    ['?', 'redis://:Qx7?Zk9@10.0.0.7:6379'],
    ['@ and /', 'redis://gateway:Qx7@c/Zk9@10.0.0.7:6379/1'],
    ['a blank', 'redis://:Qx7 Zk9/e@10.0.0.7:6379'],
    ['# without a user name', 'redis://Qx7#Zk9@10.0.0.7:6379'],
    // ioredis threw `URIError: URI malformed` as the connection was made, and the process ended with a stack.
    ['% not followed by two hex digits', 'redis://:Qx7%Zk9@10.0.0.7:6379'],
    ['% in the user name', 'redis://Qx7%zz:Zk9@10.0.0.7:6379/1'],
    // The scheme is read in any case (test/redis-url-scheme-case.test.ts): the advice was given to lower case alone,
    // and `REDISS://` was told it must be a redis:// or rediss:// URL, which it is.
    ['/ under an upper-case scheme', 'REDISS://:Qx7/Zk9+ef=@redis.internal:6380'],
    ['# under a mixed-case scheme', 'Redis://:Qx7#Zk9@10.0.0.7:6379'],
    ['@ and / under an upper-case scheme', 'REDIS://gateway:Qx7@c/Zk9@10.0.0.7:6379/1'],
  ])('%s: refused with the advice to percent-encode it, the password never quoted', (_name, url) => {
    const refusal = configRefusal({ REDIS_URL: url, REDIS_KEY_SECRET: SECRET });
    expect(refusal).toContain('Invalid REDIS_URL=');
    expect(refusal).toContain(ADVICE);
    expect(refusal).not.toMatch(/Qx7|Zk9/);
  });

  it('a URL wrong for another reason gets no such advice', () => {
    expect(configRefusal({ REDIS_URL: 'redis://:s3cr3tpass@127.0.0.1:notaport', REDIS_KEY_SECRET: SECRET })).not.toContain('percent-encode');
    expect(configRefusal({ REDIS_URL: '127.0.0.1:6379', REDIS_KEY_SECRET: SECRET })).not.toContain('percent-encode');
  });

  it('percent-encoded as advised, the password is the one Redis asks', async ({ onTestFinished }) => {
    const password = 'Qx7/Zk9+ef=#?@ x%';
    const server = await RedisServer.start({ password });
    onTestFinished(() => server.stop());
    const log = captureLog('info');
    const settings = readConfig({ REDIS_URL: `redis://:${encodeURIComponent(password)}@127.0.0.1:${server.port}/1`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
    const store = new RedisStore(settings, log.logger);
    onTestFinished(() => store.close());
    await waitFor(() => store.up, 'Redis to be used');
    expect(log.raw()).not.toContain('Qx7');
  });
});
