/**
 * An ID variable sent as a JSON number past 2^53 is a request error (BAD_REQUEST, 400), as a variable of the
 * wrong type is. JSON.parse has already rounded it (9007199254740993 reads as 9007199254740992), and graphql-js's
 * ID takes any integer as its text: the gateway asked upstream for another id than the client sent, and could
 * serve another execution under it. Checked on the values as parsed, before graphql-js coerces them; by hand,
 * since Pothos builds every schema with graphql-js's own ID (whose parseValue no plugin replaces).
 *
 * An Int variable given such a number is refused here too, with the same words: graphql-js would refuse it anyway, but naming the number as read as if it were the one
 * sent ('got invalid value 9007199254740992' for 9007199254740993), a value the client never sent.
 */
import {
  getNamedType,
  getOperationAST,
  GraphQLError,
  GraphQLID,
  GraphQLInt,
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
import { ErrorCode } from '../errors.js';

/** What to send instead, per scalar whose refusal would otherwise name a rounded number; the message's ending. */
const ADVICE = new Map<GraphQLInputType, string>([
  [GraphQLID, 'an ID cannot hold it exactly; send the id as a string.'],
  [GraphQLInt, 'an Int holds whole numbers from -2147483648 to 2147483647 only.'],
]);

/** An integer past 2^53: JSON.parse may have rounded it, and cannot tell. */
function isRounded(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value);
}

/** Where `value`, given for `type`, holds a rounded number where an ID or Int is taken: the first one found and what to send instead, or undefined. */
function roundedNumber(type: GraphQLInputType, value: unknown): { found: number; advice: string } | undefined {
  if (value === null || value === undefined) return undefined;
  if (isNonNullType(type)) return roundedNumber(type.ofType, value);
  if (isListType(type)) {
    // A single value given for a list is coerced as a list of one (GraphQL spec §3.11).
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const found = roundedNumber(type.ofType, item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  const advice = ADVICE.get(type);
  if (advice !== undefined) return isRounded(value) ? { found: value, advice } : undefined;
  if (isInputObjectType(type) && typeof value === 'object' && !Array.isArray(value)) {
    for (const field of Object.values(type.getFields())) {
      if (!Object.hasOwn(value, field.name)) continue;
      const found = roundedNumber(field.type, (value as Record<string, unknown>)[field.name]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Whether `type` is an ID or Int or reaches one (a list of them, an input object with such a field at any depth); else a variable of it can hold none. */
function holdsExactScalar(type: GraphQLInputType, seen = new Set<GraphQLInputType>()): boolean {
  const named = getNamedType(type);
  if (ADVICE.has(named)) return true;
  if (!isInputObjectType(named) || seen.has(named)) return false;
  seen.add(named);
  return Object.values(named.getFields()).some((field) => holdsExactScalar(field.type, seen));
}

/**
 * Whether `value` holds an integer past 2^53 anywhere: the only check every request pays (a status poll's
 * `{"id": "…"}` is one typeof). The walk of the operation's variable definitions against the schema, some forty
 * times dearer, runs only for the rare request this finds one in.
 */
function holdsUnsafeNumber(value: unknown): boolean {
  if (typeof value === 'number') return isRounded(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsUnsafeNumber);
  // for…in, not Object.values: no array made per object. JSON.parse's objects inherit no enumerable key.
  for (const key in value) if (holdsUnsafeNumber((value as Record<string, unknown>)[key])) return true;
  return false;
}

/**
 * The refusal of the operation's first ID or Int variable given an integer past 2^53 (BAD_REQUEST, 400), naming
 * the number as read and saying so; undefined when none is.
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
    const rounded = roundedNumber(type, (variables as Record<string, unknown>)[name]);
    if (rounded === undefined) continue;
    // `found` is the number as read, not as sent: said so, or the client is told of a value it never sent.
    const { found, advice } = rounded;
    const message = `Variable "$${name}" got an integer past 2^53, which JSON readers round (it was read as ${found}): ${advice}`;
    return { errors: [new GraphQLError(message, { nodes: definition, extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } } })] };
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
