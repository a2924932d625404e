/** Runtime caps that static query limits cannot see: distinct executions and events per request. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { MAX_EVENTS_PER_REQUEST, MAX_EXECUTIONS_PER_REQUEST } from '../src/request/scope.js';
import { Harness, LANES, codes } from './support/harness.js';

const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => `ex_cap_${from + i}`);

describe.each(LANES)('per-request caps (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      upstream: {
        executions: [
          ...ids(0, 110).map((id) => makeExecution({ id, status: 'workflow_running', eventCount: 1 })),
          makeExecution({ id: 'ex_cap_big', status: 'workflow_running', eventCount: 5_000 }),
        ],
      },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it(`loads at most ${MAX_EXECUTIONS_PER_REQUEST} distinct executions per request, whatever the aliases`, async () => {
    const response = await harness.query<{ a: Array<unknown>; b: Array<unknown> }>(
      `query($a: [ID!]!, $b: [ID!]!) { a: executions(ids: $a) { id } b: executions(ids: $b) { id } }`,
      { a: ids(0, 60), b: ids(60, 50) },
    );
    expect(harness.upstream.requests).toHaveLength(MAX_EXECUTIONS_PER_REQUEST);
    expect(codes(response)).toEqual(Array(10).fill('BAD_USER_INPUT'));
    expect(response.errors![0]!.message).toMatch(/more than 100 distinct executions/);
    expect([...response.data!.a, ...response.data!.b].filter(Boolean)).toHaveLength(100);
  });

  it(`caps events across executions of one request at ${MAX_EVENTS_PER_REQUEST}`, async () => {
    const response = await harness.query<{ executions: unknown[] }>(
      `query($ids: [ID!]!) { executions(ids: $ids) { events(first: 100) { edges { cursor } } } }`,
      { ids: Array.from({ length: 21 }, () => 'ex_cap_big').map((id, i) => (i === 0 ? id : `ex_cap_${i}`)) },
    );
    // ex_cap_big gives 100 events; the others one each: under the cap.
    expect(response.errors).toBeUndefined();

    for (let i = 1; i <= 25; i++) harness.upstream.put(makeExecution({ id: `ex_cap_${i}`, status: 'workflow_running', eventCount: 100 }));
    const over = await harness.query(
      `query($ids: [ID!]!) { executions(ids: $ids) { events(first: 100) { edges { cursor } } } }`,
      { ids: Array.from({ length: 25 }, (_, i) => `ex_cap_${i + 1}`) },
    );
    expect(codes(over)).toContain('BAD_USER_INPUT');
    expect(over.errors!.find((error) => error.extensions?.code === 'BAD_USER_INPUT')!.message).toMatch(/more than 2000 events/);
    const served = (over.data!.executions as Array<{ events: { edges: unknown[] } } | null>).filter(Boolean);
    expect(served.reduce((sum, execution) => sum + execution!.events.edges.length, 0)).toBeLessThanOrEqual(MAX_EVENTS_PER_REQUEST);

    // Exactly the cap is served whole: 20 pages of 100.
    const atCap = await harness.query(
      `query($ids: [ID!]!) { executions(ids: $ids) { events(first: 100) { edges { cursor } } } }`,
      { ids: Array.from({ length: 20 }, (_, i) => `ex_cap_${i + 1}`) },
    );
    expect(atCap.errors).toBeUndefined();
  });

  it('does not count ids it refuses (no upstream call) against the execution limit', async () => {
    const response = await harness.query<{ executions: unknown[]; one: { id: string } | null }>(
      `query($ids: [ID!]!) { executions(ids: $ids) { id } one: execution(id: "ex_cap_0") { id } }`,
      { ids: Array.from({ length: MAX_EXECUTIONS_PER_REQUEST }, (_, i) => `bad id ${i}`) },
    );
    expect(response.data!.one).toEqual({ id: 'ex_cap_0' });
    expect(codes(response)).toEqual(Array(MAX_EXECUTIONS_PER_REQUEST).fill('BAD_USER_INPUT'));
    expect(response.errors!.every((error) => /^Invalid execution id/.test(error.message))).toBe(true);
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('counts only the events a page hands out: a page that selects only totalCount and pageInfo counts none', async () => {
    for (let i = 1; i <= 25; i++) harness.upstream.put(makeExecution({ id: `ex_cap_${i}`, status: 'workflow_running', eventCount: 100 }));
    const variables = { ids: Array.from({ length: 25 }, (_, i) => `ex_cap_${i + 1}`) };
    const counted = await harness.query<{ executions: Array<{ a: { totalCount: number }; b: { pageInfo: { hasNextPage: boolean } } }> }>(
      `query($ids: [ID!]!) { executions(ids: $ids) { a: events(first: 100) { totalCount } b: events(first: 100) { pageInfo { hasNextPage endCursor } } } }`,
      variables,
    );
    expect(counted.errors).toBeUndefined();
    expect(counted.data!.executions.map((execution) => execution.a.totalCount)).toEqual(Array(25).fill(100));
    // The same pages with their nodes: 2,500 events.
    const handedOut = await harness.query(`query($ids: [ID!]!) { executions(ids: $ids) { events(first: 100) { nodes { id } } } }`, variables);
    expect(handedOut.errors!.find((error) => error.extensions?.code === 'BAD_USER_INPUT')!.message).toMatch(/more than 2000 events/);
  });
});
