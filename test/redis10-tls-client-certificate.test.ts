/**
 * A rediss:// Redis that asks every client for a certificate (`tls-auth-clients yes`, Redis's default once TLS is on):
 * the gateway has none to give, and the reason was OpenSSL's error string, `803C…:error:0A00045C:SSL
 * routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL
 * alert number 116` with a line break, in the log and in `/ready`. Now it says what Redis asks and what to change. In a
 * child process: node reads NODE_EXTRA_CA_CERTS, which makes Redis's self-signed certificate trusted, at start only.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { CERT, tlsRedis } from './support/tls-redis.js';

const root = fileURLToPath(new URL('../', import.meta.url));

const script = (port: number) => `
const { readConfig } = await import(${JSON.stringify(`${root}src/config.ts`)});
const { RedisStore } = await import(${JSON.stringify(`${root}src/shared-state/redis-store.ts`)});
const { createLogger } = await import(${JSON.stringify(`${root}src/logger.ts`)});
const settings = readConfig({ REDIS_URL: 'rediss://127.0.0.1:${port}', REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters' }).sharedState;
const store = new RedisStore(settings, createLogger('silent'));
const until = Date.now() + 20000;
// The first attempts may be told as the reset that follows the alert (write ECONNRESET), or a handshake past the connect timeout.
while (!/certificate/.test(store.reason ?? '') && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
console.log(JSON.stringify({ reason: store.reason }));
await store.close();
`;

it('Redis asking a client certificate: the reason says so and what to set on Redis, in one line, without OpenSSL\'s source paths', async ({ onTestFinished }) => {
  const port = await tlsRedis(CERT, onTestFinished);
  const run = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', script(port)], {
    encoding: 'utf8',
    // tsx takes 10-40 s to start on a loaded 2-core CI machine: what is tested is the reason, not how soon.
    timeout: 80_000,
    env: { ...process.env, NODE_EXTRA_CA_CERTS: CERT },
  });
  const { reason } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { reason: string };
  expect(reason).toMatch(/^Redis asks for a client certificate \(tls-auth-clients, yes by default with TLS\), which the gateway sends only with REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE: set both, or set tls-auth-clients no \(or optional\) on Redis/);
  expect(reason).not.toMatch(/\n|rec_layer|openssl\//);
}, 100_000);
