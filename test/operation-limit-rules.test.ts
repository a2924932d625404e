/**
 * The operation limits as validation rules (src/pipeline/operation-limits.ts), on a schema of their own: the
 * cost rule stays quiet beside graphql-js's "Int cannot represent" for a literal past 32 bits in an Int
 * position (argument, list item, variable default, before or after the operation), and only there: a Float
 * takes such a literal, and that document is still held to the cost limit.
 */
import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { OPERATION_LIMIT_RULES, OPERATION_LIMITS } from '../src/pipeline/operation-limits.js';

const schema = buildSchema(`
  type Query { items(first: Int, weight: Float, sizes: [Int!]): [Item!]! }
  type Item { a: Int, b: Int, c: Int }
`);

function messages(source: string): string[] {
  return validate(schema, parse(source), [...specifiedRules, ...OPERATION_LIMIT_RULES]).map((error) => error.message);
}

const COST = new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`);
const INT = /^(?:Variable "\$n" of type "Int" has invalid default value: )?Int cannot represent non 32-bit signed integer value: 3000000000/;

describe('the cost limit beside an Int past 32 bits', () => {
  it('counts a costly page as ever', () => {
    expect(messages('{ items(first: 100000) { a b c } }')).toEqual([expect.stringMatching(COST)]);
  });

  it.each([
    ['as the page size', '{ items(first: 3000000000) { a b c } }'],
    ['in a list of Ints', '{ items(first: 100000, sizes: [1, 3000000000]) { a b c } }'],
    ['in another operation after the costly one', 'query { items(first: 100000) { ...F } } fragment F on Item { a b c } query Other { items(first: 3000000000) { a } }'],
  ])('gives graphql-js\'s error alone for one %s', (_where, source) => {
    const found = messages(source).filter((message) => !/must be named|anonymous operation/i.test(message));
    expect(found).toEqual([expect.stringMatching(INT)]);
  });

  it('holds a Float argument past 32 bits to the cost limit: a Float takes it', () => {
    expect(messages('{ items(first: 100000, weight: 3000000000) { a b c } }')).toEqual([expect.stringMatching(COST)]);
  });
});
