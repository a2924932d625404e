/**
 * Operations run compiled by graphql-jit, swapped in through envelop's
 * `setExecuteFn` as @envelop/graphql-jit does, so every other plugin's
 * onExecute and onExecuteDone still run around it.
 *
 * Hand-written rather than @envelop/graphql-jit (11.2.1) because it keys
 * compiled code on the document alone, so a document holding two operations
 * runs the first one compiled for either operation name. Here compiled code is
 * kept per document and operation name, and what graphql-jit does differently
 * from graphql-js's execute is made the same, so the lanes answer alike:
 *
 * - variables are coerced by graphql-js first, and a request whose variables
 *   it refuses runs on graphql-js, which reports them (graphql-jit takes an
 *   array for an input object); except when every variable is an ID, String
 *   or Int sent as that scalar's `parseValue` returns it unchanged (`asSent`),
 *   where coercing could neither refuse nor change a value;
 * - an explicit null for a variable of nullable type used where a non-null
 *   value is required (`@skip(if: $s)` with `$s: Boolean = false`) runs on
 *   graphql-js, which reports it (graphql-jit treats it as not given);
 * - errors are made again as graphql-js makes them, located at their field
 *   nodes (./located-errors.ts), from graphql-jit's run: resolvers run once;
 * - documents graphql-jit answers otherwise run on graphql-js: any @skip or
 *   @include (graphql-jit merges fields and fragment spreads before it heeds
 *   them, so a spread skipped once is lost, and a field keeps the place of its
 *   skipped first appearance), and a non-null variable with a default (graphql-jit
 *   refuses it when the request leaves it out);
 * - a nullable variable with a default that the request leaves out is given
 *   its default as a client would send it (graphql-jit would put in the
 *   default's parsed value turned to JSON: a DateTime's Date becomes a string
 *   the resolver cannot read), so both lanes parse the same text the same way.
 *
 * - a document with a string literal in any argument, a field's or a
 *   directive's, at any depth of a list or input object: graphql-jit 0.8.9
 *   writes literal arguments into the code it compiles as JSON and then turns
 *   its own markers back into values by text replacement, so a string starting
 *   with its Date marker became code run on every request (anyone could run
 *   JavaScript in the gateway), and one equal to another marker became NaN or
 *   Infinity. Typed clients send values as variables, which are never compiled
 *   into code, and variable defaults are written as plain JSON: both still
 *   compile;
 * - a variable named as a property every plain object inherits (`$constructor`,
 *   `$toString`): graphql-jit reads a variable the request left out as
 *   `variables[name]`, and got Object's own function, which failed every run;
 * - a field aliased `__proto__`: graphql-jit writes leaves as an object
 *   literal, where that key sets the prototype, so the field was dropped.
 *
 * An operation is compiled only once it is warm and small: after WARM_UP_RUNS
 * runs on graphql-js, and when it resolves at most MAX_COMPILED_FIELDS fields
 * with its fragments expanded. graphql-jit compiled every new document on its
 * first run, and its compile time grows with the expanded fields: a short
 * text of aliases spreading a fragment held the event loop many times longer
 * than graphql-js takes to answer it, anew for every text, and anyone, without
 * a token, could send such texts with a new operation name each time.
 *
 * Introspection (`__schema`, `__type`) runs on graphql-js too, for what it
 * costs: the operation limits hold it to depth and aliases but not to the
 * cost limit, and graphql-jit's compile time grows with the document with its
 * fragments expanded, so a short text of aliased introspection fragments held
 * the event loop many times longer than graphql-js takes to answer it, anew
 * for every text. Tools send it once per session: compiling it gains nothing.
 */
