/**
 * OpenTelemetry traces (README "Configuration": OTEL_*, src/telemetry/tracing.ts,
 * src/telemetry/operation-spans.ts), recorded in process by an in-memory
 * exporter: `startTracing` registers the process's provider (this file runs in
 * a process of its own), and an instance traces when its settings carry
 * OTEL_EXPORTER_OTLP_ENDPOINT (never contacted: the processors given replace
 * the OTLP exporter).
 *
 * - One SERVER span per operation, named and attributed per the GraphQL
 *   conventions, on both lanes and over every transport.
 * - One CLIENT span per upstream attempt, per the HTTP client conventions; its
 *   context is what upstream receives as `traceparent`.
 * - Retries, cache hits and shared calls visible; W3C trace context continued
 *   from the request and forwarded; sampling parent-based.
 * - Live polls: a root span each, the attempt its child.
 * - The real process exporting over OTLP/HTTP to a collector on loopback.
 * - Spans dropped by a full export queue (a collector slower than the spans
 *   come): counted, and told in the log, bounded.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type MeterProvider } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { BatchSpanProcessor, NodeTracerProvider, SamplingDecision, type BufferConfig, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { parse, print, type ExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { FakeUpstream, type RecordedRequest } from '../src/demo/fake-upstream.js';
import { addExecutionEvent } from '../src/telemetry/execution-events.js';
import { DroppedSpans, ExportFailures, FLUSH_AT_SHUTDOWN_MS, samplerOf, spansDropped, spansUrl } from '../src/telemetry/tracing.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { cutIds, keptBytes } from './support/heap.js';
import { liveEnv, putExecution, sleep } from './support/live.js';
import { recordSpans, SERVICE, TRACED } from './support/spans.js';
import { resultsOverWebSocket, sendOver, STREAMING, TRANSPORTS, type TransportName } from './support/transports.js';

const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const traceId = (span: ReadableSpan) => span.spanContext().traceId;
const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const servers = (spans: ReadableSpan[]) => spans.filter((span) => span.kind === SpanKind.SERVER);
const clients = (spans: ReadableSpan[]) => spans.filter((span) => span.kind === SpanKind.CLIENT);
const polls = (spans: ReadableSpan[]) => spans.filter((span) => span.name === 'poll execution');
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) => spans.filter((span) => parentId(span) === spanId(parent) && traceId(span) === traceId(parent));

/** `00-<trace id>-<span id>-<flags>` into its parts. */
function parseTraceparent(header: unknown): { traceId: string; spanId: string; flags: string } {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(header));
  if (!match) throw new Error(`not a traceparent: ${String(header)}`);
  return { traceId: match[1]!, spanId: match[2]!, flags: match[3]! };
}

/** A sampled incoming trace context, with ids unlike any the SDK makes. */
function incoming(flags = '01'): { traceId: string; spanId: string; header: string } {
  const traceId = `4bf92f3577b34da6a3ce929d0e0e${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`;
  const spanId = '00f067aa0ba902b7';
  return { traceId, spanId, header: `00-${traceId}-${spanId}-${flags}` };
}

/** Retries `check` until it passes (a span ends as its operation finishes, which may be just after the client read the end). */
async function eventually(check: () => void, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await sleep(10);
    }
  }
}

/** Checks a CLIENT span against the conventions, and against what upstream received. */
function expectAttemptSpan(span: ReadableSpan, upstream: FakeUpstream, request: RecordedRequest, expected: { status?: number; errorType?: string; attempt: number }): void {
  const { port } = new URL(upstream.url);
  expect(span.kind).toBe(SpanKind.CLIENT);
  expect(span.name).toBe('GET');
  expect(span.attributes).toEqual({
    'http.request.method': 'GET',
    'server.address': '127.0.0.1',
    'server.port': Number(port),
    'url.full': `${upstream.url}${request.path}`,
    ...(expected.status !== undefined ? { 'http.response.status_code': expected.status } : {}),
    ...(expected.errorType !== undefined ? { 'error.type': expected.errorType } : {}),
    ...(expected.attempt > 1 ? { 'http.request.resend_count': expected.attempt - 1 } : {}),
  });
  expect(span.status.code).toBe(expected.errorType === undefined ? SpanStatusCode.UNSET : SpanStatusCode.ERROR);
  // Upstream received this attempt's own context.
  const forwarded = parseTraceparent(request.headers.traceparent);
  expect(forwarded).toEqual({ traceId: traceId(span), spanId: spanId(span), flags: '01' });
}

// ---------------------------------------------------------------------------
// Every transport, sending one operation and returning what came back.

/** What came back, over `transport` (test/support/transports.ts). */
async function send(harness: Harness, transport: TransportName, query: string, headers: Record<string, string> = {}): Promise<ExecutionResult[]> {
  return (await sendOver(harness, transport, query, headers)).results;
}

const STATUS = 'query ExecutionStatus($id: ID!) { execution(id: $id) { id status } }';

// ---------------------------------------------------------------------------

