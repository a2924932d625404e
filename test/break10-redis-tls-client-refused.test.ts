/**
 * A real redis-server that asks for a client certificate and trusts another CA than the one that signed the gateway's
 * REDIS_TLS_CERT_FILE. The reason was `TLS: tlsv1 alert unknown ca` alone, which reads as Redis's own certificate at
 * fault; now it says Redis refused the client certificate, and what to set.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor, waitForAnswer } from './support/live.js';

const TLS = fileURLToPath(new URL('./support/tls/', import.meta.url));
const CERT = `${TLS}self-signed-cert.pem`;
const KEY = `${TLS}self-signed-key.pem`;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A redis-server asking for a client certificate signed by the CA in `caFile`; its port. */
async function redisTrusting(caFile: string, onTestFinished: (fn: () => Promise<void>) => void): Promise<number> {
  const port = await freePort();
  const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', CERT, '--tls-key-file', KEY, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'yes', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  onTestFinished(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });
  await waitForAnswer(() => accepts(port), 'redis-server with TLS', 10_000);
  return port;
}

it('an expired client certificate (renewed on disk since the start, most often) is told as such, with the restart it takes', async ({ onTestFinished }) => {
  // Self-signed, valid for one day of 2020: Redis trusts it, and refuses it as expired.
  const expired = `${TLS}expired-client-cert.pem`;
  const port = await redisTrusting(expired, onTestFinished);
  const log = captureLog('info');
  const env = { REDIS_URL: `rediss://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_TLS_CA_FILE: CERT, REDIS_TLS_CERT_FILE: expired, REDIS_TLS_KEY_FILE: `${TLS}expired-client-key.pem` };
  const store = new RedisStore(readConfig(env).sharedState, log.logger);
  onTestFinished(() => store.close());
  await waitFor(() => log.lines.some((line) => String(line.reason).includes('certificate expired')), 'the client certificate refused', 15_000);
  expect(log.lines.find((line) => String(line.reason).includes('certificate expired'))!.reason).toBe(
    "TLS: sslv3 alert certificate expired: Redis refused the client certificate of REDIS_TLS_CERT_FILE as expired (or Redis's clock is wrong): renew it, and restart the gateway, which reads REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE at start only",
  );
  expect(store.up).toBe(false);
}, 30_000);

it('a client certificate Redis does not trust is told as such, with what to set', async ({ onTestFinished }) => {
  const dir = mkdtempSync(join(tmpdir(), 'break10-client-refused-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  // Redis trusts a real CA, just not the one of the gateway's certificate.
  const redisCa = join(dir, 'redis-ca.pem');
  writeFileSync(redisCa, rootCertificates[0]!);
  const port = await freePort();
  const args = ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', CERT, '--tls-key-file', KEY, '--tls-ca-cert-file', redisCa, '--tls-auth-clients', 'yes', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  onTestFinished(async () => {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  });
  await waitForAnswer(() => accepts(port), 'redis-server with TLS', 10_000);
  const log = captureLog('info');
  const env = { REDIS_URL: `rediss://127.0.0.1:${port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters', REDIS_TLS_CA_FILE: CERT, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: KEY };
  const store = new RedisStore(readConfig(env).sharedState, log.logger);
  onTestFinished(() => store.close());
  await waitFor(() => log.lines.some((line) => String(line.reason).includes('unknown ca')), 'the client certificate refused', 15_000);
  const told = log.lines.find((line) => String(line.reason).includes('unknown ca'))!;
  expect(told.reason).toBe(
    "TLS: tlsv1 alert unknown ca: Redis refused the client certificate of REDIS_TLS_CERT_FILE: it must be signed by a CA in Redis's tls-ca-cert-file (or tls-ca-cert-dir): add its CA there, or set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE to a certificate that CA issued",
  );
  expect(store.up).toBe(false);
  expect(store.reason).toContain('Redis refused the client certificate of REDIS_TLS_CERT_FILE');
}, 30_000);
