/**
 * One result hands out at most UPSTREAM_MAX_BODY_BYTES characters of upstream
 * values (src/request/scope.ts `handOut`): one whole body always fits, the same
 * large values many times over (aliases, an id repeated in `executions(ids)`,
 * each event's `execution`) do not. Past the bound a field is null with
 * BAD_USER_INPUT, the rest of the result stands. Without it, 29 aliases of 100
 * copies of a 200 KB payload made a 580 MB response that V8 could not write:
 * a 500 for the whole request, after 740 MB of memory. Both lanes, over HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';
import { sendOver } from './support/transports.js';

const ID = 'ex_size_1';
/** The cap on an upstream body, and so on what one result hands out. */
const CAP = 1024 * 1024;
/** A payload of 300,000 characters: three fit in a result, the fourth does not. */
const PAYLOAD = { blob: 'p'.repeat(300_000) };

/** The 200 envelope for ID, its execution and events changed by `change`. */
function body(change: (execution: Record<string, unknown>, events: Record<string, unknown>[]) => void): string {
  const { execution, events } = makeExecution({ id: ID, status: 'workflow_running', eventCount: 3 });
  change(execution as unknown as Record<string, unknown>, events as unknown as Record<string, unknown>[]);
  return JSON.stringify({ code: 200, data: { execution, events, message: 'execution retrieved' }, message: 'success', requestId: 'req-size' });
}