describe('every trace sampled (OTEL_TRACES_SAMPLER_ARG=1)', () => {
  const exporter = recordSpans(1);
  const spans = () => exporter.getFinishedSpans();

  it('an event names its execution by a copy: a finished span waiting for export keeps none of its request\'s text', async () => {
    const eventsOn = (ids: string[], add: (id: string) => void) =>
      trace.getTracer('heap').startActiveSpan('operation', (span) => {
        for (const id of ids) add(id);
        span.end();
      });
    // The measure can fail: ids cut from 30 texts of 200,000 characters, kept as they are, keep the texts.
    const asCut = await keptBytes((ids) => eventsOn(ids, (id) => trace.getActiveSpan()!.addEvent('cache hit', { 'execution_gateway.execution_id': id })));
    expect(asCut).toBeGreaterThan(5_000_000);
    exporter.reset();
    const copied = await keptBytes((ids) => eventsOn(ids, (id) => addExecutionEvent('cache hit', id)));
    expect(copied).toBeLessThan(1_000_000);
    const [span] = spans();
    expect(span!.events.map((event) => event.attributes?.['execution_gateway.execution_id'])).toEqual(cutIds(30));
  });

  describe.each(LANES)('%s lane', (lane) => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { ...TRACED, ...liveEnv(), TERMINAL_CACHE_TTL_MS: '60000' } });
    });
    afterAll(() => harness.close());
    beforeEach(() => harness.upstream.reset());

    it('a query: one SERVER span named after the known operation, one CLIENT span per attempt as its child, whose context upstream receives', async () => {
      const response = await harness.query(STATUS, { id: 'ex_demo_4' });
      expect(response.errors).toBeUndefined();
      await eventually(() => expect(spans()).toHaveLength(2));
      const [server] = servers(spans());
      expect(server!.name).toBe('query ExecutionStatus');
      // client.address as the access line's clientAddress: the connection's peer here.
      expect(server!.attributes).toEqual({ 'client.address': '127.0.0.1', 'graphql.operation.type': 'query', 'graphql.operation.name': 'ExecutionStatus' });
      expect(server!.status.code).toBe(SpanStatusCode.UNSET);
      expect(server!.parentSpanContext).toBeUndefined();
      expect(server!.resource.attributes['service.name']).toBe(SERVICE);
      // OTEL_RESOURCE_ATTRIBUTES, and the SDK's own attributes; OTEL_SERVICE_NAME names the service.
      expect(server!.resource.attributes).toMatchObject({ 'deployment.environment.name': 'test', 'telemetry.sdk.language': 'nodejs' });
      expect(server!.instrumentationScope.name).toBe('execution-gateway');
      const [attempt] = clients(spans());
      expect(childrenOf(spans(), server!)).toEqual([attempt]);
      expect(harness.upstream.requests).toHaveLength(1);
      expectAttemptSpan(attempt!, harness.upstream, harness.upstream.requests[0]!, { status: 200, attempt: 1 });
      // The attempt lies within the operation.
      expect(attempt!.startTime[0] * 1e9 + attempt!.startTime[1]).toBeGreaterThanOrEqual(server!.startTime[0] * 1e9 + server!.startTime[1]);
    });

    it('any other name, or none: the span is named after the type only; the name attribute is what was sent', async () => {
      await harness.query('query MyOwnName { execution(id: "ex_demo_4") { id } }');
      await harness.query('{ execution(id: "ex_demo_4") { id } }');
      await eventually(() => expect(servers(spans())).toHaveLength(2));
      const [named, anonymous] = servers(spans()).sort((a, b) => (a.attributes['graphql.operation.name'] ? -1 : 1) - (b.attributes['graphql.operation.name'] ? -1 : 1));
      expect(named!.name).toBe('query');
      expect(named!.attributes).toEqual({ 'client.address': '127.0.0.1', 'graphql.operation.type': 'query', 'graphql.operation.name': 'MyOwnName' });
      expect(anonymous!.name).toBe('query');
      expect(anonymous!.attributes).toEqual({ 'client.address': '127.0.0.1', 'graphql.operation.type': 'query' });
      expect(clients(spans())).toHaveLength(2);
    });

    it('a retry: two CLIENT spans, the failed one with its status and error.type, the retry with http.request.resend_count', async () => {
      harness.upstream.setFault('ex_demo_4', { kind: 'status', status: 503 }, 1);
      expect((await harness.query(STATUS, { id: 'ex_demo_4' })).errors).toBeUndefined();
      await eventually(() => expect(spans()).toHaveLength(3));
      const [server] = servers(spans());
      const attempts = clients(spans()).sort((a, b) => Number(a.attributes['http.request.resend_count'] ?? 0) - Number(b.attributes['http.request.resend_count'] ?? 0));
      expect(attempts).toHaveLength(2);
      for (const attempt of attempts) expect(parentId(attempt)).toBe(spanId(server!));
      const [first, second] = harness.upstream.requests;
      expectAttemptSpan(attempts[0]!, harness.upstream, first!, { status: 503, errorType: '503', attempt: 1 });
      expectAttemptSpan(attempts[1]!, harness.upstream, second!, { status: 200, attempt: 2 });
      expect(server!.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('failures: error.type is the status when upstream answered, the outcome when it did not; the operation span is an error with the codes', async () => {
      harness.upstream.setFault('ex_demo_2', { kind: 'status', status: 404 });
      expect((await harness.query(STATUS, { id: 'ex_demo_2' })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      await eventually(() => expect(spans()).toHaveLength(2));
      expectAttemptSpan(clients(spans())[0]!, harness.upstream, harness.upstream.requests[0]!, { status: 404, errorType: '404', attempt: 1 });
      expect(servers(spans())[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NOT_FOUND' });

      exporter.reset();
      harness.upstream.reset();
      harness.upstream.setFault('ex_demo_2', { kind: 'reset' });
      expect((await harness.query(STATUS, { id: 'ex_demo_2' })).errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      await eventually(() => expect(spans()).toHaveLength(4));
      const resets = clients(spans()).sort((a, b) => Number(a.attributes['http.request.resend_count'] ?? 0) - Number(b.attributes['http.request.resend_count'] ?? 0));
      expect(resets).toHaveLength(3);
      resets.forEach((attempt, i) => expectAttemptSpan(attempt, harness.upstream, harness.upstream.requests[i]!, { errorType: 'UPSTREAM_UNAVAILABLE', attempt: i + 1 }));
      expect(servers(spans())[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'UPSTREAM_UNAVAILABLE' });
    });

    it('errors the client sees are the span\'s status, by the codes the client sees', async () => {
      const cases: Array<{ body: Record<string, unknown>; code: string; name: string; attributes: Record<string, string> }> = [
        // Refused, yet parsed: named after its type all the same.
        {
          body: { query: 'query ExecutionStatus { execution(id: "ex_demo_4") { id nope } }' },
          code: 'GRAPHQL_VALIDATION_FAILED',
          name: 'query ExecutionStatus',
          attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'ExecutionStatus' },
        },
        // Not even parsed: the conventions' name for an operation of unknown type.
        { body: { query: '{ execution(id: ' }, code: 'GRAPHQL_PARSE_FAILED', name: 'GraphQL Operation', attributes: {} },
        // graphql-js reports a missing variable without a code; the client sees BAD_REQUEST.
        {
          body: { query: STATUS, variables: {} },
          code: 'BAD_REQUEST',
          name: 'query ExecutionStatus',
          attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': 'ExecutionStatus' },
        },
        { body: { query: '{ execution(id: "not/allowed") { id } }' }, code: 'BAD_USER_INPUT', name: 'query', attributes: { 'graphql.operation.type': 'query' } },
        // A name that names no operation: the name as sent, cut as the access log cuts it (a client may send any length).
        {
          body: { query: STATUS, variables: { id: 'ex_demo_4' }, operationName: `Made${'x'.repeat(60_000)}` },
          code: 'OPERATION_RESOLUTION_FAILURE',
          name: 'GraphQL Operation',
          attributes: { 'graphql.operation.name': `Made${'x'.repeat(96)}` },
        },
        {
          body: { query: `query Long${'y'.repeat(60_000)} { execution(id: "nope/") { id } }` },
          code: 'BAD_USER_INPUT',
          name: 'query',
          attributes: { 'graphql.operation.type': 'query', 'graphql.operation.name': `Long${'y'.repeat(96)}` },
        },
        // Refused before any document is parsed (a trusted-documents refusal is one): its code, not the thrown
        // error's class ("GraphQLError"), which the access line and the metrics never showed.
        {
          body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } }, operationName: 'ExecutionStatus' },
          code: 'PERSISTED_QUERY_NOT_SUPPORTED',
          name: 'GraphQL Operation',
          attributes: { 'graphql.operation.name': 'ExecutionStatus' },
        },
        { body: { variables: { id: 'ex_demo_4' } }, code: 'BAD_REQUEST', name: 'GraphQL Operation', attributes: {} },
      ];
      for (const kase of cases) {
        exporter.reset();
        const before = harness.logs.length;
        const response = await harness.fetch('/graphql', { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: JSON.stringify(kase.body) });
        expect(response.status, kase.code).toBeLessThan(500);
        const result = (await response.json()) as ExecutionResult;
        expect(result.errors?.map((error) => error.extensions?.code), kase.code).toEqual([kase.code]);
        await eventually(() => expect(servers(spans()), kase.code).toHaveLength(1));
        const [server] = servers(spans());
        expect(server!.status, kase.code).toEqual({ code: SpanStatusCode.ERROR, message: kase.code });
        expect(server!.name, kase.code).toBe(kase.name);
        expect(server!.attributes, kase.code).toEqual({ 'client.address': '127.0.0.1', ...kase.attributes });
        expect(clients(spans()), kase.code).toEqual([]);
        // The line an operator follows to the trace names it, a refusal before parsing too.
        const accessLines = () => harness.logs.slice(before).filter((line) => line.component === 'access');
        await eventually(() => expect(accessLines(), kase.code).toHaveLength(1));
        expect(accessLines()[0]!.traceId, kase.code).toBe(traceId(server!));
      }
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('the access line of a traced request carries its trace id', async () => {
      const before = harness.logs.length;
      expect((await harness.query(STATUS, { id: 'ex_demo_4' })).errors).toBeUndefined();
      await eventually(() => expect(servers(spans())).toHaveLength(1));
      const lines = harness.logs.slice(before).filter((line) => line.component === 'access');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.traceId).toBe(traceId(servers(spans())[0]!));
    });

    it('a cache hit: an event on the operation span, and no CLIENT span', async () => {
      await harness.query(STATUS, { id: 'ex_demo_7' });
      await eventually(() => expect(spans()).toHaveLength(2));
      exporter.reset();
      expect((await harness.query(STATUS, { id: 'ex_demo_7' })).errors).toBeUndefined();
      await eventually(() => expect(spans()).toHaveLength(1));
      const [server] = servers(spans());
      expect(server!.events.map((event) => ({ name: event.name, attributes: event.attributes }))).toEqual([
        { name: 'cache hit', attributes: { 'execution_gateway.execution_id': 'ex_demo_7' } },
      ]);
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('a call the gateway refuses itself (its caller paused after a 429): an event on the operation span says why, and no CLIENT span', async () => {
      // A caller of its own: its pause must not hold up the other tests' demo token.
      const authorization = `Bearer paused-${lane}`;
      harness.upstream.setFault('ex_demo_2', { kind: 'status', status: 429, headers: { 'retry-after': '30' } }, 1);
      expect((await harness.query(STATUS, { id: 'ex_demo_2' }, { authorization })).errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      await eventually(() => expect(spans()).toHaveLength(2));
      exporter.reset();
      expect((await harness.query(STATUS, { id: 'ex_demo_5' }, { authorization })).errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
      await eventually(() => expect(spans()).toHaveLength(1));
      const [server] = servers(spans());
      expect(server!.events.map((event) => ({ name: event.name, attributes: event.attributes }))).toEqual([
        { name: 'upstream call refused', attributes: { 'execution_gateway.refused_by': 'caller_paused', 'execution_gateway.execution_id': 'ex_demo_5' } },
      ]);
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('a shared call: one CLIENT span under the operation that started it; the other operation shows that it joined', async () => {
      harness.upstream.setFault('ex_demo_3', { kind: 'slow', ms: 150 });
      const answers = await Promise.all([0, 1].map(() => harness.query(STATUS, { id: 'ex_demo_3' })));
      for (const answer of answers) expect(answer.errors).toBeUndefined();
      await eventually(() => expect(spans()).toHaveLength(3));
      expect(harness.upstream.requests).toHaveLength(1);
      const [attempt] = clients(spans());
      const starter = servers(spans()).find((span) => span.events.length === 0)!;
      const joiner = servers(spans()).find((span) => span.events.length > 0)!;
      expect(parentId(attempt!)).toBe(spanId(starter));
      expect(joiner.events.map((event) => ({ name: event.name, attributes: event.attributes }))).toEqual([
        { name: 'joined a call in flight', attributes: { 'execution_gateway.execution_id': 'ex_demo_3' } },
      ]);
      expect(childrenOf(spans(), joiner)).toEqual([]);
      // Linked to the operation that made the call, whose trace holds it.
      expect(joiner.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId, attributes: link.attributes }))).toEqual([
        { traceId: traceId(starter), spanId: spanId(starter), attributes: { 'execution_gateway.execution_id': 'ex_demo_3' } },
      ]);
      expect(starter.links).toEqual([]);
    });

    it('an incoming sampled traceparent is continued: same trace, the server span its child, tracestate forwarded', async () => {
      const parent = incoming();
      await harness.query(STATUS, { id: 'ex_demo_4' }, { headers: { traceparent: parent.header, tracestate: 'vendor=opaque' } });
      await eventually(() => expect(spans()).toHaveLength(2));
      const [server] = servers(spans());
      const [attempt] = clients(spans());
      expect(traceId(server!)).toBe(parent.traceId);
      expect(server!.parentSpanContext).toMatchObject({ traceId: parent.traceId, spanId: parent.spanId, isRemote: true });
      expect(traceId(attempt!)).toBe(parent.traceId);
      expect(parentId(attempt!)).toBe(spanId(server!));
      const [request] = harness.upstream.requests;
      expect(parseTraceparent(request!.headers.traceparent)).toEqual({ traceId: parent.traceId, spanId: spanId(attempt!), flags: '01' });
      expect(request!.headers.tracestate).toBe('vendor=opaque');
    });

    it('a call queued by the bulkhead stays in its own trace, and upstream receives that trace', async () => {
      const own = await Harness.start({ lane, env: { ...TRACED, UPSTREAM_MAX_CONCURRENT: '1' } });
      try {
        for (const id of ['ex_demo_1', 'ex_demo_2']) own.upstream.setFault(id, { kind: 'slow', ms: 150 });
        const parents = { ex_demo_1: incoming(), ex_demo_2: incoming() };
        const answers = await Promise.all(Object.entries(parents).map(([id, parent]) => own.query(STATUS, { id }, { headers: { traceparent: parent.header } })));
        for (const answer of answers) expect(answer.errors).toBeUndefined();
        for (const [id, parent] of Object.entries(parents)) {
          const [request] = own.upstream.requestsFor(id);
          expect(parseTraceparent(request!.headers.traceparent).traceId, id).toBe(parent.traceId);
        }
        await eventually(() => expect(clients(spans())).toHaveLength(2));
        for (const server of servers(spans())) expect(childrenOf(spans(), server)).toHaveLength(1);
      } finally {
        await own.close();
      }
    });

    it('an incoming traceparent that is not sampled: nothing recorded (parent-based), the trace still forwarded unsampled', async () => {
      const parent = incoming('00');
      expect((await harness.query(STATUS, { id: 'ex_demo_4' }, { headers: { traceparent: parent.header } })).errors).toBeUndefined();
      await sleep(50);
      expect(spans()).toEqual([]);
      const forwarded = parseTraceparent(harness.upstream.requests[0]!.headers.traceparent);
      expect(forwarded.traceId).toBe(parent.traceId);
      expect(forwarded.flags).toBe('00');
      expect(forwarded.spanId).not.toBe('0000000000000000');
    });

    it.each(STREAMING)('a live poll over %s is a root span of its own, its attempt a CLIENT child whose context upstream receives', async (transport) => {
      const parent = incoming();
      const results = await send(harness, transport, 'subscription ExecutionUpdates { executionUpdates(id: "ex_demo_6") { isFinal } }', { traceparent: parent.header });
      expect(results).toEqual([{ data: { executionUpdates: { isFinal: true } } }]);
      await eventually(() => expect(spans()).toHaveLength(3));
      const [server] = servers(spans());
      const [poll] = polls(spans());
      expect(server!.name).toBe('subscription ExecutionUpdates');
      expect(server!.attributes).toEqual({ 'client.address': '127.0.0.1', 'graphql.operation.type': 'subscription', 'graphql.operation.name': 'ExecutionUpdates' });
      expect(traceId(server!)).toBe(parent.traceId);
      // The poll serves every watcher of the execution: its own trace, not the first subscriber's.
      expect(poll!.parentSpanContext).toBeUndefined();
      expect(traceId(poll!)).not.toBe(parent.traceId);
      expect(poll!.attributes).toEqual({ 'execution_gateway.execution_id': 'ex_demo_6' });
      expect(poll!.status.code).toBe(SpanStatusCode.UNSET);
      const [attempt] = clients(spans());
      expect(parentId(attempt!)).toBe(spanId(poll!));
      expect(traceId(attempt!)).toBe(traceId(poll!));
      expectAttemptSpan(attempt!, harness.upstream, harness.upstream.requestsFor('ex_demo_6')[0]!, { status: 200, attempt: 1 });
    });

    it('a running execution polled several times: one root span per poll, each with its attempt', async () => {
      putExecution(harness.upstream, 'ex_polled', 'workflow_running');
      const controller = new AbortController();
      const response = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { authorization: AUTH, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'subscription { executionUpdates(id: "ex_polled") { isFinal } }' }),
        signal: controller.signal,
      });
      expect(response.status).toBe(200);
      await eventually(() => expect(harness.upstream.requestsFor('ex_polled').length).toBeGreaterThanOrEqual(3));
      controller.abort();
      await eventually(() => expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 }));
      await sleep(20);
      const made = polls(spans());
      expect(made.length).toBe(harness.upstream.requestsFor('ex_polled').length);
      expect(new Set(made.map(traceId)).size).toBe(made.length);
      for (const poll of made) expect(childrenOf(spans(), poll).map((span) => span.kind)).toEqual([SpanKind.CLIENT]);
    });
  });

  describe.each(LANES)('one pipeline: a SERVER span for every operation over every transport, %s lane', (lane) => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: TRACED });
    });
    afterAll(() => harness.close());

    const cases = [
      { title: 'a known query', query: 'query ExecutionStatus { execution(id: "ex_demo_4") { id } }', name: 'query ExecutionStatus', transports: TRANSPORTS },
      { title: 'an anonymous query', query: '{ execution(id: "ex_demo_4") { id } }', name: 'query', transports: TRANSPORTS },
      {
        title: 'the executionUpdates subscription',
        query: 'subscription ExecutionUpdates { executionUpdates(id: "ex_demo_6") { isFinal } }',
        name: 'subscription ExecutionUpdates',
        transports: STREAMING,
      },
    ];
    for (const kase of cases) {
      for (const transport of kase.transports) {
        it(`${kase.title} over ${transport}`, async () => {
          exporter.reset();
          const parent = incoming();
          const results = await send(harness, transport, kase.query, { traceparent: parent.header });
          expect(results).toHaveLength(1);
          expect(results[0]!.errors).toBeUndefined();
          const subscription = kase.name.startsWith('subscription');
          await eventually(() => expect(spans()).toHaveLength(subscription ? 3 : 2));
          const [server] = servers(spans());
          expect(servers(spans())).toHaveLength(1);
          expect(server!.name).toBe(kase.name);
          expect(server!.attributes['client.address']).toBe('127.0.0.1');
          expect(traceId(server!)).toBe(parent.traceId);
          expect(parentId(server!)).toBe(parent.spanId);
          const [attempt] = clients(spans());
          expect(parentId(attempt!)).toBe(spanId(subscription ? polls(spans())[0]! : server!));
        });
      }
    }

    it.each(['with', 'without'])('an operation the WebSocket edge refuses (a token no header could carry), %s a traceparent on the upgrade: a span of its own, an error with the code, and its access line carries its trace', async (traced) => {
      exporter.reset();
      const upstreamBefore = harness.upstream.requests.length;
      const parent = traced === 'with' ? incoming() : undefined;
      // The upgrade's headers are each operation's (src/server/websocket.ts): its traceparent too.
      class Upgrade extends WebSocket {
        constructor(url: string, protocols?: string | string[]) {
          super(url, protocols, { headers: parent ? { traceparent: parent.header } : {} });
        }
      }
      const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: Upgrade, connectionParams: { authorization: 'Bearer a\nb' }, retryAttempts: 0, lazy: true });
      const codes: unknown[] = [];
      try {
        // Refused before it ran: graphql-ws's `error` message.
        for (const result of await resultsOverWebSocket(client, { query: STATUS, variables: { id: 'ex_demo_4' }, operationName: 'ExecutionStatus' })) {
          codes.push(...(result.errors ?? []).map((error) => error.extensions?.code));
        }
      } finally {
        await client.dispose();
      }
      expect(codes).toEqual(['UNAUTHENTICATED']);
      await eventually(() => expect(servers(spans())).toHaveLength(1));
      const [server] = servers(spans());
      expect(server!.name).toBe('GraphQL Operation');
      expect(server!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'UNAUTHENTICATED' });
      expect(server!.attributes['graphql.operation.name']).toBe('ExecutionStatus');
      // The upgrade's peer: the refused operation's span names its client as every other does.
      expect(server!.attributes['client.address']).toBe('127.0.0.1');
      if (parent) {
        expect(traceId(server!)).toBe(parent.traceId);
        expect(parentId(server!)).toBe(parent.spanId);
      } else expect(parentId(server!)).toBeUndefined();
      await eventually(() => {
        const line = harness.logs.findLast((each) => each.component === 'access' && each.transport === 'ws' && (each.errorCodes as string[]).includes('UNAUTHENTICATED'));
        expect(line?.traceId).toBe(traceId(server!));
      });
      expect(harness.upstream.requests).toHaveLength(upstreamBefore);
    });

    for (const transport of STREAMING) {
      it(`a subscription refused at its start over ${transport}: the span is an error with the code the client sees (an update's error is its poll span's)`, async () => {
        exporter.reset();
        const results = await send(harness, transport, 'subscription ExecutionUpdates { executionUpdates(id: "not/allowed") { isFinal } }');
        expect(results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code))).toEqual(['BAD_USER_INPUT']);
        await eventually(() => expect(servers(spans())).toHaveLength(1));
        expect(servers(spans())[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'BAD_USER_INPUT' });
      });
    }
  });

  describe.each(LANES)('client.address with TRUSTED_PROXIES, %s lane', (lane) => {
    it('is the access line\'s clientAddress: the nearest X-Forwarded-For entry that is no trusted proxy, over HTTP and WebSocket', async () => {
      const harness = await Harness.start({ lane, env: { ...TRACED, TRUSTED_PROXIES: 'loopback' } });
      try {
        for (const transport of ['POST JSON', 'WebSocket'] as const) {
          exporter.reset();
          const from = harness.logs.length;
          const results = await send(harness, transport, 'query ExecutionStatus { execution(id: "ex_demo_4") { id } }', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9:5678' });
          expect(results[0]!.errors, transport).toBeUndefined();
          await eventually(() => expect(servers(spans())).toHaveLength(1));
          expect(servers(spans())[0]!.attributes['client.address'], transport).toBe('203.0.113.9');
          await eventually(() => expect(harness.logs.slice(from).filter((line) => line.component === 'access')).toHaveLength(1));
          expect(harness.logs.slice(from).find((line) => line.component === 'access')!.clientAddress, transport).toBe('203.0.113.9');
        }
      } finally {
        await harness.close();
      }
    });
  });

  describe('OTEL_GRAPHQL_DOCUMENT=true', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ env: { ...TRACED, OTEL_GRAPHQL_DOCUMENT: 'true' } });
    });
    afterAll(() => harness.close());

    it('puts the operation\'s text in graphql.document; off by default', async () => {
      expect((await harness.query(STATUS, { id: 'ex_demo_4' })).errors).toBeUndefined();
      await eventually(() => expect(servers(spans())).toHaveLength(1));
      expect(servers(spans())[0]!.attributes).toEqual({
        'client.address': '127.0.0.1',
        'graphql.operation.type': 'query',
        'graphql.operation.name': 'ExecutionStatus',
        'graphql.document': print(parse(STATUS)),
      });
      const off = await Harness.start({ env: TRACED });
      try {
        exporter.reset();
        await off.query(STATUS, { id: 'ex_demo_4' });
        await eventually(() => expect(servers(spans())).toHaveLength(1));
        expect(servers(spans())[0]!.attributes['graphql.document']).toBeUndefined();
      } finally {
        await off.close();
      }
    });
  });

  describe.each(
    LANES.flatMap((lane) => [
      { lane, off: 'no OTEL_EXPORTER_OTLP_ENDPOINT', env: {} },
      { lane, off: 'OTEL_SDK_DISABLED=true beside both endpoints', env: { ...TRACED, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces', OTEL_SDK_DISABLED: 'true' } },
    ]),
  )('tracing off ($off), $lane lane', ({ lane, env }) => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env });
    });
    afterAll(() => harness.close());

    it('no spans, and a valid incoming trace context reaches upstream as it came', async () => {
      const parent = incoming();
      expect((await harness.query(STATUS, { id: 'ex_demo_4' }, { headers: { traceparent: parent.header, tracestate: 'vendor=opaque' } })).errors).toBeUndefined();
      expect((await harness.query(STATUS, { id: 'ex_demo_2' })).errors).toBeUndefined();
      await sleep(50);
      expect(spans()).toEqual([]);
      const [continued, fresh] = harness.upstream.requests;
      expect(continued!.headers.traceparent).toBe(parent.header);
      expect(continued!.headers.tracestate).toBe('vendor=opaque');
      expect(fresh!.headers.traceparent).toBeUndefined();
      expect(fresh!.headers.tracestate).toBeUndefined();
    });

    it('forwards a trace context only when it is valid, and within the specification\'s bounds', async () => {
      harness.upstream.reset();
      const parent = incoming();
      const forty = Array.from({ length: 40 }, (_, i) => `v${i}=${'x'.repeat(20)}`).join(',');
      const sent: Array<Record<string, string>> = [
        { traceparent: 'garbage', tracestate: 'vendor=opaque' },
        { traceparent: 'z'.repeat(9_000), tracestate: 'y'.repeat(6_000) },
        { traceparent: `00-${'0'.repeat(32)}-${parent.spanId}-01`, tracestate: 'vendor=opaque' },
        { traceparent: `ff-${parent.traceId}-${parent.spanId}-01` },
        { traceparent: `01-${parent.traceId}-${parent.spanId}-01-a-later-field`, tracestate: 'UPPER=no,ok=1' },
        { traceparent: parent.header, tracestate: forty },
      ];
      for (const headers of sent) expect((await harness.query(STATUS, { id: 'ex_demo_4' }, { headers })).errors).toBeUndefined();
      const got = harness.upstream.requests.map((request) => [request.headers.traceparent, request.headers.tracestate]);
      expect(got.slice(0, 4)).toEqual(Array.from({ length: 4 }, () => [undefined, undefined]));
      // A later version is read for its first four fields and sent on as version 00; a member that is not one is left out.
      expect(got[4]).toEqual([parent.header, 'ok=1']);
      const [traceparent, tracestate] = got[5]!;
      expect(traceparent).toBe(parent.header);
      const members = String(tracestate).split(',');
      expect(String(tracestate).length).toBeLessThanOrEqual(512);
      expect(members.length).toBeGreaterThan(0);
      expect(members.length).toBeLessThanOrEqual(32);
      for (const member of members) expect(forty.split(',')).toContain(member);
    });
  });
});