import {
  BREAK,
  getOperationAST,
  getVariableValues,
  GraphQLID,
  GraphQLInt,
  GraphQLString,
  isNonNullType,
  isScalarType,
  Kind,
  typeFromAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLError,
  type GraphQLScalarType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValueNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { isPromise, type Plugin } from 'graphql-yoga';
import { asExecuteError } from './located-errors.js';

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult> | AsyncIterable<ExecutionResult>;

/** An operation compiled, with what running it the way graphql-js does needs. */
interface Compiled {
  query: CompiledQuery;
  operation: OperationDefinitionNode;
  fragments: Record<string, FragmentDefinitionNode>;
  /** Variables of nullable type used where a non-null value is required: null in one runs on graphql-js. */
  nullableInNonNull: string[];
  /** Nullable variables with a default, each with that default as a client would send it. */
  defaults: [name: string, value: unknown][];
  /** Each variable with the test of a value its built-in scalar takes as it is, when every variable has one (else null). */
  asSent: [name: string, unchanged: (value: unknown) => boolean][] | null;
}

/** The largest value graphql-js's Int takes (2^31 - 1; its GRAPHQL_MAX_INT is not exported). */
const MAX_INT = 2_147_483_647;

/**
 * Values each built-in scalar's `parseValue` (graphql-js 16, type/scalars) returns unchanged
 * and without an error: coercing them is the identity. ID turns an integer into text, so only
 * text passes here. Float is left out, being no hot request's variable, and Boolean, which
 * this schema takes only in @skip and @include, whose documents run on graphql-js.
 */
const UNCHANGED = new Map<GraphQLScalarType, (value: unknown) => boolean>([
  [GraphQLID, (value) => typeof value === 'string'],
  [GraphQLString, (value) => typeof value === 'string'],
  [GraphQLInt, (value) => Number.isInteger(value) && (value as number) <= MAX_INT && (value as number) >= -MAX_INT - 1],
]);

/** `asSent` for an operation: when every variable's type is one of UNCHANGED's scalars, non-null or not (no list, no input object). */
function asSentTests(schema: GraphQLSchema, operation: OperationDefinitionNode): Compiled['asSent'] {
  const tests: NonNullable<Compiled['asSent']> = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const type = typeFromAST(schema, definition.type);
    const scalar = type && (isNonNullType(type) ? type.ofType : type);
    const unchanged = scalar && isScalarType(scalar) ? UNCHANGED.get(scalar) : undefined;
    if (!unchanged) return null;
    tests.push([definition.variable.name.value, unchanged]);
  }
  return tests;
}

/** Whether the request sent every variable, each a value its scalar takes as it is (see UNCHANGED). */
function allAsSent(raw: Readonly<Record<string, unknown>>, tests: NonNullable<Compiled['asSent']>): boolean {
  for (const [name, unchanged] of tests) if (!Object.hasOwn(raw, name) || !unchanged(raw[name])) return false;
  return true;
}

/**
 * Whether `document` runs on graphql-js (see the list above): graphql-jit
 * answers it otherwise, or it introspects (`__typename` does not count).
 */
function runsOnGraphqlJs(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  if (operation.variableDefinitions?.some((definition) => definition.defaultValue && definition.type.kind === Kind.NON_NULL_TYPE)) return true;
  let found = false;
  const foundIf = (hit: boolean) => {
    found = hit;
    return hit ? BREAK : undefined;
  };
  visit(document, {
    Directive: (node) => foundIf(node.name.value === 'skip' || node.name.value === 'include'),
    Field: (node) => foundIf(node.name.value === '__schema' || node.name.value === '__type' || node.alias?.value === '__proto__'),
    Argument: (node) => foundIf(holdsString(node.value)),
    VariableDefinition: (node) => foundIf(node.variable.name.value in Object.prototype),
  });
  return found;
}

/** Whether a literal value is or holds a string (a block string too), at any depth of lists and input objects. */
function holdsString(value: ValueNode): boolean {
  switch (value.kind) {
    case Kind.STRING:
      return true;
    case Kind.LIST:
      return value.values.some(holdsString);
    case Kind.OBJECT:
      return value.fields.some((field) => holdsString(field.value));
    default:
      return false;
  }
}

/** Heap graphql-jit's code for one operation holds: COMPILED_BYTES, and COMPILED_BYTES_PER_FIELD per field it resolves (README "What a cached document holds"). */
export const COMPILED_BYTES = 10_000;
export const COMPILED_BYTES_PER_FIELD = 550;

