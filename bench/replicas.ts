/**
 * Two replicas against one (`npm run bench:replicas`): what a second gateway
 * process gives, without and with the cache shared through Redis (REDIS_URL),
 * for S1 (status poll of running executions), S2 (execution page) and S6
 * (repeated polls of one finished execution) of bench/lib/scenarios.ts.
 *
 * Processes: the fake upstream (bench/upstream-server.ts, the scenarios' data),
 * one `redis-server` on a free loopback port with persistence off, the gateways
 * (each `WORKERS=1`, NODE_ENV=production, LOG_LEVEL=warn, `/metrics` on its own
 * free port; the access log as deployed, ACCESS_LOG=all unless set), and this
 * driver, which runs autocannon (bench/lib/load.ts) in its own process and
 * measures. Per scenario, in BENCH_REPEAT rounds of three cells:
 *   (a) one gateway, no Redis, one driver with all the connections: the
 *       single-process figure;
 *   (b) two gateways without Redis, two drivers at once (one per gateway, half
 *       the connections each): what replicas give today;
 *   (c) two gateways with the same REDIS_URL and REDIS_KEY_SECRET, loaded as (b).
 * Every cell starts fresh gateways (caches cold) after a FLUSHALL. A cell: wait
 * until the gateways serve `/metrics` (and, in (c), say `gateway_redis_up 1`),
 * a correctness probe (one request to A, then one to B, or to A again in (a),
 * counting the upstream calls of each), a warm-up of each gateway in turn with
 * all the connections (so that each process is as warm as (a)'s), a wait until
 * every process is idle, the measured run, then sequential requests to A alone.
 *
 * Reported per cell (medians over the rounds): requests/s (the drivers' sum)
 * with its spread; latency p50/p99; upstream calls (the fake upstream's own
 * counter, and per request by x-request-id, as bench/run.ts counts them)
 * against the ideal; cache hit rate and Redis GETs per request from the
 * gateways' own counters (/metrics, deltas over the measured run); CPU of each
 * process, and the gateways' CPU per request; the Redis round trip, as (c) − (b) at p50 under load and for one
 * request alone, next to the raw GET round trip from this driver. Ratios:
 * (b) ÷ (a), (c) ÷ (a), (c) ÷ (b); target: S6 (c) ÷ (a) ≥ 0.8.
 *
 *   npm run bench:replicas
 *   BENCH_SECONDS=2 BENCH_WARMUP_SECONDS=1 BENCH_REPEAT=1 npm run bench:replicas     a quick trial
 * Knobs: BENCH_SECONDS (8), BENCH_WARMUP_SECONDS (20, as every bench: ./lib/load.ts), BENCH_CONNECTIONS (16, split
 * over the two drivers), BENCH_REPEAT (3), BENCH_SCENARIOS (S1,S2,S6), BENCH_SEQUENTIAL
 * (200 sequential requests per cell). Gateway settings in the environment
 * (TERMINAL_CACHE_TTL_MS, REDIS_COMMAND_TIMEOUT_MS, …) reach every gateway;
 * REDIS_URL and REDIS_KEY_SECRET are this run's own.
 *
 * Output: a Markdown report on stdout (progress on stderr) and
 * bench/results/replicas.json (rewritten after every cell). Ctrl-C, SIGTERM or
 * an error stop every process the run started.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { request } from 'undici';
import { runLoad, WARMUP_SECONDS, warmUp, type LoadResult } from './lib/load.js';
import { sampleLatency, summarize, type LatencySummary } from './lib/measure.js';
import { cpuTicks, FOREIGN_CPU_WARNING, foreignCpu, waitIdle } from './lib/procfs.js';
import { freePort } from './lib/ports.js';
import { gatewayEntry, root, startGatewayProbed, startUpstream, type Started } from './lib/processes.js';
import { BenchRedis } from './lib/redis-server.js';
import { headersFor, headersOf, requestFor, scenarios, TERMINAL_ID, upstreamData, verifierFor, type Scenario } from './lib/scenarios.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const REPEAT = Number(process.env.BENCH_REPEAT || 3);
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 200);
const ONLY = (process.env.BENCH_SCENARIOS || 'S1,S2,S6').split(',').map((key) => key.trim().toUpperCase());
/** The issue's target: S6 across two replicas sharing Redis at least this share of one process. */
const TARGET = 0.8;
/** Mirrors the gateway's default, for the scenarios' descriptions only. */
const CONCURRENCY_PER_REQUEST = Number(process.env.UPSTREAM_CONCURRENCY_PER_REQUEST || 20);
/** The gateway's default; the ideal number of upstream calls for finished executions is one per pair per this window. */
const TERMINAL_TTL_MS = Number(process.env.TERMINAL_CACHE_TTL_MS || 60_000);
/** Same on both replicas, as deployed; random per run, since nothing outlives the run. */
const KEY_SECRET = randomBytes(24).toString('base64url');
/** One driver process near a full core may be what limits req/s, not the gateways. */
const DRIVER_CPU_WARNING = 0.9;
const PASSTHROUGH = ['ACCESS_LOG', 'TERMINAL_CACHE_TTL_MS', 'ACTIVE_CACHE_TTL_MS', 'CACHE_MAX_BYTES', 'UPSTREAM_EXTENSIONS', 'REDIS_COMMAND_TIMEOUT_MS', 'REDIS_CACHE_MAX_VALUE_BYTES'];

const resultsUrl = new URL('./results/replicas.json', import.meta.url);
const log = (message: string) => process.stderr.write(`[replicas] ${message}\n`);
const fail = (message: string): never => {
  process.stderr.write(`bench:replicas: ${message}\n`);
  process.exit(1);
};

