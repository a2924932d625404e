/**
 * Side-by-side benchmark: the gateway against two references, scenario by
 * scenario, in one run.
 *
 *   - direct upstream: the driver fetches the same data from the REST API itself;
 *   - floor proxy (bench/floor-proxy.ts): plain node:http + undici Pool + JSON.parse,
 *     answering the same fields as the GraphQL query with no GraphQL;
 *   - the gateway with WORKERS=1 and WORKERS=2;
 *   - with BENCH_BASELINE, also the gateway of another checkout ("baseline"),
 *     each target BENCH_REPEAT times, interleaved, compared by medians.
 *
 * The fake upstream, the floor proxy and the gateway each run in their own
 * process; this process only drives load (autocannon, loopback) and measures.
 * Per scenario and target: a correctness probe (status, GraphQL errors, same
 * data as the floor, upstream calls of one request alone), a warm-up, a wait
 * until the server is idle again, then the measured run with peak RSS sampled
 * from /proc and upstream calls counted by the fake upstream.
 *
 *   npm run bench
 *   BENCH_SECONDS=3 npm run bench               shorter runs while debugging
 *   env "$(bench/baseline.sh main)" npm run bench     this checkout against main (see below)
 * Other knobs: BENCH_WARMUP_SECONDS (20, bench/lib/load.ts), BENCH_CONNECTIONS (16; S7 always 8),
 * BENCH_WORKERS (1,2; 1 with BENCH_BASELINE), BENCH_SCENARIOS (e.g. S1,S3), BENCH_QUIET_WAIT_SECONDS (60: how long in
 * all to wait, before cells, for other jobs on the machine to finish), BENCH_RUNNER (compiled: each
 * gateway's src/ compiled by tsc into <checkout>/.bench-dist and started by plain `node`, as
 * deployed; tsx: its sources under tsx). Gateway knobs in the
 * environment (TERMINAL_CACHE_TTL_MS, UPSTREAM_EXTENSIONS, …) reach the gateway (and the baseline's).
 *
 * BENCH_REPEAT (1; 3 with BENCH_BASELINE): measure every target this many times, in
 * rounds (floor, gateway, floor, gateway, …), and report medians with their spread.
 * BENCH_BASELINE=/path/to/other/checkout: a second checkout of this repository with
 * its own node_modules (bench/baseline.sh <git-ref> makes one). Its gateway is started
 * from that directory (src/main.ts, or src/server.ts in older checkouts, compiled or under tsx) against the same fake upstream, floor proxy and driver (this checkout's
 * bench/), in rounds of floor, baseline, gateway; the direct upstream is measured once
 * per scenario. The report then opens with a baseline comparison per scenario and
 * flags where the gateway is more than 10% below the baseline by more than the spread.
 *
 * Output: a Markdown report on stdout (progress goes to stderr) and
 * bench/results/bench.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { request } from 'undici';
import { readConfig } from '../src/config.js';
import { runFanout } from './lib/fanout.js';
import { runLoad, WARMUP_SECONDS, warmUp, type LoadResult } from './lib/load.js';
import { sampleLatency, type LatencySummary, type Probe } from './lib/measure.js';
import { FOREIGN_CPU_WARNING, foreignCpu, sampleRss, treeTicks, waitIdle, type RssPeak } from './lib/procfs.js';
import { GATEWAY_SETTINGS_PASSED, gatewayEntry, passedSettings, root, startFloorProxy, startGatewayProbed, startUpstream, type Started } from './lib/processes.js';
import { headersFor, headersOf, requestFor, scenarios, upstreamData, verifierFor, type Scenario, type TargetKind } from './lib/scenarios.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Another checkout whose gateway is measured alongside this one's ("baseline"), if set. */
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const REPEAT = Number(process.env.BENCH_REPEAT || (BASELINE ? 3 : 1));
const WORKER_COUNTS = (process.env.BENCH_WORKERS || (BASELINE ? '1' : '1,2')).split(',').map(Number);
/**
 * How each gateway (this checkout's and the baseline's) runs: `compiled` (default), its src/ compiled by
 * tsc and started by plain `node`, as deployed; `tsx`, its sources under tsx, as in development (tsx's
 * esbuild transform adds work per named closure: `keepNames`).
 */
const RUNNER = process.env.BENCH_RUNNER || 'compiled';
const ONLY = process.env.BENCH_SCENARIOS?.split(',').map((key) => key.trim().toUpperCase());
/** The gateway counts as slower than the baseline when its median is this much lower (and the gap exceeds the spread). */
const REGRESSION_THRESHOLD = 0.1;
/** The gateway's own reading of the settings, so the floor and the direct reference fan out and pool as it does. */
const GATEWAY_UPSTREAM = readConfig(process.env).upstream;
const CONCURRENCY_PER_REQUEST = GATEWAY_UPSTREAM.concurrencyPerRequest;
const UPSTREAM_SOCKETS = GATEWAY_UPSTREAM.connections;
const S3_SEQUENTIAL_SAMPLES = 30;

const resultsUrl = new URL('./results/bench.json', import.meta.url);
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

for (const [name, value] of [
  ['BENCH_SECONDS', SECONDS],
  ['BENCH_WARMUP_SECONDS', WARMUP_SECONDS],
  ['BENCH_CONNECTIONS', CONNECTIONS],
] as const) {
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`bench: ${name} must be a positive number\n`);
    process.exit(1);
  }
}
if (!Number.isInteger(REPEAT) || REPEAT < 1) {
  process.stderr.write('bench: BENCH_REPEAT must be a whole number of at least 1\n');
  process.exit(1);
}
if (RUNNER !== 'compiled' && RUNNER !== 'tsx') {
  process.stderr.write(`bench: BENCH_RUNNER must be compiled or tsx, not ${RUNNER}\n`);
  process.exit(1);
}
if (!WORKER_COUNTS.every((workers) => Number.isInteger(workers) && workers >= 1)) {
  process.stderr.write('bench: BENCH_WORKERS must be a comma-separated list of whole numbers, e.g. 1 or 1,2\n');
  process.exit(1);
}
if (BASELINE) {
  const problem = !existsSync(BASELINE)
    ? 'does not exist'
    : !existsSync(path.join(BASELINE, 'node_modules', 'tsx'))
      ? 'has no node_modules/tsx (run npm ci there)'
      : (() => {
          try {
            gatewayEntry(BASELINE);
            return undefined;
          } catch (error) {
            return (error as Error).message;
          }
        })();
  if (problem) {
    process.stderr.write(`bench: BENCH_BASELINE=${BASELINE} ${problem}; bench/baseline.sh <git-ref> prepares a checkout\n`);
    process.exit(1);
  }
}

