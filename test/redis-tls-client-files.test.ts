/**
 * REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE. A Redis with TLS asks every client for a certificate
 * by default (`tls-auth-clients yes`), and the gateway had none to give: such a Redis could not be used at all, and a
 * private CA could be trusted only through NODE_EXTRA_CA_CERTS, for the whole process. Here a real redis-server asks
 * for one, and trusts only the test CA; the gateway shows it, and checks Redis's certificate against the CA file alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readConfig, unusedSettings } from '../src/config.js';
import { RedisStore } from '../src/shared-state/redis-store.js';
import { captureLog } from './support/captured-log.js';
import { configRefusal } from './support/config-refusal.js';
import { waitFor } from './support/live.js';
import { CERT, KEY, tlsRedis } from './support/tls-redis.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';

it('a Redis asking for a client certificate is used with REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, its own certificate checked against REDIS_TLS_CA_FILE', async ({ onTestFinished }) => {
  const port = await tlsRedis(CERT, onTestFinished);
  const env = { REDIS_URL: `rediss://127.0.0.1:${port}`, REDIS_KEY_SECRET: SECRET, REDIS_COMMAND_TIMEOUT_MS: '2000' };

  // Without the files: refused for want of a certificate (and this process trusts no such CA either).
  const without = new RedisStore(readConfig(env).sharedState, captureLog('info').logger);
  onTestFinished(() => without.close());
  await waitFor(() => without.reason !== undefined, 'the refusal', 10_000);
  expect(without.up).toBe(false);

  const store = new RedisStore(readConfig({ ...env, REDIS_TLS_CA_FILE: CERT, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: KEY }).sharedState, captureLog('info').logger);
  onTestFinished(() => store.close());
  await waitFor(() => store.up, 'Redis connected over TLS with the client certificate', 10_000);
  await store.client.set('tls-check', 'ok');
  expect(await store.client.get('tls-check')).toBe('ok');
  expect(store.reason).toBeUndefined();
}, 40_000);

describe('the Redis TLS files at start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redis-tls-files-'));
  const garbage = join(dir, 'not-a-certificate.pem');
  writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  const tls = { REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_KEY_SECRET: SECRET };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes a CA alone, and a certificate with its key', () => {
    expect(configRefusal({ ...tls, REDIS_TLS_CA_FILE: CERT })).toBeUndefined();
    expect(configRefusal({ ...tls, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: KEY })).toBeUndefined();
  });

  it('refuses a certificate without its key, and a key without its certificate', () => {
    expect(configRefusal({ ...tls, REDIS_TLS_CERT_FILE: CERT })).toBe('REDIS_TLS_CERT_FILE is set without REDIS_TLS_KEY_FILE: a client certificate needs its private key, and the key its certificate; set both.');
    expect(configRefusal({ ...tls, REDIS_TLS_KEY_FILE: KEY })).toContain('REDIS_TLS_KEY_FILE is set without REDIS_TLS_CERT_FILE');
  });

  it('refuses them beside a redis:// REDIS_URL, where they would not be used and the password would go in plain text', () => {
    expect(configRefusal({ ...tls, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: CERT })).toBe(
      'REDIS_TLS_CA_FILE is set but REDIS_URL is redis://, which uses no TLS: use rediss:// (Redis\'s TLS port), or unset REDIS_TLS_CA_FILE.',
    );
  });

  it('refuses a path it cannot read, and a file OpenSSL cannot use, naming the setting', () => {
    expect(configRefusal({ ...tls, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toMatch(/^Invalid REDIS_TLS_CA_FILE=.*must name a file this process can read \(a PEM file\)/);
    expect(configRefusal({ ...tls, REDIS_TLS_CA_FILE: dir })).toMatch(/^Invalid REDIS_TLS_CA_FILE=/);
    expect(configRefusal({ ...tls, REDIS_TLS_CERT_FILE: garbage, REDIS_TLS_KEY_FILE: KEY })).toMatch(/^REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: OpenSSL cannot use them \(.+\): each must be PEM/);
    // A key that is not the certificate's.
    expect(configRefusal({ ...tls, REDIS_TLS_CERT_FILE: CERT, REDIS_TLS_KEY_FILE: garbage })).toMatch(/^REDIS_TLS_CERT_FILE, REDIS_TLS_KEY_FILE: OpenSSL cannot use them/);
  });

  it('without REDIS_URL they are named as set but not read', () => {
    const env = { REDIS_TLS_CA_FILE: CERT };
    expect(unusedSettings(readConfig(env), env).map(({ variable }) => variable)).toEqual(['REDIS_TLS_CA_FILE']);
  });
});
