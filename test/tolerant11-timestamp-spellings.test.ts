/**
 * Timestamps in ISO 8601 forms RFC 3339 leaves out. An offset that gives hours alone (`+00`, `+05`, `-03`), as ISO 8601 allows and PostgreSQL writes a
 * `timestamptz` as text (`2026-03-01 12:00:00.123+00`, its default output, which an API passing database values
 * through sends as is): served as the instant they name, and sorted and filtered by it, with no note. They were null
 * with an UNREADABLE_VALUE note, though `+0530` and `+05:30` were read, and an event with one sorted as if undated.
 * So were a fraction after a comma (`12:00:00,5Z`, ISO 8601's preferred decimal sign) and the basic format
 * (`20260301T120000Z`, as AWS writes `X-Amz-Date`).
 *
 * A timestamp written as an HTTP-date (`Sun, 01 Mar 2026 12:00:00 GMT`), as Flask's JSON encoder writes every
 * datetime by default (werkzeug's `http_date`): served as the instant it names, and sorted and filtered by it, with no
 * note. It was null with an UNREADABLE_VALUE note, and its events sorted as if undated, though the gateway already
 * read the same form in upstream's Retry-After. An HTTP-date in years 0000–0099 names an instant in those years (RFC
 * 3339's four-digit years): read as 1900–1999 at first, as Date.UTC takes a year below 100 for one in the 1900s, so
 * `Wed, 01 Mar 0050` was served as 1950 and 29 February 0000 (a leap year) was refused as 1900's. Over HTTP: the fake
 * upstream sends the very body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';

const ID = 'ex_tolerant11_offsets_1';
const HTTP_DATE_ID = 'ex_tolerant11_http_date_1';
const EARLY_ID = 'ex_tolerant11_http_date_early';
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

describe.each(LANES)('timestamps in forms RFC 3339 leaves out (%s lane)', (lane) => {
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

  it('serves an offset of hours alone as the instant it names, sorts and filters events by it, with no note', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: body(), headers: { 'content-type': 'application/json' } });
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

  it('serves HTTP-dates as the instants they name, sorts and filters events by them, with no note', async () => {
    const stored = makeExecution({ id: HTTP_DATE_ID, status: 'workflow_running', eventCount: 3 });
    Object.assign(stored.execution, { createdAt: 'Sun, 01 Mar 2026 12:00:00 GMT', startedAt: 'Sun, 01 Mar 2026 12:00:01 GMT' });
    stored.events[0]!.createdAt = 'Sun, 01 Mar 2026 12:00:04 GMT';
    stored.events[1]!.createdAt = 'Sun, 01 Mar 2026 12:00:02 GMT';
    stored.events[2]!.createdAt = 'Sun, 01 Mar 2026 12:00:03 GMT';
    harness.upstream.setFault(HTTP_DATE_ID, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(
      `query($id: ID!) { execution(id: $id) { createdAt startedAt events(filter: { createdAfter: "2026-03-01T12:00:02.500Z" }) { nodes { id createdAt } } } }`,
      { id: HTTP_DATE_ID },
    );
    expect(response.extensions?.warnings).toBeUndefined();
    expect(response.data).toEqual({
      execution: {
        createdAt: '2026-03-01T12:00:00.000Z',
        startedAt: '2026-03-01T12:00:01.000Z',
        events: {
          nodes: [
            { id: `ev_${HTTP_DATE_ID}_3`, createdAt: '2026-03-01T12:00:03.000Z' },
            { id: `ev_${HTTP_DATE_ID}_1`, createdAt: '2026-03-01T12:00:04.000Z' },
          ],
        },
      },
    });
  });

  it('still finds an HTTP-date of a day that does not exist, or of a zone other than GMT, unreadable', async () => {
    const stored = makeExecution({ id: HTTP_DATE_ID, status: 'workflow_running', eventCount: 0 });
    Object.assign(stored.execution, { createdAt: 'Mon, 30 Feb 2026 12:00:00 GMT', startedAt: 'Sun, 01 Mar 2026 12:00:00 PST' });
    harness.upstream.setFault(HTTP_DATE_ID, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(`query($id: ID!) { execution(id: $id) { createdAt startedAt } }`, { id: HTTP_DATE_ID });
    expect(response.data).toEqual({ execution: { createdAt: null, startedAt: null } });
    expect((response.extensions?.warnings as Array<{ code: string }>).map((warning) => warning.code)).toEqual(['UNREADABLE_VALUE', 'UNREADABLE_VALUE']);
  });

  it('serves an HTTP-date in years 0000–0099 as the instant it names, as the same instant in RFC 3339 is served', async () => {
    const stored = makeExecution({ id: EARLY_ID, status: 'workflow_running', eventCount: 0 });
    Object.assign(stored.execution, {
      createdAt: 'Wed, 01 Mar 0050 12:00:00 GMT',
      startedAt: 'Tue, 29 Feb 0000 00:00:00 GMT',
      finishedAt: 'Mon Jan  1 00:00:00 0099',
      updatedAt: '0050-03-01T12:00:00Z',
    });
    harness.upstream.setFault(EARLY_ID, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(`query($id: ID!) { execution(id: $id) { createdAt startedAt finishedAt updatedAt } }`, { id: EARLY_ID });
    expect(response.extensions?.warnings).toBeUndefined();
    expect(response.data).toEqual({
      execution: {
        createdAt: '0050-03-01T12:00:00.000Z',
        startedAt: '0000-02-29T00:00:00.000Z',
        finishedAt: '0099-01-01T00:00:00.000Z',
        updatedAt: '0050-03-01T12:00:00.000Z',
      },
    });
  });
});
