/**
 * The primary with WORKERS=2 (src/server/process.ts) when a worker dies and its
 * replacements cannot start: they are forked after a back-off that doubles
 * (1 s, 2 s, …), each exit is logged with its code, signal and that delay and
 * counted on the primary's metrics port (gateway_worker_exits_total, and
 * gateway_workers one short of gateway_workers_configured), and
 * SIGTERM during the back-off or during a failing start still exits 0. A worker
 * that dies during the first start: before any worker listened, the primary names
 * it, its code and signal, and exits 1; after, it is replaced (test/support/
 * hold-workers.mjs holds a worker, or the metrics port, at the moment chosen).
 * While fewer workers serve than configured, or a replacement after failures at start
 * is on probation, each worker's `/ready` says `restarting` (503) with the primary's counts;
 * with PORT=0 the listening line names the port a worker listens on when it is written.
 * Also: the URLs logged for an IPv6 HOST bracket the address.
 *
 * A replacement is made to fail at start the way it happens in production: the
 * trusted-documents manifest the first workers read is removed. The manifest's
 * path is fixed next to the source, so each test runs a copy of `src/` and
 * `schema/` in a scratch directory. The real process is spawned
 * (`src/main.ts` through tsx, its own process group) in front of the fake
 * upstream on loopback.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { parseExposition, workerSeries } from './support/exposition.js';
import { alive, captureOutput, type LogLine } from './support/process-output.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The message of a worker that failed at start for want of the manifest (src/pipeline/trusted-documents.ts). */
const NO_MANIFEST = /TRUSTED_DOCUMENTS needs the persisted-documents manifest/g;

interface Gateway {
  child: ChildProcess;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  lines(): LogLine[];
  stderr(): string;
  output(): string;
}

async function waitFor(probe: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The pids of `parent`'s node children: the primary's workers (tsx's esbuild service is a child too). */
function childrenOf(parent: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(parent)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, command]) => command === 'node')
      .map(([pid]) => Number(pid));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

const children: ChildProcess[] = [];
const scratch: string[] = [];

// For the whole file: a test that fails before its SIGTERM leaves its gateway running.
afterAll(() => {
  for (const child of children) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      // Its own process group (detached): the primary and its workers go together.
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the gateway's source, schema and package files; node_modules is the repository's. */
function copyOfTheApp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-workers-'));
  scratch.push(dir);
  for (const entry of ['src', 'schema', 'package.json', 'tsconfig.json']) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** The gateway in `cwd`, once it logged each of `ready`; `preload`: more modules to `--import` (absolute paths). */
async function spawnGateway(cwd: string, env: Record<string, string>, ready: string[], preload: string[] = []): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...preload.flatMap((path) => ['--import', path]), 'src/main.ts'], {
    cwd,
    // A process group of its own, so afterAll can kill the whole tree.
    detached: true,
    env: { PATH: process.env.PATH, PORT: '0', METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_UNREADY_MS: '0', ...env },
  });
  children.push(child);
  const { exited, lines, stdout, stderr } = captureOutput(child, { skipNonJson: true });
  const output = () => `stdout ${stdout()} stderr ${stderr()}`;
  await waitFor(
    () => ready.every((msg) => lines().some((line) => line.msg === msg)) || child.exitCode !== null,
    () => `${ready.join(', ')}; ${output()}`,
    45_000,
  );
  expect(child.exitCode, output()).toBeNull();
  return { child, exited, lines, stderr, output };
}

