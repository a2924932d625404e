/**
 * One case per way a real upstream departs from its documentation, each served
 * over HTTP from the fake upstream on loopback, on both lanes: `{ id status }`
 * always comes through, the affected field returns what the README promises,
 * and a warning appears exactly when a value was served as null or replaced
 * (README "When upstream data is odd").
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { encodeEventCursor } from '../src/domain/event-cursor.js';
import { MAX_OMITTED_PATHS_CHECKED, MAX_WARNINGS_PER_RESULT, RequestScope } from '../src/request/scope.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { sendOver } from './support/transports.js';

const ID = 'ex_quirk_1';
/** A cursor of ID naming an event it does not have: only its list tells, so the page is refused after the fetch. */
const GONE = encodeEventCursor(ID, 'ev_gone', 0);
type Json = Record<string, unknown>;

/** A documented envelope for ID (3 events), with one quirk applied to its execution and events. */
function envelope(quirk: (execution: Json, events: Json[], data: Json) => void): string {
  const { execution, events } = makeExecution({ id: ID, status: 'workflow_running', eventCount: 3 });
  const data: Json = { execution: { ...execution }, events: events.map((event) => ({ ...event })), message: 'execution retrieved' };
  quirk(data.execution as Json, data.events as Json[], data);
  return JSON.stringify({ code: 200, data, message: 'success', requestId: 'req-quirk' });
}

interface Warning {
  path: Array<string | number>;
  code: string;
  message: string;
}

interface Case {
  quirk: string;
  apply: (execution: Json, events: Json[], data: Json) => void;
  /** The selection besides `id status`. */
  select: string;
  /** What the selection answers. */
  expected: Json;
  /** The warnings, by path and code; none when absent. */
  warnings?: Array<{ path: Array<string | number>; code: string }>;
  /** What the first warning's message says, where its wording matters. */
  message?: RegExp;
  status?: string;
}

const FIRST_EVENT = 'events(first: 1) { edges { node { id executionId level eventType data createdAt organizationId requestId runId workflowId } } }';
const firstEvent = (overrides: Json): Json => ({
  events: {
    edges: [
      {
        node: {
          id: `ev_${ID}_1`,
          executionId: ID,
          level: 'info',
          eventType: 'node.started',
          data: { seq: 1, detail: { durationMs: 37, ok: true } },
          createdAt: '2026-03-01T12:00:01.000Z',
          organizationId: 'org_demo',
          requestId: `req_${ID}`,
          runId: `run_${ID}`,
          workflowId: 'wf_1',
          ...overrides,
        },
      },
    ],
  },
});
const eventPath = (field: string) => ['execution', 'events', 'edges', 0, 'node', field];

const JSON_VALUES: Array<[string, unknown]> = [
  ['an array', [1, { a: 2 }]],
  ['a string', 'plain text'],
  ['a number', 42],
  ['a boolean', false],
];

/** Arrays nested `depth` levels: `[[…[1]…]]`. */
const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = [value];
  return value;
};
const MAX_JSON_DEPTH = 64;

const NULLABLE_TEXT = ['idempotencyKey', 'initiatedById', 'initiatedByType', 'organizationId', 'runId', 'sourceEntityId', 'sourceEntityType', 'sourceSystem', 'workflowId', 'paymentStatus'];

