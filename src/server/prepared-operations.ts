/**
 * Prepared operations: a request whose document Yoga has already accepted runs
 * without Yoga's per-request plugin pipeline.
 *
 * Yoga caches parsed and validated documents by their text, yet for every
 * request it still builds an envelop orchestrator and runs each plugin's hooks
 * around those cache lookups: about a tenth of a status poll's CPU (1,132 →
 * 1,031 µs skipping it, README "Performance"). No library skips that for
 * documents already accepted, so it is done here by hand, in the smallest form
 * that keeps Yoga's answers:
 *
 * - A document is prepared when Yoga executes it. Yoga executes only what its
 *   parser (with Armor's token limit) and every validation rule (Armor's limits,
 *   introspection, suggestions) accepted, and neither the schema nor the rules
 *   change while the process runs.
 * - A later request with the same text, parameters of the shapes Yoga takes
 *   without question, an operation that resolves and variables that coerce (as
 *   graphql-js checks them) runs with a fresh context. Its result gets the
 *   gateway's `finish` step (the same function Yoga's path runs after
 *   execution) and then the same error masking.
 * - It runs compiled by graphql-jit: about 2.5 times less CPU than graphql-js on
 *   an execution page, 2 times less on a status poll (measured in process).
 *   graphql-jit's errors carry no `locations`, so a result with errors is made
 *   again by graphql-js `execute`, on a context that shares the first run's
 *   loaders: what they loaded is served again, with no second upstream call.
 *   A document graphql-jit cannot compile runs on graphql-js alone.
 * - Everything else stays with Yoga: a text not seen yet, parameters of any
 *   other shape, an operation name that does not resolve, variables that do not
 *   coerce. Those are found before any resolver runs, so handing such a request
 *   to Yoga costs no upstream call.
 *
 * test/direct-path.test.ts holds both paths to the same answers.
 */
import {
  execute,
  getOperationAST,
  getVariableValues,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/** The execution result's errors, masked as Yoga masks them. */
export type MaskErrors = (errors: readonly GraphQLError[]) => GraphQLError[];

export interface PreparedOperationsOptions<Context> {
  schema: GraphQLSchema;
  /** Run on every result after execution; the same function Yoga's path runs. */
  finish(result: ExecutionResult, context: Context): ExecutionResult;
  maskErrors: MaskErrors;
  /** A context to run the same operation again: the same loaders and upstream cost, its own per-operation counts. */
  rerunContext(context: Context): Context;
  /** Documents remembered (least recently used go first), as Yoga's own document cache. */
  maxDocuments: number;
}

/** What a request must carry to be run as a prepared operation. */
interface OperationParams {
  query: string;
  variables: Record<string, unknown> | undefined;
  operationName: string | undefined;
}

const PARAM_NAMES = new Set(['query', 'variables', 'operationName', 'extensions']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parameters when every one has a shape Yoga accepts as is; anything else is Yoga's to judge. */
function operationParams(params: Record<string, unknown>): OperationParams | undefined {
  for (const name in params) if (!PARAM_NAMES.has(name)) return undefined;
  const { query, variables, operationName, extensions } = params;
  if (typeof query !== 'string') return undefined;
  if (variables != null && !isPlainObject(variables)) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (extensions != null && !isPlainObject(extensions)) return undefined;
  return { query, variables: variables ?? undefined, operationName: operationName ?? undefined };
}

export interface PreparedStats {
  /** Documents remembered now. */
  documents: number;
  /** Requests answered as prepared operations since start. */
  served: number;
  /** Of those, answered by graphql-jit's compiled code. */
  compiled: number;
  /** Of those, made again by graphql-js because the result had errors. */
  rerun: number;
}

/** A document Yoga accepted, and its compiled operations by name, made on first use (null: graphql-jit cannot compile it). */
interface Prepared {
  document: DocumentNode;
  compiled: Map<string | undefined, CompiledQuery | null>;
}

export class PreparedOperations<Context extends { dispose(): void }> {
  readonly #options: PreparedOperationsOptions<Context>;
  readonly #documents: LRUCache<string, Prepared>;
  #served = 0;
  #compiledRuns = 0;
  #reruns = 0;

  constructor(options: PreparedOperationsOptions<Context>) {
    this.#options = options;
    this.#documents = new LRUCache({ max: options.maxDocuments });
  }

  /** The Yoga plugin that prepares each document Yoga executes, under the text it was parsed from. */
  plugin(): Plugin<{ params?: { query?: unknown } }> {
    return {
      onExecute: ({ args }) => {
        const query = args.contextValue.params?.query;
        if (typeof query === 'string' && !this.#documents.has(query)) this.#documents.set(query, { document: args.document, compiled: new Map() });
      },
    };
  }

  /**
   * Runs the request as a prepared operation. Resolves to undefined, for Yoga to
   * answer, when it is not one: a text not prepared, parameters of another shape,
   * an operation name that does not resolve or variables that do not coerce.
   */
  async run(params: Record<string, unknown>, createContext: () => Context): Promise<ExecutionResult | undefined> {
    const operation = operationParams(params);
    if (!operation) return undefined;
    const prepared = this.#documents.get(operation.query);
    if (!prepared) return undefined;
    const { schema } = this.#options;
    const definition = getOperationAST(prepared.document, operation.operationName);
    if (!definition) return undefined;
    if (getVariableValues(schema, definition.variableDefinitions ?? [], operation.variables ?? {}).errors) return undefined;

    const context = createContext();
    const runWithGraphQLJs = (contextValue: Context) =>
      execute({ schema, document: prepared.document, variableValues: operation.variables, operationName: operation.operationName, contextValue });
    const compiled = this.#compiled(prepared, operation.operationName);
    let finishedWith = context;
    let result: ExecutionResult;
    if (compiled) {
      result = await compiled.query(undefined, context, operation.variables ?? {});
      if (result.errors?.length) {
        this.#reruns++;
        finishedWith = this.#options.rerunContext(context);
        result = await runWithGraphQLJs(finishedWith);
      }
    } else {
      result = await runWithGraphQLJs(context);
    }
    // Unreachable after the checks above; if graphql-js still refuses, Yoga answers.
    if (!('data' in result)) {
      context.dispose();
      return undefined;
    }
    this.#served++;
    if (compiled && finishedWith === context) this.#compiledRuns++;
    const finished = this.#options.finish(result, finishedWith);
    return finished.errors ? { ...finished, errors: this.#options.maskErrors(finished.errors) } : finished;
  }

  #compiled(prepared: Prepared, operationName: string | undefined): CompiledQuery | null {
    let compiled = prepared.compiled.get(operationName);
    if (compiled === undefined) {
      try {
        const made = compileQuery(this.#options.schema, prepared.document, operationName);
        compiled = isCompiledQuery(made) ? made : null;
      } catch {
        // Whatever graphql-jit cannot compile, graphql-js runs.
        compiled = null;
      }
      prepared.compiled.set(operationName, compiled);
    }
    return compiled;
  }

  stats(): PreparedStats {
    return { documents: this.#documents.size, served: this.#served, compiled: this.#compiledRuns, rerun: this.#reruns };
  }
}
