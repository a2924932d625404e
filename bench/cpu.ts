/**
 * CPU per request at one offered rate: the gateway against the floor proxy
 * and, with BENCH_BASELINE, another checkout, every target loaded at the same
 * requests per second, below what any of them can serve.
 *
 * `npm run bench` loads each target as fast as it answers, so each is
 * measured at its own request rate, and CPU per request depends on the rate:
 * the more requests share each turn of the event loop, each `epoll` wake-up and
 * each collection, the less each pays. Here every target gets the same
 * requests, evenly spaced (./lib/paced-load.ts), and CPU per request is what a
 * deployment pays at that traffic.
 *
 * CPU is split as /proc counts it by thread: the main (JavaScript) thread's
 * user and system time, and the other threads' (V8's collector and compiler
 * threads, libuv's pool).
 *
 *   npm run bench:cpu       CPU_SCENARIOS=S1,S2,S4,S6  CPU_RATE=500  CPU_SECONDS=8  CPU_REPEAT=3
 *   BENCH_BASELINE=/tmp/gw-old CPU_REPEAT=5 npm run bench:cpu    another checkout too (bench/baseline.sh makes one)
 *
 * Each target is started once per scenario and warmed up closed-loop
 * (BENCH_WARMUP_SECONDS); then the measured windows go round the targets
 * CPU_REPEAT times, each round in another order, so other work on the machine
 * lands on all of them alike. Per target, the window with the median total is
 * shown, its parts adding up to it, with the smallest and largest totals; a
 * window in which the target fell behind the rate, failed requests, or shared
 * the machine with other jobs (FOREIGN_CPU_WARNING cores or more) is counted in the notes.
 * The gateways inherit this process's environment (METRICS=off, ACCESS_LOG=off …), and the report
 * names those of GATEWAY_SETTINGS_PASSED (./lib/processes.ts) that are set, as `npm run bench` does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WARMUP_SECONDS, warmUp } from './lib/load.js';
import { runPaced } from './lib/paced-load.js';
import { FOREIGN_CPU_WARNING, foreignCpu, threadTicks, type ThreadTicks } from './lib/procfs.js';
import { passedSettings, startFloorProxy, startGatewayProbed, startUpstream, type Started } from './lib/processes.js';
import { loadOptionsFor, scenarios, upstreamData, type Scenario } from './lib/scenarios.js';

const RATE = Number(process.env.CPU_RATE ?? 500);
const SECONDS = Number(process.env.CPU_SECONDS ?? 8);
const REPEAT = Number(process.env.CPU_REPEAT ?? 3);
const CONNECTIONS = 16;
const WANTED = (process.env.CPU_SCENARIOS ?? 'S1,S2,S4,S6').split(',').map((key) => key.trim().toUpperCase());
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
/** /proc's clock ticks per second (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
/** A window kept up when it answered at this share of the offered rate or more. */
const KEPT_UP = 0.97;

type Kind = 'floor' | 'baseline' | 'gateway';

/** One measured window: requests answered, and CPU per request in µs by thread. */
interface Window {
  requests: number;
  /** Requests answered per second, from the first sent to the last answered. */
  rps: number;
  failed: number;
  keptUp: boolean;
  /** CPU other processes used meanwhile, in cores. */
  foreignCores: number;
  mainUser: number;
  mainSystem: number;
  other: number;
  total: number;
}

const log = (message: string) => process.stderr.write(`[bench:cpu] ${message}\n`);

const ALL = scenarios(CONNECTIONS, 20);
const unknown = WANTED.filter((key) => !ALL.some((each) => each.key === key));
for (const [problem, bad] of [
  [`unknown scenario ${unknown.join(', ')} in CPU_SCENARIOS; known: ${ALL.map((each) => each.key).join(', ')}`, unknown.length > 0],
  ['CPU_RATE must be a positive number of requests per second', !(RATE > 0)],
  ['CPU_SECONDS must be a positive number', !(SECONDS > 0)],
  ['CPU_REPEAT must be a whole number of at least 1', !(Number.isInteger(REPEAT) && REPEAT >= 1)],
] as const) {
  if (bad) {
    log(problem);
    process.exit(1);
  }
}

const upstream = await startUpstream(upstreamData());

async function startTarget(kind: Kind): Promise<Started & { origin: string }> {
  if (kind === 'floor') {
    const floor = await startFloorProxy(upstream.url);
    return { ...floor, origin: new URL(floor.url).origin };
  }
  const gateway = await startGatewayProbed(
    upstream.url,
    { LOG_LEVEL: 'warn', NODE_ENV: 'production', WORKERS: '1' },
    { compiled: true, ...(kind === 'baseline' && BASELINE ? { checkout: BASELINE } : {}) },
  );
  return { ...gateway, origin: new URL(gateway.url).origin };
}

/** The floor is asked its own way; both gateways the GraphQL way. */
const loadKind = (kind: Kind) => (kind === 'floor' ? 'floor' : 'gateway');

const spent = (before: ThreadTicks, after: ThreadTicks, key: keyof ThreadTicks) => after[key] - before[key];

