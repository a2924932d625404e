/**
 * The spec's Single Root Field rule as the gateway validates it
 * (src/pipeline/subscription-root.ts through SPEC_RULES): a subscription's root
 * field may not be conditional, wherever the `@skip` or `@include` that decides
 * it sits (on the field, on an inline fragment, inside a spread fragment), and
 * otherwise graphql-js 16's rule still holds (one root field, no introspection
 * field). Queries are not held to it.
 */
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { SPEC_RULES } from '../src/pipeline/spec-rules.js';
import { schema } from '../src/schema/index.js';

const FIELD = 'executionUpdates(id: "ex_demo_1") { isFinal }';

function messages(document: string): string[] {
  return validate(schema, parse(document), SPEC_RULES).map((error) => error.message);
}

const conditional = (name: string) => `${name} must not use \`@skip\` or \`@include\` directives in the top level selection.`;

describe('a subscription root field', () => {
  it('unconditional, alone, is valid', () => {
    expect(messages(`subscription Watch { ${FIELD} }`)).toEqual([]);
  });

  it.each([
    ['@include on the field', `subscription Watch($on: Boolean!) { executionUpdates(id: "ex_demo_1") @include(if: $on) { isFinal } }`],
    ['@skip on an inline fragment', `subscription Watch { ... @skip(if: false) { ${FIELD} } }`],
    ['@include inside an inline fragment', `subscription Watch { ... on Subscription { executionUpdates(id: "ex_demo_1") @include(if: true) { isFinal } } }`],
    ['@skip inside a spread fragment', `subscription Watch { ...Root } fragment Root on Subscription { executionUpdates(id: "ex_demo_1") @skip(if: false) { isFinal } }`],
  ])('is refused when conditional: %s, naming the subscription', (_name, document) => {
    expect(messages(document)).toEqual([conditional('Subscription "Watch"')]);
  });

  it('names an anonymous subscription as such', () => {
    expect(messages(`subscription { ${FIELD.replace(' {', ' @skip(if: false) {')} }`)).toEqual([conditional('Anonymous Subscription')]);
  });

  it('still gets graphql-js 16\'s rule when unconditional: one root field, no introspection field', () => {
    expect(messages(`subscription Two { a: ${FIELD} b: ${FIELD} }`)).toEqual(['Subscription "Two" must select only one top level field.']);
    expect(messages('subscription Meta { __typename }')).toEqual(['Subscription "Meta" must not select an introspection top level field.']);
  });

  it('ends on a fragment that spreads itself, which the cycle rule reports', () => {
    const found = messages(`subscription Loop { ...Root } fragment Root on Subscription { ...Root ${FIELD} }`);
    expect(found).toEqual(['Cannot spread fragment "Root" within itself.']);
  });

  it('holds subscriptions only: a query may skip its root fields', () => {
    expect(messages('query Maybe($on: Boolean!) { execution(id: "ex_demo_1") @include(if: $on) { id } }')).toEqual([]);
  });
});
