/**
 * Limits on what one GraphQL operation may ask for, sized for this schema and
 * enforced with GraphQL Armor's envelop plugins during validation, before any
 * resolver or upstream call runs. README "Limits and errors" lists them.
 *
 * Sizing: the deepest useful query (execution → events → edges → node →
 * execution → events → nodes → field) has depth 8; the standard introspection
 * query (graphql-js, GraphiQL) reaches depth 21 through its nested `ofType`s.
 * Static cost is counted per selection, not per list item, so list sizes are
 * capped at run time instead (src/context.ts: executions and events per request).
 */
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import { GraphQLError, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export const OPERATION_LIMITS = {
  /** Depth of data fields (introspection excluded). */
  maxDepth: 8,
  /** Depth of any operation, introspection included. */
  maxIntrospectionDepth: 25,
  maxAliases: 30,
  maxDirectives: 20,
  maxTokens: 2_000,
  /** Armor's static cost (1 per scalar, 2 per object, ×1.5 per level); the execution page operation costs 299. */
  maxCost: 5_000,
} as const;

export interface OperationLimitOptions {
  introspection: boolean;
  /** Hide "Did you mean …?" hints that map out the schema to a probing client. */
  blockFieldSuggestions: boolean;
}

export function useOperationLimits(options: OperationLimitOptions): Plugin[] {
  // Armor's messages state the limit (exposeLimits). Its default is to throw from
  // inside validation, which surfaces as a 200 without a code; reporting the
  // error instead makes it an ordinary 400 validation error with a stable code.
  const common = {
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) =>
        context?.reportError(
          new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
          }),
        ),
    ],
  };
  const plugins: Plugin[] = [
    // The token limit runs in the parser (no validation context): it throws a parse error.
    maxTokensPlugin({ exposeLimits: true, n: OPERATION_LIMITS.maxTokens }),
    maxDepthPlugin({ ...common, n: OPERATION_LIMITS.maxDepth, ignoreIntrospection: true, flattenFragments: true }),
    maxDepthPlugin({ ...common, n: OPERATION_LIMITS.maxIntrospectionDepth, ignoreIntrospection: false, flattenFragments: true }),
    maxAliasesPlugin({ ...common, n: OPERATION_LIMITS.maxAliases }),
    maxDirectivesPlugin({ ...common, n: OPERATION_LIMITS.maxDirectives }),
    costLimitPlugin({ ...common, maxCost: OPERATION_LIMITS.maxCost, ignoreIntrospection: true }),
  ];
  if (options.blockFieldSuggestions) plugins.push(blockFieldSuggestionsPlugin());
  if (!options.introspection) plugins.push(useDisableIntrospection());
  return plugins;
}