for (const [name, value] of [
  ['BENCH_SECONDS', SECONDS],
  ['BENCH_WARMUP_SECONDS', WARMUP_SECONDS],
] as const) {
  if (!Number.isFinite(value) || value <= 0) fail(`${name} must be a positive number`);
}
for (const [name, value, least] of [
  ['BENCH_CONNECTIONS', CONNECTIONS, 2],
  ['BENCH_REPEAT', REPEAT, 1],
  ['BENCH_SEQUENTIAL', SEQUENTIAL, 0],
] as const) {
  if (!Number.isInteger(value) || value < least) fail(`${name} must be a whole number of at least ${least}`);
}
const ALL_SCENARIOS = scenarios(CONNECTIONS, CONCURRENCY_PER_REQUEST);
const unknown = ONLY.filter((key) => !ALL_SCENARIOS.some((scenario) => scenario.key === key));
if (unknown.length) fail(`unknown scenario ${unknown.join(', ')} in BENCH_SCENARIOS; known: ${ALL_SCENARIOS.map((scenario) => scenario.key).join(', ')}`);
const selected = ALL_SCENARIOS.filter((scenario) => ONLY.includes(scenario.key));

/**
 * Distinct (caller, execution) pairs when every request of the scenario names
 * the finished execution (S6), else undefined: only there is the ideal "one
 * upstream call per pair across all replicas" (running executions are not cached).
 */
function finishedPairs(scenario: Scenario): number | undefined {
  const pairs = new Set<string>();
  for (let i = 0; i < 1024; i++) {
    if (scenario.gateway(i).variables.id !== TERMINAL_ID) return undefined;
    pairs.add(scenario.authorization?.(i) ?? 'demo');
  }
  return pairs.size;
}

// ---------------------------------------------------------------------------
// Configurations

type ConfigKey = 'a' | 'b' | 'c';
interface Config {
  key: ConfigKey;
  label: string;
  gateways: 1 | 2;
  redis: boolean;
}
const CONFIGS: Config[] = [
  { key: 'a', label: '(a) 1 gateway', gateways: 1, redis: false },
  { key: 'b', label: '(b) 2 gateways, no Redis', gateways: 2, redis: false },
  { key: 'c', label: '(c) 2 gateways + Redis', gateways: 2, redis: true },
];
const configOf = (key: ConfigKey) => CONFIGS.find((config) => config.key === key)!;

// ---------------------------------------------------------------------------
// Everything this run starts, so that an error or a signal stops it all

let upstream: (Started & { url: string; control: string }) | undefined;
let redis: BenchRedis | undefined;
const liveGateways = new Set<Gateway>();

async function stopRedis(): Promise<void> {
  await redis?.stop();
  redis = undefined;
}

async function stopEverything(): Promise<void> {
  await Promise.allSettled([...liveGateways].map((gateway) => gateway.stop()));
  await Promise.allSettled([upstream?.stop(), stopRedis()]);
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal: at once (the 'exit' handlers still SIGKILL every child).
    if (interrupted) process.exit(130);
    interrupted = true;
    log(`${signal}: stopping every process this run started (results so far are in bench/results/replicas.json)…`);
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

// ---------------------------------------------------------------------------
// Redis

/** GET of a key that is not there, one at a time: what every local miss of S1/S2 pays in (c), without the gateway around it. */
async function redisRoundTrip(samples = 1000): Promise<LatencySummary> {
  const key = 'execution-gateway:bench:absent';
  for (let i = 0; i < 100; i++) await redis!.client.get(key);
  const durations: number[] = [];
  for (let i = 0; i < samples; i++) {
    const began = performance.now();
    await redis!.client.get(key);
    durations.push(performance.now() - began);
  }
  return summarize(durations);
}

// ---------------------------------------------------------------------------
// Fake upstream's control port (bench/upstream-server.ts)

interface UpstreamStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
}
async function control<T>(method: 'GET' | 'POST', path: string): Promise<T> {
  const response = await request(`${upstream!.control}${path}`, { method });
  return (await response.body.json()) as T;
}
const stats = () => control<UpstreamStats>('GET', '/stats');

// ---------------------------------------------------------------------------
// Gateways

/** Where the current cell is, to tell a warning at start-up (e.g. a first Redis connect that timed out) from one under load. */
type Phase = 'start' | 'probe' | 'warm-up' | 'measured' | 'sequential' | 'stop';
let phase: Phase = 'start';

interface Health {
  /** Log lines at warn and above, by "message [phase]". */
  messages: Record<string, number>;
  /** Set when the process ended before we stopped it. */
  exited?: string;
}

interface Gateway {
  name: 'A' | 'B';
  origin: string;
  pid: number;
  metricsUrl: string;
  health: Health;
  stop(): Promise<void>;
}

async function startGateway(name: Gateway['name'], redisUrl: string | undefined): Promise<Gateway> {
  // Chosen here rather than METRICS_PORT=0: its "metrics listening" line is at info, and the gateway runs at warn.
  const metricsPort = await freePort();
  const health: Health = { messages: {} };
  const count = (line: string) => {
    // The access log writes one line per request whatever LOG_LEVEL says (src/telemetry/access-log.ts): not news.
    if (line.includes('"component":"access"')) return;
    let message = line.slice(0, 120);
    try {
      message = String((JSON.parse(line) as { msg?: unknown }).msg ?? message);
    } catch {
      // not JSON: keep the raw line
    }
    const key = `${message} [${phase}]`;
    health.messages[key] = (health.messages[key] ?? 0) + 1;
    if (health.messages[key] === 1) process.stderr.write(`[gateway ${name}] ${line.slice(0, 300)}\n`);
  };
  const started = await startGatewayProbed(
    upstream!.url,
    {
      WORKERS: '1',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      METRICS: 'port',
      METRICS_PORT: String(metricsPort),
      // Only shortens the stop between cells (no load balancer to tell).
      SHUTDOWN_UNREADY_MS: '0',
      // '' is unset for the gateway: (a) and (b) must not inherit a REDIS_URL from the caller's environment.
      REDIS_URL: redisUrl ?? '',
      REDIS_KEY_SECRET: redisUrl ? KEY_SECRET : '',
    },
    { onLine: count, onErrorLine: (line) => line.trim() && count(line) },
  );
  let stopping = false;
  started.child.once('exit', (code, signal) => {
    if (!stopping) health.exited = signal ? `signal ${signal}` : `code ${code}`;
  });
  const gateway: Gateway = {
    name,
    origin: new URL(started.url).origin,
    pid: started.child.pid!,
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    health,
    stop: async () => {
      stopping = true;
      await started.stop();
      liveGateways.delete(gateway);
    },
  };
  liveGateways.add(gateway);
  return gateway;
}

