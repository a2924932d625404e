/**
 * Live subscriptions under load (`npm run bench:live`): thousands of SSE
 * subscribers, spread over many callers, watching hundreds of running
 * executions whose changes are staggered, against one gateway. Loopback only;
 * it stops by itself.
 *
 * Processes: the fake upstream (bench/upstream-server.ts with the live world,
 * bench/lib/live-world.ts), the gateway (NODE_ENV=production, LOG_LEVEL=warn,
 * WORKERS=1, its live limits raised for the load, and a 10 ms loop-lag sampler
 * preloaded from bench/lib/loop-lag-preload.mjs: nothing added to src/), a
 * `{ __typename }` prober (bench/lib/typename-probe.ts), and this driver, which
 * holds every subscription (bench/lib/sse-subscribers.ts) and measures.
 *
 * Per step (N subscribers): N / 10 executions, 10 subscribers each, all of the
 * execution's owner (each caller is its own organization and sees only its
 * executions), so every execution is one watched (caller, execution) pair;
 * callers = max(20, executions / 10). Upstream changes each execution once per
 * LIVE_BENCH_CHANGE_MS at its own phase (change k at start + k × period / E, in
 * upstream's process), appending an event that carries when it happened; every
 * fifth change also flips the status (running ↔ queued, both polled at the
 * active cadence). The driver opens the N subscriptions (at most 200 waiting
 * for their first update at a time), lets them settle, then measures a steady
 * window:
 *   - subscribers held (first update received, stream still open);
 *   - upstream calls/s (the fake upstream's own counter) against the ideal, one
 *     call per watched pair per poll interval, and per execution (a pair polled
 *     twice as often would show a duplicate poller);
 *   - push latency, from the change upstream to its receipt by each client
 *     (p50/p99), split into waiting for the next poll and poll to client;
 *     deliveries against the expected (every change of the window to every
 *     subscriber of its execution);
 *   - the gateway's event-loop lag (p99 of the preloaded sampler) and GC
 *     pauses, and the response time of `{ __typename }` every 100 ms as seen
 *     from outside;
 *   - RSS from /proc (peak over the step, at the window's end, after closing);
 *     the live heap after a full collection with every subscriber held and
 *     after closing them (the preload collects on SIGUSR2; the gateway runs
 *     with --expose-gc for it, and collects only between measurements);
 *   - CPU of each process, and other jobs' CPU on the machine (before each
 *     step the driver waits, LIVE_BENCH_QUIET_WAIT_S in all, for them to stop;
 *     a step that misses a limit while other jobs took 0.3 cores or more is
 *     run once more, and both runs are reported).
 * Then it closes every subscription and checks that upstream calls stop (the
 * pollers stop with their last watcher).
 *
 * The first step is the target (2,000 subscribers over 200 executions, 20
 * callers); the next steps go beyond until a service limit is missed (upstream
 * calls off the ideal by more than 10 %, loop lag p99 ≥ 50 ms, a subscriber
 * not held, a delivery missing, push p99 over LIVE_BENCH_MAX_P99_MS, a crash)
 * or the steps run out. RSS ≥ 600 MiB is reported as missed but does not stop
 * the ramp: RSS follows how lazily V8 collects as much as what is held (see
 * the live heap). Targets are reported, not asserted.
 *
 * Knobs: LIVE_BENCH_STEPS (2000,3000,4000,6000,8000,10000,12000),
 * LIVE_BENCH_POLL_MS (1000: the gateway's LIVE_POLL_ACTIVE_MS),
 * LIVE_BENCH_CHANGE_MS (2000), LIVE_BENCH_WINDOW_S (15), LIVE_BENCH_SETTLE_S
 * (3), LIVE_BENCH_MAX_P99_MS (2500), LIVE_BENCH_QUIET_WAIT_S (120),
 * LIVE_BENCH_KEEP_GOING=1 (run every step even past a limit),
 * LIVE_BENCH_GATEWAY_NODE_FLAGS (more flags for the gateway's node, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 *
 * Two replicas (LIVE_BENCH_REPLICAS=2; default 1, everything above): the
 * driver also starts a real `redis-server` (bench/lib/redis-server.ts: a free
 * loopback port, `--save '' --appendonly no`, stopped at the end and whatever
 * ends the driver, SIGINT/SIGTERM/SIGHUP included) and two gateways, each as
 * above (its own loop-lag file, its own `{ __typename }` prober) with the same
 * REDIS_URL and a random REDIS_KEY_SECRET (LIVE_LEASE_MS: the gateway's default
 * unless set in the environment). The subscribers of each execution are spread
 * over the replicas (subscriber i on replica ⌊i / E⌋ mod R: of its 10, 5 on
 * each), so every pair is watched on both, and the ideal stays one upstream call
 * per pair per poll interval ACROSS replicas (one lease holder polls, the other
 * applies its deltas from Redis). Per step, the same table (gateway CPU summed
 * over the replicas; loop lag, GC and `{ __typename }` of the worst replica;
 * RSS of the largest; live heap summed), then per replica: subscribers held,
 * deliveries, gaps and duplicates, push latency, loop lag, CPU, RSS, heap, and
 * from its own /metrics (port found in /proc: bench/lib/live-replicas.ts) the
 * leases it holds, its pollers and its upstream calls/s; and Redis's own CPU
 * (/proc of the redis-server pid), memory (INFO memory used_memory, sampled
 * every second), commands/s (INFO commandstats) and lease keys at the window's
 * end and after closing. The limits apply to every replica (each delivers every
 * change to its subscribers, each has loop lag p99 < 50 ms, RSS < 600 MiB).
 *
 * Output: a Markdown report on stdout (progress on stderr) and bench/results/live.json
 * (bench/results/live-replicas.json with replicas); both say which mode ran.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { summarize } from './lib/measure.js';
import { cpuTicks, foreignCpu, rssKb, sampleRss } from './lib/procfs.js';
import { root, spawnNode, startGatewayProbed, startUpstream } from './lib/processes.js';
import { BenchRedis } from './lib/redis-server.js';
import type { UpstreamSpec } from './lib/scenarios.js';
import { findMetricsUrl, replicaGauges, type ReplicaGauges } from './lib/live-replicas.js';
import { LIVE_SUBSCRIPTION, liveExecutionId, liveOwner, liveToken, nowEpochMs, type LiveChangeLog, type LiveSetup, type LiveUpstreamStats } from './lib/live-world.js';
import { LiveTally, openAll, SseSubscriber } from './lib/sse-subscribers.js';

const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`bench:live: ${name} must be a positive number\n`);
    process.exit(1);
  }
  return value;
};
const STEPS = (process.env.LIVE_BENCH_STEPS ?? '2000,3000,4000,6000,8000,10000,12000').split(',').map((each) => Number(each.trim()));
if (!STEPS.every((each) => Number.isInteger(each) && each > 0)) {
  process.stderr.write('bench:live: LIVE_BENCH_STEPS must be whole numbers, e.g. 2000,4000\n');
  process.exit(1);
}
const POLL_MS = numberFrom('LIVE_BENCH_POLL_MS', 1000);
const CHANGE_MS = numberFrom('LIVE_BENCH_CHANGE_MS', 2000);
const WINDOW_S = numberFrom('LIVE_BENCH_WINDOW_S', 15);
const SETTLE_S = numberFrom('LIVE_BENCH_SETTLE_S', 3);
const MAX_P99_MS = numberFrom('LIVE_BENCH_MAX_P99_MS', 2500);
const KEEP_GOING = process.env.LIVE_BENCH_KEEP_GOING === '1';
/** How long in all to wait, before steps, for other jobs on the machine to quieten down. */
let quietBudgetMs = numberFrom('LIVE_BENCH_QUIET_WAIT_S', 120) * 1000;
/** Receipts of the window's changes are awaited this long after the window. */
const GRACE_S = 3;
const SUBSCRIBERS_PER_EXECUTION = 10;
const EXECUTIONS_PER_CALLER = 10;
const MIN_CALLERS = 20;
const OPEN_CONCURRENCY = 200;
const STATUS_FLIP_EVERY = 5;
/** A step that misses a limit while other jobs use this many cores is run again once. */
const CONTENDED_CORES = 0.3;
const TARGET = { subscribers: 2000, callsOffBy: 0.1, lagP99Ms: 50, rssMiB: 600 };
const RSS_CHECK = `RSS < ${TARGET.rssMiB} MiB`;
/** The whole run gives up after this long, whatever happens. */
const DEADLINE_MS = 15 * 60_000;
/** Gateways, each with a share of every execution's subscribers; more than one: on Redis (one lease per pair across them). */
const REPLICAS = Number(process.env.LIVE_BENCH_REPLICAS ?? 1);
if (!Number.isInteger(REPLICAS) || REPLICAS < 1 || REPLICAS > SUBSCRIBERS_PER_EXECUTION) {
  process.stderr.write(`bench:live: LIVE_BENCH_REPLICAS must be a whole number from 1 to ${SUBSCRIBERS_PER_EXECUTION} (2: two replicas on Redis)\n`);
  process.exit(1);
}
const MULTI = REPLICAS > 1;
const MODE = MULTI ? 'replicas' : 'single';
const RESULTS_FILE = MULTI ? 'live-replicas.json' : 'live.json';
/** The gateway's LIVE_LEASE_MS (its default unless the environment sets it: the gateways inherit it). */
const LEASE_MS = Number(process.env.LIVE_LEASE_MS ?? 10_000);