describe('no new trace sampled (OTEL_TRACES_SAMPLER_ARG=0)', () => {
  const exporter = recordSpans(0);
  const spans = () => exporter.getFinishedSpans();

  describe.each(LANES)('%s lane', (lane) => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { ...TRACED, OTEL_TRACES_SAMPLER_ARG: '0' } });
    });
    afterAll(() => harness.close());
    beforeEach(() => harness.upstream.reset());

    it('without an incoming traceparent nothing is recorded, yet upstream gets a valid unsampled traceparent', async () => {
      for (let i = 0; i < 5; i++) expect((await harness.query(STATUS, { id: 'ex_demo_4' })).errors).toBeUndefined();
      await sleep(50);
      expect(spans()).toEqual([]);
      const forwarded = harness.upstream.requests.map((request) => parseTraceparent(request.headers.traceparent));
      expect(forwarded).toHaveLength(5);
      for (const each of forwarded) {
        expect(each.flags).toBe('00');
        expect(each.traceId).not.toBe('0'.repeat(32));
        expect(each.spanId).not.toBe('0'.repeat(16));
      }
      // A trace of its own for each request.
      expect(new Set(forwarded.map((each) => each.traceId)).size).toBe(5);
    });

    it('an incoming sampled traceparent is recorded all the same (parent-based)', async () => {
      const parent = incoming();
      expect((await harness.query(STATUS, { id: 'ex_demo_4' }, { headers: { traceparent: parent.header } })).errors).toBeUndefined();
      await eventually(() => expect(spans()).toHaveLength(2));
      const [server] = servers(spans());
      const [attempt] = clients(spans());
      expect(server!.name).toBe('query ExecutionStatus');
      expect(traceId(server!)).toBe(parent.traceId);
      expect(parentId(server!)).toBe(parent.spanId);
      expect(parentId(attempt!)).toBe(spanId(server!));
      expect(parseTraceparent(harness.upstream.requests[0]!.headers.traceparent)).toEqual({ traceId: parent.traceId, spanId: spanId(attempt!), flags: '01' });
    });
  });
});

