/**
 * A real redis-server that asks for a client certificate and trusts another CA than the one that signed the gateway's
 * REDIS_TLS_CERT_FILE. The reason was `TLS: tlsv1 alert unknown ca` alone, which reads as Redis's own certificate at
 * fault; now it says Redis refused the client certificate, and what to set.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';
import { CERT, KEY, TLS_FIXTURES as TLS, tlsRedis } from './support/tls-redis.js';

it('an expired client certificate (renewed on disk since the start, most often) is told as such, with the restart it takes', async ({ onTestFinished }) => {
  // Self-signed, valid for one day of 2020: Redis trusts it, and refuses it as expired.
  const expired = `${TLS}expired-client-cert.pem`;
  const port = await tlsRedis(expired, onTestFinished);
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
  const port = await tlsRedis(redisCa, onTestFinished);
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