/**
 * Fields `operation` resolves, each fragment counted every time it is spread:
 * graphql-jit writes code for each place a field is resolved, so both the
 * code's heap and its compile time follow this count, not the text. Each
 * fragment is counted once and its count reused, so the walk stays as long as
 * the text however the fragments spread one another. Fragments that do not
 * exist or spread themselves count nothing (validation refuses such documents
 * before anything compiles).
 */
export function expandedFields(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const counted = new Map<string, number>();
  const fields = (selectionSet: SelectionSetNode | undefined): number => {
    let count = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) count += 1 + fields(selection.selectionSet);
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += fields(selection.selectionSet);
      else {
        const name = selection.name.value;
        let spread = counted.get(name);
        if (spread === undefined) {
          // Zero while it is being counted: a fragment that spreads itself adds nothing.
          counted.set(name, 0);
          counted.set(name, (spread = fields(fragments.get(name)?.selectionSet)));
        }
        count += spread;
      }
    }
    return count;
  };
  return fields(operation.selectionSet);
}

/** Estimated heap of graphql-jit's code for `operation`, in bytes, from its expanded fields. */
export function compiledBytes(document: DocumentNode, operation: OperationDefinitionNode): number {
  return COMPILED_BYTES + COMPILED_BYTES_PER_FIELD * expandedFields(document, operation);
}

/**
 * Runs on graphql-js an operation makes before it is compiled: a text sent
 * once, or a few times, is never compiled, and whoever makes the gateway
 * compile has first made it run the operation this many times. A compile costs
 * what many compiled runs save (README "Measured choices in the code"); a
 * typed client, which sends the same few documents thousands of times, loses
 * those runs' gain once per document and process.
 */
export const WARM_UP_RUNS = 32;

/**
 * The most fields, fragments expanded (expandedFields), an operation may
 * resolve and still be compiled: graphql-jit's compile time grows with them,
 * on the event loop, and graphql-jit saves nothing on large documents (README
 * "Measured choices in the code"). Twice the largest operation in
 * schema/operations (49).
 */
export const MAX_COMPILED_FIELDS = 100;

/** What a document's operation is known to be: compiled, run on graphql-js for good (null), or warming up, with its runs so far. */
type Choice = Compiled | null | { runs: number; operation: OperationDefinitionNode; fields: number };

/** On first sight: whether `operationName`'s operation may be compiled once warm, without compiling anything. */
function firstSight(document: DocumentNode, operationName: string | undefined): Choice {
  const operation = getOperationAST(document, operationName);
  if (!operation || runsOnGraphqlJs(document, operation)) return null;
  const fields = expandedFields(document, operation);
  return fields > MAX_COMPILED_FIELDS ? null : { runs: 0, operation, fields };
}

function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, operation: OperationDefinitionNode, fields: number, keep: CompiledExecutionOptions['keep']): Compiled | null {
  // Code nothing would keep is not worth writing: graphql-js runs it.
  if (keep && !keep(document, COMPILED_BYTES + COMPILED_BYTES_PER_FIELD * fields)) return null;
  const made = compileQuery(schema, document, operationName);
  if (!isCompiledQuery(made)) return null;
  // Without a prototype, as graphql-js makes its own: a fragment may be named `__proto__`.
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  const nullable = new Set(operation.variableDefinitions?.filter((definition) => definition.type.kind !== Kind.NON_NULL_TYPE).map((definition) => definition.variable.name.value));
  const nullableInNonNull = new Set<string>();
  if (nullable.size) {
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Variable(node) {
          if (nullable.has(node.name.value) && isNonNullType(typeInfo.getInputType())) nullableInNonNull.add(node.name.value);
        },
      }),
    );
  }
  const defaults: Compiled['defaults'] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) defaults.push([definition.variable.name.value, valueFromASTUntyped(definition.defaultValue)]);
  }
  return { query: made, operation, fragments, nullableInNonNull: [...nullableInNonNull], defaults, asSent: asSentTests(schema, operation) };
}

