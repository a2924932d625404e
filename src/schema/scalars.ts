import { GraphQLError, GraphQLScalarType, Kind, print, type ValueNode } from 'graphql';
import type { Instant } from '../domain/fields.js';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from './builder.js';

/** UTC with milliseconds: the form upstream sends and the gateway serves. */
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A fraction with a digit other than 0 past its third: an instant inside a millisecond. */
const INSIDE_MS = /\.\d{3}0*[1-9]/;

/** The instant graphql-scalars parsed from `text` (as a Date, to the millisecond it is in). */
function instantOf(text: unknown, date: Date): Instant {
  return { ms: date.getTime(), insideMs: typeof text === 'string' && INSIDE_MS.test(text) };
}

/**
 * What `parse` read, or a refusal that names the value and the form to send instead. graphql-scalars' own
 * messages ("DateTime cannot represent an invalid date-time-string 2026-03-01.", "… non string or Date
 * type 1234", and "… type false" for a list literal) said neither: no GraphQL client sends a Date.
 */
function parsedOr(parse: () => Date, shown: () => string, node?: ValueNode): Date {
  try {
    return parse();
  } catch {
    throw new GraphQLError(
      `DateTime cannot represent ${shown()}: give an RFC 3339 date-time with seconds (00 to 59: no leap second) and \`Z\` or an offset, e.g. \`2026-03-01T12:07:00.000Z\` or \`2026-03-01T14:07:00+02:00\`.`,
      node ? { nodes: node } : {},
    );
  }
}

/**
 * graphql-scalars' DateTime, except that a string already in canonical form is
 * served as it is, and an input is read as an Instant (src/domain/fields.ts). Every DateTime the gateway serves was made by the timestamp
 * reader (src/domain/fields.ts), which checks the instant (month lengths, leap
 * years) and writes it in canonical form; graphql-scalars would only build a
 * Date to print the same string again, for every timestamp of every page
 * (README "Measured choices in the code"). test/timestamps.property.test.ts holds both to the same output.
 */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  parseValue: (value) => instantOf(value, parsedOr(() => DateTimeResolver.parseValue(value), () => JSON.stringify(value) ?? String(value))),
  parseLiteral: (ast) =>
    instantOf(ast.kind === Kind.STRING ? ast.value : undefined, parsedOr(() => DateTimeResolver.parseLiteral(ast, undefined), () => print(ast), ast)),
  // graphql-scalars gives DateTime no @specifiedBy. Every value served follows this spec (three fraction
  // digits, no -00:00); inputs are read more liberally (any RFC 3339 date-time but leap seconds), as the
  // description says, so a client that sends the spec's form is always understood.
  specifiedByURL: 'https://scalars.graphql.org/andimarek/date-time',
  serialize: (value) => (typeof value === 'string' && CANONICAL_INSTANT.test(value) ? value : DateTimeResolver.serialize(value)),
});

builder.addScalarType('DateTime', DateTimeScalar, {
  description:
    'An instant in time as an RFC 3339 string in UTC with milliseconds, e.g. `2026-03-01T12:07:00.000Z`: every value served has the form the `@specifiedBy` link gives. Inputs are read more liberally: any RFC 3339 date-time with seconds and `Z` or an offset (`2026-03-01T14:07:00+02:00`, any number of fraction digits, `-00:00`), but a leap second; a bare date, a time without an offset or a number is refused before anything runs, the whole request with no `data`: `GRAPHQL_VALIDATION_FAILED` when written in the document, `BAD_REQUEST` as a variable\'s value.',
});

/**
 * An object upstream sent holding a `then` (a workflow's `{ "if": …, "then": … }`), as the executor must not see it:
 * Yoga's executor (@graphql-tools/executor: `isPromise` is `value?.then != null`) took a resolver's such value for a
 * promise, and failed the field ("Unexpected error.", the value lost). Every transport writes it with JSON.stringify,
 * which writes what `toJSON` gives: the object as sent. Only an object's own top level: a `then` deeper in it is no
 * value's the executor reads.
 */
class HoldingThen {
  constructor(readonly value: object) {}

  toJSON(): object {
    return this.value;
  }
}

/** A JSON value as a resolver of a JSON field returns it: itself, or, an object holding a `then`, within HoldingThen. */
export function jsonValue(value: unknown): unknown {
  return typeof value === 'object' && value !== null && (value as { then?: unknown }).then != null ? new HoldingThen(value) : value;
}

/** graphql-scalars' JSON, specified by ECMA-404's current page rather than its old http PDF. */
const JsonScalar = new GraphQLScalarType({
  ...JSONResolver.toConfig(),
  specifiedByURL: 'https://ecma-international.org/publications-and-standards/standards/ecma-404/',
});

builder.addScalarType('JSON', JsonScalar, {
  description: 'Free-form JSON as upstream sent it (objects, arrays, strings, numbers, booleans or null).',
});