const log = (message: string) => process.stderr.write(`[bench:live] ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const fmt = (value: number) => (Number.isFinite(value) ? value.toLocaleString('en-US') : '–');
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

process.on('SIGINT', () => process.exit(130));
setTimeout(() => {
  log(`gave up after ${DEADLINE_MS / 60_000} minutes`);
  process.exit(2);
}, DEADLINE_MS).unref();

/** Open files this process (and so each child) may have: every subscription is one socket at each end. */
function openFilesLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !match || match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}
const FD_LIMIT = openFilesLimit();

// ---------------------------------------------------------------------------
// Processes

log('starting the fake upstream…');
const upstreamSpec: UpstreamSpec & { live: boolean } = { executions: [], live: true };
const upstream = await startUpstream(upstreamSpec);
const upstreamPid = upstream.child.pid!;

async function control<T>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<T> {
  const response = await request(`${upstream.control}${route}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const json = (await response.body.json()) as T;
  if (response.statusCode !== 200) throw new Error(`upstream control ${route}: ${JSON.stringify(json)}`);
  return json;
}

/** The preload's file of replica `index` (the first: the single-replica run's name). */
const lagFileOf = (index: number) => path.join(os.tmpdir(), `bench-live-lag-${process.pid}${index ? `-r${index}` : ''}.jsonl`);
const lagFile = lagFileOf(0);
rmSync(lagFile, { force: true });
process.on('exit', () => {
  for (let index = 0; index < REPLICAS; index++) rmSync(lagFileOf(index), { force: true });
});

interface GatewayHealth {
  crashes: number;
  exited?: string;
  /** Log lines at warn and above (pino level ≥ 40, or not JSON), by message. */
  messages: Record<string, number>;
  /** Other lines on stdout (an access log, when the gateway writes one whatever LOG_LEVEL says), by message. */
  otherLines: Record<string, number>;
  stderr: string[];
}
const newHealth = (): GatewayHealth => ({ crashes: 0, messages: {}, otherLines: {}, stderr: [] });
const GATEWAY_ENV = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  WORKERS: '1',
  LIVE_POLL_ACTIVE_MS: String(POLL_MS),
  LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '100000',
  LIVE_MAX_SUBSCRIPTIONS: '1000000',
  LIVE_MAX_POLLERS: '100000',
  LOOP_LAG_FILE: lagFile,
};

// With replicas: one Redis for them all, the same secret on each (keys and channels are HMACs of the caller's token with it).
let redis: BenchRedis | undefined;
let redisVersion: string | undefined;
const REDIS_KEY_SECRET = randomBytes(32).toString('hex');
if (MULTI) {
  log('starting redis-server…');
  redis = await BenchRedis.start();
  redisVersion = (await redis.info('server')).redis_version;
  log(`redis-server ${redisVersion} on ${redis.url} (pid ${redis.pid})`);
}

interface ProbeSample {
  t: number;
  ms: number;
  error?: string;
}
/** One gateway process and what watches it. */
interface Replica {
  index: number;
  /** 'gateway' alone; 'A', 'B', … with replicas. */
  name: string;
  gateway: Awaited<ReturnType<typeof startGatewayProbed>>;
  pid: number;
  origin: string;
  path: string;
  lagFile: string;
  health: GatewayHealth;
  /** Its own /metrics (replicas only). */
  metricsUrl: string | undefined;
  probe: ReturnType<typeof spawnNode>;
  probePid: number;
  probeSamples: ProbeSample[];
}