// Starting the primary and tsx workers (several times over) is slow on a busy 2-core machine.
describe('WORKERS=2: replacing workers that fail at start', { timeout: 150_000 }, () => {
  let upstream: FakeUpstream;

  beforeAll(async () => {
    upstream = await FakeUpstream.start({ executions: demoExecutions() });
  });

  afterAll(async () => {
    await upstream?.close();
  });

  /** A gateway with WORKERS=2 on a copy of the app whose manifest is gone once both workers listen; one worker killed (after 5 s up, or at once). */
  async function withBrokenReplacements(killedStayedUp: boolean): Promise<{ gateway: Gateway; dir: string; primary: number; killed: number; survivor: number }> {
    const dir = copyOfTheApp();
    const gateway = await spawnGateway(dir, { WORKERS: '2', TRUSTED_DOCUMENTS: 'allow', UPSTREAM_URL: upstream.url, METRICS: 'port' }, ['execution-gateway listening', 'metrics listening']);
    const primary = gateway.child.pid!;
    const workers = childrenOf(primary);
    expect(workers, gateway.output()).toHaveLength(2);
    rmSync(join(dir, 'schema', 'persisted-documents.json'));
    if (killedStayedUp) {
      // A worker that exits within 5 s of its fork counts as failing at start.
      const listenedAt = Number(gateway.lines().find((line) => line.msg === 'execution-gateway listening')!.time);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, listenedAt + 5_500 - Date.now())));
    }
    const [killed, survivor] = workers as [number, number];
    process.kill(killed, 'SIGKILL');
    return { gateway, dir, primary, killed, survivor };
  }

  const exitsOf = (gateway: Gateway) => gateway.lines().filter((line) => line.msg === 'worker exited; starting another');

  it('backs off 1 s, 2 s, … between replacements that fail at start, and a SIGTERM during the back-off exits 0 without forking', async () => {
    const { gateway, primary, killed, survivor } = await withBrokenReplacements(true);
    await waitFor(() => exitsOf(gateway).length >= 3 || gateway.child.exitCode !== null, () => `three worker exits; ${gateway.output()}`, 60_000);
    // The crash loop, on the primary's metrics port (it showed only as a circuit state summing to 1, with /ready 200):
    // one serves of two, none starts (the third replacement waits out its 2 s), and the exits are counted by how.
    const metricsUrl = String(gateway.lines().find((line) => line.msg === 'metrics listening')!.url);
    const scrape = await fetch(metricsUrl);
    expect(scrape.status).toBe(200);
    expect(workerSeries(parseExposition(await scrape.text()))).toEqual({
      starting: 0,
      serving: 1,
      configured: 2,
      exits: { 'signal/false': 1, 'exit_code/true': 2, 'signal/true': 0, 'exit_code/false': 0 },
    });
    // In the back-off before the third replacement (2 s): stop.
    gateway.child.kill('SIGTERM');
    const signalledAt = Date.now();
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 0, signal: null });

    const exits = exitsOf(gateway);
    // The worker that had stayed up is replaced at once; its exit names the signal that killed it.
    expect(exits[0]).toMatchObject({ worker: killed, pid: primary, code: null, signal: 'SIGKILL', failedAtStart: false, delayMs: 0 });
    // Each replacement failed at start (exit 1 after its one line); the wait before the next doubles.
    expect(exits[1]).toMatchObject({ code: 1, signal: null, failedAtStart: true, delayMs: 1000 });
    expect(exits[2]).toMatchObject({ code: 1, signal: null, failedAtStart: true, delayMs: 2000 });
    expect(exits).toHaveLength(3);
    // The second replacement was forked only after its 1 s back-off (and then took time to fail).
    expect(exits[2]!.time! - exits[1]!.time!).toBeGreaterThanOrEqual(1000);
    // Two replacements started and failed; none was forked after the signal.
    expect(gateway.stderr().match(NO_MANIFEST), gateway.output()).toHaveLength(2);
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    // The survivor drained and exited 0, and the primary said so.
    expect(gateway.lines().find((line) => line.msg === 'workers stopped')).toMatchObject({ pid: primary, workers: 1 });
    expect(childrenOf(primary)).toEqual([]);
    expect(() => process.kill(survivor, 0)).toThrow();
  });

  // A worker's /ready was its own: the survivor answered 200 through the whole crash loop, and a load balancer kept
  // sending to a process at half its capacity whose replacements failed again and again.
  it('/ready answers 503 `restarting` with the counts while replacements fail at start, and 200 once one has stayed up', async () => {
    const { gateway, dir } = await withBrokenReplacements(false);
    const origin = new URL(String(gateway.lines().find((line) => line.msg === 'execution-gateway listening')!.url)).origin;
    type Ready = { status: number; body: { status: string; workers?: { serving?: number; failedAtStartInARow?: number } } };
    const ready = async (): Promise<Ready> => {
      const answer = await fetch(`${origin}/ready`);
      return { status: answer.status, body: (await answer.json()) as Ready['body'] };
    };
    await waitFor(() => exitsOf(gateway).length >= 2 || gateway.child.exitCode !== null, () => `two worker exits; ${gateway.output()}`, 60_000);
    // The primary's word reaches the survivor over IPC, beside its log line: read until it tells of a failed start.
    let looping = await ready();
    for (const deadline = performance.now() + 5_000; !looping.body.workers?.failedAtStartInARow && performance.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      looping = await ready();
    }
    expect(looping, gateway.output()).toEqual({
      status: 503,
      body: {
        status: 'restarting',
        workers: {
          configured: 2,
          serving: 1,
          failedAtStartInARow: expect.any(Number),
          reason: expect.stringMatching(/^1 of 2 workers serving: \d+ worker exits in a row failed at start; replacements start after a back-off$/),
        },
        upstream: { circuit: 'closed' },
      },
    });
    expect(looping.body.workers!.failedAtStartInARow).toBeGreaterThanOrEqual(1);
    // The cause fixed: the next replacement listens, and once it has stayed up past its probation, the process is ready.
    cpSync(join(ROOT, 'schema', 'persisted-documents.json'), join(dir, 'schema', 'persisted-documents.json'));
    const seen: Ready[] = [];
    for (const deadline = performance.now() + 60_000; seen.at(-1)?.status !== 200 && performance.now() < deadline; ) {
      seen.push(await ready());
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen.at(-1)?.body, gateway.output()).toEqual({ status: 'ready', workers: { configured: 2, serving: 2, failedAtStartInARow: expect.any(Number) }, upstream: { circuit: 'closed' } });
    // Not ready the moment the replacement listened: it might have crashed within seconds, as the ones before it.
    expect(seen.some(({ status, body }) => status === 503 && body.status === 'restarting' && body.workers?.serving === 2), JSON.stringify(seen)).toBe(true);
    gateway.child.kill('SIGTERM');
    const [code] = await gateway.exited;
    expect(code, gateway.output()).toBe(0);
  });

  it('a SIGTERM while a replacement is failing at start still exits 0: that worker served nothing', async () => {
    const { gateway, primary, killed, survivor } = await withBrokenReplacements(false);
    // The replacement is forked within 1 s (the killed worker had just started); stop while it starts.
    await waitFor(
      () => childrenOf(primary).some((pid) => pid !== survivor && pid !== killed) || gateway.child.exitCode !== null,
      () => `the replacement's fork; ${gateway.output()}`,
      30_000,
    );
    gateway.child.kill('SIGTERM');
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 0, signal: null });
    expect(gateway.lines().find((line) => line.msg === 'workers stopped')).toMatchObject({ pid: primary, workers: 2 });
    expect(exitsOf(gateway)).toHaveLength(1);
    // It either heard the drain before it read the manifest (exit 0), or failed at start (exit 1, logged apart).
    const stderrFailures = gateway.stderr().match(NO_MANIFEST)?.length ?? 0;
    const warned = gateway.lines().find((line) => line.msg === 'workers that had not started exited with an error; they served nothing');
    expect(warned?.failedAtStart ?? 0, gateway.output()).toBe(stderrFailures);
  });
});