const ALL_SCENARIOS = scenarios(CONNECTIONS, CONCURRENCY_PER_REQUEST);
const unknownScenarios = (ONLY ?? []).filter((key) => !ALL_SCENARIOS.some((scenario) => scenario.key === key));
if (unknownScenarios.length) {
  process.stderr.write(`bench: unknown scenario ${unknownScenarios.join(', ')} in BENCH_SCENARIOS; known: ${ALL_SCENARIOS.map((scenario) => scenario.key).join(', ')}\n`);
  process.exit(1);
}
const selected = ALL_SCENARIOS.filter((scenario) => !ONLY || ONLY.includes(scenario.key));

// ---------------------------------------------------------------------------
// Targets

type Kind = TargetKind;
/** Which checkout a gateway target runs from: this one, or BENCH_BASELINE. */
type Checkout = 'gateway' | 'baseline';
interface Target {
  name: string;
  kind: Kind;
  workers?: number;
  /** Gateways only. */
  checkout?: Checkout;
}
const DIRECT: Target = { name: 'direct upstream', kind: 'direct' };
const FLOOR: Target = { name: 'floor proxy', kind: 'floor' };
const gatewayTarget = (checkout: Checkout, workers: number): Target => ({ name: `${checkout} WORKERS=${workers}`, kind: 'gateway', workers, checkout });

/**
 * One scenario's cells, in the order they run: rounds of floor, (baseline,) gateway
 * for each worker count, so that drift of the machine's speed hits all alike. The
 * direct upstream is measured every round, or with a baseline only in the first.
 */
function schedule(): { target: Target; repetition: number }[] {
  const order: { target: Target; repetition: number }[] = [];
  for (let repetition = 0; repetition < REPEAT; repetition++) {
    if (!BASELINE || repetition === 0) order.push({ target: DIRECT, repetition });
    order.push({ target: FLOOR, repetition });
    for (const workers of WORKER_COUNTS) {
      if (BASELINE) order.push({ target: gatewayTarget('baseline', workers), repetition });
      order.push({ target: gatewayTarget('gateway', workers), repetition });
    }
  }
  return order;
}

/** What a target process said or did that bears on its numbers. */
interface Health {
  /** Exit of the target process itself (code or signal), if it ended before we stopped it. */
  exited?: string;
  /** Uncaught exceptions printed on stderr (a process or cluster worker died of each). */
  crashes: number;
  /** Cluster workers the primary had to replace. */
  workerRestarts: number;
  /** "upstream circuit opened" log lines. */
  circuitOpened: number;
  /** Node's MaxListenersExceededWarning on stderr. */
  listenerWarnings: number;
  /** Log lines at warn and above, by message. */
  messages: Record<string, number>;
  /** When crashes, restarts and breaker openings happened (performance.now() of the driver). */
  timeline: { at: number; event: 'crash' | 'worker replaced' | 'circuit opened' | 'exit' }[];
}

interface Running {
  origin: string;
  pid?: number;
  alive(): boolean;
  stop(): Promise<void>;
  startupMs: number;
  health: Health;
}

const newHealth = (): Health => ({ crashes: 0, workerRestarts: 0, circuitOpened: 0, listenerWarnings: 0, messages: {}, timeline: [] });

async function startTarget(target: Target, upstreamUrl: string): Promise<Running> {
  const began = performance.now();
  const health = newHealth();
  let stopping = false;
  const watch = (started: Started) => {
    started.child.once('exit', (code, signal) => {
      if (stopping) return;
      health.exited = signal ? `signal ${signal}` : `code ${code}`;
      health.timeline.push({ at: performance.now(), event: 'exit' });
    });
    return () => started.child.exitCode === null && started.child.signalCode === null;
  };
  const stopper = (started: Started) => () => {
    stopping = true;
    return started.stop();
  };
  if (target.kind === 'direct') {
    return { origin: upstreamUrl, alive: () => true, stop: async () => {}, startupMs: 0, health };
  }
  if (target.kind === 'floor') {
    const floor = await startFloorProxy(upstreamUrl, { FLOOR_CONCURRENCY: String(CONCURRENCY_PER_REQUEST), FLOOR_CONNECTIONS: String(UPSTREAM_SOCKETS) });
    return { origin: floor.url, pid: floor.child.pid, alive: watch(floor), stop: stopper(floor), startupMs: performance.now() - began, health };
  }
  const baseline = target.checkout === 'baseline';
  const source = baseline ? 'baseline' : 'gateway';
  let shown = 0;
  const show = (prefix: string, line: string) => {
    // A few lines per cell for context; the rest are only counted.
    if (++shown <= 8) process.stderr.write(`[${prefix}] ${line.slice(0, 300)}\n`);
  };
  const gateway: Started & { url: string } = await startGatewayProbed(
    upstreamUrl,
    // As deployed: NODE_ENV=production turns off graphql-js's development-only checks.
    { WORKERS: String(target.workers ?? 1), LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    {
      onLine: (line) => {
        // The access log (one line per request, whatever LOG_LEVEL says) is skipped unparsed: parsing thousands of
        // lines a second here took the driver's CPU from the load it generates, on the cores the gateway shares.
        if (line.includes('"component":"access"')) return;
        // pino at LOG_LEVEL=warn: only warnings and errors reach here.
        let message = line.slice(0, 120);
        try {
          message = String((JSON.parse(line) as { msg?: unknown }).msg ?? message);
        } catch {
          // not JSON: keep the raw line
        }
        health.messages[message] = (health.messages[message] ?? 0) + 1;
        if (/circuit opened/i.test(message)) {
          health.circuitOpened++;
          health.timeline.push({ at: performance.now(), event: 'circuit opened' });
        }
        if (/worker exited/i.test(message)) {
          health.workerRestarts++;
          health.timeline.push({ at: performance.now(), event: 'worker replaced' });
        }
        show(source, line);
      },
      onErrorLine: (line) => {
        if (/^Node\.js v\d/.test(line)) {
          health.crashes++;
          health.timeline.push({ at: performance.now(), event: 'crash' });
        }
        if (/MaxListenersExceededWarning/.test(line)) health.listenerWarnings++;
        else if (line.trim()) show(`${source} stderr`, line);
      },
      ...(baseline ? { checkout: BASELINE! } : {}),
      compiled: RUNNER === 'compiled',
    },
  );
  return {
    origin: new URL(gateway.url).origin,
    pid: gateway.child.pid,
    alive: watch(gateway),
    stop: stopper(gateway),
    startupMs: performance.now() - began,
    health,
  };
}

// ---------------------------------------------------------------------------
// Fake upstream and its control port

log('starting the fake upstream (pre-serializing 100,000 events takes a moment)…');
const upstream = await startUpstream(upstreamData());
interface UpstreamStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  latencyMs: number;
}
async function control<T>(method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await request(`${upstream.control}${path}`, { method });
  return (await response.body.json()) as T;
}
const stats = () => control<UpstreamStats>('GET', '/stats');