describe('which settings turn tracing on, and where spans go', () => {
  const none = { otlpEndpoint: undefined, otlpTracesEndpoint: undefined, otelSdkDisabled: false };
  it.each([
    ['neither endpoint: off', none, undefined],
    ['the general endpoint: /v1/traces added, trailing slashes dropped', { ...none, otlpEndpoint: 'http://collector:4318//' }, 'http://collector:4318/v1/traces'],
    ["the signal's own endpoint alone: on, used as it is", { ...none, otlpTracesEndpoint: 'http://collector:4318/custom' }, 'http://collector:4318/custom'],
    ["both: the signal's own wins", { ...none, otlpEndpoint: 'http://a:4318', otlpTracesEndpoint: 'http://b:4318/v1/traces' }, 'http://b:4318/v1/traces'],
    ['OTEL_SDK_DISABLED=true: off, whatever the endpoints', { otlpEndpoint: 'http://a:4318', otlpTracesEndpoint: 'http://b:4318/v1/traces', otelSdkDisabled: true }, undefined],
  ])('%s', (_title, settings, url) => {
    expect(spansUrl(settings)).toBe(url);
  });
});

describe('OTEL_TRACES_SAMPLER', () => {
  // The SDK's ratio sampler decides by the trace id alone (its four 32-bit words XORed, under ratio × 2^32): with
  // ratio 0.5 these two ids fall on each side.
  const LOW = '00000000000000000000000000000001';
  const HIGH = '000000000000000000000000ffffffff';
  const decide = (sampler: string, traceId: string, parent?: 'sampled' | 'unsampled') => {
    const parentContext = parent
      ? trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: parent === 'sampled' ? TraceFlags.SAMPLED : TraceFlags.NONE, isRemote: true })
      : ROOT_CONTEXT;
    const { decision } = samplerOf({ otelSampler: sampler as never, otelSampleRatio: 0.5 }).shouldSample(parentContext, traceId, 'query', SpanKind.SERVER, {}, []);
    return decision === SamplingDecision.RECORD_AND_SAMPLED;
  };
  it.each([
    // sampler, new trace (low id, high id), under a sampled parent, under an unsampled one
    ['always_on', [true, true], true, true],
    ['always_off', [false, false], false, false],
    ['traceidratio', [true, false], false, true],
    ['parentbased_always_on', [true, true], true, false],
    ['parentbased_always_off', [false, false], true, false],
    ['parentbased_traceidratio', [true, false], true, false],
  ] as const)('%s', (sampler, fresh, underSampled, underUnsampled) => {
    expect([decide(sampler, LOW), decide(sampler, HIGH)]).toEqual(fresh);
    expect(decide(sampler, HIGH, 'sampled')).toBe(underSampled);
    expect(decide(sampler, LOW, 'unsampled')).toBe(underUnsampled);
  });
});

