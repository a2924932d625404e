/**
 * End to end over real sockets, on each lane (`fast`, as deployed, and `full`,
 * Yoga's own node adapter): the generated typed client (graphql-request +
 * graphql-codegen documents, as frontends use it) → the gateway on a loopback
 * port → the fake upstream on another. The typed-client suite sends no
 * hand-written query strings: every operation is a generated document (printed
 * as is where the raw response and its headers are needed).
 *
 * Then the pipeline's promises that hold whatever the lane: a document answers
 * the same the first time and every time after (the fast lane caches and
 * compiles on first sight), an operation with errors is answered from what was
 * already loaded and counts its events once, a client leaving cancels upstream
 * work; and the two lanes answer any request alike, down to the bytes.
 */
import { connect } from 'node:net';
import { getLocation, print, Source } from 'graphql';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createGatewayClient,
  ExecutionEventsDocument,
  ExecutionPageDocument,
  ExecutionsDocument,
  ExecutionStatusDocument,
  GatewayClient,
  type ExecutionEventsQuery,
  type ExecutionsQuery,
  type ExecutionStatusQuery,
  type ExecutionStatusQueryVariables,
} from '../src/client/index.js';
import type { FakeUpstream } from '../src/demo/fake-upstream.js';
import { ErrorCode, WarningCode, type DataWarning } from '../src/errors.js';
import { MAX_EVENTS_PER_REQUEST } from '../src/request/scope.js';
import type { UpstreamEvent, UpstreamExecution } from '../src/upstream/envelope.js';
import { AUTH, Harness, LANES } from './support/harness.js';

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

function upstreamExecutionOf(upstream: FakeUpstream, id: string): UpstreamExecution {
  const stored = upstream.get(id);
  if (!stored) throw new Error(`the fake upstream has no ${id}`);
  return stored.execution;
}

