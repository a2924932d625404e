/**
 * Where CPU goes per request: V8 CPU profiles of the floor proxy and the gateway (compiled,
 * as deployed) at one offered rate, in steady state, added up by package and by part of
 * the gateway, in µs per request.
 *
 *   npm run bench:profile     PROFILE_SCENARIOS=S1,S2,S4  PROFILE_RATE=800  PROFILE_SECONDS=12  PROFILE_TOP=25
 *
 * Each target is warmed up closed-loop (BENCH_WARMUP_SECONDS), then profiled (./lib/cpu-sampler.mjs)
 * while it serves PROFILE_RATE requests a second, evenly spaced (./lib/paced-load.ts). The
 * profiles land in bench/results/profiles/ (open them in Chrome DevTools, Performance tab).
 *
 * A sample is wall time on the main thread while it is not idle: a system call's row holds the
 * time the thread waited for a core too, so on a busy machine `writev` and the like grow.
 * /proc's CPU per request over the same window (main thread user and system, other threads)
 * is printed beside each, profiler on. The gateways inherit this process's environment
 * (METRICS, ACCESS_LOG …), as `npm run bench` does.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { WARMUP_SECONDS, warmUp } from './lib/load.js';
import { runPaced } from './lib/paced-load.js';
import { threadTicks } from './lib/procfs.js';
import { passedSettings, startFloorProxy, startGatewayProbed, startUpstream, type Started } from './lib/processes.js';
import { loadOptionsFor, scenarios, upstreamData } from './lib/scenarios.js';

const RATE = Number(process.env.PROFILE_RATE ?? 800);
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 12);
const TOP = Number(process.env.PROFILE_TOP ?? 25);
const WANTED = (process.env.PROFILE_SCENARIOS ?? 'S1,S2,S4').split(',').map((key) => key.trim().toUpperCase());
const CONNECTIONS = 16;
const SAMPLER = new URL('./lib/cpu-sampler.mjs', import.meta.url).pathname;
const OUT = path.join(path.dirname(new URL(import.meta.url).pathname), 'results', 'profiles');
/** /proc's clock ticks per second (USER_HZ). */
const TICKS_PER_SECOND = 100;

const log = (message: string) => process.stderr.write(`[bench:profile] ${message}\n`);

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a sample's function comes from: a package, a folder of the gateway, node's own module, or V8's. */
function origin({ url }: CallFrame): string {
  if (!url) return '(V8)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return url;
  // Sources under tsx, or compiled into .bench-dist/ (./lib/processes.ts).
  const gateway = /\/(?:src|\.bench-dist)\/([^/]+)\//.exec(url) ?? /\/(?:src|\.bench-dist)\/([^/]+)\.[jt]s$/.exec(url);
  if (gateway) return `gateway: ${gateway[1]}`;
  return path.basename(url);
}

/** The parts the README's "Where the gap goes" names, by a sample's function and origin. */
const PARTS: [string, (frame: CallFrame, from: string) => boolean][] = [
  ['system calls', ({ url, functionName }) => !url && /^(writev|writeLatin1String|writeUtf8String|writeString|writeBuffer)$/.test(functionName)],
  ['garbage collection', ({ functionName }) => functionName === '(garbage collector)'],
  // The same work in both, but the floor's is inlined into its handler (next part).
  ["JSON.parse of the upstream body (the gateway's)", ({ functionName }, from) => functionName === 'safeJson' && from === 'gateway: upstream'],
  ["the floor's own handler (its JSON.parse included)", (_frame, from) => from === 'floor-proxy.ts'],
  ['microtasks and ticks', ({ functionName }, from) => functionName === 'runMicrotasks' || /task_queues|process\/promises/.test(from)],
  ['metrics', ({ url }, from) => /prom-client|prometheus/.test(from) || /telemetry\/(metrics|worker-metrics)\.[jt]s$/.test(url)],
  ['access log and pino', ({ url }, from) => /access-log|\/logger\.js/.test(url) || /^(pino|sonic-boom)$/.test(from)],
  ['Yoga and @whatwg-node/server', (_frame, from) => /^(graphql-yoga|@whatwg-node\/server)$/.test(from)],
  ['fetch-API objects', (_frame, from) => from === '@whatwg-node/node-fetch'],
  ['promise helpers', (_frame, from) => from === '@whatwg-node/promise-helpers'],
  ['envelop', (_frame, from) => from === '@envelop/core'],
  ['the fast lane', (_frame, from) => from === 'gateway: fast-lane'],
  ['the upstream client', (_frame, from) => /^(gateway: upstream|cockatiel|dataloader)$/.test(from)],
  ['undici', ({ url }, from) => from === 'undici' || url.startsWith('wasm://')],
  ['GraphQL execution and the schema', (_frame, from) => /^(graphql|graphql-jit|gateway: schema|gateway: domain)$/.test(from)],
  ['the rest of the gateway', (_frame, from) => from.startsWith('gateway: ')],
  ["node's own modules", (_frame, from) => from.startsWith('node:')],
  // (program), builtins called from native code, and code with no script (graphql-jit's compiled operations among it).
  ['V8 and code with no script', ({ url }) => !url],
];

interface Summary {
  /** µs per request by part, by origin, by function. */
  parts: Map<string, number>;
  origins: Map<string, number>;
  functions: Map<string, number>;
  total: number;
}

