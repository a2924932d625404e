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
import { eventIdOf, isObject, type Execution, type ExecutionEvent } from '../domain/execution.js';
import { readJson, servedSize, UNREADABLE, type Unreadable } from '../domain/fields.js';
import { WarningCode } from '../errors.js';
import type { GatewayContext } from '../request/context.js';
import { SERVED_CHARS_COUNTED_FROM } from '../request/scope.js';

/**
 * The value, or null with an UNREADABLE_VALUE note when upstream sent something
 * that is not `what`; `from` is the execution it was read from (the note names its upstream response).
 * A long value counts against the result's bound (src/request/scope.ts `handOut`: BAD_USER_INPUT past it).
 */
export function served<T>(value: T | null | Unreadable, what: string, context: GatewayContext, info: GraphQLResolveInfo, from: Execution): T | null {
  if (value !== UNREADABLE) {
    // Most fields are short strings: one under the threshold even were every character escaped (6 each) is not measured.
    if (typeof value !== 'string' || 6 * value.length + 2 >= SERVED_CHARS_COUNTED_FROM) context.scope.handOut(servedSize(value));
    return value;
  }
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

/** What a JSON field holds, as an UNREADABLE_VALUE note says it (src/domain/fields.ts readJson). */
export const JSON_WHAT = `a JSON value the gateway can serve (nested at most ${MAX_JSON_DEPTH} levels deep, not a number past a double's range)`;

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
 * Notes, at the execution's own path (the field `info` resolves, then `index`
 * in a list), that its body declared a charset the gateway does not know and
 * was read as UTF-8 (src/upstream/body-text.ts): every text in it may differ
 * from what upstream meant, so no one field holds the note. Nothing for any
 * other execution, and no path is made for them.
 */
export function noteUnknownCharset(execution: Execution, context: GatewayContext, info: GraphQLResolveInfo, index?: number): void {
  if (execution.unknownCharset === undefined) return;
  const path = responsePathAsArray(info.path);
  context.scope.warn(
    'Execution',
    {
      path: index === undefined ? path : [...path, index],
      code: WarningCode.REPLACED_VALUE,
      message: `Execution: upstream declared charset \`${execution.unknownCharset}\`, which the gateway does not know; its body was read as UTF-8, so text may differ from what upstream sent.`,
    },
    execution,
  );
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
      const spread = new Set<string>();
      for (const node of branch.nodes) collectFields(node.selectionSet, step, info, byKey, spread);
      for (const [key, nodes] of byKey) next.push({ path: [...branch.path, key], nodes });
    }
    branches = next;
  }
  return branches.map((branch) => branch.path);
}

/** The fields of an event that serve what upstream sent in its entry (`executionId` and `execution` are the execution's; `createdAt` is short). */
const EVENT_VALUES: ReadonlySet<string> = new Set([
  'id',
  'eventType',
  'level',
  'title',
  'message',
  'nodeId',
  'data',
  'organizationId',
  'requestId',
  'runId',
  'workflowId',
]);

/**
 * How many times the field `info` resolves serves each value field of the
 * events it lists, by field name (aliases, fragments, @skip/@include heeded),
 * across `routes`, the ways down to the event (field names: `['edges', 'node']`,
 * `['nodes']`); empty when it serves none. `a: data b: data` serve `data` twice.
 */