let stopping = false;
async function startReplica(index: number): Promise<Omit<Replica, 'probe' | 'probePid' | 'probeSamples'>> {
  const name = MULTI ? String.fromCharCode(65 + index) : 'gateway';
  const health = newHealth();
  const replicaLagFile = lagFileOf(index);
  rmSync(replicaLagFile, { force: true });
  const env = MULTI ? { ...GATEWAY_ENV, LOOP_LAG_FILE: replicaLagFile, REDIS_URL: redis!.url, REDIS_KEY_SECRET } : GATEWAY_ENV;
  log(MULTI ? `starting gateway ${name}…` : 'starting the gateway…');
  const gateway = await startGatewayProbed(upstream.url, env, {
    // --expose-gc only lets the preload collect on request (SIGUSR2), between measurements.
    nodeFlags: [
      '--expose-gc',
      '--import',
      pathToFileURL(path.join(root, 'bench/lib/loop-lag-preload.mjs')).href,
      ...(process.env.LIVE_BENCH_GATEWAY_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
    onLine: (line) => {
      let message = line.slice(0, 160);
      let level = 50;
      try {
        const parsed = JSON.parse(line) as { msg?: unknown; level?: unknown };
        message = String(parsed.msg ?? message);
        if (typeof parsed.level === 'number') level = parsed.level;
      } catch {
        // not JSON: keep the raw line, counted as a warning
      }
      const counts = level >= 40 ? health.messages : health.otherLines;
      counts[message] = (counts[message] ?? 0) + 1;
    },
    onErrorLine: (line) => {
      if (/^Node\.js v\d/.test(line)) health.crashes++;
      if (line.trim() && health.stderr.length < 20) health.stderr.push(line.slice(0, 300));
    },
  });
  const pid = gateway.child.pid!;
  gateway.child.once('exit', (code, signal) => {
    if (!stopping) health.exited = signal ? `signal ${signal}` : `code ${code}`;
  });
  let metricsUrl: string | undefined;
  if (MULTI) {
    metricsUrl = await findMetricsUrl(pid, gateway.port);
    if (!metricsUrl) log(`  gateway ${name}: its /metrics was not found (leases held will read –)`);
  }
  return { index, name, gateway, pid, origin: new URL(gateway.url).origin, path: new URL(gateway.url).pathname, lagFile: replicaLagFile, health, metricsUrl };
}

const started: Omit<Replica, 'probe' | 'probePid' | 'probeSamples'>[] = [];
for (let index = 0; index < REPLICAS; index++) started.push(await startReplica(index));
const replicas: Replica[] = started.map((replica) => {
  const probeSamples: ProbeSample[] = [];
  const probe = spawnNode(['bench/lib/typename-probe.ts', replica.gateway.url, '100'], {}, {
    onLine: (line) => {
      try {
        probeSamples.push(JSON.parse(line) as ProbeSample);
      } catch {
        // not a sample
      }
    },
  });
  return { ...replica, probe, probePid: probe.child.pid!, probeSamples };
});
/** Each gateway's health, in replica order (one alone). */
const gatewayHealth = replicas.map((replica) => replica.health);
const anyExited = () => replicas.find((replica) => replica.health.exited)?.health.exited;
const crashes = () => sum(gatewayHealth.map((health) => health.crashes));

const driverLag = monitorEventLoopDelay({ resolution: 10 });
driverLag.enable();

// ---------------------------------------------------------------------------
// One step

interface Percentiles {
  samples: number;
  p50: number;
  p99: number;
  max: number;
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { samples: 0, p50: NaN, p99: NaN, max: NaN };
  const { samples, p50, p99 } = summarize(values);
  let max = -Infinity;
  for (const value of values) if (value > max) max = value;
  return { samples, p50: round(p50), p99: round(p99), max: round(max) };
}

type GcReading = { pauseMsPerSecond: number; majorMsPerSecond: number; maxPauseMs: number; collections: number };

/** With replicas: one gateway's share of a step. */
interface ReplicaStepResult {
  name: string;
  /** Subscriptions sent to it, and held (first update received, stream open) at the window's end. */
  subscribers: number;
  held: number;
  deliveries: { expected: number; received: number; fraction: number };
  gaps: number;
  duplicates: number;
  endedUnexpectedly: number;
  errors: Record<string, number>;
  updatesPerSecond: number;
  pushLatencyMs: Percentiles;
  pollToClientMs: Percentiles;
  gatewayLagMs: Percentiles;
  gatewayGc: GcReading;
  heapMiB: { windowMax: number; heldAfterGc: number; closedAfterGc: number };
  typenameMs: Percentiles & { errors: number };
  rssMiB: { peak: number; windowEnd: number; afterClose: number };
  cpuCores: number;
  /** From its /metrics at the window's end (NaN: not read): leases held, pollers, subscriptions, Redis reachable (1). */
  atWindowEnd: Omit<ReplicaGauges, 'upstreamAttempts'>;
  /** Upstream calls/s it made in the window (gateway_upstream_attempts_total). */
  upstreamCallsPerSecond: number;
  /** From its /metrics once the upstream calls stopped after closing. */
  afterClose: { leasesHeld: number; pollers: number; subscriptions: number };
  gatewayWarnings: Record<string, number>;
  gatewayOtherLines: Record<string, number>;
}

/** With replicas: what Redis said of itself during the step. */
interface RedisStepResult {
  /** redis-server's CPU over the window, from /proc. */
  cpuCores: number;
  /** INFO memory used_memory: at the window's end, highest sampled (every second) over the step, after closing. */
  usedMemoryMiB: { windowEnd: number; stepMax: number; afterClose: number };
  /** redis-server's VmRSS at the window's end, from /proc. */
  rssMiB: number;
  /** The gateways' commands per second over the window (INFO commandstats, the driver's own reads left out), in all and by command; EVAL's GET/SET/PEXPIRE count on their own too. */
  commandsPerSecond: { total: number; byCommand: Record<string, number> };
  /** Lease keys (`*:lease:*`): at the window's end (one per watched pair is the ideal), and after closing (0: every lease given up). */
  leaseKeys: { windowEnd: number; afterClose: number };
  /** Pub/sub channels with a subscriber, and clients connected, at the window's end. */
  channels: number;
  clients: number;
}

interface StepResult {
  subscribers: number;
  executions: number;
  callers: number;
  held: number;
  failedToOpen: number;
  rampSeconds: number;
  firstUpdateMs: Percentiles;
  windowSeconds: number;
  /** Across every replica: the fake upstream's own count. */
  upstreamCallsPerSecond: number;
  /** One call per watched pair per poll interval (with replicas: one poller per pair across them). */
  idealCallsPerSecond: number;
  callsRatio: number;
  /** Per watched execution, calls/s over the window: lowest, highest, and executions polled at under half or over 1.5 × the ideal rate. */
  perExecution: { min: number; max: number; under: number; over: number };
  /** Most upstream calls in flight at once during the window (the pollers may hold half of UPSTREAM_MAX_CONCURRENT, 128 by default). */
  upstreamMaxInFlight: number;
  pushLatencyMs: Percentiles;
  changeToPollMs: Percentiles;
  pollToClientMs: Percentiles;
  changesInWindow: number;
  deliveries: { expected: number; received: number; fraction: number };
  updatesPerSecond: number;
  gaps: number;
  duplicates: number;
  endedUnexpectedly: number;
  errors: Record<string, number>;
  /** With replicas: the worst replica's (highest p99). */
  gatewayLagMs: Percentiles;
  /** GC in the gateway during the window (preloaded observer). With replicas: the replica with the most pause ms/s. */
  gatewayGc: GcReading;
  /** Gateway heap: highest heapUsed in the window; after a full collection with every subscriber held, and after closing them all. With replicas: summed over them. */
  heapMiB: { windowMax: number; heldAfterGc: number; closedAfterGc: number; perSubscriberKiB: number };
  /** Limits missed other than RSS (RSS is lazy garbage collection as much as what is held: the ramp goes on past it). */
  serviceLimitsMissed: string[];
  /** Other jobs' CPU just before the step (after waiting for quiet). */
  otherJobsBeforeStep: number;
  /** With replicas: the worst replica's (highest p99). */
  typenameMs: Percentiles & { errors: number };
  driverLagP99Ms: number;
  /** With replicas: the largest replica's. */
  rssMiB: { peak: number; windowEnd: number; afterClose: number };
  /** With replicas: gateway and probe summed over them, and redis-server's. */
  cpuCores: { gateway: number; upstream: number; driver: number; probe: number; otherJobs: number; redis?: number };
  /** Upstream calls after every subscription was closed, and when the last was seen (within a second; NaN: still polling after 20 s). */
  afterClose: { quietAfterSeconds: number; callsAfterClose: number };
  gatewayWarnings: Record<string, number>;
  /** Other log lines of the gateway during the step (e.g. its access log), by message. */
  gatewayOtherLines: Record<string, number>;
  checks: Record<string, boolean>;
  limitsMissed: string[];
  /** Set when the step missed a limit while other jobs used the cores, and was run again (the next result). */
  contended?: boolean;
  /** With replicas: each one's share, in order. */
  replicas?: ReplicaStepResult[];
  redis?: RedisStepResult;
}

interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}
type PreloadLine =
  | { t: number; s: number[]; gc: { n: number; ms: number; maxMs: number; majorMs: number }; m: MemoryReading }
  | { t: number; afterGc: MemoryReading; gcMs: number };

function preloadLines(replica: Replica): PreloadLine[] {
  let text = '';
  try {
    text = readFileSync(replica.lagFile, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as PreloadLine);
}

/** What the preloaded sampler saw in a gateway between `from` and `to` (ms since the epoch). */
function gatewayInside(replica: Replica, from: number, to: number) {
  const lag: number[] = [];
  const gc = { ms: 0, maxMs: 0, majorMs: 0, n: 0 };
  let heapUsedMax = 0;
  let seconds = 0;
  for (const line of preloadLines(replica)) {
    if (!('s' in line)) continue;
    // A line holds the second before t.
    if (line.t - 1000 < from - 50 || line.t > to + 50) continue;
    seconds++;
    for (const each of line.s) lag.push(each);
    gc.ms += line.gc.ms;
    gc.majorMs += line.gc.majorMs;
    gc.n += line.gc.n;
    gc.maxMs = Math.max(gc.maxMs, line.gc.maxMs);
    heapUsedMax = Math.max(heapUsedMax, line.m.heapUsed);
  }
  return {
    lagMs: percentiles(lag),
    gc: { pauseMsPerSecond: round(gc.ms / Math.max(1, seconds)), majorMsPerSecond: round(gc.majorMs / Math.max(1, seconds)), maxPauseMs: round(gc.maxMs), collections: gc.n },
    heapUsedMaxMiB: round(heapUsedMax / 2 ** 20),
  };
}

type HeapAfterGc = { heapUsedMiB: number; rssMiB: number; gcMs: number } | undefined;

/** Asks a gateway for a full collection (SIGUSR2 to the preload) and returns its heap after it, MiB. */
async function heapAfterGc(replica: Replica): Promise<HeapAfterGc> {
  const asked = nowEpochMs();
  replica.gateway.child.kill('SIGUSR2');
  for (let waited = 0; waited < 10_000; waited += 100) {
    await sleep(100);
    const line = preloadLines(replica).find((each): each is Extract<PreloadLine, { afterGc: MemoryReading }> => 'afterGc' in each && each.t >= asked);
    if (line) return { heapUsedMiB: round(line.afterGc.heapUsed / 2 ** 20), rssMiB: round(line.afterGc.rss / 2 ** 20), gcMs: round(line.gcMs) };
  }
  return undefined;
}

/** Every gateway's heap after a full collection, in replica order (collected at once: each pauses only its own process). */
const heapsAfterGc = () => Promise.all(replicas.map((replica) => heapAfterGc(replica)));

/** Waits (within what is left of the run's budget) until other processes use under 0.15 cores; returns what they used last. */
async function waitForQuiet(): Promise<number> {
  for (let told = false; ; told = true) {
    const sample = foreignCpu(process.pid);
    await sleep(1000);
    const foreign = round(sample.stop(), 2);
    if (foreign < 0.15 || quietBudgetMs <= 0) return foreign;
    if (!told) log(`other jobs use ${foreign} cores; waiting for them (${quietBudgetMs / 1000} s of waiting left)`);
    quietBudgetMs -= 1000;
  }
}

/** Counts in `now` above those in `before`. */
function added(now: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [message, count] of Object.entries(now)) if (count > (before[message] ?? 0)) counts[message] = count - (before[message] ?? 0);
  return counts;
}

/** The reading with the highest `by` (a NaN one first: a reading missing is the worst). */
function worst<T>(readings: T[], by: (reading: T) => number): T {
  return readings.find((reading) => Number.isNaN(by(reading))) ?? readings.reduce((a, b) => (by(b) > by(a) ? b : a));
}

/** Lease keys, whatever REDIS_KEY_PREFIX: `<prefix>v<format>:lease:<caller>:<id>`. */
const LEASE_KEYS = '*:lease:*';
/** The driver's own reads of Redis, left out of its commands/s (the gateways send none of them). */
const DRIVER_COMMANDS = new Set(['info', 'scan', 'pubsub', 'pubsub|channels', 'ping', 'client|setname']);

async function runStep(subscribers: number, baselineHeapMiB: number[]): Promise<StepResult> {
  const otherJobsBeforeStep = await waitForQuiet();
  const executions = Math.ceil(subscribers / SUBSCRIBERS_PER_EXECUTION);
  const callers = Math.max(MIN_CALLERS, Math.ceil(executions / EXECUTIONS_PER_CALLER));
  log(`step ${subscribers} subscribers: ${executions} executions, ${callers} callers${MULTI ? `, over ${REPLICAS} replicas` : ''}`);
  const healthBefore = gatewayHealth.map((health) => ({ ...health.messages }));
  const otherLinesBefore = gatewayHealth.map((health) => ({ ...health.otherLines }));
  const setup: LiveSetup = { executions, callers, changeEveryMs: CHANGE_MS, statusFlipEvery: STATUS_FLIP_EVERY };
  await control('POST', '/live/setup', setup);
  await control('POST', '/live/start');
  const rss = replicas.map((replica) => sampleRss(replica.pid, 200));
  const redisMemory = redis?.sampleUsedMemory();

  // Ramp: subscriber i watches execution i mod E, as its owner, on replica ⌊i / E⌋ mod R (of an execution's subscribers, every R-th on each).
  const replicaOf = (i: number) => Math.floor(i / executions) % REPLICAS;
  const tallies = replicas.map(() => new LiveTally());
  const rampStart = performance.now();
  const bodies = Array.from({ length: executions }, (_, j) => JSON.stringify({ query: LIVE_SUBSCRIPTION, variables: { id: liveExecutionId(j) }, operationName: 'Watch' }));
  const { subscribers: opened, failed } = await openAll(
    (i) => {
      const j = i % executions;
      const r = replicaOf(i);
      const replica = replicas[r]!;
      return new SseSubscriber({ origin: replica.origin, path: replica.path, authorization: `Bearer ${liveToken(liveOwner(j, callers))}`, body: bodies[j]!, execution: j, tally: tallies[r]! });
    },
    subscribers,
    OPEN_CONCURRENCY,
    (done) => log(`  opened ${done} of ${subscribers}`),
  );
  const heldNow = () => sum(tallies.map((tally) => tally.held));
  const rampSeconds = (performance.now() - rampStart) / 1000;
  log(`  ${heldNow()} held, ${failed} failed, in ${round(rampSeconds)} s; settling ${SETTLE_S} s`);
  await sleep(SETTLE_S * 1000);

  // The steady window.
  await control('POST', '/reset-max');
  const stats0 = await control<{ requests: number }>('GET', '/stats');
  const calls0 = await control<Record<string, number>>('GET', '/calls');
  const gauges0 = MULTI ? await Promise.all(replicas.map((replica) => replicaGauges(replica.metricsUrl))) : [];
  const redisCalls0 = redis ? await redis.commandCalls() : {};
  const cpu0 = {
    gateways: replicas.map((replica) => cpuTicks(replica.pid)),
    upstream: cpuTicks(upstreamPid),
    probes: replicas.map((replica) => cpuTicks(replica.probePid)),
    driver: process.cpuUsage(),
    redis: redis?.cpuTicks() ?? 0,
  };
  const foreign = foreignCpu(process.pid);
  const t0 = nowEpochMs();
  const updates0 = tallies.map((tally) => tally.updates);
  driverLag.reset();
  for (const tally of tallies) tally.startRecording();
  log(`  measuring ${WINDOW_S} s`);
  await sleep(WINDOW_S * 1000);
  const t1 = nowEpochMs();
  const stats1 = await control<{ requests: number; maxInFlight: number }>('GET', '/stats');
  const calls1 = await control<Record<string, number>>('GET', '/calls');
  const windowSeconds = (t1 - t0) / 1000;
  const cpuSeconds = (ticks: number) => round(ticks / 100 / windowSeconds, 2);
  const driverCpu = process.cpuUsage(cpu0.driver);
  const gatewayTicks = replicas.map((replica, r) => cpuTicks(replica.pid) - cpu0.gateways[r]!);
  const cpuCores: StepResult['cpuCores'] = {
    gateway: cpuSeconds(sum(gatewayTicks)),
    upstream: cpuSeconds(cpuTicks(upstreamPid) - cpu0.upstream),
    driver: round((driverCpu.user + driverCpu.system) / 1e6 / windowSeconds, 2),
    probe: cpuSeconds(sum(replicas.map((replica, r) => cpuTicks(replica.probePid) - cpu0.probes[r]!))),
    otherJobs: round(foreign.stop(), 2),
  };
  if (redis) cpuCores.redis = cpuSeconds(redis.cpuTicks() - cpu0.redis);
  const updatesPerSecond = round((sum(tallies.map((tally) => tally.updates)) - sum(updates0)) / windowSeconds);
  const driverLagP99Ms = round(driverLag.percentile(99) / 1e6);
  const rssWindowEnd = replicas.map((replica) => rssKb(replica.pid) / 1024);
  const heldPerExecution = replicas.map(() => new Int32Array(executions));
  for (let i = 0; i < opened.length; i++) if (opened[i]?.phase === 'open') heldPerExecution[replicaOf(i)]![i % executions]!++;
  const heldPerReplica = tallies.map((tally) => tally.held);
  const held = sum(heldPerReplica);
  // With replicas: each one's gauges and upstream calls, and what Redis holds, as the window ends.
  let gauges1: ReplicaGauges[] = [];
  let redisWindowEnd: Omit<RedisStepResult, 'usedMemoryMiB' | 'leaseKeys'> & { usedMemoryMiB: number; leaseKeys: number } | undefined;
  if (MULTI) gauges1 = await Promise.all(replicas.map((replica) => replicaGauges(replica.metricsUrl)));
  if (redis) {
    const [memory, clients, commandCalls, channels, leaseKeys] = await Promise.all([
      redis.info('memory'),
      redis.info('clients'),
      redis.commandCalls(),
      redis.client.pubsub('CHANNELS') as Promise<string[]>,
      redis.countKeys(LEASE_KEYS),
    ]);
    const byCommand: Record<string, number> = {};
    for (const [command, calls] of Object.entries(commandCalls)) {
      if (DRIVER_COMMANDS.has(command)) continue;
      const rate = round((calls - (redisCalls0[command] ?? 0)) / windowSeconds);
      if (rate > 0) byCommand[command] = rate;
    }
    redisWindowEnd = {
      cpuCores: cpuCores.redis ?? NaN,
      usedMemoryMiB: round(Number(memory.used_memory ?? NaN) / 2 ** 20, 2),
      rssMiB: round(redis.rssKb() / 1024),
      commandsPerSecond: { total: round(sum(Object.values(byCommand))), byCommand },
      leaseKeys,
      channels: channels.length,
      clients: Number(clients.connected_clients ?? NaN),
    };
  }
  await sleep(GRACE_S * 1000);
  for (const tally of tallies) tally.recording = false;

  // Calls against the ideal: one per watched (caller, execution) pair per poll interval (with replicas: across them all).
  const upstreamCallsPerSecond = round((stats1.requests - stats0.requests) / windowSeconds);
  const idealCallsPerSecond = round((executions * 1000) / POLL_MS);
  const perRates: number[] = [];
  for (let j = 0; j < executions; j++) {
    const id = liveExecutionId(j);
    perRates.push(((calls1[id] ?? 0) - (calls0[id] ?? 0)) / windowSeconds);
  }
  const idealPer = 1000 / POLL_MS;
  const perExecution = {
    min: round(Math.min(...perRates), 2),
    max: round(Math.max(...perRates), 2),
    under: perRates.filter((rate) => rate < idealPer * 0.5).length,
    over: perRates.filter((rate) => rate > idealPer * 1.5).length,
  };

  // Push latency: changes made in the window, each to every subscriber of its execution (on every replica).
  const changeLog = await control<LiveChangeLog>('GET', '/live/changes?from=0');
  const KEY = 1 << 20;
  const inWindow = new Map<number, { changedAt: number; polledAt: number | null; received: number }>();
  const changeToPoll: number[] = [];
  const expectedPerReplica = replicas.map(() => 0);
  for (let index = 0; index < changeLog.seq.length; index++) {
    const changedAt = changeLog.changedAt[index]!;
    if (changedAt < t0 || changedAt > t1) continue;
    const j = changeLog.execution[index]!;
    const polledAt = changeLog.polledAt[index] ?? null;
    inWindow.set(j * KEY + changeLog.seq[index]!, { changedAt, polledAt, received: 0 });
    if (polledAt !== null) changeToPoll.push(polledAt - changedAt);
    for (let r = 0; r < REPLICAS; r++) expectedPerReplica[r]! += heldPerExecution[r]![j]!;
  }
  const expected = sum(expectedPerReplica);
  const pushPerReplica: number[][] = [];
  const pollToClientPerReplica: number[][] = [];
  for (const { received } of tallies) {
    const push: number[] = [];
    const pollToClient: number[] = [];
    for (let index = 0; index < received.seq.length; index++) {
      const change = inWindow.get(received.execution[index]! * KEY + received.seq[index]!);
      if (!change) continue;
      change.received++;
      const at = received.at[index]!;
      push.push(at - change.changedAt);
      if (change.polledAt !== null) pollToClient.push(at - change.polledAt);
    }
    pushPerReplica.push(push);
    pollToClientPerReplica.push(pollToClient);
  }
  const push = pushPerReplica.flat();
  const pollToClient = pollToClientPerReplica.flat();
  const receivedCount = push.length;

  // Lag, inside (preloaded sampler) and outside ({ __typename } response time).
  const inside = replicas.map((replica) => gatewayInside(replica, t0, t1));
  const typenamePerReplica = replicas.map((replica) => {
    const probeWindow = replica.probeSamples.filter((sample) => sample.t >= t0 && sample.t <= t1);
    return { ...percentiles(probeWindow.map((sample) => sample.ms)), errors: probeWindow.filter((sample) => sample.error).length };
  });
  const gatewayLagMs = worst(inside, (each) => each.lagMs.p99).lagMs;
  const gatewayGc = worst(inside, (each) => each.gc.pauseMsPerSecond).gc;
  const typenameMs = worst(typenamePerReplica, (each) => each.p99);

  // Heap retained with every subscriber held (after the window: the full collection pauses the gateway).
  const held_ = await heapsAfterGc();

  // Close everything; the pollers must stop with their last watcher.
  await control('POST', '/live/stop');
  log('  closing every subscription');
  await Promise.all(opened.map((subscriber) => subscriber?.close()));
  const closedAt = performance.now();
  const requestsAtClose = (await control<LiveUpstreamStats>('GET', '/live/stats')).liveRequests;
  let last = requestsAtClose;
  let lastCallSeenAt = closedAt;
  let quietReads = 0;
  // Quiet: no call for 2 s (twice the poll interval of a running execution).
  while (quietReads < 2 && performance.now() - closedAt < 20_000) {
    await sleep(1000);
    const now = (await control<LiveUpstreamStats>('GET', '/live/stats')).liveRequests;
    if (now === last) quietReads++;
    else {
      quietReads = 0;
      lastCallSeenAt = performance.now();
    }
    last = now;
  }
  const afterClose = {
    quietAfterSeconds: quietReads < 2 ? NaN : round((lastCallSeenAt - closedAt) / 1000),
    callsAfterClose: last - requestsAtClose,
  };
  const gaugesAfterClose = MULTI ? await Promise.all(replicas.map((replica) => replicaGauges(replica.metricsUrl))) : [];
  const leaseKeysAfterClose = redis ? await redis.countKeys(LEASE_KEYS) : NaN;
  const usedMemoryAfterClose = redis ? Number((await redis.info('memory')).used_memory ?? NaN) : NaN;
  const usedMemoryMax = redisMemory ? await redisMemory.stop() : NaN;
  const peaks = rss.map((each) => each.stop());
  const closed_ = await heapsAfterGc();
  const heapPerReplica = replicas.map((_, r) => ({
    windowMax: inside[r]!.heapUsedMaxMiB,
    heldAfterGc: held_[r]?.heapUsedMiB ?? NaN,
    closedAfterGc: closed_[r]?.heapUsedMiB ?? NaN,
  }));
  const rssPerReplica = replicas.map((replica, r) => ({ peak: round(peaks[r]!.peakMiB), windowEnd: round(rssWindowEnd[r]!), afterClose: round(rssKb(replica.pid) / 1024) }));
  // One replica: exactly its readings. Replicas: heap summed, RSS of the largest.
  const heapMiB = MULTI
    ? {
        windowMax: round(sum(heapPerReplica.map((each) => each.windowMax))),
        heldAfterGc: round(sum(heapPerReplica.map((each) => each.heldAfterGc))),
        closedAfterGc: round(sum(heapPerReplica.map((each) => each.closedAfterGc))),
        perSubscriberKiB: round((sum(heapPerReplica.map((each, r) => each.heldAfterGc - (baselineHeapMiB[r] ?? NaN))) * 1024) / subscribers, 1),
      }
    : {
        windowMax: inside[0]!.heapUsedMaxMiB,
        heldAfterGc: held_[0]?.heapUsedMiB ?? NaN,
        closedAfterGc: closed_[0]?.heapUsedMiB ?? NaN,
        perSubscriberKiB: held_[0] ? round(((held_[0].heapUsedMiB - baselineHeapMiB[0]!) * 1024) / subscribers, 1) : NaN,
      };
  const rssMiB = {
    peak: Math.max(...rssPerReplica.map((each) => each.peak)),
    windowEnd: Math.max(...rssPerReplica.map((each) => each.windowEnd)),
    afterClose: Math.max(...rssPerReplica.map((each) => each.afterClose)),
  };

  const warningsPerReplica = gatewayHealth.map((health, r) => added(health.messages, healthBefore[r]!));
  const otherLinesPerReplica = gatewayHealth.map((health, r) => added(health.otherLines, otherLinesBefore[r]!));
  const merged = (each: Record<string, number>[]) => {
    const counts: Record<string, number> = {};
    for (const record of each) for (const [message, count] of Object.entries(record)) counts[message] = (counts[message] ?? 0) + count;
    return counts;
  };
  const gatewayWarnings = merged(warningsPerReplica);
  const gatewayOtherLines = merged(otherLinesPerReplica);
  const callsRatio = round(upstreamCallsPerSecond / idealCallsPerSecond, 3);
  const fraction = expected ? receivedCount / expected : 1;
  const fractionPerReplica = replicas.map((_, r) => (expectedPerReplica[r] ? pushPerReplica[r]!.length / expectedPerReplica[r]! : 1));
  const pushLatencyMs = percentiles(push);
  const endedUnexpectedly = sum(tallies.map((tally) => tally.endedUnexpectedly));
  const gaps = sum(tallies.map((tally) => tally.gaps));
  const duplicates = sum(tallies.map((tally) => tally.duplicates));
  const errors = merged(tallies.map((tally) => tally.errors));
  const everyReplica = MULTI ? ', on every replica' : '';
  const checks: Record<string, boolean> = {
    [`every subscriber held`]: held === subscribers && failed === 0 && endedUnexpectedly === 0,
    [MULTI ? `upstream calls within ${TARGET.callsOffBy * 100} % of the one-poller ideal, across replicas` : `upstream calls within ${TARGET.callsOffBy * 100} % of the ideal`]:
      Math.abs(callsRatio - 1) <= TARGET.callsOffBy,
    [`event-loop lag p99 < ${TARGET.lagP99Ms} ms${everyReplica}`]: gatewayLagMs.p99 < TARGET.lagP99Ms,
    [RSS_CHECK + everyReplica]: rssMiB.peak < TARGET.rssMiB,
    [`every change delivered to every subscriber${everyReplica}`]: tallies.every((tally, r) => fractionPerReplica[r]! >= 0.999 && tally.gaps === 0 && tally.duplicates === 0),
    [`push p99 <= ${MAX_P99_MS} ms`]: pushLatencyMs.p99 <= MAX_P99_MS,
    [MULTI ? 'every gateway alive, no crash' : 'gateway alive, no crash']: !anyExited() && crashes() === 0,
    ['pollers stop when their watchers leave']: Number.isFinite(afterClose.quietAfterSeconds),
  };
  const firstUpdates = tallies.flatMap((tally) => tally.firstUpdateMs);
  const result: StepResult = {
    subscribers,
    executions,
    callers,
    held,
    failedToOpen: failed,
    rampSeconds: round(rampSeconds),
    firstUpdateMs: percentiles(firstUpdates),
    windowSeconds: round(windowSeconds),
    upstreamCallsPerSecond,
    idealCallsPerSecond,
    callsRatio,
    perExecution,
    upstreamMaxInFlight: stats1.maxInFlight,
    pushLatencyMs,
    changeToPollMs: percentiles(changeToPoll),
    pollToClientMs: percentiles(pollToClient),
    changesInWindow: inWindow.size,
    deliveries: { expected, received: receivedCount, fraction: round(fraction, 4) },
    updatesPerSecond,
    gaps,
    duplicates,
    endedUnexpectedly,
    errors,
    gatewayLagMs,
    gatewayGc,
    heapMiB,
    otherJobsBeforeStep,
    typenameMs,
    driverLagP99Ms,
    rssMiB,
    cpuCores,
    afterClose,
    gatewayWarnings,
    gatewayOtherLines,
    checks,
    limitsMissed: Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name),
    serviceLimitsMissed: Object.entries(checks)
      .filter(([name, ok]) => !ok && !name.startsWith(RSS_CHECK))
      .map(([name]) => name),
  };
  if (MULTI) {
    result.replicas = replicas.map((replica, r) => {
      const tally = tallies[r]!;
      const { upstreamAttempts, ...atWindowEnd } = gauges1[r]!;
      const after = gaugesAfterClose[r]!;
      return {
        name: replica.name,
        subscribers: opened.filter((_, i) => replicaOf(i) === r).length,
        held: heldPerReplica[r]!,
        deliveries: { expected: expectedPerReplica[r]!, received: pushPerReplica[r]!.length, fraction: round(fractionPerReplica[r]!, 4) },
        gaps: tally.gaps,
        duplicates: tally.duplicates,
        endedUnexpectedly: tally.endedUnexpectedly,
        errors: tally.errors,
        updatesPerSecond: round((tally.updates - updates0[r]!) / windowSeconds),
        pushLatencyMs: percentiles(pushPerReplica[r]!),
        pollToClientMs: percentiles(pollToClientPerReplica[r]!),
        gatewayLagMs: inside[r]!.lagMs,
        gatewayGc: inside[r]!.gc,
        heapMiB: heapPerReplica[r]!,
        typenameMs: typenamePerReplica[r]!,
        rssMiB: rssPerReplica[r]!,
        cpuCores: cpuSeconds(gatewayTicks[r]!),
        atWindowEnd,
        upstreamCallsPerSecond: round((upstreamAttempts - gauges0[r]!.upstreamAttempts) / windowSeconds),
        afterClose: { leasesHeld: after.leasesHeld, pollers: after.pollers, subscriptions: after.subscriptions },
        gatewayWarnings: warningsPerReplica[r]!,
        gatewayOtherLines: otherLinesPerReplica[r]!,
      };
    });
  }
  if (redisWindowEnd) {
    result.redis = {
      ...redisWindowEnd,
      usedMemoryMiB: { windowEnd: redisWindowEnd.usedMemoryMiB, stepMax: round(usedMemoryMax / 2 ** 20, 2), afterClose: round(usedMemoryAfterClose / 2 ** 20, 2) },
      leaseKeys: { windowEnd: redisWindowEnd.leaseKeys, afterClose: leaseKeysAfterClose },
    };
  }
  log(
    `  held ${held}/${subscribers}; calls ${upstreamCallsPerSecond}/s (ideal ${idealCallsPerSecond}, ×${callsRatio}); push p50/p99 ${pushLatencyMs.p50}/${pushLatencyMs.p99} ms; ` +
      `lag p99 ${gatewayLagMs.p99} ms; RSS peak ${rssMiB.peak} MiB; gateway ${cpuCores.gateway} cores` +
      (result.replicas
        ? `; by replica: ${result.replicas.map((each) => `${each.name} leases ${fmt(each.atWindowEnd.leasesHeld)}, ${fmt(each.upstreamCallsPerSecond)} calls/s, ${each.cpuCores} cores, lag p99 ${each.gatewayLagMs.p99} ms`).join('; ')}`
        : '') +
      (result.redis ? `; redis ${result.redis.cpuCores} cores, ${result.redis.usedMemoryMiB.windowEnd} MiB used, ${result.redis.commandsPerSecond.total} commands/s` : '') +
      (result.limitsMissed.length ? `; missed: ${result.limitsMissed.join(', ')}` : ''),
  );
  return result;
}