// ---------------------------------------------------------------------------

/** The processes below `pid`, parents before children (`ps`, as npx runs a shell that runs tsx that runs node). */
function descendants(pid: number): number[] {
  let children: number[];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    // ps exits 1 when there are none.
    children = [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

/** A process's command line, NUL-separated; empty once it is gone. */
function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

interface Collected {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** A collector on loopback that records every OTLP/HTTP JSON export. */
/** The environment of a gateway process in front of `upstream`, tracing to `collector`, as deployed. */
function processEnv(upstream: FakeUpstream, collector: { url: string }, more: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    UPSTREAM_URL: upstream.url,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    METRICS: 'off',
    LOG_LEVEL: 'info',
    SHUTDOWN_UNREADY_MS: '0',
    ...more,
  };
}

/** The URL a gateway process logs once it listens (its log so far: `output()`); fails if it exits first or takes 25 s. */
async function listeningUrl(output: () => string, exited: () => boolean): Promise<string> {
  const deadline = performance.now() + 25_000;
  for (;;) {
    if (performance.now() > deadline || exited()) throw new Error(`the gateway did not start: ${output()}`);
    const line = output().split('\n').find((each) => each.includes('execution-gateway listening'));
    if (line) return (JSON.parse(line) as { url: string }).url;
    await sleep(50);
  }
}

/** `src/main.ts` run as a process under plain node with `env`, its stdout and stderr kept together in `output()`. */
function gatewayProcess(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exitCode: () => number | null; url: () => Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: new URL('..', import.meta.url).pathname, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exitCode: number | null = null;
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('exit', (code) => (exitCode = code));
  return { child, output: () => output, exitCode: () => exitCode, url: () => listeningUrl(() => output, () => exitCode !== null) };
}

/**
 * A collector on loopback that records what it receives (each export as it has been read); `hang`: it reads each
 * export and never answers; `answerAfterMs`: it answers each that long after reading it (a collector under load).
 */
async function startCollector(options: { hang?: boolean; answerAfterMs?: number } = {}): Promise<{ server: Server; url: string; received: Collected[] }> {
  const received: Collected[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body = Buffer.concat(chunks);
      if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      let parsed: unknown = body.toString('utf8');
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        // Kept as text: the test then says what arrived.
      }
      received.push({ path: request.url ?? '', contentType: request.headers['content-type'], body: parsed });
      if (options.hang) return;
      const answer = () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (options.answerAfterMs) setTimeout(answer, options.answerAfterMs);
      else answer();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}`, received };
}

/** Every span of the OTLP/HTTP JSON exports in `received`. */
function spansIn(received: Collected[]): OtlpSpan[] {
  return received.flatMap((each) => (each.body as OtlpExport).resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)));
}

interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
}

interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

describe('the real process exports over OTLP/HTTP', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let upstream: FakeUpstream;
  let child: ChildProcess;
  let output = '';
  let exitCode: number | null = null;

  beforeAll(async () => {
    collector = await startCollector();
    upstream = await FakeUpstream.start({ executions: demoExecutions() });
    child = spawn('npx', ['tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      // The signal's own endpoint, as it is, wins over the general one (which has nothing listening).
      env: processEnv(upstream, collector, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.url}/otlp/spans`,
        OTEL_SERVICE_NAME: 'gateway-otlp-test',
        SHUTDOWN_GRACE_MS: '2000',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => (exitCode = code));
  }, 30_000);

  afterAll(async () => {
    // Whatever still runs of what this test started, the gateway first.
    if (exitCode === null) for (const pid of [...descendants(child.pid!).reverse(), child.pid!]) killQuietly(pid);
    await upstream.close();
    collector.server.closeAllConnections();
    await new Promise<void>((resolve) => collector.server.close(() => resolve()));
  });

  it('starts, serves a query through the upstream with a traceparent, and exits 0 on SIGTERM', async () => {
    const url = await listeningUrl(() => output, () => exitCode !== null);
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ query: STATUS, variables: { id: 'ex_demo_4' } }),
    });
    expect(((await response.json()) as ExecutionResult).data).toEqual({ execution: { id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' } });
    expect(upstream.requests).toHaveLength(1);
    // npx (npm exec) does not pass a signal on to the command it runs: signal the gateway itself, the last
    // process below it running src/main.ts (npm exec → sh → tsx → node; esbuild's service runs beside it).
    const gateway = descendants(child.pid!)
      .filter((pid) => commandLine(pid).includes('src/main.ts'))
      .at(-1)!;
    expect(commandLine(gateway)).toMatch(/^\/.*node\0/);
    process.kill(gateway, 'SIGTERM');
    const exited = performance.now() + 15_000;
    while (exitCode === null && performance.now() < exited) await sleep(50);
    expect(exitCode, output).toBe(0);
  }, 45_000);

  // The batch is flushed by `tracing.shutdown()` on SIGTERM: the spans arrive although the process exited.
  it('the collector received the spans, with service.name, flushed before the process exited', () => {
    const exports = collector.received.filter((each) => each.path === '/otlp/spans');
    expect(exports.length, JSON.stringify(collector.received)).toBeGreaterThan(0);
    expect(exports).toHaveLength(collector.received.length);
    for (const each of exports) expect(each.contentType).toMatch(/^application\/json/);
    const resourceSpans = exports.flatMap((each) => (each.body as OtlpExport).resourceSpans);
    const services = resourceSpans.map((each) => each.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue);
    expect(new Set(services)).toEqual(new Set(['gateway-otlp-test']));
    const spans = spansIn(exports);
    const server = spans.find((span) => span.name === 'query ExecutionStatus');
    const attempt = spans.find((span) => span.name === 'GET');
    expect(server, JSON.stringify(spans)).toBeDefined();
    expect(attempt?.parentSpanId).toBe(server!.spanId);
    expect(parseTraceparent(upstream.requests[0]!.headers.traceparent)).toMatchObject({ spanId: attempt!.spanId });
    // Every span arrived: none was told of as dropped.
    expect(spans).toHaveLength(2);
    expect(output).not.toContain('spans dropped');
  });
});