/** Prometheus text → value per metric name, summed over labels. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}

async function scrape(gateway: Gateway): Promise<Map<string, number>> {
  const response = await request(gateway.metricsUrl, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`gateway ${gateway.name} /metrics: HTTP ${response.statusCode}`);
  return parseMetrics(text);
}

/**
 * Waits until the gateway serves /metrics (it starts listening there just after
 * the API) and, with Redis, until its connection is up: before that a read is a
 * miss and a write is dropped, which would show as sharing that does not work.
 */
async function waitUntilReady(gateway: Gateway, redis: boolean, timeoutMs = 10_000): Promise<number> {
  const began = performance.now();
  for (;;) {
    try {
      const metrics = await scrape(gateway);
      if (!redis || metrics.get('gateway_redis_up') === 1) return performance.now() - began;
    } catch {
      // not serving /metrics yet
    }
    if (gateway.health.exited) throw new Error(`gateway ${gateway.name} exited (${gateway.health.exited})`);
    if (performance.now() - began > timeoutMs) throw new Error(`gateway ${gateway.name}: ${redis ? 'gateway_redis_up not 1' : '/metrics not served'} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The gateways' cache counters (summed over the gateways of a cell). */
interface CacheCounts {
  /** gateway_cache_hits_total: served from the process's cache or from Redis. */
  hits: number;
  /** gateway_cache_misses_total: local lookups that found nothing (then Redis, a call in flight, or upstream). */
  misses: number;
  sharedHits: number;
  sharedMisses: number;
  redisErrors: number;
  /** Loads that joined a call in flight in the same process. */
  joined: number;
}
const METRIC_NAMES: Record<keyof CacheCounts, string> = {
  hits: 'gateway_cache_hits_total',
  misses: 'gateway_cache_misses_total',
  sharedHits: 'gateway_shared_cache_hits_total',
  sharedMisses: 'gateway_shared_cache_misses_total',
  redisErrors: 'gateway_redis_errors_total',
  joined: 'gateway_upstream_shared_calls_total',
};
const countsOf = (metrics: Map<string, number>[]): CacheCounts =>
  Object.fromEntries(
    Object.entries(METRIC_NAMES).map(([key, name]) => [key, metrics.reduce((sum, each) => sum + (each.get(name) ?? 0), 0)]),
  ) as unknown as CacheCounts;
const minus = (after: CacheCounts, before: CacheCounts): CacheCounts =>
  Object.fromEntries(Object.keys(after).map((key) => [key, after[key as keyof CacheCounts] - before[key as keyof CacheCounts]])) as unknown as CacheCounts;
/** Lookups of executions: local hits (hits that were not Redis's) plus local misses. */
const lookupsOf = (counts: CacheCounts) => counts.hits - counts.sharedHits + counts.misses;

// ---------------------------------------------------------------------------
// One cell: a scenario × configuration, from fresh processes

interface ProbeResult {
  gateway: string;
  status: number;
  ok: boolean;
  error?: string;
  /** Upstream calls this one request caused (nothing else runs meanwhile). */
  upstreamCalls: number;
  latencyMs: number;
  /** `data` equal to the first probe's of the scenario (in (a), straight from upstream)? */
  sameDataAsReference?: boolean;
}

interface DriverResult {
  gateway: string;
  connections: number;
  load: Omit<LoadResult, 'echoedRequestIds'>;
  /** Upstream calls carrying the x-request-id of this driver's completed requests ÷ those requests. */
  callsPerRequestExact?: number;
}

interface Cell {
  scenario: string;
  config: ConfigKey;
  repetition: number;
  failed?: string;
  startupMs?: number;
  readyMs?: number;
  probe?: ProbeResult[];
  warmUp?: { completed: number; failed: number };
  idleWaitMs?: number;
  drivers?: DriverResult[];
  /** Both drivers together: req/s summed; p50/p99 the request-weighted mean of each driver's. */
  total?: { rps: number; completed: number; errors: number; badBodies: number; p50: number; p99: number };
  upstream?: {
    /** Counter delta over the measured run ÷ completed requests. */
    callsPerRequestFromCounter: number;
    /** By x-request-id over both drivers (exact when the gateway echoes the id, which it does). */
    callsPerRequestExact?: number;
    measuredCalls: number;
    /** Every upstream call of the cell, from the gateways' start to the end of the measured run. */
    cellCalls: number;
    /** Requests the gateways answered over the same span (probe, warm-up, measured run). */
    cellRequests: number;
    maxInFlight: number;
  };
  cache?: { measured: CacheCounts; cell: CacheCounts };
  /** CPU used during the measured run, in cores. */
  cpu?: { gateways: number[]; upstream: number; redis?: number; driver: number };
  foreignCpuCores?: number;
  /** BENCH_SEQUENTIAL requests one at a time to gateway A, after the load. */
  sequential?: LatencySummary;
  /** Keys in Redis at the end of a (c) cell. */
  redisKeys?: number;
  health?: Record<string, Health>;
  seconds?: number;
}

const referenceData = new Map<string, unknown>();

async function probeOnce(scenario: Scenario, gateway: Gateway): Promise<ProbeResult> {
  const one = requestFor(scenario, 'gateway', 0);
  const before = (await stats()).requests;
  const began = performance.now();
  const response = await request(`${gateway.origin}${one.path}`, {
    method: one.method,
    headers: headersOf('gateway', one),
    ...(one.body !== undefined ? { body: one.body } : {}),
    headersTimeout: scenario.timeoutS * 1000,
    bodyTimeout: scenario.timeoutS * 1000,
  });
  const text = await response.body.text();
  const latencyMs = performance.now() - began;
  const result: ProbeResult = { gateway: gateway.name, status: response.statusCode, ok: false, upstreamCalls: (await stats()).requests - before, latencyMs };
  if (response.statusCode !== 200) return { ...result, error: `HTTP ${response.statusCode}: ${text.slice(0, 200)}` };
  const json = JSON.parse(text) as { data?: unknown; errors?: unknown };
  if (json.errors) return { ...result, error: JSON.stringify(json.errors).slice(0, 300) };
  if (!referenceData.has(scenario.key)) referenceData.set(scenario.key, json.data);
  // In (c), B's first answer comes out of Redis: it must be what upstream said.
  const same = isDeepStrictEqual(json.data, referenceData.get(scenario.key));
  return { ...result, ok: same, sameDataAsReference: same, ...(same ? {} : { error: 'data differs from the first probe of the scenario' }) };
}

/** The i-th request of driver k of n: together the drivers walk the single driver's sequence. */
const nth = (scenario: Scenario, k: number, n: number) => (i: number) => requestFor(scenario, 'gateway', i * n + k);

/** Connections of each of n drivers: the scenario's, split as evenly as they go. */
const split = (total: number, n: number) => Array.from({ length: n }, (_, k) => Math.floor(total / n) + (k < total % n ? 1 : 0));

async function measureCell(scenario: Scenario, config: Config, repetition: number, index: number): Promise<Cell> {
  const cell: Cell = { scenario: scenario.key, config: config.key, repetition };
  const what = `${scenario.key} ${config.label}${REPEAT > 1 ? ` #${repetition + 1}` : ''}`;
  const began = performance.now();
  const gateways: Gateway[] = [];
  try {
    phase = 'start';
    await redis!.client.flushall();
    const cellBefore = (await stats()).requests;
    log(`${what}: starting ${config.gateways} gateway${config.gateways > 1 ? 's' : ''}`);
    const names: Gateway['name'][] = config.gateways === 2 ? ['A', 'B'] : ['A'];
    // allSettled: a gateway that did start must be stopped even when the other failed.
    const starts = await Promise.allSettled(names.map((name) => startGateway(name, config.redis ? redisUrl : undefined)));
    for (const start of starts) if (start.status === 'fulfilled') gateways.push(start.value);
    const refused = starts.find((start) => start.status === 'rejected');
    if (refused) throw refused.reason;
    cell.startupMs = Math.round(performance.now() - began);
    cell.readyMs = Math.round(Math.max(...(await Promise.all(gateways.map((gateway) => waitUntilReady(gateway, config.redis))))));

    phase = 'probe';
    log(`${what}: probe`);
    // One request to A, then one to B (to A again in (a)): the second shows whether A's answer is shared.
    cell.probe = [];
    for (const gateway of [gateways[0]!, gateways[1] ?? gateways[0]!]) cell.probe.push(await probeOnce(scenario, gateway));
    const probeFailed = cell.probe.find((each) => !each.ok);
    if (probeFailed) throw new Error(`probe of gateway ${probeFailed.gateway}: ${probeFailed.error}`);

    const connections = split(scenario.connections, gateways.length);
    phase = 'warm-up';
    // Each gateway in turn, alone with all the connections, for the whole warm-up: a process's JIT warms on
    // the requests it serves, and a warm-up shared by two would leave each half as warm as (a)'s. (In trials
    // with 1 s of shared warm-up, two processes spent 1.9 × (a)'s CPU per S6 request; with 6 s, 1.2 ×.)
    log(`${what}: warm-up ${WARMUP_SECONDS}s${gateways.length > 1 ? ' per gateway, one after the other' : ''}`);
    const warm: { completed: number; failed: number }[] = [];
    for (const gateway of gateways) {
      warm.push(
        await warmUp({
          origin: gateway.origin,
          headers: headersFor('gateway'),
          request: nth(scenario, 0, 1),
          connections: scenario.connections,
          seconds: WARMUP_SECONDS,
          timeout: scenario.timeoutS,
          verifyBody: verifierFor('gateway'),
        }),
      );
    }
    cell.warmUp = { completed: warm.reduce((sum, each) => sum + each.completed, 0), failed: warm.reduce((sum, each) => sum + each.failed, 0) };
    const pids = [...gateways.map((gateway) => gateway.pid), upstream!.child.pid!, ...(config.redis ? [redisPid] : [])];
    cell.idleWaitMs = Math.max(...(await Promise.all(pids.map((pid) => waitIdle(pid)))));

    await control('POST', '/reset-max');
    const prefix = `R${index}-`;
    await control('POST', `/tag?prefix=${prefix}`);
    const metricsBefore = countsOf(await Promise.all(gateways.map(scrape)));
    const before = (await stats()).requests;
    const ticks = () => ({
      gateways: gateways.map((gateway) => cpuTicks(gateway.pid)),
      upstream: cpuTicks(upstream!.child.pid!),
      redis: cpuTicks(redisPid),
      driver: process.cpuUsage(),
    });
    const ticks0 = ticks();
    const foreign = foreignCpu(process.pid);
    const window0 = performance.now();

    phase = 'measured';
    log(`${what}: measuring ${SECONDS}s (${connections.join(' + ')} connections)`);
    const results = await Promise.all(
      gateways.map((gateway, k) =>
        runLoad({
          origin: gateway.origin,
          headers: headersFor('gateway'),
          request: nth(scenario, k, gateways.length),
          connections: connections[k]!,
          duration: SECONDS,
          timeout: scenario.timeoutS,
          verifyBody: verifierFor('gateway'),
          requestIdPrefix: `${prefix}${gateway.name}-`,
        }),
      ),
    );
    const windowS = (performance.now() - window0) / 1000;
    cell.foreignCpuCores = foreign.stop();
    const ticks1 = ticks();
    const after = await stats();
    const tagged = await control<{ counts: Record<string, number> }>('GET', '/tagged');
    await control('POST', '/tag?prefix=');
    const metricsAfter = countsOf(await Promise.all(gateways.map(scrape)));
    const cores = (from: number, to: number) => (to - from) / 100 / windowS;
    const driverUs = process.cpuUsage(ticks0.driver);
    cell.cpu = {
      gateways: gateways.map((_, k) => cores(ticks0.gateways[k]!, ticks1.gateways[k]!)),
      upstream: cores(ticks0.upstream, ticks1.upstream),
      ...(config.redis ? { redis: cores(ticks0.redis, ticks1.redis) } : {}),
      driver: (driverUs.user + driverUs.system) / 1e6 / windowS,
    };

    cell.drivers = results.map(({ echoedRequestIds, ...load }, k) => ({
      gateway: gateways[k]!.name,
      connections: connections[k]!,
      load,
      ...(echoedRequestIds.length
        ? { callsPerRequestExact: echoedRequestIds.reduce((sum, id) => sum + (tagged.counts[id] ?? 0), 0) / echoedRequestIds.length }
        : {}),
    }));
    const completed = results.reduce((sum, each) => sum + each.completed, 0);
    const weighted = (pick: (load: LoadResult) => number) => results.reduce((sum, each) => sum + pick(each) * each.completed, 0) / completed;
    cell.total = {
      rps: results.reduce((sum, each) => sum + each.rps, 0),
      completed,
      errors: results.reduce((sum, each) => sum + each.errors, 0),
      badBodies: results.reduce((sum, each) => sum + each.badBodies, 0),
      p50: weighted((each) => each.latencyMs.p50),
      p99: weighted((each) => each.latencyMs.p99),
    };
    const echoed = results.flatMap((each) => each.echoedRequestIds);
    const measuredCalls = after.requests - before;
    cell.upstream = {
      callsPerRequestFromCounter: completed ? measuredCalls / completed : NaN,
      ...(echoed.length ? { callsPerRequestExact: echoed.reduce((sum, id) => sum + (tagged.counts[id] ?? 0), 0) / echoed.length } : {}),
      measuredCalls,
      cellCalls: after.requests - cellBefore,
      cellRequests: cell.probe.length + cell.warmUp.completed + cell.warmUp.failed + completed,
      maxInFlight: after.maxInFlight,
    };
    cell.cache = { measured: minus(metricsAfter, metricsBefore), cell: metricsAfter };

    phase = 'sequential';
    if (SEQUENTIAL > 0) {
      // autocannon ends by dropping its requests in flight; let gateway A finish them first.
      await waitIdle(gateways[0]!.pid);
      log(`${what}: ${SEQUENTIAL} sequential requests to gateway A`);
      const one = requestFor(scenario, 'gateway', 0);
      cell.sequential = await sampleLatency(
        gateways[0]!.origin,
        { method: one.method, path: one.path, headers: headersOf('gateway', one), parse: true, ...(one.body !== undefined ? { body: one.body } : {}) },
        SEQUENTIAL,
        20,
      );
    }
    if (config.redis) cell.redisKeys = await redis!.client.dbsize();
  } catch (error) {
    cell.failed = (error as Error).stack ?? String(error);
    log(`${what}: FAILED ${(error as Error).message}`);
  } finally {
    cell.health = Object.fromEntries(gateways.map((gateway) => [gateway.name, gateway.health]));
    phase = 'stop';
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    cell.seconds = Math.round((performance.now() - began) / 100) / 10;
  }
  return cell;
}

// ---------------------------------------------------------------------------
// Summaries (also written to the JSON after every cell)

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
const fixed = (value: number | undefined, digits?: number) =>
  value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b || !Number.isFinite(a / b) ? undefined : a / b);
const pct = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '—' : `${(value * 100).toFixed(1)}%`);
const signed = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? '—' : `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(digits)}`);

type Measured = Cell & Required<Pick<Cell, 'total' | 'upstream' | 'cache' | 'cpu' | 'drivers'>>;
const measuredOf = (scenario: string, config: ConfigKey) =>
  cells.filter((cell): cell is Measured => cell.scenario === scenario && cell.config === config && !cell.failed && cell.total !== undefined);

/** One scenario × configuration over its rounds. */
interface Summary {
  runs: number;
  of: number;
  rps: number;
  min: number;
  max: number;
  spread: number;
  p50: number;
  p99: number;
  errors: number;
  callsPerRequest: number;
  cellCalls: number[];
  hitRate: number;
  sharedHitRate: number;
  redisGetsPerRequest: number;
  sequentialP50: number;
  cpu: { gateways: number; upstream: number; redis?: number; driver: number };
  /** CPU the gateways spent per request answered, ms: whether two processes do the same work less efficiently than one. */
  gatewayCpuMsPerRequest: number;
}

function summaryOf(scenario: string, config: ConfigKey): Summary | undefined {
  const measured = measuredOf(scenario, config);
  if (!measured.length) return undefined;
  const rps = measured.map((cell) => cell.total.rps);
  const middle = median(rps);
  const min = Math.min(...rps);
  const max = Math.max(...rps);
  const perCell = (pick: (cell: Measured) => number) => median(measured.map(pick));
  return {
    runs: measured.length,
    of: cells.filter((cell) => cell.scenario === scenario && cell.config === config).length,
    rps: middle,
    min,
    max,
    spread: middle ? (max - min) / middle : NaN,
    p50: perCell((cell) => cell.total.p50),
    p99: perCell((cell) => cell.total.p99),
    errors: measured.reduce((sum, cell) => sum + cell.total.errors, 0),
    callsPerRequest: perCell((cell) => cell.upstream.callsPerRequestExact ?? cell.upstream.callsPerRequestFromCounter),
    cellCalls: measured.map((cell) => cell.upstream.cellCalls),
    hitRate: perCell((cell) => cell.cache.measured.hits / lookupsOf(cell.cache.measured)),
    sharedHitRate: perCell((cell) => cell.cache.measured.sharedHits / (cell.cache.measured.sharedHits + cell.cache.measured.sharedMisses)),
    redisGetsPerRequest: perCell((cell) => (cell.cache.measured.sharedHits + cell.cache.measured.sharedMisses) / cell.total.completed),
    sequentialP50: median(measured.flatMap((cell) => (cell.sequential ? [cell.sequential.p50] : []))),
    cpu: {
      gateways: perCell((cell) => cell.cpu.gateways.reduce((sum, each) => sum + each, 0)),
      upstream: perCell((cell) => cell.cpu.upstream),
      ...(configOf(config).redis ? { redis: perCell((cell) => cell.cpu.redis ?? NaN) } : {}),
      driver: perCell((cell) => cell.cpu.driver),
    },
    gatewayCpuMsPerRequest: perCell((cell) => (cell.cpu.gateways.reduce((sum, each) => sum + each, 0) / cell.total.rps) * 1000),
  };
}

function summaryRow(scenario: Scenario) {
  const [a, b, c] = (['a', 'b', 'c'] as const).map((key) => summaryOf(scenario.key, key));
  return {
    scenario: scenario.key,
    a,
    b,
    c,
    bOverA: ratio(b?.rps, a?.rps),
    cOverA: ratio(c?.rps, a?.rps),
    cOverB: ratio(c?.rps, b?.rps),
    /** What the Redis round trip adds per request: (c) − (b). */
    p50UnderLoadDeltaMs: c && b ? c.p50 - b.p50 : undefined,
    sequentialP50DeltaMs: c && b ? c.sequentialP50 - b.sequentialP50 : undefined,
  };
}

// ---------------------------------------------------------------------------
// Run

const commandLine = [
  ...['BENCH_SECONDS', 'BENCH_WARMUP_SECONDS', 'BENCH_CONNECTIONS', 'BENCH_SCENARIOS', 'BENCH_REPEAT', 'BENCH_SEQUENTIAL', ...PASSTHROUGH]
    .filter((name) => process.env[name])
    .map((name) => `${name}=${process.env[name]}`),
  process.env.npm_lifecycle_event === 'bench:replicas' ? 'npm run bench:replicas' : 'tsx bench/replicas.ts',
].join(' ');
const git = (() => {
  const run = (...args: string[]) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return `${run('rev-parse', '--short', 'HEAD')}${run('status', '--porcelain', '--', 'src') ? ' (src/ modified)' : ''}`;
  } catch {
    return 'unknown';
  }
})();
const machine = {
  cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
  cores: os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  kernel: `${os.type()} ${os.release()}`,
};
const redisVersion = (() => {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();

const cells: Cell[] = [];
const startedAt = new Date();
let redisRtt: LatencySummary | undefined;
const save = () => {
  mkdirSync(new URL('./', resultsUrl), { recursive: true });
  writeFileSync(
    resultsUrl,
    `${JSON.stringify(
      {
        date: startedAt.toISOString(),
        command: commandLine,
        git,
        gatewayEntry: gatewayEntry(),
        machine,
        redis: redisVersion,
        settings: {
          seconds: SECONDS,
          warmupSeconds: WARMUP_SECONDS,
          connections: CONNECTIONS,
          repeat: REPEAT,
          sequential: SEQUENTIAL,
          terminalCacheTtlMs: TERMINAL_TTL_MS,
          gatewayEnv: { WORKERS: '1', LOG_LEVEL: 'warn', NODE_ENV: 'production', ...Object.fromEntries(PASSTHROUGH.filter((name) => process.env[name]).map((name) => [name, process.env[name]])) },
        },
        configs: CONFIGS,
        scenarios: selected.map((scenario) => ({ key: scenario.key, title: scenario.title, connections: scenario.connections, finishedPairs: finishedPairs(scenario) })),
        redisRoundTripMs: redisRtt,
        cells,
        summary: selected.map((scenario) => summaryRow(scenario)),
      },
      null,
      2,
    )}\n`,
  );
};

let redisUrl = '';
let redisPid = 0;
try {
  log('starting redis-server and the fake upstream (pre-serializing 100,000 events takes a moment)…');
  redis = await BenchRedis.start();
  ({ url: redisUrl, pid: redisPid } = redis);
  upstream = await startUpstream(upstreamData());
  redisRtt = await redisRoundTrip();
  log(`redis GET round trip from the driver: p50 ${redisRtt.p50.toFixed(3)} ms`);
  for (const scenario of selected) {
    await control('POST', `/latency?ms=${scenario.upstreamLatencyMs}`);
    for (let repetition = 0; repetition < REPEAT; repetition++) {
      for (const config of CONFIGS) {
        if (interrupted) break;
        cells.push(await measureCell(scenario, config, repetition, cells.length));
        save();
      }
    }
  }
} catch (error) {
  log(`FAILED: ${(error as Error).stack ?? String(error)}`);
  await stopEverything();
  process.exit(1);
}
await stopEverything();
// The signal handler exits (130/143) once it has stopped everything; no report of a run cut short.
if (interrupted) await new Promise(() => undefined);
const elapsedS = (Date.now() - startedAt.getTime()) / 1000;

// ---------------------------------------------------------------------------
// Report

/** The ideal number of upstream calls over a cell, for finished executions: one per pair across all replicas, per cache lifetime. */
function idealCellCalls(scenario: Scenario, cellSeconds: number): number | undefined {
  const pairs = finishedPairs(scenario);
  if (pairs === undefined || TERMINAL_TTL_MS <= 0) return undefined;
  return pairs * Math.max(1, Math.ceil((cellSeconds * 1000) / TERMINAL_TTL_MS));
}

function notesOf(scenario: string, config: ConfigKey): string {
  const notes: string[] = [];
  for (const cell of cells.filter((each) => each.scenario === scenario && each.config === config)) {
    const mark = REPEAT > 1 ? `#${cell.repetition + 1}: ` : '';
    const own: string[] = [];
    if (cell.failed) own.push(`failed: ${cell.failed.split('\n')[0]?.slice(0, 160)}`);
    for (const [name, health] of Object.entries(cell.health ?? {})) {
      if (health.exited) own.push(`gateway ${name} exited (${health.exited})`);
      const messages = Object.entries(health.messages);
      if (messages.length) own.push(`gateway ${name} logged ${messages.map(([message, count]) => `${message.slice(0, 100)} ×${count}`).join(', ')}`);
    }
    if ((cell.foreignCpuCores ?? 0) >= FOREIGN_CPU_WARNING) own.push(`other jobs used ${fixed(cell.foreignCpuCores, 1)} cores`);
    if ((cell.cpu?.driver ?? 0) >= DRIVER_CPU_WARNING) own.push(`driver at ${fixed(cell.cpu?.driver, 2)} cores (may be the limit)`);
    if (cell.cache && cell.cache.measured.redisErrors > 0) own.push(`${cell.cache.measured.redisErrors} Redis errors/timeouts`);
    if (cell.drivers?.length === 2) {
      const [x, y] = cell.drivers.map((driver) => driver.load.rps);
      if (x && y && Math.abs(x - y) / Math.max(x, y) > 0.2) own.push(`uneven: A ${fixed(x)} vs B ${fixed(y)} req/s`);
    }
    if (own.length) notes.push(`${mark}${own.join('; ')}`);
  }
  return notes.join('; ');
}

