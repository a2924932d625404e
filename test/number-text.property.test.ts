/**
 * Numbers upstream sends where the gateway serves text (ids, text fields, the
 * envelope's `requestId`) come through as their JSON text: -0 as "-0", which
 * String and JSON.stringify write as "0". fast-check checks that every finite
 * double, -0 included, reads back from its text as itself, and from the copies
 * the gateway reads again (storedJson: Redis; comparedJson: the live change
 * check) as itself; then the gateway serves a body holding -0 over HTTP.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { eventIdOf } from '../src/domain/execution.js';
import { readText } from '../src/domain/fields.js';
import { comparedJson, storedJson } from '../src/domain/json-depth.js';
import { numberText } from '../src/domain/number-text.js';
import { upstreamRequestIdOf } from '../src/upstream/envelope.js';
import { Harness, LANES } from './support/harness.js';

/** Finite doubles, with -0 and 0 drawn often: fc.double draws them rarely among the rest. */
const finite = fc.oneof(fc.constantFrom(-0, 0), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer());

describe('numberText', () => {
  it('writes every finite double as JSON text that reads back as that double, -0 included', () => {
    fc.assert(
      fc.property(finite, (value) => {
        const text = numberText(value);
        expect(Object.is(JSON.parse(text), value)).toBe(true);
        // Where JSON.stringify writes the number as itself, the text is its text.
        if (!Object.is(value, -0)) expect(text).toBe(JSON.stringify(value));
      }),
    );
    expect(numberText(-0)).toBe('-0');
  });

  it('is what every reader of a number as text serves', () => {
    fc.assert(
      fc.property(finite, (value) => {
        const text = numberText(value);
        expect(readText(value)).toBe(text);
        expect(eventIdOf({ id: value }, 3)).toBe(text);
        if (Number.isSafeInteger(value)) expect(upstreamRequestIdOf(value)).toBe(text);
      }),
    );
  });

  it('survives the copies read again: storedJson reads back as the same number, comparedJson tells -0 from 0', () => {
    fc.assert(
      fc.property(finite, (value) => {
        const copy = JSON.parse(storedJson({ source: { statusReason: value }, events: [{ id: value }] })) as { source: { statusReason: number }; events: [{ id: number }] };
        expect(Object.is(copy.source.statusReason, value)).toBe(true);
        expect(Object.is(copy.events[0].id, value)).toBe(true);
        expect(comparedJson({ a: [value] }) === comparedJson({ a: [0] })).toBe(Object.is(value, 0));
      }),
    );
  });
});

describe.each(LANES)('a -0 from upstream, served as text (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it('the envelope\'s requestId -0 names the response as "-0"', async () => {
    // No x-request-id header: the envelope's requestId then names the response.
    harness.upstream.setFault('ex_minus_zero', { kind: 'status', status: 404, body: '{"code":404,"message":"execution not found","requestId":-0}', headers: { 'x-request-id': '' } });
    const response = await harness.query('{ execution(id: "ex_minus_zero") { id } }');
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamRequestId: '-0' });
  });

  it('a text field and an event id sent as -0 are served as "-0"', async () => {
    const { execution, events } = makeExecution({ id: 'ex_minus_zero_2', status: 'completed', eventCount: 1 });
    const body = JSON.stringify({ code: 200, message: 'success', data: { execution: { ...execution, statusReason: '@@' }, events: [{ ...events[0], id: '@@' }] } }).replaceAll('"@@"', '-0');
    harness.upstream.setFault('ex_minus_zero_2', { kind: 'body', body });
    const response = await harness.query<{ execution: { statusReason: string; events: { nodes: Array<{ id: string }> } } }>(
      '{ execution(id: "ex_minus_zero_2") { statusReason events(first: 1) { nodes { id } } } }',
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.execution).toEqual({ statusReason: '-0', events: { nodes: [{ id: '-0' }] } });
  });
});
