/**
 * repeatedMember finds the name a JSON body's top-level object gives twice (src/json-members.ts), which JSON.parse
 * would keep silently, the last winning. fast-check writes bodies from a list of members, so the reference is the
 * list itself: the first name, decoded, that the list holds a second time. The texts are written as clients might:
 * names escaped or not, any whitespace between tokens, values that nest objects with repeated names of their own,
 * and strings full of the characters the scan steers by (quotes, backslashes, colons, brackets).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { repeatedMember, writtenMemberCount } from '../src/json-members.js';

/** Characters the scan must not mistake for structure when inside a string. */
const tricky = fc.constantFrom('"', '\\', ':', ',', '{', '}', '[', ']', 'q', 'é', '\u2028', '😀', '\n');
const name = fc.oneof(
  // A few short names, so that repeats are common.
  fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'documentId', '', '__proto__', 'a'),
  fc.string({ unit: tricky, maxLength: 6 }),
  fc.string({ maxLength: 8 }),
);
const whitespace = fc.constantFrom('', ' ', '\n', '\t', '\r\n  ');

/** A name as JSON text, each character written as itself (JSON-escaped where it must be) or as a `\u` escape. */
const nameText = (value: string) =>
  fc.array(fc.boolean(), { minLength: value.length, maxLength: value.length }).map((escapes) =>
    [...Array(value.length).keys()]
      .map((index) => {
        const unit = value[index]!;
        return escapes[index] ? `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(unit).slice(1, -1);
      })
      .join(''),
  );

/** A value: any JSON, a string of structure characters, or a nested object that repeats a name itself. */
const valueText = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ unit: tricky, maxLength: 12 }).map((text) => JSON.stringify(text)),
  fc.tuple(name, fc.jsonValue()).map(([inner, value]) => `{${JSON.stringify(inner)}:${JSON.stringify(value)},${JSON.stringify(inner)}:[{"a":1,"a":2}]}`),
);

const member = fc.tuple(name, whitespace, whitespace, valueText).chain(([key, before, after, value]) =>
  nameText(key).map((text) => ({ key, text: `${before}"${text}"${after}:${after}${value}${before}` })),
);

/** The reference: the first name met a second time in the list, decoded. */
function firstRepeat(keys: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) return key;
    seen.add(key);
  }
  return undefined;
}

describe('repeatedMember', () => {
  it('agrees with the list of members a body was written from, repeats or not', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 8 }), whitespace, fc.boolean(), (members, around, byteOrderMark) => {
        const text = `${byteOrderMark ? '\ufeff' : ''}${around}{${members.map((each) => each.text).join(',')}}${around}`;
        const parsed = JSON.parse(text.replace(/^\ufeff/, '')) as object;
        const keys = members.map((each) => each.key);
        // Sanity: JSON.parse keeps one member a name, and the written count is the list's.
        expect(Object.keys(parsed)).toHaveLength(new Set(keys).size);
        expect(writtenMemberCount(text)).toBe(keys.length);
        expect(repeatedMember(text, Object.keys(parsed).length)).toBe(firstRepeat(keys));
      }),
      { numRuns: 2000 },
    );
  });

  it('finds no member in a list at the top (a batch), whatever its objects hold', () => {
    fc.assert(
      fc.property(fc.array(fc.array(member, { maxLength: 4 }), { maxLength: 4 }), (objects) => {
        const text = `[${objects.map((members) => `{${members.map((each) => each.text).join(',')}}`).join(',')}]`;
        const parsed = JSON.parse(text) as object;
        expect(writtenMemberCount(text)).toBe(0);
        expect(repeatedMember(text, Object.keys(parsed).length)).toBeUndefined();
      }),
    );
  });

  it('reads the trial\'s body: `query` twice, the second winning in JSON.parse', () => {
    const text = '{"query":"{ execution(id: \\"ex_demo_1\\") { id } }","query":"{ __typename }"}';
    expect((JSON.parse(text) as { query: string }).query).toBe('{ __typename }');
    expect(repeatedMember(text, 1)).toBe('query');
  });
});