const lines: string[] = [];
lines.push('# execution-gateway: two replicas, with and without Redis');
lines.push('');
lines.push(
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM, ${machine.kernel}, Node ${machine.node}, ${redisVersion.split(' ').slice(0, 3).join(' ')}. ` +
    `Command: \`${commandLine}\` (${startedAt.toISOString()}, ${Math.round(elapsedS)} s in all). Gateway at git ${git}.`,
);
lines.push('');
lines.push(
  `Cells: (a) one gateway, one driver with all ${CONNECTIONS} connections; (b) two gateways without Redis; (c) two gateways sharing one Redis ` +
    `(loopback, persistence off). In (b) and (c) two autocannon drivers run at once in this process, one per gateway, with half the connections each, ` +
    `and their req/s are summed. Every gateway: WORKERS=1, NODE_ENV=production, LOG_LEVEL=warn, ACCESS_LOG=${process.env.ACCESS_LOG || 'all'}, a fresh process per cell (caches cold; Redis flushed). ` +
    `Per cell: a probe, ${WARMUP_SECONDS} s warm-up of each gateway in turn with all the connections (each process as warm as (a)'s), ${SECONDS} s measured, then ${SEQUENTIAL} sequential requests to gateway A. ` +
    `${REPEAT} round${REPEAT === 1 ? '' : 's'} of (a), (b), (c) per scenario; figures are medians, min–max the range of req/s over the rounds and spread that range ÷ the median. ` +
    `Upstream, gateways, Redis and the driver share ${machine.cores} cores, so two gateways compete with everything else for CPU.`,
);
lines.push('');
lines.push(
  `Columns: p50/p99 in ms (with two drivers: each driver's percentile, weighted by its requests). Errors: non-2xx, socket errors and 2xx bodies with GraphQL \`errors\`. ` +
    `Calls/req: upstream calls carrying the x-request-id of each completed request ÷ completed requests, measured run only (the fake upstream's own count). ` +
    `Cell calls: every upstream call from the gateways' start to the end of the measured run (probe and warm-up included) against the ideal — for finished executions one ` +
    `per (caller, execution) across all replicas per TERMINAL_CACHE_TTL_MS (${TERMINAL_TTL_MS / 1000} s); for running ones (not cached) what one process makes, i.e. (a)'s calls/req. ` +
    `Hit rate: gateway_cache_hits_total (the process's cache and Redis) ÷ lookups (local hits + gateway_cache_misses_total), summed over the gateways, measured run only. ` +
    `Redis GETs/req: gateway_shared_cache_{hits,misses}_total ÷ completed requests (each local miss reads Redis once, inside the call that concurrent requests share; ` +
    `requests still in flight when the run ends count in the gateways' counters but not as completed, so it reads slightly above 1 when every request misses). ` +
    `CPU: cores used during the measured run by the gateways (sum), the fake upstream, Redis, and this driver; ` +
    `gw CPU ms/req: the gateways' CPU ÷ requests answered (above (a)'s: two processes spend more per request, e.g. less warmed up or contending for the cores).`,
);
const busy = cells.filter((cell) => (cell.foreignCpuCores ?? 0) >= FOREIGN_CPU_WARNING);
if (busy.length) {
  lines.push('');
  lines.push(
    `**Warning:** other processes used up to ${fixed(Math.max(...busy.map((cell) => cell.foreignCpuCores ?? 0)), 1)} cores during ${busy.length} of ${cells.length} measured runs (see notes); those numbers are suspect.`,
  );
}