// ---------------------------------------------------------------------------
// The ramp

const results: StepResult[] = [];
let stoppedBecause = 'every step ran';
const began = performance.now();
let baselineHeaps: HeapAfterGc[] = [];
try {
  await sleep(1000);
  baselineHeaps = await heapsAfterGc();
  for (const [r, baselineHeap] of baselineHeaps.entries()) {
    log(`${MULTI ? `gateway ${replicas[r]!.name}` : 'gateway'} heap after a full collection, no subscribers: ${baselineHeap?.heapUsedMiB} MiB (RSS ${baselineHeap?.rssMiB} MiB)`);
  }
  const baselineHeapMiB = baselineHeaps.map((each) => each?.heapUsedMiB ?? NaN);
  for (const subscribers of STEPS) {
    if (subscribers + 500 > FD_LIMIT) {
      stoppedBecause = `${subscribers} subscribers need more open files than this machine allows a process (ulimit -n ${FD_LIMIT}): one socket per subscription at each end`;
      break;
    }
    let result = await runStep(subscribers, baselineHeapMiB);
    results.push(result);
    if (result.serviceLimitsMissed.length && result.cpuCores.otherJobs >= CONTENDED_CORES && !anyExited() && !crashes()) {
      // Other work on the machine took the cores: measure this step once more before calling it a limit.
      result.contended = true;
      log(`  other jobs used ${result.cpuCores.otherJobs} cores during the window: running this step again`);
      result = await runStep(subscribers, baselineHeapMiB);
      results.push(result);
    }
    if (anyExited() || crashes()) {
      const which = MULTI ? `gateway ${replicas.filter((replica) => replica.health.exited || replica.health.crashes).map((replica) => replica.name).join(', ')}` : 'the gateway';
      stoppedBecause = `${which} ${anyExited() ? `exited (${anyExited()})` : 'crashed'}`;
      break;
    }
    if (result.serviceLimitsMissed.length && !KEEP_GOING) {
      stoppedBecause = `at ${fmt(subscribers)} subscribers: ${result.serviceLimitsMissed.join('; ')}`;
      break;
    }
  }
} finally {
  stopping = true;
  driverLag.disable();
  await Promise.all([...replicas.flatMap((replica) => [replica.probe.stop(), replica.gateway.stop()]), upstream.stop()]);
  // After the gateways: they would only log Redis leaving.
  await redis?.stop();
}