async function load(scenario: Scenario, kind: Kind, origin: string, seconds: number, requestIdPrefix?: string): Promise<LoadResult> {
  if (kind === 'direct' && scenario.direct(0).length > 1) {
    return runFanout({
      origin,
      headers: headersFor(kind),
      paths: scenario.direct,
      clients: scenario.connections,
      duration: seconds,
      concurrencyPerRequest: CONCURRENCY_PER_REQUEST,
      connections: UPSTREAM_SOCKETS,
    });
  }
  return runLoad({
    origin,
    headers: headersFor(kind),
    request: (i) => requestFor(scenario, kind, i),
    connections: scenario.connections,
    duration: seconds,
    timeout: scenario.timeoutS,
    verifyBody: verifierFor(kind),
    ...(requestIdPrefix ? { requestIdPrefix } : {}),
  });
}

// ---------------------------------------------------------------------------
// Correctness probe: one request at a time, before any load

interface ProbeResult {
  ok: boolean;
  status: number[];
  errors: string[];
  /** Gateway only: whether `data` equals the floor proxy's answer; the first difference otherwise. */
  sameDataAsFloor?: boolean;
  difference?: string;
  /** Upstream calls made by each of 3 sequential identical requests. */
  upstreamCalls: number[];
  /** Latency of each of those 3 requests alone, ms (the first one on a fresh process and connection). */
  latencyMs: number[];
  responseBytes: number;
  /** Gateway only: `extensions.upstream` of each of the 3 responses, as the gateway reports its own cost. */
  reportedCost?: unknown[];
}

function firstDifference(a: unknown, b: unknown, path = '$'): string | undefined {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], `${path}.${key}`);
      if (found) return found;
    }
  }
  return `${path}: gateway ${JSON.stringify(a)?.slice(0, 120)} vs floor ${JSON.stringify(b)?.slice(0, 120)}`;
}

const floorData = new Map<string, unknown>();

async function probe(scenario: Scenario, kind: Kind, origin: string): Promise<ProbeResult> {
  const result: ProbeResult = { ok: true, status: [], errors: [], upstreamCalls: [], latencyMs: [], responseBytes: 0 };
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = (await stats()).requests;
    const began = performance.now();
    const paths = kind === 'direct' ? scenario.direct(0) : [requestFor(scenario, kind, 0).path];
    for (const path of paths) {
      const one = requestFor(scenario, kind, 0);
      const response = await request(`${origin}${path}`, {
        method: one.method,
        headers: headersOf(kind, one),
        ...(one.body !== undefined ? { body: one.body } : {}),
        headersTimeout: 120_000,
        bodyTimeout: 120_000,
      });
      const text = await response.body.text();
      result.status.push(response.statusCode);
      result.responseBytes = Buffer.byteLength(text);
      if (response.statusCode !== 200) {
        result.ok = false;
        result.errors.push(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
        continue;
      }
      const json = JSON.parse(text) as { data?: unknown; errors?: unknown[]; code?: number; extensions?: { upstream?: unknown } };
      if (kind === 'gateway') (result.reportedCost ??= []).push(json.extensions?.upstream ?? null);
      if (attempt > 0) continue;
      if (kind === 'direct') {
        if (json.code !== 200) {
          result.ok = false;
          result.errors.push(`envelope code ${json.code}`);
        }
        continue;
      }
      if (json.errors) {
        result.ok = false;
        result.errors.push(JSON.stringify(json.errors).slice(0, 300));
      }
      if (kind === 'floor') floorData.set(scenario.key, json.data);
      if (kind === 'gateway' && floorData.has(scenario.key)) {
        const difference = firstDifference(json.data, floorData.get(scenario.key));
        result.sameDataAsFloor = difference === undefined;
        if (difference) result.difference = difference;
      }
    }
    result.latencyMs.push(performance.now() - began);
    result.upstreamCalls.push((await stats()).requests - before);
  }
  return result;
}

async function sequentialLatency(scenario: Scenario, kind: Kind, origin: string): Promise<LatencySummary> {
  if (kind === 'direct') {
    const run = (amount: number) =>
      runFanout({
        origin,
        headers: headersFor(kind),
        paths: scenario.direct,
        clients: 1,
        duration: 0,
        amount,
        concurrencyPerRequest: CONCURRENCY_PER_REQUEST,
        connections: UPSTREAM_SOCKETS,
      });
    await run(5);
    const measured = await run(S3_SEQUENTIAL_SAMPLES);
    return { samples: measured.completed, ...measured.latencyMs };
  }
  const one = requestFor(scenario, kind, 0);
  const probeSpec: Probe = { method: one.method, path: one.path, headers: headersOf(kind, one), parse: true, ...(one.body !== undefined ? { body: one.body } : {}) };
  return sampleLatency(origin, probeSpec, S3_SEQUENTIAL_SAMPLES, 5);
}

