/**
 * An operation whose type the schema has no root for (a mutation: this schema
 * has none) is a validation error, as graphql-js 17's KnownOperationTypesRule
 * makes it (GraphQL spec, "Operation Type Existence", graphql/graphql-spec#955).
 * graphql-js 16 lacks the rule and fails such an operation at execution, with a
 * 200 and `data: null` even under `application/graphql-response+json`. By hand,
 * because no package for graphql 16 carries the rule.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext, type ValidationRule } from 'graphql';

/** Error: GRAPHQL_VALIDATION_FAILED, as Yoga codes every validation error. */
export const KnownOperationTypesRule: ValidationRule = (context: ValidationContext): ASTVisitor => ({
  OperationDefinition(node) {
    if (!context.getSchema().getRootType(node.operation)) {
      context.reportError(new GraphQLError(`The ${node.operation} operation is not supported by the schema.`, { nodes: node }));
    }
  },
});