lines.push('');
lines.push('| scenario | cell | req/s | min–max (spread) | p50 | p99 | errors | calls/req | cell calls (ideal) | hit rate | Redis hit rate | Redis GETs/req | seq. p50 | CPU gw / up / redis / driver | gw CPU ms/req | notes |');
lines.push('|---|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---|');
for (const scenario of selected) {
  const a = summaryOf(scenario.key, 'a');
  for (const config of CONFIGS) {
    const summary = summaryOf(scenario.key, config.key);
    const notes = notesOf(scenario.key, config.key);
    if (!summary) {
      lines.push(`| ${scenario.key} | ${config.label} | failed | | | | | | | | | | | | | ${notes} |`);
      continue;
    }
    const measured = measuredOf(scenario.key, config.key);
    const ideal = idealCellCalls(scenario, median(measured.map((cell) => cell.seconds ?? 0)));
    const cellCalls = `${summary.cellCalls.join(', ')} (${ideal !== undefined ? `ideal ${ideal}` : `ideal ≈ ${fixed(a ? a.callsPerRequest * median(measured.map((cell) => cell.upstream.cellRequests)) : undefined, 0)}`})`;
    const callsPerRequest = `${fixed(summary.callsPerRequest, 3)}${ideal === undefined && config.key !== 'a' && a ? ` (ideal ${fixed(a.callsPerRequest, 3)})` : ''}`;
    const cpu = [summary.cpu.gateways, summary.cpu.upstream, summary.cpu.redis, summary.cpu.driver].map((value) => (value === undefined ? '—' : fixed(value, 2))).join(' / ');
    lines.push(
      `| ${[
        scenario.key,
        config.label,
        fixed(summary.rps),
        `${fixed(summary.min)}–${fixed(summary.max)} (${pct(summary.spread)})${summary.runs < summary.of ? `, ${summary.runs} of ${summary.of} runs` : ''}`,
        fixed(summary.p50),
        fixed(summary.p99),
        String(summary.errors),
        callsPerRequest,
        cellCalls,
        pct(summary.hitRate),
        config.redis ? pct(summary.sharedHitRate) : '—',
        config.redis ? fixed(summary.redisGetsPerRequest, 3) : '—',
        fixed(summary.sequentialP50),
        cpu,
        fixed(summary.gatewayCpuMsPerRequest, 3),
        notes,
      ].join(' | ')} |`,
    );
  }
}

