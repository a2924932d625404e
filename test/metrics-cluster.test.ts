/**
 * `/metrics` with WORKERS=2 (src/server/process.ts, src/telemetry/metrics-server.ts):
 * the primary serves it on METRICS_PORT, and one scrape answers the sum over
 * both workers (the primary asks each ready worker for its registry over the
 * cluster channel and prom-client's AggregatorRegistry sums), not one worker's
 * share; while a dead worker's replacement starts, scrapes answer 200 at once
 * from the worker that is ready.
 *
 * The real process is spawned (`src/main.ts` through tsx) in front of the fake
 * upstream on loopback. Every query goes on a new TCP connection, so the
 * cluster's round-robin spreads them over both workers; the access log (one
 * line per request, with pino's `pid`) shows that both served.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions, DEMO_TOKEN } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { parseExposition, samplesOf, valueOf, workerSeries } from './support/exposition.js';
import { alive, captureOutput } from './support/process-output.js';

const QUERY = /* GraphQL */ `
  query ExecutionStatus($id: ID!) {
    execution(id: $id) { id status }
  }
`;
/** Executions that are not finished: never cached, so each query is exactly one upstream call. */
const UNFINISHED = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3', 'ex_demo_4', 'ex_demo_5'];
const N = 20;

async function waitFor(probe: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One request on a connection of its own (`agent: false`): the cluster hands each connection to the next worker. */
function send(method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = httpRequest(
      url,
      {
        method,
        agent: false,
        headers: payload === undefined ? {} : { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKEN}`, 'content-length': Buffer.byteLength(payload) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

// Starting the primary and two tsx workers is slow on a busy 2-core machine: three starts, then a replacement's.
describe('/metrics with WORKERS=2', { timeout: 300_000 }, () => {
  let upstream: FakeUpstream;
  let child: ChildProcess | undefined;
  const workerPids = new Set<number>();

  beforeAll(async () => {
    upstream = await FakeUpstream.start({ executions: demoExecutions() });
  });

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      // Its own process group (detached): the primary and its workers go together.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await upstream?.close();
  });

  it('one scrape of the primary answers the sum over both workers', async () => {
    const spawned = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      // A process group of its own, so afterAll can kill the whole tree.
      detached: true,
      env: {
        PATH: process.env.PATH,
        WORKERS: '2',
        PORT: '0',
        METRICS_PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        UPSTREAM_URL: upstream.url,
        SHUTDOWN_UNREADY_MS: '0',
      },
    });
    child = spawned;
    const { exited, lines, stdout, stderr } = captureOutput(spawned);
    const find = (msg: string) => lines().find((line) => line.msg === msg);
    const output = () => `stdout ${stdout()} stderr ${stderr()}`;

    await waitFor(
      () => (find('execution-gateway listening') !== undefined && find('metrics listening') !== undefined) || spawned.exitCode !== null,
      () => `the gateway and its metrics to listen; ${output()}`,
      // Three processes through tsx: on a loaded 2-core machine npm start's WORKERS=2 took past 40 s (04c7556).
      120_000,
    );
    expect(spawned.exitCode, output()).toBeNull();
    const primary = spawned.pid!;
    const apiUrl = String(find('execution-gateway listening')!.url);
    const metricsUrl = String(find('metrics listening')!.url);
    expect(find('execution-gateway listening')).toMatchObject({ pid: primary, workers: 2 });
    expect(find('metrics listening')).toMatchObject({ pid: primary });
    expect(new URL(metricsUrl)).toMatchObject({ hostname: '127.0.0.1', pathname: '/metrics' });
    expect(new URL(metricsUrl).port).not.toBe(new URL(apiUrl).port);

    // N queries, one after the other, each on a new connection.
    upstream.reset();
    for (let i = 0; i < N; i++) {
      const id = UNFINISHED[i % UNFINISHED.length]!;
      const answer = await send('POST', apiUrl, { query: QUERY, variables: { id }, operationName: 'ExecutionStatus' });
      expect(answer.status, answer.text).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ data: { execution: { id } } });
    }
    // Unfinished executions are never cached: one upstream call per query.
    expect(upstream.requests).toHaveLength(N);
    expect(upstream.requests.every((request) => request.path.startsWith('/v1/executions/ex_demo_'))).toBe(true);

    // Both workers served: the access log has N lines from two pids, neither the primary's.
    const accessLines = () => lines().filter((line) => line.msg === 'request' && line.operationName === 'ExecutionStatus');
    await waitFor(() => accessLines().length >= N, () => `${N} access log lines; ${output()}`, 10_000);
    const served = new Map<number, number>();
    for (const line of accessLines()) served.set(Number(line.pid), (served.get(Number(line.pid)) ?? 0) + 1);
    for (const pid of served.keys()) workerPids.add(pid);
    expect(accessLines()).toHaveLength(N);
    expect(served.size, JSON.stringify([...served])).toBe(2);
    expect(served.has(primary)).toBe(false);
    for (const count of served.values()) expect(count).toBeGreaterThanOrEqual(1);
    expect(accessLines().reduce((sum, line) => sum + Number(line.upstreamCalls), 0)).toBe(N);

    // One scrape of the primary.
    const scrape = await send('GET', metricsUrl);
    expect(scrape.status).toBe(200);
    expect(String(scrape.headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseExposition(scrape.text);

    // Counters: the sum over the workers.
    expect(valueOf(samples, 'gateway_upstream_attempts_total', { outcome: 'OK', attempt: '1' })).toBe(upstream.requests.length);
    expect(samplesOf(samples, 'gateway_upstream_attempts_total').filter((sample) => sample.labels.outcome !== 'OK')).toEqual([]);
    expect(valueOf(samples, 'graphql_envelop_request', { operationType: 'query', operationName: 'ExecutionStatus' })).toBe(N);
    // Histograms too: their counts add up.
    expect(valueOf(samples, 'graphql_envelop_phase_execute_count', { operationType: 'query', operationName: 'ExecutionStatus' })).toBe(N);
    expect(valueOf(samples, 'gateway_upstream_attempt_duration_seconds_count', { outcome: 'OK' })).toBe(N);
    expect(valueOf(samples, 'gateway_upstream_attempt_duration_seconds_bucket', { outcome: 'OK', le: '+Inf' })).toBe(N);
    // More than either worker's share: each served fewer than N.
    expect(Math.max(...served.values())).toBeLessThan(N);

    // Gauges, as each metric's aggregator says: the circuit state sums to one per worker,
    // the Node version is one worker's (first), and a start time cannot be summed at all (omit).
    expect(valueOf(samples, 'gateway_upstream_circuit_state', { state: 'closed' })).toBe(2);
    expect(valueOf(samples, 'gateway_upstream_circuit_state', { state: 'open' })).toBe(0);
    expect(valueOf(samples, 'gateway_upstream_in_flight')).toBe(0);
    expect(valueOf(samples, 'nodejs_version_info')).toBe(1);
    expect(samplesOf(samples, 'process_start_time_seconds')).toEqual([]);
    // The primary's own series about its workers: both serve, of 2 configured, and none exited yet (every pair from 0).
    const noExits = { 'signal/true': 0, 'signal/false': 0, 'exit_code/true': 0, 'exit_code/false': 0 };
    expect(workerSeries(samples)).toEqual({ starting: 0, serving: 2, configured: 2, exits: noExits });

    // A worker dies: while its replacement starts (it has no registry yet), a scrape answers
    // at once from the worker that is ready, not a 500 after waiting 5 s for the new one.
    const [killed, kept] = [...served.keys()] as [number, number];
    process.kill(killed, 'SIGKILL');
    await waitFor(
      () => lines().some((line) => line.msg === 'worker exited; starting another') || spawned.exitCode !== null,
      () => `the primary to replace the worker; ${output()}`,
      60_000,
    );
    expect(lines().find((line) => line.msg === 'worker exited; starting another')).toMatchObject({ worker: killed, pid: spawned.pid, code: null, signal: 'SIGKILL' });
    const scrapeStarted = performance.now();
    const during = await send('GET', metricsUrl);
    expect(during.status, during.text).toBe(200);
    expect(performance.now() - scrapeStarted).toBeLessThan(4_000);
    // The sum lost the dead worker's counts (Prometheus reads it as a counter reset): only the kept worker's remain.
    const duringSamples = parseExposition(during.text);
    expect(valueOf(duringSamples, 'graphql_envelop_request', { operationType: 'query', operationName: 'ExecutionStatus' })).toBe(served.get(kept));
    expect(valueOf(duringSamples, 'gateway_upstream_circuit_state', { state: 'closed' })).toBe(1);
    // The primary counted the death, which no worker's registry could (the dead one's went with it): killed by a
    // signal, failed at start as its log line says (within 5 s of its fork on a loaded machine); one serves.
    const exitLine = lines().find((line) => line.msg === 'worker exited; starting another')!;
    const workersDuring = workerSeries(duringSamples);
    expect(workersDuring.exits).toEqual({ ...noExits, [`signal/${String(exitLine.failedAtStart)}`]: 1 });
    expect(workersDuring.serving).toBe(1);
    expect(workersDuring.configured).toBe(2);
    // Its replacement is forked (at once, or after its 1 s back-off) and starts.
    expect(workersDuring.starting).toBeLessThanOrEqual(1);
    // Every scrape while the replacement starts answers as promptly; once it is ready, it is summed too.
    let closed = 0;
    let ready: ReturnType<typeof parseExposition> = [];
    for (const deadline = performance.now() + 90_000; closed !== 2 && performance.now() < deadline; ) {
      const started = performance.now();
      const scrape = await send('GET', metricsUrl);
      expect(scrape.status, scrape.text).toBe(200);
      expect(performance.now() - started).toBeLessThan(4_000);
      ready = parseExposition(scrape.text);
      closed = valueOf(ready, 'gateway_upstream_circuit_state', { state: 'closed' });
      if (closed !== 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(closed, output()).toBe(2);
    // The replacement listened before it said its registry is ready: two serve again, and the exit stays counted.
    expect(workerSeries(ready)).toEqual({ starting: 0, serving: 2, configured: 2, exits: workersDuring.exits });

    // SIGTERM to the primary: every worker drains and it exits 0.
    spawned.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal }, output()).toEqual({ code: 0, signal: null });
    expect(stderr()).toBe('');
    expect(lines().find((line) => line.msg === 'workers stopped')).toMatchObject({ pid: primary, workers: 2 });
    for (const pid of workerPids) expect(alive(pid)).toBe(false);
  });
});

// A dashboard and an alert on the workers' series fit a single process too.
describe('/metrics with WORKERS=1', { timeout: 180_000 }, () => {
  const started: ChildProcess[] = [];

  // A test that fails before its SIGTERM leaves its gateway running.
  afterAll(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it.each(['port', 'api'])('exports the workers series as a primary would: 1 serving of 1 configured, no exits (METRICS=%s)', async (metrics) => {
    const spawned = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      // The built-in demo upstream: this test reads only the metrics.
      env: { PATH: process.env.PATH, PORT: '0', METRICS: metrics, METRICS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_UNREADY_MS: '0' },
    });
    started.push(spawned);
    const { exited, lines, stdout, stderr } = captureOutput(spawned, { skipNonJson: true });
    const output = () => `stdout ${stdout()} stderr ${stderr()}`;
    const listening = () => lines().find((line) => line.msg === 'execution-gateway listening');
    await waitFor(() => listening() !== undefined || spawned.exitCode !== null, () => `the gateway to listen; ${output()}`, 90_000);
    // With METRICS=port its own port (it listens before the gateway says it does), with api the API port's /metrics.
    const metricsUrl = metrics === 'port' ? String(lines().find((line) => line.msg === 'metrics listening')!.url) : String(new URL('/metrics', String(listening()!.url)));
    const scrape = await send('GET', metricsUrl);
    expect(scrape.status, scrape.text).toBe(200);
    expect(workerSeries(parseExposition(scrape.text))).toEqual({
      starting: 0,
      serving: 1,
      configured: 1,
      exits: { 'signal/true': 0, 'signal/false': 0, 'exit_code/true': 0, 'exit_code/false': 0 },
    });
    spawned.kill('SIGTERM');
    const [code] = await exited;
    expect(code, output()).toBe(0);
  });
});