function summarise(profile: CpuProfile, requests: number): Summary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const summary: Summary = { parts: new Map(), origins: new Map(), functions: new Map(), total: 0 };
  const add = (table: Map<string, number>, key: string, us: number) => table.set(key, (table.get(key) ?? 0) + us);
  profile.samples.forEach((id, index) => {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') return;
    // The delta after a sample is how long it stood for.
    const us = (profile.timeDeltas[index + 1] ?? 0) / requests;
    const from = origin(frame);
    summary.total += us;
    add(summary.parts, PARTS.find(([, holds]) => holds(frame, from))?.[0] ?? 'other', us);
    add(summary.origins, from, us);
    add(summary.functions, `${frame.functionName || '(anonymous)'} (${from}${frame.url ? `:${frame.lineNumber + 1}` : ''})`, us);
  });
  return summary;
}

type Kind = 'floor' | 'gateway';
const loadKind = (kind: Kind) => kind;

async function profileOne(upstreamUrl: string, scenarioKey: string, kind: Kind): Promise<{ summary: Summary; cpu: string; file: string }> {
  const scenario = scenarios(CONNECTIONS, 20).find((each) => each.key === scenarioKey)!;
  const file = path.join(OUT, `${scenarioKey}-${kind}.cpuprofile`);
  rmSync(file, { force: true });
  const options = { nodeFlags: ['--import', SAMPLER] };
  const env = { CPU_PROFILE: file };
  const target: Started & { url: string } =
    kind === 'floor'
      ? await startFloorProxy(upstreamUrl, env, options)
      : await startGatewayProbed(upstreamUrl, { LOG_LEVEL: 'warn', NODE_ENV: 'production', WORKERS: '1', ...env }, { ...options, compiled: true });
  try {
    const origin = new URL(target.url).origin;
    log(`${scenarioKey} ${kind}: warm-up ${WARMUP_SECONDS}s, then ${SECONDS}s profiled at ${RATE} req/s`);
    await warmUp({ ...loadOptionsFor(scenario, loadKind(kind), origin, CONNECTIONS), seconds: WARMUP_SECONDS });
    const pid = target.child.pid!;
    process.kill(pid, 'SIGUSR2');
    const before = threadTicks(pid);
    const result = await runPaced({ ...loadOptionsFor(scenario, loadKind(kind), origin, CONNECTIONS), duration: SECONDS, rate: RATE });
    const after = threadTicks(pid);
    process.kill(pid, 'SIGUSR2');
    for (let waited = 0; !existsSync(file) && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    // Written in one call, but give a large profile time to land whole.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const per = (ticks: number) => ((ticks * 1e6) / TICKS_PER_SECOND / Math.max(1, result.completed)).toFixed(0);
    const cpu = `main ${per(after.mainUser - before.mainUser)} + ${per(after.mainSystem - before.mainSystem)}, other threads ${per(after.otherUser - before.otherUser + after.otherSystem - before.otherSystem)}`;
    return { summary: summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Math.max(1, result.completed)), cpu, file };
  } finally {
    await target.stop();
  }
}

mkdirSync(OUT, { recursive: true });
const upstream = await startUpstream(upstreamData());
const fixed = (value: number | undefined) => (value ?? 0).toFixed(1);
const lines: string[] = [
  `Command: \`${[...Object.entries(passedSettings()).map(([name, value]) => `${name}=${value}`), 'npm run bench:profile'].join(' ')}\` (${new Date().toISOString()}); ` +
    `${RATE} req/s evenly spaced, ${WARMUP_SECONDS} s warm-up, ${SECONDS} s profiled. Sampled µs per request (wall time on the main thread, not idle).`,
];
try {
  for (const key of WANTED) {
    const floor = await profileOne(upstream.url, key, 'floor');
    const gateway = await profileOne(upstream.url, key, 'gateway');
    const parts = [...new Set([...PARTS.map(([name]) => name), 'other'])].sort(
      (a, b) => (gateway.summary.parts.get(b) ?? 0) - (floor.summary.parts.get(b) ?? 0) - ((gateway.summary.parts.get(a) ?? 0) - (floor.summary.parts.get(a) ?? 0)),
    );
    lines.push(
      '',
      `### ${key}`,
      '',
      `/proc, µs of CPU per request (user + system), profiler on: floor ${floor.cpu}; gateway ${gateway.cpu}.`,
      '',
      '| part | floor | gateway | gateway − floor |',
      '|---|---:|---:|---:|',
      ...parts.map((part) => {
        const [a, b] = [floor.summary.parts.get(part) ?? 0, gateway.summary.parts.get(part) ?? 0];
        return `| ${part} | ${fixed(a)} | ${fixed(b)} | ${fixed(b - a)} |`;
      }),
      `| all sampled | ${fixed(floor.summary.total)} | ${fixed(gateway.summary.total)} | ${fixed(gateway.summary.total - floor.summary.total)} |`,
      '',
      `The gateway's ${TOP} largest functions (self time):`,
      '',
      ...[...gateway.summary.functions].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([name, us]) => `- ${fixed(us)} ${name}`),
      '',
      `Profiles: ${floor.file}, ${gateway.file}`,
    );
  }
} finally {
  await upstream.stop();
}
const report = lines.join('\n');
writeFileSync(path.join(OUT, 'summary.md'), `${report}\n`);
process.stdout.write(`${report}\n`);
