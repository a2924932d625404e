import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';

/**
 * The upstream documentation's own examples (openapi.yaml: the 200 example and each
 * error response's), served by the fake upstream byte for byte and read back through
 * the gateway: every documented field reachable, with its value.
 */

const EXAMPLE = {
  code: 200,
  data: {
    events: [
      {
        createdAt: '2026-03-01T12:07:01.000Z',
        data: { seq: 1, attempt: 2, detail: { k: 1, durationMs: 44, ok: true }, tags: ['t1', 'execution.created'] },
        eventType: 'execution.created',
        executionId: 'ex_acme_7',
        id: 'ev_ex_acme_7_1',
        level: 'debug',
        message: 'execution.created #1 for ex_acme_7',
        nodeId: null,
        organizationId: 'org_acme',
        requestId: 'req_acme_7',
        runId: 'run_acme_7',
        title: 'Execution created',
        workflowId: 'wf_7',
      },
    ],
    execution: {
      checkoutSessionId: 'cs_acme_7',
      clientSafeMetadata: { channel: 'api', locale: 'ja-JP', plan: { seats: 8, tier: 'pro' } },
      createdAt: '2026-03-01T12:07:00.000Z',
      externalRef: 'ext-acme-000007',
      finishedAt: '2026-03-01T12:07:50.000Z',
      id: 'ex_acme_7',
      idempotencyKey: 'idem_acme_7',
      initiatedById: 'usr_acme_7',
      initiatedByType: 'api_key',
      orderId: 'ord_acme_7',
      organizationId: 'org_acme',
      paymentStatus: 'paid',
      requestPayload: { amount: { currency: 'USD', value: 875 }, items: [{ qty: 4, sku: 'sku_7' }], options: { dryRun: false, priority: 'normal' } },
      responsePayload: { attempts: 2, error: { code: 'NODE_TIMEOUT', nodeId: 'node_3', retryable: true } },
      runId: 'run_acme_7',
      sourceEntityId: 'ent_acme_7',
      sourceEntityType: 'invoice',
      sourceSystem: 'billing',
      startedAt: '2026-03-01T12:07:00.500Z',
      status: 'workflow_failed',
      statusReason: 'node_3 timed out after 30000ms',
      updatedAt: '2026-03-01T12:07:50.000Z',
      workflowId: 'wf_7',
    },
    message: 'execution retrieved',
  },
  message: 'success',
  requestId: 'req-1a2b3c4d-1',
};

const EXEC_FIELDS = Object.keys(EXAMPLE.data.execution).join(' ');
const EVENT_FIELDS = Object.keys(EXAMPLE.data.events[0]!).join(' ');
const QUERY = `query($id: ID!) { execution(id: $id) { ${EXEC_FIELDS} rawStatus isTerminal events { totalCount edges { cursor node { ${EVENT_FIELDS} } } } } }`;

