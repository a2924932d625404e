import { eventIdOf, hasUpstreamEventId, type ExecutionEvent } from '../domain/execution.js';
import { readJson, readText, readTimestamp } from '../domain/fields.js';
import { builder } from './builder.js';
import { ExecutionRef } from './execution-ref.js';
import { replaced, served } from './served.js';

export const ExecutionEventRef = builder.objectRef<ExecutionEvent>('ExecutionEvent');

/** An event with its cursor: the edges of `Execution.events`, and the new events of a live update. */
export const ExecutionEventEdgeRef = builder.edgeObject({ name: 'ExecutionEventEdge', type: ExecutionEventRef, description: 'An event with its cursor.' });

type EventTextField = 'eventType' | 'level' | 'title' | 'message' | 'nodeId' | 'organizationId' | 'requestId' | 'runId' | 'workflowId';

ExecutionEventRef.implement({
  description:
    'One entry of an execution\'s event log: payment steps, workflow node progress and log lines. Every field but `id` is null when upstream sent none, or sent a value the field cannot hold (then `extensions.warnings` says so).',
  fields: (t) => {
    const text = (name: EventTextField, description: string) =>
      t.string({ nullable: true, description, resolve: (event, _args, context, info) => served(readText(event.source[name]), 'text', context, info) });
    return {
      id: t.id({
        description: 'Id of the event: upstream\'s, or `#<position>` (its place in upstream\'s list, from 0) when upstream sent none; two events may share an id.',
        resolve: (event, _args, context, info) => {
          if (!hasUpstreamEventId(event.source)) replaced(context, info, `upstream sent no usable id; derived from the event's position, #${event.position}.`);
          return eventIdOf(event.source, event.position);
        },
      }),
      executionId: t.id({
        nullable: true,
        description: 'Id of the execution the event belongs to: always the one it came with.',
        resolve: (event, _args, context, info) => {
          const sent = readText(event.source.executionId);
          if (sent !== null && sent !== event.execution.id) replaced(context, info, 'upstream named another execution; served as the one the event came with.');
          return event.execution.id;
        },
      }),
      createdAt: t.field({
        type: 'DateTime',
        nullable: true,
        description: 'When the event happened. Null when upstream sent no readable time; such an event keeps its place in upstream\'s order (README "Paging through events").',
        resolve: (event, _args, context, info) => served(readTimestamp(event.source.createdAt), 'an instant', context, info),
      }),
      eventType: text(
        'eventType',
        'What happened, e.g. `execution.created`, `payment.confirmed`, `workflow.queued`, `node.started`, `node.completed`, `node.failed`, `log`. New types may appear.',
      ),
      level: text('level', 'Severity: `debug`, `info`, `warn` or `error` today; other levels (e.g. `fatal`) may appear.'),
      title: text('title', 'Short human-readable title, if any.'),
      message: text('message', 'Human-readable message, if any.'),
      nodeId: text('nodeId', 'Workflow node the event refers to; null for execution-level events.'),
      data: t.field({
        type: 'JSON',
        nullable: true,
        description: 'Event payload as upstream sent it: any JSON value, or null.',
        resolve: (event) => readJson(event.source.data),
      }),
      organizationId: text('organizationId', 'Organization that owns the execution.'),
      requestId: text('requestId', 'Id of the API request that started the execution (the same on all its events).'),
      runId: text('runId', 'Workflow run the event belongs to.'),
      workflowId: text('workflowId', 'Workflow the event belongs to.'),
      execution: t.field({
        type: ExecutionRef,
        description: 'The execution this event belongs to: the one it came with. Costs no upstream call.',
        resolve: (event) => event.execution,
      }),
    };
  },
});
