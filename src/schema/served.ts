/**
 * Serving a field read from what upstream sent (src/domain/fields.ts): a
 * value the gateway cannot use becomes null plus a note in
 * `extensions.warnings` at the field's GraphQL path, only for fields the query
 * selected, since only those resolve.
 */
import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { UNREADABLE, type Unreadable } from '../domain/fields.js';
import { WarningCode } from '../errors.js';
import type { GatewayContext } from '../request/context.js';

/** The value, or null with an UNREADABLE_VALUE note when upstream sent something that is not `what`. */
export function served<T>(value: T | null | Unreadable, what: string, context: GatewayContext, info: GraphQLResolveInfo): T | null {
  if (value !== UNREADABLE) return value;
  const field = `${info.parentType.name}.${info.fieldName}`;
  context.scope.warn(field, {
    path: responsePathAsArray(info.path),
    code: WarningCode.UNREADABLE_VALUE,
    message: `${field}: upstream sent a value that is not ${what}; served as null.`,
  });
  return null;
}

/** Notes that the gateway served `field` with another value than upstream's, and why. */
export function replaced(context: GatewayContext, info: GraphQLResolveInfo, why: string): void {
  const field = `${info.parentType.name}.${info.fieldName}`;
  context.scope.warn(field, { path: responsePathAsArray(info.path), code: WarningCode.REPLACED_VALUE, message: `${field}: ${why}` });
}
