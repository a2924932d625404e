/**
 * A request whose `operationName` picks no operation of its document (OPERATION_RESOLUTION_FAILURE) is labelled
 * `operationType="unknown"` with the name it sent, on every series that counts it (README "Metrics": "Labels are
 * bounded"). `graphql_yoga_http_duration` labelled it after the document's only operation instead (`query`, and that
 * operation's name, `other`), while `graphql_envelop_error_result` had `unknown` and the sent name for the same
 * request: a stale frontend's refused requests showed as queries that ran, under another name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';

/** The `_count` samples of histogram `name` (`graphql_yoga_http_duration` unless given), as label text → value. */
async function httpCounts(harness: Harness, name = 'graphql_yoga_http_duration'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const line of await harness.metricLines(name)) {
    const match = new RegExp(`^${name}_count\\{(.*)\\} (\\S+)$`).exec(line);
    if (match) counts.set(match[1]!, Number(match[2]));
  }
  return counts;
}

describe.each(LANES)('%s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { METRICS: 'api' } });
  });
  afterAll(() => harness.close());

  it.each([
    { what: 'a known name the document does not hold', operationName: 'ExecutionStatus', label: 'ExecutionStatus' },
    { what: 'a made-up name', operationName: 'Renamed', label: 'other' },
  ])('$what, sent with a document of one operation: unknown, under the name sent, as in the error counter', async ({ operationName, label }) => {
    const before = await httpCounts(harness);
    const parsesBefore = await httpCounts(harness, 'graphql_envelop_phase_parse');
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: 'query OldName { __typename }', operationName }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors.map((error) => error.extensions.code)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    const after = await httpCounts(harness);
    const grown = [...after].filter(([labels, value]) => value > (before.get(labels) ?? 0)).map(([labels]) => labels);
    expect(grown).toEqual([`method="POST",statusCode="400",operationType="unknown",operationName="${label}"`]);
    // Its document parsed: timed under the same labels.
    const parses = await httpCounts(harness, 'graphql_envelop_phase_parse');
    expect([...parses].filter(([labels, value]) => value > (parsesBefore.get(labels) ?? 0)).map(([labels]) => labels)).toEqual([`operationType="unknown",operationName="${label}"`]);
    expect(await harness.metricLines('graphql_envelop_error_result')).toContain(
      `graphql_envelop_error_result{operationType="unknown",operationName="${label}",phase="parse",code="OPERATION_RESOLUTION_FAILURE"} 1`,
    );
  });

  it('two operations and no name: its parse is timed as unknown and anonymous, as its error is counted', async () => {
    const before = await httpCounts(harness, 'graphql_envelop_phase_parse');
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: 'query ExecutionStatus { __typename } query B { __typename }' }),
    });
    expect(response.status).toBe(400);
    await response.arrayBuffer();
    const after = await httpCounts(harness, 'graphql_envelop_phase_parse');
    expect([...after].filter(([labels, value]) => value > (before.get(labels) ?? 0)).map(([labels]) => labels)).toEqual(['operationType="unknown",operationName="anonymous"']);
  });

  it.each([
    { what: 'an anonymous operation', body: { query: '{ __typename }' }, status: 200, labels: 'operationType="query",operationName="anonymous"' },
    { what: 'an anonymous operation after a fragment', body: { query: 'fragment F on Query { __typename } { ...F }' }, status: 200, labels: 'operationType="query",operationName="anonymous"' },
    { what: 'a named operation sent without its name', body: { query: 'query ExecutionStatus { __typename }' }, status: 200, labels: 'operationType="query",operationName="ExecutionStatus"' },
    { what: 'two operations and no name', body: { query: 'query ExecutionStatus { __typename } query B { __typename }' }, status: 400, labels: 'operationType="unknown",operationName="anonymous"' },
  ])('$what: labelled as before', async ({ body, status, labels }) => {
    const before = await httpCounts(harness);
    const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify(body) });
    expect(response.status).toBe(status);
    await response.arrayBuffer();
    const after = await httpCounts(harness);
    const grown = [...after].filter(([labels, value]) => value > (before.get(labels) ?? 0)).map(([labels]) => labels);
    expect(grown).toEqual([`method="POST",statusCode="${status}",${labels}`]);
  });
});
