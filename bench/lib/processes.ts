/** Starts the benchmark's processes and waits until each says it is ready. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import type { ExecutionSpec } from '../../src/demo/demo-data.js';
import type { UpstreamSpec } from './scenarios.js';
import { freePort } from './ports.js';

/** This checkout (the one the benchmark runs from). */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The gateway's entry file in a checkout, relative to it: src/main.ts, or
 * src/server.ts in checkouts from before that file was renamed.
 */
export function gatewayEntry(checkout: string = root): string {
  for (const entry of ['src/main.ts', 'src/server.ts']) if (existsSync(path.join(checkout, entry))) return entry;
  throw new Error(`no gateway entry (src/main.ts or src/server.ts) in ${checkout}`);
}

const running = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Started {
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  /** Where the child's stdout lines go once they are not needed for readiness; default: dropped. */
  onLine?: (line: string) => void;
  /** When given, the child's stderr is piped here line by line instead of inherited. */
  onErrorLine?: (line: string) => void;
  /** Flags for node itself (e.g. `--trace-gc`), before the script. */
  nodeFlags?: string[];
  /**
   * The checkout to run from (default: this one). It is the child's working
   * directory, so `--import tsx` and everything else resolve in its own node_modules.
   */
  checkout?: string;
}

/** Spawns `node --import tsx <args>` from the repository root (or `options.checkout`); stdout is always drained. */
export function spawnNode(args: string[], env: Record<string, string>, options: SpawnOptions = {}): Started & { lines: ReturnType<typeof createInterface> } {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', ...args], {
    cwd: options.checkout ?? root,
    // Several gateways run at once: each its own free metrics port (the default 9464 would collide).
    env: { ...process.env, METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', options.onErrorLine ? 'pipe' : 'inherit'],
  });
  running.add(child);
  if (options.onErrorLine) createInterface({ input: child.stderr! }).on('line', options.onErrorLine);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }).finally(() => running.delete(child));
  const lines = createInterface({ input: child.stdout! });
  if (options.onLine) lines.on('line', options.onLine);
  return { child, stop, lines };
}

function startNode(args: string[], env: Record<string, string>, ready: (line: string) => boolean, options: SpawnOptions = {}): Promise<Started> {
  const { child, stop, lines } = spawnNode(args, env, options);
  return new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      if (ready(line)) resolve({ child, stop });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)));
  });
}

/** Starts bench/upstream-server.ts with these executions (or a whole UpstreamSpec, e.g. upstreamData()). */
export async function startUpstream(data: ExecutionSpec[] | UpstreamSpec, latencyMs = 0): Promise<Started & { url: string; control: string }> {
  let url = '';
  let control = '';
  const spec: UpstreamSpec = Array.isArray(data) ? { executions: data, latencyMs } : { latencyMs, ...data };
  const started = await startNode(['bench/upstream-server.ts', JSON.stringify(spec)], {}, (line) => {
    if (!line.startsWith('{"url"')) return false;
    ({ url, control } = JSON.parse(line) as { url: string; control: string });
    return true;
  });
  return { ...started, url, control };
}

export async function startGateway(
  upstreamUrl: string,
  port: number,
  env: Record<string, string> = {},
  options: SpawnOptions = {},
): Promise<Started & { url: string }> {
  const started = await startNode(
    [gatewayEntry(options.checkout)],
    // As deployed: NODE_ENV=production turns off graphql-js's development-only checks.
    { UPSTREAM_URL: upstreamUrl, PORT: String(port), LOG_LEVEL: 'info', NODE_ENV: 'production', ...env },
    (line) => line.includes('execution-gateway listening'),
    options,
  );
  return { ...started, url: `http://127.0.0.1:${port}/graphql` };
}

/**
 * Starts the gateway with any log level: readiness is an HTTP probe (`{ __typename }`
 * answered), not a log line. Its stdout (pino, at the chosen level) goes to `onLine`.
 */
export async function startGatewayProbed(
  upstreamUrl: string,
  env: Record<string, string> = {},
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<Started & { url: string; port: number }> {
  const port = await freePort();
  const started = spawnNode([gatewayEntry(options.checkout)], { UPSTREAM_URL: upstreamUrl, PORT: String(port), ...env }, options);
  const url = `http://127.0.0.1:${port}/graphql`;
  let exited: number | null | undefined;
  started.child.once('exit', (code) => (exited = code));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`gateway exited with ${exited} before it was ready`);
    if (Date.now() > deadline) {
      await started.stop();
      throw new Error('gateway did not answer within the start-up timeout');
    }
    try {
      const response = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ __typename }"}',
        headersTimeout: 1000,
        bodyTimeout: 1000,
      });
      await response.body.dump();
      if (response.statusCode < 500) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child: started.child, stop: started.stop, url, port };
}

/** Starts bench/floor-proxy.ts in its own process; it prints `{"url": ...}` when listening. */
export async function startFloorProxy(upstreamUrl: string, env: Record<string, string> = {}, options: SpawnOptions = {}): Promise<Started & { url: string }> {
  let url = '';
  const started = await startNode(
    ['bench/floor-proxy.ts'],
    { UPSTREAM_URL: upstreamUrl, PORT: '0', ...env },
    (line) => {
      if (!line.startsWith('{"url"')) return false;
      url = (JSON.parse(line) as { url: string }).url;
      return true;
    },
    options,
  );
  return { ...started, url };
}
