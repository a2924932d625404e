/**
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

const ID = 'ex_tolerant11_http_date_1';
const EARLY_ID = 'ex_tolerant11_http_date_early';

describe.each(LANES)('timestamps written as HTTP-dates (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it('serves them as the instants they name, sorts and filters events by them, with no note', async () => {
    const stored = makeExecution({ id: ID, status: 'workflow_running', eventCount: 3 });
    Object.assign(stored.execution, { createdAt: 'Sun, 01 Mar 2026 12:00:00 GMT', startedAt: 'Sun, 01 Mar 2026 12:00:01 GMT' });
    stored.events[0]!.createdAt = 'Sun, 01 Mar 2026 12:00:04 GMT';
    stored.events[1]!.createdAt = 'Sun, 01 Mar 2026 12:00:02 GMT';
    stored.events[2]!.createdAt = 'Sun, 01 Mar 2026 12:00:03 GMT';
    harness.upstream.setFault(ID, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(
      `query($id: ID!) { execution(id: $id) { createdAt startedAt events(filter: { createdAfter: "2026-03-01T12:00:02.500Z" }) { nodes { id createdAt } } } }`,
      { id: ID },
    );
    expect(response.extensions?.warnings).toBeUndefined();
    expect(response.data).toEqual({
      execution: {
        createdAt: '2026-03-01T12:00:00.000Z',
        startedAt: '2026-03-01T12:00:01.000Z',
        events: {
          nodes: [
            { id: `ev_${ID}_3`, createdAt: '2026-03-01T12:00:03.000Z' },
            { id: `ev_${ID}_1`, createdAt: '2026-03-01T12:00:04.000Z' },
          ],
        },
      },
    });
  });

  it('still finds a day that does not exist, or a zone other than GMT, unreadable', async () => {
    const stored = makeExecution({ id: ID, status: 'workflow_running', eventCount: 0 });
    Object.assign(stored.execution, { createdAt: 'Mon, 30 Feb 2026 12:00:00 GMT', startedAt: 'Sun, 01 Mar 2026 12:00:00 PST' });
    harness.upstream.setFault(ID, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(`query($id: ID!) { execution(id: $id) { createdAt startedAt } }`, { id: ID });
    expect(response.data).toEqual({ execution: { createdAt: null, startedAt: null } });
    expect((response.extensions?.warnings as Array<{ code: string }>).map((warning) => warning.code)).toEqual(['UNREADABLE_VALUE', 'UNREADABLE_VALUE']);
  });

  it('serves one in years 0000–0099 as the instant it names, as the same instant in RFC 3339 is served', async () => {
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
