/**
 * A rediss:// REDIS_URL whose Redis presents a certificate no CA of the process trusts (a private CA's, a self-signed
 * one): the warning and `/ready`'s `redisReason` said OpenSSL's words alone, `self-signed certificate`, and nothing of
 * what to do, where upstream's same failure names NODE_EXTRA_CA_CERTS (README "Upstream faults"); the README's only
 * mention of such a Redis was NODE_TLS_REJECT_UNAUTHORIZED=0, which turns off every certificate check of the process.
 * Now the reason says to give Node the CA with NODE_EXTRA_CA_CERTS.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';

const TLS = fileURLToPath(new URL('./support/tls/', import.meta.url));
const ADVICE = "the certificate of REDIS_URL's host is not signed by a CA this process trusts: set REDIS_TLS_CA_FILE=/path/to/ca.pem (or start the gateway with NODE_EXTRA_CA_CERTS=/path/to/ca.pem) naming the CA that signed it";

it('a self-signed certificate: the warning and redisReason say to give it its CA with REDIS_TLS_CA_FILE (or NODE_EXTRA_CA_CERTS)', async ({ onTestFinished }) => {
  const server = createServer({ cert: readFileSync(`${TLS}self-signed-cert.pem`), key: readFileSync(`${TLS}self-signed-key.pem`) });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => void server.close());
  const log = captureLog('info');
  const settings = readConfig({ REDIS_URL: `rediss://127.0.0.1:${(server.address() as AddressInfo).port}`, REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters' }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  const lost = () => log.lines.filter((line) => line.msg === 'redis unreachable: serving from local state until it is back');
  // A handshake past the 2 s connect timeout (a loaded machine) is told as such first: the next attempt names the certificate.
  await waitFor(() => lost().some((line) => String(line.reason).startsWith('self-signed certificate')) || log.lines.some((line) => String(line.reason).startsWith('self-signed certificate')), 'the certificate refused', 15_000);
  const told = log.lines.find((line) => String(line.reason).startsWith('self-signed certificate'))!;
  expect(told.reason).toContain(ADVICE);
  expect(store.reason).toContain(ADVICE);
}, 20_000);