const CASES: Case[] = [
  ...['requestPayload', 'clientSafeMetadata', 'responsePayload'].flatMap((field) =>
    JSON_VALUES.map(([kind, value]): Case => ({ quirk: `${field} sent as ${kind}`, apply: (execution) => (execution[field] = value), select: field, expected: { [field]: value } })),
  ),
  ...JSON_VALUES.map(([kind, value]): Case => ({
    quirk: `an event's data sent as ${kind}`,
    apply: (_execution, events) => (events[0]!.data = value),
    select: FIRST_EVENT,
    expected: firstEvent({ data: value }),
  })),
  {
    quirk: 'statusReason sent as a number past a double\'s range (Infinity once parsed)',
    apply: (execution) => (execution.statusReason = '<huge>'),
    select: 'statusReason',
    expected: { statusReason: null },
    warnings: [{ path: ['execution', 'statusReason'], code: 'UNREADABLE_VALUE' }],
  },
  ...['requestPayload', 'clientSafeMetadata', 'responsePayload'].map((field): Case => ({
    quirk: `${field} sent as a number past a double's range (Infinity once parsed)`,
    apply: (execution) => (execution[field] = '<huge>'),
    select: field,
    expected: { [field]: null },
    warnings: [{ path: ['execution', field], code: 'UNREADABLE_VALUE' }],
    message: new RegExp(`^Execution\\.${field}: upstream sent a value that is not a JSON value the gateway can serve .*past a double's range`),
  })),
  {
    quirk: "an event's data sent as a number past a double's range (Infinity once parsed)",
    apply: (_execution, events) => (events[0]!.data = '<huge>'),
    select: FIRST_EVENT,
    expected: firstEvent({ data: null }),
    warnings: [{ path: eventPath('data'), code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: `requestPayload nested ${MAX_JSON_DEPTH} levels (the most served)`,
    apply: (execution) => (execution.requestPayload = nested(MAX_JSON_DEPTH)),
    select: 'requestPayload',
    expected: { requestPayload: nested(MAX_JSON_DEPTH) },
  },
  {
    quirk: `requestPayload nested ${MAX_JSON_DEPTH + 1} levels`,
    apply: (execution) => (execution.requestPayload = nested(MAX_JSON_DEPTH + 1)),
    select: 'requestPayload',
    expected: { requestPayload: null },
    warnings: [{ path: ['execution', 'requestPayload'], code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: `an event's data nested ${MAX_JSON_DEPTH + 1} levels`,
    apply: (_execution, events) => (events[0]!.data = { deep: nested(MAX_JSON_DEPTH) }),
    select: FIRST_EVENT,
    expected: firstEvent({ data: null }),
    warnings: [{ path: eventPath('data'), code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: 'an event without level',
    apply: (_execution, events) => delete events[0]!.level,
    select: FIRST_EVENT,
    expected: firstEvent({ level: null }),
  },
  ...['eventType', 'organizationId', 'requestId', 'runId', 'workflowId'].map((field): Case => ({
    quirk: `an event without ${field}`,
    apply: (_execution, events) => delete events[0]![field],
    select: FIRST_EVENT,
    expected: firstEvent({ [field]: null }),
  })),
  {
    quirk: 'an event without executionId (it still belongs to its execution)',
    apply: (_execution, events) => delete events[0]!.executionId,
    select: `${FIRST_EVENT.replace('workflowId }', 'workflowId execution { id } }')}`,
    expected: { events: { edges: [{ node: { ...(firstEvent({}).events as { edges: Array<{ node: Json }> }).edges[0]!.node, execution: { id: ID } } }] } },
  },
  {
    quirk: 'an event whose executionId names another execution',
    apply: (_execution, events) => (events[0]!.executionId = 'ex_someone_else'),
    select: FIRST_EVENT,
    expected: firstEvent({}),
    warnings: [{ path: eventPath('executionId'), code: 'REPLACED_VALUE' }],
  },
  {
    quirk: 'an event whose executionId is not text (an object)',
    apply: (_execution, events) => (events[0]!.executionId = { id: 'ex_other' }),
    select: FIRST_EVENT,
    expected: firstEvent({}),
    warnings: [{ path: eventPath('executionId'), code: 'REPLACED_VALUE' }],
    message: /^ExecutionEvent\.executionId: upstream sent a value that is not text; served as the execution the event came with\.$/,
  },
  ...(
    [
      ['a number', 42],
      ['null', null],
      ['a list', [{ id: 'ev_inside' }]],
    ] as const
  ).map(
    ([kind, entry]): Case => ({
      quirk: `an event that is ${kind}, not an object (served without fields, noted once at the event)`,
      apply: (_execution, events) => ((events as unknown[])[0] = entry),
      select: FIRST_EVENT,
      expected: {
        events: {
          edges: [
            {
              node: {
                id: '#0',
                executionId: ID,
                level: null,
                eventType: null,
                data: null,
                createdAt: null,
                organizationId: null,
                requestId: null,
                runId: null,
                workflowId: null,
              },
            },
          ],
        },
      },
      message: new RegExp(`^ExecutionEvent: upstream's entry at position 0 is ${kind === 'null' ? 'null' : kind}, not an object; served as an event without fields\\.$`),
      warnings: [
        { path: ['execution', 'events', 'edges', 0, 'node'], code: 'UNREADABLE_VALUE' },
        { path: eventPath('id'), code: 'REPLACED_VALUE' },
      ],
    }),
  ),
  {
    quirk: 'an event that is not an object, in a page that selects no event field (no note)',
    apply: (_execution, events) => ((events as unknown[])[0] = 42),
    select: 'events(first: 1) { totalCount pageInfo { hasNextPage } }',
    expected: { events: { totalCount: 3, pageInfo: { hasNextPage: true } } },
  },
  {
    quirk: 'an event without id (derived from its position)',
    apply: (_execution, events) => delete events[0]!.id,
    select: FIRST_EVENT,
    expected: firstEvent({ id: '#0' }),
    warnings: [{ path: eventPath('id'), code: 'REPLACED_VALUE' }],
  },
  {
    quirk: 'an event whose createdAt is no instant',
    apply: (_execution, events) => (events[0]!.createdAt = 'soon'),
    select: FIRST_EVENT,
    expected: firstEvent({ createdAt: null }),
    warnings: [{ path: eventPath('createdAt'), code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: 'startedAt as epoch milliseconds',
    apply: (execution) => (execution.startedAt = 1_772_366_400_000),
    select: 'startedAt',
    expected: { startedAt: '2026-03-01T12:00:00.000Z' },
  },
  {
    quirk: 'startedAt as a date',
    apply: (execution) => (execution.startedAt = '2026-03-01'),
    select: 'startedAt',
    expected: { startedAt: '2026-03-01T00:00:00.000Z' },
  },
  {
    quirk: 'startedAt with a lower-case t and z',
    apply: (execution) => (execution.startedAt = '2026-03-01t12:00:00z'),
    select: 'startedAt',
    expected: { startedAt: '2026-03-01T12:00:00.000Z' },
  },
  {
    quirk: 'startedAt with a space separator',
    apply: (execution) => (execution.startedAt = '2026-03-01 12:00:00Z'),
    select: 'startedAt',
    expected: { startedAt: '2026-03-01T12:00:00.000Z' },
  },
  {
    quirk: 'startedAt that is no instant',
    apply: (execution) => (execution.startedAt = 'yesterday'),
    select: 'startedAt',
    expected: { startedAt: null },
    warnings: [{ path: ['execution', 'startedAt'], code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: 'events absent (its contract always has a list)',
    apply: (_execution, _events, data) => delete data.events,
    select: 'events { totalCount edges { cursor } }',
    expected: { events: { totalCount: 0, edges: [] } },
    warnings: [{ path: ['execution', 'events'], code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: 'events null',
    apply: (_execution, _events, data) => (data.events = null),
    select: 'events { totalCount edges { cursor } }',
    expected: { events: { totalCount: 0, edges: [] } },
    warnings: [{ path: ['execution', 'events'], code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: 'events that are not a list',
    apply: (_execution, _events, data) => (data.events = { first: {} }),
    select: 'events { totalCount edges { cursor } }',
    expected: { events: { totalCount: 0, edges: [] } },
    warnings: [{ path: ['execution', 'events'], code: 'UNREADABLE_VALUE' }],
  },
  ...NULLABLE_TEXT.flatMap((field) =>
    (['absent', 'null'] as const).map((how): Case => ({
      quirk: `${field} ${how}`,
      apply: (execution) => (how === 'absent' ? delete execution[field] : (execution[field] = null)),
      select: field,
      expected: { [field]: null },
    })),
  ),
  ...['createdAt', 'updatedAt'].flatMap((field) =>
    (['absent', 'null'] as const).map((how): Case => ({
      quirk: `${field} ${how}`,
      apply: (execution) => (how === 'absent' ? delete execution[field] : (execution[field] = null)),
      select: field,
      expected: { [field]: null },
    })),
  ),
  {
    quirk: 'statusReason sent as an object',
    apply: (execution) => (execution.statusReason = { why: 'structured' }),
    select: 'statusReason',
    expected: { statusReason: null },
    warnings: [{ path: ['execution', 'statusReason'], code: 'UNREADABLE_VALUE' }],
  },
  {
    quirk: 'a number where text belongs (served as its text)',
    apply: (execution) => (execution.runId = 12345),
    select: 'runId',
    expected: { runId: '12345' },
  },
  {
    quirk: 'status sent as an object (UNKNOWN, with a note on each field that reads it)',
    apply: (execution) => (execution.status = { value: 'workflow_running' }),
    select: 'status rawStatus isTerminal',
    expected: { status: 'UNKNOWN', rawStatus: null, isTerminal: false },
    warnings: [
      { path: ['execution', 'status'], code: 'UNREADABLE_VALUE' },
      { path: ['execution', 'rawStatus'], code: 'UNREADABLE_VALUE' },
    ],
  },
  {
    quirk: 'status absent',
    apply: (execution) => delete execution.status,
    select: 'rawStatus isTerminal',
    expected: { rawStatus: null, isTerminal: false },
    status: 'UNKNOWN',
  },
  {
    quirk: 'a status the schema does not know',
    apply: (execution) => (execution.status = 'workflow_paused'),
    select: 'rawStatus isTerminal',
    expected: { rawStatus: 'workflow_paused', isTerminal: false },
    status: 'UNKNOWN',
  },
  {
    quirk: 'a known status with whitespace around it (rawStatus keeps it)',
    apply: (execution) => (execution.status = ' Workflow_Succeeded\n'),
    select: 'rawStatus isTerminal',
    expected: { rawStatus: ' Workflow_Succeeded\n', isTerminal: true },
    status: 'WORKFLOW_SUCCEEDED',
  },
  {
    quirk: 'two events with the same id',
    apply: (_execution, events) => (events[1]!.id = events[0]!.id),
    select: 'events(first: 3) { totalCount edges { node { id } } }',
    expected: { events: { totalCount: 3, edges: [{ node: { id: `ev_${ID}_1` } }, { node: { id: `ev_${ID}_1` } }, { node: { id: `ev_${ID}_3` } }] } },
  },
];

describe.each(LANES)('odd upstream data costs one field, never the execution (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: [makeExecution({ id: ID, status: 'workflow_running', eventCount: 3 })] } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  async function ask(select: string): Promise<{ data?: { execution: Json | null } | null; errors?: readonly unknown[]; extensions?: { warnings?: Warning[] } }> {
    const response = await harness.query<{ execution: Json | null }>(`query Quirk($id: ID!) { execution(id: $id) { id status ${select} } }`, { id: ID });
    expect(response.status).toBe(200);
    return response;
  }

  it.each(CASES.map((each) => [each.quirk, each] as const))('%s', async (_quirk, each) => {
    harness.upstream.setFault(ID, { kind: 'body', body: envelope(each.apply).replaceAll('"<huge>"', '1e400') });
    const response = await ask(each.select);
    expect(response.errors).toBeUndefined();
    expect(response.data?.execution).toEqual({ id: ID, status: each.status ?? 'WORKFLOW_RUNNING', ...each.expected });
    const warnings = response.extensions?.warnings ?? [];
    expect(warnings.map(({ path, code }) => ({ path, code }))).toEqual(each.warnings ?? []);
    for (const warning of warnings) expect(warning.message).toMatch(/^(Execution|ExecutionEvent)(\.\w+)?: /);
    if (each.message) expect(warnings[0]?.message).toMatch(each.message);
    // One upstream call, whatever the quirk.
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('serves a payload nested 10,000 deep (past what JSON.stringify can write) as null with a note, on queries and live watches alike', async () => {
    // Written by hand: JSON.stringify itself cannot write it.
    const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
    const body = envelope((execution) => (execution.requestPayload = '<deep>')).replace('"<deep>"', deep);
    harness.upstream.setFault(ID, { kind: 'body', body: body.replace('"workflow_running"', '"workflow_succeeded"') });
    const response = await ask('requestPayload events(first: 1) { nodes { data } }');
    expect(response.errors).toBeUndefined();
    expect(response.data?.execution).toMatchObject({ id: ID, status: 'WORKFLOW_SUCCEEDED', requestPayload: null });
    expect(response.extensions?.warnings?.map(({ path, code }) => ({ path, code }))).toEqual([{ path: ['execution', 'requestPayload'], code: 'UNREADABLE_VALUE' }]);
    // A watch compares whole readings to find changes: it gets its final update and ends.
    const { results } = await sendOver(harness, 'SSE (POST)', `subscription { executionUpdates(id: "${ID}") { isFinal execution { id requestPayload } } }`);
    expect(results.map((result) => result.data)).toEqual([{ executionUpdates: { isFinal: true, execution: { id: ID, requestPayload: null } } }]);
    expect(harness.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
  });

  it('puts a note about an event on its place in the page, on a page that does not start the list (after, last)', async () => {
    // Placed by the list's index, a note on a later page would land past its end, or on another event (a mutant showed no test held it).
    const body = envelope((_execution, events) => ((events[1]!.data = '<huge>'), (events[2]!.data = '<huge>'))).replaceAll('"<huge>"', '1e400');
    harness.upstream.setFault(ID, { kind: 'body', body });
    const after = encodeEventCursor(ID, `ev_${ID}_1`, 0);
    const response = await ask(`a: events(first: 1, after: "${after}") { edges { node { id data } } } b: events(last: 1) { nodes { id data } }`);
    expect(response.errors).toBeUndefined();
    expect(response.data?.execution).toMatchObject({ a: { edges: [{ node: { id: `ev_${ID}_2`, data: null } }] }, b: { nodes: [{ id: `ev_${ID}_3`, data: null }] } });
    expect(response.extensions?.warnings?.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: ['execution', 'a', 'edges', 0, 'node', 'data'], code: 'UNREADABLE_VALUE' },
      { path: ['execution', 'b', 'nodes', 0, 'data'], code: 'UNREADABLE_VALUE' },
    ]);
  });

  it("notes a JSON field sent as a number past a double's range (1e400) on a live watch as on a query", async () => {
    // JSON.parse reads 1e400 as Infinity, which JSON has no text for: it went out as a plain null, as if upstream had sent none.
    const body = envelope((execution, events) => ((execution.responsePayload = '<huge>'), (events[0]!.data = '<huge>'))).replaceAll('"<huge>"', '-1e400');
    harness.upstream.setFault(ID, { kind: 'body', body: body.replace('"workflow_running"', '"workflow_succeeded"') });
    const selection = 'responsePayload events(first: 1) { nodes { data } }';
    const query = await ask(selection);
    expect(query.errors).toBeUndefined();
    expect(query.data?.execution).toEqual({ id: ID, status: 'WORKFLOW_SUCCEEDED', responsePayload: null, events: { nodes: [{ data: null }] } });
    expect(query.extensions?.warnings?.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: ['execution', 'responsePayload'], code: 'UNREADABLE_VALUE' },
      { path: ['execution', 'events', 'nodes', 0, 'data'], code: 'UNREADABLE_VALUE' },
    ]);
    const { results } = await sendOver(harness, 'SSE (POST)', `subscription { executionUpdates(id: "${ID}") { isFinal execution { id status ${selection} } } }`);
    expect(results).toHaveLength(1);
    const [update] = results as Array<{ data?: { executionUpdates: { execution: Json } }; extensions?: { warnings?: Warning[] } }>;
    // The watch serves what the query serves, with the same notes at its own paths.
    expect(update!.data?.executionUpdates.execution).toEqual(query.data?.execution);
    expect(update!.extensions?.warnings?.map(({ path, code }) => ({ path, code }))).toEqual([
      { path: ['executionUpdates', 'execution', 'responsePayload'], code: 'UNREADABLE_VALUE' },
      { path: ['executionUpdates', 'execution', 'events', 'nodes', 0, 'data'], code: 'UNREADABLE_VALUE' },
    ]);
    expect(harness.upstream.requests).toHaveLength(2);
  });

  it('gives no warning for a field the query did not select', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((execution) => ((execution.startedAt = 'yesterday'), (execution.statusReason = {}))) });
    const response = await ask('runId');
    expect(response.data?.execution).toEqual({ id: ID, status: 'WORKFLOW_RUNNING', runId: `run_${ID}` });
    expect(response.extensions?.warnings).toBeUndefined();
  });

  it('notes an event field at each path the query selects it under: edges and nodes, aliases, fragments, @skip and @include', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((_execution, events) => ((events[1]!.level = { odd: true }), (events[1]!.createdAt = 'soon'))) });
    const response = await harness.query<{ execution: Json }>(
      `query Quirk($id: ID!, $no: Boolean!) {
        execution(id: $id) {
          evs: events(first: 2) {
            e: edges { n: node { a: level b: level ...Times hidden: level @include(if: $no) } }
            edges { node { ... on ExecutionEvent { level } gone: level @skip(if: true) } }
            ns: nodes { level }
          }
        }
      }
      fragment Times on ExecutionEvent { at: createdAt }`,
      { id: ID, no: false },
    );
    expect(response.errors).toBeUndefined();
    const node = (response.data!.execution as { evs: Record<string, Array<Record<string, Json>>> }).evs;
    expect(node.e![1]!.n).toEqual({ a: null, b: null, at: null });
    expect(node.edges![1]!.node).toEqual({ level: null });
    const paths = ((response.extensions as { warnings?: Warning[] } | undefined)?.warnings ?? []).map(({ path, code }) => `${code} ${path.join('.')}`).sort();
    expect(paths).toEqual([
      'UNREADABLE_VALUE execution.evs.e.1.n.a',
      'UNREADABLE_VALUE execution.evs.e.1.n.at',
      'UNREADABLE_VALUE execution.evs.e.1.n.b',
      'UNREADABLE_VALUE execution.evs.edges.1.node.level',
      'UNREADABLE_VALUE execution.evs.ns.1.level',
    ]);
  });

  it('logs each kind of warning on each field once, not once per request', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((execution) => (execution.finishedAt = 'never')) });
    for (let i = 0; i < 3; i++) expect((await ask('finishedAt')).extensions?.warnings).toHaveLength(1);
    const lines = harness.logs.filter((line) => line.field === 'Execution.finishedAt');
    expect(lines).toHaveLength(1);
    // Named as an operator takes it to upstream: the request, the execution, and upstream's id for its answer.
    expect(lines[0]).toMatchObject({ level: 40, code: 'UNREADABLE_VALUE', requestId: expect.any(String), executionId: ID, upstreamRequestId: expect.any(String) });
    expect(JSON.stringify(lines)).not.toContain('never');
  });

  it('logs an unknown status of any length as its first 64 characters and its length, once', async () => {
    const status = `failed: ${'secret-'.repeat(150_000)}`;
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((execution) => (execution.status = status)) });
    for (let i = 0; i < 2; i++) expect((await ask('isTerminal')).data?.execution).toEqual({ id: ID, status: 'UNKNOWN', isTerminal: false });
    const lines = harness.logs.filter((line) => typeof line.rawStatus === 'string' && line.rawStatus.startsWith('failed: '));
    expect(lines).toHaveLength(1);
    expect(lines[0]!.msg).toContain('status the schema does not know');
    expect(lines[0]).toMatchObject({ level: 40, rawStatus: status.slice(0, 64), rawStatusLength: status.length, rawStatusCut: true });
    expect(Math.max(...harness.rawLogs.split('\n').map((line) => line.length))).toBeLessThan(1_000);
    // A short one is logged whole, with nothing said about cutting.
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((execution) => (execution.status = 'workflow_paused_short')) });
    await ask('isTerminal');
    const short = harness.logs.filter((line) => line.rawStatus === 'workflow_paused_short');
    expect(short).toHaveLength(1);
    expect(short[0]).not.toHaveProperty('rawStatusLength');
    expect(harness.upstream.requests).toHaveLength(3);
  });
});