// ---------------------------------------------------------------------------
// One scenario × target

interface Cell {
  scenario: string;
  target: string;
  kind: Kind;
  workers?: number;
  /** Gateways only: this checkout or the baseline's. */
  checkout?: Checkout;
  /** Which of the BENCH_REPEAT rounds (0-based). */
  repetition: number;
  failed?: string;
  startupMs?: number;
  probe?: ProbeResult;
  sequential?: LatencySummary;
  idleWaitMs?: number;
  load?: Omit<LoadResult, 'echoedRequestIds'>;
  upstream?: {
    /** Counter delta over the measured run ÷ responses completed (in-flight requests at the end inflate it slightly). */
    callsPerRequestFromCounter: number;
    /** Calls attributed by x-request-id to the requests that completed; exact when the target echoes the id. */
    callsPerRequestExact?: number;
    attributedRequests?: number;
    counterDelta: number;
    maxInFlight: number;
  };
  rss?: RssPeak;
  /**
   * CPU time of the target's processes over the measured run ÷ requests completed, in µs: steadier than
   * req/s on a shared machine, where other jobs take cores but add little to a request's own CPU.
   */
  cpuUsPerRequest?: number;
  /** CPU used by other processes on the machine during the measured run, in cores. */
  foreignCpuCores?: number;
  /** After the run ended (autocannon drops its in-flight requests): still alive and answering? */
  afterRun?: { alive: boolean; answers: boolean; answer?: string };
  /** Seconds spent before the cell waiting for other jobs on the machine to finish. */
  quietWaitS?: number;
  /** The measured run, in the driver's performance.now(), to place health events. */
  window?: { start: number; end: number };
  health?: Health;
}

async function measureCell(scenario: Scenario, target: Target, repetition: number, index: number): Promise<Cell> {
  const cell: Cell = {
    scenario: scenario.key,
    target: target.name,
    kind: target.kind,
    ...(target.workers ? { workers: target.workers } : {}),
    ...(target.checkout ? { checkout: target.checkout } : {}),
    repetition,
  };
  const what = `${scenario.key} ${target.name}${REPEAT > 1 ? ` #${repetition + 1}` : ''}`;
  let running: Running | undefined;
  try {
    cell.quietWaitS = Math.round(await waitForQuiet(what));
    running = await startTarget(target, upstream.url);
    cell.startupMs = Math.round(running.startupMs);
    const pid = running.pid ?? upstream.child.pid!;
    const rss = running.pid ? sampleRss(running.pid) : undefined;

    log(`${what}: probe`);
    cell.probe = await probe(scenario, target.kind, running.origin);
    if (scenario.key === 'S3') {
      log(`${what}: ${S3_SEQUENTIAL_SAMPLES} sequential requests`);
      cell.sequential = await sequentialLatency(scenario, target.kind, running.origin);
    }

    log(`${what}: warm-up ${WARMUP_SECONDS}s`);
    if (target.kind === 'direct' && scenario.direct(0).length > 1) await load(scenario, target.kind, running.origin, WARMUP_SECONDS);
    else {
      await warmUp({
        origin: running.origin,
        headers: headersFor(target.kind),
        request: (i) => requestFor(scenario, target.kind, i),
        connections: scenario.connections,
        seconds: WARMUP_SECONDS,
        timeout: scenario.timeoutS,
        verifyBody: verifierFor(target.kind),
      });
    }
    // Start from a quiet server (nothing left over from the warm-up).
    cell.idleWaitMs = Math.max(await waitIdle(pid), await waitIdle(upstream.child.pid!));
    await control('POST', '/reset-max');
    const prefix = `${scenario.key}-${index}-`;
    await control('POST', `/tag?prefix=${prefix}`);
    const before = (await stats()).requests;

    log(`${what}: measuring ${SECONDS}s`);
    const foreign = foreignCpu(process.pid);
    const targetTicks = running.pid ? treeTicks(running.pid) : undefined;
    const windowStart = performance.now();
    const result = await load(scenario, target.kind, running.origin, SECONDS, target.kind === 'direct' ? undefined : prefix);
    cell.window = { start: windowStart, end: performance.now() };
    cell.foreignCpuCores = foreign.stop();
    // Clock ticks of 10 ms (USER_HZ 100, as foreignCpu reads them).
    if (targetTicks !== undefined && result.completed) cell.cpuUsPerRequest = ((treeTicks(running.pid!) - targetTicks) * 10_000) / result.completed;
    const after = await stats();
    const tagged = await control<{ counts: Record<string, number> }>('GET', '/tagged');
    await control('POST', '/tag?prefix=');
    cell.rss = rss?.stop();

    const { echoedRequestIds, ...rest } = result;
    cell.load = rest;
    const delta = after.requests - before;
    cell.upstream = {
      callsPerRequestFromCounter: result.completed ? delta / result.completed : NaN,
      counterDelta: delta,
      maxInFlight: after.maxInFlight,
    };
    if (echoedRequestIds.length) {
      const attributed = echoedRequestIds.reduce((sum, id) => sum + (tagged.counts[id] ?? 0), 0);
      cell.upstream.callsPerRequestExact = attributed / echoedRequestIds.length;
      cell.upstream.attributedRequests = echoedRequestIds.length;
    } else if (target.kind === 'direct') {
      cell.upstream.callsPerRequestExact = scenario.direct(0).length;
    }
    if (target.kind !== 'direct') {
      // autocannon ends by dropping the requests it has in flight, as impatient clients do.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      let answers = false;
      let answer: string | undefined;
      if (running.alive()) {
        try {
          const one = requestFor(scenario, target.kind, 0);
          const response = await request(`${running.origin}${one.path}`, {
            method: one.method,
            headers: headersOf(target.kind, one),
            ...(one.body !== undefined ? { body: one.body } : {}),
            headersTimeout: scenario.timeoutS * 1000,
            bodyTimeout: scenario.timeoutS * 1000,
          });
          const text = await response.body.text();
          answers = response.statusCode === 200 && verifierFor(target.kind)(text);
          if (!answers) answer = `HTTP ${response.statusCode}: ${text.slice(0, 300)}`;
        } catch (error) {
          answer = (error as Error).message;
        }
      }
      cell.afterRun = { alive: running.alive(), answers, ...(answer ? { answer } : {}) };
    }
  } catch (error) {
    cell.failed = (error as Error).stack ?? String(error);
    log(`${what}: FAILED ${(error as Error).message}`);
  } finally {
    if (running) cell.health = running.health;
    await running?.stop();
  }
  return cell;
}