async function measureWindow(scenario: Scenario, kind: Kind, target: Started & { origin: string }): Promise<Window> {
  const pid = target.child.pid!;
  const foreign = foreignCpu(process.pid);
  const before = threadTicks(pid);
  const result = await runPaced({ ...loadOptionsFor(scenario, loadKind(kind), target.origin, CONNECTIONS), duration: SECONDS, rate: RATE });
  const after = threadTicks(pid);
  const foreignCores = foreign.stop();
  const rps = result.completed / result.seconds;
  const perRequest = (ticks: number) => (ticks * 1e6) / TICKS_PER_SECOND / Math.max(1, result.completed);
  const mainUser = perRequest(spent(before, after, 'mainUser'));
  const mainSystem = perRequest(spent(before, after, 'mainSystem'));
  const other = perRequest(spent(before, after, 'otherUser') + spent(before, after, 'otherSystem'));
  return {
    requests: result.completed,
    rps,
    failed: result.failed,
    keptUp: rps >= KEPT_UP * RATE,
    foreignCores,
    mainUser,
    mainSystem,
    other,
    total: mainUser + mainSystem + other,
  };
}

const kinds: Kind[] = BASELINE ? ['floor', 'baseline', 'gateway'] : ['floor', 'gateway'];
const results: { scenario: string; kind: Kind; windows: Window[] }[] = [];
try {
  for (const scenario of ALL.filter((each) => WANTED.includes(each.key))) {
    const started = new Map<Kind, Started & { origin: string }>();
    try {
      for (const kind of kinds) {
        const target = await startTarget(kind);
        started.set(kind, target);
        log(`${scenario.key} ${kind}: warm-up ${WARMUP_SECONDS}s`);
        const warm = await warmUp({ ...loadOptionsFor(scenario, loadKind(kind), target.origin, CONNECTIONS), seconds: WARMUP_SECONDS });
        if (warm.failed > 0) throw new Error(`${scenario.key} ${kind}: ${warm.failed} failed requests in the warm-up`);
      }
      const windows = new Map<Kind, Window[]>(kinds.map((kind) => [kind, []]));
      for (let round = 0; round < REPEAT; round++) {
        // Each round starts one target later, so no target always follows the same one.
        for (const kind of [...kinds.slice(round % kinds.length), ...kinds.slice(0, round % kinds.length)]) {
          log(`${scenario.key} ${kind}: ${SECONDS}s at ${RATE} req/s (${round + 1} of ${REPEAT})`);
          windows.get(kind)!.push(await measureWindow(scenario, kind, started.get(kind)!));
        }
      }
      for (const kind of kinds) results.push({ scenario: scenario.key, kind, windows: windows.get(kind)! });
    } finally {
      await Promise.all([...started.values()].map((target) => target.stop()));
    }
  }
} finally {
  await upstream.stop();
}

const fixed = (value: number, digits = 0) => value.toFixed(digits);
/** The window whose total is the median (the lower middle one of an even count), so its parts add up to what is shown. */
const medianWindow = (windows: Window[]) => [...windows].sort((a, b) => a.total - b.total)[Math.floor((windows.length - 1) / 2)]!;
const totalOf = (scenario: string, kind: Kind) => {
  const found = results.find((each) => each.scenario === scenario && each.kind === kind);
  return found ? medianWindow(found.windows).total : NaN;
};

const lines = [
  `Machine: ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, Node ${process.version}. ` +
    `Command: \`${[...Object.entries(passedSettings()).map(([name, value]) => `${name}=${value}`), 'npm run bench:cpu'].join(' ')}\` (${new Date().toISOString()})${BASELINE ? `, baseline ${BASELINE}` : ''}; ` +
    `${RATE} req/s evenly spaced over up to ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warm-up, ${REPEAT} windows of ${SECONDS} s per target, interleaved. ` +
    'CPU in µs per request, of the window with the median total: the main thread (user, system) and the other threads (V8\'s collector and compiler, libuv\'s pool); then the smallest and largest window totals.',
  '',
  `| scenario | target | req/s | main user | main system | other threads | total | smallest–largest | ÷ floor${BASELINE ? ' | ÷ baseline' : ''} | notes |`,
  `|---|---|---:|---:|---:|---:|---:|---:|---:|${BASELINE ? '---:|' : ''}---|`,
  ...results.map(({ scenario, kind, windows }) => {
    const shown = medianWindow(windows);
    const totals = windows.map((window) => window.total);
    const behind = windows.filter((window) => !window.keptUp).length;
    const failing = windows.filter((window) => window.failed > 0).length;
    const busy = windows.filter((window) => window.foreignCores >= FOREIGN_CPU_WARNING).length;
    const notes = [
      ...(behind ? [`${behind} of ${windows.length} windows fell behind the offered rate`] : []),
      ...(failing ? [`failed requests in ${failing} of ${windows.length}`] : []),
      ...(busy ? [`other jobs during ${busy} of ${windows.length}`] : []),
    ];
    const cells = [
      scenario,
      kind,
      fixed(shown.rps),
      fixed(shown.mainUser),
      fixed(shown.mainSystem),
      fixed(shown.other),
      fixed(shown.total),
      `${fixed(Math.min(...totals))}–${fixed(Math.max(...totals))}`,
      fixed(shown.total / totalOf(scenario, 'floor'), 2),
      ...(BASELINE ? [fixed(shown.total / totalOf(scenario, 'baseline'), 2)] : []),
      notes.join('; '),
    ];
    return `| ${cells.join(' | ')} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/cpu.json', import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), rate: RATE, seconds: SECONDS, results }, null, 2)}\n`);
log('raw results: bench/results/cpu.json');