lines.push('');
lines.push('## Ratios and the cost of the Redis round trip');
lines.push('');
lines.push(
  `req/s ratios of the medians. Redis cost per request: (c) − (b) at p50 under load, and for one request alone (sequential p50 of gateway A). ` +
    (redisRtt
      ? `For scale, a GET of an absent key from this driver (ioredis, one at a time, ${redisRtt.samples} samples): p50 ${redisRtt.p50.toFixed(3)} ms, p99 ${redisRtt.p99.toFixed(3)} ms.`
      : ''),
);
lines.push('');
lines.push('| scenario | (b) ÷ (a) | (c) ÷ (a) | (c) ÷ (b) | p50 under load (c) − (b), ms | sequential p50 (c) − (b), ms |');
lines.push('|---|---:|---:|---:|---:|---:|');
const rows = selected.map((scenario) => summaryRow(scenario));
for (const row of rows) {
  lines.push(`| ${row.scenario} | ${fixed(row.bOverA)} | ${fixed(row.cOverA)} | ${fixed(row.cOverB)} | ${signed(row.p50UnderLoadDeltaMs, 3)} | ${signed(row.sequentialP50DeltaMs, 3)} |`);
}
lines.push('');
const s6 = rows.find((row) => row.scenario === 'S6');
if (!s6) lines.push(`Target (S6 (c) ÷ (a) ≥ ${TARGET}): not measured (S6 not in BENCH_SCENARIOS).`);
else if (s6.cOverA === undefined) lines.push(`Target (S6 (c) ÷ (a) ≥ ${TARGET}): not measured (a cell failed; see notes).`);
else
  lines.push(
    `Target (S6 (c) ÷ (a) ≥ ${TARGET}): **${s6.cOverA >= TARGET ? 'met' : 'NOT met'}** — ${fixed(s6.c?.rps)} req/s across two replicas sharing Redis against ${fixed(s6.a?.rps)} from one process (${fixed(s6.cOverA)}).` +
      (REPEAT < 3 ? ` Only ${REPEAT} round${REPEAT === 1 ? '' : 's'}: a trial, not a verdict.` : ''),
  );

lines.push('');
lines.push('Probes (before load, one request at a time; calls = upstream calls of that request; A then B, or A twice in (a)):');
lines.push('');
for (const cell of cells) {
  if (!cell.probe?.length) continue;
  if (cell.repetition > 0 && cell.probe.every((each) => each.ok)) continue;
  lines.push(
    `- ${cell.scenario} ${configOf(cell.config).label}${REPEAT > 1 ? ` #${cell.repetition + 1}` : ''}: ` +
      cell.probe
        .map((each) => `${each.gateway} ${each.ok ? 'ok' : `FAILED (${each.error})`}, ${each.upstreamCalls} call${each.upstreamCalls === 1 ? '' : 's'}, ${fixed(each.latencyMs)} ms`)
        .join('; ') +
      (cell.redisKeys !== undefined ? `; ${cell.redisKeys} key${cell.redisKeys === 1 ? '' : 's'} in Redis at the end` : ''),
  );
}
lines.push('');
lines.push('Scenarios:');
for (const scenario of selected) lines.push(`- **${scenario.key}** ${scenario.title}.`);
lines.push('');
lines.push('Raw results: bench/results/replicas.json');

save();
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
