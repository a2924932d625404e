/**
 * The envelope schema is compiled ahead of time (z.compile) for speed. Its
 * generated code must never accept a body that zod's runtime parser rejects,
 * nor reject one it accepts: fast-check damages valid envelopes one value at a
 * time and compares the two verdicts and outputs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { executionEnvelopeContract, executionEnvelopeSchema } from '../src/upstream/envelope.js';

type Json = unknown;

/** A valid envelope with a few events, as upstream sends it. */
function validEnvelope(): Record<string, unknown> {
  const { execution, events } = makeExecution({ id: 'ex_prop', status: 'workflow_running', eventCount: 3 });
  return JSON.parse(JSON.stringify({ code: 200, message: 'ok', requestId: 'req_1', data: { execution, events, message: 'ok' } })) as Record<string, unknown>;
}

/** Every path to a value in the envelope (objects and arrays included). */
function paths(value: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value) ? value.map((child, i) => paths(child, [...prefix, i])) : Object.entries(value).map(([key, child]) => paths(child, [...prefix, key]));
  return [prefix, ...children.flat()];
}

function replaceAt(root: Json, path: Array<string | number>, replacement: Json | typeof REMOVE): Json {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const copy = structuredClone(root) as Record<string | number, Json>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (replacement === REMOVE) delete parent[last];
  else parent[last] = replacement;
  return copy;
}

const REMOVE = Symbol('remove');

/** Values that sit near the contract's edges: timestamps, empty and odd strings, numbers, nulls. */
const nearMiss = fc.oneof(
  fc.constantFrom<Json>(null, undefined, '', 0, 1.5, -1, 200, '200', true, [], {}, 'x'),
  fc.constantFrom<Json>('2026-03-01T12:00:00.000Z', '2026-03-01T12:00:00Z', '2026-03-01T12:00:00+02:00', '2026-03-01 12:00:00', '2026-02-30T12:00:00Z', '2026-03-01T24:00:00Z', '2026-03-01T12:00:00.000'),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.dictionary(fc.string(), fc.jsonValue()),
  fc.array(fc.jsonValue(), { maxLength: 3 }),
);

describe('the compiled envelope schema agrees with zod’s runtime parser', () => {
  const base = validEnvelope();
  const allPaths = paths(base);

  it('accepts the valid envelope with the same output', () => {
    expect(executionEnvelopeSchema.parse(base)).toEqual(executionEnvelopeContract.parse(base));
  });

  it('gives the same verdict and output for any single damaged value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...allPaths), fc.oneof(nearMiss, fc.constant<typeof REMOVE>(REMOVE)), (path, replacement) => {
        const damaged = replaceAt(base, path, replacement);
        const compiled = executionEnvelopeSchema.safeParse(damaged);
        const runtime = executionEnvelopeContract.safeParse(damaged);
        expect(compiled.success).toBe(runtime.success);
        if (compiled.success && runtime.success) expect(compiled.data).toEqual(runtime.data);
        else expect(compiled.error?.issues).toEqual(runtime.error?.issues);
      }),
      { numRuns: 2_000 },
    );
  });
});
