/**
 * Prometheus metrics (README "Configuration": METRICS, src/telemetry/metrics.ts),
 * read the way Prometheus reads them: the text exposition, parsed strictly.
 *
 * - Where `/metrics` answers under each METRICS setting, and the separate
 *   metrics server (serveMetrics) on its own.
 * - One pipeline: an operation is counted once, with its type and bounded name,
 *   on both lanes and over every transport, subscriptions included.
 * - Exact counts where the fake upstream can count with us: attempts by
 *   outcome and attempt number, retries, errors by the code the client sees,
 *   cache, shared calls, bulkhead, circuit, live gauges, data warnings.
 * - Bounded labels, as a property: random operation names, ids, tokens and
 *   request ids never appear in a scrape.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { getOperationAST, parse, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION, DEMO_TOKEN, demoExecutions, makeExecution } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { createLogger } from '../src/logger.js';
import type { GatewayContext } from '../src/request/context.js';
import { registrySource, serveMetrics } from '../src/telemetry/metrics-server.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { KNOWN_OPERATION_NAMES, labelNamesKept, operationLabels } from '../src/telemetry/metrics.js';
import { captureLog } from './support/captured-log.js';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';
import { liveEnv, putExecution, sleep, waitFor } from './support/live.js';
import { rawExchange } from './support/raw-http.js';
import { resultsOverWebSocket, sendOver, STREAMING, TRANSPORTS, type TransportName } from './support/transports.js';

/** The API port's default time limits (README "Configuration"), for metrics servers started alone. */
const TIMES = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 };

// ---------------------------------------------------------------------------
// The exposition format, parsed strictly: a line that is not HELP, TYPE, a
// comment or a well-formed sample fails the test.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** A sample value as Prometheus reads it (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
function parseValue(text: string, line: string): number {
  if (/^\+?inf(inity)?$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return value;
}

/** `{a="1",b="x\"y"}` from `start` (the `{`): the labels and where they end. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let at = start + 1;
  while (line[at] !== '}') {
    const name = LABEL_NAME.exec(line.slice(at))?.[0];
    if (!name || line[at + name.length] !== '=' || line[at + name.length + 1] !== '"') throw new Error(`bad label at ${at} in ${JSON.stringify(line)}`);
    at += name.length + 2;
    let value = '';
    for (;;) {
      const char = line[at++];
      if (char === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
      if (char === '"') break;
      if (char === '\\') {
        const escaped = line[at++];
        if (escaped === 'n') value += '\n';
        else if (escaped === '\\' || escaped === '"') value += escaped;
        else throw new Error(`bad escape in ${JSON.stringify(line)}`);
      } else value += char;
    }
    if (name in labels) throw new Error(`label ${name} twice in ${JSON.stringify(line)}`);
    labels[name] = value;
    if (line[at] === ',') at++;
    else if (line[at] !== '}') throw new Error(`expected , or } at ${at} in ${JSON.stringify(line)}`);
  }
  return { labels, end: at + 1 };
}

function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type, ...rest] = line.slice(7).split(' ');
      if (!name || !METRIC_NAME.test(name) || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type ?? '') || rest.length) {
        throw new Error(`bad TYPE line ${JSON.stringify(line)}`);
      }
      if (types.has(name)) throw new Error(`TYPE of ${name} twice`);
      types.set(name, type!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const name = METRIC_NAME.exec(line)?.[0];
    if (!name) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    let at = name.length;
    let labels: Record<string, string> = {};
    if (line[at] === '{') ({ labels, end: at } = parseLabels(line, at));
    if (line[at] !== ' ') throw new Error(`expected a space after the labels in ${JSON.stringify(line)}`);
    const [value, timestamp, ...rest] = line.slice(at + 1).split(' ');
    if (rest.length || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    samples.push({ name, labels, value: parseValue(value ?? '', line) });
  }
  return { types, samples };
}

/** The family a sample belongs to: its own name, or a histogram's or summary's base name. */
function familyOf(exposition: Exposition, name: string): string | undefined {
  if (exposition.types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && ['histogram', 'summary'].includes(exposition.types.get(base) ?? '') ? base : undefined;
}

/** The sum of the samples named `name` whose labels include `labels`. */
function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  return exposition.samples
    .filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    .reduce((sum, sample) => sum + sample.value, 0);
}

async function scrape(harness: Harness): Promise<Exposition> {
  return parseExposition(await harness.instance.metrics!.registry.metrics());
}

/** What changed between two scrapes, for one series (summed over samples whose labels include `labels`). */
function grew(before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}): number {
  return valueOf(after, name, labels) - valueOf(before, name, labels);
}

/** Retries `check` until it passes (a stream's last hooks may run just after its client saw the end). */
async function eventually(check: () => Promise<void> | void, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(10);
    }
  }
}

// ---------------------------------------------------------------------------
// Every transport, sending one operation and returning what came back.

/** What came back, over `transport` (test/support/transports.ts). */
async function send(harness: Harness, transport: TransportName, query: string, headers: Record<string, string> = {}): Promise<ExecutionResult[]> {
  return (await sendOver(harness, transport, query, headers)).results;
}