// ---------------------------------------------------------------------------
// Report

const cpu = os.cpus();
const machine = {
  cpus: cpu.length,
  model: cpu[0]?.model ?? 'unknown',
  memoryGiB: round(os.totalmem() / 2 ** 30),
  node: process.version,
  openFilesLimit: FD_LIMIT,
};
const settings = {
  pollActiveMs: POLL_MS,
  pollJitterPercent: 20,
  changeEveryMs: CHANGE_MS,
  subscribersPerExecution: SUBSCRIBERS_PER_EXECUTION,
  executionsPerCaller: EXECUTIONS_PER_CALLER,
  minCallers: MIN_CALLERS,
  windowSeconds: WINDOW_S,
  settleSeconds: SETTLE_S,
  statusFlipEvery: STATUS_FLIP_EVERY,
  gatewayEnv: Object.fromEntries(Object.entries(GATEWAY_ENV).filter(([key]) => key !== 'LOOP_LAG_FILE')),
  ...(MULTI
    ? {
        replicas: REPLICAS,
        subscribersPerExecutionPerReplica: SUBSCRIBERS_PER_EXECUTION / REPLICAS,
        // REDIS_KEY_SECRET: random per run, not recorded.
        replicaEnv: { REDIS_URL: redis?.url, LIVE_LEASE_MS: LEASE_MS, METRICS_PORT: '0' },
        redisServer: { version: redisVersion, args: "--bind 127.0.0.1 --save '' --appendonly no" },
      }
    : {}),
};
const furthest = results.filter((result) => result.limitsMissed.length === 0).at(-1);
const furthestService = results.filter((result) => result.serviceLimitsMissed.length === 0).at(-1);
const target = results.filter((result) => result.subscribers === TARGET.subscribers).at(-1);

