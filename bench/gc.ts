/**
 * Garbage-collection benchmark: what the young generation costs per request,
 * the gateway against the floor proxy, under the same closed-loop load as
 * `npm run bench` (S1, S2 and S4 by default). Each target runs with node's
 * `--trace-gc`; only collections during the measured seconds count.
 *
 * The figure to watch is "promoted KB per 1,000 requests": memory that outlived
 * young-generation collections although its request was done, and that only a
 * full collection frees. A retention bug (a long-lived Map or WeakMap whose
 * entries come and go per request, a per-request object literal with a getter
 * that reaches the request) shows here first, as scavenges several times longer
 * than the floor's, before it shows as lost requests/s.
 *
 *   npm run bench:gc        GC_SCENARIOS=S1,S2,S4  GC_SECONDS=8
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { runLoad, WARMUP_SECONDS, warmUp } from './lib/load.js';
import { startFloorProxy, startGatewayProbed, startUpstream, type SpawnOptions, type Started } from './lib/processes.js';
import { loadOptionsFor, scenarios, upstreamData, type Scenario } from './lib/scenarios.js';
import { parseTraceGcLine, summarizeGc, type GcEvent, type GcSummary } from './lib/trace-gc.js';

const SECONDS = Number(process.env.GC_SECONDS ?? 8);
const CONNECTIONS = 16;
const WANTED = (process.env.GC_SCENARIOS ?? 'S1,S2,S4').split(',').map((key) => key.trim());

type Kind = 'floor' | 'gateway';

interface Row {
  scenario: string;
  target: Kind;
  requests: number;
  rps: number;
  gc: GcSummary;
}

const log = (message: string) => process.stderr.write(`[bench:gc] ${message}\n`);

if (!Number.isFinite(SECONDS) || SECONDS <= 0) {
  log('GC_SECONDS must be a positive number');
  process.exit(1);
}
// The gateway's default; only S3's notes read it.
const UPSTREAM_CONCURRENCY_PER_REQUEST = 20;
const ALL = scenarios(CONNECTIONS, UPSTREAM_CONCURRENCY_PER_REQUEST);
const KNOWN = ALL.map((each) => each.key);
const unknown = WANTED.filter((key) => !KNOWN.includes(key));
if (unknown.length > 0) {
  log(`unknown scenario ${unknown.join(', ')} in GC_SCENARIOS; known: ${KNOWN.join(', ')}`);
  process.exit(1);
}

const upstream = await startUpstream(upstreamData());

async function startTarget(kind: Kind, options: SpawnOptions): Promise<Started & { origin: string }> {
  if (kind === 'floor') {
    const floor = await startFloorProxy(upstream.url, {}, options);
    return { ...floor, origin: new URL(floor.url).origin };
  }
  const gateway = await startGatewayProbed(upstream.url, { LOG_LEVEL: 'warn', NODE_ENV: 'production' }, options);
  return { ...gateway, origin: new URL(gateway.url).origin };
}

async function measure(scenario: Scenario, kind: Kind): Promise<Row> {
  const events: GcEvent[] = [];
  let recording = false;
  const target = await startTarget(kind, {
    nodeFlags: ['--trace-gc'],
    onLine: (line) => {
      const event = recording ? parseTraceGcLine(line) : undefined;
      if (event) events.push(event);
    },
  });
  try {
    const options = loadOptionsFor(scenario, kind, target.origin, CONNECTIONS);
    log(`${scenario.key} ${kind}: warm-up ${WARMUP_SECONDS}s, then ${SECONDS}s measured`);
    await warmUp({ ...options, seconds: WARMUP_SECONDS });
    recording = true;
    const result = await runLoad({ ...options, duration: SECONDS });
    recording = false;
    if (result.errors > 0) throw new Error(`${scenario.key} ${kind}: ${result.errors} failed requests`);
    return { scenario: scenario.key, target: kind, requests: result.completed, rps: result.rps, gc: summarizeGc(events) };
  } finally {
    await target.stop();
  }
}

const perThousand = (value: number, requests: number) => (value * 1000) / Math.max(1, requests);
const fixed = (value: number, digits = 1) => value.toFixed(digits);


const rows: Row[] = [];
try {
  for (const scenario of ALL.filter((each) => WANTED.includes(each.key))) {
    for (const kind of ['floor', 'gateway'] as const) rows.push(await measure(scenario, kind));
  }
} finally {
  await upstream.stop();
}

const lines = [
  `Machine: ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. ` +
    `Command: \`npm run bench:gc\` (${new Date().toISOString()}), ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured per cell.`,
  '',
  '| scenario | target | req/s | scavenges | scavenge pause per 1,000 req (ms) | mean scavenge (ms) | promoted KB per 1,000 req | mark-compacts (pause ms) |',
  '|---|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map(({ scenario, target, requests, rps, gc }) => {
    const cells = [
      scenario,
      target,
      fixed(rps, 0),
      gc.scavenges,
      fixed(perThousand(gc.scavengePauseMs, requests)),
      fixed(gc.scavengePauseMs / Math.max(1, gc.scavenges), 2),
      fixed(perThousand(gc.promotedMb * 1024, requests), 0),
      `${gc.markCompacts} (${fixed(gc.markCompactPauseMs, 0)})`,
    ];
    return `| ${cells.join(' | ')} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/gc.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), seconds: SECONDS, rows }, null, 2)}\n`);
log('raw results: bench/results/gc.json');
