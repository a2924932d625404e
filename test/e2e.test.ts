/**
 * End to end over real sockets: the generated typed client (graphql-request +
 * graphql-codegen documents, as frontends use it) → the gateway on a loopback
 * port → the fake upstream on another. No hand-written query strings: every
 * operation is a generated document (printed as is where the raw response and
 * its headers are needed).
 */
import { print } from 'graphql';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createGatewayClient,
  ExecutionEventsDocument,
  ExecutionPageDocument,
  ExecutionsDocument,
  ExecutionStatusDocument,
  type ExecutionEventsQuery,
  type ExecutionsQuery,
  type ExecutionStatusQuery,
  type ExecutionStatusQueryVariables,
} from '../src/client/index.js';
import type { UpstreamEvent, UpstreamExecution } from '../src/upstream/envelope.js';
import { AUTH, Harness } from './support/harness.js';

const DEMO_STATUSES = [
  ['ex_demo_1', 'awaiting_payment', 'AWAITING_PAYMENT', false],
  ['ex_demo_2', 'payment_confirmed', 'PAYMENT_CONFIRMED', false],
  ['ex_demo_3', 'workflow_queued', 'WORKFLOW_QUEUED', false],
  ['ex_demo_4', 'workflow_running', 'WORKFLOW_RUNNING', false],
  ['ex_demo_5', 'workflow_waiting', 'WORKFLOW_WAITING', false],
  ['ex_demo_6', 'workflow_succeeded', 'WORKFLOW_SUCCEEDED', true],
  ['ex_demo_7', 'workflow_failed', 'WORKFLOW_FAILED', true],
  ['ex_demo_8', 'workflow_cancelled', 'WORKFLOW_CANCELLED', true],
] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let harness: Harness;
let url: string;
beforeAll(async () => {
  harness = await Harness.start();
  url = await harness.listen();
});
afterAll(() => harness.close());
beforeEach(() => harness.upstream.reset());

function upstreamExecution(id: string): UpstreamExecution {
  const stored = harness.upstream.get(id);
  if (!stored) throw new Error(`the fake upstream has no ${id}`);
  return stored.execution;
}

function upstreamEvents(id: string): UpstreamEvent[] {
  return harness.upstream.get(id)!.events;
}

/** The fields of ExecutionDetails, as the gateway should serve them for an upstream execution. */
function expectedDetails(execution: UpstreamExecution, status: string, isTerminal: boolean) {
  return {
    id: execution.id,
    status,
    rawStatus: execution.status,
    isTerminal,
    statusReason: execution.statusReason ?? null,
    paymentStatus: execution.paymentStatus,
    checkoutSessionId: execution.checkoutSessionId ?? null,
    orderId: execution.orderId ?? null,
    externalRef: execution.externalRef ?? null,
    idempotencyKey: execution.idempotencyKey,
    initiatedById: execution.initiatedById,
    initiatedByType: execution.initiatedByType,
    organizationId: execution.organizationId,
    runId: execution.runId,
    workflowId: execution.workflowId,
    sourceEntityId: execution.sourceEntityId,
    sourceEntityType: execution.sourceEntityType,
    sourceSystem: execution.sourceSystem,
    clientSafeMetadata: execution.clientSafeMetadata ?? null,
    requestPayload: execution.requestPayload ?? null,
    responsePayload: execution.responsePayload ?? null,
    createdAt: execution.createdAt,
    updatedAt: execution.updatedAt,
    startedAt: execution.startedAt ?? null,
    finishedAt: execution.finishedAt ?? null,
  };
}

/** The fields of EventDetails, as the gateway should serve them for an upstream event. */
function expectedEvent(event: UpstreamEvent) {
  return {
    id: event.id,
    executionId: event.executionId,
    createdAt: event.createdAt,
    eventType: event.eventType,
    level: event.level,
    title: event.title ?? null,
    message: event.message ?? null,
    nodeId: event.nodeId ?? null,
    data: event.data ?? null,
    organizationId: event.organizationId,
    requestId: event.requestId,
    runId: event.runId,
    workflowId: event.workflowId,
  };
}

