/** textPrefix (src/text-prefix.ts): a bounded prefix that never ends in half a surrogate pair. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textPrefix } from '../src/text-prefix.js';

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;

describe('textPrefix', () => {
  it('is the text itself when short enough, else its longest prefix of at most max units that ends in no high surrogate', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme', maxLength: 80 })), fc.integer({ min: 1, max: 90 }), (text, max) => {
        const kept = textPrefix(text, max);
        expect(text.startsWith(kept)).toBe(true);
        if (text.length <= max) return void expect(kept).toBe(text);
        expect(kept.length === max || kept.length === max - 1).toBe(true);
        // One fewer only to keep a pair whole.
        expect(kept.length === max - 1).toBe(isHigh(text.charCodeAt(max - 1)));
        expect(kept.length > 0 && isHigh(kept.charCodeAt(kept.length - 1))).toBe(false);
      }),
      { numRuns: 2_000 },
    );
    expect(textPrefix(`${'a'.repeat(9)}😀`, 10)).toBe('a'.repeat(9));
    expect(textPrefix(`${'a'.repeat(8)}😀`, 10)).toBe(`${'a'.repeat(8)}😀`);
  });
});
