/**
 * Operations run compiled by graphql-jit, swapped in through envelop's
 * `setExecuteFn` as @envelop/graphql-jit does, so every other plugin's
 * onExecute and onExecuteDone still run around it.
 *
 * Hand-written rather than @envelop/graphql-jit (11.2.1) for two reasons:
 * it keys compiled code on the document alone, so a document holding two
 * operations runs the first one compiled for either operation name; and
 * graphql-jit's errors carry no `locations`. Here compiled code is kept per
 * document and operation name, and a result with errors is made again by the
 * pipeline's own execute function with the same context, whose loaders already
 * hold what the first run loaded: no second upstream call, and the same errors,
 * with locations, as the full lane gives (in the order their fields complete,
 * which GraphQL leaves open).
 */
import type { DocumentNode, ExecutionArgs, ExecutionResult } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { isPromise, type Plugin } from 'graphql-yoga';

export interface CompiledExecutionOptions<Context> {
  /** Prepares the context for running the same operation again (its per-operation counts start over). */
  restart(context: Context): void;
}

type Execute = (args: ExecutionArgs) => ExecutionResult | Promise<ExecutionResult> | AsyncIterable<ExecutionResult>;

/** A compiled result without errors as it is; one with errors made again by `execute`, so its errors carry locations. */
function withLocations<Context>(result: ExecutionResult, args: ExecutionArgs, execute: Execute, options: CompiledExecutionOptions<Context>) {
  if (!result.errors?.length) return result;
  options.restart(args.contextValue as Context);
  return execute(args);
}

export function useCompiledExecution<Context>(options: CompiledExecutionOptions<Context>): Plugin {
  // Documents come from Yoga's document cache, so they are the same objects for
  // the same text; compiled code goes when they do.
  const compiledByDocument = new WeakMap<DocumentNode, Map<string | undefined, CompiledQuery | null>>();

  function compiled(args: ExecutionArgs): CompiledQuery | null {
    let byOperation = compiledByDocument.get(args.document);
    if (!byOperation) compiledByDocument.set(args.document, (byOperation = new Map()));
    const operationName = args.operationName ?? undefined;
    let found = byOperation.get(operationName);
    if (found === undefined) {
      try {
        const made = compileQuery(args.schema, args.document, operationName);
        found = isCompiledQuery(made) ? made : null;
      } catch {
        // Whatever graphql-jit cannot compile, graphql-js runs.
        found = null;
      }
      byOperation.set(operationName, found);
    }
    return found;
  }

  return {
    onExecute({ executeFn, setExecuteFn }) {
      const execute = executeFn as Execute;
      setExecuteFn(((args: ExecutionArgs) => {
        const query = compiled(args);
        if (!query) return execute(args);
        const result = query.query(args.rootValue, args.contextValue, args.variableValues ?? {});
        return isPromise(result) ? result.then((each) => withLocations(each, args, execute, options)) : withLocations(result, args, execute, options);
      }) as typeof executeFn);
    },
  };
}
