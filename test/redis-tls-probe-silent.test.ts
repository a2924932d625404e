/**
 * A redis:// connection reset before any answer is either a TLS port (plain commands are a broken handshake to it)
 * or a plain Redis at `maxclients`; a TLS handshake with the port tells them apart (redis5-tls-port,
 * redis5-maxclients). A handshake not answered within the probe's second was read as "serves no TLS", and that
 * reason stuck for the whole outage: a TLS-only Redis on a slow or busy link was told as a Redis at maxclients, and
 * the on-call went looking at client counts instead of writing rediss://. Now no answer says neither, and the next
 * reset asks again.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog, type CapturedLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';

const TLS = fileURLToPath(new URL('./support/tls/', import.meta.url));
const STILL = 'redis still unreachable, now for another reason';

const cleanups: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

/**
 * A port that resets plain commands before a byte, as a TLS-only Redis does, and hands a TLS ClientHello (first byte
 * 0x16) to a real TLS server after `handshakeDelayMs(n)` for the n-th handshake (Infinity: never).
 */
async function tlsOnlyPort(handshakeDelayMs: (n: number) => number): Promise<{ port: number; handshakes: () => number }> {
  const tlsServer = createTlsServer({ cert: readFileSync(`${TLS}self-signed-cert.pem`), key: readFileSync(`${TLS}self-signed-key.pem`) }, (socket) => socket.on('error', () => undefined));
  const tlsPort = await listen(tlsServer);
  const sockets = new Set<Socket>();
  let handshakes = 0;
  const front = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', (first) => {
      if (first[0] !== 0x16) return void socket.resetAndDestroy();
      const delay = handshakeDelayMs(++handshakes);
      if (delay === Infinity) return;
      socket.pause();
      setTimeout(() => {
        const back = connect(tlsPort, '127.0.0.1', () => {
          back.write(first);
          socket.pipe(back).pipe(socket);
          socket.resume();
        });
        back.on('error', () => socket.destroy());
        socket.on('close', () => back.destroy());
      }, delay);
    });
  });
  const port = await listen(front);
  cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
  return { port, handshakes: () => handshakes };
}

function storeAt(port: number, log: CapturedLog): RedisStore {
  const settings = readConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_COMMAND_TIMEOUT_MS: '1000' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  cleanups.push(() => store.close());
  return store;
}

const warnings = (log: CapturedLog) => log.lines.filter((line) => line.level >= 40);

it('a TLS handshake never answered: the reason names both causes, not "serves no TLS", and stays one line', async () => {
  const { port, handshakes } = await tlsOnlyPort(() => Infinity);
  const log = captureLog('info');
  storeAt(port, log);
  await waitFor(() => warnings(log).length >= 1, 'the warning', 10_000);
  const first = warnings(log)[0]!;
  expect(first.msg).toBe('redis unreachable: serving from local state until it is back');
  expect(first.reason).toBe('the far end of REDIS_URL reset the connection without answering a command, and did not answer a TLS handshake within 1 s either: a TLS port on a slow link (then use rediss://) or a Redis at maxclients (its INFO clients, its log), as does one in protected mode to a client not on its loopback (no password set)');
  // Each later reset asks again (no answer is no finding), and an answer that is again silence is not a new line.
  await waitFor(() => handshakes() >= 3, 'a handshake asked again after the first went unanswered', 15_000);
  expect(warnings(log)).toHaveLength(1);
});

it('a TLS port whose first handshake is slow is named a TLS port once a later one is answered', async () => {
  const { port } = await tlsOnlyPort((n) => (n === 1 ? 3_000 : 0));
  const log = captureLog('info');
  storeAt(port, log);
  await waitFor(() => warnings(log).some((line) => line.msg === STILL), 'the reason told again once known', 15_000);
  const reasons = warnings(log).map((line) => line.reason);
  expect(reasons[0]).toContain('did not answer a TLS handshake within 1 s either');
  expect(reasons.at(-1)).toBe('the far end of REDIS_URL reset the connection without answering a command, and answers a TLS handshake: this looks like a TLS port: use rediss://');
  expect(reasons.join('\n')).not.toContain('serves no TLS');
});
