/** Starts the benchmark's processes and waits until each says it is ready. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ExecutionSpec } from '../../src/demo/demo-data.js';

const root = new URL('../..', import.meta.url);
const running = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Started {
  child: ChildProcess;
  stop(): Promise<void>;
}

function startNode(args: string[], env: Record<string, string>, ready: (line: string) => boolean): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }).finally(() => running.delete(child));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (ready(line)) resolve({ child, stop });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)));
  });
}

export async function startUpstream(executions: ExecutionSpec[], latencyMs = 0): Promise<Started & { url: string }> {
  let url = '';
  const started = await startNode(['bench/upstream-server.ts', JSON.stringify({ executions, latencyMs })], {}, (line) => {
    if (!line.startsWith('{"url"')) return false;
    url = (JSON.parse(line) as { url: string }).url;
    return true;
  });
  return { ...started, url };
}

export async function startGateway(upstreamUrl: string, port: number, env: Record<string, string> = {}): Promise<Started & { url: string }> {
  const started = await startNode(
    ['src/server.ts'],
    { UPSTREAM_URL: upstreamUrl, PORT: String(port), LOG_LEVEL: 'info', ...env },
    (line) => line.includes('execution-gateway listening'),
  );
  return { ...started, url: `http://127.0.0.1:${port}/graphql` };
}