const pair = (a: number, b: number) => `${fmt(a)} / ${fmt(b)}`;
const lines: string[] = [];
if (MULTI) {
  lines.push(`## Live subscriptions (SSE), \`npm run bench:live\`: ${REPLICAS} replicas on Redis (LIVE_BENCH_REPLICAS=${REPLICAS})`, '');
  lines.push(
    `${machine.cpus} × ${machine.model}, ${machine.memoryGiB} GiB, Node ${machine.node}; fake upstream, redis-server ${redisVersion ?? ''} (loopback, no persistence), ` +
      `${REPLICAS} gateways (each WORKERS=1, NODE_ENV=production, the same REDIS_URL and REDIS_KEY_SECRET, LIVE_LEASE_MS ${LEASE_MS}), ` +
      `a \`{ __typename }\` prober per gateway and the driver share the ${machine.cpus} cores, loopback only. Poll interval ${POLL_MS} ms (±20 %), each execution changes every ${CHANGE_MS} ms ` +
      `at its own phase (one event appended; every ${STATUS_FLIP_EVERY}th change also flips the status); ${SUBSCRIBERS_PER_EXECUTION} subscribers per execution, ` +
      `all of its owner, ${SUBSCRIBERS_PER_EXECUTION / REPLICAS} on each replica, so every (caller, execution) pair is watched on every replica; ${WINDOW_S} s window after ${SETTLE_S} s of settling. ` +
      `The ideal is one upstream call per pair per poll interval across the replicas (one lease holder polls and publishes; the others apply its deltas). ` +
      `In this table gateway CPU is summed over the replicas, loop lag and \`{ __typename }\` are the worst replica's, RSS the largest replica's, live heap the sum; per replica below.`,
    '',
  );
  lines.push(
    '| subscribers | executions (pairs) | callers | held | upstream calls/s, all replicas (one-poller ideal) | ratio | push p50 / p99 (ms) | poll → client p50 / p99 (ms) | delivered | loop lag p99 (ms), worst replica | `{ __typename }` p50 / p99 (ms), worst replica | RSS peak (MiB), largest replica | live heap (MiB, sum; KiB / subscriber) | CPU gateways (sum) / redis / upstream / driver / other jobs (cores) | limits missed |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
} else {
  lines.push('## Live subscriptions (SSE), `npm run bench:live`: one replica (LIVE_BENCH_REPLICAS=1)', '');
  lines.push(
    `${machine.cpus} × ${machine.model}, ${machine.memoryGiB} GiB, Node ${machine.node}; fake upstream, gateway (WORKERS=1, NODE_ENV=production), ` +
      `\`{ __typename }\` prober and driver share the ${machine.cpus} cores, loopback only. Poll interval ${POLL_MS} ms (±20 %), each execution changes every ${CHANGE_MS} ms ` +
      `at its own phase (one event appended; every ${STATUS_FLIP_EVERY}th change also flips the status); ${SUBSCRIBERS_PER_EXECUTION} subscribers per execution, ` +
      `all of its owner; ${WINDOW_S} s window after ${SETTLE_S} s of settling.`,
    '',
  );
  lines.push(
    '| subscribers | executions (pairs) | callers | held | upstream calls/s (ideal) | ratio | push p50 / p99 (ms) | poll → client p50 / p99 (ms) | delivered | loop lag p99 (ms) | `{ __typename }` p50 / p99 (ms) | RSS peak (MiB) | live heap (MiB; KiB / subscriber) | CPU gateway / upstream / driver / other jobs (cores) | limits missed |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  );
}
for (const r of results) {
  const cores = MULTI
    ? `${r.cpuCores.gateway} / ${r.cpuCores.redis ?? '–'} / ${r.cpuCores.upstream} / ${r.cpuCores.driver} / ${r.cpuCores.otherJobs}`
    : `${r.cpuCores.gateway} / ${r.cpuCores.upstream} / ${r.cpuCores.driver} / ${r.cpuCores.otherJobs}`;
  lines.push(
    `| ${fmt(r.subscribers)} | ${fmt(r.executions)} | ${r.callers} | ${fmt(r.held)} | ${fmt(r.upstreamCallsPerSecond)} (${fmt(r.idealCallsPerSecond)}) | ${r.callsRatio.toFixed(3)} | ` +
      `${pair(r.pushLatencyMs.p50, r.pushLatencyMs.p99)} | ${pair(r.pollToClientMs.p50, r.pollToClientMs.p99)} | ${(r.deliveries.fraction * 100).toFixed(2)} % | ` +
      `${fmt(r.gatewayLagMs.p99)} | ${pair(r.typenameMs.p50, r.typenameMs.p99)} | ${fmt(r.rssMiB.peak)} | ${fmt(r.heapMiB.heldAfterGc)}; ${fmt(r.heapMiB.perSubscriberKiB)} | ` +
      `${cores} | ${r.limitsMissed.join('; ') || 'none'}${r.contended ? ' (other jobs on the machine: run again, next row)' : ''} |`,
  );
}
lines.push('');
if (MULTI) {
  lines.push('Per replica (leases, pollers: its `/metrics` at the window\'s end; upstream calls/s: its `gateway_upstream_attempts_total` over the window):', '');
  lines.push(
    '| subscribers | replica | held | leases held | pollers | upstream calls/s | delivered (received / expected) | gaps / duplicates | push p50 / p99 (ms) | poll → client p50 / p99 (ms) | loop lag p50 / p99 / max (ms) | `{ __typename }` p50 / p99 (ms) | GC (ms/s; longest ms) | RSS peak / window end / after close (MiB) | live heap held / closed (MiB) | CPU (cores) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    for (const each of r.replicas ?? []) {
      lines.push(
        `| ${fmt(r.subscribers)} | ${each.name} | ${pair(each.held, each.subscribers)} | ${fmt(each.atWindowEnd.leasesHeld)} | ${fmt(each.atWindowEnd.pollers)} | ${fmt(each.upstreamCallsPerSecond)} | ` +
          `${(each.deliveries.fraction * 100).toFixed(2)} % (${pair(each.deliveries.received, each.deliveries.expected)}) | ${each.gaps} / ${each.duplicates} | ` +
          `${pair(each.pushLatencyMs.p50, each.pushLatencyMs.p99)} | ${pair(each.pollToClientMs.p50, each.pollToClientMs.p99)} | ` +
          `${fmt(each.gatewayLagMs.p50)} / ${fmt(each.gatewayLagMs.p99)} / ${fmt(each.gatewayLagMs.max)} | ${pair(each.typenameMs.p50, each.typenameMs.p99)} | ` +
          `${each.gatewayGc.pauseMsPerSecond}; ${each.gatewayGc.maxPauseMs} | ${fmt(each.rssMiB.peak)} / ${fmt(each.rssMiB.windowEnd)} / ${fmt(each.rssMiB.afterClose)} | ` +
          `${fmt(each.heapMiB.heldAfterGc)} / ${fmt(each.heapMiB.closedAfterGc)} | ${each.cpuCores} |`,
      );
    }
  }
  lines.push('');
  lines.push('Redis (its own CPU from /proc; memory from INFO memory; commands from INFO commandstats over the window, without the driver\'s own INFO/SCAN/PUBSUB reads, the GET/SET/PEXPIRE inside the lease script\'s EVAL counted again on their own; lease keys by SCAN, after closing once upstream calls stopped):', '');
  lines.push(
    '| subscribers | CPU (cores) | used_memory window end / step max / after close (MiB) | RSS (MiB) | commands/s (by command) | lease keys: window end (pairs) / after close | channels | clients |',
    '|---:|---:|---:|---:|---|---:|---:|---:|',
  );
  for (const r of results) {
    const each = r.redis;
    if (!each) continue;
    const byCommand = Object.entries(each.commandsPerSecond.byCommand)
      .sort(([, a], [, b]) => b - a)
      .map(([command, rate]) => `${command} ${fmt(rate)}`)
      .join(', ');
    lines.push(
      `| ${fmt(r.subscribers)} | ${each.cpuCores} | ${fmt(each.usedMemoryMiB.windowEnd)} / ${fmt(each.usedMemoryMiB.stepMax)} / ${fmt(each.usedMemoryMiB.afterClose)} | ${fmt(each.rssMiB)} | ` +
        `${fmt(each.commandsPerSecond.total)} (${byCommand || '–'}) | ${fmt(each.leaseKeys.windowEnd)} (${fmt(r.executions)}) / ${fmt(each.leaseKeys.afterClose)} | ${fmt(each.channels)} | ${fmt(each.clients)} |`,
    );
  }
  lines.push('');
}
lines.push(
  target
    ? `Target (${fmt(TARGET.subscribers)} subscribers, 200 executions, 20 callers; calls within ${TARGET.callsOffBy * 100} % of the ideal, loop lag p99 < ${TARGET.lagP99Ms} ms, RSS < ${TARGET.rssMiB} MiB): ` +
        (target.limitsMissed.length ? `**missed** (${target.limitsMissed.join('; ')}).` : '**met**.')
    : 'Target step not run.',
);
lines.push(
  (furthest
    ? `Furthest step within every limit: ${fmt(furthest.subscribers)} subscribers over ${fmt(furthest.executions)} executions (${round(furthest.subscribers / TARGET.subscribers, 1)} × the target). `
    : 'No step stayed within every limit. ') +
    (furthestService && furthestService !== furthest
      ? `Leaving RSS aside: ${fmt(furthestService.subscribers)} subscribers over ${fmt(furthestService.executions)} executions (${round(furthestService.subscribers / TARGET.subscribers, 1)} × the target). `
      : '') +
    `Stopped: ${stoppedBecause}.`,
);
lines.push('');
if (MULTI) {
  lines.push(
    `Gateway heap after a full collection before the first step: ${replicas.map((replica, r) => `${replica.name} ${baselineHeaps[r]?.heapUsedMiB ?? '–'} MiB (RSS ${baselineHeaps[r]?.rssMiB ?? '–'} MiB)`).join(', ')}.`,
    '',
  );
} else {
  const baselineHeap = baselineHeaps[0];
  lines.push(`Gateway heap after a full collection before the first step: ${baselineHeap?.heapUsedMiB ?? '–'} MiB (RSS ${baselineHeap?.rssMiB ?? '–'} MiB).`, '');
}
lines.push('Per step, details:', '');
for (const r of results) {
  lines.push(
    `- **${fmt(r.subscribers)}**: opened in ${r.rampSeconds} s (first update p50 / p99 ${pair(r.firstUpdateMs.p50, r.firstUpdateMs.p99)} ms, ${r.failedToOpen} failed); ` +
      `${fmt(r.updatesPerSecond)} updates/s received; ${fmt(r.changesInWindow)} changes in the window, ${fmt(r.deliveries.received)} of ${fmt(r.deliveries.expected)} deliveries, ` +
      `${r.gaps} gaps, ${r.duplicates} duplicates, ${r.endedUnexpectedly} streams ended early; change → poll p50 / p99 ${pair(r.changeToPollMs.p50, r.changeToPollMs.p99)} ms; ` +
      `per-execution calls/s ${r.perExecution.min}–${r.perExecution.max} (${r.perExecution.under} under half, ${r.perExecution.over} over 1.5 × the ideal), at most ${r.upstreamMaxInFlight} in flight; ` +
      `RSS at the window's end ${fmt(r.rssMiB.windowEnd)} MiB, after closing ${fmt(r.rssMiB.afterClose)} MiB; ` +
      `loop lag p50 / max ${pair(r.gatewayLagMs.p50, r.gatewayLagMs.max)} ms; GC ${r.gatewayGc.pauseMsPerSecond} ms/s (major ${r.gatewayGc.majorMsPerSecond} ms/s, longest pause ${r.gatewayGc.maxPauseMs} ms); ` +
      `heap used ≤ ${r.heapMiB.windowMax} MiB in the window, ${r.heapMiB.heldAfterGc} MiB after a full collection with every subscriber held (${r.heapMiB.perSubscriberKiB} KiB per subscriber over the idle heap), ${r.heapMiB.closedAfterGc} MiB once all closed; ` +
      `driver loop lag p99 ${r.driverLagP99Ms} ms; prober ${r.cpuCores.probe} cores, other jobs ${r.otherJobsBeforeStep} cores before the step and ${r.cpuCores.otherJobs} during the window; ` +
      `after closing: ${r.afterClose.callsAfterClose} upstream calls, ${Number.isFinite(r.afterClose.quietAfterSeconds) ? `the last within ${r.afterClose.quietAfterSeconds} s` : '**still polling after 20 s**'}` +
      (r.replicas
        ? `; after closing, leases held / pollers / subscriptions: ${r.replicas.map((each) => `${each.name} ${fmt(each.afterClose.leasesHeld)} / ${fmt(each.afterClose.pollers)} / ${fmt(each.afterClose.subscriptions)}`).join(', ')}` +
          `; Redis reachable (gateway_redis_up) at the window's end: ${r.replicas.map((each) => `${each.name} ${fmt(each.atWindowEnd.redisUp)}`).join(', ')}`
        : '') +
      (Object.keys(r.errors).length ? `; errors: ${JSON.stringify(r.errors)}` : '') +
      (r.replicas
        ? r.replicas
            .filter((each) => Object.keys(each.gatewayWarnings).length || Object.keys(each.gatewayOtherLines).length)
            .map((each) => `; gateway ${each.name} warnings: ${JSON.stringify(each.gatewayWarnings)}, other log lines: ${JSON.stringify(each.gatewayOtherLines)}`)
            .join('')
        : (Object.keys(r.gatewayWarnings).length ? `; gateway warnings: ${JSON.stringify(r.gatewayWarnings)}` : '') +
          (Object.keys(r.gatewayOtherLines).length ? `; other gateway log lines: ${JSON.stringify(r.gatewayOtherLines)}` : '')) +
      '.',
  );
}
lines.push('');
lines.push(
  'Push latency runs from the change upstream to its receipt by the client, so it includes up to one poll interval of waiting ' +
    '(change → poll is that wait; poll → client is the gateway\'s share: upstream answer, diff, one GraphQL execution per subscriber, SSE write, the driver\'s read). ' +
    'Loop lag is the gateway\'s own, from a 10 ms timer preloaded into its process (bench/lib/loop-lag-preload.mjs; nothing in src/); ' +
    '`{ __typename }` is the response time of a query sent every 100 ms from a separate process, the same lag seen from outside plus a loopback round trip (and any wait of the prober for a core). ' +
    'Live heap is `heapUsed` after a full collection with every subscriber held; per subscriber, over the idle heap, it includes the shared pollers\' last reading (one per 10 subscribers). ' +
    '"Other jobs" is CPU the machine spent outside these processes during the window (other work on the machine; loopback softirq counts there too).',
);
if (MULTI) {
  lines.push(
    '',
    'With replicas: "poll → client" on the lease holder is its own poll to its clients; on the others it adds the Redis hop (publish, delivery, applying the delta). ' +
      'Upstream calls/s well above the one-poller ideal with per-execution rates near R × the ideal would mean each replica polls for itself (duplicate pollers: leases not shared); ' +
      'the per-replica upstream calls/s and leases held say which replica polls (a replica calling upstream more than it holds leases reads for itself: no reading yet, a gap in the deltas, or a lease check that failed or timed out, REDIS_COMMAND_TIMEOUT_MS). ' +
      'After closing, every replica should hold no lease and Redis keep no lease key; leases held with no poller left is the gauge drifting, lease keys left over expire within LIVE_LEASE_MS.',
  );
}
for (const replica of replicas) {
  const { health } = replica;
  const who = MULTI ? `Gateway ${replica.name}` : 'Gateway';
  if (health.exited || health.crashes || health.stderr.length) lines.push('', `${who}: exited ${health.exited ?? 'no'}, crashes ${health.crashes}; stderr: ${health.stderr.join(' | ')}`);
}
process.stdout.write(`${lines.join('\n')}\n`);

const resultsDir = new URL('./results/', import.meta.url);
mkdirSync(resultsDir, { recursive: true });
const seconds = round((performance.now() - began) / 1000);
writeFileSync(
  new URL(RESULTS_FILE, resultsDir),
  `${JSON.stringify(
    MULTI
      ? {
          mode: MODE,
          replicas: REPLICAS,
          date: new Date().toISOString(),
          seconds,
          machine,
          settings,
          target: TARGET,
          stoppedBecause,
          idleHeapAfterGc: baselineHeaps,
          steps: results,
          gateways: replicas.map((replica) => ({ name: replica.name, ...replica.health })),
          redis: { version: redisVersion, output: redis?.output.trim().split('\n').slice(-20) ?? [] },
        }
      : { mode: MODE, replicas: REPLICAS, date: new Date().toISOString(), seconds, machine, settings, target: TARGET, stoppedBecause, idleHeapAfterGc: baselineHeaps[0], steps: results, gateway: gatewayHealth[0] },
    null,
    2,
  )}\n`,
);
log(`wrote bench/results/${RESULTS_FILE} (${round((performance.now() - began) / 1000)} s)`);
process.exit(0);
