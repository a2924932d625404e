/**
 * graphql-jit's errors as graphql-js's execute makes them: `locatedError` of
 * what the resolver threw (or of the null a non-null field got), located at
 * every field node under the error's response key, so masking, codes and
 * `locations` come out as on Yoga's own path. graphql-js exports no way to
 * find a path's field nodes (its collectFields is internal), hence this walk.
 */
import {
  getDirectiveValues,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  locatedError,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLError,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

export interface ErrorSite {
  operation: OperationDefinitionNode;
  fragments: Readonly<Record<string, FragmentDefinitionNode>>;
  /** The operation's variables as graphql-js coerced them, for @skip/@include. */
  variables: Readonly<Record<string, unknown>>;
}

/** A graphql-jit error as graphql-js would have reported it. */
export function asExecuteError(error: GraphQLError, site: ErrorSite): GraphQLError {
  const path = error.path;
  const nodes = path ? fieldNodesAt(path, site) : undefined;
  return locatedError(error.originalError ?? new Error(error.message), nodes?.length ? nodes : undefined, path);
}

/** The field nodes merged under a response path (list indices skipped), @skip/@include heeded. */
function fieldNodesAt(path: readonly (string | number)[], site: ErrorSite): FieldNode[] {
  let nodes: FieldNode[] = [];
  let selectionSets: SelectionSetNode[] = [site.operation.selectionSet];
  for (const key of path) {
    if (typeof key === 'number') continue;
    nodes = [];
    // As graphql-js's collectFields: a fragment spread twice at one level counts once.
    const spread = new Set<string>();
    for (const selectionSet of selectionSets) collect(selectionSet, key, site, nodes, spread);
    selectionSets = nodes.flatMap((node) => (node.selectionSet ? [node.selectionSet] : []));
  }
  return nodes;
}

function collect(selectionSet: SelectionSetNode, key: string, site: ErrorSite, into: FieldNode[], spread: Set<string>): void {
  for (const selection of selectionSet.selections) {
    if (!included(selection, site)) continue;
    if (selection.kind === Kind.FIELD) {
      if ((selection.alias ?? selection.name).value === key) into.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collect(selection.selectionSet, key, site, into, spread);
    } else if (!spread.has(selection.name.value)) {
      spread.add(selection.name.value);
      const fragment = site.fragments[selection.name.value];
      if (fragment) collect(fragment.selectionSet, key, site, into, spread);
    }
  }
}

function included(node: Parameters<typeof getDirectiveValues>[1], site: ErrorSite): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, site.variables)?.['if'] === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, site.variables)?.['if'] !== false;
}