/** Holds chosen workers, or the primary's metrics port, at start (its header says how). */
const HOLD_WORKERS = join(ROOT, 'test', 'support', 'hold-workers.mjs');

describe('WORKERS=2: a worker that dies during the first start', { timeout: 150_000 }, () => {
  let upstream: FakeUpstream;

  beforeAll(async () => {
    upstream = await FakeUpstream.start({ executions: demoExecutions() });
  });

  afterAll(async () => {
    await upstream?.close();
  });

  /** A directory for hold-workers.mjs holding `holds` (`hold-worker-<n>`, `hold-metrics`) until the test removes them. */
  function holdDir(holds: string[]): string {
    const dir = mkdtempSync(join(tmpdir(), 'gateway-hold-'));
    scratch.push(dir);
    for (const hold of holds) writeFileSync(join(dir, hold), '');
    return dir;
  }

  /** The pid of worker `id` once hold-workers.mjs said it holds it. */
  const heldPid = (gateway: Gateway, id: number): number | undefined => {
    const found = new RegExp(`^test: worker ${id} \\(pid (\\d+)\\) is held$`, 'm').exec(gateway.stderr());
    return found ? Number(found[1]) : undefined;
  };
  /** Worker `id`'s pid and the API port it listens on, once hold-workers.mjs said it does. */
  const listening = (gateway: Gateway, id: number): { pid: number; port: number } | undefined => {
    const found = new RegExp(`^test: worker ${id} \\(pid (\\d+)\\) listens on (\\d+)$`, 'm').exec(gateway.stderr());
    return found ? { pid: Number(found[1]), port: Number(found[2]) } : undefined;
  };
  const exitsOf = (gateway: Gateway) => gateway.lines().filter((line) => line.msg === 'worker exited; starting another');
  const messages = (gateway: Gateway) => gateway.lines().map((line) => line.msg);
  const until = (gateway: Gateway, probe: () => boolean, what: string) =>
    waitFor(() => probe() || gateway.child.exitCode !== null, () => `${what}; ${gateway.output()}`, 45_000);

  // A worker killed by a signal (the OOM killer) prints no line of its own, and the primary exited 1 in silence.
  it('before any worker listened: the primary names the worker and its signal, kills the other and exits 1', async () => {
    const dir = holdDir(['hold-worker-1', 'hold-worker-2']);
    const gateway = await spawnGateway(ROOT, { WORKERS: '2', UPSTREAM_URL: upstream.url, METRICS: 'off', TEST_HOLD_DIR: dir }, [], [HOLD_WORKERS]);
    const primary = gateway.child.pid!;
    await until(gateway, () => heldPid(gateway, 1) !== undefined && heldPid(gateway, 2) !== undefined, 'both workers held');
    const [killed, other] = [heldPid(gateway, 1)!, heldPid(gateway, 2)!];
    process.kill(killed, 'SIGKILL');
    // Reaped: the primary has seen the exit (the same callback). Only now may the other start, so that it cannot
    // have listened first (without the fix, it listened and the primary exited 1 then, in silence).
    await until(gateway, () => !alive(killed), 'the killed worker reaped');
    rmSync(join(dir, 'hold-worker-2'));
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 1, signal: null });
    expect(gateway.lines().filter((line) => line.level === 50), gateway.output()).toEqual([
      expect.objectContaining({ pid: primary, worker: killed, code: null, signal: 'SIGKILL', msg: 'worker exited before any worker listened: the gateway cannot start' }),
    ]);
    expect(messages(gateway)).not.toContain('execution-gateway listening');
    expect(gateway.stderr()).not.toMatch(/^execution-gateway:/m);
    // The other was killed too, not left behind running.
    await waitFor(() => !alive(other), () => `worker ${other} gone`, 10_000);
  });

  // The whole gateway exited 1 with no drain, killing a worker that served: a worker that listened proved the
  // configuration, and a death after that is a crash to replace. `workers[0]` dying before it answered the primary's
  // `port?` crashed the primary (ERR_IPC_CHANNEL_CLOSED) or hung it.
  it.each([
    { dies: 2, what: 'the worker still starting, while the other serves' },
    { dies: 1, what: 'the worker that listened, while the other still starts' },
  ])('after one worker listened, $what: it is replaced, and the gateway starts', async ({ dies }) => {
    const dir = holdDir(['hold-worker-2']);
    const gateway = await spawnGateway(ROOT, { WORKERS: '2', UPSTREAM_URL: upstream.url, METRICS: 'off', TEST_HOLD_DIR: dir }, [], [HOLD_WORKERS]);
    const primary = gateway.child.pid!;
    await until(gateway, () => listening(gateway, 1) !== undefined && heldPid(gateway, 2) !== undefined, 'worker 1 listening, worker 2 held');
    // Served through the primary, which has so seen worker 1 listen; not ready while worker 2 still starts (the
    // primary's word may trail worker 1's listening by a moment, during which it has not spoken yet).
    const starting = await fetch(`http://127.0.0.1:${listening(gateway, 1)!.port}/ready`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ status: 'starting', workers: { reason: expect.any(String) } });
    const killed = dies === 1 ? listening(gateway, 1)!.pid : heldPid(gateway, 2)!;
    process.kill(killed, 'SIGKILL');
    await until(gateway, () => !alive(killed), 'the killed worker reaped');
    rmSync(join(dir, 'hold-worker-2'));
    await until(gateway, () => messages(gateway).includes('execution-gateway listening'), 'execution-gateway listening');
    expect(gateway.child.exitCode, gateway.output()).toBeNull();
    // The port the survivor serves: with worker 1 dead, node:cluster closed the one it listened on, and PORT=0 gave
    // worker 2 another.
    const { port } = listening(gateway, dies === 1 ? 2 : 1)!;
    expect(gateway.lines().find((line) => line.msg === 'execution-gateway listening')).toMatchObject({ pid: primary, workers: 2, url: `http://127.0.0.1:${port}/graphql` });
    // One that never listened failed at start, so its replacement waits 1 s (one that listened did too when it died
    // within 5 s of its fork, which a loaded machine may take to start it).
    expect(exitsOf(gateway), gateway.output()).toEqual([
      expect.objectContaining({ pid: primary, worker: killed, code: null, signal: 'SIGKILL', ...(dies === 2 ? { failedAtStart: true, delayMs: 1000 } : {}) }),
    ]);
    await until(gateway, () => listening(gateway, 3)?.port === port, 'the replacement listening');
    // Ready once the replacement serves, and, when the exit counted as a failure at start, has stayed up 5 s.
    let ready = await fetch(`http://127.0.0.1:${port}/ready`);
    for (const deadline = performance.now() + 15_000; ready.status !== 200 && performance.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await fetch(`http://127.0.0.1:${port}/ready`);
    }
    expect(await ready.json()).toMatchObject({ status: 'ready', workers: { configured: 2, serving: 2 } });
    gateway.child.kill('SIGTERM');
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 0, signal: null });
    expect(gateway.lines().find((line) => line.msg === 'workers stopped')).toMatchObject({ pid: primary, workers: 2 });
  });

  // The primary logged the port the last worker to listen had reported: once every worker that had listened died
  // before it logged, node:cluster had closed that port, and with PORT=0 the replacement listened on another.
  it('with PORT=0, every worker that listened dead before the listening line: the line names the port a replacement listens on', async () => {
    const dir = holdDir(['hold-worker-2', 'hold-worker-3', 'hold-worker-4']);
    const gateway = await spawnGateway(ROOT, { WORKERS: '2', UPSTREAM_URL: upstream.url, METRICS: 'off', TEST_HOLD_DIR: dir }, [], [HOLD_WORKERS]);
    await until(gateway, () => listening(gateway, 1) !== undefined && heldPid(gateway, 2) !== undefined, 'worker 1 listening, worker 2 held');
    const first = listening(gateway, 1)!;
    // Served through the primary, which has so seen worker 1 listen: its death is a crash, not a failed start.
    expect((await fetch(`http://127.0.0.1:${first.port}/health`)).status).toBe(200);
    for (const pid of [first.pid, heldPid(gateway, 2)!]) {
      process.kill(pid, 'SIGKILL');
      await until(gateway, () => !alive(pid), `worker ${pid} reaped`);
    }
    // Both replacements forked (after their back-off) and held: no worker listens.
    await until(gateway, () => heldPid(gateway, 3) !== undefined && heldPid(gateway, 4) !== undefined, 'both replacements held');
    expect(messages(gateway), gateway.output()).not.toContain('execution-gateway listening');
    rmSync(join(dir, 'hold-worker-3'));
    await until(gateway, () => messages(gateway).includes('execution-gateway listening'), 'execution-gateway listening');
    const logged = new URL(String(gateway.lines().find((line) => line.msg === 'execution-gateway listening')!.url));
    expect(Number(logged.port), gateway.output()).toBe(listening(gateway, 3)!.port);
    expect((await fetch(new URL('/health', logged))).status).toBe(200);
    rmSync(join(dir, 'hold-worker-4'));
    await until(gateway, () => listening(gateway, 4) !== undefined, 'worker 4 listening');
    gateway.child.kill('SIGTERM');
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 0, signal: null });
  });

  // The primary replaced workers only once it had said it listens: one that died while the metrics port bound was
  // never replaced.
  it('a worker that dies while the primary binds the metrics port is replaced, and counted: its replacement starting, then serving', async () => {
    // The replacement (worker 3) held too, so a scrape sees it starting.
    const dir = holdDir(['hold-metrics', 'hold-worker-3']);
    const gateway = await spawnGateway(ROOT, { WORKERS: '2', UPSTREAM_URL: upstream.url, METRICS: 'port', TEST_HOLD_DIR: dir }, [], [HOLD_WORKERS]);
    const primary = gateway.child.pid!;
    // Both workers listened before the primary binds the metrics port.
    await until(gateway, () => gateway.stderr().includes('test: the primary holds the metrics listen\n'), 'the metrics listen held');
    const killed = listening(gateway, 1)!.pid;
    process.kill(killed, 'SIGKILL');
    await until(gateway, () => !alive(killed), 'the killed worker reaped');
    rmSync(join(dir, 'hold-metrics'));
    await until(gateway, () => messages(gateway).includes('execution-gateway listening'), 'execution-gateway listening');
    const mine = gateway.lines().filter((line) => line.pid === primary).map((line) => line.msg);
    expect(mine, gateway.output()).toEqual(['worker exited; starting another', 'metrics listening', 'execution-gateway listening']);
    expect(exitsOf(gateway)[0]).toMatchObject({ worker: killed, code: null, signal: 'SIGKILL' });
    const port = Number(new URL(String(gateway.lines().find((line) => line.msg === 'execution-gateway listening')!.url)).port);
    // Counted from before the metrics port listened (the death came while it bound): the replacement, forked after
    // its back-off and held, starts; one serves of two.
    const scrapeWorkers = async () => {
      const answer = await fetch(String(gateway.lines().find((line) => line.msg === 'metrics listening')!.url));
      expect(answer.status).toBe(200);
      return workerSeries(parseExposition(await answer.text()));
    };
    await until(gateway, () => heldPid(gateway, 3) !== undefined, 'the replacement held');
    const exits = { 'signal/true': 0, 'signal/false': 0, 'exit_code/true': 0, 'exit_code/false': 0, [`signal/${String(exitsOf(gateway)[0]!.failedAtStart)}`]: 1 };
    expect(await scrapeWorkers()).toEqual({ starting: 1, serving: 1, configured: 2, exits });
    rmSync(join(dir, 'hold-worker-3'));
    await until(gateway, () => listening(gateway, 3)?.port === port, 'the replacement listening');
    // The test reads the worker's own line, which races the primary's hearing of its listening: scraped until it did.
    let after = await scrapeWorkers();
    for (const deadline = performance.now() + 10_000; after.serving !== 2 && performance.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await scrapeWorkers();
    }
    expect(after).toEqual({ starting: 0, serving: 2, configured: 2, exits });
    gateway.child.kill('SIGTERM');
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 0, signal: null });
  });
});

