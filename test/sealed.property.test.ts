/**
 * Values in Redis are sealed to their key (src/shared-state/redis-store.ts `sealed`): whoever can write to Redis
 * writes any text there, and reading it must never throw, nor yield anything a replica with the secret did not seal
 * under that very key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sealed, unsealed } from '../src/shared-state/redis-store.js';

const SECRET = 'a-test-secret-of-at-least-32-characters';
/** A seal is 43 characters of base64url; the text under test is built around that length. */
const SEAL_LENGTH = 43;

const anyText = fc.string({ unit: 'grapheme', maxLength: 120 });
/** One UTF-16 code unit, lone surrogates included: 1 to 3 bytes in UTF-8. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
/** Texts shaped like a sealed value: 43 code units of anything (non-ASCII ones make the seal longer in bytes), a dot, JSON. */
const sealShaped = fc
  .tuple(fc.string({ unit: codeUnit, minLength: SEAL_LENGTH, maxLength: SEAL_LENGTH }), fc.json())
  .map(([seal, json]) => `${seal}.${json}`);

describe('a sealed value read back', () => {
  it('round-trips under its own key and secret', () => {
    fc.assert(
      fc.property(fc.string(), fc.json(), (key, json) => {
        expect(unsealed(SECRET, key, sealed(SECRET, key, json))).toBe(json);
      }),
    );
  });

  it('any text a writer to Redis could plant reads as no value, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.oneof(anyText, sealShaped), (key, text) => {
        expect(unsealed(SECRET, key, text)).toBeUndefined();
      }),
    );
  });

  it('a seal made of characters of several bytes each (as long in characters, longer in bytes) is no value', () => {
    const json = '{"id":"ex_1"}';
    const text = `${'é'.repeat(SEAL_LENGTH)}.${json}`;
    expect(text.charCodeAt(SEAL_LENGTH)).toBe(0x2e);
    expect(unsealed(SECRET, 'k', text)).toBeUndefined();
  });

  it('a value sealed under another key, or with another secret, is no value', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.json(), (key, other, json) => {
        fc.pre(key !== other);
        expect(unsealed(SECRET, key, sealed(SECRET, other, json))).toBeUndefined();
        expect(unsealed(SECRET, key, sealed('another-secret-of-at-least-32-chars!', key, json))).toBeUndefined();
      }),
    );
  });
});
