/**
 * Start-up time and memory at idle of the gateway, three ways:
 *
 * - `node dist/main.js`: the production path (README, "Operating → Production build").
 * - `npm start`: its launcher, `node scripts/start.mjs`, with dist/ up to date (npm's
 *   own process, which only waits, is left out).
 * - `tsx src/main.ts`: from TypeScript, as `npm start` ran before there was a build.
 *
 * Each run starts the gateway as deployed (UPSTREAM_URL to the fake upstream in its own
 * process, NODE_ENV=production, one process, default settings) and records, from spawn:
 * - listening: the "execution-gateway listening" log line;
 * - first answer: the answer to an execution query sent when that line appears (one
 *   upstream call, the operation parsed, validated and compiled for the first time);
 * - CPU time (user + system) its processes used up to that answer, which other work on
 *   the machine barely changes, unlike the wall times;
 * - resident memory (VmRSS) of every process of the gateway's tree at that line, after
 *   that answer, and after IDLE_MS with nothing to do (tsx runs two: its CLI, which
 *   stays to relay signals, and the server).
 *
 * Runs take turns between the three ways, one start-up at a time; a gateway idles while
 * later runs start (idle processes do not slow those down). Each figure is the median
 * of RUNS runs. dist/ is built first (`npm run build`).
 *
 *   npm run bench:startup
 *   STARTUP_RUNS=9 STARTUP_IDLE_MS=30000 npm run bench:startup
 *
 * Prints a Markdown table and writes bench/results/startup.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { request } from 'undici';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { freePort } from './lib/ports.js';
import { root, startUpstream } from './lib/processes.js';
import { processTree, rssKb, treeTicks } from './lib/procfs.js';

const RUNS = Number(process.env.STARTUP_RUNS ?? 5);
const IDLE_MS = Number(process.env.STARTUP_IDLE_MS ?? 10_000);

interface Variant {
  name: string;
  /** Arguments for node, from the repository root. */
  args: string[];
}

const VARIANTS: Variant[] = [
  { name: '`node dist/main.js`', args: ['dist/main.js'] },
  { name: '`npm start` (dist/ up to date)', args: ['scripts/start.mjs'] },
  { name: '`tsx src/main.ts`', args: [path.join('node_modules', '.bin', 'tsx'), 'src/main.ts'] },
];

interface Run {
  listeningMs: number;
  firstAnswerMs: number;
  /** User + system CPU time of the process tree up to the first answer: unlike wall time, barely moved by other work on the machine. */
  firstAnswerCpuMs: number;
  /** MiB, summed over the process tree. */
  rssListening: number;
  rssAnswered: number;
  rssIdle: number;
  processes: number;
}

const QUERY = JSON.stringify({ query: '{ execution(id: "ex_startup") { id status events(first: 20) { totalCount nodes { id level message } } } }' });

/** Gateways still running, killed if the benchmark fails half-way. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Clock ticks are 10 ms on Linux (USER_HZ = 100). */
const TICK_MS = 10;
const treeRssMiB = (pid: number) => processTree(pid).reduce((sum, each) => sum + rssKb(each), 0) / 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts one gateway and measures it up to its first answer; the promise it returns
 * beside the figures resolves once it has idled, been measured again and stopped.
 */
