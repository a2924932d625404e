/**
 * A start refused because its port is taken names the address as a URL does, an IPv6 literal in brackets
 * (`[::1]:4741`): written `::1:4741`, the line read as host `::1:4741`, or port 1 of `::1:4741`'s first part, and an
 * operator could not tell which of HOST and PORT (or METRICS_HOST and METRICS_PORT) to change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const children: ChildProcess[] = [];
let taken: Server;
let port: number;

beforeAll(async () => {
  taken = createServer();
  taken.listen(0, '::1');
  await once(taken, 'listening');
  port = (taken.address() as AddressInfo).port;
});
afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
  taken.close();
});

/** The gateway's process (src/main.ts, as `npm start` runs it) with `env`; its exit code and stderr. */
async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', UPSTREAM_URL: 'http://127.0.0.1:9', ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdout!.resume();
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('a taken port on an IPv6 address', () => {
  it('HOST=::1: the line names [::1]:<port>', async () => {
    const { code, stderr } = await start({ HOST: '::1', PORT: String(port), METRICS_PORT: '0' });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^execution-gateway: cannot listen on \\[::1\\]:${port}: .*EADDRINUSE.*Set PORT to a free port, and HOST to an address of this machine\\.\\n$`));
  }, 60_000);

  it('METRICS_HOST=::1: the line names [::1]:<port>', async () => {
    const { code, stderr } = await start({ PORT: '0', METRICS_HOST: '::1', METRICS_PORT: String(port) });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^execution-gateway: cannot serve metrics on \\[::1\\]:${port}: .*EADDRINUSE.*or METRICS=api or off\\.\\n$`));
  }, 60_000);

  it('an IPv4 HOST is named as before', async () => {
    const other = createServer();
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const v4 = (other.address() as AddressInfo).port;
    try {
      const { code, stderr } = await start({ HOST: '127.0.0.1', PORT: String(v4), METRICS_PORT: '0' });
      expect(code).toBe(1);
      expect(stderr).toMatch(new RegExp(`^execution-gateway: cannot listen on 127\\.0\\.0\\.1:${v4}: .*EADDRINUSE`));
    } finally {
      other.close();
    }
  }, 60_000);
});
