/**
 * A subscription's root field may not be conditional: `@skip` and `@include`
 * are refused in its top-level selection (GraphQL spec, "Single Root Field",
 * as graphql/graphql-spec#860 changed it; graphql-js 17's SingleFieldSubscriptionsRule,
 * graphql-js#3974). graphql-js 16, which this gateway runs, lacks that check. Without it a
 * skipped root field left the executor nothing to subscribe to (a masked 500
 * and a stack in the log), and a directive with a variable made graphql-js 16's
 * own rule throw "was not provided a runtime value" during validation. By hand,
 * because no package for graphql 16 carries the rule.
 */
import {
  GraphQLError,
  Kind,
  SingleFieldSubscriptionsRule,
  type ASTVisitFn,
  type ASTVisitor,
  type DirectiveNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

const CONDITIONAL = new Set(['skip', 'include']);

/** `@skip`/`@include` directives that decide which root fields `selectionSet` selects, through fragments. */
function conditions(selectionSet: SelectionSetNode, context: ValidationContext, seen: Set<string>): DirectiveNode[] {
  const found: DirectiveNode[] = [];
  for (const selection of selectionSet.selections) {
    for (const directive of selection.directives ?? []) if (CONDITIONAL.has(directive.name.value)) found.push(directive);
    if (selection.kind === Kind.INLINE_FRAGMENT) found.push(...conditions(selection.selectionSet, context, seen));
    if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment: FragmentDefinitionNode | null | undefined = context.getFragment(selection.name.value);
      if (fragment) found.push(...conditions(fragment.selectionSet, context, seen));
    }
  }
  return found;
}

/**
 * graphql-js 16's SingleFieldSubscriptionsRule (one root field, not an
 * introspection field), run only once the root field is known to be unconditional.
 * Error: GRAPHQL_VALIDATION_FAILED, as Yoga codes every validation error.
 */
export const SubscriptionRootFieldRule: ValidationRule = (context: ValidationContext): ASTVisitor => {
  // graphql-js 16's rule is one OperationDefinition visitor.
  const specified = SingleFieldSubscriptionsRule(context) as { OperationDefinition: ASTVisitFn<OperationDefinitionNode> };
  return {
    OperationDefinition(node, ...rest) {
      if (node.operation !== 'subscription') return undefined;
      const directives = conditions(node.selectionSet, context, new Set());
      if (directives.length === 0) return specified.OperationDefinition(node, ...rest);
      const name = node.name ? `Subscription "${node.name.value}"` : 'Anonymous Subscription';
      context.reportError(new GraphQLError(`${name} must not use \`@skip\` or \`@include\` directives in the top level selection.`, { nodes: directives }));
      return undefined;
    },
  };
};