async function startOne(variant: Variant, upstreamUrl: string): Promise<{ idled: Promise<Run> }> {
  const port = await freePort();
  const spawned = performance.now();
  const child = spawn(process.execPath, variant.args, {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      UPSTREAM_URL: upstreamUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: '0',
      SHUTDOWN_UNREADY_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  const failed = new Promise<never>((_, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      // The launcher builds when dist/ is stale: that would time a build, not a start.
      if (!stderr.includes('execution-gateway: building')) return;
      child.kill('SIGTERM'); // which stops tsc too
      reject(new Error(`${variant.name} started rebuilding dist/ (a source changed while the benchmark ran); run it again`));
    });
    child.once('exit', (code) => reject(new Error(`${variant.name} exited with ${code} before it was measured: ${stderr.trim()}`)));
  });
  failed.catch(() => {}); // Raced below; after the measurements, exiting is the point.
  const listening = new Promise<number>((resolve) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('"msg":"execution-gateway listening"')) resolve(performance.now() - spawned);
    });
  });
  const listeningMs = await Promise.race([listening, failed]);
  const rssListening = treeRssMiB(child.pid!);
  const response = await Promise.race([
    request(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKEN}` },
      body: QUERY,
    }),
    failed,
  ]);
  const body = (await response.body.json()) as { data?: { execution?: { id?: string } }; errors?: unknown };
  const firstAnswerMs = performance.now() - spawned;
  const firstAnswerCpuMs = treeTicks(child.pid!) * TICK_MS;
  if (response.statusCode !== 200 || body.errors || body.data?.execution?.id !== 'ex_startup') {
    throw new Error(`${variant.name} answered ${response.statusCode}: ${JSON.stringify(body).slice(0, 300)}`);
  }
  const rssAnswered = treeRssMiB(child.pid!);
  const idled = (async () => {
    await sleep(IDLE_MS);
    const rssIdle = treeRssMiB(child.pid!);
    const processes = processTree(child.pid!).length;
    const stopped = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await stopped;
    return { listeningMs, firstAnswerMs, firstAnswerCpuMs, rssListening, rssAnswered, rssIdle, processes };
  })();
  return { idled };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// ---------------------------------------------------------------------------

process.stderr.write('bench:startup: npm run build …\n');
const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const loadBefore = os.loadavg()[0]!;
const upstream = await startUpstream([{ id: 'ex_startup', status: 'workflow_running', eventCount: 50 }]);
const pending = new Map<Variant, Promise<Run>[]>(VARIANTS.map((variant) => [variant, []]));
try {
  for (let run = 1; run <= RUNS; run++) {
    for (const variant of VARIANTS) {
      process.stderr.write(`bench:startup: ${variant.name}, run ${run} of ${RUNS}\n`);
      pending.get(variant)!.push((await startOne(variant, upstream.url)).idled);
      // Let the previous gateway settle before the next one starts.
      await sleep(500);
    }
  }
  process.stderr.write(`bench:startup: waiting for the last gateways to idle ${IDLE_MS / 1000} s\n`);
  const rows = await Promise.all(
    VARIANTS.map(async (variant) => {
      const runs = await Promise.all(pending.get(variant)!);
      const of = (key: keyof Run) => median(runs.map((each) => each[key]));
      return {
        variant: variant.name,
        command: ['node', ...variant.args].join(' '),
        processes: of('processes'),
        listeningMs: of('listeningMs'),
        firstAnswerMs: of('firstAnswerMs'),
        firstAnswerCpuMs: of('firstAnswerCpuMs'),
        rssListeningMiB: of('rssListening'),
        rssAnsweredMiB: of('rssAnswered'),
        rssIdleMiB: of('rssIdle'),
        runs,
      };
    }),
  );

  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
    /** One-minute load average before and after the runs. */
    loadAverage: [loadBefore, os.loadavg()[0]!],
    runs: RUNS,
    idleMs: IDLE_MS,
    rows,
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/startup.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);

  const ms = (value: number) => `${Math.round(value).toLocaleString('en-US')} ms`;
  const mib = (value: number) => `${Math.round(value)} MiB`;
  process.stdout.write(
    [
      `## Start-up and memory at idle (${report.cpus}, Node ${process.version}, median of ${RUNS})`,
      '',
      `| how | processes | spawn → listening | spawn → first answer | CPU to first answer | RSS listening | RSS after 1 query | RSS after ${IDLE_MS / 1000} s idle |`,
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (row) =>
          `| ${row.variant} | ${row.processes} | ${ms(row.listeningMs)} | ${ms(row.firstAnswerMs)} | ${ms(row.firstAnswerCpuMs)} | ${mib(row.rssListeningMiB)} | ${mib(row.rssAnsweredMiB)} | ${mib(row.rssIdleMiB)} |`,
      ),
      '',
      `Times from spawn, wall clock; CPU: user + system time of the gateway's processes. RSS: VmRSS summed over them.`,
      `One-minute load average before and after: ${report.loadAverage.map((each) => each.toFixed(1)).join(' and ')} on ${os.cpus().length} CPUs (wall times grow with it, CPU times barely).`,
      'Full figures: bench/results/startup.json',
      '',
    ].join('\n'),
  );
} finally {
  await upstream.stop();
}