describe('WORKERS=2: a SIGTERM while the first workers start', { timeout: 90_000 }, () => {
  // The primary went on starting after the signal: it opened the metrics port, logged `execution-gateway
  // listening` and printed the demo's banner, inviting a browser to a gateway already draining.
  it('drains them and exits 0, starting nothing more: no metrics port, no listening line, no banner', async () => {
    // No grace: the drain budget (3 s) is shorter than a worker's start under tsx, which it must not count.
    const gateway = await spawnGateway(ROOT, { WORKERS: '2', SHUTDOWN_GRACE_MS: '0' }, []);
    const primary = gateway.child.pid!;
    // Both forked: tsx takes a second or more to load a worker, so neither listens yet.
    await waitFor(() => childrenOf(primary).length === 2 || gateway.child.exitCode !== null, () => `two workers; ${gateway.output()}`, 30_000);
    expect(gateway.lines().map((line) => line.msg)).not.toContain('execution-gateway listening');
    gateway.child.kill('SIGTERM');
    const [code, signal] = await gateway.exited;
    expect({ code, signal }, gateway.output()).toEqual({ code: 0, signal: null });
    const mine = gateway.lines().filter((line) => line.pid === primary).map((line) => line.msg);
    expect(mine, gateway.output()).toEqual(['shutting down: every worker drains', 'workers stopped']);
    expect(gateway.output()).not.toContain('is serving the built-in demo data');
    expect(gateway.output()).not.toContain('past the drain budget');
    // Each worker listened (or heard the drain first and had nothing to drain) and exited cleanly.
    expect(gateway.lines().find((line) => line.msg === 'workers stopped')).toMatchObject({ workers: 2 });
    expect(childrenOf(primary)).toEqual([]);
  });
});

