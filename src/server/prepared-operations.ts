/**
 * Prepared operations: a request whose document Yoga has already accepted runs
 * without Yoga's per-request plugin pipeline.
 *
 * Yoga caches parsed and validated documents by their text, yet for every
 * request it still builds an envelop orchestrator and runs each plugin's hooks
 * around those cache lookups: about a fifth of a status poll's CPU (README
 * "Performance"). No library skips that for documents already accepted, so it
 * is done here by hand, in the smallest form that keeps Yoga's answers:
 *
 * - A document is prepared when Yoga executes it. Yoga executes only what its
 *   parser (with Armor's token limit) and every validation rule (Armor's limits,
 *   introspection, suggestions) accepted, and neither the schema nor the rules
 *   change while the process runs.
 * - A later request with the same text, parameters of the shapes Yoga takes
 *   without question, runs graphql-js `execute` on that document with a fresh
 *   context. Its result gets the gateway's `finish` step (the same function
 *   Yoga's path runs after execution) and then the same error masking.
 * - Everything else stays with Yoga: a text not seen yet, parameters of any
 *   other shape, an operation name that does not resolve, variables that do not
 *   coerce. graphql-js reports those before any resolver runs, so handing such a
 *   request to Yoga costs no upstream call.
 *
 * test/direct-path.test.ts holds both paths to the same answers.
 */
import { execute, type DocumentNode, type ExecutionResult, type GraphQLError, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';

/** The execution result's errors, masked as Yoga masks them. */
export type MaskErrors = (errors: readonly GraphQLError[]) => GraphQLError[];

export interface PreparedOperationsOptions<Context> {
  schema: GraphQLSchema;
  /** Run on every result after execution; the same function Yoga's path runs. */
  finish(result: ExecutionResult, context: Context): ExecutionResult;
  maskErrors: MaskErrors;
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
}

export class PreparedOperations<Context extends { dispose(): void }> {
  readonly #options: PreparedOperationsOptions<Context>;
  readonly #documents: LRUCache<string, DocumentNode>;
  #served = 0;

  constructor(options: PreparedOperationsOptions<Context>) {
    this.#options = options;
    this.#documents = new LRUCache({ max: options.maxDocuments });
  }

  /** The Yoga plugin that prepares each document Yoga executes, under the text it was parsed from. */
  plugin(): Plugin<{ params?: { query?: unknown } }> {
    return {
      onExecute: ({ args }) => {
        const query = args.contextValue.params?.query;
        if (typeof query === 'string' && !this.#documents.has(query)) this.#documents.set(query, args.document);
      },
    };
  }

  /**
   * Runs the request as a prepared operation. Resolves to undefined when it is
   * not one, or when graphql-js refused it before execution began: Yoga answers it then.
   */
  async run(params: Record<string, unknown>, createContext: () => Context): Promise<ExecutionResult | undefined> {
    const operation = operationParams(params);
    if (!operation) return undefined;
    const document = this.#documents.get(operation.query);
    if (!document) return undefined;

    const context = createContext();
    const result = await execute({
      schema: this.#options.schema,
      document,
      variableValues: operation.variables,
      operationName: operation.operationName,
      contextValue: context,
    });
    // No `data`: the operation did not resolve or its variables did not coerce.
    if (!('data' in result)) {
      context.dispose();
      return undefined;
    }
    this.#served++;
    const finished = this.#options.finish(result, context);
    return finished.errors ? { ...finished, errors: this.#options.maskErrors(finished.errors) } : finished;
  }

  stats(): PreparedStats {
    return { documents: this.#documents.size, served: this.#served };
  }
}