// ---------------------------------------------------------------------------
// Run

const commandLine = [
  ...['BENCH_SECONDS', 'BENCH_WARMUP_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_WORKERS', 'BENCH_SCENARIOS', 'BENCH_REPEAT', 'BENCH_BASELINE', ...GATEWAY_SETTINGS_PASSED]
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]}`),
  process.env.npm_lifecycle_event === 'bench' ? 'npm run bench' : 'tsx bench/run.ts',
].join(' ');
/** A checkout's commit, and whether its src/ differs from it. */
function gitOf(checkout: string): string {
  const run = (...args: string[]) => execFileSync('git', ['-C', checkout, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const sha = run('rev-parse', '--short', 'HEAD');
    const dirty = run('status', '--porcelain', '--', 'src') ? ' (src/ modified)' : '';
    return `${sha}${dirty}`;
  } catch {
    return 'unknown';
  }
}
const git = gitOf(root);
const baselineGit = BASELINE ? gitOf(BASELINE) : undefined;
const machine = {
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  kernel: `${os.type()} ${os.release()}`,
};

// Other jobs on the machine skew every number. Before each cell, wait (1 s looks) until
// they are done, up to QUIET_WAIT_PER_CELL_S per cell and QUIET_WAIT_TOTAL_S in all
// (BENCH_QUIET_WAIT_SECONDS); cells measured anyway are flagged in the notes.
const QUIET_WAIT_TOTAL_S = Number(process.env.BENCH_QUIET_WAIT_SECONDS ?? 60);
const QUIET_WAIT_PER_CELL_S = 20;
let quietWaitedS = 0;
async function waitForQuiet(what: string): Promise<number> {
  const began = Date.now();
  let cores = 0;
  for (;;) {
    const sample = foreignCpu(process.pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    cores = sample.stop();
    const waited = (Date.now() - began) / 1000;
    if (cores < FOREIGN_CPU_WARNING || waited >= QUIET_WAIT_PER_CELL_S || quietWaitedS + waited >= QUIET_WAIT_TOTAL_S) break;
    if (waited < 1.5) log(`${what}: other processes use ${cores.toFixed(2)} cores; waiting for them…`);
  }
  const waited = (Date.now() - began) / 1000;
  quietWaitedS += waited;
  return waited;
}

const cells: Cell[] = [];
const startedAt = new Date();
const save = () => {
  mkdirSync(new URL('./', resultsUrl), { recursive: true });
  writeFileSync(
    resultsUrl,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        command: commandLine,
        git,
        ...(BASELINE ? { baseline: { checkout: BASELINE, git: baselineGit, entry: gatewayEntry(BASELINE) } } : {}),
        gatewayEntry: gatewayEntry(),
        machine,
        settings: {
          seconds: SECONDS,
          warmupSeconds: WARMUP_SECONDS,
          connections: CONNECTIONS,
          workers: WORKER_COUNTS,
          repeat: REPEAT,
          concurrencyPerRequest: CONCURRENCY_PER_REQUEST,
          upstreamSockets: UPSTREAM_SOCKETS,
          gatewayEnv: { LOG_LEVEL: 'warn', ...passedSettings() },
        },
        scenarios: selected.map(({ key, title, connections, upstreamLatencyMs, directNote }) => ({ key, title, connections, upstreamLatencyMs, directNote })),
        cells,
      },
      null,
      2,
    )}\n`,
  );
};

try {
  for (const scenario of selected) {
    await control('POST', `/latency?ms=${scenario.upstreamLatencyMs}`);
    for (const [index, { target, repetition }] of schedule().entries()) {
      cells.push(await measureCell(scenario, target, repetition, index));
      save();
    }
  }
  await control('POST', '/latency?ms=0');
} finally {
  await upstream.stop();
}
const elapsedS = (Date.now() - startedAt.getTime()) / 1000;

// ---------------------------------------------------------------------------
// Report

