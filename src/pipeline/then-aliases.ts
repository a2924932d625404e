/**
 * A field aliased `then` is a validation error. Yoga's executor (@graphql-tools/executor, whose `isPromise` is
 * `value?.then != null`) takes any object holding a `then` for a promise: an object completed at once (an `events`
 * page, an edge) that held one was called as a promise, `completed.then is not a function`, and the request answered
 * "Unexpected error." with its whole execution null. Refused wherever it stands, not only under such an object: which
 * parent completes at once is no part of the schema, and may change with a resolver. By hand, as no package carries
 * such a rule; the GraphQL spec allows the alias. No field of the schema is named `then`, so only an alias is one.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext, type ValidationRule } from 'graphql';

/** Error: GRAPHQL_VALIDATION_FAILED, as Yoga codes every validation error. */
export const ThenAliasRule: ValidationRule = (context: ValidationContext): ASTVisitor => ({
  Field(node) {
    if (node.alias?.value === 'then') {
      context.reportError(
        new GraphQLError('A field cannot be aliased "then": Yoga\'s executor reads an object holding a "then" as a promise, and fails it. Alias it otherwise.', { nodes: node.alias }),
      );
    }
  },
});