describe('WORKERS=2: a worker stuck during the drain', { timeout: 90_000 }, () => {
  // The primary waited for it with no deadline (20 s and counting with a 2 s grace), its share of the port still
  // accepting connections nobody answered.
  it('is killed once the drain budget is spent (unready + grace + 0.25 s for the answers to cut requests + stdout flush + 1 s), and the primary exits 1 naming it', async () => {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    try {
      const gateway = await spawnGateway(ROOT, { WORKERS: '2', UPSTREAM_URL: upstream.url, METRICS: 'off', SHUTDOWN_GRACE_MS: '500' }, ['execution-gateway listening']);
      const primary = gateway.child.pid!;
      const [stuck, healthy] = childrenOf(primary) as [number, number];
      expect(healthy, gateway.output()).toBeDefined();
      process.kill(stuck, 'SIGSTOP');
      const signalledAt = performance.now();
      gateway.child.kill('SIGTERM');
      const [code, signal] = await gateway.exited;
      const tookMs = performance.now() - signalledAt;
      expect({ code, signal }, gateway.output()).toEqual({ code: 1, signal: null });
      // SHUTDOWN_UNREADY_MS=0 (spawnGateway) + 500 + 250 + 2,000 + 1,000.
      expect(tookMs).toBeGreaterThan(3_650);
      expect(tookMs).toBeLessThan(10_000);
      expect(gateway.lines().filter((line) => String(line.msg).startsWith('worker still running'))).toEqual([
        expect.objectContaining({ level: 50, pid: primary, worker: stuck, budgetMs: 3_750, msg: 'worker still running past the drain budget: killing it' }),
      ]);
      expect(gateway.lines().filter((line) => line.msg === 'drained: every request finished').map((line) => line.pid)).toEqual([healthy]);
      expect(gateway.lines().at(-1)).toMatchObject({ pid: primary, msg: 'workers stopped; some did not exit cleanly', failed: 1 });
      expect(() => process.kill(stuck, 0)).toThrow();
    } finally {
      await upstream.close();
    }
  });
});