const fixed = (value: number | undefined, digits?: number) =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b || !Number.isFinite(a / b) ? '—' : `${(a / b).toFixed(2)}`);
const percent = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}%`;

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** One scenario × target over its BENCH_REPEAT runs. */
interface Group {
  scenario: Scenario;
  target: string;
  kind: Kind;
  workers?: number;
  checkout?: Checkout;
  cells: Cell[];
  /** The runs that produced numbers. */
  measured: (Cell & { load: NonNullable<Cell['load']> })[];
}

/** Medians over a group's measured runs, and the spread of its req/s. */
interface Summary {
  rps: number;
  min: number;
  max: number;
  /** (max − min) ÷ median. */
  spread: number;
  p50: number;
  p99: number;
  rssMiB?: number;
  /** Median CPU µs per request of the target's processes, and its min–max. */
  cpuUs?: { median: number; min: number; max: number };
}

function groupsOf(scenario: Scenario): Group[] {
  const groups = new Map<string, Group>();
  for (const cell of cells.filter((each) => each.scenario === scenario.key)) {
    let group = groups.get(cell.target);
    if (!group) {
      group = { scenario, target: cell.target, kind: cell.kind, cells: [], measured: [], ...(cell.workers ? { workers: cell.workers } : {}), ...(cell.checkout ? { checkout: cell.checkout } : {}) };
      groups.set(cell.target, group);
    }
    group.cells.push(cell);
    if (!cell.failed && cell.load) group.measured.push(cell as Cell & { load: NonNullable<Cell['load']> });
  }
  return [...groups.values()];
}

function summaryOf(group: Group | undefined): Summary | undefined {
  if (!group?.measured.length) return undefined;
  const rps = group.measured.map((cell) => cell.load.rps);
  const peaks = group.measured.flatMap((cell) => (cell.rss ? [cell.rss.peakMiB] : []));
  const cpu = group.measured.flatMap((cell) => (cell.cpuUsPerRequest === undefined ? [] : [cell.cpuUsPerRequest]));
  const middle = median(rps);
  const min = Math.min(...rps);
  const max = Math.max(...rps);
  return {
    rps: middle,
    min,
    max,
    spread: middle ? (max - min) / middle : NaN,
    p50: median(group.measured.map((cell) => cell.load.latencyMs.p50)),
    p99: median(group.measured.map((cell) => cell.load.latencyMs.p99)),
    ...(peaks.length ? { rssMiB: Math.max(...peaks) } : {}),
    ...(cpu.length ? { cpuUs: { median: median(cpu), min: Math.min(...cpu), max: Math.max(...cpu) } } : {}),
  };
}

const cpuText = (summary: Summary | undefined) => (summary?.cpuUs ? `${fixed(summary.cpuUs.median)} (${fixed(summary.cpuUs.min)}–${fixed(summary.cpuUs.max)})` : '—');

const spreadText = (summary: Summary | undefined) => (summary ? `${fixed(summary.min)}–${fixed(summary.max)} (${(summary.spread * 100).toFixed(1)}%)` : '—');
const run = (cell: Cell) => (REPEAT > 1 ? ` #${cell.repetition + 1}` : '');

/** A target's name, with how many processes its gateway ran (of a group: the run that saw the fewest decides). */
function targetLabel(of: Cell | Group): string {
  if (of.kind !== 'gateway') return of.target;
  const processes = Math.min(...('cells' in of ? of.cells : [of]).map((cell) => cell.rss?.processes ?? 0));
  const expected = (of.workers ?? 1) > 1 ? (of.workers ?? 1) + 1 : 1;
  if ((of.workers ?? 1) > 1 && processes < expected) return `${of.target} (ignored: ${processes} process${processes === 1 ? '' : 'es'})`;
  return processes > 1 ? `${of.target} (primary + ${processes - 1} workers)` : of.target;
}

function errorsText(group: Group): string {
  if (!group.measured.length) return '—';
  const sum = (pick: (load: Group['measured'][number]['load']) => number) => group.measured.reduce((total, cell) => total + pick(cell.load), 0);
  const errors = sum((load) => load.errors);
  if (!errors) return '0';
  const timeouts = sum((load) => load.timeouts);
  const parts = [
    sum((load) => load.non2xx) ? `${sum((load) => load.non2xx)} non-2xx` : '',
    sum((load) => load.badBodies) ? `${sum((load) => load.badBodies)} bad body` : '',
    timeouts ? `${timeouts} timeouts` : '',
    sum((load) => load.socketErrors) - timeouts ? `${sum((load) => load.socketErrors) - timeouts} socket` : '',
  ].filter(Boolean);
  return `${errors} (${parts.join(', ')})`;
}

function callsText(group: Group): string {
  const counted = group.measured.flatMap((cell) => (cell.upstream ? [cell.upstream] : []));
  if (!counted.length) return '—';
  if (counted.every((each) => each.callsPerRequestExact !== undefined)) return fixed(median(counted.map((each) => each.callsPerRequestExact!)), 2);
  return `~${fixed(median(counted.map((each) => each.callsPerRequestFromCounter)), 2)}`;
}

/** Short flags for what else happened in a cell: crashes, circuit breaker, other load on the machine. */
function notesText(cell: Cell): string {
  const notes: string[] = [];
  const health = cell.health;
  const when = (at: number) =>
    !cell.window ? '' : at < cell.window.start ? 'before the measured run' : at <= cell.window.end ? 'during the measured run' : 'after the run';
  for (const event of ['crash', 'worker replaced', 'circuit opened', 'exit'] as const) {
    const times = (health?.timeline ?? []).filter((entry) => entry.event === event).map((entry) => when(entry.at));
    if (!times.length) continue;
    const label = { crash: 'uncaught exception', 'worker replaced': 'worker replaced', 'circuit opened': 'circuit opened', exit: `process exited (${health?.exited})` }[event];
    const phases = [...new Set(times)].filter(Boolean).join(', ');
    notes.push(`${label}${times.length > 1 ? ` ×${times.length}` : ''}${phases ? ` (${phases})` : ''}`);
  }
  if (health?.listenerWarnings) notes.push(`MaxListenersExceededWarning ×${health.listenerWarnings}`);
  if (cell.afterRun && !cell.afterRun.answers) notes.push(cell.afterRun.alive ? 'answers with errors after the run' : 'dead after the run');
  if ((cell.foreignCpuCores ?? 0) >= FOREIGN_CPU_WARNING) notes.push(`other jobs used ${fixed(cell.foreignCpuCores, 1)} cores`);
  if (cell.failed && REPEAT > 1) notes.push(`failed: ${cell.failed.split('\n')[0]?.slice(0, 120)}`);
  return notes.join('; ');
}

/** Each run's notes, marked with its run number when there are several. */
function groupNotes(group: Group): string {
  return group.cells
    .map((cell) => [cell, notesText(cell)] as const)
    .filter(([, notes]) => notes)
    .map(([cell, notes]) => (REPEAT > 1 ? `#${cell.repetition + 1}: ${notes}` : notes))
    .join('; ');
}

