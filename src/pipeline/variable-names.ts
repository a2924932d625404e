/**
 * A variable named `__proto__` is a validation error. graphql-js 16 stores coerced variables in a plain object,
 * where that key sets the object's prototype instead of holding a value: the value a client sent was lost, and the
 * request refused as if the variable had not been provided (BAD_REQUEST, a wrong reason). By hand, because no
 * package carries such a rule; the GraphQL spec allows the name.
 */
import { GraphQLError, type ASTVisitor, type ValidationContext, type ValidationRule } from 'graphql';

/** Error: GRAPHQL_VALIDATION_FAILED, as Yoga codes every validation error. */
export const VariableNamesRule: ValidationRule = (context: ValidationContext): ASTVisitor => ({
  VariableDefinition(node) {
    if (node.variable.name.value === '__proto__') {
      context.reportError(new GraphQLError('Variable "$__proto__" cannot be used: graphql-js loses a variable of that name. Rename it.', { nodes: node.variable }));
    }
  },
});