describe('typed client, end to end', () => {
  it.each(DEMO_STATUSES)('polls the status of %s (%s)', async (id, raw, status, isTerminal) => {
    const client = createGatewayClient(url, AUTH);
    const { execution } = await client.request(ExecutionStatusDocument, { id });
    expect(execution).toEqual({ id, status, rawStatus: raw, isTerminal, updatedAt: upstreamExecution(id).updatedAt });
    const calls = harness.upstream.requestsFor(id);
    expect(harness.upstream.requests).toHaveLength(1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.authorization).toBe(AUTH);
  });

  it('serves the execution page: every detail and the first 20 events with edges and pageInfo', async () => {
    const client = createGatewayClient(url, AUTH);
    const { execution } = await client.request(ExecutionPageDocument, { id: 'ex_demo_long' });
    expect(execution).not.toBeNull();
    const { events, ...details } = execution!;
    expect(details).toEqual(expectedDetails(upstreamExecution('ex_demo_long'), 'WORKFLOW_RUNNING', false));

    const upstream = upstreamEvents('ex_demo_long');
    expect(events.totalCount).toBe(1000);
    expect(events.edges).toHaveLength(20);
    expect(events.edges.map((edge) => edge.node)).toEqual(upstream.slice(0, 20).map(expectedEvent));
    const cursors = events.edges.map((edge) => edge.cursor);
    expect(new Set(cursors).size).toBe(20);
    expect(events.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: cursors[0],
      endCursor: cursors[19],
    });
    // All of it, execution and events, from one upstream call.
    expect(harness.upstream.requests).toHaveLength(1);
    expect(harness.upstream.requestsFor('ex_demo_long')).toHaveLength(1);
  });

  it('serves a whole short execution on one page when it has fewer than 20 events', async () => {
    const client = createGatewayClient(url, AUTH);
    const { execution } = await client.request(ExecutionPageDocument, { id: 'ex_demo_7', first: 20 });
    const upstream = upstreamEvents('ex_demo_7');
    expect(upstream).toHaveLength(15);
    const { events, ...details } = execution!;
    expect(details).toEqual(expectedDetails(upstreamExecution('ex_demo_7'), 'WORKFLOW_FAILED', true));
    expect(details.statusReason).toBe('node_3 timed out after 30000ms');
    expect(events.totalCount).toBe(15);
    expect(events.edges.map((edge) => edge.node)).toEqual(upstream.map(expectedEvent));
    expect(events.pageInfo).toEqual({
      hasNextPage: false,
      hasPreviousPage: false,
      startCursor: events.edges[0]!.cursor,
      endCursor: events.edges[14]!.cursor,
    });
  });

  it('answers executions(ids) with partial data: a missing id in the middle is null with NOT_FOUND', async () => {
    const client = createGatewayClient(url, AUTH);
    const ids = ['ex_demo_1', 'ex_missing', 'ex_demo_6'];
    const error = await client.request(ExecutionsDocument, { ids }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(ClientError);
    const { response } = error as ClientError;
    expect(response.status).toBe(200);
    expect(response.data as ExecutionsQuery).toEqual({
      executions: [
        { id: 'ex_demo_1', status: 'AWAITING_PAYMENT', isTerminal: false, updatedAt: upstreamExecution('ex_demo_1').updatedAt },
        null,
        { id: 'ex_demo_6', status: 'WORKFLOW_SUCCEEDED', isTerminal: true, updatedAt: upstreamExecution('ex_demo_6').updatedAt },
      ],
    });
    expect(response.errors).toHaveLength(1);
    const [notFound] = response.errors!;
    expect(notFound!.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 404, upstreamRequestId: expect.stringMatching(/^up-/) });
    expect(notFound!.path).toEqual(['executions', 1]);
    // One upstream call per id, each with the caller's token.
    for (const id of ids) {
      const calls = harness.upstream.requestsFor(id);
      expect(calls, id).toHaveLength(1);
      expect(calls[0]!.headers.authorization).toBe(AUTH);
    }
    expect(harness.upstream.requests).toHaveLength(3);
  });

  it("walks all 1,000 events of ex_demo_long page by page, one upstream call per page", async () => {
    const client = createGatewayClient(url, AUTH);
    const pages: ExecutionEventsQuery[] = [];
    let after: string | null = null;
    for (;;) {
      if (pages.length >= 20) throw new Error('the walk did not end after 20 pages of 100');
      const page: ExecutionEventsQuery = await client.request(ExecutionEventsDocument, { id: 'ex_demo_long', first: 100, after });
      pages.push(page);
      const { events } = page.execution!;
      if (!events.pageInfo.hasNextPage) break;
      expect(events.pageInfo.endCursor).not.toBeNull();
      after = events.pageInfo.endCursor;
    }

    expect(pages).toHaveLength(10);
    pages.forEach((page, i) => {
      const { id, events } = page.execution!;
      expect(id).toBe('ex_demo_long');
      expect(events.totalCount).toBe(1000);
      expect(events.edges).toHaveLength(100);
      expect(events.pageInfo).toEqual({
        hasNextPage: i < 9,
        hasPreviousPage: i > 0,
        startCursor: events.edges[0]!.cursor,
        endCursor: events.edges[99]!.cursor,
      });
      // Each event's own `execution` is the one already loaded for the page.
      for (const edge of events.edges) expect(edge.node.execution).toEqual({ id: 'ex_demo_long', status: 'WORKFLOW_RUNNING' });
    });

    const walked = pages.flatMap((page) => page.execution!.events.edges.map((edge) => edge.node));
    const upstream = upstreamEvents('ex_demo_long');
    expect(new Set(walked.map((node) => node.id)).size).toBe(1000);
    expect(walked.map((node) => node.id)).toEqual(upstream.map((event) => event.id));
    expect(walked.map(({ id, createdAt, level, eventType, nodeId }) => ({ id, createdAt, level, eventType, nodeId }))).toEqual(
      upstream.map(({ id, createdAt, level, eventType, nodeId }) => ({ id, createdAt, level, eventType, nodeId: nodeId ?? null })),
    );

    // Exactly one upstream call per page request, each with the client's token
    // and its own request id (the gateway makes one per GraphQL request).
    const calls = harness.upstream.requestsFor('ex_demo_long');
    expect(calls).toHaveLength(pages.length);
    expect(harness.upstream.requests).toHaveLength(pages.length);
    for (const call of calls) {
      expect(call.method).toBe('GET');
      expect(call.headers.authorization).toBe(AUTH);
      expect(call.headers['x-request-id']).toMatch(UUID);
    }
    expect(new Set(calls.map((call) => call.headers['x-request-id'])).size).toBe(pages.length);
  });

  it('forwards a client-sent x-request-id to upstream and echoes it in the response header', async () => {
    const requestId = 'e2e-trace-0001';
    const client = createGatewayClient(url, AUTH, { 'x-request-id': requestId });
    const response = await client.rawRequest<ExecutionStatusQuery, ExecutionStatusQueryVariables>(print(ExecutionStatusDocument), { id: 'ex_demo_5' });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data.execution).toMatchObject({ id: 'ex_demo_5', status: 'WORKFLOW_WAITING' });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    const calls = harness.upstream.requestsFor('ex_demo_5');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers['x-request-id']).toBe(requestId);
    expect(calls[0]!.headers.authorization).toBe(AUTH);
  });

  it('without a client x-request-id, echoes the one it generated and sent upstream', async () => {
    const client = createGatewayClient(url, AUTH);
    const response = await client.rawRequest<ExecutionStatusQuery, ExecutionStatusQueryVariables>(print(ExecutionStatusDocument), { id: 'ex_demo_3' });
    expect(response.data.execution).toMatchObject({ id: 'ex_demo_3', status: 'WORKFLOW_QUEUED' });
    const echoed = response.headers.get('x-request-id');
    expect(echoed).toMatch(UUID);
    const calls = harness.upstream.requestsFor('ex_demo_3');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers['x-request-id']).toBe(echoed);
  });
});
