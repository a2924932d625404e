import { builder } from './builder.js';

export const EventOrderEnum = builder.enumType('EventOrder', {
  description: 'Order of events by `createdAt`; events with the same timestamp keep upstream order.',
  values: {
    ASC: { description: 'Oldest first.' },
    DESC: { description: 'Newest first, e.g. for a live activity feed.' },
  } as const,
});

export const ExecutionEventFilterInput = builder.inputType('ExecutionEventFilter', {
  description:
    'Narrows an execution\'s events. Each list matches any of its values: `levels` in any case (`WARN` matches upstream\'s `warn`), the others exactly as upstream writes them (case included); the fields combine with "and"; an empty list matches nothing; an omitted field does not filter.',
  fields: (t) => ({
    levels: t.stringList({ description: 'Keep events whose `level` is one of these, in any case (upstream writes them in lower case), e.g. `["warn", "error"]`.' }),
    eventTypes: t.stringList({ description: 'Keep events whose `eventType` is one of these.' }),
    nodeIds: t.stringList({ description: 'Keep events of these workflow nodes (events without a node never match).' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Keep events created strictly after this instant; events without a readable `createdAt` never match.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Keep events created strictly before this instant; events without a readable `createdAt` never match.' }),
  }),
});