let harness: Harness;
describe.each(LANES)('%s lane', (lane) => {
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it('serves the documented 200 example', async () => {
    harness.upstream.setFault('ex_acme_7', { kind: 'body', body: JSON.stringify(EXAMPLE) });
    const r = await harness.query<any>(QUERY, { id: 'ex_acme_7' });
    expect(r.errors).toBeUndefined();
    const { status, ...rest } = EXAMPLE.data.execution;
    expect(r.data.execution).toMatchObject({ ...rest, status: 'WORKFLOW_FAILED', rawStatus: status, isTerminal: true });
    expect(r.data.execution.events.edges.map((e: any) => e.node)).toEqual(EXAMPLE.data.events);
  });

  it('names the upstream response a warned value came in, to the client and in the log', async () => {
    const odd = structuredClone(EXAMPLE);
    (odd.data.execution as Record<string, unknown>).startedAt = 'soon';
    // No x-request-id header: the envelope's requestId names the response.
    harness.upstream.setFault('ex_acme_7', { kind: 'body', body: JSON.stringify(odd), headers: { 'x-request-id': '' } });
    const r = await harness.query<any>('query($id: ID!) { execution(id: $id) { startedAt } }', { id: 'ex_acme_7' });
    expect(r.data.execution.startedAt).toBeNull();
    expect(r.extensions?.warnings).toEqual([
      expect.objectContaining({ path: ['execution', 'startedAt'], code: 'UNREADABLE_VALUE', upstreamRequestId: 'req-1a2b3c4d-1' }),
    ]);
    const line = harness.logs.find((entry) => entry.field === 'Execution.startedAt');
    expect(line).toMatchObject({ executionId: 'ex_acme_7', upstreamRequestId: 'req-1a2b3c4d-1', requestId: r.headers.get('x-request-id') });
  });

  it('an empty x-request-id names no response: the envelope\'s requestId does', async () => {
    const body = JSON.stringify({ code: 404, message: 'execution not found', requestId: 'req-1a2b3c4d-5' });
    harness.upstream.setFault('ex_acme_7', { kind: 'status', status: 404, body, headers: { 'x-request-id': '' } });
    const r = await harness.query<any>('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_acme_7' });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamRequestId: 'req-1a2b3c4d-5' });
  });

  it('keeps the first 256 characters of a longer request id, in every note and on errors: repeated in each, it made a 6 MB body a response too large to write', async () => {
    const long = `req-${'R'.repeat(100_000)}`;
    const odd = structuredClone(EXAMPLE) as { requestId: string; data: { events: Record<string, unknown>[] } };
    odd.requestId = long;
    odd.data.events = Array.from({ length: 100 }, (_, i) => ({ ...EXAMPLE.data.events[0], id: `ev_${i}`, createdAt: 'soon' }));
    harness.upstream.setFault('ex_acme_7', { kind: 'body', body: JSON.stringify(odd), headers: { 'x-request-id': '' } });
    const r = await harness.query<any>('query($id: ID!) { execution(id: $id) { events(first: 100) { nodes { createdAt } } } }', { id: 'ex_acme_7' });
    expect(r.status).toBe(200);
    expect(r.data.execution.events.nodes).toHaveLength(100);
    expect(r.extensions?.warnings).toHaveLength(100);
    for (const warning of r.extensions!.warnings as { upstreamRequestId: string }[]) expect(warning.upstreamRequestId).toBe(long.slice(0, 256));
    expect(harness.rawLogs).not.toContain(long.slice(0, 257));

    // An x-request-id header as long as undici takes, and an error envelope's requestId: the same bound.
    harness.upstream.setFault('ex_acme_7', { kind: 'status', status: 503, headers: { 'x-request-id': 'H'.repeat(8_000) } });
    const failed = await harness.query<any>('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_acme_7' });
    expect(failed.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamRequestId: 'H'.repeat(256) });
    const body = JSON.stringify({ code: 404, message: 'execution not found', requestId: long });
    harness.upstream.setFault('ex_acme_7', { kind: 'status', status: 404, body, headers: { 'x-request-id': '' } });
    const missing = await harness.query<any>('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_acme_7' });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamRequestId: long.slice(0, 256) });
  });

  it('never cuts a request id between the halves of a surrogate pair', async () => {
    const long = `${'r'.repeat(255)}😀tail`;
    const body = JSON.stringify({ code: 404, message: 'execution not found', requestId: long });
    harness.upstream.setFault('ex_acme_7', { kind: 'status', status: 404, body, headers: { 'x-request-id': '' } });
    const r = await harness.query<any>('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_acme_7' });
    expect(r.errors?.[0]?.extensions?.upstreamRequestId).toBe('r'.repeat(255));
  });

  it.each([
    [400, 'invalid execution id', 'BAD_USER_INPUT'],
    [401, 'unauthorized', 'UNAUTHENTICATED'],
    [403, 'forbidden', 'FORBIDDEN'],
    [404, 'execution not found', 'NOT_FOUND'],
    [405, 'method not allowed', 'UPSTREAM_BAD_RESPONSE'],
    [500, 'internal server error', 'UPSTREAM_UNAVAILABLE'],
    [503, 'service unavailable', 'UPSTREAM_UNAVAILABLE'],
  ])('maps the documented %i envelope', async (status, message, code) => {
    const body = JSON.stringify({ code: status, message, requestId: `req-x-${status}` });
    harness.upstream.setFault('ex_acme_7', { kind: 'status', status, body, headers: { 'x-request-id': `req-x-${status}` } });
    const r = await harness.query<any>('query($id: ID!) { execution(id: $id) { id } }', { id: 'ex_acme_7' });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code, upstreamStatus: status, upstreamRequestId: `req-x-${status}` });
  });
});