describe.each(LANES)('warnings do not depend on the upstream cost report (%s lane)', (lane) => {
  it('lists warnings with UPSTREAM_EXTENSIONS=false, and nothing else in extensions', async () => {
    const harness = await Harness.start({ lane, env: { UPSTREAM_EXTENSIONS: 'false' }, upstream: { executions: [] } });
    try {
      harness.upstream.setFault(ID, { kind: 'body', body: envelope((execution) => (execution.updatedAt = 'later')) });
      const response = await harness.query<{ execution: Json }>(`{ execution(id: "${ID}") { id updatedAt } }`, undefined, { authorization: AUTH });
      expect(response.data?.execution).toEqual({ id: ID, updatedAt: null });
      expect(response.extensions).toEqual({
        warnings: [
          {
            path: ['execution', 'updatedAt'],
            code: 'UNREADABLE_VALUE',
            message: expect.stringContaining('Execution.updatedAt'),
            // The fake upstream names each response `up-<n>` in x-request-id.
            upstreamRequestId: expect.stringMatching(/^up-\d+$/),
          },
        ],
      });
    } finally {
      await harness.close();
    }
  });
});

describe.each(LANES)('a result lists at most 100 warnings (%s lane)', (lane) => {
  it('counts the rest in extensions.warningsOmitted', async () => {
    const harness = await Harness.start({ lane, upstream: { executions: [] } });
    try {
      // 60 events, each with two unreadable fields: 120 notes.
      const events = Array.from({ length: 60 }, (_, i) => ({ id: `ev_${i}`, executionId: ID, createdAt: 'soon', level: {}, eventType: 'log' }));
      harness.upstream.setFault(ID, { kind: 'body', body: envelope((_execution, _events, data) => (data.events = events)) });
      const response = await harness.query<{ execution: Json }>(`{ execution(id: "${ID}") { events(first: 60) { nodes { createdAt level } } } }`, undefined, { authorization: AUTH });
      const warnings = response.extensions?.warnings as Warning[];
      expect(warnings).toHaveLength(100);
      expect(warnings[0]).toMatchObject({ path: ['execution', 'events', 'nodes', 0, 'createdAt'], code: 'UNREADABLE_VALUE' });
      expect(response.extensions?.warningsOmitted).toBe(20);
      // Below the cap: no count.
      const few = await harness.query(`{ execution(id: "${ID}") { events(first: 3) { nodes { level } } } }`, undefined, { authorization: AUTH });
      expect(few.extensions?.warnings).toHaveLength(3);
      expect(few.extensions).not.toHaveProperty('warningsOmitted');
    } finally {
      await harness.close();
    }
  });
});

