/**
 * A request the pipeline refuses while it reads the request (a body that is no JSON, CSRF prevention's 403) is a
 * GraphQL operation refused before parsing, as README "Traces" has it: one SERVER span, `GraphQL Operation`, status
 * ERROR with the code the client sees, continuing the request's `traceparent`, and its access line names that trace.
 * Such requests had no span at all, while the same refusals a step later (no document, `extensions` not an object)
 * had one: an operator following refused requests in the traces missed every CSRF refusal and every malformed body.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';
import { recordSpans, TRACED } from './support/spans.js';
import { waitFor } from './support/live.js';

const exporter = recordSpans(1);

const servers = () => exporter.getFinishedSpans().filter((span: ReadableSpan) => span.kind === SpanKind.SERVER);

const CASES: Array<{ what: string; init: RequestInit; query?: string; status: number }> = [
  { what: 'a POST body that is no JSON', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' }, status: 400 },
  { what: 'a GET without the CSRF header', init: { method: 'GET' }, query: '?query=%7B__typename%7D', status: 403 },
  {
    what: 'a form POST without the CSRF header',
    init: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' },
    status: 403,
  },
];

describe.each(LANES)('%s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    // Traced (the OTLP endpoint is never contacted: the processor above replaces the exporter).
    harness = await Harness.start({ lane, env: TRACED });
  });
  afterAll(() => harness.close());

  it.each(CASES)('$what: one SERVER span with its code, in the caller\'s trace, named by the access line', async ({ init, query, status }) => {
    const traceId = `0af7651916cd43dd8448eb211c80${Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0')}`;
    const before = harness.logs.length;
    const response = await harness.fetch(`/graphql${query ?? ''}`, { ...init, headers: { ...(init.headers as Record<string, string>), traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    expect(response.status).toBe(status);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors.map((error) => error.extensions.code)).toEqual(['BAD_REQUEST']);

    await waitFor(() => servers().length === 1, 'the operation span');
    const [span] = servers();
    expect(span!.name).toBe('GraphQL Operation');
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'BAD_REQUEST' });
    expect(span!.spanContext().traceId).toBe(traceId);
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span!.attributes).toEqual({ 'client.address': '127.0.0.1' });

    const accessLines = () => harness.logs.slice(before).filter((line) => line.component === 'access');
    await waitFor(() => accessLines().length === 1, 'the access line');
    expect(accessLines()[0]!.traceId).toBe(traceId);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('without a traceparent the refusal starts a trace of its own, which its access line names', async () => {
    const before = harness.logs.length;
    const response = await harness.fetch('/graphql?query=%7B__typename%7D', { method: 'GET' });
    expect(response.status).toBe(403);
    await response.arrayBuffer();
    await waitFor(() => servers().length === 1, 'the operation span');
    const accessLines = () => harness.logs.slice(before).filter((line) => line.component === 'access');
    await waitFor(() => accessLines().length === 1, 'the access line');
    expect(accessLines()[0]!.traceId).toBe(servers()[0]!.spanContext().traceId);
  });
});
