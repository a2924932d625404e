/**
 * Fuzzing the executions API's answers over HTTP, where the envelope tests (envelope.property.test.ts) vary the JSON
 * only: the same envelope under Content-Type variants (`text/json`, `application/problem+json`, charsets, none), with a
 * UTF-8 byte-order mark, an odd `code`, duplicate and reordered events, `__proto__`/`constructor` keys, dates in odd
 * spellings; and answers that are no execution (204, 304, redirects to this origin and another, 4xx and 5xx with
 * problem+json bodies, a 200 with an error envelope). Every 200 envelope whose execution is the one asked for is
 * served; everything else is a GraphQL error with a code the client contract names and a message, never an HTTP 500,
 * a stack trace or an internal error; and no redirect is followed, so the token never reaches another origin.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/client-contract.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

const ID = 'ex_fuzz7_1';
const QUERY = `query($id: ID!) {
  execution(id: $id) { id status rawStatus createdAt startedAt finishedAt updatedAt statusReason requestPayload clientSafeMetadata
    events(first: 20) { totalCount edges { cursor node { id createdAt level eventType nodeId message data executionId } } } }
}`;
/** How long each property may run: it stops there, passing on what it ran (a loaded machine serves fewer). */
const TIME_BUDGET_MS = 8_000;
const CODES = new Set<string>(Object.values(ErrorCode));

const stored = makeExecution({ id: ID, status: 'workflow_failed', eventCount: 4 });

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

let answer: Answer = { status: 200, headers: {}, body: Buffer.alloc(0) };
const script = (_request: IncomingMessage, response: ServerResponse) => {
  response.writeHead(answer.status, answer.headers);
  response.end(answer.body);
};

const odd = fc.constantFrom<unknown>(
  null,
  '',
  12,
  -0,
  1.5,
  true,
  [],
  {},
  'workflow_paused',
  'WORKFLOW_RUNNING',
  '2026-03-01T12:07:00',
  '2026-03-01T12:07:00+09:00',
  '2026-03-01 12:07:00.123456789z',
  '1772366820000',
  1772366820,
  '2026-02-30T00:00:00Z',
  'yesterday',
  { __proto__: null, nested: [1, { deep: [[]] }] },
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}'),
);
const executionField = fc.constantFrom('status', 'createdAt', 'startedAt', 'finishedAt', 'updatedAt', 'statusReason', 'requestPayload', 'clientSafeMetadata', 'paymentStatus', 'runId');
const eventField = fc.constantFrom('id', 'createdAt', 'level', 'eventType', 'nodeId', 'message', 'data', 'executionId', 'title');
const contentType = fc.constantFrom<string | undefined>(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json;charset="UTF-8"',
  'text/json',
  'text/plain',
  'application/problem+json',
  'application/vnd.api+json',
  undefined,
);
const code = fc.constantFrom<unknown>(200, '200', 201, 0, null, undefined, 200.5);

interface Envelope {
  execution: [string, unknown][];
  events: [number, string, unknown][];
  duplicate: boolean;
  reverse: boolean;
  code: unknown;
}

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({
  execution: fc.array(fc.tuple(executionField, odd), { maxLength: 4 }),
  events: fc.array(fc.tuple(fc.nat(3), eventField, odd), { maxLength: 6 }),
  duplicate: fc.boolean(),
  reverse: fc.boolean(),
  code,
});

function envelopeText(e: Envelope): string {
  const execution: Record<string, unknown> = { ...stored.execution };
  for (const [field, value] of e.execution) execution[field] = value;
  const events: Record<string, unknown>[] = stored.events.map((event) => ({ ...event }));
  for (const [index, field, value] of e.events) events[index]![field] = value;
  if (e.duplicate) events.push({ ...events[0]! });
  if (e.reverse) events.reverse();
  const envelope: Record<string, unknown> = { data: { events, execution, message: 'ok' }, message: 'success', requestId: 'up-fuzz7' };
  if (e.code !== undefined) envelope.code = e.code;
  return JSON.stringify(envelope);
}

async function ask(url: string) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query: QUERY, variables: { id: ID } }) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { data?: { execution: { id: string } | null }; errors?: Array<{ message: string; extensions?: { code?: string } }> } };
}

/** Runs `property` until NUM_RUNS or the time budget, whichever comes first; at least a few runs must have happened. */
async function within<T>(property: fc.IAsyncPropertyWithHooks<[T]>) {
  const started = performance.now();
  let runs = 0;
  await fc.assert(
    property.beforeEach((previous) => {
      runs++;
      return previous();
    }),
    { numRuns: 150, interruptAfterTimeLimit: TIME_BUDGET_MS, markInterruptAsFailure: false },
  );
  expect(runs).toBeGreaterThanOrEqual(10);
  expect(performance.now() - started).toBeLessThan(TIME_BUDGET_MS * 4);
}