export function eventValueCopies(info: GraphQLResolveInfo, routes: readonly (readonly string[])[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const route of routes) {
    let branches: (readonly FieldNode[])[] = [info.fieldNodes];
    for (const step of route) {
      const next: FieldNode[][] = [];
      for (const nodes of branches) {
        const byKey = new Map<string, FieldNode[]>();
        const spread = new Set<string>();
        for (const node of nodes) collectFields(node.selectionSet, step, info, byKey, spread);
        next.push(...byKey.values());
      }
      branches = next;
    }
    for (const nodes of branches) {
      const names = new Map<string, string>();
      const spread = new Set<string>();
      for (const node of nodes) collectKeys(node.selectionSet, info, names, spread);
      for (const name of names.values()) if (EVENT_VALUES.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return counts;
}

/** About how many characters an event's field serves: a text's as JSON text, a JSON value's measure (readJson's, kept for the field itself). */
function eventFieldSize(entry: unknown, position: number, field: string): number {
  const source = isObject(entry) ? entry : {};
  if (field === 'id') return servedSize(eventIdOf(source, position));
  if (field === 'data') return servedSize(readJson(source.data));
  return servedSize(typeof source[field] === 'string' ? source[field] : null);
}

/**
 * Characters under which a page is not measured: its execution's body times the most copies of a value field it
 * selects (README "Operation limits": 16 KiB). A result hands out at most MAX_EVENTS_PER_REQUEST events, each on a
 * page, so such pages add at most 32 MiB to it.
 */
const UNMEASURED_PAGE_CHARS = 16 * 1024;

/**
 * Counts a page of events against the result's bound (src/request/scope.ts
 * `handOut`: BAD_USER_INPUT past it): each selected value field of each event,
 * as many times as it is selected (`eventValueCopies`). Events of a page are
 * distinct, so a page hands out at most that many times its execution's body:
 * one under UNMEASURED_PAGE_CHARS is not measured. Counted here, where the events are listed, not in
 * the event's fields: those are getters (./served-event.ts), and graphql-jit
 * does not catch what a getter throws (the request hung).
 */
export function handOutEvents(context: GatewayContext, events: readonly ExecutionEvent[], copies: ReadonlyMap<string, number>): void {
  if (copies.size === 0 || events.length === 0) return;
  let most = 0;
  for (const count of copies.values()) most = Math.max(most, count);
  if (most * events[0]!.execution.bodyBytes < UNMEASURED_PAGE_CHARS) return;
  let size = 0;
  for (const { execution, position } of events) {
    const entry = execution.events[position];
    for (const [field, count] of copies) size += count * eventFieldSize(entry, position, field);
  }
  context.scope.handOut(size);
}

/**
 * Each walk below enters a fragment once, however often it is spread at the level walked, as graphql-js's
 * collectFields does (`spread`: the fragments entered so far): a spread again adds no field. Entered at every
 * spread, fragments that each spread the next twice (`...F1 ...F1`, 13 levels, an 870-byte request within the cost
 * limit) made each walk 2^13 visits, run for every execution and events page resolved: 1 s of the event loop for
 * one request that took 80 ms without them.
 */

/** Whether the field `info` resolves selects any of `names` right below it, under any alias or fragment, @skip/@include heeded. One walk. */
export function selects(info: GraphQLResolveInfo, names: ReadonlySet<string>): boolean {
  const spread = new Set<string>();
  const walk = (selectionSet: SelectionSetNode | undefined): boolean =>
    (selectionSet?.selections ?? []).some((selection) => {
      if (!isIncluded(selection, info)) return false;
      if (selection.kind === Kind.FIELD) return names.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return walk(selection.selectionSet);
      if (spread.has(selection.name.value)) return false;
      spread.add(selection.name.value);
      return walk(info.fragments[selection.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => walk(node.selectionSet));
}

/** The fields named `name` right below the field `info` resolves, under any alias or fragment, @skip/@include heeded. */
export function selectedFields(info: GraphQLResolveInfo, name: string): FieldNode[] {
  const byKey = new Map<string, FieldNode[]>();
  const spread = new Set<string>();
  for (const node of info.fieldNodes) collectFields(node.selectionSet, name, info, byKey, spread);
  return [...byKey.values()].flat();
}

/** The fields named `name` in a selection set, by response key, through fragments not yet in `spread`. */
function collectFields(selectionSet: SelectionSetNode | undefined, name: string, info: GraphQLResolveInfo, byKey: Map<string, FieldNode[]>, spread: Set<string>): void {
  for (const selection of selectionSet?.selections ?? []) {
    if (!isIncluded(selection, info)) continue;
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== name) continue;
      const key = selection.alias?.value ?? name;
      const nodes = byKey.get(key);
      if (nodes) nodes.push(selection);
      else byKey.set(key, [selection]);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      collectFields(selection.selectionSet, name, info, byKey, spread);
    } else if (!spread.has(selection.name.value)) {
      spread.add(selection.name.value);
      collectFields(info.fragments[selection.name.value]?.selectionSet, name, info, byKey, spread);
    }
  }
}

/** Every field of a selection set, through fragments not yet in `spread`: response key → field name. */
function collectKeys(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, names: Map<string, string>, spread: Set<string>): void {
  for (const selection of selectionSet?.selections ?? []) {
    if (!isIncluded(selection, info)) continue;
    if (selection.kind === Kind.FIELD) names.set(selection.alias?.value ?? selection.name.value, selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) collectKeys(selection.selectionSet, info, names, spread);
    else if (!spread.has(selection.name.value)) {
      spread.add(selection.name.value);
      collectKeys(info.fragments[selection.name.value]?.selectionSet, info, names, spread);
    }
  }
}

function isIncluded(node: SelectionNode, info: GraphQLResolveInfo): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.['if'] === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.['if'] !== false;
}
