/** Starts the benchmark's processes and waits until each says it is ready. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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

/** Where compiledGatewayEntry compiles a checkout: beside src/, as dist/ is, so node_modules and ../package.json resolve alike. */
export const COMPILED_DIR = '.bench-dist';

const compiled = new Map<string, string>();

/**
 * The gateway as deployed, `node dist/main.js` with no tsx: the checkout's src/
 * compiled by its own TypeScript (the production build's options, which older
 * checkouts lack) into <checkout>/.bench-dist, once per run. Returns the entry
 * file relative to the checkout. Throws tsc's output when it fails.
 */
export function compiledGatewayEntry(checkout: string = root): string {
  const known = compiled.get(checkout);
  if (known) return known;
  const out = path.join(checkout, COMPILED_DIR);
  rmSync(out, { recursive: true, force: true });
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'bench-tsconfig-'));
  const config = path.join(configDir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: path.join(checkout, 'tsconfig.json'),
      compilerOptions: { noEmit: false, typeRoots: [path.join(checkout, 'node_modules', '@types')], rootDir: path.join(checkout, 'src'), outDir: out, sourceMap: false, noEmitOnError: true },
      include: [path.join(checkout, 'src')],
      exclude: [path.join(checkout, 'src', 'client')],
    }),
  );
  try {
    execFileSync(process.execPath, [path.join(checkout, 'node_modules', 'typescript', 'bin', 'tsc'), '--project', config], { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`compiling ${checkout}/src failed: ${String(stdout ?? '')}${String(stderr ?? '')}`);
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
  const entry = path.join(COMPILED_DIR, path.basename(gatewayEntry(checkout), '.ts') + '.js');
  compiled.set(checkout, entry);
  return entry;
}

const running = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Gateway settings a benchmark's report names when its environment sets them: the gateways it starts inherit that environment (spawnNode), so a run can measure what operating costs (metrics, the access log, traces) or another cache or pool size (README "Performance"). */
export const GATEWAY_SETTINGS_PASSED = [
  'METRICS',
  'ACCESS_LOG',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_TRACES_SAMPLER_ARG',
  'TERMINAL_CACHE_TTL_MS',
  'ACTIVE_CACHE_TTL_MS',
  'CACHE_MAX_BYTES',
  'UPSTREAM_EXTENSIONS',
  'UPSTREAM_CONCURRENCY_PER_REQUEST',
  'UPSTREAM_CONNECTIONS',
  'UPSTREAM_MAX_CONCURRENT',
] as const;

/** Those of GATEWAY_SETTINGS_PASSED this process's environment sets, by name. */
export function passedSettings(): Record<string, string> {
  return Object.fromEntries(GATEWAY_SETTINGS_PASSED.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
}

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
  /** Gateways only: run the checkout compiled, as deployed (compiledGatewayEntry), instead of its sources under tsx. */
  compiled?: boolean;
}

const entryFor = (options: SpawnOptions) => (options.compiled ? compiledGatewayEntry(options.checkout) : gatewayEntry(options.checkout));

/**
 * Spawns `node --import tsx <args>` from the repository root (or `options.checkout`), or plain `node <args>`
 * when the script is JavaScript (compiledGatewayEntry); stdout is always drained.
 */
export function spawnNode(args: string[], env: Record<string, string>, options: SpawnOptions = {}): Started & { lines: ReturnType<typeof createInterface> } {
  const loader = args[0]?.endsWith('.js') ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...loader, ...args], {
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
    [entryFor(options)],
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
  const started = spawnNode([entryFor(options)], { UPSTREAM_URL: upstreamUrl, PORT: String(port), ...env }, options);
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
