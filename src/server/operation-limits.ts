/**
 * Limits on what one GraphQL operation may ask for, sized for this schema and
 * enforced with GraphQL Armor's envelop plugins during validation, before any
 * resolver or upstream call runs. README "Limits and errors" lists them.
 *
 * Sizing: the deepest useful query (execution → events → edges → node →
 * execution → events → nodes → field) has depth 8; GraphiQL's introspection
 * query reaches depth 13 through its nested `ofType`s.
 */
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { useDisableIntrospection } from '@graphql-yoga/plugin-disable-introspection';
import type { Plugin } from 'graphql-yoga';

export const OPERATION_LIMITS = {
  /** Depth of data fields (introspection excluded). */
  maxDepth: 8,
  /** Depth of any operation, introspection included. */
  maxIntrospectionDepth: 15,
  maxAliases: 30,
  maxDirectives: 20,
  maxTokens: 2_000,
  /** Armor's static cost (1 per scalar, 2 per object, ×1.5 per level). */
  maxCost: 5_000,
} as const;

export interface OperationLimitOptions {
  introspection: boolean;
  /** Hide "Did you mean …?" hints that map out the schema to a probing client. */
  blockFieldSuggestions: boolean;
}

export function useOperationLimits(options: OperationLimitOptions): Plugin[] {
  // Armor's own messages state the limit; exposeLimits keeps them actionable for clients.
  const common = { exposeLimits: true, propagateOnRejection: true } as const;
  const plugins: Plugin[] = [
    maxTokensPlugin({ ...common, n: OPERATION_LIMITS.maxTokens }),
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