function expectClearErrors(result: Awaited<ReturnType<typeof ask>>) {
  expect(result.status).toBe(200);
  expect(result.text).not.toMatch(/\n\s+at |INTERNAL_SERVER_ERROR|Unexpected error/);
  for (const error of result.body.errors ?? []) {
    expect(CODES.has(String(error.extensions?.code)), `code ${error.extensions?.code}`).toBe(true);
    expect(error.message.length).toBeGreaterThan(20);
  }
}

describe('upstream answers fuzzed over HTTP', () => {
  let gateway: BehindScripted;
  let foreign: ReturnType<typeof createServer>;
  let foreignCalls = 0;
  let foreignOrigin = '';
  beforeAll(async () => {
    foreign = createServer((request, response) => {
      foreignCalls++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(envelopeText({ execution: [], events: [], duplicate: false, reverse: false, code: 200 }));
      request.resume();
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    foreignOrigin = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    gateway = await gatewayBehindScripted(script);
  });
  afterAll(async () => {
    await gateway.close();
    foreign.closeAllConnections();
    await new Promise<void>((resolve) => foreign.close(() => resolve()));
  });

  it('serves every 200 envelope of the execution asked for, whatever its fields, Content-Type, BOM, code or event order', async () => {
    await within(
      fc.asyncProperty(fc.tuple(envelopeArb, contentType, fc.boolean(), fc.constantFrom(200, 201, 203)), async ([envelope, type, bom, status]) => {
        const text = Buffer.from(envelopeText(envelope));
        answer = { status, headers: type === undefined ? {} : { 'content-type': type }, body: bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]) : text };
        const result = await ask(gateway.url);
        expectClearErrors(result);
        expect(result.body.errors).toBeUndefined();
        expect(result.body.data?.execution?.id).toBe(ID);
      }),
    );
  });

  it('answers everything that is no execution with a coded error, following no redirect', async () => {
    const problem = (status: number) => Buffer.from(JSON.stringify({ type: 'about:blank', title: 'Problem', status }));
    const errorEnvelope = (status: unknown) => Buffer.from(JSON.stringify({ code: status, message: 'failed', requestId: 'up-fuzz7-error' }));
    const answerArb: fc.Arbitrary<Answer> = fc.oneof(
      fc.record({
        status: fc.constantFrom(204, 205, 304),
        headers: fc.constant({}),
        body: fc.constant(Buffer.alloc(0)),
      }),
      fc.record({
        status: fc.constantFrom(301, 302, 303, 307, 308),
        headers: fc.constantFrom(`/v1/executions/${ID}`, `${foreignOrigin}/v1/executions/${ID}`, `//127.0.0.1:${new URL(foreignOrigin).port}/v1/executions/${ID}`).map((location) => ({ location })),
        body: fc.constant(Buffer.alloc(0)),
      }),
      fc.record({
        status: fc.constantFrom(400, 401, 403, 404, 405, 409, 410, 422, 500, 502, 504),
        headers: fc.constantFrom({ 'content-type': 'application/problem+json' }, { 'content-type': 'application/json' }, { 'content-type': 'text/html' }),
        body: fc.oneof(fc.nat().map(() => problem(404)), fc.constant(Buffer.from('<html>error</html>')), fc.constant(Buffer.alloc(0))),
      }),
      fc.record({
        status: fc.constant(200),
        headers: fc.constantFrom({ 'content-type': 'application/json' }, { 'content-type': 'application/problem+json' }),
        body: fc.oneof(
          fc.constantFrom<unknown>(400, 401, 403, 404, '404', 410, 422, 500).map(errorEnvelope),
          fc.constant(Buffer.from('')),
          fc.constant(Buffer.from('null')),
          fc.constant(Buffer.from('[]')),
          fc.constant(Buffer.from('{"code":200,"data":{"execution":[],"events":[]}}')),
          fc.constant(Buffer.from(`{"code":200,"data":{"execution":{"id":"ex_other"},"events":[]}}`)),
        ),
      }),
    );
    await within(
      fc.asyncProperty(fc.tuple(answerArb), async ([next]) => {
        answer = next;
        const result = await ask(gateway.url);
        expectClearErrors(result);
        expect(result.body.data).toEqual({ execution: null });
        expect(result.body.errors).toHaveLength(1);
      }),
    );
    expect(foreignCalls).toBe(0);
  });
});
