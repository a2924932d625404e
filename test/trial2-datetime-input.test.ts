/**
 * A DateTime input the gateway refuses (a filter's `createdAfter`/`createdBefore`) says which form
 * to send. graphql-scalars' own messages said only "DateTime cannot represent an invalid
 * date-time-string 2026-03-01." or "… non string or Date type 1234" (a JavaScript Date, which no
 * GraphQL client can send), and a list literal read "non string or Date type false".
 */
import { describe, expect, it } from 'vitest';
import { parse, validate, getVariableValues, type OperationDefinitionNode } from 'graphql';
import { schema } from '../src/schema/index.js';

const FORM = /give an RFC 3339 date-time with seconds \(00 to 59: no leap second\) and `Z` or an offset, e\.g\. `2026-03-01T12:07:00\.000Z`/;

function literalErrors(value: string): string[] {
  const document = parse(`{ execution(id: "ex_demo_1") { events(filter: { createdAfter: ${value} }) { totalCount } } }`);
  return validate(schema, document).map((error) => error.message);
}

function variableErrors(value: unknown): string[] {
  const document = parse('query($t: DateTime) { execution(id: "ex_demo_1") { events(filter: { createdAfter: $t }) { totalCount } } }');
  const operation = document.definitions[0] as OperationDefinitionNode;
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], { t: value });
  return (result.errors ?? []).map((error) => error.message);
}

describe('DateTime inputs refused say what to send', () => {
  it.each([['"2026-03-01"'], ['"2026-03-01T12:00:00"'], ['"2026-06-30T23:59:60Z"'], ['1234'], ['[1]'], ['{a: 1}'], ['true']])('the literal %s', (value) => {
    const [message, ...rest] = literalErrors(value);
    expect(rest).toEqual([]);
    expect(message).toMatch(FORM);
    expect(message).toContain(value);
    expect(message).not.toMatch(/Date type|false/);
  });

  it.each([['2026-03-01'], ['2026-03-01T12:00:00'], [1234], [[1]], [{ a: 1 }]])('the variable %j', (value) => {
    const [message, ...rest] = variableErrors(value);
    expect(rest).toEqual([]);
    expect(message).toMatch(FORM);
    expect(message).toContain(JSON.stringify(value));
    expect(message).not.toMatch(/Date type/);
  });

  it('accepted forms still parse, to the instant they name', () => {
    expect(literalErrors('"2026-03-01T14:07:00+02:00"')).toEqual([]);
    expect(variableErrors('2026-03-01T12:07:00.000Z')).toEqual([]);
    expect(variableErrors('2026-03-01T12:07:00.0001Z')).toEqual([]);
  });
});