describe('a collector that does not answer', () => {
  it('the process still exits 0 on SIGTERM, soon after giving up the last spans, and says so once', async () => {
    const collector = await startCollector({ hang: true });
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    const { child, output, exitCode, url: listening } = gatewayProcess(processEnv(upstream, collector, { SHUTDOWN_GRACE_MS: '1000' }));
    try {
      const url = await listening();
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        body: JSON.stringify({ query: STATUS, variables: { id: 'ex_demo_4' } }),
      });
      expect(response.status).toBe(200);
      const signalled = performance.now();
      child.kill('SIGTERM');
      while (exitCode() === null && performance.now() < signalled + 15_000) await sleep(50);
      expect(exitCode(), output()).toBe(0);
      // The exporter's own timeout is 10 s: the shutdown gave up before it.
      expect(performance.now() - signalled).toBeLessThan(FLUSH_AT_SHUTDOWN_MS + 4_000);
      const lines = output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(lines.filter((line) => line.msg.startsWith('spans not flushed at shutdown'))).toHaveLength(1);
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    } finally {
      if (exitCode() === null) child.kill('SIGKILL');
      await upstream.close();
      collector.server.closeAllConnections();
      await new Promise<void>((resolve) => collector.server.close(() => resolve()));
    }
  }, 45_000);
});

