/**
 * A Redis certificate that REDIS_TLS_CA_FILE's CAs do not sign. The file's CAs replace the system's and
 * NODE_EXTRA_CA_CERTS's for Redis's connections, and the reason told the operator to set NODE_EXTRA_CA_CERTS, which
 * changes nothing then. A node TLS server stands for Redis: the handshake fails before any command.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, rootCertificates } from 'node:tls';
import { expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { waitFor } from './support/live.js';

const TLS = fileURLToPath(new URL('./support/tls/', import.meta.url));

it('a certificate no CA of REDIS_TLS_CA_FILE signed: the reason says to add its CA to that file, not NODE_EXTRA_CA_CERTS', async ({ onTestFinished }) => {
  const server = createServer({ cert: readFileSync(`${TLS}self-signed-cert.pem`), key: readFileSync(`${TLS}self-signed-key.pem`) });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => void server.close());
  const dir = mkdtempSync(join(tmpdir(), 'break10-ca-file-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  // A real CA, just not the one that signed this certificate.
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, rootCertificates[0]!);
  const log = captureLog('info');
  const settings = readConfig({
    REDIS_URL: `rediss://127.0.0.1:${(server.address() as AddressInfo).port}`,
    REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters',
    REDIS_TLS_CA_FILE: caFile,
  }).sharedState;
  const store = new RedisStore(settings, log.logger);
  onTestFinished(() => store.close());
  // A handshake past the 2 s connect timeout (a loaded machine) is told as such first: the next attempt names the certificate.
  await waitFor(() => log.lines.some((line) => String(line.reason).startsWith('self-signed certificate')), 'the certificate refused', 15_000);
  const told = log.lines.find((line) => String(line.reason).startsWith('self-signed certificate'))!;
  expect(told.reason).toContain("is not signed by a CA in REDIS_TLS_CA_FILE, which replaces the system's CAs and NODE_EXTRA_CA_CERTS for Redis: add the CA that signed it to that file");
  expect(told.reason).not.toContain('NODE_EXTRA_CA_CERTS=');
  expect(store.reason).toContain('add the CA that signed it to that file');
}, 20_000);
