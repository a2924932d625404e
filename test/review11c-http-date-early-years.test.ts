/**
 * An HTTP-date in years 0000–0099 names an instant in those years, which the gateway serves (RFC 3339's four-digit
 * years, 0000–9999): it was read as 1900–1999, as Date.UTC takes a year below 100 for one in the 1900s, so
 * `Sun, 01 Mar 0050 12:00:00 GMT` was served as 1950, and 29 February 0000 (a leap year) was refused as 1900's.
 * Over HTTP: the fake upstream sends the very body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES } from './support/harness.js';

const ID = 'ex_review11c_http_date_1';

describe.each(LANES)('timestamps written as HTTP-dates in years 0000–0099 (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it('serves the instant each names, as the same instant in RFC 3339 is served', async () => {
    const stored = makeExecution({ id: ID, status: 'workflow_running', eventCount: 0 });
    Object.assign(stored.execution, {
      createdAt: 'Wed, 01 Mar 0050 12:00:00 GMT',
      startedAt: 'Tue, 29 Feb 0000 00:00:00 GMT',
      finishedAt: 'Mon Jan  1 00:00:00 0099',
      updatedAt: '0050-03-01T12:00:00Z',
    });
    harness.upstream.setFault(ID, { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events } }) });
    const response = await harness.query(`query($id: ID!) { execution(id: $id) { createdAt startedAt finishedAt updatedAt } }`, { id: ID });
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
