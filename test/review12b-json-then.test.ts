/**
 * A JSON value upstream sent as an object holding a `then` (a workflow's `{ "if": …, "then": … }` rule, say). Yoga's
 * executor (@graphql-tools/executor, whose `isPromise` is `value?.then != null`) took such a value for a promise:
 * `completed.then is not a function`, the field null with "Unexpected error." (INTERNAL_SERVER_ERROR) and an error
 * line, on both lanes and every run, over every transport, though the execution was upstream's as documented. Served
 * as upstream sent it now, as every other JSON value is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { WARM_UP_RUNS } from '../src/fast-lane/compiled-execution.js';
import { Harness, LANES } from './support/harness.js';
import { sendOver, TRANSPORTS } from './support/transports.js';

/** Past the fast lane's warm-up: the last runs are compiled where anything is. */
const RUNS = WARM_UP_RUNS + 4;

const METADATA = { if: { plan: 'pro' }, then: 'seats', else: null };
const PAYLOAD = { then: { deep: [1, 2] } };
const EVENT_DATA = { then: 0 };

describe.each(LANES)('JSON holding a then (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
    const record = makeExecution({ id: 'ex_then_1', status: 'RUNNING', eventCount: 2 });
    record.execution.clientSafeMetadata = METADATA;
    record.execution.requestPayload = PAYLOAD;
    record.events[0]!.data = EVENT_DATA;
    harness.upstream.put(record);
    // Ended, so a watch of it ends after its first update.
    const ended = makeExecution({ id: 'ex_then_2', status: 'WORKFLOW_SUCCEEDED', eventCount: 1 });
    ended.execution.clientSafeMetadata = METADATA;
    harness.upstream.put(ended);
  });
  afterAll(() => harness.close());

  it.each([
    ['clientSafeMetadata', '{ execution(id: "ex_then_1") { clientSafeMetadata } }', { execution: { clientSafeMetadata: METADATA } }],
    ['requestPayload', '{ execution(id: "ex_then_1") { requestPayload } }', { execution: { requestPayload: PAYLOAD } }],
    ['an event\'s data', '{ execution(id: "ex_then_1") { events(first: 1) { edges { node { data } } } } }', { execution: { events: { edges: [{ node: { data: EVENT_DATA } }] } } }],
  ])('%s is served as upstream sent it, every run, no error logged', async (_what, query, data) => {
    for (let run = 1; run <= RUNS; run++) {
      const response = await harness.query(query);
      expect({ run, status: response.status, errors: response.errors, data: response.data }).toEqual({ run, status: 200, errors: undefined, data });
    }
    expect(harness.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it.each(TRANSPORTS)('is served over %s, a watch\'s first update included', async (transport) => {
    const query = /SSE|WebSocket/.test(transport)
      ? 'subscription { executionUpdates(id: "ex_then_2") { execution { clientSafeMetadata } } }'
      : '{ execution(id: "ex_then_2") { clientSafeMetadata } }';
    const { results } = await sendOver(harness, transport, query);
    const first = results[0]!;
    expect(first.errors).toBeUndefined();
    const data = first.data as { execution?: unknown; executionUpdates?: { execution: unknown } };
    expect(data.executionUpdates?.execution ?? data.execution).toEqual({ clientSafeMetadata: METADATA });
  });
});
