/**
 * The bound on upstream's free-form JSON (src/domain/json-depth.ts): fast-check
 * checks that the iterative measure agrees with a recursive one for any JSON
 * value, and that upstreamJson writes what JSON.stringify writes wherever
 * JSON.stringify can; past that, it writes something JSON.parse reads back.
 * jsonSizeWithin measures what JSON.stringify writes, escapes and numbers in full
 * (a result's bound on upstream values counts by it: src/request/scope.ts `handOut`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparedJson, COMPARED_DEPTH, jsonSizeWithin, jsonTextLength, nestedDeeperThan, storedJson, upstreamJson } from '../src/domain/json-depth.js';

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

/** Members and elements in `value`, at every level: jsonSizeWithin counts a comma after each. */
function membersOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.length + children.reduce((sum: number, child) => sum + membersOf(child), 0);
}

describe('jsonSizeWithin', () => {
  it('measures the JSON text JSON.stringify writes, within a comma per member, any UTF-16 text included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: 'binary' }), (value) => {
        const written = JSON.stringify(value).length;
        const size = jsonSizeWithin(value, 64);
        expect(size).toBeGreaterThanOrEqual(written);
        expect(size).toBeLessThanOrEqual(written + membersOf(value));
      }),
    );
  });

  it('counts escapes in full and numbers as written', () => {
    for (const text of ['\u0001'.repeat(10), '"\\\n\t', '\ud83d\ude00', '\ud83d', 'x\udc00', 'plain é']) {
      expect(jsonTextLength(text)).toBe(JSON.stringify(text).length);
    }
    expect(jsonSizeWithin([1e20, 0, true, null, false], 64)).toBe(JSON.stringify([1e20, 0, true, null, false]).length + 1);
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

describe('comparedJson', () => {
  /** Calls `run` `frames` calls further down the stack. */
  const below = <T>(frames: number, run: () => T): T => (frames === 0 ? run() : below(frames - 1, run));

  it('writes what JSON.stringify writes for a value that does not nest past COMPARED_DEPTH, ±Infinity apart from null, -0 from 0', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), (value) => {
        // Through JSON.stringify once, -0 reads back as 0: comparedJson writes -0 apart (below).
        const withoutMinusZero: unknown = JSON.parse(JSON.stringify(value));
        expect(comparedJson(withoutMinusZero)).toBe(JSON.stringify(withoutMinusZero));
      }),
    );
    expect(comparedJson({ a: [-0] })).not.toBe(comparedJson({ a: [0] }));
    expect(comparedJson({ a: [Infinity] })).not.toBe(comparedJson({ a: [null] }));
    expect(comparedJson({ a: [Infinity] })).not.toBe(comparedJson({ a: [-Infinity] }));
  });

  it('gives a value the same text from any stack, and its copy through storedJson the same text as it', () => {
    // JSON.stringify's own limit depends on the stack: a value some thousands of levels deep was written whole
    // from one call and cut from a deeper one.
    for (const levels of [COMPARED_DEPTH + 1, 3_000, 4_000, 20_000]) {
      let value: unknown = 1e400;
      for (let level = 0; level < levels; level++) value = { a: [value] };
      const texts = new Set([0, 1_000, 5_000].map((frames) => below(frames, () => comparedJson({ field: value }))));
      expect(texts.size, `${levels} levels`).toBe(1);
      const copy = (JSON.parse(storedJson({ set: { field: value } })) as { set: unknown }).set;
      expect(comparedJson(copy), `${levels} levels`).toBe([...texts][0]);
    }
  });
});
