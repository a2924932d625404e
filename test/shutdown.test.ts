/**
 * The drain (src/server/drain.ts) and the shutdown on SIGTERM
 * (src/server/process.ts), as README "Health, readiness and drain" states it:
 *
 * 1. `/ready` answers 503 at once while everything is still served, for
 *    SHUTDOWN_UNREADY_MS;
 * 2. then the listener closes (new connections refused), idle keep-alive
 *    connections close, every live subscription ends with SHUTTING_DOWN then
 *    completes (WebSocket: then closes with 1001), new subscriptions are
 *    refused with it, and requests in flight finish within SHUTDOWN_GRACE_MS
 *    (what outlives it is cut);
 * 3. the upstream pool closes and the process exits 0.
 *
 * In-process suites drive `instance.drain()` on each lane; the process suites
 * spawn `src/main.ts` (one process, and WORKERS=2) and send real signals.
 * The upstream is always the fake REST server on a loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { watchExecution, type ExecutionUpdate } from '../src/client/index.js';
import { demoExecutions, DEMO_TOKEN } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { createLogger } from '../src/logger.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';
import { advance, liveEnv, putExecution, sleep, startLiveHarness, type SubscribingClient, waitFor } from './support/live.js';
import { alive, captureOutput, type LogLine } from './support/process-output.js';

const STATUS_QUERY = (id: string) => `{ execution(id: "${id}") { id status } }`;
const WATCH = /* GraphQL */ `
  subscription Watch($id: ID!) {
    executionUpdates(id: $id) { isFinal cursor execution { id status } }
  }
`;

/** Everything one operation received over either transport, and how it ended. */
class Recorder {
  readonly results: ExecutionResult[] = [];
  completed = false;
  failure: unknown;

  constructor(client: SubscribingClient, variables: Record<string, unknown>, query: string = WATCH) {
    client.subscribe(
      { query, variables },
      {
        next: (result) => this.results.push(result as ExecutionResult),
        error: (error) => (this.failure = error ?? new Error('the subscription failed')),
        complete: () => (this.completed = true),
      },
    );
  }

  /** Results carrying an update. */
  get updates(): unknown[] {
    return this.results.flatMap((result) => (result.data ? [result.data] : []));
  }

  get errorCodes(): unknown[] {
    return this.results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code));
  }

  get ended(): boolean {
    return this.completed || this.failure !== undefined;
  }

  text(): string {
    return JSON.stringify({ completed: this.completed, failure: this.failure === undefined ? undefined : String(this.failure), results: this.results });
  }

  end(timeoutMs = 10_000): Promise<void> {
    return waitFor(() => this.ended, () => `the operation to end; so far ${this.text()}`, timeoutMs);
  }

  received(count: number, timeoutMs = 10_000): Promise<void> {
    return waitFor(() => this.results.length >= count, () => `${count} results; so far ${this.text()}`, timeoutMs);
  }
}

/** A graphql-sse client (distinct connections, no retries) for `url`. */
function sseClient(url: string): SubscribingClient {
  return createSseClient({ url, headers: { authorization: AUTH }, retryAttempts: 0 }) as unknown as SubscribingClient;
}

/** A graphql-ws client for `url` that records how its socket closed. */
function wsClient(url: string): SubscribingClient & { closes: Array<{ code: number; reason: string }> } {
  const closes: Array<{ code: number; reason: string }> = [];
  const client = createWsClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: AUTH },
    // Not lazy: the client would close the socket itself (1000) once its last operation completed; only the gateway closes it here.
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    // The close is recorded below; graphql-ws would also print it (its default is console.error).
    onNonLazyError: () => {},
    on: { closed: (event) => closes.push({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
  }) as unknown as SubscribingClient;
  return Object.assign(client, { closes });
}

/** What a request the drain cut before its answer began is answered with (503). */
const CUT_ERROR = {
  message: 'The gateway shut down before it could answer: send the request again (another replica answers it).',
  extensions: { code: 'SHUTTING_DOWN' },
};

/** POSTs a query with fetch; resolves with status, headers and body, or with the error when the connection was cut. */
async function post(url: string, query: string): Promise<{ status: number; connection: string | null; requestId: string | null; body: ExecutionResult } | { error: unknown }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query }),
    });
    return { status: response.status, connection: response.headers.get('connection'), requestId: response.headers.get('x-request-id'), body: (await response.json()) as ExecutionResult };
  } catch (error) {
    return { error };
  }
}

/** Whether a new TCP connection to `port` is accepted (true) or refused (false). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Checks the async `condition` every 20 ms until it holds; fails naming `what` after `timeoutMs`. */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The state `/ready` reports, by status. */
async function readiness(origin: string): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(`${origin}/ready`, { headers: { connection: 'close' } });
  return { status: response.status, body: (await response.json()) as { status: string } };
}

/** The last result a subscription received ended it with SHUTTING_DOWN, then it completed. */
function expectEndedByShutdown(watcher: Recorder): void {
  expect(watcher.completed, watcher.text()).toBe(true);
  expect(watcher.failure).toBeUndefined();
  expect(watcher.updates.length).toBeGreaterThanOrEqual(1);
  const last = watcher.results.at(-1)!;
  expect(last.data ?? null).toBeNull();
  expect(last.errors?.map((error) => error.extensions?.code)).toEqual(['SHUTTING_DOWN']);
  expect(last.errors?.[0]?.message).toMatch(/shutting down.*eventsAfter/);
}