function upstreamEventsOf(upstream: FakeUpstream, id: string): UpstreamEvent[] {
  return upstream.get(id)!.events;
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

describe.each(LANES)('typed client, end to end (%s lane)', (lane) => {
  let harness: Harness;
  let url: string;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
    url = harness.url;
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());
  const upstreamExecution = (id: string) => upstreamExecutionOf(harness.upstream, id);
  const upstreamEvents = (id: string) => upstreamEventsOf(harness.upstream, id);

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
    // Where the failing field is in the document the client sent (the fast lane's
    // compiled code gives none; graphql-js makes the answer again with them).
    const sent = print(ExecutionsDocument);
    expect(notFound!.locations).toEqual([getLocation(new Source(sent), sent.indexOf('executions('))]);
    // One upstream call per id, each with the caller's token.
    for (const id of ids) {
      const calls = harness.upstream.requestsFor(id);
      expect(calls, id).toHaveLength(1);
      expect(calls[0]!.headers.authorization).toBe(AUTH);
    }
    expect(harness.upstream.requests).toHaveLength(3);
  });

  it('requestResult gives the siblings of a failing id, typed, next to its error, and still throws for a refused request', async () => {
    const client = createGatewayClient(url, AUTH);
    const ids = ['ex_demo_1', 'ex_missing', 'ex_demo_6'];
    const { data, errors, extensions, status } = await client.requestResult(ExecutionsDocument, { ids });
    expect(status).toBe(200);
    // Typed by the document: no cast between the result and its rows.
    const rows: ExecutionsQuery['executions'] = data!.executions;
    expect(rows.map((row) => row?.status ?? null)).toEqual(['AWAITING_PAYMENT', null, 'WORKFLOW_SUCCEEDED']);
    expect(rows[2]).toEqual({ id: 'ex_demo_6', status: 'WORKFLOW_SUCCEEDED', isTerminal: true, updatedAt: upstreamExecution('ex_demo_6').updatedAt });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: ['executions', 1], extensions: { code: 'NOT_FOUND' } });
    expect(extensions?.upstream?.calls).toBe(3);
    expect(harness.upstream.requests).toHaveLength(3);

    // A variable of the wrong type fails the whole request (a 400, no data): still a ClientError.
    const refused = await client.requestResult(ExecutionsDocument, { ids: [{ not: 'an id' }] } as never).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).response.status).toBe(400);
  });

  it("takes an endpoint relative to the page, as fetch does: `/graphql` behind a development server's proxy", async () => {
    // graphql-request 7.4 parses its endpoint with `new URL(endpoint)`, no base: every request from a page
    // that named the gateway `/graphql` failed with "Invalid URL" before it was sent, while watchExecution took it.
    vi.stubGlobal('document', { baseURI: `${harness.origin}/runs/ex_demo_1?tab=events` });
    try {
      const client = createGatewayClient('/graphql', AUTH);
      expect((await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution?.id).toBe('ex_demo_1');
      const { data, errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_2' });
      expect(errors).toEqual([]);
      expect(data?.execution?.id).toBe('ex_demo_2');
      // A path relative to the page's, and one set later, resolve as fetch would resolve them.
      const fromPath = createGatewayClient('../graphql', AUTH);
      expect((await fromPath.request(ExecutionStatusDocument, { id: 'ex_demo_3' })).execution?.id).toBe('ex_demo_3');
      const moved = createGatewayClient('https://elsewhere.invalid/graphql', AUTH).setEndpoint('/graphql');
      expect((await moved.request(ExecutionStatusDocument, { id: 'ex_demo_4' })).execution?.id).toBe('ex_demo_4');
    } finally {
      vi.unstubAllGlobals();
    }
    expect(harness.upstream.requests.map((request) => request.path)).toEqual(['ex_demo_1', 'ex_demo_2', 'ex_demo_3', 'ex_demo_4'].map((id) => `/v1/executions/${id}`));
  });

  // graphql-request failed these with a bare `Invalid URL`, or `fetch failed` (the scheme of `localhost:4000/graphql`
  // is `localhost:`), which reads as the gateway being down; watchExecution already said what to give.
  it.each(['/graphql', 'localhost:4000/graphql', 'ftp://127.0.0.1/graphql'])('rejects each request for the endpoint %j, no http(s) URL in Node, with the TypeError that says what to give', async (endpoint) => {
    const client = createGatewayClient(endpoint, AUTH);
    const said = new TypeError(`The gateway's endpoint ${JSON.stringify(endpoint)} is not an http(s) URL: give its whole /graphql URL (http://127.0.0.1:4000/graphql), or in a page a path relative to it (/graphql).`);
    await expect(client.request(ExecutionStatusDocument, { id: 'ex_demo_1' })).rejects.toThrow(said);
    await expect(client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' })).rejects.toThrow(said);
    await expect(client.rawRequest('{ __typename }')).rejects.toThrow(said);
    await expect(createGatewayClient(endpoint, AUTH, {}, { persistedDocuments: true }).request(ExecutionStatusDocument, { id: 'ex_demo_1' })).rejects.toThrow(said);
    expect(harness.upstream.requests).toEqual([]);
  });

  it('sends the authorization argument alone when the headers given carry an Authorization too', async () => {
    // A frontend's shared headers with a token of their own (another case): fetch joined the two into one
    // header, "Bearer stale-token, <token>", which upstream refused: UNAUTHENTICATED for every field.
    const client = createGatewayClient(url, AUTH, { Authorization: 'Bearer stale-token', 'x-request-id': 'client-auth-1' });
    const { data, errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors).toEqual([]);
    expect(data?.execution?.id).toBe('ex_demo_1');
    await client.request(ExecutionStatusDocument, { id: 'ex_demo_2' });
    expect([...harness.upstream.requestsFor('ex_demo_1'), ...harness.upstream.requestsFor('ex_demo_2')].map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
    // Without the argument, the headers' own is sent.
    const theirs = await createGatewayClient(url, undefined, { Authorization: AUTH }).requestResult(ExecutionStatusDocument, { id: 'ex_demo_3' });
    expect(theirs.errors).toEqual([]);
  });

  it('setHeader with a refreshed Authorization replaces the token the client was made with, whatever the case', async () => {
    // Set beside `authorization` as `Authorization`, both went out joined, "Bearer expired, <token>": UNAUTHENTICATED.
    const client = createGatewayClient(url, 'Bearer expired');
    client.setHeader('Authorization', AUTH);
    const { errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors).toEqual([]);
    await client.setHeader('x-request-id', 'client-auth-2').request(ExecutionStatusDocument, { id: 'ex_demo_2' });
    expect([...harness.upstream.requestsFor('ex_demo_1'), ...harness.upstream.requestsFor('ex_demo_2')].map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
  });

  it.each([
    ['a Headers', () => new Headers({ Authorization: 'Bearer expired', 'x-trace-tag': 'a' })],
    ['an array of pairs', () => [['authorization', 'Bearer expired'], ['x-trace-tag', 'a']] as Array<[string, string]>],
  ])('setHeader replaces the Authorization of headers given as %s, and keeps their others', async (_form, headers) => {
    // graphql-request sets a header as a property of the headers object: on a Headers or an array it went nowhere, and
    // the expired token kept going out.
    const sentHeaders: Headers[] = [];
    const fetchSpy = (input: RequestInfo | URL, init?: RequestInit) => {
      sentHeaders.push(new Headers(init?.headers));
      return fetch(input, init);
    };
    const client = new GatewayClient(url, { headers: headers(), fetch: fetchSpy });
    client.setHeader('Authorization', AUTH);
    const { errors } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' });
    expect(errors).toEqual([]);
    client.setHeaders(headers());
    client.setHeader('x-other', 'b').setHeader('authorization', AUTH);
    await client.request(ExecutionStatusDocument, { id: 'ex_demo_2' });
    const sent = [...harness.upstream.requestsFor('ex_demo_1'), ...harness.upstream.requestsFor('ex_demo_2')];
    expect(sent.map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
    // What the client sent the gateway: one token each time, the other headers kept.
    expect(sentHeaders.map((each) => [each.get('authorization'), each.get('x-trace-tag'), each.get('x-other')])).toEqual([
      [AUTH, 'a', null],
      [AUTH, 'a', 'b'],
    ]);
  });

  it("a request's own Authorization replaces the client's for that request, whatever the case", async () => {
    // graphql-request merges the client's headers and the request's as keys: `authorization` and `Authorization`
    // both went out, joined by fetch into "Bearer expired, <token>", which upstream refused: UNAUTHENTICATED.
    const client = createGatewayClient(url, 'Bearer expired');
    const positional = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_1' }, { Authorization: AUTH });
    expect(positional.errors).toEqual([]);
    const options = await client.requestResult({ document: ExecutionStatusDocument, variables: { id: 'ex_demo_2' }, requestHeaders: [['Authorization', AUTH]] });
    expect(options.errors).toEqual([]);
    const thrown = await client.request(ExecutionStatusDocument, { id: 'ex_demo_3' }, new Headers({ Authorization: AUTH }));
    expect(thrown.execution?.id).toBe('ex_demo_3');
    const ids = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3'];
    expect(ids.flatMap((id) => harness.upstream.requestsFor(id)).map((request) => request.headers.authorization)).toEqual([AUTH, AUTH, AUTH]);
    // The client's own is untouched: the next request without one sends it.
    const after = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_5' });
    expect(after.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it("rawRequest's own Authorization replaces the client's for that request too", async () => {
    // rawRequest is graphql-request's public method as much as request: it merged the headers the same way,
    // so its Authorization went out joined to the client's ("Bearer expired, <token>"): UNAUTHENTICATED.
    const client = createGatewayClient(url, 'Bearer expired');
    const query = print(ExecutionStatusDocument);
    const positional = await client.rawRequest<{ execution: { id: string } | null }>(query, { id: 'ex_demo_1' }, { Authorization: AUTH });
    expect(positional.errors).toBeUndefined();
    expect(positional.data.execution?.id).toBe('ex_demo_1');
    const options = await client.rawRequest<{ execution: { id: string } | null }>({ query, variables: { id: 'ex_demo_2' }, requestHeaders: [['AUTHORIZATION', AUTH]] });
    expect(options.data.execution?.id).toBe('ex_demo_2');
    expect(['ex_demo_1', 'ex_demo_2'].flatMap((id) => harness.upstream.requestsFor(id)).map((request) => request.headers.authorization)).toEqual([AUTH, AUTH]);
    // The client's own is untouched: the next request without one sends it.
    await expect(client.rawRequest(query, { id: 'ex_demo_5' })).rejects.toThrow(/UNAUTHENTICATED/);
  });

  it('requestResult reads extensions.warnings typed, as README "Warnings" says', async () => {
    const stored = harness.upstream.get('ex_demo_4')!;
    const body = JSON.stringify({ code: 200, data: { execution: { ...stored.execution, updatedAt: 'later' }, events: stored.events, message: 'execution retrieved' }, message: 'success', requestId: 'req-warn' });
    harness.upstream.setFault('ex_demo_4', { kind: 'body', body });
    const client = createGatewayClient(url, AUTH);
    const { data, errors, extensions } = await client.requestResult(ExecutionStatusDocument, { id: 'ex_demo_4' });
    expect(errors).toEqual([]);
    expect(data?.execution).toMatchObject({ id: 'ex_demo_4', updatedAt: null });
    const warnings: DataWarning[] = extensions?.warnings ?? [];
    expect(warnings.map(({ path, code }) => ({ path, code }))).toEqual([{ path: ['execution', 'updatedAt'], code: WarningCode.UNREADABLE_VALUE }]);
    expect(extensions?.warningsOmitted).toBeUndefined();
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

const FAULTY_ID = 'ex_demo_2';

/**
 * Upstream time and upstream's request counter differ from run to run; nothing
 * else may, down to the order of keys: bodies are compared as text.
 */
function normalise(text: string): string {
  return text.replace(/"timeMs":\d+/g, '"timeMs":0').replace(/"upstreamRequestId":"[^"]*"/g, '"upstreamRequestId":""');
}

/** Headers a client or browser acts on; date and connection headers are the socket's, not the gateway's. */
const COMPARED_HEADERS = [
  'content-type',
  'x-request-id',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-credentials',
  'access-control-allow-headers',
  'access-control-max-age',
  'access-control-expose-headers',
  'vary',
  'allow',
  'accept',
];

interface Sent {
  method?: string;
  /** Relative to the gateway's origin; `/graphql` unless given. */
  path?: string;
  body?: string;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
  upstreamCalls: number;
}

const json = (query: string, variables?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ query, ...(variables ? { variables } : {}), ...extra });

/** Sends one request as a client would and records what came back and what it cost upstream. */
async function send(harness: Harness, sent: Sent): Promise<Answer> {
  const method = sent.method ?? 'POST';
  const callsBefore = harness.upstream.requests.length;
  const response = await harness.fetch(sent.path ?? '/graphql', {
    method,
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      authorization: AUTH,
      'x-request-id': 'e2e-same-answer',
      ...sent.headers,
    },
    ...(sent.body === undefined ? {} : { body: sent.body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(COMPARED_HEADERS.map((name) => [name, response.headers.get(name)])),
    body: normalise(text),
    upstreamCalls: harness.upstream.requests.length - callsBefore,
  };
}

describe.each(LANES)('one pipeline, whatever the lane (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    harness.upstream.reset();
    harness.upstream.setFault(FAULTY_ID, { kind: 'status', status: 404 });
  });

  // Each document is new to the gateway at its first request: the fast lane
  // parses, validates and compiles it then, and reuses all of that after.
  it.each<[string, Sent]>([
    ['a status poll', { body: json('query FirstSeen($id: ID!) { execution(id: $id) { id status updatedAt isTerminal } }', { id: 'ex_demo_1' }) }],
    [
      'an events page',
      { body: json('query FirstPage($id: ID!) { execution(id: $id) { id events(first: 3) { totalCount edges { cursor node { id level } } } } }', { id: 'ex_demo_long' }) },
    ],
    ['an operation with a failing execution', { body: json('query FirstFailing { executions(ids: ["ex_demo_1", "ex_demo_2", "ex_demo_3"]) { id status } }') }],
    ['a resolver refusing an argument', { body: json('query FirstBadPage { execution(id: "ex_demo_4") { id events(first: 500) { totalCount } } }') }],
    ['a missing variable', { body: json('query FirstMissing($id: ID!) { execution(id: $id) { id } }', {}) }],
    ['an unknown field', { body: json('query FirstUnknown { execution(id: "ex_demo_4") { id nope } }') }],
    ['two operations and no operation name', { body: json('query FirstOne { __typename } query FirstTwo { execution(id: "ex_demo_4") { id } }') }],
    ['a GET', { method: 'GET', path: `/graphql?query=${encodeURIComponent('query FirstGet { execution(id: "ex_demo_5") { id status } }')}` }],
  ])('answers %s the first time as every time after', async (_name, sent) => {
    const first = await send(harness, sent);
    const second = await send(harness, sent);
    const third = await send(harness, sent);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
  });

  it('answers an operation with errors from what it loaded: one upstream call per execution, and the errors where they are in the document', async () => {
    const query = 'query Failing { executions(ids: ["ex_demo_1", "ex_demo_2", "ex_demo_3"]) { id status } }';
    const response = await harness.query(query);
    expect(response.data).toEqual({
      executions: [{ id: 'ex_demo_1', status: 'AWAITING_PAYMENT' }, null, { id: 'ex_demo_3', status: 'WORKFLOW_QUEUED' }],
    });
    expect(response.errors).toEqual([
      expect.objectContaining({
        path: ['executions', 1],
        locations: [getLocation(new Source(query), query.indexOf('executions('))],
        extensions: expect.objectContaining({ code: ErrorCode.NOT_FOUND, upstreamStatus: 404 }),
      }),
    ]);
    for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3']) expect(harness.upstream.requestsFor(id), id).toHaveLength(1);
    expect(harness.upstream.requests).toHaveLength(3);
    expect(response.extensions).toEqual({ upstream: { calls: 3, cacheHits: 0, sharedCalls: 0, timeMs: expect.any(Number) } });
  });

  it(`counts the events of an operation with errors once against the ${MAX_EVENTS_PER_REQUEST.toLocaleString('en')}-event cap`, async () => {
    // 1,100 events in 11 pages, under the cap once and over it if counted twice, and one failing alias.
    const pages = Array.from({ length: 11 }, (_, i) => `p${i}: execution(id: "ex_demo_long") { events(first: $n) { edges { node { id } } } }`);
    expect(11 * 100).toBeLessThan(MAX_EVENTS_PER_REQUEST);
    expect(2 * 11 * 100).toBeGreaterThan(MAX_EVENTS_PER_REQUEST);
    const response = await harness.query<Record<string, { events: { edges: unknown[] } } | null>>(
      `query Pages($n: Int!) { ${pages.join(' ')} bad: execution(id: "${FAULTY_ID}") { id } }`,
      { n: 100 },
    );
    expect(response.status).toBe(200);
    expect((response.errors ?? []).map((error) => [error.path, error.extensions?.code])).toEqual([[['bad'], ErrorCode.NOT_FOUND]]);
    for (let i = 0; i < 11; i++) expect(response.data![`p${i}`]!.events.edges, `p${i}`).toHaveLength(100);
    expect(response.data!.bad).toBeNull();
    // Both executions loaded once, whatever ran the operation how many times.
    expect(harness.upstream.requestsFor('ex_demo_long')).toHaveLength(1);
    expect(harness.upstream.requestsFor(FAULTY_ID)).toHaveLength(1);
  });

  it.each<[string, string]>([
    ['a POST', `POST /graphql HTTP/1.1\r\ncontent-type: application/json\r\nauthorization: ${AUTH}\r\ncontent-length: 0\r\n\r\n{"query":"{ __typename }"}`],
    ['a GET', 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\naccept: application/json\r\n\r\n'],
    ['a preflight', 'OPTIONS /graphql HTTP/1.1\r\norigin: https://app.example\r\naccess-control-request-method: POST\r\naccess-control-request-headers: content-type\r\n\r\n'],
    ['health', 'GET /health HTTP/1.1\r\n\r\n'],
    ['a refused Accept', 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\naccept: text/html\r\n\r\n'],
  ])('sends each header of %s once (HTTP/1.1 clients refuse a repeated Content-Length)', async (_name, head) => {
    const [request, body = ''] = head.split('\r\n\r\n');
    const fixed = request!.replace(/content-length: \d+/, `content-length: ${Buffer.byteLength(body)}`);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(harness.url).port), '127.0.0.1', () => {
        socket.write(`${fixed.replace(/^(\S+ \S+ HTTP\/1\.1)/, '$1\r\nhost: 127.0.0.1\r\nconnection: close')}\r\n\r\n${body}`);
      });
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('end', () => resolve(received));
      socket.on('error', reject);
    });
    const [statusLine, ...lines] = raw.split('\r\n\r\n')[0]!.split('\r\n');
    expect(statusLine).toMatch(/^HTTP\/1\.1 \d{3}/);
    const names = lines.map((line) => line.slice(0, line.indexOf(':')).toLowerCase()).filter((name) => name !== 'set-cookie');
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
  });

  it('cancels upstream work when the client leaves mid-request, and serves the next request', async () => {
    harness.upstream.setFault('ex_demo_5', { kind: 'hang' });
    const controller = new AbortController();
    const pending = harness
      .fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: AUTH },
        body: json('query Hanging($id: ID!) { execution(id: $id) { id status } }', { id: 'ex_demo_5' }),
        signal: controller.signal,
      })
      .catch((error: unknown) => error);
    // 10 s, not expect.poll's default 1 s: on a loaded machine the call may take longer than that to reach upstream.
    await expect.poll(() => harness.upstream.requestsFor('ex_demo_5').length, { timeout: 10_000 }).toBe(1);
    controller.abort();
    await pending;
    // The hang would hold the upstream call for the 10 s attempt timeout; only the
    // client leaving can end it this soon (4 s, not 2: a loaded machine's delay; the hang shows 10 s).
    await expect.poll(() => harness.upstream.inFlight, { timeout: 4_000 }).toBe(0);
    expect(harness.upstream.requestsFor('ex_demo_5')).toHaveLength(1);
    const next = await harness.query('query Next($id: ID!) { execution(id: $id) { id status } }', { id: 'ex_demo_4' });
    expect(next.errors).toBeUndefined();
    expect(next.data).toEqual({ execution: { id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' } });
  });
});

/**
 * The fast lane changes how a request runs, never what it answers: every
 * request below goes to a gateway on each lane, and the status, the headers a
 * client reads, the body (as text) and the upstream calls must be the same.
 */
describe('the lanes answer alike', () => {
  const STATUS = 'query Status($id: ID!) { execution(id: $id) { id status updatedAt } }';
  const PAGE = `query Page($id: ID!, $after: String) {
  execution(id: $id) {
    id status isTerminal requestPayload
    events(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id level message } } }
  }
}`;
  const MANY = 'query Many($ids: [ID!]!) { executions(ids: $ids) { id status } }';
  const env = { CORS_ORIGINS: 'https://app.example,https://admin.example' };
  let fast: Harness;
  let full: Harness;

  beforeAll(async () => {
    [fast, full] = await Promise.all([Harness.start({ lane: 'fast', env }), Harness.start({ lane: 'full', env })]);
  });
  afterAll(() => Promise.all([fast.close(), full.close()]));
  beforeEach(() => {
    for (const harness of [fast, full]) {
      harness.upstream.reset();
      harness.upstream.setFault(FAULTY_ID, { kind: 'status', status: 404 });
    }
  });

  const poll = json(STATUS, { id: 'ex_demo_4' });
  const cases: Array<[string, Sent]> = [
    ['a status poll', { body: poll, headers: { accept: 'application/graphql-response+json' } }],
    ['a status poll accepting application/json', { body: poll, headers: { accept: 'application/json' } }],
    ['a status poll with no Accept header', { body: poll }],
    ['a status poll accepting */*', { body: poll, headers: { accept: '*/*' } }],
    ['the typed client’s Accept header', { body: poll, headers: { accept: 'application/graphql-response+json, application/json' } }],
    ['Accept preferring application/json', { body: poll, headers: { accept: 'application/json;q=0.9, application/graphql-response+json' } }],
    ['Accept: application/*', { body: poll, headers: { accept: 'application/*' } }],
    ['Accept: APPLICATION/JSON', { body: poll, headers: { accept: 'APPLICATION/JSON' } }],
    ['Accept with a charset', { body: poll, headers: { accept: 'application/json; charset=iso-8859-1, application/graphql-response+json' } }],
    ['Accept with a stream first', { body: poll, headers: { accept: 'text/event-stream, application/json' } }],
    ['Accept: multipart/mixed, application/json', { body: poll, headers: { accept: 'multipart/mixed, application/json' } }],
    ['Accept: text/html, */*;q=0.8', { body: poll, headers: { accept: 'text/html, */*;q=0.8' } }],
    ['an Accept the gateway cannot serve', { body: poll, headers: { accept: 'text/html' } }],
    ['a stream only', { body: poll, headers: { accept: 'text/event-stream' } }],
    ['every media type at q=0', { body: poll, headers: { accept: 'application/json;q=0' } }],
    ['a charset in the content type', { body: poll, headers: { 'content-type': 'application/json; charset=utf-8' } }],
    ['a content type in capitals', { body: poll, headers: { 'content-type': 'Application/JSON' } }],
    ['application/graphql', { body: 'query { execution(id: "ex_demo_4") { id status } }', headers: { 'content-type': 'application/graphql' } }],
    ['text/plain without the CSRF header', { body: poll, headers: { 'content-type': 'text/plain', authorization: '' } }],
    ['text/plain with Authorization', { body: poll, headers: { 'content-type': 'text/plain' } }],
    ['a form', { body: 'query=%7B__typename%7D', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: '' } }],
    ['an events page with cursors and a payload', { body: json(PAGE, { id: 'ex_demo_long' }) }],
    ['a page after a cursor from another execution', { body: json(PAGE, { id: 'ex_demo_long', after: 'bm90LWEtY3Vyc29y' }) }],
    ['executions with one failing and one unknown id', { body: json(MANY, { ids: ['ex_demo_1', FAULTY_ID, 'ex_missing'] }) }],
    ['an upstream 404', { body: json(STATUS, { id: FAULTY_ID }) }],
    ['a hostile id', { body: json(STATUS, { id: '../admin' }) }],
    ['no Authorization header', { body: poll, headers: { authorization: '' } }],
    ['variables of the wrong type', { body: json(STATUS, { id: { nested: true } }), headers: { accept: 'application/graphql-response+json' } }],
    ['a missing required variable', { body: json(STATUS, {}), headers: { accept: 'application/graphql-response+json' } }],
    ['a missing variable, accepting application/json', { body: json(STATUS, {}), headers: { accept: 'application/json' } }],
    ['an unknown operation name', { body: json(STATUS, { id: 'ex_demo_4' }, { operationName: 'Nope' }) }],
    ['two operations and no operation name', { body: json(`${STATUS} query Other { __typename }`, { id: 'ex_demo_4' }) }],
    ['two operations and an operation name', { body: json(`${STATUS} query Other { __typename }`, { id: 'ex_demo_4' }, { operationName: 'Other' }) }],
    ['a syntax error', { body: json('{ execution(id: "ex_demo_4") { id ') }],
    ['an unknown field', { body: json('{ execution(id: "ex_demo_4") { id nope } }') }],
    [
      'a query past the depth limit',
      { body: json('{ execution(id: "x") { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }') },
    ],
    ['a mutation the schema does not have', { body: json('mutation { cancel }') }],
    ['a subscription the schema does not have', { body: json('subscription { ticks }') }],
    ['extensions in the request', { body: json(STATUS, { id: 'ex_demo_4' }, { extensions: { persistedQuery: null } }) }],
    ['an allowed origin', { body: poll, headers: { origin: 'https://admin.example' } }],
    ['an origin not on the list', { body: poll, headers: { origin: 'https://evil.example' } }],
    ['a preflight', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } }],
    ['introspection', { body: json('{ __schema { queryType { name } } }') }],
    ['a body that is not JSON', { body: '{"query": ' }],
    ['a batch', { body: JSON.stringify([{ query: STATUS, variables: { id: 'ex_demo_4' } }]) }],
    ['a JSON string', { body: '"{ __typename }"' }],
    ['null', { body: 'null' }],
    ['an empty body', { body: '' }],
    ['an unknown parameter', { body: json(STATUS, { id: 'ex_demo_4' }, { foo: 1 }) }],
    ['a query that is not a string', { body: JSON.stringify({ query: 42 }) }],
    ['no query', { body: JSON.stringify({ variables: {} }) }],
    ['variables that are not an object', { body: JSON.stringify({ query: STATUS, variables: 'x' }) }],
    ['a GET', { method: 'GET', path: `/graphql?query=${encodeURIComponent(STATUS)}&variables=${encodeURIComponent('{"id":"ex_demo_6"}')}` }],
    ['a GET of a mutation', { method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { cancel }')}` }],
    ['a GET with no query', { method: 'GET', path: '/graphql', headers: { accept: 'application/json' } }],
    ['a PUT', { method: 'PUT', body: poll }],
    ['another path', { path: '/elsewhere', body: poll }],
    ['health', { method: 'GET', path: '/health' }],
  ];

  it.each(cases)('%s', async (_name, sent) => {
    const viaFull = await send(full, sent);
    const viaFast = await send(fast, sent);
    expect(viaFast).toEqual(viaFull);
  });
});