describe.each(LANES)('warnings name only values the result still has (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, upstream: { executions: [] } });
  });
  afterAll(() => harness.close());

  it('drops a note under an object an error nulled, keeps the same note where the object stands', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((execution) => (execution.startedAt = 'bad')) });
    const before = harness.upstream.requests.length;
    // A page whose cursor names no event of upstream's reading (a replica behind, for all it can tell: ask again) fails
    // `events`, which is non-null: `bad` becomes null, `ok` stays.
    const response = await harness.query<Json>(
      `query($id: ID!, $after: String) { ok: execution(id: $id) { startedAt } bad: execution(id: $id) { startedAt events(after: $after) { totalCount } } }`,
      { id: ID, after: GONE },
      { authorization: AUTH },
    );
    expect(response.data).toEqual({ ok: { startedAt: null }, bad: null });
    expect(response.errors?.map(({ path, extensions }) => [extensions?.code, path])).toEqual([['UPSTREAM_BAD_RESPONSE', ['bad', 'events']]]);
    expect((response.extensions?.warnings as Warning[]).map(({ path, code }) => ({ path, code }))).toEqual([{ path: ['ok', 'startedAt'], code: 'UNREADABLE_VALUE' }]);
    expect(harness.upstream.requests.length - before).toBe(1);
    // Nothing left to note: no `warnings` at all.
    const alone = await harness.query<Json>(`query($id: ID!, $after: String) { execution(id: $id) { startedAt events(after: $after) { totalCount } } }`, { id: ID, after: GONE }, { authorization: AUTH });
    expect(alone.data).toEqual({ execution: null });
    expect(alone.extensions).not.toHaveProperty('warnings');
    expect(alone.extensions).not.toHaveProperty('warningsOmitted');
  });

  it('counts in warningsOmitted only notes past the cap that the result still has', async () => {
    // 60 events with two unreadable fields each: 120 notes under `a`, 120 under `b`, which an error nulls.
    const events = Array.from({ length: 60 }, (_, i) => ({ id: `ev_${i}`, executionId: ID, createdAt: 'soon', level: {}, eventType: 'log' }));
    harness.upstream.setFault(ID, { kind: 'body', body: envelope((_execution, _events, data) => (data.events = events)) });
    const page = 'events(first: 60) { nodes { createdAt level } }';
    const response = await harness.query<Json>(`query($id: ID!, $after: String) { a: execution(id: $id) { ${page} } b: execution(id: $id) { ${page} gone: events(after: $after) { totalCount } } }`, { id: ID, after: GONE }, { authorization: AUTH });
    expect(response.data?.b).toBeNull();
    const warnings = response.extensions?.warnings as Warning[];
    expect(warnings.filter((warning) => warning.path[0] !== 'a')).toEqual([]);
    // The list is cut where notes were made (at most 100), so it may hold fewer of `a`'s; with the count, exactly all 120.
    expect(warnings.length + Number(response.extensions?.warningsOmitted ?? 0)).toBe(120);
  });
});