describe('WORKERS=3 on a port already taken', { timeout: 60_000 }, () => {
  // Every worker failed alike and printed it: the same line three times (sixty-four with WORKERS=64).
  it('exits 1 with one line saying why, not one per worker', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: ROOT,
        detached: true,
        env: { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', METRICS: 'off', WORKERS: '3', LOG_LEVEL: 'info' },
      });
      children.push(child);
      const { exited, stderr, lines } = captureOutput(child, { skipNonJson: true });
      const [code] = await exited;
      expect(code, stderr()).toBe(1);
      expect(stderr().match(/^execution-gateway: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*$/gm), stderr()).toHaveLength(1);
      // The primary's own line names the worker that gave up first and how it exited.
      expect(lines().filter((line) => line.level === 50)).toEqual([
        expect.objectContaining({ pid: child.pid, code: 1, signal: null, msg: 'worker exited before any worker listened: the gateway cannot start' }),
      ]);
    } finally {
      taken.close();
    }
  });
});

describe('an IPv6 HOST', { timeout: 60_000 }, () => {
  it('is logged in brackets, in the API URL and the metrics URL', async () => {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    try {
      const gateway = await spawnGateway(ROOT, { HOST: '::1', METRICS_HOST: '::1', UPSTREAM_URL: upstream.url }, ['execution-gateway listening', 'metrics listening']);
      const url = String(gateway.lines().find((line) => line.msg === 'execution-gateway listening')!.url);
      const metricsUrl = String(gateway.lines().find((line) => line.msg === 'metrics listening')!.url);
      expect(url).toMatch(/^http:\/\/\[::1\]:\d+\/graphql$/);
      expect(metricsUrl).toMatch(/^http:\/\/\[::1\]:\d+\/metrics$/);
      // Both are URLs a client can use as logged.
      expect((await fetch(new URL('/health', url))).status).toBe(200);
      expect((await fetch(metricsUrl)).status).toBe(200);
      gateway.child.kill('SIGTERM');
      const [code] = await gateway.exited;
      expect(code, gateway.output()).toBe(0);
    } finally {
      await upstream.close();
    }
  });
});
