/**
 * Allocation benchmark: how many bytes each target allocates per request, and
 * where (which package, which folder of the gateway), under the same
 * closed-loop load as `npm run bench`. The floor proxy and the gateway, and
 * with BENCH_BASELINE the gateway of another checkout, each run compiled in its
 * own process with V8's sampling heap profiler on for the measured seconds only
 * (bench/lib/allocation-sampler.mjs), counting freed objects too.
 *
 * Allocation drives young-generation collections (`npm run bench:gc`) and much
 * of the CPU a request costs: this says which code allocates. The sampler
 * slows each target, so its requests/s are not `npm run bench`'s.
 *
 * With ALLOC_SURVIVORS=1 it counts only what outlived a young-generation
 * collection: what each collection had to copy or promote, which costs far more
 * per byte than what dies young. A request's objects that stay reachable after
 * its work is done (a callback kept until its connection is idle, say) show here
 * first.
 *
 *   npm run bench:alloc        ALLOC_SCENARIOS=S1,S2,S4  ALLOC_SECONDS=6  ALLOC_TOP=10  ALLOC_SURVIVORS=1
 *   BENCH_BASELINE=/tmp/gw-pre npm run bench:alloc       another checkout too (bench/baseline.sh makes one)
 *
 * Output: a Markdown report on stdout; profiles in bench/results/allocations/.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { summarizeAllocations, type AllocationSummary, type SamplingHeapProfile } from './lib/allocations.js';
import { runLoad, WARMUP_SECONDS, warmUp } from './lib/load.js';
import { startFloorProxy, startGatewayProbed, startUpstream, type Started } from './lib/processes.js';
import { loadOptionsFor, scenarios, upstreamData, type Scenario } from './lib/scenarios.js';

const SECONDS = Number(process.env.ALLOC_SECONDS ?? 6);
const CONNECTIONS = 16;
const TOP = Number(process.env.ALLOC_TOP ?? 10);
const WANTED = (process.env.ALLOC_SCENARIOS ?? 'S1,S2,S4').split(',').map((key) => key.trim());
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const SURVIVORS = process.env.ALLOC_SURVIVORS === '1';
const SAMPLER = new URL('./lib/allocation-sampler.mjs', import.meta.url).pathname;
const OUT = new URL('./results/allocations/', import.meta.url).pathname;

type Kind = 'floor' | 'baseline' | 'gateway';

interface Row {
  scenario: string;
  target: Kind;
  requests: number;
  summary: AllocationSummary;
}

const log = (message: string) => process.stderr.write(`[bench:alloc] ${message}\n`);

const ALL = scenarios(CONNECTIONS, 20);
const unknown = WANTED.filter((key) => !ALL.some((each) => each.key === key));
if (!Number.isFinite(SECONDS) || SECONDS <= 0 || unknown.length > 0) {
  log(unknown.length ? `unknown scenario ${unknown.join(', ')} in ALLOC_SCENARIOS; known: ${ALL.map((each) => each.key).join(', ')}` : 'ALLOC_SECONDS must be a positive number');
  process.exit(1);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const upstream = await startUpstream(upstreamData());

async function startTarget(kind: Kind, profile: string): Promise<Started & { origin: string }> {
  const options = { nodeFlags: ['--import', SAMPLER] };
  const env = { ALLOCATION_PROFILE: profile, ...(SURVIVORS ? { ALLOCATION_SURVIVORS: '1' } : {}) };
  if (kind === 'floor') {
    const floor = await startFloorProxy(upstream.url, env, options);
    return { ...floor, origin: new URL(floor.url).origin };
  }
  const checkout = kind === 'baseline' ? BASELINE : undefined;
  const gateway = await startGatewayProbed(
    upstream.url,
    { ...env, LOG_LEVEL: 'warn', NODE_ENV: 'production', WORKERS: '1', METRICS: 'off', ACCESS_LOG: 'off' },
    { ...options, compiled: true, ...(checkout ? { checkout } : {}) },
  );
  return { ...gateway, origin: new URL(gateway.url).origin };
}

/** Waits for the sampler to have written its profile (it writes once, whole). */
async function profileWritten(file: string): Promise<SamplingHeapProfile> {
  for (let waited = 0; waited < 30_000; waited += 100) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as SamplingHeapProfile;
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`no allocation profile in ${file}`);
}

async function measure(scenario: Scenario, kind: Kind): Promise<Row> {
  const file = path.join(OUT, `${scenario.key}-${kind}${SURVIVORS ? '-survivors' : ''}.heapprofile`);
  const target = await startTarget(kind, file);
  try {
    const options = loadOptionsFor(scenario, kind === 'floor' ? 'floor' : 'gateway', target.origin, CONNECTIONS);
    log(`${scenario.key} ${kind}: warm-up ${WARMUP_SECONDS}s, then ${SECONDS}s sampled`);
    await warmUp({ ...options, seconds: WARMUP_SECONDS });
    target.child.kill('SIGUSR2');
    const result = await runLoad({ ...options, duration: SECONDS });
    target.child.kill('SIGUSR2');
    if (result.errors > 0) throw new Error(`${scenario.key} ${kind}: ${result.errors} failed requests`);
    return { scenario: scenario.key, target: kind, requests: result.completed, summary: summarizeAllocations(await profileWritten(file)) };
  } finally {
    await target.stop();
  }
}

const rows: Row[] = [];
try {
  const kinds: Kind[] = BASELINE ? ['floor', 'baseline', 'gateway'] : ['floor', 'gateway'];
  for (const scenario of ALL.filter((each) => WANTED.includes(each.key))) for (const kind of kinds) rows.push(await measure(scenario, kind));
} finally {
  await upstream.stop();
}

const kb = (bytes: number, requests: number) => (bytes / 1024 / Math.max(1, requests)).toFixed(1);
const lines = [
  `Machine: ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. Command: \`npm run bench:alloc\` (${new Date().toISOString()})` +
    `${BASELINE ? `, baseline ${BASELINE}` : ''}; ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up, ${SECONDS} s sampled per cell. ` +
    (SURVIVORS ? 'KB per request that outlived a young-generation collection (ALLOC_SURVIVORS=1).' : 'KB allocated per request, freed objects included.'),
  '',
  '| scenario | target | requests | KB per request | largest sources, KB per request |',
  '|---|---|---:|---:|---|',
  ...rows.map(({ scenario, target, requests, summary }) => {
    const top = summary.bySource.slice(0, TOP).map(({ source, bytes }) => `${source} ${kb(bytes, requests)}`);
    return `| ${scenario} | ${target} | ${requests} | ${kb(summary.totalBytes, requests)} | ${top.join('; ')} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
log(`profiles (open in Chrome DevTools, Memory tab): ${OUT}`);
