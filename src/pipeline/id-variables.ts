/**
 * An ID variable sent as a JSON number past 2^53 is a request error (BAD_REQUEST, 400), as a variable of the
 * wrong type is. JSON.parse has already rounded it (9007199254740993 reads as 9007199254740992), and graphql-js's
 * ID takes any integer as its text: the gateway asked upstream for another id than the client sent, and could
 * serve another execution under it. Checked on the values as parsed, before graphql-js coerces them; by hand,
 * since Pothos builds every schema with graphql-js's own ID (whose parseValue no plugin replaces).
 */
import {
  getNamedType,
  getOperationAST,
  GraphQLID,
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
import { roundedIdVariable } from '../errors.js';

/** Whether `value`, given for `type`, holds an integer past 2^53 where an ID is taken: the first one found, or undefined. */
function roundedId(type: GraphQLInputType, value: unknown): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (isNonNullType(type)) return roundedId(type.ofType, value);
  if (isListType(type)) {
    // A single value given for a list is coerced as a list of one (GraphQL spec §3.11).
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      const found = roundedId(type.ofType, item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (type === GraphQLID) return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value) ? value : undefined;
  if (isInputObjectType(type) && typeof value === 'object' && !Array.isArray(value)) {
    for (const field of Object.values(type.getFields())) {
      if (!Object.hasOwn(value, field.name)) continue;
      const found = roundedId(field.type, (value as Record<string, unknown>)[field.name]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Whether `type` is an ID or reaches one (a list of IDs, an input object with an ID field at any depth); else a variable of it can hold none. */
function holdsId(type: GraphQLInputType, seen = new Set<GraphQLInputType>()): boolean {
  const named = getNamedType(type);
  if (named === GraphQLID) return true;
  if (!isInputObjectType(named) || seen.has(named)) return false;
  seen.add(named);
  return Object.values(named.getFields()).some((field) => holdsId(field.type, seen));
}

/**
 * Whether `value` holds an integer past 2^53 anywhere: the only check every request pays (a status poll's
 * `{"id": "…"}` is one typeof). The walk of the operation's variable definitions against the schema, some forty
 * times dearer, runs only for the rare request this finds one in.
 */
function holdsUnsafeNumber(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isSafeInteger(value) && Number.isInteger(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsUnsafeNumber);
  // for…in, not Object.values: no array made per object. JSON.parse's objects inherit no enumerable key.
  for (const key in value) if (holdsUnsafeNumber((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** The refusal of the operation's first ID variable given an integer past 2^53 (BAD_REQUEST, 400), naming the number as read; undefined when none is. */
export function roundedIdError(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: unknown): ExecutionResult | undefined {
  if (typeof variables !== 'object' || variables === null || !holdsUnsafeNumber(variables)) return undefined;
  const definitions = getOperationAST(document, operationName)?.variableDefinitions;
  if (!definitions?.length) return undefined;
  for (const definition of definitions) {
    const name = definition.variable.name.value;
    if (!Object.hasOwn(variables, name)) continue;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    if (!type || !holdsId(type)) continue;
    const found = roundedId(type, (variables as Record<string, unknown>)[name]);
    if (found === undefined) continue;
    return { errors: [roundedIdVariable(name, found, definition)] };
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