describe('notes past the cap keep bounded memory', () => {
  it(`keeps at most ${MAX_OMITTED_PATHS_CHECKED} paths of omitted notes, and counts the rest`, () => {
    const scope = new RequestScope('req-notes', null, { onClientGone: () => () => {} }, { budgetMs: 1_000 }, { observe: () => {} });
    const total = MAX_WARNINGS_PER_RESULT + MAX_OMITTED_PATHS_CHECKED + 2_900;
    for (let i = 0; i < total; i++) scope.warn('ExecutionEvent.level', { path: ['execution', 'events', 'nodes', i, 'level'], code: 'UNREADABLE_VALUE', message: 'odd' });
    expect(scope.warnings).toHaveLength(MAX_WARNINGS_PER_RESULT);
    expect(scope.omittedWarningPaths).toHaveLength(MAX_OMITTED_PATHS_CHECKED);
    expect(scope.omittedUnchecked).toBe(2_900);
  });
});

describe.each(LANES)('notes past the checked ones, under a value an error nulled (%s lane)', (lane) => {
  it('are not counted in warningsOmitted when none of the checked ones is in data', async () => {
    const harness = await Harness.start({ lane, upstream: { executions: [] } });
    try {
      const events = Array.from({ length: 100 }, (_, i) => ({ id: `ev_${i}`, executionId: ID, level: {}, eventType: 'log' }));
      harness.upstream.setFault(ID, { kind: 'body', body: envelope((_execution, _events, data) => (data.events = events)) });
      // 21 pages of 100 events pass the 2,000 events a request may hand out: the last fails, and
      // `events` being non-null, `execution` is null, after the first 20 made 2,000 notes.
      const pages = Array.from({ length: 21 }, (_, i) => `p${i}: events(first: $n) { nodes { level } }`).join(' ');
      const response = await harness.query(`query ($n: Int!) { execution(id: "${ID}") { ${pages} } }`, { n: 100 }, { authorization: AUTH });
      expect(response.data).toEqual({ execution: null });
      expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(response.extensions?.warnings ?? []).toEqual([]);
      expect(response.extensions).not.toHaveProperty('warningsOmitted');
    } finally {
      await harness.close();
    }
  });
});
