/**
 * The validation cache (src/pipeline/validation-cache.ts): a document is
 * validated once per set of rules, on both lanes, and a request whose plugins
 * add a different rule set is validated with it, never answered from a result
 * made without its rules.
 */
import { GraphQLError, parse, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useValidationCache } from '../src/pipeline/validation-cache.js';
import { schema } from '../src/schema/index.js';
import { codes, Harness, LANES } from './support/harness.js';

const QUERY = '{ execution(id: "ex_demo_1") { id status } }';

/** Counts how often validation visited a document, with one rule kept for the process. */
function countingRule(counts: { runs: number }): ValidationRule {
  return function countingRule() {
    counts.runs++;
    return {};
  };
}

/** A rule made afresh for every request, under one name, as GraphQL Armor makes its rules. */
function freshRule(counts: { runs: number }): ValidationRule {
  return countingRule(counts);
}

/** Refuses every document, added only to requests that carry `x-strict: 1`. */
const strictRule: ValidationRule = function strictRule(context) {
  context.reportError(new GraphQLError('strict mode refuses this document', { extensions: { code: 'STRICT' } }));
  return {};
};

describe.each(LANES)('validation cache (%s lane)', (lane) => {
  const stable = { runs: 0 };
  const fresh = { runs: 0 };
  const kept = countingRule(stable);
  let harness: Harness;

  const plugins: Plugin[] = [
    {
      onValidate({ addValidationRule, context }) {
        addValidationRule(kept);
        addValidationRule(freshRule(fresh));
        const request = (context as { request?: Request }).request;
        if (request?.headers.get('x-strict') === '1') addValidationRule(strictRule);
      },
    },
  ];

  beforeAll(async () => {
    harness = await Harness.start({ lane, plugins });
  });
  afterAll(() => harness.close());

  it('validates a document once for the same rules, made afresh or not', async () => {
    const before = { stable: stable.runs, fresh: fresh.runs };
    for (let i = 0; i < 5; i++) {
      const response = await harness.query(QUERY);
      expect(response.errors).toBeUndefined();
    }
    expect(stable.runs - before.stable).toBe(1);
    expect(fresh.runs - before.fresh).toBe(1);
  });

  it('validates again with a rule set it has not seen, and keeps each result to its own rules', async () => {
    const strict = await harness.query(QUERY, undefined, { headers: { 'x-strict': '1' } });
    expect(strict.status).toBe(400);
    expect(codes(strict)).toEqual(['STRICT']);
    const plain = await harness.query(QUERY);
    expect(plain.errors).toBeUndefined();
    const strictAgain = await harness.query(QUERY, undefined, { headers: { 'x-strict': '1' } });
    expect(codes(strictAgain)).toEqual(['STRICT']);
  });

  it('keeps a refused document refused, validating it once', async () => {
    const invalid = '{ execution(id: "ex_demo_1") { noSuchField } }';
    const before = stable.runs;
    const first = await harness.query(invalid);
    const second = await harness.query(invalid);
    expect(first.status).toBe(400);
    expect(second.errors).toEqual(first.errors);
    expect(codes(first)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(stable.runs - before).toBe(1);
  });
});

describe('validation cache entries', () => {
  type OnValidate = (payload: unknown) => ((done: { result: readonly Error[] }) => void) | void;
  const onValidate = useValidationCache().onValidate as OnValidate;

  /** A rule that checks nothing, under `name`. */
  const named = (name: string): ValidationRule => Object.defineProperty(() => ({}), 'name', { value: name });

  /** Whether a request with `rules` for `document` is validated (true) or answered from the cache (false). */
  function validates(document: ReturnType<typeof parse>, rules: ValidationRule[]): boolean {
    let cached = false;
    const done = onValidate({ params: { schema, documentAST: document, rules }, setResult: () => (cached = true) });
    if (done) done({ result: [] });
    return !cached;
  }

  it('matches a rule set rule by rule: a rule made afresh by its name, another rule in the same place not at all', () => {
    const document = parse(QUERY);
    const kept = named('kept');
    expect(validates(document, [kept, named('armor')])).toBe(true);
    expect(validates(document, [kept, named('armor')])).toBe(false);
    expect(validates(document, [kept, named('another')])).toBe(true);
    expect(validates(document, [kept])).toBe(true);
  });

  it('keeps 8 rule sets per document, then drops the first kept', () => {
    const document = parse(QUERY);
    const sets = Array.from({ length: 9 }, (_, i) => [named(`set-${i}`)]);
    for (const rules of sets.slice(0, 8)) expect(validates(document, rules)).toBe(true);
    expect(validates(document, sets[0]!)).toBe(false);
    expect(validates(document, sets[8]!)).toBe(true);
    expect(validates(document, sets[1]!)).toBe(false);
    expect(validates(document, sets[0]!)).toBe(true);
  });

  it('keeps the rules as they were validated, whatever the request does with its list afterwards', () => {
    const document = parse(QUERY);
    const rules = [named('first')];
    expect(validates(document, rules)).toBe(true);
    rules.push(named('added later'));
    expect(validates(document, [named('first')])).toBe(false);
  });
});
