/**
 * An `events` page its arguments alone refuse (a size out of range, a cursor
 * the connection did not hand out or another execution's) is refused before
 * the execution it is on is read from upstream: otherwise such a request costs one
 * upstream call per execution only to fail. The checks are the page's own
 * (src/domain/event-pages.ts `checkPageArgs`), so both refuse the same pages
 * with the same error; the events resolver still runs them for pages reached
 * without an upstream call (a watch's update, an event's `execution`).
 */
import { getArgumentValues, getNamedType, GraphQLError, isObjectType, Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { checkPageArgs, type EventPageArgs } from '../domain/event-pages.js';
import { selectedFields } from './served.js';

/** The paginated field of an execution whose pages are checked here. */
const EVENTS = 'events';
const NO_PAGES: readonly EventPageArgs[] = Object.freeze([]);

/** The arguments of each `events` page selected right below the field `info` resolves (an execution, or a list of them). */
export function eventPagesBelow(info: GraphQLResolveInfo): readonly EventPageArgs[] {
  if (!mayNameEvents(info)) return NO_PAGES;
  const type = getNamedType(info.returnType);
  const events = isObjectType(type) ? type.getFields()[EVENTS] : undefined;
  if (!events) return [];
  return selectedFields(info, EVENTS).map((node) => getArgumentValues(events, node, info.variableValues) as EventPageArgs);
}

/**
 * The arguments of each `events` page selected on the execution `field` (`execution`) right below the field `info`
 * resolves: a watch's (`executionUpdates { execution { events(…) } }`), refused at the root as a query's `execution`
 * refuses its pages, before any upstream call.
 */
export function eventPagesOf(info: GraphQLResolveInfo, field: string): readonly EventPageArgs[] {
  const type = getNamedType(info.returnType);
  const child = isObjectType(type) ? type.getFields()[field] : undefined;
  const childType = child && getNamedType(child.type);
  const events = childType && isObjectType(childType) ? childType.getFields()[EVENTS] : undefined;
  if (!events) return NO_PAGES;
  const below = { ...info, fieldNodes: selectedFields(info, field) };
  return selectedFields(below, EVENTS).map((node) => getArgumentValues(events, node, info.variableValues) as EventPageArgs);
}

/**
 * Per field node, whether `events` is named right below it, through fragments,
 * @skip and @include not read (they can only take a field away). The parser
 * cache serves a document's nodes as the same objects each time, so a status
 * poll's selection is walked once, not once per request and alias.
 */
const namesEvents = new WeakMap<FieldNode, boolean>();

function mayNameEvents(info: GraphQLResolveInfo): boolean {
  for (const node of info.fieldNodes) {
    let named = namesEvents.get(node);
    if (named === undefined) {
      named = names(node.selectionSet, info, new Set());
      namesEvents.set(node, named);
    }
    if (named) return true;
  }
  return false;
}

function names(selectionSet: SelectionSetNode | undefined, info: GraphQLResolveInfo, spread: Set<string>): boolean {
  for (const selection of selectionSet?.selections ?? []) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === EVENTS) return true;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (names(selection.selectionSet, info, spread)) return true;
    } else if (!spread.has(selection.name.value)) {
      spread.add(selection.name.value);
      if (names(info.fragments[selection.name.value]?.selectionSet, info, spread)) return true;
    }
  }
  return false;
}

/** The BAD_USER_INPUT that refuses one of `pages` on execution `id`, or undefined when each can be served. */
export function refusedPage(pages: readonly EventPageArgs[], id: string): GraphQLError | undefined {
  for (const page of pages) {
    try {
      checkPageArgs(page, id);
    } catch (error) {
      if (error instanceof GraphQLError) return error;
      throw error;
    }
  }
  return undefined;
}
