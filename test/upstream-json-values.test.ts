/**
 * UPSTREAM_MAX_JSON_VALUES: an upstream body is counted before it is parsed,
 * and one holding more JSON values than the setting allows is refused like one
 * over UPSTREAM_MAX_BODY_BYTES (UPSTREAM_BAD_RESPONSE, the setting named in the
 * log), never parsed: tens of millions of tiny values held the event loop for
 * over a minute. Over HTTP, with the fake upstream sending the bodies.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { holdsMoreJsonValues, jsonValueMarks } from '../src/upstream/json-values.js';
import { Harness, LANES } from './support/harness.js';

const MAX_VALUES = 1_000;
const ID = 'ex_values_1';

/** Upstream's 200 envelope for ID with `requestPayload` as given, as text. */
function envelope(requestPayload: unknown): string {
  const stored = makeExecution({ id: ID, status: 'workflow_running', eventCount: 3 });
  Object.assign(stored.execution, { requestPayload });
  return JSON.stringify({ code: 200, data: { events: stored.events, execution: stored.execution, message: 'ok' }, message: 'success', requestId: 'up-values' });
}

/** Commas and opening brackets outside strings, counted from the parsed value: each container's bracket, and a comma between each two of its members. */
function marksOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Object.values(value);
  return 1 + Math.max(0, children.length - 1) + children.reduce((sum: number, child) => sum + marksOf(child), 0);
}

describe('counting JSON values', () => {
  it('counts the commas and opening brackets outside strings, for any JSON text with any whitespace', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t'), (value, space) => {
        const text = JSON.stringify(value, null, space);
        expect(jsonValueMarks(text, Number.MAX_SAFE_INTEGER)).toBe(marksOf(JSON.parse(text)));
      }),
    );
  });

  it('skips strings of commas, brackets, quotes and backslashes', () => {
    for (const inside of ['a,b,[c],{d}', '\\"[,{', '\\\\', '\\\\\\",,', ',,,\\\\']) {
      const text = `["${inside}",{"${inside}":"${inside}"}]`;
      expect(jsonValueMarks(text, 100), text).toBe(marksOf(JSON.parse(text)));
    }
  });

  it('stops once past the bound, and leaves short text uncounted', () => {
    const text = `[${'0,'.repeat(10_000)}0]`;
    expect(jsonValueMarks(text, 50)).toBe(51);
    expect(holdsMoreJsonValues(text, 9_999)).toBe(true);
    expect(holdsMoreJsonValues(text, 10_001)).toBe(false);
    // Shorter than 1.5 characters per value allowed: no JSON text that short can pass the bound.
    expect(holdsMoreJsonValues('[[],[],[]]', 7)).toBe(false);
  });
});

describe.each(LANES)('UPSTREAM_MAX_JSON_VALUES on the %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { UPSTREAM_MAX_JSON_VALUES: String(MAX_VALUES) } });
  });
  afterAll(() => harness.close());

  const ONE = 'query($id: ID!) { execution(id: $id) { id status requestPayload } }';

  it('refuses a body of more values than allowed with UPSTREAM_BAD_RESPONSE, in one upstream call, and names the setting in the log', async () => {
    harness.upstream.reset();
    harness.upstream.setFault(ID, { kind: 'body', body: envelope(new Array(MAX_VALUES).fill(0)) });
    const logged = harness.logs.length;
    const response = await harness.query(ONE, { id: ID });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ execution: null });
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.message).toBe(
      "The executions API answered with a body too large for the gateway to read; asking again gets the same answer: tell the gateway's operators, whose log names the limit.",
    );
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE', upstreamStatus: 200 });
    expect(harness.upstream.requestsFor(ID)).toHaveLength(1);
    const warning = harness.logs.slice(logged).find((line) => line.executionId === ID && line.why !== undefined);
    expect(warning).toMatchObject({ why: `body holds more JSON values than UPSTREAM_MAX_JSON_VALUES (${MAX_VALUES})` });
  });

  it('serves a body within the bound, however many commas and brackets its strings hold', async () => {
    const payload = { list: new Array(MAX_VALUES / 2).fill(0), text: '[0,{},'.repeat(2_000) };
    harness.upstream.setFault(ID, { kind: 'body', body: envelope(payload) });
    const response = await harness.query(ONE, { id: ID });
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ execution: { id: ID, status: 'WORKFLOW_RUNNING', requestPayload: payload } });
  });

  it('still serves the execution beside one refused so', async () => {
    harness.upstream.setFault(ID, { kind: 'body', body: envelope(new Array(MAX_VALUES).fill({})) });
    const response = await harness.query('query($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids: ['ex_demo_1', ID] });
    expect(response.data).toEqual({ executions: [{ id: 'ex_demo_1' }, null] });
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.path).toEqual(['executions', 1]);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'UPSTREAM_BAD_RESPONSE' });
  });

  it('answers an error status whose body holds too many values by its status, without reading it', async () => {
    harness.upstream.setFault(ID, { kind: 'status', status: 404, body: JSON.stringify({ code: 404, data: new Array(MAX_VALUES).fill([]), requestId: 'up-404' }), headers: { 'x-request-id': '' } });
    const response = await harness.query(ONE, { id: ID });
    expect(response.data).toEqual({ execution: null });
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND' });
    // Its request id is in the body, which was not parsed.
    expect(response.errors![0]!.extensions!.upstreamRequestId).toBeUndefined();
  });
});
