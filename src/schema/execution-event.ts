import { builder } from './builder.js';
import type { ExecutionEvent } from '../domain/execution.js';
import { ExecutionRef } from './execution-ref.js';

export const ExecutionEventRef = builder.objectRef<ExecutionEvent>('ExecutionEvent');

ExecutionEventRef.implement({
  description: 'One entry of an execution\'s event log: payment steps, workflow node progress and log lines.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Unique id of the event.' }),
    executionId: t.exposeID('executionId', { description: 'Id of the execution the event belongs to.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the event happened.' }),
    eventType: t.exposeString('eventType', {
      description:
        'What happened, e.g. `execution.created`, `payment.confirmed`, `workflow.queued`, `node.started`, `node.completed`, `node.failed`, `log`. New types may appear.',
    }),
    level: t.exposeString('level', {
      description: 'Severity: `debug`, `info`, `warn` or `error` today; other levels (e.g. `fatal`) may appear.',
    }),
    title: t.exposeString('title', { nullable: true, description: 'Short human-readable title, if any.' }),
    message: t.exposeString('message', { nullable: true, description: 'Human-readable message, if any.' }),
    nodeId: t.exposeString('nodeId', {
      nullable: true,
      description: 'Workflow node the event refers to; null for execution-level events.',
    }),
    data: t.expose('data', { type: 'JSON', nullable: true, description: 'Event payload as upstream sent it; may be null.' }),
    organizationId: t.exposeString('organizationId', { description: 'Organization that owns the execution.' }),
    requestId: t.exposeString('requestId', {
      description: 'Id of the API request that started the execution (the same on all its events).',
    }),
    runId: t.exposeString('runId', { description: 'Workflow run the event belongs to.' }),
    workflowId: t.exposeString('workflowId', { description: 'Workflow the event belongs to.' }),
    execution: t.field({
      type: ExecutionRef,
      nullable: true,
      description: 'The execution this event belongs to. Costs no extra upstream call when that execution is already loaded.',
      resolve: (event, _args, context) => context.loaders.execution.load(event.executionId),
    }),
  }),
});
