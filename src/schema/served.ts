/**
 * Serving a field read from what upstream sent (src/domain/fields.ts): a
 * value the gateway cannot use becomes null plus a note in
 * `extensions.warnings` at the field's GraphQL path, only for fields the query
 * selected, since only those resolve.
 */
import {
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  responsePathAsArray,
  type FieldNode,
  type GraphQLResolveInfo,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';
import { MAX_JSON_DEPTH } from '../domain/json-depth.js';
import type { Execution } from '../domain/execution.js';
import { UNREADABLE, type Unreadable } from '../domain/fields.js';
import { WarningCode } from '../errors.js';
import type { GatewayContext } from '../request/context.js';

/**
 * The value, or null with an UNREADABLE_VALUE note when upstream sent something
 * that is not `what`; `from` is the execution it was read from (the note names its upstream response).
 */
export function served<T>(value: T | null | Unreadable, what: string, context: GatewayContext, info: GraphQLResolveInfo, from: Execution): T | null {
  if (value !== UNREADABLE) return value;
  const field = `${info.parentType.name}.${info.fieldName}`;
  context.scope.warn(
    field,
    {
      path: responsePathAsArray(info.path),
      code: WarningCode.UNREADABLE_VALUE,
      message: `${field}: ${unreadableWhy(what)}`,
    },
    from,
  );
  return null;
}

/** What a JSON field holds, as an UNREADABLE_VALUE note says it. */
export const JSON_WHAT = `JSON nested at most ${MAX_JSON_DEPTH} levels deep`;

/** Why a value was served as null, in an UNREADABLE_VALUE note: upstream's value is not `what`. */
export function unreadableWhy(what: string): string {
  return `upstream sent a value that is not ${what}; served as null.`;
}

/** Notes that the gateway served `field` of `from` with another value than upstream's, and why. */
export function replaced(context: GatewayContext, info: GraphQLResolveInfo, why: string, from: Execution): void {
  const field = `${info.parentType.name}.${info.fieldName}`;
  context.scope.warn(field, { path: responsePathAsArray(info.path), code: WarningCode.REPLACED_VALUE, message: `${field}: ${why}` }, from);
}

/**
 * Where a field of an object served without resolvers (./served-event.ts)
 * sits in the response. `info` is the resolve info of a field above it and
 * `route` the way down from there: field names and list indices, the field
 * itself last. Each name may be selected under several response keys
 * (aliases, fragments, @skip/@include heeded); every resulting path is
 * returned. Walked only when a note is due, which is rare.
 */
export function selectedPaths(info: GraphQLResolveInfo, route: readonly (string | number)[]): (string | number)[][] {
  let branches: { path: (string | number)[]; nodes: readonly FieldNode[] }[] = [{ path: responsePathAsArray(info.path), nodes: info.fieldNodes }];
  for (const step of route) {
    if (typeof step === 'number') {
      branches = branches.map((branch) => ({ path: [...branch.path, step], nodes: branch.nodes }));
      continue;
    }
    const next: typeof branches = [];
    for (const branch of branches) {
      const byKey = new Map<string, FieldNode[]>();
      for (const node of branch.nodes) collectFields(node.selectionSet, step, info, byKey);
      for (const [key, nodes] of byKey) next.push({ path: [...branch.path, key], nodes });
    }
    branches = next;
  }
  return branches.map((branch) => branch.path);
}

/** Whether the field `info` resolves selects any of `names` right below it, under any alias or fragment, @skip/@include heeded. One walk. */
export function selects(info: GraphQLResolveInfo, names: ReadonlySet<string>): boolean {
  const walk = (selectionSet: SelectionSetNode | undefined): boolean =>
    (selectionSet?.selections ?? []).some((selection) => {
      if (!isIncluded(selection, info)) return false;
      if (selection.kind === Kind.FIELD) return names.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return walk(selection.selectionSet);
      return walk(info.fragments[selection.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => walk(node.selectionSet));
}

/** The fields named `name` in a selection set, by response key, through fragments. */
function collectFields(selectionSet: SelectionSetNode | undefined, name: string, info: GraphQLResolveInfo, byKey: Map<string, FieldNode[]>): void {
  for (const selection of selectionSet?.selections ?? []) {
    if (!isIncluded(selection, info)) continue;
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== name) continue;
      const key = selection.alias?.value ?? name;
      const nodes = byKey.get(key);
      if (nodes) nodes.push(selection);
      else byKey.set(key, [selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collectFields(selection.selectionSet, name, info, byKey);
    } else {
      collectFields(info.fragments[selection.name.value]?.selectionSet, name, info, byKey);
    }
  }
}

function isIncluded(node: SelectionNode, info: GraphQLResolveInfo): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.['if'] === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.['if'] !== false;
}
