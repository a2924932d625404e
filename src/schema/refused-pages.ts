/**
 * An `events` page its arguments alone refuse (a size out of range, a cursor
 * the connection did not hand out or another execution's) is refused before
 * the execution it is on is fetched: otherwise such a request costs one
 * upstream call per execution only to fail. The checks are the page's own
 * (src/domain/event-pages.ts `checkPageArgs`), so both refuse the same pages
 * with the same error; the events resolver still runs them for pages reached
 * without a fetch (a watch's update, an event's `execution`).
 */
import { getArgumentValues, getNamedType, GraphQLError, isObjectType, type GraphQLResolveInfo } from 'graphql';
import { checkPageArgs, type EventPageArgs } from '../domain/event-pages.js';
import { selectedFields } from './served.js';

/** The arguments of each `events` page selected right below the field `info` resolves (an execution, or a list of them). */
export function eventPagesBelow(info: GraphQLResolveInfo): EventPageArgs[] {
  const type = getNamedType(info.returnType);
  const events = isObjectType(type) ? type.getFields()['events'] : undefined;
  if (!events) return [];
  return selectedFields(info, 'events').map((node) => getArgumentValues(events, node, info.variableValues) as EventPageArgs);
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
