/**
 * What every execution result gets once its operation has run: the request's
 * scope is released (budget timer, client watch), "Did you mean …?" hints are
 * stripped when suggestions are hidden, `extensions.warnings` lists the values
 * served as null or replaced (at most MAX_WARNINGS_PER_RESULT, then
 * `extensions.warningsOmitted` counts the rest; whatever the cost setting says), and
 * `extensions.upstream` reports what the request cost upstream (calls, cache
 * hits, shared calls, time), as Shopify reports query cost.
 */
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GatewayContext } from '../request/context.js';
import { withoutSuggestions } from './operation-limits.js';

export interface FinishOptions {
  /** Strip the "Did you mean …?" hints graphql-js's executor adds to variable errors. */
  hideSuggestions: boolean;
  /** Report the upstream cost in `extensions.upstream`. */
  reportCost: boolean;
}

function finish(result: ExecutionResult, context: GatewayContext, options: FinishOptions): ExecutionResult {
  const { scope } = context;
  scope.dispose();
  if (options.hideSuggestions) withoutSuggestions(result);
  const { warnings } = scope;
  if (!options.reportCost && !warnings) return result;
  const extensions: Record<string, unknown> = { ...result.extensions };
  if (warnings) withWarnings(extensions, scope);
  if (options.reportCost) {
    const { calls, cacheHits, sharedCalls, timeMs } = scope.cost;
    extensions.upstream = { calls, cacheHits, sharedCalls, timeMs: Math.round(timeMs) };
  }
  return { ...result, extensions };
}

/** Each update of a live subscription gets its own notes (its scope started over for it: RequestScope.beginUpdate). */
function finishUpdate(result: ExecutionResult, context: GatewayContext): ExecutionResult {
  return context.scope.warnings ? { ...result, extensions: withWarnings({ ...result.extensions }, context.scope) } : result;
}

/** `warnings`, and `warningsOmitted` when notes were past the cap. */
function withWarnings(extensions: Record<string, unknown>, scope: GatewayContext['scope']): Record<string, unknown> {
  extensions.warnings = scope.warnings;
  if (scope.warningsOmitted > 0) extensions.warningsOmitted = scope.warningsOmitted;
  return extensions;
}

export function useExecutionFinish(options: FinishOptions): Plugin<GatewayContext> {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          setResult(finish(result, args.contextValue, options));
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ args, result, setResult }) {
          // A subscription refused before it started is an ordinary result.
          if (!(Symbol.asyncIterator in result)) {
            setResult(finish(result, args.contextValue, options));
            return;
          }
          return {
            onNext: ({ result: update, setResult: setUpdate }) => setUpdate(finishUpdate(update, args.contextValue)),
            onEnd: () => args.contextValue.scope.dispose(),
          };
        },
      };
    },
  };
}