describe('failed exports', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('are a warning at once, then at most one a minute counting them, each error by its name, code and message only', () => {
    vi.useFakeTimers();
    const warned: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const failures = new ExportFailures({ warn: (fields: Record<string, unknown>, message: string) => warned.push({ fields, message }) } as never);
    // As the OTLP exporter fails: its error carries the collector's body, and a stack.
    const refused = () => Object.assign(new Error('Bad Request'), { name: 'OTLPExporterError', code: 400, data: 'collector says: bad token sk-secret-123' });
    const err = { name: 'OTLPExporterError', message: 'Bad Request', code: '400' };
    failures.report(refused());
    for (let i = 0; i < 500; i++) failures.report(refused());
    vi.advanceTimersByTime(59_999);
    failures.report(refused());
    expect(warned).toEqual([{ fields: { err }, message: 'spans could not be exported to the collector OTEL_EXPORTER_OTLP_ENDPOINT names; they are lost' }]);
    expect(JSON.stringify(warned)).not.toMatch(/sk-secret|stack|    at /);
    // The minute's count, when it ends, though no failure follows.
    vi.advanceTimersByTime(1);
    expect(warned[1]).toEqual({ fields: { err, suppressed: 501, intervalMs: 60_000 }, message: 'spans could not be exported to the collector OTEL_EXPORTER_OTLP_ENDPOINT names; they are lost (repeated)' });
    vi.advanceTimersByTime(120_000);
    expect(warned).toHaveLength(2);
  });

  it('at shutdown, the count still held is told', () => {
    vi.useFakeTimers();
    const warned: Array<Record<string, unknown>> = [];
    const failures = new ExportFailures({ warn: (fields: Record<string, unknown>) => warned.push(fields) } as never);
    for (let i = 0; i < 3; i++) failures.report(new Error('socket hang up'));
    failures.close();
    expect(warned.map((fields) => fields.suppressed)).toEqual([undefined, 2]);
  });
});

