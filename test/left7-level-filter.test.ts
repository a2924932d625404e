/**
 * An events filter's `levels` match in any case: upstream writes levels in lower case (`warn`), and a frontend that
 * filtered on `WARN` got an empty page, `totalCount: 0`, with no note. `eventTypes` and `nodeIds` still match
 * exactly. On both lanes, in a query and in a live watch's new events, with one upstream call per query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendedEvents, pageEvents } from '../src/domain/event-pages.js';
import type { Execution } from '../src/domain/execution.js';
import { Harness, LANES } from './support/harness.js';

const COUNT = 'query ($f: ExecutionEventFilter) { execution(id: "ex_demo_long") { events(first: 0, filter: $f) { totalCount } } }';

describe.each(LANES)('levels in any case (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const totalCount = async (filter: Record<string, unknown>) => {
    const before = harness.upstream.requestsFor('ex_demo_long').length;
    const response = await harness.query<{ execution: { events: { totalCount: number } } }>(COUNT, { f: filter });
    expect(response.errors).toBeUndefined();
    expect(harness.upstream.requestsFor('ex_demo_long').length - before).toBe(1);
    return response.data!.execution.events.totalCount;
  };

  it('keeps upstream\'s `warn` events for `WARN`, `Warn` and `warn` alike', async () => {
    const warn = await totalCount({ levels: ['warn'] });
    expect(warn).toBeGreaterThan(0);
    expect(await totalCount({ levels: ['WARN'] })).toBe(warn);
    expect(await totalCount({ levels: ['Warn', 'ERROR'] })).toBe(warn + (await totalCount({ levels: ['error'] })));
  });

  it('still matches event types exactly', async () => {
    expect(await totalCount({ eventTypes: ['log'] })).toBeGreaterThan(0);
    expect(await totalCount({ eventTypes: ['LOG'] })).toBe(0);
  });
});

describe('the filter itself', () => {
  const events = ['warn', 'WARN', 'Warn', 'info', 'error', 7, null].map((level, i) => ({ id: `ev_${i}`, createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), level }));
  const execution = (): Execution => ({ id: 'ex_levels', source: { id: 'ex_levels', status: 'workflow_running' }, events: [...events], bodyBytes: 0 });

  it('matches a level upstream wrote in any case, in pages and in a watch\'s new events', () => {
    const ids = (filter: { levels: string[] }) => pageEvents(execution(), { first: 100, filter }).edges.map((edge) => edge.node.position);
    expect(ids({ levels: ['warn'] })).toEqual([0, 1, 2]);
    expect(ids({ levels: ['WARN'] })).toEqual([0, 1, 2]);
    expect(ids({ levels: ['Info', 'ERROR'] })).toEqual([3, 4]);
    // A level upstream sent as a number reads as its text; none at all never matches.
    expect(ids({ levels: ['7'] })).toEqual([5]);
    expect(appendedEvents(execution(), 1, { levels: ['wArN'] }, 100).edges.map((edge) => edge.node.position)).toEqual([1, 2]);
  });
});
