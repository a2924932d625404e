/**
 * The Redis TLS files, as operators get them wrong: the key's PEM text pasted into REDIS_TLS_KEY_FILE (a Kubernetes
 * secret exposed as a variable), a key that is not the certificate's, a CA file that holds no certificate.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { configRefusal } from './support/config-refusal.js';

const TLS = fileURLToPath(new URL('./support/tls/', import.meta.url));
const CERT = `${TLS}self-signed-cert.pem`;
const KEY = `${TLS}self-signed-key.pem`;
const tls = { REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters' };
const dir = mkdtempSync(join(tmpdir(), 'break10-redis-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a private key pasted into a REDIS_TLS_*_FILE variable is refused without a byte of it in the message', () => {
  const key = readFileSync(KEY, 'utf8');
  const refusal = configRefusal({ ...tls, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: key });
  expect(refusal).toBe('Invalid REDIS_TLS_KEY_FILE=(hidden): must be the path of a PEM file, not its text: write the text to a file and set the file\'s path.');
  const body = key.split('\n')[1]!;
  expect(refusal).not.toContain(body.slice(0, 16));
  expect(configRefusal({ ...tls, REDIS_TLS_CA_FILE: readFileSync(CERT, 'utf8') })).toMatch(/^Invalid REDIS_TLS_CA_FILE=\(hidden\): must be the path of a PEM file, not its text/);
});

it('a key of another type than the certificate\'s (RSA for an EC one) is refused at start, not at every connection', () => {
  // OpenSSL drops such a key without an error when the certificate is set, where one of the same type is 'key values mismatch'.
  const other = join(dir, 'other-key.pem');
  writeFileSync(other, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  expect(configRefusal({ ...tls, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: other })).toBe(
    `REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: REDIS_TLS_KEY_FILE is not the private key of REDIS_TLS_CERT_FILE's certificate: set the key the certificate was made for.`,
  );
  expect(configRefusal({ ...tls, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: KEY })).toBeUndefined();
});

it('a REDIS_TLS_CA_FILE holding no certificate (empty, or a key) is refused, not a CA list that trusts nothing', () => {
  const empty = join(dir, 'empty.pem');
  writeFileSync(empty, '');
  for (const file of [empty, KEY]) {
    expect(configRefusal({ ...tls, REDIS_TLS_CA_FILE: file })).toBe(
      'REDIS_TLS_CA_FILE holds no PEM certificate (-----BEGIN CERTIFICATE-----): name the file of the CA certificates that signed Redis\'s certificate.',
    );
  }
  // A bundle of several CAs is taken.
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, readFileSync(CERT, 'utf8') + readFileSync(CERT, 'utf8'));
  expect(configRefusal({ ...tls, REDIS_TLS_CA_FILE: bundle })).toBeUndefined();
});
