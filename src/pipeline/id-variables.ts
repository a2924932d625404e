/**
 * An ID variable sent as a JSON number past 2^53 is a request error (BAD_REQUEST, 400), as a variable of the
 * wrong type is. JSON.parse has already rounded it (9007199254740993 reads as 9007199254740992), and graphql-js's
 * ID takes any integer as its text: the gateway asked upstream for another id than the client sent, and could
 * serve another execution under it. Checked on the values as parsed, before graphql-js coerces them; by hand,
 * since Pothos builds every schema with graphql-js's own ID (whose parseValue no plugin replaces).
 *
 * An Int variable given such a number is refused here too, with the same words: graphql-js would refuse it anyway,
 * but naming the number as read as if it were the one sent ('got invalid value 9007199254740992' for
 * 9007199254740993), a value the client never sent. So is one given where a string is taken (a String, a DateTime,
 * an enum), at any depth: the message then names where, as graphql-js's does.
 *
 * A number past a double's range (`1e400`) is refused the same way for those types and for a Float: JSON.parse
 * reads it as ±Infinity, and graphql-js told the client it 'got invalid value Infinity', which it never sent.
 */
import {
  getNamedType,
  getOperationAST,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  GraphQLString,
  isEnumType,
  isScalarType,
  isInputObjectType,
  isListType,
  isNonNullType,
  typeFromAST,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { pastDoubleVariable, roundedNumberVariable } from '../errors.js';
import { DateTimeScalar } from '../schema/scalars.js';

/** What to send instead, per scalar whose refusal would otherwise name a rounded number; the message's ending. */
const ADVICE = new Map<GraphQLInputType, string>([
  [GraphQLID, 'an ID cannot hold it exactly; send the id as a string.'],
  [GraphQLInt, 'an Int holds whole numbers from -2147483648 to 2147483647 only.'],
]);

/** What to send instead where a rounded number is refused for `type`: ID and Int their own, a number where a string is taken (a String, a DateTime, an enum) one; undefined for any other type. */
function adviceFor(type: GraphQLInputType): string | undefined {
  const own = ADVICE.get(type);
  if (own !== undefined) return own;
  // Not Float (a double is what it takes), nor a scalar that may take numbers (JSON). DateTime by name: Pothos
  // builds the schema's own scalar from DateTimeScalar's config.
  const takesString = type === GraphQLString || isEnumType(type) || (isScalarType(type) && type.name === DateTimeScalar.name);
  return takesString ? `${type.name} takes no number: send a string.` : undefined;
}

/** What a Float given a number past a double's range is told to send instead. */
const FLOAT_ADVICE = 'a Float holds numbers up to about ±1.8e308 only.';

/** What to send instead where a number past a double's range is refused for `type`: `adviceFor`'s, and a Float's own. */
function pastDoubleAdviceFor(type: GraphQLInputType): string | undefined {
  return type === GraphQLFloat ? FLOAT_ADVICE : adviceFor(type);
}

/** An integer past 2^53: JSON.parse may have rounded it, and cannot tell. */
function isRounded(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
}

/** A number past a double's range (`1e400`), which JSON.parse reads as ±Infinity (it makes no NaN). */
function isPastDouble(value: unknown): value is number {
  return typeof value === 'number' && !Number.isFinite(value);
}

/**
 * Where `value`, given for `type` at `path` (graphql-js's form: `f.eventTypes[0]`), holds a rounded number where
 * one of the types `adviceFor` names is taken, or a number past a double's range where one of them or a Float is:
 * the first one found, its path and what to send instead, or undefined.
 */
function roundedNumber(type: GraphQLInputType, value: unknown, path: string): { found: number; path: string; advice: string } | undefined {
  if (value === null || value === undefined) return undefined;
  if (isNonNullType(type)) return roundedNumber(type.ofType, value, path);
  if (isListType(type)) {
    // A single value given for a list is coerced as a list of one (GraphQL spec §3.11).
    if (!Array.isArray(value)) return roundedNumber(type.ofType, value, path);
    for (const [index, item] of value.entries()) {
      const found = roundedNumber(type.ofType, item, `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (isPastDouble(value)) {
    const advice = pastDoubleAdviceFor(type);
    return advice === undefined ? undefined : { found: value, path, advice };
  }
  const advice = adviceFor(type);
  if (advice !== undefined) return isRounded(value) ? { found: value, path, advice } : undefined;
  if (isInputObjectType(type) && typeof value === 'object' && !Array.isArray(value)) {
    for (const field of Object.values(type.getFields())) {
      if (!Object.hasOwn(value, field.name)) continue;
      const found = roundedNumber(field.type, (value as Record<string, unknown>)[field.name], `${path}.${field.name}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Whether `type` is one `pastDoubleAdviceFor` names or reaches one (a list of them, an input object with such a field at any depth); else a variable of it can hold none. */
function holdsExactScalar(type: GraphQLInputType, seen = new Set<GraphQLInputType>()): boolean {
  const named = getNamedType(type);
  if (pastDoubleAdviceFor(named) !== undefined) return true;
  if (!isInputObjectType(named) || seen.has(named)) return false;
  seen.add(named);
  return Object.values(named.getFields()).some((field) => holdsExactScalar(field.type, seen));
}

/**
 * Whether `value` holds an integer past 2^53 or a number past a double's range anywhere: the only check every
 * request pays (a status poll's `{"id": "…"}` is one typeof). The walk of the operation's variable definitions
 * against the schema, some forty times dearer, runs only for the rare request this finds one in.
 */
function holdsUnsafeNumber(value: unknown): boolean {
  if (typeof value === 'number') return isRounded(value) || isPastDouble(value);
  if (typeof value !== 'object' || value === null) return false;
  // Iterative: a walk that recursed ran out of stack on 5,000 nested arrays (10 KB of a 64 KiB body, in a variable
  // the operation need not even declare), and every such request was a masked 500.
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'number') {
      if (isRounded(next) || isPastDouble(next)) return true;
    } else if (typeof next === 'object' && next !== null) {
      if (Array.isArray(next)) for (const item of next) pending.push(item);
      // for…in, not Object.values: no array made per object. JSON.parse's objects inherit no enumerable key.
      else for (const key in next) pending.push((next as Record<string, unknown>)[key]);
    }
  }
  return false;
}

/**
 * The refusal of the operation's first variable given an integer past 2^53 where an ID, an Int or a string is
 * taken, or a number past a double's range where one of them or a Float is (BAD_REQUEST, 400), saying what was
 * sent and how it was read; undefined when none is.
 */
export function roundedIdError(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: unknown): ExecutionResult | undefined {
  if (typeof variables !== 'object' || variables === null || !holdsUnsafeNumber(variables)) return undefined;
  const definitions = getOperationAST(document, operationName)?.variableDefinitions;
  if (!definitions?.length) return undefined;
  for (const definition of definitions) {
    const name = definition.variable.name.value;
    if (!Object.hasOwn(variables, name)) continue;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    if (!type || !holdsExactScalar(type)) continue;
    const rounded = roundedNumber(type, (variables as Record<string, unknown>)[name], name);
    if (rounded === undefined) continue;
    const refusal = isPastDouble(rounded.found) ? pastDoubleVariable : roundedNumberVariable;
    return { errors: [refusal(name, rounded.path, rounded.found, rounded.advice, definition)] };
  }
  return undefined;
}

export function useExactIdVariables(): Plugin {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = roundedIdError(args.schema, args.document, args.operationName, args.variableValues);
      if (refused) setResultAndStopExecution(refused);
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = roundedIdError(args.schema, args.document, args.operationName, args.variableValues);
      if (refused) setResultAndStopExecution(refused);
    },
  };
}