const lines: string[] = [];
lines.push(`# execution-gateway side-by-side benchmark`);
lines.push('');
lines.push(
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, ${machine.kernel}, Node ${machine.node}. ` +
    `Command: \`${commandLine}\` (${startedAt.toISOString()}, ${Math.round(elapsedS)} s in all` +
    `${quietWaitedS >= 1 ? `, of which ${Math.round(quietWaitedS)} s waiting for other jobs on the machine` : ''}). Gateway at git ${git}` +
    `${BASELINE ? ` (${gatewayEntry()}); baseline: ${BASELINE} at git ${baselineGit} (${gatewayEntry(BASELINE)})` : ''}.`,
);
lines.push('');
lines.push(
  `Each cell: a fresh target process, a correctness probe, ${WARMUP_SECONDS} s warm-up, then ${SECONDS} s of closed-loop load from autocannon ` +
    `(${CONNECTIONS} connections; S7: 8) on loopback. Upstream (fake, pre-serialized bodies), target and driver are separate processes sharing ` +
    `${machine.cores} cores. The gateway runs as deployed, with NODE_ENV=production and LOG_LEVEL=warn, ${RUNNER === 'compiled' ? 'compiled by tsc and started by plain `node` (BENCH_RUNNER=tsx runs its sources under tsx)' : 'from its sources under tsx (BENCH_RUNNER=tsx)'}. p50/p99 in ms. Errors = non-2xx + socket errors/timeouts + 2xx bodies with GraphQL \`errors\`. ` +
    `Upstream calls/request: calls the fake upstream received with the x-request-id of each completed request ÷ completed requests ` +
    `(\`~\`: counter delta ÷ completed, when the target does not echo the id). Peak RSS: highest sum of VmRSS over the target's process tree ` +
    `during the cell (MiB). Ratios: gateway ÷ floor proxy (req/s below 1 and latency/RSS above 1 mean the gateway is worse). ` +
    `The floor proxy fetches once per id per request and caches nothing, so where the gateway's upstream calls/request are below ` +
    `the floor's, its cache or its sharing of concurrent calls is at work. Notes: uncaught exceptions and restarts of the target, its ` +
    `circuit breaker opening, whether it still answered after the run (which ends by dropping in-flight requests), and CPU used by ` +
    `other jobs on the machine during the measured run.`,
);
if (REPEAT > 1) {
  lines.push('');
  lines.push(
    `Every target ran ${REPEAT} times, in rounds (${BASELINE ? 'floor, baseline, gateway; the direct upstream once' : 'direct, floor, gateway'}), each run a fresh process. ` +
      `Figures are medians over the runs (errors: summed; peak RSS: the highest); min–max is the range of req/s across runs and spread is that range as % of the median.`,
  );
}
const busy = cells.filter((cell) => (cell.foreignCpuCores ?? 0) >= FOREIGN_CPU_WARNING);
if (busy.length) {
  lines.push('');
  lines.push(
    `**Warning:** other processes on this machine used up to ${fixed(Math.max(...busy.map((cell) => cell.foreignCpuCores ?? 0)), 1)} cores ` +
      `during ${busy.length} of ${cells.length} measured runs (see notes); those numbers understate every target.`,
  );
}

if (BASELINE) {
  lines.push('');
  lines.push(`## Gateway against the baseline`);
  lines.push('');
  lines.push(
    `Medians of ${REPEAT} run${REPEAT === 1 ? '' : 's'} per target, interleaved. Spread: min–max req/s across runs (and as % of the median). ` +
      `Flagged: the gateway more than ${REGRESSION_THRESHOLD * 100}% below the baseline, by more than the larger of the two spreads` +
      `${REPEAT === 1 ? ' (with one run per target there is no spread: any such gap is flagged)' : ''}. ` +
      'CPU µs/req: CPU time of the target\'s processes over the measured run ÷ requests completed, median (min–max); ' +
      'on a shared machine steadier than req/s, since other jobs take cores from a target more than they add to its CPU per request.',
  );
  lines.push('');
  lines.push(
    '| scenario | floor req/s | floor spread | baseline req/s | baseline spread | gateway req/s | gateway spread | gateway ÷ floor | gateway ÷ baseline | verdict | CPU µs/req: floor | baseline | gateway | gateway ÷ baseline |',
  );
  lines.push('|---|---:|---|---:|---|---:|---|---:|---:|---|---:|---:|---:|---:|');
  const flagged: string[] = [];
  for (const scenario of selected) {
    const groups = groupsOf(scenario);
    const floor = summaryOf(groups.find((group) => group.kind === 'floor'));
    for (const workers of WORKER_COUNTS) {
      const find = (checkout: Checkout) => groups.find((group) => group.checkout === checkout && group.workers === workers);
      const [baselineGroup, gatewayGroup] = [find('baseline'), find('gateway')];
      const [baseline, gateway] = [summaryOf(baselineGroup), summaryOf(gatewayGroup)];
      const name = `${scenario.key}${WORKER_COUNTS.length > 1 ? ` WORKERS=${workers}` : ''}`;
      let verdict = 'incomplete';
      if (baseline && gateway) {
        const change = gateway.rps / baseline.rps - 1;
        const gap = Math.abs(gateway.rps - baseline.rps);
        const spread = Math.max(baseline.max - baseline.min, gateway.max - gateway.min);
        const beyond = gap > spread;
        const slower = -change > REGRESSION_THRESHOLD && beyond;
        verdict = `${percent(change)}, ${beyond ? 'beyond' : 'within'} the spread`;
        if (slower) {
          verdict = `**SLOWER** ${verdict}`;
          flagged.push(
            `${name}: gateway ${fixed(gateway.rps)} req/s against baseline ${fixed(baseline.rps)} (${percent(change)}); ` +
              `the gap, ${fixed(gap)} req/s, exceeds the spread of ${fixed(spread)} req/s.`,
          );
        }
        const incomplete = [baselineGroup!, gatewayGroup!].filter((group) => group.measured.length < group.cells.length);
        if (incomplete.length) verdict += `; ${incomplete.map((group) => `${group.checkout} ${group.measured.length} of ${group.cells.length} runs`).join(', ')}`;
        if ([baselineGroup!, gatewayGroup!].some((group) => errorsText(group) !== '0')) verdict += '; errors (see below)';
        const disturbed = groups
          .filter((group) => group.kind === 'floor' || group.workers === workers)
          .flatMap((group) => group.measured)
          .filter((cell) => (cell.foreignCpuCores ?? 0) >= FOREIGN_CPU_WARNING).length;
        if (disturbed) verdict += `; other jobs during ${disturbed} run${disturbed === 1 ? '' : 's'}`;
      }
      lines.push(
        `| ${[
          name,
          fixed(floor?.rps),
          spreadText(floor),
          fixed(baseline?.rps),
          spreadText(baseline),
          fixed(gateway?.rps),
          spreadText(gateway),
          ratio(gateway?.rps, floor?.rps),
          ratio(gateway?.rps, baseline?.rps),
          verdict,
          cpuText(floor),
          cpuText(baseline),
          cpuText(gateway),
          ratio(gateway?.cpuUs?.median, baseline?.cpuUs?.median),
        ].join(' | ')} |`,
      );
    }
  }
  lines.push('');
  if (flagged.length) {
    lines.push(`**Flagged** (gateway more than ${REGRESSION_THRESHOLD * 100}% below the baseline, beyond the spread):`);
    lines.push('');
    for (const each of flagged) lines.push(`- ${each}`);
  } else {
    lines.push(`Flagged: none (no scenario has the gateway more than ${REGRESSION_THRESHOLD * 100}% below the baseline by more than the spread).`);
  }
  lines.push('');
  lines.push('## All targets');
}