/** An SSE subscription held open: resolves once its first update arrived; `close` aborts it. */
async function openWatch(harness: Harness, id: string): Promise<{ close(): void }> {
  const controller = new AbortController();
  const response = await harness.fetch('/graphql', {
    method: 'POST',
    headers: { authorization: AUTH, accept: 'text/event-stream', 'content-type': 'application/json' },
    body: JSON.stringify({ query: `subscription ExecutionUpdates { executionUpdates(id: "${id}") { isFinal } }` }),
    signal: controller.signal,
  });
  const reader = response.body!.getReader();
  let text = '';
  while (!text.includes('event: next')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the watch of ${id} ended early: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return { close: () => controller.abort() };
}

const STATUS_QUERY = 'query ExecutionStatus($id: ID!) { execution(id: $id) { id status } }';

/** Queries ExecutionStatus for `id` and returns the error codes. */
async function status(harness: Harness, id: string, authorization: string | null = AUTH): Promise<unknown[]> {
  const response = await harness.query(STATUS_QUERY, { id }, { authorization });
  return (response.errors ?? []).map((error) => error.extensions?.code);
}

// ---------------------------------------------------------------------------

/** Every family the issue asks for, with its type. */
const REQUIRED_FAMILIES: Record<string, string> = {
  graphql_envelop_request: 'counter',
  graphql_envelop_phase_parse: 'histogram',
  graphql_envelop_phase_validate: 'histogram',
  graphql_envelop_phase_execute: 'histogram',
  graphql_envelop_phase_subscribe: 'histogram',
  graphql_envelop_error_result: 'counter',
  graphql_yoga_http_duration: 'histogram',
  gateway_upstream_attempts_total: 'counter',
  gateway_upstream_attempt_duration_seconds: 'histogram',
  gateway_upstream_retries_total: 'counter',
  gateway_upstream_retries_skipped_total: 'counter',
  gateway_upstream_circuit_state: 'gauge',
  gateway_upstream_circuit_opened_total: 'counter',
  gateway_upstream_in_flight: 'gauge',
  gateway_upstream_queued: 'gauge',
  gateway_upstream_caller_queued: 'gauge',
  gateway_upstream_refused_total: 'counter',
  gateway_cache_hits_total: 'counter',
  gateway_cache_misses_total: 'counter',
  gateway_cache_bytes: 'gauge',
  gateway_cache_entries: 'gauge',
  gateway_cache_evictions_total: 'counter',
  gateway_upstream_shared_calls_total: 'counter',
  gateway_live_subscriptions: 'gauge',
  gateway_live_pollers: 'gauge',
  gateway_live_held_bytes: 'gauge',
  gateway_websocket_connections: 'gauge',
  gateway_websocket_bound_reached_total: 'counter',
  gateway_websocket_too_many_messages_total: 'counter',
  gateway_websocket_too_many_upgrades_total: 'counter',
  gateway_data_warnings_total: 'counter',
  gateway_http_responses_total: 'counter',
  gateway_build_info: 'gauge',
  // Node's default process metrics.
  nodejs_eventloop_lag_seconds: 'gauge',
  nodejs_eventloop_lag_max_seconds: 'gauge',
  nodejs_eventloop_lag_p99_seconds: 'gauge',
  process_cpu_user_seconds_total: 'counter',
  process_resident_memory_bytes: 'gauge',
  nodejs_heap_size_used_bytes: 'gauge',
  nodejs_gc_duration_seconds: 'histogram',
  nodejs_active_handles_total: 'gauge',
};

describe.each(LANES)('/metrics with METRICS=api, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { METRICS: 'api' } });
  });
  afterAll(() => harness.close());

  it('answers every series in the Prometheus text format, on the API port', async () => {
    expect(await status(harness, 'ex_demo_4')).toEqual([]);
    const response = await harness.fetch('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    const exposition = parseExposition(await response.text());
    for (const sample of exposition.samples) expect(familyOf(exposition, sample.name), `the TYPE of ${sample.name}`).toBeDefined();
    const missing = Object.entries(REQUIRED_FAMILIES).filter(([name, type]) => exposition.types.get(name) !== type);
    expect(missing, 'families missing or of another type').toEqual([]);
    // Off: the first copies phase_execute's observations, the second was always 0 (README "Metrics").
    for (const name of ['graphql_envelop_request_duration', 'graphql_envelop_phase_context']) expect(exposition.types.has(name), name).toBe(false);
    // The query above, counted once by every GraphQL series that sees a query.
    const operation = { operationType: 'query', operationName: 'ExecutionStatus' };
    expect(valueOf(exposition, 'graphql_envelop_request', operation)).toBe(1);
    for (const phase of ['parse', 'validate', 'execute']) expect(valueOf(exposition, `graphql_envelop_phase_${phase}_count`, operation), phase).toBe(1);
    expect(valueOf(exposition, 'graphql_yoga_http_duration_count', { ...operation, method: 'POST', statusCode: '200' })).toBe(1);
    expect(valueOf(exposition, 'gateway_upstream_attempts_total', { outcome: 'OK', attempt: '1' })).toBe(1);
    // Run from source: package.json's version, no commit.
    const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    expect(valueOf(exposition, 'gateway_build_info', { version, commit: 'unknown' })).toBe(1);
  });

  it('a scrape writes no access line, as /health writes none; a query beside it does', async () => {
    const from = harness.logs.length;
    expect((await harness.fetch('/metrics')).status).toBe(200);
    expect(await status(harness, 'ex_demo_4')).toEqual([]);
    await waitFor(() => harness.logs.slice(from).some((line) => line.component === 'access'), 'the query\'s access line');
    expect(harness.logs.slice(from).filter((line) => line.component === 'access')).toEqual([expect.objectContaining({ operationName: 'ExecutionStatus' })]);
  });

  it('answers GET and HEAD only, as on its own port', async () => {
    expect((await harness.fetch('/metrics', { method: 'HEAD' })).status).toBe(200);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const refused = await harness.fetch('/metrics', { method, headers: { 'content-type': 'application/json', authorization: AUTH }, body: '{}' });
      expect(refused.status, method).toBe(405);
      expect(refused.headers.get('allow'), method).toBe('GET, HEAD');
      expect(((await refused.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    }
  });

  it.each(['text/plain', 'text/plain;version=0.0.4', 'application/openmetrics-text; version=1.0.0', 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3'])(
    'answers a scraper sending Accept: %s (GraphQL media types are negotiated on /graphql only)',
    async (accept) => {
      const response = await harness.fetch('/metrics', { headers: { accept } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    },
  );

  it('a scrape is not an operation, and HEAD is answered too', async () => {
    const before = await scrape(harness);
    expect((await harness.fetch('/metrics')).status).toBe(200);
    expect((await harness.fetch('/metrics', { method: 'HEAD' })).status).toBe(200);
    const after = await scrape(harness);
    expect(grew(before, after, 'graphql_envelop_request')).toBe(0);
    expect(grew(before, after, 'graphql_yoga_http_duration_count')).toBe(0);
  });

  /**
   * Batching is off (Yoga's default): a JSON array is refused whole, before any of its operations is parsed, so no
   * request holds both a parsed operation and one refused before parsing. The refusal is counted once, in phase
   * `request`, whatever the array holds; none of its operations runs.
   */
  it('a batched POST is refused whole, counted once in phase request, with no upstream call', async () => {
    const exposition = async () => parseExposition(await (await harness.fetch('/metrics')).text());
    const before = await exposition();
    harness.upstream.reset();
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify([
        { query: 'query ExecutionStatus($id: ID!) { execution(id: $id) { id } }', variables: { id: 'ex_demo_4' } },
        { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } },
        { variables: { id: 'ex_demo_4' } },
      ]),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as ExecutionResult).errors!.map((error) => [error.message, error.extensions?.code])).toEqual([
      ['Batching is not supported: send one operation per request (a JSON object, not an array), or ask for several executions in one `executions(ids: […])`.', 'BAD_REQUEST'],
    ]);
    const after = await exposition();
    expect(grew(before, after, 'graphql_envelop_error_result', { phase: 'request', operationType: 'unknown', operationName: 'anonymous', code: 'BAD_REQUEST' })).toBe(1);
    expect(grew(before, after, 'graphql_envelop_error_result')).toBe(1);
    expect(grew(before, after, 'graphql_envelop_request')).toBe(0);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});

describe('where /metrics is served', () => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const harness of harnesses) await harness.close();
  });
  const start = async (lane: LaneName, env: Record<string, string>) => {
    const harness = await Harness.start({ lane, env });
    harnesses.push(harness);
    return harness;
  };

  it.each(LANES)('METRICS=port (the default), %s lane: not on the API port; the metrics server answers GET and HEAD only, at /metrics only', async (lane) => {
    const harness = await start(lane, {});
    expect(harness.config.telemetry.metrics).toBe('port');
    expect(harness.instance.metrics).toBeDefined();
    // A scraper pointed at the API port is told where the metrics are, not only where GraphQL is.
    const onApi = await harness.fetch('/metrics');
    expect(onApi.status).toBe(404);
    expect(((await onApi.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe(
      'Not found: /metrics is served on its own port 9464 (METRICS_PORT), not on the API port; METRICS=api serves it here too. GraphQL is served at /graphql.',
    );
    expect(await status(harness, 'ex_demo_4')).toEqual([]);

    const log = captureLog('info');
    const { logger } = log;
    const server = await serveMetrics(registrySource(harness.instance.metrics!.registry), 0, '127.0.0.1', logger, harness.config.server);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect(server.port).toBeGreaterThan(0);
      expect(server.port).not.toBe(new URL(harness.url).port);
      const get = await fetch(`${base}/metrics`);
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(get.headers.get('cache-control')).toBe('no-store');
      const exposition = parseExposition(await get.text());
      expect(valueOf(exposition, 'gateway_upstream_attempts_total', { outcome: 'OK', attempt: '1' })).toBe(1);
      expect(valueOf(exposition, 'graphql_envelop_request', { operationType: 'query', operationName: 'ExecutionStatus' })).toBe(1);

      const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await head.text()).toBe('');
      expect((await fetch(`${base}/metrics?name[]=up`)).status).toBe(200);

      // Every answer of this port, refusals included, is no-store: a cache in front keeps none of them.
      for (const path of ['/', '/graphql', '/metrics/', '/metricsx', '/health']) {
        const missing = await fetch(`${base}${path}`);
        expect(missing.status, path).toBe(404);
        expect(missing.headers.get('cache-control'), path).toBe('no-store');
      }
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
        const refused = await fetch(`${base}/metrics`, { method });
        expect(refused.status, method).toBe(405);
        expect(refused.headers.get('allow'), method).toBe('GET, HEAD');
        expect(refused.headers.get('cache-control'), method).toBe('no-store');
      }
    } finally {
      await server.close();
    }
    expect(log.raw()).toBe('');
    // Closed means closed: the port refuses connections.
    const refused = httpRequest({ host: '127.0.0.1', port: server.port, path: '/metrics' }).end();
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });

  // RFC 9112 §3.2.2: a server MUST accept the absolute-form. The API port routes it by its path; this port compared the
  // target as sent with /metrics, and a proxy's scrape (`GET http://host:9464/metrics`) was a 404.
  it('the metrics server routes an absolute-form target by its path, as the API port does', async () => {
    const registry = new Registry();
    const server = await serveMetrics(registrySource(registry), 0, '127.0.0.1', createLogger('info'), TIMES);
    const url = `http://127.0.0.1:${server.port}`;
    const ask = async (requestLine: string) => (await rawExchange(url, `${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)).text;
    try {
      expect(await ask(`GET http://127.0.0.1:${server.port}/metrics HTTP/1.1`)).toMatch(/^HTTP\/1\.1 200 [^]*\r\ncontent-type: text\/plain; version=0\.0\.4/i);
      // The scheme in any case, another authority (the target's, not the Host header's, names the server), a query.
      expect(await ask('HEAD HTTPS://metrics.internal/metrics?name[]=up HTTP/1.1')).toMatch(/^HTTP\/1\.1 200 /);
      expect(await ask('POST http://127.0.0.1/metrics HTTP/1.1')).toMatch(/^HTTP\/1\.1 405 /);
      expect(await ask('GET http://127.0.0.1/metricsx HTTP/1.1')).toMatch(/^HTTP\/1\.1 404 /);
      // Another scheme is not rewritten, on either port: its target is no path served here.
      expect(await ask('GET ftp://127.0.0.1/metrics HTTP/1.1')).toMatch(/^HTTP\/1\.1 404 /);
    } finally {
      await server.close();
    }
  });

  // It kept node's defaults (60 s for a head, 300 s for a request): a client sending half a head held it 30 times
  // longer than HTTP_HEADERS_TIMEOUT_MS said, where the API port answers 408 in time.
  it("the metrics server holds the API port's time limits: half a head is answered 408 within HTTP_HEADERS_TIMEOUT_MS", async () => {
    const server = await serveMetrics(registrySource(new Registry()), 0, '127.0.0.1', createLogger('info'), { ...TIMES, headersTimeoutMs: 500 });
    try {
      const answer = await rawExchange(`http://127.0.0.1:${server.port}`, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n', { giveUpMs: 10_000 });
      expect(answer.text).toMatch(/^HTTP\/1\.1 408/);
      expect(answer.ms).toBeGreaterThanOrEqual(450);
      expect(answer.ms).toBeLessThan(3_000);
    } finally {
      await server.close();
    }
  });

  it('the metrics server answers 500 and logs, without a stack, when collecting fails', async () => {
    const log = captureLog('info');
    const { logger } = log;
    const server = await serveMetrics(() => Promise.reject(new Error('collector broke')), 0, '127.0.0.1', logger, TIMES);
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(response.status).toBe(500);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.text()).not.toContain('collector broke');
    } finally {
      await server.close();
    }
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatchObject({ level: 50, err: 'collector broke', msg: 'metrics could not be collected' });
  });

  it('the metrics server answers requests pipelined behind its 404 in order, or says Connection: close on the 404 (or the 405 to a CONNECT) when it cannot read them', async () => {
    const registry = new Registry();
    new Counter({ name: 'pipelined_total', help: 'A series to find in the scrape.', registers: [registry] }).inc();
    const server = await serveMetrics(registrySource(registry), 0, '127.0.0.1', createLogger('info'), TIMES);
    const url = `http://127.0.0.1:${server.port}`;
    const scrape = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const statuses = (text: string) => [...text.matchAll(/^HTTP\/1\.1 (\d{3})/gm)].map((match) => Number(match[1]));
    try {
      // Written in one packet: each gets its own answer, the connection kept.
      // Ended by the client once both came, not after a fixed 200 ms: node drops a scrape still being collected at the FIN.
      const plain = await rawExchange(url, `GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n${scrape}`, { endAfterAnswers: 2 });
      expect(statuses(plain.text), plain.text).toEqual([404, 200]);
      expect(plain.text).toContain('pipelined_total 1');
      // A request asking to upgrade (curl --http2's h2c, a WebSocket): node reads nothing after its head, so the scrape
      // behind it got no answer and the connection stayed open, silent, until the keep-alive timeout (5 s).
      for (const upgrade of ['Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA', 'Connection: Upgrade\r\nUpgrade: websocket']) {
        const upgraded = await rawExchange(url, `GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n${upgrade}\r\n\r\n${scrape}`, { giveUpMs: 4_000 });
        expect(statuses(upgraded.text), upgraded.text).toEqual([404]);
        expect(upgraded.text).toMatch(/\r\nConnection: close\r\n/i);
        // The 404 whole, to its last chunk, then the close.
        expect(upgraded.text).toMatch(/Not found: metrics are at \/metrics\.\n\r\n0\r\n\r\n$/);
        expect(upgraded.ms).toBeLessThan(3_000);
      }
      // A CONNECT: node destroyed its socket unanswered (0 bytes), and the scrape behind it with it.
      const tunnel = await rawExchange(url, `CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n${scrape}`, { giveUpMs: 4_000 });
      expect(statuses(tunnel.text), tunnel.text).toEqual([405]);
      expect(tunnel.text).toMatch(/\r\nAllow: GET, HEAD\r\n/i);
      expect(tunnel.text).toMatch(/\r\nConnection: close\r\n/i);
      expect(tunnel.text).toContain('CONNECT is not allowed');
      expect(tunnel.ms).toBeLessThan(3_000);
      // Behind a scrape still being collected: HTTP/1.1 answers in order, so the 405 waits for the 200.
      const behind = await rawExchange(url, `${scrape}CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n`, { giveUpMs: 4_000 });
      expect(statuses(behind.text), behind.text).toEqual([200, 405]);
      expect(behind.text).toContain('pipelined_total 1');
    } finally {
      await server.close();
    }
  });

  // The 404 named the default address whatever was configured: a scraper moved to the API port by mistake was
  // sent on to 127.0.0.1:9464, where nothing listened. It names the port only: METRICS_HOST (10.1.2.3, say) is
  // often an internal address, and the 404 goes to anyone.
  it.each(LANES)('METRICS=port, %s lane: the API port\'s /metrics 404 names the port configured, not the host', async (lane) => {
    for (const [env, port] of [
      [{ METRICS_PORT: '9999' }, 'port 9999 (METRICS_PORT)'],
      [{ METRICS_HOST: '10.1.2.3', METRICS_PORT: '9100' }, 'port 9100 (METRICS_PORT)'],
      [{ METRICS_HOST: '::1', METRICS_PORT: '9464' }, 'port 9464 (METRICS_PORT)'],
      [{ METRICS_PORT: '0' }, 'port, picked at start (METRICS_PORT=0; the `metrics listening` log line names it)'],
    ] as const) {
      const harness = await start(lane, env);
      const onApi = await harness.fetch('/metrics');
      expect(onApi.status).toBe(404);
      expect(((await onApi.json()) as { errors: Array<{ message: string; extensions: { code: string } }> }).errors[0]).toEqual({
        message: `Not found: /metrics is served on its own ${port}, not on the API port; METRICS=api serves it here too. GraphQL is served at /graphql.`,
        extensions: { code: 'BAD_REQUEST' },
      });
      expect(harness.upstream.requests).toHaveLength(0);
    }
  });

  it.each(LANES)('METRICS=off, %s lane: no metrics at all, /metrics is 404, queries are served', async (lane) => {
    const harness = await start(lane, { METRICS: 'off' });
    expect(harness.instance.metrics).toBeUndefined();
    const onApi = await harness.fetch('/metrics');
    expect(onApi.status).toBe(404);
    expect(((await onApi.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe('Not found: metrics are off (METRICS=off). GraphQL is served at /graphql.');
    expect(await status(harness, 'ex_demo_4')).toEqual([]);
    expect(harness.upstream.requests).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------

interface PipelineCase {
  title: string;
  query: string;
  type: string;
  name: string;
  streamingOnly?: boolean;
}

const PIPELINE_CASES: PipelineCase[] = [
  { title: 'a named query of the typed client', query: 'query ExecutionStatus { execution(id: "ex_demo_4") { id status } }', type: 'query', name: 'ExecutionStatus' },
  { title: 'a query with any other name', query: 'query MyOwnName { execution(id: "ex_demo_4") { id } }', type: 'query', name: 'other' },
  { title: 'an anonymous query', query: '{ execution(id: "ex_demo_4") { id } }', type: 'query', name: 'anonymous' },
  // ex_demo_6 is terminal: one update, then the stream completes.
  {
    title: 'the executionUpdates subscription',
    query: 'subscription ExecutionUpdates { executionUpdates(id: "ex_demo_6") { isFinal } }',
    type: 'subscription',
    name: 'ExecutionUpdates',
    streamingOnly: true,
  },
];

describe.each(LANES)('one pipeline: every transport counts its operation once, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  for (const kase of PIPELINE_CASES) {
    for (const transport of kase.streamingOnly ? STREAMING : TRANSPORTS) {
      it(`${kase.title} over ${transport}`, async () => {
        const before = await scrape(harness);
        const results = await send(harness, transport, kase.query);
        expect(results, JSON.stringify(results)).toHaveLength(1);
        expect(results[0]!.errors).toBeUndefined();
        const labels = { operationType: kase.type, operationName: kase.name };
        const phase = kase.type === 'subscription' ? 'subscribe' : 'execute';
        await eventually(async () => {
          const after = await scrape(harness);
          expect(grew(before, after, 'graphql_envelop_request', labels), 'graphql_envelop_request with its labels').toBe(1);
          expect(grew(before, after, 'graphql_envelop_request'), 'graphql_envelop_request in all').toBe(1);
          expect(grew(before, after, `graphql_envelop_phase_${phase}_count`, labels), phase).toBe(1);
          expect(grew(before, after, 'graphql_envelop_error_result')).toBe(0);
          expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'OK', attempt: '1' })).toBe(1);
        });
      });
    }
  }

  it('a subscription is counted as such over every streaming transport, also when named otherwise', async () => {
    const before = await scrape(harness);
    for (const transport of STREAMING) await send(harness, transport, 'subscription Mine { executionUpdates(id: "ex_demo_6") { isFinal } }');
    await eventually(async () => {
      const after = await scrape(harness);
      expect(grew(before, after, 'graphql_envelop_request', { operationType: 'subscription', operationName: 'other' })).toBe(3);
      expect(grew(before, after, 'graphql_envelop_phase_subscribe_count', { operationType: 'subscription', operationName: 'other' })).toBe(3);
      // A subscription's whole life, up to LIVE_MAX_WATCH_MS (6 h): these watches of a finished execution end within a second.
      expect(grew(before, after, 'graphql_envelop_phase_subscribe_bucket', { operationType: 'subscription', operationName: 'other', le: '1' })).toBe(3);
      expect(grew(before, after, 'graphql_envelop_phase_subscribe_bucket', { operationType: 'subscription', operationName: 'other', le: '21600' })).toBe(3);
    });
  });
});

// ---------------------------------------------------------------------------

/** Makes the resolvers of the operation named `Boom` throw a plain Error, as a bug would. */
const boom: Plugin = {
  onExecute({ args }) {
    if (getOperationAST(args.document, args.operationName)?.name?.value !== 'Boom') return;
    const broken = { execution: { load: () => Promise.reject(new Error('internal detail')) } };
    (args.contextValue as unknown as GatewayContext).loaders = broken as unknown as GatewayContext['loaders'];
  },
};

describe.each(LANES)('exact counts, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { UPSTREAM_TIMEOUT_MS: '300' }, plugins: [boom] });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it('N queries: N first attempts with outcome OK, as many as upstream received, each timed', async () => {
    const N = 7;
    const before = await scrape(harness);
    for (let i = 0; i < N; i++) expect(await status(harness, i % 2 ? 'ex_demo_4' : 'ex_demo_2')).toEqual([]);
    const after = await scrape(harness);
    expect(harness.upstream.requests).toHaveLength(N);
    expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'OK', attempt: '1' })).toBe(N);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(N);
    expect(grew(before, after, 'gateway_upstream_attempt_duration_seconds_count', { outcome: 'OK' })).toBe(N);
    expect(grew(before, after, 'gateway_upstream_attempt_duration_seconds_bucket', { outcome: 'OK', le: '+Inf' })).toBe(N);
    expect(grew(before, after, 'gateway_upstream_attempt_duration_seconds_sum', { outcome: 'OK' })).toBeGreaterThan(0);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(0);
    expect(grew(before, after, 'graphql_envelop_request', { operationType: 'query', operationName: 'ExecutionStatus' })).toBe(N);
    expect(grew(before, after, 'graphql_yoga_http_duration_count', { method: 'POST', statusCode: '200', operationName: 'ExecutionStatus' })).toBe(N);
    // With ACCESS_LOG=all (the default) as with off (below): one count per answer, whatever the log writes.
    expect(grew(before, after, 'gateway_http_responses_total', { method: 'POST', statusCode: '200', transport: 'http' })).toBe(N);
    expect(grew(before, after, 'gateway_http_responses_total')).toBe(N);
  });

  it('a 503 then a 200: attempt 1 UPSTREAM_UNAVAILABLE, attempt 2 OK, one retry', async () => {
    harness.upstream.setFault('ex_demo_4', { kind: 'status', status: 503 }, 1);
    const before = await scrape(harness);
    expect(await status(harness, 'ex_demo_4')).toEqual([]);
    const after = await scrape(harness);
    expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(2);
    expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'UPSTREAM_UNAVAILABLE', attempt: '1' })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'OK', attempt: '2' })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(2);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(1);
    expect(grew(before, after, 'graphql_envelop_error_result')).toBe(0);
  });

  it('503 on every attempt: attempts 1, 2 and 3, two retries, one UPSTREAM_UNAVAILABLE error', async () => {
    harness.upstream.setFault('ex_demo_4', { kind: 'status', status: 503 });
    const before = await scrape(harness);
    expect(await status(harness, 'ex_demo_4')).toEqual(['UPSTREAM_UNAVAILABLE']);
    const after = await scrape(harness);
    expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(3);
    for (const attempt of ['1', '2', '3']) expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'UPSTREAM_UNAVAILABLE', attempt })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(2);
    expect(grew(before, after, 'graphql_envelop_error_result', { code: 'UPSTREAM_UNAVAILABLE', phase: 'execute', operationName: 'ExecutionStatus' })).toBe(1);
    expect(grew(before, after, 'graphql_envelop_error_result')).toBe(1);
  });

  it.each([
    [404, 'NOT_FOUND'],
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [500, 'UPSTREAM_UNAVAILABLE'],
  ])('upstream %i: one attempt with outcome %s, no retry, the error counted by its code', async (upstreamStatus, code) => {
    harness.upstream.setFault('ex_demo_4', { kind: 'status', status: upstreamStatus });
    const before = await scrape(harness);
    expect(await status(harness, 'ex_demo_4')).toEqual([code]);
    const after = await scrape(harness);
    expect(harness.upstream.requests).toHaveLength(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: code, attempt: '1' })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempt_duration_seconds_count', { outcome: code })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(0);
    expect(grew(before, after, 'graphql_envelop_error_result', { code, phase: 'execute' })).toBe(1);
  });

  it('a 429, a 503 and a reset are all UPSTREAM_UNAVAILABLE, told apart by status (429, 5xx, none)', async () => {
    const before = await scrape(harness);
    harness.upstream.setFault('ex_demo_4', { kind: 'status', status: 429 }, 1);
    expect(await status(harness, 'ex_demo_4')).toEqual([]);
    harness.upstream.setFault('ex_demo_2', { kind: 'status', status: 503 }, 1);
    expect(await status(harness, 'ex_demo_2')).toEqual([]);
    harness.upstream.setFault('ex_demo_1', { kind: 'reset' }, 1);
    expect(await status(harness, 'ex_demo_1')).toEqual([]);
    harness.upstream.setFault('ex_demo_3', { kind: 'status', status: 404 });
    expect(await status(harness, 'ex_demo_3')).toEqual(['NOT_FOUND']);
    const after = await scrape(harness);
    const attempts = (labels: Record<string, string>) => grew(before, after, 'gateway_upstream_attempts_total', labels);
    expect(attempts({ outcome: 'UPSTREAM_UNAVAILABLE', status: '429', attempt: '1' })).toBe(1);
    expect(attempts({ outcome: 'UPSTREAM_UNAVAILABLE', status: '5xx', attempt: '1' })).toBe(1);
    expect(attempts({ outcome: 'UPSTREAM_UNAVAILABLE', status: 'none', attempt: '1' })).toBe(1);
    expect(attempts({ outcome: 'OK', status: '2xx', attempt: '2' })).toBe(3);
    expect(attempts({ outcome: 'NOT_FOUND', status: '4xx', attempt: '1' })).toBe(1);
    expect(attempts({})).toBe(harness.upstream.requests.length);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(3);
  });

  it('retries the budget refuses are counted apart: every failing call either made its last attempt or was refused one', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `ex_budget_${i}`);
    for (const id of ids) harness.upstream.setFault(id, { kind: 'status', status: 503 });
    const before = await scrape(harness);
    const response = await harness.query('query($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids });
    expect((response.errors ?? []).map((error) => error.extensions?.code)).toEqual(ids.map(() => 'UPSTREAM_UNAVAILABLE'));
    const after = await scrape(harness);
    const sent = harness.upstream.requests.length;
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(sent);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(sent - ids.length);
    const lastAttempts = grew(before, after, 'gateway_upstream_attempts_total', { attempt: '3' });
    const refused = grew(before, after, 'gateway_upstream_retries_skipped_total', { reason: 'budget' });
    expect(refused).toBeGreaterThan(0);
    expect(refused + lastAttempts).toBe(ids.length);
  });

  it('an attempt past UPSTREAM_TIMEOUT_MS: outcome UPSTREAM_TIMEOUT', async () => {
    harness.upstream.setFault('ex_demo_4', { kind: 'hang' });
    const before = await scrape(harness);
    expect(await status(harness, 'ex_demo_4')).toEqual(['UPSTREAM_TIMEOUT']);
    const after = await scrape(harness);
    expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'UPSTREAM_TIMEOUT', attempt: '1' })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(harness.upstream.requests.length);
    expect(grew(before, after, 'graphql_envelop_error_result', { code: 'UPSTREAM_TIMEOUT' })).toBe(1);
  });

  it('errors that never reach upstream are counted by the code the client sees, in their phase', async () => {
    const cases: Array<{ send: () => Promise<unknown[]>; code: string; phase: string }> = [
      { send: () => status(harness, 'ex_demo_4', null), code: 'UNAUTHENTICATED', phase: 'execute' },
      { send: () => status(harness, 'ex/../4'), code: 'BAD_USER_INPUT', phase: 'execute' },
      { send: async () => (await harness.query('{ execution(id: "ex_demo_4") { id nope } }')).errors!.map((error) => error.extensions?.code), code: 'GRAPHQL_VALIDATION_FAILED', phase: 'validate' },
      { send: async () => (await harness.query('{ execution(id: ')).errors!.map((error) => error.extensions?.code), code: 'GRAPHQL_PARSE_FAILED', phase: 'parse' },
      // graphql-js reports a missing variable without a code; the client sees BAD_REQUEST (src/pipeline/error-codes.ts).
      { send: async () => (await harness.query(STATUS_QUERY, {})).errors!.map((error) => error.extensions?.code), code: 'BAD_REQUEST', phase: 'execute' },
      // Masked: the client sees only "Unexpected error.".
      {
        send: async () => {
          const { errors } = await harness.query('query Boom { execution(id: "ex_demo_4") { id } }');
          expect(errors!.map((error) => error.message)).toEqual(['Unexpected error.']);
          return errors!.map((error) => error.extensions?.code);
        },
        code: 'INTERNAL_SERVER_ERROR',
        phase: 'execute',
      },
    ];
    for (const kase of cases) {
      const before = await scrape(harness);
      expect(await kase.send(), kase.code).toEqual([kase.code]);
      const after = await scrape(harness);
      expect(grew(before, after, 'graphql_envelop_error_result', { code: kase.code, phase: kase.phase }), `${kase.code}: counted under its code`).toBe(1);
      expect(grew(before, after, 'graphql_envelop_error_result'), `${kase.code}: counted once`).toBe(1);
      expect(grew(before, after, 'gateway_upstream_attempts_total'), kase.code).toBe(0);
    }
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('a request refused before its document is parsed is counted by its code, in phase request, under the name it sent', async () => {
    const hashAlone = { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } };
    const cases = [
      // A hash alone with TRUSTED_DOCUMENTS off (a frontend whose persisted-query link is on); `only` refuses its texts here too.
      { body: hashAlone, status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', name: 'anonymous' },
      // Named as the access line and the span name it: a known name as it is, any other `other`.
      { body: { ...hashAlone, operationName: 'ExecutionStatus' }, status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', name: 'ExecutionStatus' },
      // Neither text nor hash.
      { body: { variables: { id: 'ex_demo_4' } }, status: 400, code: 'BAD_REQUEST', name: 'anonymous' },
      { body: { variables: { id: 'ex_demo_4' }, operationName: 'MyDashboard' }, status: 400, code: 'BAD_REQUEST', name: 'other' },
    ];
    for (const kase of cases) {
      const before = await scrape(harness);
      const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify(kase.body) });
      expect(response.status, kase.code).toBe(kase.status);
      expect(((await response.json()) as ExecutionResult).errors!.map((error) => error.extensions?.code)).toEqual([kase.code]);
      const after = await scrape(harness);
      // Counted nowhere before: a fleet refusing every request of a stale frontend showed no error on any dashboard.
      expect(grew(before, after, 'graphql_envelop_error_result', { code: kase.code, phase: 'request', operationType: 'unknown', operationName: kase.name }), kase.code).toBe(1);
      expect(grew(before, after, 'graphql_envelop_error_result'), `${kase.code}: counted once`).toBe(1);
    }
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('an operation the WebSocket edge refuses (a token no header could carry) is counted by its code, in phase request', async () => {
    const before = await scrape(harness);
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: 'Bearer a\nb' }, retryAttempts: 0, lazy: true });
    const codes: unknown[] = [];
    try {
      // Refused before it ran: graphql-ws's `error` message.
      for (const result of await resultsOverWebSocket(client, { query: STATUS_QUERY, variables: { id: 'ex_demo_4' } })) codes.push(...(result.errors ?? []).map((error) => error.extensions?.code));
    } finally {
      await client.dispose();
    }
    expect(codes).toEqual(['UNAUTHENTICATED']);
    const after = await scrape(harness);
    expect(grew(before, after, 'graphql_envelop_error_result', { code: 'UNAUTHENTICATED', phase: 'request', operationType: 'unknown', operationName: 'anonymous' })).toBe(1);
    expect(grew(before, after, 'graphql_envelop_error_result'), 'counted once').toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(0);
  });

  it('a parsed document whose operation cannot be picked is counted by its code, in phase parse', async () => {
    const bodies = [
      // A stale frontend's operationName, after the document was renamed: counted under it, as a label.
      { body: { query: 'query A { __typename } query B { __typename }', operationName: 'C' }, name: 'other' },
      { body: { query: 'query A { __typename } query B { __typename }', operationName: 'ExecutionPage' }, name: 'ExecutionPage' },
      { body: { query: 'query A { __typename } query B { __typename }' }, name: 'anonymous' },
      { body: { query: 'fragment F on Query { __typename }' }, name: 'anonymous' },
      { body: { query: '{ __typename }', operationName: 5 }, name: 'anonymous' },
    ];
    for (const { body, name } of bodies) {
      const before = await scrape(harness);
      const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify(body) });
      expect(response.status, body.query).toBe(400);
      expect(((await response.json()) as ExecutionResult).errors!.map((error) => error.extensions?.code)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
      const after = await scrape(harness);
      expect(grew(before, after, 'graphql_envelop_error_result', { code: 'OPERATION_RESOLUTION_FAILURE', phase: 'parse', operationType: 'unknown', operationName: name }), body.query).toBe(1);
      expect(grew(before, after, 'graphql_envelop_error_result'), `${body.query}: counted once`).toBe(1);
    }
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it.each(STREAMING)('a subscription that ends in an error is counted by its code, over %s', async (transport) => {
    const before = await scrape(harness);
    const results = await send(harness, transport, 'subscription ExecutionUpdates { executionUpdates(id: "ex_nobody_has") { isFinal } }');
    expect(results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([['NOT_FOUND']]);
    await eventually(async () => {
      const after = await scrape(harness);
      expect(grew(before, after, 'graphql_envelop_error_result', { code: 'NOT_FOUND', operationType: 'subscription', operationName: 'ExecutionUpdates' })).toBe(1);
      expect(grew(before, after, 'graphql_envelop_error_result')).toBe(1);
      expect(grew(before, after, 'gateway_upstream_attempts_total', { outcome: 'NOT_FOUND', attempt: '1' })).toBe(1);
    });
  });

  it('a subscription refused before it starts is counted by its code, with no upstream call', async () => {
    const before = await scrape(harness);
    const results = await send(harness, 'SSE (POST)', 'subscription ExecutionUpdates { executionUpdates(id: "not/allowed") { isFinal } }');
    expect(results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([['BAD_USER_INPUT']]);
    await eventually(async () => {
      const after = await scrape(harness);
      expect(grew(before, after, 'graphql_envelop_error_result', { code: 'BAD_USER_INPUT', operationType: 'subscription', operationName: 'ExecutionUpdates' })).toBe(1);
      expect(grew(before, after, 'graphql_envelop_error_result')).toBe(1);
      expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(0);
    });
  });

  it('an operation is labelled by the operation it runs, also when the document starts with a fragment', async () => {
    const before = await scrape(harness);
    const response = await harness.query('fragment Fields on Execution { id status } query ExecutionStatus { execution(id: "ex_demo_4") { ...Fields } }');
    expect(response.errors).toBeUndefined();
    const twoOperations = 'query Other { execution(id: "ex_demo_2") { id } } query ExecutionStatus { execution(id: "ex_demo_4") { id } }';
    const named = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ query: twoOperations, operationName: 'ExecutionStatus' }),
    });
    expect(((await named.json()) as ExecutionResult).data).toEqual({ execution: { id: 'ex_demo_4' } });
    const after = await scrape(harness);
    expect(grew(before, after, 'graphql_envelop_request', { operationType: 'query', operationName: 'ExecutionStatus' })).toBe(2);
    expect(grew(before, after, 'graphql_envelop_request')).toBe(2);
  });

  it('a data warning is counted by its code, once per value served as null or replaced', async () => {
    const { execution, events } = makeExecution({ id: 'ex_quirk', status: 'workflow_running', eventCount: 2 });
    const body = {
      code: 200,
      data: {
        execution: { ...execution, startedAt: 'not a time', finishedAt: { nested: true } },
        events: events.map((event, i) => ({ ...event, executionId: i === 0 ? 'ex_someone_else' : event.executionId })),
      },
    };
    harness.upstream.setFault('ex_quirk', { kind: 'body', body: JSON.stringify(body) });
    const before = await scrape(harness);
    const response = await harness.query('{ execution(id: "ex_quirk") { id startedAt finishedAt events(first: 2) { nodes { executionId } } } }');
    expect(response.errors).toBeUndefined();
    const warnings = (response.extensions as { warnings: Array<{ code: string }> }).warnings.map((warning) => warning.code).sort();
    expect(warnings).toEqual(['REPLACED_VALUE', 'UNREADABLE_VALUE', 'UNREADABLE_VALUE']);
    const after = await scrape(harness);
    expect(grew(before, after, 'gateway_data_warnings_total', { code: 'UNREADABLE_VALUE' })).toBe(2);
    expect(grew(before, after, 'gateway_data_warnings_total', { code: 'REPLACED_VALUE' })).toBe(1);
    // Both codes are exported from the start, so a rate over them has a baseline.
    const codes = after.samples.filter((sample) => sample.name === 'gateway_data_warnings_total').map((sample) => sample.labels.code).sort();
    expect(codes).toEqual(['REPLACED_VALUE', 'UNREADABLE_VALUE']);
  });

  it('concurrent requests for one execution: one upstream call, the others counted as shared', async () => {
    // A gateway of its own with the test default attempt deadline (10 s), and upstream answering in 1 s: only a call
    // still in flight is shared, and under this suite's 300 ms deadline a 150 ms answer timed out on a loaded machine
    // (UPSTREAM_TIMEOUT for two of the three).
    const own = await Harness.start({ lane });
    try {
      own.upstream.setFault('ex_demo_4', { kind: 'slow', ms: 1_000 });
      const before = await scrape(own);
      const answers = await Promise.all([0, 1, 2].map(() => status(own, 'ex_demo_4')));
      expect(answers).toEqual([[], [], []]);
      const after = await scrape(own);
      expect(own.upstream.requests).toHaveLength(1);
      expect(grew(before, after, 'gateway_upstream_shared_calls_total')).toBe(2);
      expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('event-loop lag: a blocked loop shows in nodejs_eventloop_lag_seconds', async () => {
    // A scrape starts a lag measurement (a setImmediate) and reports the previous one: block the loop right after one starts.
    const registry = harness.instance.metrics!.registry;
    const scraping = registry.metrics();
    // 400 ms: well over any stall a loaded machine adds on its own, so the next reading is lower whatever the load.
    const until = performance.now() + 400;
    while (performance.now() < until) {
      // Busy on purpose: this is the lag being measured.
    }
    await scraping;
    await sleep(5);
    const after = await scrape(harness);
    expect(valueOf(after, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0.3);
    await sleep(5);
    expect(valueOf(await scrape(harness), 'nodejs_eventloop_lag_seconds')).toBeLessThan(0.3);
    expect(valueOf(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(valueOf(after, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });
});

/** Three finished executions of one size, and a cache with room for two of them, not three. */
const CACHED_IDS = ['ex_cache_1', 'ex_cache_2', 'ex_cache_3'];
const cachedRecords = CACHED_IDS.map((id) => makeExecution({ id, status: 'workflow_succeeded', eventCount: 4 }));
/** What one counts against CACHE_MAX_BYTES (src/upstream/shared-executions.ts), within the few bytes of upstream's request id. */
const cachedEntryBytes = entryBytes({
  bodyBytes: Buffer.byteLength(
    `{"code":200,"data":${JSON.stringify({ events: cachedRecords[0]!.events, execution: cachedRecords[0]!.execution, message: 'execution retrieved' })},"message":"success","requestId":"up-1"}`,
  ),
  events: cachedRecords[0]!.events,
});

describe.each(LANES)('every HTTP answer of the API port, counted by method, status and transport, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    // ACCESS_LOG=off: the count is the metrics', whether or not a line is written.
    harness = await Harness.start({ lane, env: { ACCESS_LOG: 'off', MAX_REQUEST_BODY_BYTES: '10000' } });
  });
  afterAll(() => harness.close());

  it("the pipeline's answers and the edge's own refusals each count once; probes do not", async () => {
    const post = (contentType: string, body: string) => harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': contentType, accept: 'application/graphql-response+json', authorization: AUTH }, body });
    const host = new URL(harness.url).host;
    const before = await scrape(harness);
    // Answered by the pipeline: a result, a parse failure (no series of Yoga's counts it), a 415, a stream.
    expect((await post('application/json', JSON.stringify({ query: STATUS_QUERY, variables: { id: 'ex_demo_4' } }))).status).toBe(200);
    expect((await harness.fetch(`/graphql?${new URLSearchParams({ query: '{ __typename }' })}`, { headers: { authorization: AUTH } })).status).toBe(200);
    expect((await post('application/json', JSON.stringify({ query: '{ execution(id: ' }))).status).toBe(400);
    expect((await post('text/plain', '{ __typename }')).status).toBe(415);
    expect((await sendOver(harness, 'SSE (POST)', '{ __typename }')).results).toHaveLength(1);
    // Answered by the edge: a path it does not serve, a body past MAX_REQUEST_BODY_BYTES, a made-up method, malformed HTTP, a refused upgrade.
    expect((await harness.fetch('/nope')).status).toBe(404);
    expect((await post('application/json', JSON.stringify({ query: `{ __typename } #${'x'.repeat(20_000)}` }))).status).toBe(413);
    expect((await rawExchange(harness.url, `PURGE /graphql HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).text).toMatch(/^HTTP\/1\.1 405 /);
    expect((await rawExchange(harness.url, 'NOT HTTP AT ALL\r\n\r\n')).text).toMatch(/^HTTP\/1\.1 501 /);
    expect((await rawExchange(harness.url, `GET /graphql HTTP/1.1\r\nHost: ${host}\r\na header with no colon\r\n\r\n`)).text).toMatch(/^HTTP\/1\.1 400 /);
    const refusedUpgrade = `GET /nope HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`;
    expect((await rawExchange(harness.url, refusedUpgrade)).text).toMatch(/^HTTP\/1\.1 404 /);
    // Not counted: the probes, and an operation over a WebSocket (no HTTP answer; its upgrade's 101 is no refusal).
    expect((await sendOver(harness, 'WebSocket', '{ __typename }')).results.map((result) => result.data)).toEqual([{ __typename: 'Query' }]);
    expect((await harness.fetch('/health')).status).toBe(200);
    expect((await harness.fetch('/ready')).status).toBe(200);
    const expected: [Record<string, string>, number][] = [
      [{ method: 'POST', statusCode: '200', transport: 'http' }, 1],
      [{ method: 'GET', statusCode: '200', transport: 'http' }, 1],
      [{ method: 'POST', statusCode: '400', transport: 'http' }, 1],
      [{ method: 'POST', statusCode: '415', transport: 'http' }, 1],
      [{ method: 'POST', statusCode: '200', transport: 'sse' }, 1],
      [{ method: 'GET', statusCode: '404', transport: 'http' }, 1],
      [{ method: 'POST', statusCode: '413', transport: 'http' }, 1],
      [{ method: 'other', statusCode: '405', transport: 'http' }, 1],
      [{ method: 'other', statusCode: '501', transport: 'http' }, 1],
      [{ method: 'other', statusCode: '400', transport: 'http' }, 1],
      [{ method: 'GET', statusCode: '404', transport: 'ws' }, 1],
    ];
    await eventually(async () => {
      const after = await scrape(harness);
      for (const [labels, count] of expected) expect(grew(before, after, 'gateway_http_responses_total', labels), JSON.stringify(labels)).toBe(count);
      expect(grew(before, after, 'gateway_http_responses_total'), 'nothing else').toBe(expected.length);
    });
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('the refusals of /health and /ready count as the edge\'s others do (README: "a 405, a 431"); their own answers do not', async () => {
    const before = await scrape(harness);
    for (const [method, path] of [['POST', '/health'], ['DELETE', '/ready'], ['PUT', '/health']] as const) {
      const refused = await harness.fetch(path, { method, ...(method === 'DELETE' ? {} : { body: '{}' }) });
      expect(refused.status, `${method} ${path}`).toBe(405);
      await refused.arrayBuffer();
    }
    const long = { 'x-long': 'x'.repeat(20_000) };
    for (const path of ['/health', '/ready']) {
      const refused = await harness.fetch(path, { headers: long });
      expect(refused.status, path).toBe(431);
      await refused.arrayBuffer();
    }
    for (const path of ['/health', '/ready']) expect((await harness.fetch(path, { method: 'HEAD' })).status).toBe(200);
    const expected: [Record<string, string>, number][] = [
      [{ method: 'POST', statusCode: '405', transport: 'http' }, 1],
      [{ method: 'other', statusCode: '405', transport: 'http' }, 2],
      [{ method: 'GET', statusCode: '431', transport: 'http' }, 2],
    ];
    await eventually(async () => {
      const after = await scrape(harness);
      for (const [labels, count] of expected) expect(grew(before, after, 'gateway_http_responses_total', labels), JSON.stringify(labels)).toBe(count);
      expect(grew(before, after, 'gateway_http_responses_total'), 'nothing else').toBe(5);
    });
  });
});

describe.each(LANES)('cache counts, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { TERMINAL_CACHE_TTL_MS: '60000', CACHE_MAX_BYTES: String(Math.floor(2.5 * cachedEntryBytes)) } });
    for (const record of cachedRecords) harness.upstream.put(record);
  });
  afterAll(() => harness.close());

  it('hits, misses, entries, bytes and evictions match what upstream saw and what the cache holds', async () => {
    const before = await scrape(harness);
    for (let i = 0; i < 3; i++) expect(await status(harness, 'ex_cache_1')).toEqual([]);
    let after = await scrape(harness);
    expect(harness.upstream.requests).toHaveLength(1);
    expect(grew(before, after, 'gateway_cache_misses_total')).toBe(1);
    expect(grew(before, after, 'gateway_cache_hits_total')).toBe(2);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(1);
    expect(valueOf(after, 'gateway_cache_entries')).toBe(1);
    expect(valueOf(after, 'gateway_cache_bytes')).toBe(harness.instance.executions.cacheStats.bytes);
    expect(Math.abs(valueOf(after, 'gateway_cache_bytes') - cachedEntryBytes)).toBeLessThan(50);
    expect(grew(before, after, 'gateway_cache_evictions_total')).toBe(0);

    // Two more: the cache keeps two, the oldest goes.
    for (const id of ['ex_cache_2', 'ex_cache_3']) expect(await status(harness, id)).toEqual([]);
    after = await scrape(harness);
    expect(harness.instance.executions.cacheStats.entries).toBe(2);
    expect(valueOf(after, 'gateway_cache_entries')).toBe(2);
    expect(valueOf(after, 'gateway_cache_bytes')).toBe(harness.instance.executions.cacheStats.bytes);
    expect(grew(before, after, 'gateway_cache_evictions_total')).toBe(1);
    expect(grew(before, after, 'gateway_cache_misses_total')).toBe(3);
    // A running execution is looked up (a miss) but never cached.
    expect(await status(harness, 'ex_demo_4')).toEqual([]);
    const last = await scrape(harness);
    expect(grew(after, last, 'gateway_cache_misses_total')).toBe(1);
    expect(valueOf(last, 'gateway_cache_entries')).toBe(2);
    expect(grew(before, last, 'gateway_cache_hits_total')).toBe(2);
    expect(grew(before, last, 'gateway_upstream_attempts_total')).toBe(harness.upstream.requests.length);
    expect(harness.upstream.requests).toHaveLength(4);
  });
});

describe.each(LANES)('bulkhead, circuit and live gauges, %s lane', (lane) => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const harness of harnesses) await harness.close();
  });
  const start = async (env: Record<string, string>) => {
    const harness = await Harness.start({ lane, env });
    harnesses.push(harness);
    return harness;
  };

  it('bulkhead: calls in flight and queued, back to 0 after', async () => {
    const harness = await start({ UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_QUEUE: '5' });
    for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3']) harness.upstream.setFault(id, { kind: 'slow', ms: 300 });
    const answers = Promise.all(['ex_demo_1', 'ex_demo_2', 'ex_demo_3'].map((id) => status(harness, id)));
    await waitFor(() => harness.upstream.inFlight === 1, 'the first call to reach upstream');
    await eventually(async () => {
      const during = await scrape(harness);
      expect(valueOf(during, 'gateway_upstream_in_flight')).toBe(1);
      expect(valueOf(during, 'gateway_upstream_queued')).toBe(2);
    });
    expect(await answers).toEqual([[], [], []]);
    const after = await scrape(harness);
    expect(valueOf(after, 'gateway_upstream_in_flight')).toBe(0);
    expect(valueOf(after, 'gateway_upstream_queued')).toBe(0);
  });

  it('refusals: a full bulkhead, a full caller share and a paused caller are counted by why, none of them sent upstream', async () => {
    const refused = (exposition: Exposition, by: string) => valueOf(exposition, 'gateway_upstream_refused_total', { by });
    const batch = (harness: Harness, ids: string[]) => harness.query('query($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids });
    const slow = (harness: Harness, ids: string[]) => {
      for (const id of ids) harness.upstream.setFault(id, { kind: 'slow', ms: 300 });
    };
    // Two running and one queued; the fourth is refused by the bulkhead.
    const full = await start({ UPSTREAM_MAX_CONCURRENT: '2', UPSTREAM_QUEUE: '1' });
    const four = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3', 'ex_demo_4'];
    slow(full, four);
    const before = await scrape(full);
    for (const by of ['circuit_open', 'bulkhead_full', 'caller_share_full', 'caller_paused']) expect(before.samples.some((sample) => sample.name === 'gateway_upstream_refused_total' && sample.labels.by === by)).toBe(true);
    await batch(full, four);
    let after = await scrape(full);
    expect(full.upstream.requests).toHaveLength(3);
    expect(grew(before, after, 'gateway_upstream_refused_total', { by: 'bulkhead_full' })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_refused_total')).toBe(1);

    // One running in the caller's share, one waiting there (counted while it waits), the third refused.
    const shared = await start({ UPSTREAM_MAX_CONCURRENT: '4', UPSTREAM_MAX_CONCURRENT_PER_CALLER: '1', UPSTREAM_QUEUE: '1' });
    const three = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3'];
    slow(shared, three);
    const answer = batch(shared, three);
    await waitFor(() => shared.upstream.inFlight === 1, 'the first call to reach upstream');
    await eventually(async () => expect(valueOf(await scrape(shared), 'gateway_upstream_caller_queued')).toBe(1));
    await answer;
    after = await scrape(shared);
    expect(valueOf(after, 'gateway_upstream_caller_queued')).toBe(0);
    expect(refused(after, 'caller_share_full')).toBe(1);
    expect(shared.upstream.requests).toHaveLength(2);

    // A 429 asking for longer than the gateway waits pauses the caller: its next call is answered at once.
    shared.upstream.setFault('ex_demo_5', { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    expect(await status(shared, 'ex_demo_5')).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(await status(shared, 'ex_demo_6')).toEqual(['UPSTREAM_UNAVAILABLE']);
    const paused = await scrape(shared);
    expect(grew(after, paused, 'gateway_upstream_refused_total', { by: 'caller_paused' })).toBe(1);
    expect(grew(after, paused, 'gateway_upstream_attempts_total', { status: '429' })).toBe(1);
    expect(shared.upstream.requests).toHaveLength(3);
  });

  it('circuit: upstream unreachable opens it (state open, opened once), then calls fail fast with no attempt', async () => {
    const harness = await start({ UPSTREAM_BREAKER_THRESHOLD: '2', UPSTREAM_MAX_ATTEMPTS: '1', UPSTREAM_BREAKER_HALF_OPEN_MS: '60000' });
    const closed = await scrape(harness);
    expect(valueOf(closed, 'gateway_upstream_circuit_state', { state: 'closed' })).toBe(1);
    expect(valueOf(closed, 'gateway_upstream_circuit_state')).toBe(1);
    await harness.upstream.close();
    for (const id of ['ex_demo_1', 'ex_demo_2']) expect(await status(harness, id)).toEqual(['UPSTREAM_UNAVAILABLE']);
    const open = await scrape(harness);
    expect(valueOf(open, 'gateway_upstream_circuit_state', { state: 'open' })).toBe(1);
    expect(valueOf(open, 'gateway_upstream_circuit_state')).toBe(1);
    expect(grew(closed, open, 'gateway_upstream_circuit_opened_total')).toBe(1);
    expect(grew(closed, open, 'gateway_upstream_attempts_total', { outcome: 'UPSTREAM_UNAVAILABLE', attempt: '1' })).toBe(2);
    expect(await status(harness, 'ex_demo_3')).toEqual(['UPSTREAM_UNAVAILABLE']);
    const failingFast = await scrape(harness);
    expect(grew(open, failingFast, 'gateway_upstream_attempts_total')).toBe(0);
    expect(grew(open, failingFast, 'gateway_upstream_refused_total', { by: 'circuit_open' })).toBe(1);
  });

  it('circuit: half_open once the probe may go, with no call arriving, then closed after the probe', async () => {
    const harness = await start({ UPSTREAM_BREAKER_THRESHOLD: '2', UPSTREAM_MAX_ATTEMPTS: '1', UPSTREAM_BREAKER_HALF_OPEN_MS: '300' });
    const port = new URL(harness.upstream.url).port;
    await harness.upstream.close();
    for (const id of ['ex_demo_1', 'ex_demo_2']) expect(await status(harness, id)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(valueOf(await scrape(harness), 'gateway_upstream_circuit_state', { state: 'open' })).toBe(1);
    await sleep(400);
    const probing = await scrape(harness);
    expect(valueOf(probing, 'gateway_upstream_circuit_state', { state: 'half_open' })).toBe(1);
    expect(valueOf(probing, 'gateway_upstream_circuit_state')).toBe(1);
    // Upstream back on its port: the probe closes the circuit.
    const upstream = await FakeUpstream.start({ executions: demoExecutions(), port: Number(port) });
    try {
      expect(await status(harness, 'ex_demo_4')).toEqual([]);
      expect(valueOf(await scrape(harness), 'gateway_upstream_circuit_state', { state: 'closed' })).toBe(1);
    } finally {
      await upstream.close();
    }
  });

  it('circuit: a retry it refuses never reached upstream, and is counted apart (circuit_open), not as a retry', async () => {
    const harness = await start({
      UPSTREAM_BREAKER_THRESHOLD: '2',
      UPSTREAM_BREAKER_MIN_IDS: '2',
      UPSTREAM_BREAKER_MIN_CALLERS: '1',
      UPSTREAM_MAX_ATTEMPTS: '2',
      UPSTREAM_BREAKER_HALF_OPEN_MS: '60000',
    });
    for (const id of ['ex_demo_1', 'ex_demo_2']) harness.upstream.setFault(id, { kind: 'status', status: 503 });
    const before = await scrape(harness);
    // Both attempts: one failing pair does not open the circuit.
    expect(await status(harness, 'ex_demo_1')).toEqual(['UPSTREAM_UNAVAILABLE']);
    // Its first attempt opens it: its retry is refused at once.
    expect(await status(harness, 'ex_demo_2')).toEqual(['UPSTREAM_UNAVAILABLE']);
    const after = await scrape(harness);
    expect(harness.upstream.requests).toHaveLength(3);
    expect(grew(before, after, 'gateway_upstream_circuit_opened_total')).toBe(1);
    expect(grew(before, after, 'gateway_upstream_attempts_total')).toBe(3);
    expect(grew(before, after, 'gateway_upstream_retries_total')).toBe(1);
    expect(grew(before, after, 'gateway_upstream_retries_skipped_total', { reason: 'circuit_open' })).toBe(1);
    expect(grew(before, after, 'gateway_upstream_retries_skipped_total')).toBe(1);
  });

  it('circuit: an isolated breaker reads as isolated', async () => {
    const harness = await start({});
    const handle = harness.instance.client.policies.breaker.isolate();
    try {
      const isolated = await scrape(harness);
      expect(valueOf(isolated, 'gateway_upstream_circuit_state', { state: 'isolated' })).toBe(1);
      expect(valueOf(isolated, 'gateway_upstream_circuit_state')).toBe(1);
    } finally {
      handle.dispose();
    }
    expect(valueOf(await scrape(harness), 'gateway_upstream_circuit_state', { state: 'closed' })).toBe(1);
  });

  it('an update that carries an outage is counted by its code, once', async () => {
    const harness = await start(liveEnv());
    putExecution(harness.upstream, 'ex_outage', 'workflow_running');
    const before = await scrape(harness);
    const controller = new AbortController();
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: AUTH, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription ExecutionUpdates { executionUpdates(id: "ex_outage") { isFinal } }' }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += new TextDecoder().decode(value);
      }
    })();
    await waitFor(() => text.includes('event: next'), 'the first update');
    harness.upstream.setFault('ex_outage', { kind: 'status', status: 503 });
    await waitFor(() => text.includes('UPSTREAM_UNAVAILABLE'), 'the outage notice');
    harness.upstream.setFault('ex_outage', undefined);
    controller.abort();
    await reading;
    await eventually(async () => {
      const after = await scrape(harness);
      expect(grew(before, after, 'graphql_envelop_error_result', { code: 'UPSTREAM_UNAVAILABLE', operationType: 'subscription', operationName: 'ExecutionUpdates' })).toBe(1);
      expect(grew(before, after, 'graphql_envelop_error_result')).toBe(1);
      expect(valueOf(after, 'gateway_live_subscriptions')).toBe(0);
    });
  });

  it('live subscriptions and pollers go up while watches are open, and back to 0 once they end', async () => {
    const harness = await start(liveEnv());
    putExecution(harness.upstream, 'ex_live_a', 'workflow_running');
    putExecution(harness.upstream, 'ex_live_b', 'workflow_running');
    const gauges = async () => {
      const exposition = await scrape(harness);
      return { subscriptions: valueOf(exposition, 'gateway_live_subscriptions'), pollers: valueOf(exposition, 'gateway_live_pollers') };
    };
    expect(await gauges()).toEqual({ subscriptions: 0, pollers: 0 });
    const first = await openWatch(harness, 'ex_live_a');
    expect(await gauges()).toEqual({ subscriptions: 1, pollers: 1 });
    // A second watch of the same execution shares its poller; another execution gets its own.
    const second = await openWatch(harness, 'ex_live_a');
    const third = await openWatch(harness, 'ex_live_b');
    expect(await gauges()).toEqual({ subscriptions: 3, pollers: 2 });
    // Over WebSocket too.
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
    let received = 0;
    const unsubscribe = client.subscribe({ query: 'subscription { executionUpdates(id: "ex_live_b") { isFinal } }' }, { next: () => received++, error: () => {}, complete: () => {} });
    await waitFor(() => received > 0, 'the WebSocket watch to start');
    expect(await gauges()).toEqual({ subscriptions: 4, pollers: 2 });
    first.close();
    await eventually(async () => expect(await gauges()).toEqual({ subscriptions: 3, pollers: 2 }));
    second.close();
    await eventually(async () => expect(await gauges()).toEqual({ subscriptions: 2, pollers: 1 }));
    third.close();
    unsubscribe();
    await eventually(async () => expect(await gauges()).toEqual({ subscriptions: 0, pollers: 0 }));
    await client.dispose();
  });
});

// ---------------------------------------------------------------------------

/** Label names a scrape may carry, and the only values `operationName` may take. */
const LABEL_NAMES = new Set(['operationType', 'operationName', 'phase', 'code', 'method', 'statusCode', 'outcome', 'status', 'reason', 'by', 'attempt', 'state', 'le', 'quantile', 'typeName', 'fieldName', 'version', 'commit', 'resource', 'bound', 'transport']);
const OPERATION_NAME_LABELS = new Set([...KNOWN_OPERATION_NAMES, 'other', 'anonymous']);
/** Labels of Node's default metrics, which describe the process, not requests. */
const PROCESS_LABELS = new Set(['version', 'major', 'minor', 'patch', 'kind', 'space', 'type']);

describe.each(LANES)('labels are bounded, %s lane', (lane) => {
  let harness: Harness;
  const TOKEN = `tok${'q'.repeat(20)}`;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { tokens: { [DEMO_TOKEN]: DEMO_ORGANIZATION } } });
  });
  afterAll(() => harness.close());

  it('KNOWN_OPERATION_NAMES are the typed client\'s operations', () => {
    expect([...KNOWN_OPERATION_NAMES].sort()).toEqual(['ExecutionEvents', 'ExecutionPage', 'ExecutionStatus', 'ExecutionUpdates', 'Executions']);
  });

  it('random operation names, ids, tokens and request ids never reach a label', async () => {
    const suffix = fc.stringMatching(/^[A-Za-z0-9_]{8,40}$/);
    const seen: string[] = [TOKEN, harness.upstream.url, new URL(harness.upstream.url).host];
    await fc.assert(
      fc.asyncProperty(suffix, suffix, suffix, suffix, async (name, id, token, requestId) => {
        const operationName = `op_${name}`;
        const executionId = `ex_${id}`;
        const authorization = `Bearer tok_${token}`;
        const xRequestId = `rq_${requestId}`;
        seen.push(operationName, executionId, `tok_${token}`, xRequestId);
        const headers = { 'x-request-id': xRequestId };
        // Upstream 404 (an id nobody has), upstream 401 (a token it does not know), a validation error, a subscription ending in NOT_FOUND.
        await harness.query(`query ${operationName}($id: ID!) { execution(id: $id) { id } }`, { id: executionId }, { headers });
        await harness.query(`query ${operationName} { execution(id: "ex_demo_4") { id } }`, undefined, { authorization, headers });
        await harness.query(`query ${operationName} { execution(id: "${executionId}") { id ${operationName} } }`, undefined, { headers });
        const results = await send(harness, 'SSE (POST)', `subscription ${operationName} { executionUpdates(id: "${executionId}") { isFinal } }`, headers);
        expect(results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code))).toEqual(['NOT_FOUND']);
        const text = await harness.instance.metrics!.registry.metrics();
        for (const secret of [operationName, executionId, `tok_${token}`, xRequestId]) expect(text.includes(secret), secret).toBe(false);
      }),
      { numRuns: 25 },
    );
    const text = await harness.instance.metrics!.registry.metrics();
    const leaked = seen.filter((secret) => text.includes(secret));
    expect(leaked).toEqual([]);
    // Every label is one the gateway defines, with a bounded value.
    const exposition = parseExposition(text);
    for (const sample of exposition.samples) {
      for (const [label, value] of Object.entries(sample.labels)) {
        if (sample.name.startsWith('nodejs_') || sample.name.startsWith('process_')) {
          expect(PROCESS_LABELS.has(label) || label === 'le', `${sample.name}{${label}}`).toBe(true);
          continue;
        }
        expect(LABEL_NAMES.has(label), `${sample.name}{${label}}`).toBe(true);
        expect(value, `${sample.name}{${label}}`).toMatch(/^[A-Za-z0-9_.+-]{1,40}$/);
        if (label === 'operationName') expect(OPERATION_NAME_LABELS.has(value), `${sample.name}{operationName="${value}"}`).toBe(true);
        // The build's labels are the build's, on its one series only.
        if (label === 'version' || label === 'commit') expect(sample.name, `${sample.name}{${label}}`).toBe('gateway_build_info');
      }
    }
    expect(valueOf(exposition, 'graphql_envelop_request', { operationName: 'other' })).toBeGreaterThanOrEqual(25 * 3);
    expect(valueOf(exposition, 'gateway_upstream_attempts_total', { outcome: 'NOT_FOUND' })).toBeGreaterThanOrEqual(25 * 2);
    expect(valueOf(exposition, 'gateway_upstream_attempts_total', { outcome: 'UNAUTHENTICATED' })).toBeGreaterThanOrEqual(25);
  });
});

describe('labels are worked out once per document and operation', () => {
  it('an operationName that names none of the document\'s operations is labelled, and kept under no name of its own', () => {
    const document = parse('query ExecutionStatus { execution(id: "ex_demo_4") { id } }');
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), (operationName) => {
        fc.pre(operationName !== 'ExecutionStatus' && operationName !== 'Anonymous');
        // Nothing runs (OPERATION_RESOLUTION_FAILURE): unknown, under the name sent as a label, never the document's
        // only operation, as every other series and the access line have it.
        expect(operationLabels({ document, operationName })).toEqual({ operationType: 'unknown', operationName: KNOWN_OPERATION_NAMES.has(operationName) ? operationName : 'other' });
      }),
      { numRuns: 200 },
    );
    // A name a client makes up per request would otherwise grow the cache without bound.
    expect(labelNamesKept(document)).toBe(0);
    operationLabels({ document, operationName: 'ExecutionStatus' });
    operationLabels({ document, operationName: undefined });
    expect(labelNamesKept(document)).toBe(2);
    // What @envelop/prometheus passes for an unnamed operation, and for a document that starts with a fragment: kept too.
    const anonymous = parse('{ __typename }');
    operationLabels({ document: anonymous, operationName: 'Anonymous' });
    expect(labelNamesKept(anonymous)).toBe(1);
    const fragmentFirst = parse('fragment F on Query { __typename } query Q { ...F }');
    expect(operationLabels({ document: fragmentFirst, operationName: 'F' })).toEqual({ operationType: 'query', operationName: 'other' });
    expect(labelNamesKept(fragmentFirst)).toBe(1);
  });
});
