/**
 * REDIS_URL `redis://` to a Redis that serves TLS only (`--port 0 --tls-port …`): Redis takes the plain commands
 * for a broken handshake and resets the connection without a byte. The warnings said `write ECONNRESET`, then
 * `read ECONNRESET` as a second reason, and nothing of TLS; now one warning says this looks like a TLS port, once a
 * TLS handshake with the port is answered: a plain Redis at `maxclients` resets such a connection too, and is no TLS
 * port (redis5-maxclients).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';

const TLS = fileURLToPath(new URL('./support/tls/', import.meta.url));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

it('redis:// to a TLS-only Redis: one warning saying it looks like a TLS port, use rediss://', async () => {
  const port = await freePort();
  const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', `${TLS}self-signed-cert.pem`, '--tls-key-file', `${TLS}self-signed-key.pem`, '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const log = captureLog('info');
  let store: RedisStore | undefined;
  try {
    await waitForAnswer(() => accepts(port), 'redis-server with TLS', 10_000);
    const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
    store = new RedisStore(settings, log.logger);
    const warnings = () => log.lines.filter((line) => line.level >= 40);
    await waitFor(() => warnings().length >= 1, 'the warning', 8_000);
    expect(warnings()[0]).toMatchObject({ msg: 'redis unreachable: serving from local state until it is back', reason: 'the far end of REDIS_URL reset the connection without answering a command, and answers a TLS handshake: this looks like a TLS port: use rediss://' });
    // Reconnects meet the same reset, read or written: still one line.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(warnings()).toHaveLength(1);
    expect(store.health).toBe('degraded');
  } finally {
    await store?.close();
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
});
