/**
 * The bound on upstream's free-form JSON (src/domain/json-depth.ts): fast-check
 * checks that the iterative measure agrees with a recursive one for any JSON
 * value, and that upstreamJson writes what JSON.stringify writes wherever
 * JSON.stringify can; past that, it writes something JSON.parse reads back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nestedDeeperThan, upstreamJson } from '../src/domain/json-depth.js';

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  return 1 + Math.max(0, ...(Array.isArray(value) ? value : Object.values(value)).map(depthOf));
}

describe('nestedDeeperThan', () => {
  it('agrees with a recursive measure', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (value, limit) => {
        expect(nestedDeeperThan(value, limit)).toBe(depthOf(value) > limit);
      }),
    );
  });
});

describe('upstreamJson', () => {
  it('writes what JSON.stringify writes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(upstreamJson(value)).toBe(JSON.stringify(value));
      }),
    );
  });

  it('writes a value too deep for JSON.stringify, cut at 72 levels (MAX_JSON_DEPTH + 8)', () => {
    let value: unknown = 'bottom';
    for (let level = 0; level < 20_000; level++) value = { a: [value] };
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    const read = JSON.parse(upstreamJson(value)) as unknown;
    expect(depthOf(read)).toBe(72);
  });
});
