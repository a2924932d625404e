/**
 * A real redis-server serving TLS only, on a free loopback port, with the certificate in test/support/tls/, that asks
 * every client for a certificate signed by a CA of `caFile` (`tls-auth-clients yes`, its default with TLS).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../bench/lib/ports.js';
import { waitForAnswer } from './live.js';

export const TLS_FIXTURES = fileURLToPath(new URL('./tls/', import.meta.url));
/** The self-signed certificate (CA:TRUE, for 127.0.0.1) and its key: Redis's, and a client's that Redis trusts. */
export const CERT = `${TLS_FIXTURES}self-signed-cert.pem`;
export const KEY = `${TLS_FIXTURES}self-signed-key.pem`;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Starts it once its port accepts; `onTestFinished` kills it. Resolves with its port. */
export async function tlsRedis(caFile: string, onTestFinished: (fn: () => Promise<void>) => void): Promise<number> {
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