describe.each(LANES)('values one result hands out (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { UPSTREAM_MAX_BODY_BYTES: String(CAP) } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it('serves a payload as large as a body may be, once', async () => {
    const whole = { blob: 'w'.repeat(CAP - 10_000) };
    harness.upstream.setFault(ID, { kind: 'body', body: body((execution) => (execution.requestPayload = whole)) });
    const response = await harness.query<any>('query($id: ID!) { execution(id: $id) { id requestPayload events { nodes { id data } } } }', { id: ID });
    expect(response.errors).toBeUndefined();
    expect(response.data!.execution.requestPayload).toEqual(whole);
  });

  it('refuses copies past the bound, field by field, and serves the rest: an id repeated in executions(ids)', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: body((execution) => (execution.requestPayload = PAYLOAD)) });
    const response = await harness.query<any>('query($ids: [ID!]!) { executions(ids: $ids) { id status requestPayload } }', { ids: Array(10).fill(ID) });
    expect(response.status).toBe(200);
    const executions = response.data!.executions as Array<{ id: string; status: string; requestPayload: unknown }>;
    expect(executions.map((execution) => execution.id)).toEqual(Array(10).fill(ID));
    expect(executions.map((execution) => execution.requestPayload !== null)).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(executions[0]!.requestPayload).toEqual(PAYLOAD);
    expect(response.errors!.map((error) => error.path)).toEqual([3, 4, 5, 6, 7, 8, 9].map((index) => ['executions', index, 'requestPayload']));
    for (const error of response.errors!) {
      expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      expect(error.message).toMatch(new RegExp(`more than ${CAP.toLocaleString('en-US')} characters of upstream values`));
    }
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('counts a value as the JSON text it is written as: escapes count in full, a short scalar is short', async () => {
    // 80,000 control characters are 480,000 characters of JSON, in upstream's body as in the response: two copies fit, not three.
    const controls = '\u0001'.repeat(80_000);
    harness.upstream.setFault(ID, { kind: 'body', body: body((execution) => ((execution.statusReason = controls), (execution.requestPayload = { s: controls }))) });
    const thrice = await harness.query<any>('query($id: ID!) { execution(id: $id) { a: statusReason b: requestPayload c: statusReason } }', { id: ID });
    expect(thrice.data!.execution).toEqual({ a: controls, b: { s: controls }, c: null });
    expect(thrice.errors!.map((error) => [error.path, error.extensions?.code])).toEqual([[['execution', 'c'], 'BAD_USER_INPUT']]);
    // 300,000 zeros are 600,000 characters of JSON, in the body as in the response: one copy is served.
    const zeros = Array<number>(300_000).fill(0);
    harness.upstream.setFault(ID, { kind: 'body', body: body((execution) => (execution.requestPayload = zeros)) });
    const once = await harness.query<any>('query($id: ID!) { execution(id: $id) { requestPayload } }', { id: ID });
    expect(once.errors).toBeUndefined();
    expect(once.data!.execution.requestPayload).toHaveLength(300_000);
  });

  it('counts a page of events as many times over as an event field is selected: past the bound, `events` fails (non-null), so its execution is null', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: body((_execution, events) => (events[0]!.data = PAYLOAD)) });
    const three = await harness.query<any>('query($id: ID!) { execution(id: $id) { events(first: 1) { nodes { a: data b: data c: data } } } }', { id: ID });
    expect(three.errors).toBeUndefined();
    expect(three.data!.execution.events.nodes).toEqual([{ a: PAYLOAD, b: PAYLOAD, c: PAYLOAD }]);
    // Also as `edges.node` and `nodes` at once, or in two aliases of `events`.
    for (const selection of [
      'events(first: 1) { nodes { a: data b: data c: data d: data } }',
      'events(first: 1) { nodes { a: data b: data } edges { node { c: data d: data message } } pageInfo { hasNextPage } }',
      'e1: events(first: 1) { nodes { a: data b: data } } e2: events(first: 1) { nodes { a: data b: data } }',
    ]) {
      const four = await harness.query<any>(`query($id: ID!) { execution(id: $id) { ${selection} } }`, { id: ID });
      expect(four.data).toEqual({ execution: null });
      expect(four.errors!.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(four.errors![0]!.path!.slice(0, 2)).toEqual(['execution', expect.stringMatching(/^e(vents|2)$/)]);
    }
    // Fields that are not selected twice serve each event once, however many they are.
    const once = await harness.query<any>('query($id: ID!) { execution(id: $id) { events { nodes { id data message title level } edges { cursor } } } }', { id: ID });
    expect(once.errors).toBeUndefined();
  });

  it('counts each event\'s execution against the same bound', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: body((execution) => (execution.statusReason = 'r'.repeat(300_000))) });
    const lengths = (response: any) =>
      (response.data!.execution.events.nodes as Array<{ execution: { statusReason: string | null } }>).map((node) => node.execution.statusReason?.length ?? null);
    const roundTrip = await harness.query<any>('query($id: ID!) { execution(id: $id) { events { nodes { id execution { statusReason } } } } }', { id: ID });
    expect(roundTrip.errors).toBeUndefined();
    expect(lengths(roundTrip)).toEqual([300_000, 300_000, 300_000]);
    const more = await harness.query<any>('query($id: ID!) { execution(id: $id) { statusReason events { nodes { id execution { statusReason } } } } }', { id: ID });
    expect(more.data!.execution.statusReason).toHaveLength(300_000);
    expect(lengths(more)).toEqual([300_000, 300_000, null]);
    expect(more.errors!.map((error) => [error.path, error.extensions?.code])).toEqual([[['execution', 'events', 'nodes', 2, 'execution', 'statusReason'], 'BAD_USER_INPUT']]);
  });

  it('counts each live update apart: every update of a watch may hand out as much', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: body((execution) => ((execution.requestPayload = PAYLOAD), (execution.status = 'workflow_succeeded'))) });
    const { results } = await sendOver(harness, 'SSE (POST)', `subscription { executionUpdates(id: "${ID}") { isFinal execution { a: requestPayload b: requestPayload c: requestPayload d: requestPayload } } }`);
    expect(results).toHaveLength(1);
    expect(results[0]!.data).toEqual({ executionUpdates: { isFinal: true, execution: { a: PAYLOAD, b: PAYLOAD, c: PAYLOAD, d: null } } });
    expect(results[0]!.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
  });
});
