/**
 * A Redis in protected mode (its default: no password for the default user) refuses every client not on its loopback
 * with one line, `-DENIED Redis is running in protected mode …`, 1,000 characters long, and closes. The first warning
 * said `… serves no TLS: a Redis at maxclients does so` (the line lost in the reset), the next one the line cut at 200
 * characters, `… connections are only accepted from the loopback interface. If you `, before any of the fixes it
 * lists. Now each says protected mode, and the refusal what to set.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';
import { redisImpostor } from './support/redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
const REFUSAL =
  "Redis refused the connection: it runs in protected mode (no password for its default user) and takes clients on its loopback only: give its default user a password (requirepass) and put it in REDIS_URL, or bind Redis to a private network and set protected-mode no";
/** Redis 7's line, as it writes it to a client it refuses. */
const DENIED =
  "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

it('a far end whose first words are protected mode\'s refusal: the reason says so and what to set, whole', async ({ onTestFinished }) => {
  const port = await redisImpostor((socket) => socket.end(DENIED), onTestFinished);
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  await waitFor(() => log.lines.some((line) => line.reason === REFUSAL), 'the refusal told', 8_000);
  expect(store.reason).toBe(REFUSAL);
});

/** An address of this machine off its loopback, where a Redis in protected mode refuses this process. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((address) => address !== undefined && address.family === 'IPv4' && !address.internal)?.address;

it.skipIf(outside === undefined)('a real Redis in protected mode, reached off its loopback: every warning names protected mode, none maxclients alone', async ({ onTestFinished }) => {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', outside!, '--protected-mode', 'yes', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
  onTestFinished(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });
  // Listening before the store's first attempt: a refused connect (a redis-server slow to start on a loaded machine)
  // would be a warning that rightly names no protected mode. Accepted here, it then writes its refusal and closes.
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, outside!);
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  await waitForAnswer(accepts, 'redis-server in protected mode', 10_000);
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `redis://${outside}:${port}`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  await waitFor(() => log.lines.some((line) => line.reason === REFUSAL), 'the refusal told', 10_000);
  const reasons = log.lines.filter((line) => line.level >= 40).map((line) => String(line.reason));
  for (const reason of reasons) expect(reason).toMatch(/protected mode/);
  expect(store.reason).toBe(REFUSAL);
}, 15_000);
