import { builder } from './builder.js';
import { ExecutionRef } from './execution-ref.js';
import { ServedEvent, type EventList, type EventTextField } from './served-event.js';
import type { GatewayContext } from '../request/context.js';
import type { EventEdge } from '../domain/event-pages.js';

export const ExecutionEventRef = builder.objectRef<ServedEvent>('ExecutionEvent');

/** An event with its cursor: the edges of `Execution.events`, and the new events of a live update. */
export const ExecutionEventEdgeRef = builder.edgeObject({
  name: 'ExecutionEventEdge',
  type: ExecutionEventRef,
  description: 'An event with its cursor.',
  // The relay plugin's own `node` (same type and description) with no resolver: one call per edge less.
  fields: (t) => ({ node: t.expose('node', { type: ExecutionEventRef, description: 'The item.' }) }),
});

/** A live update's new events as the schema serves them (a page of `events` makes its own: ./execution.ts): each through a ServedEvent, which knows where it is listed. */
export function servedEdges(edges: readonly EventEdge[], context: GatewayContext, list: EventList): { cursor: string; node: ServedEvent }[] {
  return edges.map((edge, index) => ({ cursor: edge.cursor, node: new ServedEvent(edge.node, context, list, index) }));
}

ExecutionEventRef.implement({
  description:
    'One entry of an execution\'s event log: payment steps, workflow node progress and log lines. Every field but `id`, `executionId` and `execution` is null when upstream sent none, or sent a value the field cannot hold (then `extensions.warnings` says so).',
  fields: (t) => {
    const text = (name: EventTextField, description: string) => t.exposeString(name, { nullable: true, description });
    return {
      id: t.exposeID('id', {
        description:
          'Id of the event: upstream\'s, or `#<position>` (its place in upstream\'s list, from 0) when upstream sent none. Not unique: two events may share an id, and derived ids repeat across executions, so a normalized client cache must not key events by it (README "Client caches"). The edge\'s `cursor` is unique.',
      }),
      executionId: t.exposeID('executionId', {
        description: 'Id of the execution the event belongs to: always the one it came with, whatever upstream\'s entry says (a `REPLACED_VALUE` note when it says another).',
      }),
      createdAt: t.expose('createdAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When the event happened. Null when upstream sent no readable time; such an event keeps its place in upstream\'s order (README "Paging through events").',
      }),
      eventType: text(
        'eventType',
        'What happened, e.g. `execution.created`, `payment.confirmed`, `workflow.queued`, `node.started`, `node.completed`, `node.failed`, `log`. New types may appear.',
      ),
      level: text('level', 'Severity: `debug`, `info`, `warn` or `error` today; other levels (e.g. `fatal`) may appear.'),
      title: text('title', 'Short human-readable title, if any.'),
      message: text('message', 'Human-readable message, if any.'),
      nodeId: text('nodeId', 'Workflow node the event refers to; null for execution-level events.'),
      data: t.expose('data', { type: 'JSON', nullable: true, description: 'Event payload as upstream sent it: any JSON value, or null.' }),
      organizationId: text('organizationId', 'Organization that owns the execution.'),
      requestId: text('requestId', 'Id of the API request that started the execution (the same on all its events).'),
      runId: text('runId', 'Workflow run the event belongs to.'),
      workflowId: text('workflowId', 'Workflow the event belongs to.'),
      execution: t.expose('execution', {
        type: ExecutionRef,
        description: 'The execution this event belongs to: the one it came with. Costs no upstream call.',
      }),
    };
  },
});