describe('spans dropped, the export queue full', () => {
  /** An exporter that holds each batch until `open()` (a collector that has not answered yet), then answers each at once. */
  function heldExporter(): SpanExporter & { batches: ReadableSpan[][]; open(): void } {
    const pending: Array<(result: ExportResult) => void> = [];
    let opened = false;
    return {
      batches: [],
      export(spans, done) {
        this.batches.push(spans);
        if (opened) done({ code: ExportResultCode.SUCCESS });
        else pending.push(done);
      },
      open: () => {
        opened = true;
        pending.splice(0).forEach((done) => done({ code: ExportResultCode.SUCCESS }));
      },
      shutdown: () => Promise.resolve(),
    };
  }

  it("the SDK's batch processor reports each drop as it happens: counted, the first a warning at once, the rest counted in one line at shutdown", async () => {
    const warned: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const dropped = new DroppedSpans({ warn: (fields: Record<string, unknown>, message: string) => warned.push({ fields, message }) } as never);
    const exporter = heldExporter();
    // As startTracing makes it: a queue of 4, a batch of 2 sent at once, the next batch not before the first is answered.
    const options: BufferConfig & { selfObsMeterProvider: MeterProvider } = { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 60_000, selfObsMeterProvider: dropped.meterProvider };
    const processor = new BatchSpanProcessor(exporter, options);
    // Not registered: the spans of this provider only.
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const end = (count: number) => {
      for (let i = 0; i < count; i++) provider.getTracer('test').startSpan(`span ${i}`).end();
    };
    const before = spansDropped();
    try {
      // 2 sent (unanswered), 4 queued, 4 dropped.
      end(10);
      expect(exporter.batches.map((batch) => batch.length)).toEqual([2]);
      expect(spansDropped() - before).toBe(4);
      expect(warned).toEqual([{ fields: {}, message: expect.stringMatching(/^spans dropped: the export queue was full \(OTEL_BSP_MAX_QUEUE_SIZE/) }]);
      // Exports that succeed are no drops; the queue, emptied, takes spans again.
      exporter.open();
      await processor.forceFlush();
      end(1);
      await processor.forceFlush();
      expect(exporter.batches.flat()).toHaveLength(7);
      expect(spansDropped() - before).toBe(4);
      dropped.close();
      expect(warned.map(({ fields }) => fields)).toEqual([{}, { suppressed: 3, intervalMs: 60_000 }]);
      expect(warned[1]!.message).toMatch(/they are lost \(repeated\)$/);
    } finally {
      exporter.open();
      await provider.shutdown();
    }
  });

  it('the real process behind a slow collector: a healthy trickle drops nothing, a burst is told in the log and counted, and the count is every span sent that never arrived', async () => {
    const collector = await startCollector({ answerAfterMs: 1_000 });
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    // A queue of 20 sent 10 at a time, one batch at once: the collector takes 10 spans a second.
    const { child, output, exitCode, url: listening } = gatewayProcess(
      processEnv(upstream, collector, { METRICS: 'api', OTEL_BSP_MAX_QUEUE_SIZE: '20', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10', OTEL_BSP_SCHEDULE_DELAY: '200', SHUTDOWN_GRACE_MS: '1000' }),
    );
    const lines = () => output().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown> & { level: number; msg: string });
    const dropLines = () => lines().filter((line) => line.msg.startsWith('spans dropped'));
    try {
      const url = await listening();
      let operations = 0;
      const query = async () => {
        operations++;
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: AUTH, 'content-type': 'application/json' },
          // Running: never cached, so each operation is a SERVER span and an upstream attempt's CLIENT span.
          body: JSON.stringify({ query: STATUS, variables: { id: 'ex_demo_4' } }),
        });
        expect(response.status).toBe(200);
        await response.text();
      };
      const dropped = async () => {
        const text = await (await fetch(new URL('/metrics', url))).text();
        const match = /^gateway_trace_spans_dropped_total (\d+)$/m.exec(text);
        expect(match, 'gateway_trace_spans_dropped_total').not.toBeNull();
        return Number(match![1]);
      };
      // Spans the gateway ended: one SERVER span per operation, one CLIENT span per upstream attempt.
      const made = () => operations + upstream.requests.length;

      for (let i = 0; i < 3; i++) await query();
      await eventually(() => expect(spansIn(collector.received)).toHaveLength(made()), 10_000);
      expect(await dropped()).toBe(0);
      expect(dropLines()).toEqual([]);

      for (let i = 0; i < 100; i++) await query();
      // Once the queue has drained, every span either arrived or was dropped.
      let count = 0;
      const deadline = performance.now() + 15_000;
      while ((count = await dropped()) + spansIn(collector.received).length < made() && performance.now() < deadline) await sleep(200);
      expect(count, 'spans dropped').toBeGreaterThan(0);
      expect(count + spansIn(collector.received).length).toBe(made());
      // The first drop was told at once, with no field of its own (no URL, no token, nothing of the span).
      expect(dropLines()).toHaveLength(1);
      expect(dropLines()[0]).toMatchObject({ level: 40 });
      expect(Object.keys(dropLines()[0]!).filter((key) => !['level', 'time', 'pid', 'hostname', 'name', 'msg'].includes(key))).toEqual([]);

      child.kill('SIGTERM');
      const signalled = performance.now();
      while (exitCode() === null && performance.now() < signalled + 15_000) await sleep(50);
      expect(exitCode(), output()).toBe(0);
      // The rest, within the minute, in one line at shutdown: every dropped span told, in two lines.
      const told = dropLines();
      expect(told).toHaveLength(2);
      expect(told[1]).toMatchObject({ level: 40, suppressed: count - 1, intervalMs: 60_000 });
      expect(told[1]!.msg).toMatch(/\(repeated\)$/);
      expect(JSON.stringify(told)).not.toContain(collector.url);
    } finally {
      if (exitCode() === null) child.kill('SIGKILL');
      await upstream.close();
      collector.server.closeAllConnections();
      await new Promise<void>((resolve) => collector.server.close(() => resolve()));
    }
  }, 60_000);
});
