/**
 * The static cost of an operation, by GraphQL Armor's model (graphql-armor-cost-limit 2.4.3: a scalar field
 * costs 1, an object field 2 plus 1.5 times what its selections cost, all of that times a literal `first` or
 * `last`; `__schema` costs nothing), with fragments counted as if their selections were written where they are
 * spread, as README "Operation limits" promises.
 *
 * Armor's own count, even with `flattenFragments`, charges each spread as a field of its own (1), the
 * fragment's body as an object one level deeper (2, and its fields 1.5 times over), and each later spread of
 * the same fragment 1.5 times its first; it counts an inline fragment as an object too. The execution page
 * (schema/operations/execution-page.graphql) at `first: 100` cost 11,424 with its fragments and 10,408 inline,
 * and each further aliased copy 15,072: two pages (26,495) were refused where the same inline (20,817) passed.
 *
 * Written by hand because no option of Armor's rule (2.4.3 is its latest) counts fragments inline and no other
 * library counts by Armor's model: this keeps the model, and so every figure of a document without fragments.
 */
import { Kind, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';

/** Armor's defaults, which the gateway has always used. */
const SCALAR_COST = 1;
const OBJECT_COST = 2;
const DEPTH_COST_FACTOR = 1.5;

/** What a field multiplies its cost by: a literal `first` or `last` (the first of them given), at least 1, as Armor reads it. */
function pageSize(field: FieldNode): number {
  const size = field.arguments?.find((argument) => argument.name.value === 'first' || argument.name.value === 'last');
  return size?.value.kind === Kind.INT ? Math.max(parseInt(size.value.value, 10), 1) : 1;
}

/**
 * A counter of operations' costs for one document, whose fragments `getFragment` gives. Each fragment's
 * selections are counted once and the sum reused at every spread, so a document whose fragments spread each other
 * twice over (2^40 fields once inlined) is counted in time linear in its length.
 */
export function operationCostCounter(getFragment: (name: string) => FragmentDefinitionNode | null | undefined): (operation: OperationDefinitionNode) => number {
  // `null`: being counted. A fragment that spreads itself is refused by graphql-js (NoFragmentCyclesRule); here it adds nothing.
  const fragments = new Map<string, number | null>();

  /** What the fields of `set` cost, each counted where the selection set's fragments would put it once inlined. */
  const selectionsCost = (set: SelectionSetNode): number => {
    let cost = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) cost += fieldCost(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) cost += selectionsCost(selection.selectionSet);
      else cost += fragmentCost(selection.name.value);
    }
    return cost;
  };

  const fragmentCost = (name: string): number => {
    const counted = fragments.get(name);
    if (counted !== undefined) return counted ?? 0;
    const fragment = getFragment(name);
    if (!fragment) return 0;
    fragments.set(name, null);
    const cost = selectionsCost(fragment.selectionSet);
    fragments.set(name, cost);
    return cost;
  };

  const fieldCost = (field: FieldNode): number => {
    // Introspection is held to its own depth limit instead (./operation-limits.ts), as Armor's `ignoreIntrospection`.
    if (field.name.value === '__schema') return 0;
    if (!field.selectionSet) return SCALAR_COST;
    return (OBJECT_COST + DEPTH_COST_FACTOR * selectionsCost(field.selectionSet)) * pageSize(field);
  };

  // An operation's own fields are not multiplied by the depth factor: each costs what it costs.
  return (operation) => selectionsCost(operation.selectionSet);
}