describe.each(LANES)('drain on the %s lane', (lane) => {
  let harness: Harness;
  const clients: SubscribingClient[] = [];
  const track = <T extends SubscribingClient>(client: T): T => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    // The query held past the unready period must not meet the 5 s attempt deadline first.
    harness = await startLiveHarness(lane, { UPSTREAM_TIMEOUT_MS: '10000' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => harness?.close());

  it('keeps serving while unready, then refuses connections, ends SSE and WebSocket subscriptions with SHUTTING_DOWN and lets the query in flight finish', async () => {
    const { upstream, url } = harness;
    const port = Number(new URL(url).port);
    putExecution(upstream, 'ex_drain_sse', 'workflow_running');
    putExecution(upstream, 'ex_drain_ws', 'workflow_running');
    const overSse = new Recorder(track(sseClient(url)), { id: 'ex_drain_sse' });
    const socket = track(wsClient(url));
    const overWs = new Recorder(socket, { id: 'ex_drain_ws' });
    await waitFor(() => overSse.updates.length >= 1 && overWs.updates.length >= 1, 'the first update of both watches');
    // Held by a slow upstream past the unready period, well within the grace.
    upstream.setFault('ex_demo_6', { kind: 'slow', ms: 4_000 });
    const inFlight = post(url, STATUS_QUERY('ex_demo_6'));
    await waitFor(() => upstream.requestsFor('ex_demo_6').length === 1, 'the query to reach upstream');

    const started = performance.now();
    // 3 s unready, not 1: what step 1 checks can take over a second on a loaded CI machine, and the listener closes under it.
    const drained = harness.instance.drain({ unreadyMs: 3_000, graceMs: 10_000 });
    // 1. Unready: /ready is 503, everything else still served, new connections and subscriptions included.
    expect(await readiness(harness.origin)).toEqual({ status: 503, body: expect.objectContaining({ status: 'draining' }) });
    // Served, and its connection closes once answered: the client's next request opens a new one, which goes elsewhere.
    expect((await post(url, STATUS_QUERY('ex_demo_4'))) as { body: unknown }).toMatchObject({ connection: 'close', body: { data: { execution: { id: 'ex_demo_4' } } } });
    const lateWatcher = new Recorder(track(sseClient(url)), { id: 'ex_demo_4' });
    await lateWatcher.received(1);
    expect(lateWatcher.updates).toHaveLength(1);
    expect(overSse.ended || overWs.ended).toBe(false);
    expect(await accepts(port)).toBe(true);

    // 2. The listener closes: subscriptions end with SHUTTING_DOWN, then complete.
    await Promise.all([overSse.end(), overWs.end(), lateWatcher.end()]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(3_000 - 5);
    for (const watcher of [overSse, overWs, lateWatcher]) expectEndedByShutdown(watcher);
    // The WebSocket closes with 1001 Going Away once its operations ended.
    await waitFor(() => socket.closes.length > 0, 'the WebSocket to close');
    expect(socket.closes).toEqual([{ code: 1001, reason: 'Going away: the gateway is shutting down' }]);
    expect(await accepts(port)).toBe(false);

    // The query in flight finishes with its data, and says its connection closes.
    const answer = await inFlight;
    expect(answer).toMatchObject({ status: 200, body: { data: { execution: { id: 'ex_demo_6', status: 'WORKFLOW_SUCCEEDED' } } } });
    expect((answer as { connection: string | null }).connection).toBe('close');

    // 3. Done: counts in the report and in the two log lines.
    const report = await drained;
    expect(report).toMatchObject({ subscriptionsEnded: 3, requestsCut: 0, webSocketsCut: 0 });
    // The query and the two event streams.
    expect(report.requestsFinished).toBe(3);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
    const start = harness.logs.find((line) => String(line.msg).startsWith('draining'));
    // The query and the SSE stream over HTTP; the WebSocket's operation is counted as a subscription and a socket.
    expect(start).toMatchObject({ unreadyMs: 3_000, graceMs: 10_000, requestsInFlight: 2, subscriptions: 2, webSockets: 1 });
    const end = harness.logs.find((line) => String(line.msg).startsWith('drained'));
    expect(end).toMatchObject({ level: 30, msg: 'drained: every request finished', subscriptionsEnded: 3, requestsFinished: 3, requestsCut: 0 });
    expect(harness.rawLogs).not.toContain(DEMO_TOKEN);
  });
});

describe.each(LANES)('drain details on the %s lane', (lane) => {
  const started: Harness[] = [];
  const clients: SubscribingClient[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const harness = await startLiveHarness(lane, env);
    started.push(harness);
    return harness;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    await Promise.all(started.splice(0).map((harness) => harness.close()));
  });

  it('closes idle keep-alive connections when the listener closes, and a busy one after its response', async () => {
    const harness = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    const send = (query: string) =>
      new Promise<{ socket: import('node:net').Socket; connection: string | undefined; body: string }>((resolve, reject) => {
        const body = JSON.stringify({ query });
        const outgoing = httpRequest(harness.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: AUTH, 'content-length': Buffer.byteLength(body) } }, (response) => {
          // Taken now: the agent detaches it from the response once the body is read.
          const { socket } = response;
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve({ socket, connection: response.headers.connection, body: text }));
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    try {
      harness.upstream.setFault('ex_demo_7', { kind: 'slow', ms: 700 });
      // Two keep-alive connections: one idle when the listener closes, one busy with a slow query.
      const [idle] = await Promise.all([send(STATUS_QUERY('ex_demo_4')), send(STATUS_QUERY('ex_demo_5'))]);
      expect(idle.connection).toBe('keep-alive');
      const idleClosed = once(idle.socket, 'close');
      const busy = send(STATUS_QUERY('ex_demo_7'));
      await waitFor(() => harness.upstream.requestsFor('ex_demo_7').length === 1, 'the slow query to reach upstream');
      const drained = harness.instance.drain({ unreadyMs: 100, graceMs: 5_000 });
      await idleClosed;
      const answer = await busy;
      expect(JSON.parse(answer.body)).toMatchObject({ data: { execution: { id: 'ex_demo_7' } } });
      expect(answer.connection).toBe('close');
      await drained;
      expect(answer.socket.destroyed || (await once(answer.socket, 'close'), true)).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('behind a balancer that keeps its keep-alive connections (L4, kube-proxy): no query fails, as every answer while unready closes its connection', async () => {
    // Replica A drains, B does not. Like an L4 balancer (kube-proxy, a TCP load balancer), the clients' connections
    // stay with the replica they were opened to for as long as it keeps them; a new connection goes to a replica in
    // rotation, which A is not from the moment its /ready says 503.
    const [a, b] = [await start(), await start()];
    let inRotation = Number(new URL(a.url).port);
    class Balancer extends Agent {
      override createConnection(): Duplex {
        return connect(inRotation, '127.0.0.1');
      }
    }
    const balancer = new Balancer({ keepAlive: true, maxSockets: 32 });
    const send = () =>
      new Promise<number>((resolve, reject) => {
        const body = JSON.stringify({ query: STATUS_QUERY('ex_demo_4') });
        const outgoing = httpRequest(a.url, { method: 'POST', agent: balancer, headers: { 'content-type': 'application/json', authorization: AUTH, 'content-length': Buffer.byteLength(body) } }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    const failures: string[] = [];
    let answered = 0;
    let running = true;
    const client = async () => {
      while (running) {
        await send().then(
          (status) => (status === 200 ? answered++ : failures.push(`status ${status}`)),
          (error: Error) => failures.push(error.message),
        );
        await sleep(Math.random() * 3);
      }
    };
    try {
      const clients = Array.from({ length: 32 }, client);
      await waitFor(() => answered >= 100, 'the clients to be under way');
      // 2 s unready, not 0.3: on a loaded CI machine a client's connection to A outlasted 0.3 s without an answer that
      // closed it, and met the listener's close (ECONNRESET), as README says of an unready period shorter than the balancer's.
      const drained = a.instance.drain({ unreadyMs: 2_000, graceMs: 4_000 });
      inRotation = Number(new URL(b.url).port);
      const report = await drained;
      const before = answered;
      await waitFor(() => answered >= before + 100, 'B to answer the clients');
      running = false;
      await Promise.all(clients);
      expect(failures).toEqual([]);
      expect(report.requestsCut).toBe(0);
    } finally {
      balancer.destroy();
    }
  });

  it('refuses a new subscription with SHUTTING_DOWN during the grace; the WebSocket closes with 1001 once its query finished', async () => {
    const harness = await start();
    putExecution(harness.upstream, 'ex_slow_ws', 'workflow_failed');
    harness.upstream.setFault('ex_slow_ws', { kind: 'slow', ms: 800 });
    const socket = wsClient(harness.url);
    clients.push(socket);
    const query = new Recorder(socket, {}, STATUS_QUERY('ex_slow_ws'));
    await waitFor(() => harness.upstream.requestsFor('ex_slow_ws').length === 1, 'the query to reach upstream');
    const drained = harness.instance.drain({ unreadyMs: 50, graceMs: 5_000 });
    await waitFor(() => harness.instance.health.readiness === 'draining', 'the drain to start');
    // The grace has begun once the listener closed (a watch started before, in the unready period, is served).
    const { port } = new URL(harness.url);
    await eventually(async () => !(await accepts(Number(port))), 'the listener to close');
    const late = new Recorder(socket, { id: 'ex_demo_4' });
    await late.end();
    expect(late.completed).toBe(true);
    expect(late.results).toHaveLength(1);
    expect(late.errorCodes).toEqual(['SHUTTING_DOWN']);
    // No upstream call for a refused watch.
    expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(0);
    expect(socket.closes).toEqual([]);
    await query.end();
    expect(query.results).toEqual([{ data: { execution: { id: 'ex_slow_ws', status: 'WORKFLOW_FAILED' } }, extensions: expect.anything() }]);
    await waitFor(() => socket.closes.length > 0, 'the WebSocket to close');
    expect(socket.closes[0]!.code).toBe(1001);
    expect(await drained).toMatchObject({ requestsCut: 0, webSocketsCut: 0 });
  });

  it('answers a request that arrives after the listener closed on a connection accepted before, whole or begun', async () => {
    const harness = await start();
    const { port } = new URL(harness.url);
    const head = `GET /graphql?query=${encodeURIComponent(STATUS_QUERY('ex_demo_4'))} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`;
    // Two connections a balancer opened while the gateway was unready: one has sent nothing yet, one half its head.
    const opened = [0, 1].map(() => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (text += chunk));
      const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(text)));
      socket.on('error', () => undefined);
      return { socket, ended };
    });
    const drained = harness.instance.drain({ unreadyMs: 300, graceMs: 5_000 });
    await Promise.all(opened.map(({ socket }) => once(socket, 'connect')));
    opened[1]!.socket.write(head.slice(0, 40));
    await eventually(async () => !(await accepts(Number(port))), 'the listener to close');
    await sleep(50);
    for (const { socket } of opened) socket.write(head.slice(socket === opened[1]!.socket ? 40 : 0));
    for (const { ended } of opened) {
      const text = await ended;
      expect(text).toMatch(/^HTTP\/1\.1 200 [^]*\r\nconnection: close\r\n/i);
      expect(text).toContain('"id":"ex_demo_4","status":"WORKFLOW_RUNNING"');
    }
    expect(await drained).toMatchObject({ requestsFinished: 2, requestsCut: 0 });
  });

  it('waits for the last answer\'s connection to stop lingering only within SHUTDOWN_GRACE_MS', async () => {
    const harness = await start();
    putExecution(harness.upstream, 'ex_slow_linger', 'workflow_failed');
    harness.upstream.setFault('ex_slow_linger', { kind: 'slow', ms: 300 });
    // A client that never closes its side (half-open: the server's end does not end it): once answered, its connection
    // lingers for LINGER_MS (2 s).
    const socket = connect({ port: Number(new URL(harness.url).port), host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    try {
      socket.write(`GET /graphql?query=${encodeURIComponent(STATUS_QUERY('ex_slow_linger'))} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`);
      await waitFor(() => harness.upstream.requestsFor('ex_slow_linger').length === 1, 'the query to reach upstream');
      const began = performance.now();
      const report = await harness.instance.drain({ unreadyMs: 0, graceMs: 800 });
      const took = performance.now() - began;
      expect(report).toMatchObject({ requestsFinished: 1, requestsCut: 0 });
      expect(received).toMatch(/^HTTP\/1\.1 200 [^]*\r\nconnection: close\r\n/i);
      // The drain waited for the linger until the grace ran out, not for the whole LINGER_MS.
      expect(took).toBeGreaterThanOrEqual(800 - 5);
      expect(took).toBeLessThan(1_800);
    } finally {
      socket.destroy();
    }
  });

  it('cuts what outlives SHUTDOWN_GRACE_MS, cancels its upstream call, closes the pool and reports it', async () => {
    const harness = await start({ METRICS: 'api' });
    harness.upstream.setFault('ex_demo_3', { kind: 'hang' });
    const hanging = post(harness.url, STATUS_QUERY('ex_demo_3'));
    await waitFor(() => harness.upstream.inFlight === 1, 'the query to hang upstream');
    const began = performance.now();
    const report = await harness.instance.drain({ unreadyMs: 50, graceMs: 1_000 });
    const took = performance.now() - began;
    expect(report).toMatchObject({ requestsCut: 1, requestsFinished: 0, webSocketsCut: 0 });
    expect(took).toBeGreaterThanOrEqual(1_050 - 5);
    expect(took).toBeLessThan(2_500);
    expect(report.durationMs).toBeGreaterThanOrEqual(1_050 - 5);
    expect(report.durationMs).toBeLessThanOrEqual(Math.ceil(took));
    // Its client is told, with a code and its request id, where it got an empty reply (a reset) it could not tell from a crash.
    expect(await hanging).toEqual({ status: 503, connection: 'close', requestId: expect.any(String), body: { errors: [CUT_ERROR] } });
    // The cut request's upstream call was cancelled, so the pool could close.
    await waitFor(() => harness.upstream.inFlight === 0, 'the upstream call to be cancelled');
    const end = harness.logs.find((line) => String(line.msg).startsWith('drained'));
    expect(end).toMatchObject({ level: 40, requestsCut: 1 });
    // Its access line says the drain cut it: CLIENT_CLOSED_REQUEST hid what a deploy cut among client hang-ups.
    await waitFor(() => harness.logs.some((line) => line.component === 'access'), 'the access line');
    // A 503, as the count of answers says too, never the 200 the pipeline made of SHUTTING_DOWN afterwards, which put a
    // deploy's cuts among successes on every error rate read from `status`; and sent whole, so not `aborted`.
    const lines = harness.logs.filter((line) => line.component === 'access');
    expect(lines).toEqual([expect.objectContaining({ status: 503, errorCodes: ['SHUTTING_DOWN'], requestId: (await hanging as { requestId: string }).requestId })]);
    expect(lines[0]).not.toHaveProperty('aborted');
    expect(await harness.metricLines('gateway_http_responses_total')).toEqual(['gateway_http_responses_total{method="POST",statusCode="503",transport="http"} 1']);
  });

  it('a request whose body was still arriving when SHUTDOWN_GRACE_MS ran out is logged under SHUTTING_DOWN and 503, not as the 400 its cut body parses to', async () => {
    const harness = await start({ METRICS: 'api' });
    const { port } = new URL(harness.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = once(socket, 'close');
    // Its 100 Continue says the edge took the request and waits for its body.
    socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n`);
    await waitFor(() => received.startsWith('HTTP/1.1 100 Continue'), 'the 100 Continue');
    socket.write('{"query":');
    await sleep(20);
    const report = await harness.instance.drain({ unreadyMs: 0, graceMs: 200 });
    expect(report).toMatchObject({ requestsCut: 1 });
    await closed;
    await waitFor(() => harness.logs.some((line) => line.component === 'access'), 'the access line');
    const lines = harness.logs.filter((line) => line.component === 'access');
    // The gateway cut the body short, not the client: no 400 went out, and none is counted as the client's mistake.
    expect(lines).toEqual([expect.objectContaining({ status: 503, aborted: true })]);
    expect(lines[0]!.errorCodes).toContain('SHUTTING_DOWN');
    expect(await harness.metricLines('gateway_http_responses_total')).toEqual(['gateway_http_responses_total{method="POST",statusCode="503",transport="http"} 1']);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});

describe('the typed watch across a drain', () => {
  let first: Harness | undefined;
  let second: GatewayInstance | undefined;
  afterEach(async () => {
    await first?.close();
    await second?.close();
  });

  it('subscribes again after SHUTTING_DOWN, from its last cursor, and misses nothing', async () => {
    first = await startLiveHarness('fast');
    const { upstream } = first;
    const port = Number(new URL(first.url).port);
    putExecution(upstream, 'ex_across', 'workflow_running', { eventCount: 2 });
    const seen: ExecutionUpdate[] = [];
    const watching = (async () => {
      for await (const update of watchExecution(first!.url, AUTH, 'ex_across', { retryDelayMs: 50 })) seen.push(update);
    })();
    await waitFor(() => seen.length >= 1, 'the first update');
    const before = advance(upstream, 'ex_across', 'workflow_running', 2);
    await waitFor(() => seen.flatMap((update) => update.newEvents).length >= 2, 'the events appended before the drain');
    // The stream ended with SHUTTING_DOWN, not cut at the end of the grace.
    expect(await first.instance.drain({ unreadyMs: 0, graceMs: 2_000 })).toMatchObject({ subscriptionsEnded: 1, requestsCut: 0 });
    // Appended while no gateway serves; the replacement takes the same port.
    const during = advance(upstream, 'ex_across', 'workflow_running', 3);
    second = createInstance(first.config, { upstreamUrl: upstream.url, logger: createLogger('silent') });
    await second.listen(port, '127.0.0.1');
    const after = advance(upstream, 'ex_across', 'workflow_succeeded', 1);
    await Promise.race([watching, sleep(10_000).then(() => Promise.reject(new Error(`the watch did not end; seen ${JSON.stringify(seen)}`)))]);
    expect(seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id))).toEqual([...before, ...during, ...after]);
    expect(seen.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
  });
});

/* ---------------------------------------------------------------------------
 * Real processes: `node --import tsx src/main.ts`, real signals.
 * ------------------------------------------------------------------------- */

// Long enough that the checks made while unready (a log line read from the child, /ready, a query) finish within it on a loaded machine.
const UNREADY_MS = 1_500;
const GRACE_MS = 6_000;
// Still in flight when the unready period ends.
const SLOW_MS = 3_500;

interface Gateway {
  child: ChildProcess;
  url: string;
  origin: string;
  port: number;
  lines(): LogLine[];
  stdout(): string;
  stderr(): string;
  exited: Promise<[code: number | null, signal: NodeJS.Signals | null]>;
}

const children: ChildProcess[] = [];

async function spawnGateway(upstream: FakeUpstream, env: Record<string, string>, { detached = false } = {}): Promise<Gateway> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url),
    detached,
    env: {
      PATH: process.env.PATH,
      UPSTREAM_URL: upstream.url,
      PORT: '0',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_UNREADY_MS: String(UNREADY_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      UPSTREAM_TIMEOUT_MS: '10000',
      ...liveEnv(),
      ...env,
    },
  });
  children.push(child);
  const output = captureOutput(child);
  const { lines } = output;
  await waitFor(
    () => lines().some((line) => line.msg === 'execution-gateway listening') || child.exitCode !== null,
    () => `the gateway to listen; stdout ${output.stdout()} stderr ${output.stderr()}`,
    40_000,
  );
  const url = String(lines().find((line) => line.msg === 'execution-gateway listening')!.url);
  const origin = new URL(url).origin;
  return { child, url, origin, port: Number(new URL(url).port), ...output };
}

/**
 * SIGTERM with a query in flight (held by a slow upstream), an open SSE
 * subscription and an open WebSocket, checked against the timeline; returns
 * the gateway after it exited.
 */
async function drainUnderLoad(upstream: FakeUpstream, gateway: Gateway, tag: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; sinceSignal: number }> {
  const { url, origin, port } = gateway;
  putExecution(upstream, `ex_${tag}_sse`, 'workflow_running');
  putExecution(upstream, `ex_${tag}_ws`, 'workflow_running');
  const sse = sseClient(url);
  const socket = wsClient(url);
  try {
    const overSse = new Recorder(sse, { id: `ex_${tag}_sse` });
    const overWs = new Recorder(socket, { id: `ex_${tag}_ws` });
    await waitFor(() => overSse.updates.length >= 1 && overWs.updates.length >= 1, () => `the first updates; ${overSse.text()} ${overWs.text()}`);
    upstream.setFault(`ex_${tag}_slow`, { kind: 'slow', ms: SLOW_MS });
    putExecution(upstream, `ex_${tag}_slow`, 'workflow_succeeded');
    const inFlight = post(url, STATUS_QUERY(`ex_${tag}_slow`));
    await waitFor(() => upstream.requestsFor(`ex_${tag}_slow`).length === 1, 'the query to reach upstream');
    expect((await readiness(origin)).status).toBe(200);

    const signalled = performance.now();
    gateway.child.kill(signal);
    // /ready turns 503 while the gateway still serves.
    await waitFor(() => gateway.lines().filter((line) => String(line.msg).startsWith('draining')).length >= 1, 'the drain to start');
    const unready = await readiness(origin);
    expect(unready).toEqual({ status: 503, body: expect.objectContaining({ status: 'draining' }) });
    expect(await post(url, STATUS_QUERY('ex_demo_4'))).toMatchObject({ status: 200, body: { data: { execution: { id: 'ex_demo_4' } } } });
    expect(overSse.ended || overWs.ended).toBe(false);

    // After the unready period: new connections refused, subscriptions ended with SHUTTING_DOWN.
    await eventually(async () => !(await accepts(port)), 'new connections to be refused', UNREADY_MS + 5_000);
    await Promise.all([overSse.end(), overWs.end()]);
    expect(performance.now() - signalled).toBeGreaterThanOrEqual(UNREADY_MS - 5);
    expectEndedByShutdown(overSse);
    expectEndedByShutdown(overWs);
    await waitFor(() => socket.closes.length > 0, 'the WebSocket to close');
    expect(socket.closes[0]!.code).toBe(1001);

    // The query in flight completes with its data.
    const answer = await inFlight;
    expect(answer).toMatchObject({ status: 200, body: { data: { execution: { id: `ex_${tag}_slow`, status: 'WORKFLOW_SUCCEEDED' } } } });
    // It was still in flight when the listener closed.
    expect(performance.now() - signalled).toBeGreaterThanOrEqual(UNREADY_MS);

    const [code] = await gateway.exited;
    return { code, sinceSignal: performance.now() - signalled };
  } finally {
    await sse.dispose();
    await socket.dispose();
  }
}

// Each test starts real processes through tsx: slow on a busy 2-core machine.
describe('SIGTERM to the process', { timeout: 90_000 }, () => {
  let upstream: FakeUpstream;
  beforeAll(async () => {
    upstream = await FakeUpstream.start({ executions: demoExecutions() });
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  afterAll(() => upstream?.close());

  // The drain resolved as the last answer went out and the process exited at once: its exit reset the connections still
  // lingering (./src/server/lingering-close.ts), and each client still sending lost the answer it had not read (EPIPE, 5 of 5).
  it('exits only once the last answers\' connections stopped lingering: a client still sending reads its answer', async () => {
    const gateway = await spawnGateway(upstream, { SHUTDOWN_UNREADY_MS: '0' });
    // One execution per client, so each request is its own upstream call, seen there before the signal is sent: a
    // connection whose request the gateway had not read when the drain began is closed unanswered, as it should be.
    const ids = ['ex_demo_2', 'ex_demo_3', 'ex_demo_4', 'ex_demo_5', 'ex_demo_6'];
    for (const id of ids) upstream.setFault(id, { kind: 'slow', ms: 500 });
    const seenBefore = ids.map((id) => upstream.requestsFor(id).length);
    try {
      const answers = ids.map(async (id) => {
        const query = encodeURIComponent(STATUS_QUERY(id));
        const socket = connect(gateway.port, '127.0.0.1');
        let text = '';
        let error: string | undefined;
        // Reads only later, as a client that writes all it has before it reads: the answer waits in its buffer.
        socket.pause();
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', (failure: NodeJS.ErrnoException) => (error = failure.code));
        socket.write(`GET /graphql?query=${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization: ${AUTH}\r\nconnection: close\r\n\r\n`);
        // Requests pipelined behind the one that closes the connection: the server reads and drops them as it lingers.
        const more = setInterval(() => socket.writable && socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'), 20);
        setTimeout(() => socket.resume(), 1_000);
        // Not events.once: it rejects on the 'error' this is about.
        await new Promise((resolve) => socket.once('close', resolve));
        clearInterval(more);
        return `${text.split('\r\n')[0]}${error ? ` (${error})` : ''}`;
      });
      await waitFor(() => ids.every((id, index) => upstream.requestsFor(id).length > seenBefore[index]!), 'every request to reach upstream');
      gateway.child.kill('SIGTERM');
      expect(await Promise.all(answers)).toEqual(Array(5).fill('HTTP/1.1 200 OK'));
      // Its exit, heard since the spawn: it may come before the answers' sockets report their close (a handle's close
      // is a later phase of the event loop), and a listener added only now never heard it.
      const [code] = await gateway.exited;
      expect(code).toBe(0);
    } finally {
      for (const id of ids) upstream.setFault(id, undefined);
    }
  });

  // SIGHUP too: a closed terminal ended the process at once (node resets the `nohup` that would have ignored it).
  it.each<[LaneName, NodeJS.Signals]>([
    ['fast', 'SIGTERM'],
    ['full', 'SIGTERM'],
    ['fast', 'SIGHUP'],
  ])('drains on the %s lane on %s and exits 0 with its two log lines and nothing else', async (lane, signal) => {
    const gateway = await spawnGateway(upstream, { FAST_LANE: String(lane === 'fast') });
    const { code, sinceSignal } = await drainUnderLoad(upstream, gateway, `single_${lane}_${signal}`, signal);
    expect(code).toBe(0);
    expect(sinceSignal).toBeLessThan(GRACE_MS);
    expect(gateway.stderr()).toBe('');
    // Every line is pino's JSON (lines() parses each); besides the access log, the lifecycle is three lines.
    const lifecycle = gateway.lines().filter((line) => /^(execution-gateway|draining|drained|shutting)/.test(String(line.msg)));
    expect(lifecycle.map((line) => line.msg)).toEqual(['execution-gateway listening', expect.stringMatching(/^draining:/), 'drained: every request finished']);
    expect(lifecycle[1]).toMatchObject({ level: 30, cause: signal, unreadyMs: UNREADY_MS, graceMs: GRACE_MS, requestsInFlight: 2, subscriptions: 2, webSockets: 1 });
    // Finished after the listener closed: the query in flight and the SSE stream.
    expect(lifecycle[2]).toMatchObject({ level: 30, subscriptionsEnded: 2, requestsFinished: 2, requestsCut: 0, webSocketsCut: 0 });
    expect(gateway.stdout()).not.toContain(DEMO_TOKEN);
  });

  it('with WORKERS=2: each worker drains, none is replaced, and the primary exits 0', async () => {
    const gateway = await spawnGateway(upstream, { WORKERS: '2' });
    const { code } = await drainUnderLoad(upstream, gateway, 'workers');
    expect(code).toBe(0);
    expect(gateway.stderr()).toBe('');
    const lines = gateway.lines();
    const primary = gateway.child.pid;
    const drains = lines.filter((line) => String(line.msg).startsWith('draining'));
    const drained = lines.filter((line) => String(line.msg).startsWith('drained'));
    // Both workers drained, each once, and none of them is the primary.
    const workers = [...new Set(drains.map((line) => line.pid))];
    expect(workers).toHaveLength(2);
    expect(workers).not.toContain(primary);
    expect(drained.map((line) => line.pid).sort()).toEqual([...workers].sort());
    expect(drained.every((line) => line.requestsCut === 0)).toBe(true);
    // The subscriptions ended across the workers add up.
    expect(drained.reduce((sum, line) => sum + Number(line.subscriptionsEnded), 0)).toBe(2);
    expect(lines.find((line) => String(line.msg).startsWith('shutting down'))).toMatchObject({ pid: primary, signal: 'SIGTERM', workers: 2 });
    expect(lines.find((line) => line.msg === 'workers stopped')).toMatchObject({ pid: primary, level: 30, workers: 2 });
    expect(lines.some((line) => String(line.msg).includes('starting another'))).toBe(false);
    for (const pid of workers) expect(alive(Number(pid))).toBe(false);
  });

  it('cuts a request that outlives SHUTDOWN_GRACE_MS and still exits 0, with a warning', async () => {
    const gateway = await spawnGateway(upstream, { SHUTDOWN_UNREADY_MS: '100', SHUTDOWN_GRACE_MS: '500' });
    upstream.setFault('ex_demo_2', { kind: 'hang' });
    const hanging = post(gateway.url, STATUS_QUERY('ex_demo_2'));
    await waitFor(() => upstream.requestsFor('ex_demo_2').length >= 1, 'the query to reach upstream');
    const signalled = performance.now();
    gateway.child.kill('SIGTERM');
    const [code] = await gateway.exited;
    const took = performance.now() - signalled;
    expect(code).toBe(0);
    expect(took).toBeGreaterThanOrEqual(600 - 5);
    expect(took).toBeLessThan(5_000);
    // Answered before the process exited: a 503 with its code, never the empty reply of a connection the exit reset.
    expect(await hanging).toMatchObject({ status: 503, body: { errors: [CUT_ERROR] } });
    expect(gateway.stderr()).toBe('');
    expect(gateway.lines().find((line) => String(line.msg).startsWith('drained'))).toMatchObject({ level: 40, msg: expect.stringMatching(/grace period ran out/), requestsCut: 1 });
    // The line says 503, as the client got, never the 200 the pipeline made of SHUTTING_DOWN after the cut.
    expect(gateway.lines().filter((line) => line.component === 'access')).toEqual([expect.objectContaining({ status: 503, errorCodes: ['SHUTTING_DOWN'] })]);
    upstream.setFault('ex_demo_2', undefined);
  });

  // As under `npm start` on Ctrl-C (or `timeout`, or systemd's KillMode=control-group): the process group's copy, then npm's.
  it.each([['1'], ['2']])('drains and exits 0 when the same signal arrives twice at once, from its process group and from npm (WORKERS=%s)', async (workers) => {
    const gateway = await spawnGateway(upstream, { SHUTDOWN_UNREADY_MS: '300', LOG_LEVEL: 'debug', WORKERS: workers }, { detached: true });
    process.kill(-gateway.child.pid!, 'SIGINT');
    // npm forwards its copy once its own handler ran; sent back to back, the kernel would merge the two into one.
    await sleep(100);
    gateway.child.kill('SIGINT');
    const [code] = await gateway.exited;
    expect(code, gateway.stdout()).toBe(0);
    const lines = gateway.lines();
    // Each worker heard the group's copy itself, and its primary's word after it.
    const drained = lines.filter((line) => String(line.msg).startsWith('drained'));
    expect(drained).toHaveLength(Number(workers));
    for (const line of drained) expect(line).toMatchObject({ level: 30, msg: 'drained: every request finished' });
    expect(lines.find((line) => String(line.msg).startsWith('the same signal again'))).toMatchObject({ level: 20, signal: 'SIGINT', pid: gateway.child.pid });
    expect(lines.some((line) => String(line.msg).startsWith('second signal'))).toBe(false);
    expect(gateway.stderr()).toBe('');
  });

  it('exits at once with code 1 on the same signal sent again later during the drain', async () => {
    const gateway = await spawnGateway(upstream, { SHUTDOWN_UNREADY_MS: '30000' });
    gateway.child.kill('SIGTERM');
    await waitFor(() => gateway.lines().some((line) => String(line.msg).startsWith('draining')), 'the drain to start');
    // Past the window in which the same signal is taken for a copy of the first, counted from when
    // the gateway took the first (its draining line), however late a loaded machine made that.
    await sleep(600);
    const signalled = performance.now();
    gateway.child.kill('SIGTERM');
    const [code] = await gateway.exited;
    expect(code).toBe(1);
    expect(performance.now() - signalled).toBeLessThan(3_000);
    expect(gateway.lines().find((line) => String(line.msg).startsWith('second signal'))).toMatchObject({ level: 40, signal: 'SIGTERM' });
  });

  it('exits at once with code 1 on a second signal during the drain', async () => {
    const gateway = await spawnGateway(upstream, { SHUTDOWN_UNREADY_MS: '30000' });
    gateway.child.kill('SIGTERM');
    await waitFor(() => gateway.lines().some((line) => String(line.msg).startsWith('draining')), 'the drain to start');
    const signalled = performance.now();
    gateway.child.kill('SIGINT');
    const [code] = await gateway.exited;
    expect(code).toBe(1);
    expect(performance.now() - signalled).toBeLessThan(3_000);
    expect(gateway.lines().find((line) => String(line.msg).startsWith('second signal'))).toMatchObject({ level: 40, msg: 'second signal during shutdown: exiting at once', signal: 'SIGINT' });
    expect(gateway.lines().some((line) => String(line.msg).startsWith('drained'))).toBe(false);
    expect(gateway.stderr()).toBe('');
  });
});

// The process listens for signals once its modules are loaded (a second or more; a single process only once it
// listens): a SIGTERM before that ended it with node's default, 143 and not a line, with WORKERS=1 and 2 alike.
describe('a signal while the process starts', { timeout: 90_000 }, () => {
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  // A single process put on its drain's handlers only once its metrics port listened too: a SIGTERM while that port
  // bound, the API port already serving (and /ready 200), exited 0 at once "before it was ready", cutting the
  // request in flight.
  /**
   * Starts one process (WORKERS=1) whose metrics port binds TEST_HOLD_METRICS_LISTEN_MS after its API port
   * listens, sends a status query that upstream answers slowly, sends SIGTERM while it is in flight, and expects
   * the drain to answer it and the process to exit 0. Returns the process's output.
   */
  async function sigtermWhileMetricsBinds(
    upstream: FakeUpstream,
    id: string,
    env: Record<string, string>,
    afterSignal: (output: ReturnType<typeof captureOutput>) => Promise<void> = async () => undefined,
  ): Promise<ReturnType<typeof captureOutput>> {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/hold-metrics-listen.mjs', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      env: { PATH: process.env.PATH, UPSTREAM_URL: upstream.url, PORT: '0', METRICS: 'port', LOG_LEVEL: 'info', SHUTDOWN_UNREADY_MS: '0', SHUTDOWN_GRACE_MS: '10000', ...env },
    });
    children.push(child);
    const output = captureOutput(child);
    const listening = () => /test: the API port listens on (\d+)/.exec(output.stderr());
    await waitFor(() => listening() !== null || child.exitCode !== null, () => `the API port to listen; stderr ${output.stderr()}`, 40_000);
    const inFlight = post(`http://127.0.0.1:${listening()![1]}/graphql`, STATUS_QUERY(id));
    await waitFor(() => upstream.requestsFor(id).length === 1, 'the query to reach upstream');
    child.kill('SIGTERM');
    await afterSignal(output);
    expect(await inFlight).toMatchObject({ status: 200, body: { data: { execution: { id, status: 'WORKFLOW_SUCCEEDED' } } } });
    const [code, signal] = await output.exited;
    expect({ code, signal }, output.stderr()).toEqual({ code: 0, signal: null });
    return output;
  }

  it('WORKERS=1: SIGTERM once the API port listens, while the metrics port binds, drains what the API port serves', async () => {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    try {
      const id = 'ex_metrics_binding_slow';
      putExecution(upstream, id, 'workflow_succeeded');
      upstream.setFault(id, { kind: 'slow', ms: 1_000 });
      // Longer than the whole test: the metrics port listens only after the process exited.
      const output = await sigtermWhileMetricsBinds(upstream, id, { METRICS_PORT: '0', TEST_HOLD_METRICS_LISTEN_MS: '60000' });
      expect(output.stderr()).not.toContain('before it was ready');
      const messages = output.lines().map((line) => String(line.msg));
      expect(messages.filter((message) => message.startsWith('draining'))).toHaveLength(1);
      // Stopped before it was all up: it never said it listened.
      expect(messages).not.toContain('execution-gateway listening');
    } finally {
      await upstream.close();
    }
  });

  // The metrics port failing to bind once the drain had begun exited 1 there and then, cutting the request the drain
  // was waiting for: the drain decides the exit, and the port's failure is a warning.
  it('WORKERS=1: a metrics port that fails to bind during the drain is one warning; the drain ends it, 0', async () => {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    // The port the gateway is told to serve metrics on, already taken.
    const taken = createNetServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    // The metrics port binds (and fails) once the drain has begun, when the test removes this file: 2 s after the API
    // port listened, as it was, could come before the signal on a loaded machine, whose first query is slow.
    const holdDir = mkdtempSync(join(tmpdir(), 'gateway-hold-metrics-'));
    const hold = join(holdDir, 'hold');
    writeFileSync(hold, '');
    try {
      const id = 'ex_metrics_port_taken_draining';
      putExecution(upstream, id, 'workflow_succeeded');
      // Past the metrics port's attempt: the drain still waits for this answer when the port fails.
      upstream.setFault(id, { kind: 'slow', ms: 4_000 });
      const output = await sigtermWhileMetricsBinds(
        upstream,
        id,
        { METRICS_HOST: '127.0.0.1', METRICS_PORT: String((taken.address() as AddressInfo).port), TEST_HOLD_METRICS_FILE: hold },
        async (started) => {
          await waitFor(() => started.lines().some((line) => String(line.msg).startsWith('draining')), () => `the drain to begin; ${started.stderr()}`);
          rmSync(hold);
        },
      );
      expect(output.stderr()).not.toContain('execution-gateway: cannot serve metrics');
      const lines = output.lines();
      const warnings = lines.filter((line) => String(line.msg).includes('cannot serve metrics'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ level: 40, msg: expect.stringMatching(/EADDRINUSE.*the drain goes on/) });
      // Told after the drain began, and the drain ended after it.
      const messages = lines.map((line) => String(line.msg));
      expect(messages.findIndex((message) => message.startsWith('draining'))).toBeLessThan(messages.indexOf(String(warnings[0]!.msg)));
      expect(messages.some((message) => message.startsWith('drained'))).toBe(true);
      expect(messages).not.toContain('execution-gateway listening');
    } finally {
      rmSync(holdDir, { recursive: true, force: true });
      taken.close();
      await upstream.close();
    }
  });

  it.each([
    ['1', 'SIGTERM'],
    ['2', 'SIGTERM'],
    ['1', 'SIGINT'],
    ['1', 'SIGHUP'],
  ] as const)('WORKERS=%s: %s while the modules load exits 0 with one line saying it stopped before it was ready', async (workers, sent) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './test/support/signal-listeners.mjs', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url),
      env: { PATH: process.env.PATH, UPSTREAM_URL: 'http://127.0.0.1:9', PORT: '0', METRICS_PORT: '0', LOG_LEVEL: 'info', WORKERS: workers },
    });
    children.push(child);
    const output = captureOutput(child);
    // Sent as soon as the process listens for signals at all: the rest of its modules are still loading.
    await waitFor(() => output.stderr().includes('test: listening for SIGTERM') || child.exitCode !== null, () => `the process to listen for signals; stderr ${output.stderr()}`, 40_000);
    child.kill(sent);
    const [code, signal] = await output.exited;
    expect({ code, signal }, output.stderr()).toEqual({ code: 0, signal: null });
    expect(output.stderr().split('\n').filter((line) => line.startsWith('execution-gateway:'))).toEqual([
      `execution-gateway: stopped by ${sent} while starting, before it was ready`,
    ]);
    // Nothing had started: no log line, no worker, no listener.
    expect(output.lines()).toEqual([]);
  });
});