/** graphql-jit's result with its errors made as graphql-js makes them. */
function asExecuteResult(result: ExecutionResult, compiled: Compiled, variables: Readonly<Record<string, unknown>>): ExecutionResult {
  if (!result.errors?.length) return result;
  const site = { operation: compiled.operation, fragments: compiled.fragments, variables };
  // Keys in graphql-js's order, so the bytes sent match too.
  const { errors, data, ...rest } = result;
  return { errors: firstPerNulledField(errors, data).map((error) => asExecuteError(error, site)), data, ...rest };
}

/**
 * graphql-jit keeps every error of a subtree that a non-null field's error
 * nulled; graphql-js stops completing that subtree at the first one and
 * reports it alone. Errors below the same nulled field: the first is kept.
 */
function firstPerNulledField(errors: readonly GraphQLError[], data: unknown): readonly GraphQLError[] {
  if (errors.length < 2) return errors;
  const nulled = new Set<string>();
  return errors.filter((error) => {
    const path = error.path;
    if (!path) return true;
    let value: unknown = data;
    for (let depth = 0; depth < path.length - 1; depth++) {
      value = value == null ? value : (value as Record<string | number, unknown>)[path[depth]!];
      if (value === null) {
        // An ancestor is null: this error bubbled up to it, or sits in what it took with it.
        const key = JSON.stringify(path.slice(0, depth + 1));
        if (nulled.has(key)) return false;
        nulled.add(key);
        return true;
      }
      if (value === undefined) return true;
    }
    return true;
  });
}

export interface CompiledExecutionOptions {
  /**
   * Asked before an operation of `document` is compiled, with its code's
   * estimated heap: whether the code may be kept, as long as the document is
   * (src/pipeline/document-cache.ts counts it). False: the operation runs on
   * graphql-js. Without it, every operation graphql-jit can run is compiled.
   */
  keep?: (document: DocumentNode, bytes: number) => boolean;
}

export function useCompiledExecution(options: CompiledExecutionOptions = {}): Plugin {
  // Documents come from Yoga's document cache, so they are the same objects for
  // the same text; compiled code goes when they do.
  const lanesByDocument = new WeakMap<DocumentNode, Map<string | undefined, Choice>>();

  /** The compiled operation to run, or null to run graphql-js: for good, or while the operation warms up (WARM_UP_RUNS). */
  function compiled(args: ExecutionArgs): Compiled | null {
    let byOperation = lanesByDocument.get(args.document);
    if (!byOperation) lanesByDocument.set(args.document, (byOperation = new Map()));
    const operationName = args.operationName ?? undefined;
    let found = byOperation.get(operationName);
    if (found === undefined) byOperation.set(operationName, (found = firstSight(args.document, operationName)));
    if (found === null || !('runs' in found)) return found;
    if (++found.runs <= WARM_UP_RUNS) return null;
    let made: Compiled | null;
    try {
      made = compile(args.schema, args.document, operationName, found.operation, found.fields, options.keep);
    } catch {
      // Whatever graphql-jit cannot compile, graphql-js runs.
      made = null;
    }
    byOperation.set(operationName, made);
    return made;
  }

  return {
    onExecute({ executeFn, setExecuteFn }) {
      const execute = executeFn as Execute;
      setExecuteFn(((args: ExecutionArgs) => {
        const found = compiled(args);
        if (!found) return execute(args);
        let raw = args.variableValues ?? {};
        let variables: Readonly<Record<string, unknown>> = raw;
        // Sent as its scalars take them, no variable can be refused, changed, null or defaulted.
        if (found.operation.variableDefinitions?.length && !(found.asSent && allAsSent(raw, found.asSent))) {
          const coerced = getVariableValues(args.schema, found.operation.variableDefinitions, raw, { maxErrors: 50 });
          if (coerced.errors) return execute(args);
          variables = coerced.coerced;
          for (const name of found.nullableInNonNull) if (variables[name] === null) return execute(args);
          for (const [name, value] of found.defaults) if (!Object.hasOwn(raw, name)) raw = { ...raw, [name]: value };
        }
        const result = found.query.query(args.rootValue, args.contextValue, raw);
        return isPromise(result) ? result.then((each) => asExecuteResult(each, found, variables)) : asExecuteResult(result, found, variables);
      }) as typeof executeFn);
    },
  };
}
