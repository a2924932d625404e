/**
 * Validation runs the GraphQL spec's current rules where graphql-js 16 has an
 * older one or none: SubscriptionRootFieldRule in place of its
 * SingleFieldSubscriptionsRule (./subscription-root.ts), and
 * KnownOperationTypesRule added (./known-operation-types.ts); one rule
 * graphql-js needs, VariableNamesRule (./variable-names.ts), and one Yoga's
 * executor needs, ThenAliasRule (./then-aliases.ts). One onValidate hook for
 * all: each hook is paid on every request.
 */
import { SingleFieldSubscriptionsRule, specifiedRules, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { KnownOperationTypesRule } from './known-operation-types.js';
import { SubscriptionRootFieldRule } from './subscription-root.js';
import { ThenAliasRule } from './then-aliases.js';
import { VariableNamesRule } from './variable-names.js';

const current = (rules: readonly ValidationRule[]) => [
  KnownOperationTypesRule,
  VariableNamesRule,
  ThenAliasRule,
  ...rules.map((rule) => (rule === SingleFieldSubscriptionsRule ? SubscriptionRootFieldRule : rule)),
];

/** The rules every request's document is validated with; the schema check (scripts/known-documents.ts) holds known documents to the same. */
export const SPEC_RULES: readonly ValidationRule[] = current(specifiedRules);

export function useSpecRules(): Plugin {
  const defaultRules = SPEC_RULES;
  return {
    onValidate({ validateFn, setValidationFn }) {
      // graphql-js: validate(schema, document, rules, options, typeInfo); no rules means specifiedRules.
      setValidationFn((schema, document, rules, options, typeInfo) => validateFn(schema, document, rules ? current(rules) : defaultRules, options, typeInfo));
    },
  };
}
