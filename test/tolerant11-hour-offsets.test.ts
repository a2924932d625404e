/**
 * Timestamps in ISO 8601 forms RFC 3339 leaves out. An offset that gives hours alone (`+00`, `+05`, `-03`), as ISO 8601 allows and PostgreSQL writes a
 * `timestamptz` as text (`2026-03-01 12:00:00.123+00`, its default output, which an API passing database values
 * through sends as is): served as the instant they name, and sorted and filtered by it, with no note. They were null
 * with an UNREADABLE_VALUE note, though `+0530` and `+05:30` were read, and an event with one sorted as if undated.
 * So were a fraction after a comma (`12:00:00,5Z`, ISO 8601's preferred decimal sign) and the basic format
 * (`20260301T120000Z`, as AWS writes `X-Amz-Date`). Over HTTP: the fake upstream sends the very body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';

const ID = 'ex_tolerant11_offsets_1';
const QUERY = `query($id: ID!, $after: DateTime) {
  execution(id: $id) {
    id createdAt updatedAt startedAt finishedAt
    events(order: DESC, filter: { createdAfter: $after }) { totalCount nodes { id createdAt } }
  }
}`;

function body(): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_succeeded', eventCount: 3 });
  Object.assign(stored.execution, {
    createdAt: '2026-03-01 12:00:00.123+00',
    updatedAt: '2026-03-01T17:00:00+05',
    startedAt: '2026-03-01T09:00:01-03',
    finishedAt: '2026-03-01 12:00:05+00',
  });
  // Upstream order, by the instants: 12:00:02, 12:00:03, 12:00:04 UTC, each written with another hour-only offset.
  stored.events[0]!.createdAt = '2026-03-01 12:00:02+00';
  stored.events[1]!.createdAt = '2026-03-01T14:00:03+02';
  stored.events[2]!.createdAt = '2026-03-01T07:00:04-05';
  return Buffer.from(JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events }, requestId: 'up-offsets' }));
}

/** Each spelling, and the instant it names. */
const SPELLINGS: Array<[string, string]> = [
  ['2026-03-01T12:00:00,5Z', '2026-03-01T12:00:00.500Z'],
  ['2026-03-01 14:00:00,123456+02:00', '2026-03-01T12:00:00.123Z'],
  ['20260301T120000Z', '2026-03-01T12:00:00.000Z'],
  ['20260301T170000.25+0500', '2026-03-01T12:00:00.250Z'],
  ['20260301T090000-03', '2026-03-01T12:00:00.000Z'],
];

describe.each(LANES)('timestamps in ISO 8601 forms RFC 3339 leaves out (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each(SPELLINGS)('serves %s as %s, with no note', async (written, instant) => {
    const id = 'ex_tolerant11_iso_1';
    const stored = makeExecution({ id, status: 'workflow_running', eventCount: 1 });
    Object.assign(stored.execution, { startedAt: written });
    stored.events[0]!.createdAt = written;
    harness.upstream.setFault(id, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(`query($id: ID!) { execution(id: $id) { startedAt events { nodes { createdAt } } } }`, { id });
    expect(response.extensions?.warnings).toBeUndefined();
    expect(response.data).toEqual({ execution: { startedAt: instant, events: { nodes: [{ createdAt: instant }] } } });
  });

  it('still finds a basic date without a time, and a comma with no digits, unreadable', async () => {
    const id = 'ex_tolerant11_iso_2';
    const stored = makeExecution({ id, status: 'workflow_running', eventCount: 0 });
    Object.assign(stored.execution, { startedAt: '20260301', finishedAt: '2026-03-01T12:00:00,Z' });
    harness.upstream.setFault(id, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(`query($id: ID!) { execution(id: $id) { startedAt finishedAt } }`, { id });
    expect(response.data).toEqual({ execution: { startedAt: null, finishedAt: null } });
    expect((response.extensions?.warnings as Array<{ code: string }>).map((warning) => warning.code)).toEqual(['UNREADABLE_VALUE', 'UNREADABLE_VALUE']);
  });
});

describe.each(LANES)('timestamps with an offset of hours alone (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
    harness.upstream.setFault(ID, { kind: 'body', body: body(), headers: { 'content-type': 'application/json' } });
  });
  afterAll(() => harness.close());

  it('serves them as the instants they name, sorts and filters events by them, with no note', async () => {
    const response = await harness.query(QUERY, { id: ID, after: '2026-03-01T12:00:02.500Z' });
    expect(response.errors).toBeUndefined();
    expect(response.extensions?.warnings).toBeUndefined();
    expect(response.data).toEqual({
      execution: {
        id: ID,
        createdAt: '2026-03-01T12:00:00.123Z',
        updatedAt: '2026-03-01T12:00:00.000Z',
        startedAt: '2026-03-01T12:00:01.000Z',
        finishedAt: '2026-03-01T12:00:05.000Z',
        events: {
          totalCount: 2,
          nodes: [
            { id: `ev_${ID}_3`, createdAt: '2026-03-01T12:00:04.000Z' },
            { id: `ev_${ID}_2`, createdAt: '2026-03-01T12:00:03.000Z' },
          ],
        },
      },
    });
  });
});