lines.push('');
const several = REPEAT > 1;
lines.push(
  `| scenario | target | req/s${several ? ` (median of ${REPEAT}) | min–max (spread)` : ''} | p50 | p99 | errors | upstream calls/req | peak RSS MiB | ÷ floor: req/s | ÷ floor: p50 | ÷ floor: p99 | ÷ floor: RSS | notes |`,
);
lines.push(`|---|---|---:|${several ? '---|' : ''}---:|---:|---|---:|---:|---:|---:|---:|---:|---|`);
for (const scenario of selected) {
  const groups = groupsOf(scenario);
  const floor = summaryOf(groups.find((group) => group.kind === 'floor'));
  for (const group of groups) {
    const name = group.kind === 'direct' ? `${group.target} (${scenario.directNote})` : targetLabel(group);
    const summary = summaryOf(group);
    if (!summary) {
      const failed = group.cells.find((cell) => cell.failed)?.failed ?? '';
      lines.push(`| ${scenario.key} | ${name} | failed: ${failed.split('\n')[0]?.slice(0, 120)} |${several ? ' |' : ''} | | | | | | | | | ${groupNotes(group)} |`);
      continue;
    }
    const gateway = group.kind === 'gateway';
    lines.push(
      [
        '',
        scenario.key,
        name,
        fixed(summary.rps),
        ...(several ? [spreadText(summary)] : []),
        fixed(summary.p50),
        fixed(summary.p99),
        errorsText(group),
        callsText(group),
        summary.rssMiB !== undefined ? fixed(summary.rssMiB, 0) : '—',
        gateway ? ratio(summary.rps, floor?.rps) : '',
        gateway ? ratio(summary.p50, floor?.p50) : '',
        gateway ? ratio(summary.p99, floor?.p99) : '',
        gateway ? ratio(summary.rssMiB, floor?.rssMiB) : '',
        groupNotes(group),
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
}
lines.push('');
lines.push('Scenarios:');
for (const scenario of selected) lines.push(`- **${scenario.key}** ${scenario.title}.`);

const s3 = cells.filter((cell) => cell.scenario === 'S3' && cell.sequential);
if (s3.length) {
  const floorSequential = median(s3.filter((cell) => cell.kind === 'floor').map((cell) => cell.sequential!.p50));
  lines.push('');
  lines.push(`S3, one request alone (${S3_SEQUENTIAL_SAMPLES} sequential requests, 20 ids, upstream 20 ms, at most ${CONCURRENCY_PER_REQUEST} upstream calls in flight per request): expected ≈ 2 × 20 ms = 40 ms.`);
  lines.push('');
  lines.push(`| target | p50 | p90 | p99 | p50 − 40 ms | p50 ÷ floor${several ? ' (median)' : ''} |`);
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const cell of s3) {
    const sequential = cell.sequential!;
    lines.push(
      `| ${targetLabel(cell)}${run(cell)} | ${fixed(sequential.p50)} | ${fixed(sequential.p90)} | ${fixed(sequential.p99)} | ${fixed(sequential.p50 - 40)} | ${cell.kind === 'gateway' ? ratio(sequential.p50, floorSequential) : ''} |`,
    );
  }
}

lines.push('');
lines.push(`Correctness probes (before load, one request at a time${several ? '; the first run of each target, and any later run whose probe failed' : ''}):`);
lines.push('');
for (const cell of cells) {
  const probeResult = cell.probe;
  if (!probeResult) continue;
  if (cell.repetition > 0 && probeResult.ok && probeResult.sameDataAsFloor !== false) continue;
  const parity =
    cell.kind === 'gateway' ? (probeResult.sameDataAsFloor === undefined ? '' : probeResult.sameDataAsFloor ? '; same data as floor' : `; DIFFERS from floor at ${probeResult.difference}`) : '';
  const verdict = probeResult.ok ? 'ok' : `FAILED (${probeResult.errors.join('; ')})`;
  const messages = Object.entries(cell.health?.messages ?? {});
  const logNote = messages.length ? `; ${cell.checkout ?? 'gateway'} log at warn+ during the cell: ${messages.map(([message, count]) => `"${message}" ×${count}`).join(', ')}` : '';
  lines.push(
    `- ${cell.scenario} ${targetLabel(cell)}${run(cell)}: ${verdict}${parity}; 3 identical requests in a row took ${probeResult.latencyMs.map((ms) => fixed(ms)).join(', ')} ms and made ${probeResult.upstreamCalls.join(', ')} upstream calls; response ${probeResult.responseBytes.toLocaleString('en-US')} bytes${logNote}`,
  );
}
lines.push('');
lines.push(`Raw results: bench/results/bench.json`);

process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
