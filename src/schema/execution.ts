import { pageEvents, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../domain/event-pages.js';
import { isTerminalStatus, toExecutionStatus } from '../domain/execution-status.js';
import { EventOrderEnum, ExecutionEventFilterInput } from './event-filter.js';
import { ExecutionEventRef } from './execution-event.js';
import { ExecutionRef } from './execution-ref.js';
import { ExecutionStatusEnum } from './execution-status.js';

ExecutionRef.implement({
  description:
    'One run of a workflow, from payment to completion, as the executions API reports it. All fields come from one upstream call, however many you select.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Unique id of the execution, e.g. `ex_acme_7`.' }),
    status: t.field({
      type: ExecutionStatusEnum,
      description: 'Where the execution is in its lifecycle. `UNKNOWN` when upstream sent a value this schema does not know yet.',
      resolve: (execution) => toExecutionStatus(execution.status),
    }),
    rawStatus: t.string({
      description: 'The status exactly as upstream sent it (lowercase, e.g. `workflow_running`), including values `status` maps to `UNKNOWN`.',
      resolve: (execution) => execution.status,
    }),
    isTerminal: t.boolean({
      description: 'True once the execution has succeeded, failed or been cancelled; it will not change after that.',
      resolve: (execution) => isTerminalStatus(toExecutionStatus(execution.status)),
    }),
    statusReason: t.exposeString('statusReason', {
      nullable: true,
      description: 'Why the execution is in its status, e.g. the failure cause. Null when upstream gives none.',
    }),
    paymentStatus: t.exposeString('paymentStatus', {
      description: 'Payment state as upstream names it, e.g. `pending`, `paid`, `refunded`.',
    }),
    checkoutSessionId: t.exposeString('checkoutSessionId', { nullable: true, description: 'Checkout session that paid for the execution, if any.' }),
    orderId: t.exposeString('orderId', { nullable: true, description: 'Order the execution belongs to, if any.' }),
    externalRef: t.exposeString('externalRef', { nullable: true, description: 'Reference the caller attached when creating the execution, if any.' }),
    idempotencyKey: t.exposeString('idempotencyKey', { description: 'Idempotency key the execution was created with.' }),
    initiatedById: t.exposeString('initiatedById', { description: 'Id of who started the execution (a user, an API key or the system).' }),
    initiatedByType: t.exposeString('initiatedByType', { description: 'Kind of initiator, e.g. `user`, `api_key`, `system`.' }),
    organizationId: t.exposeString('organizationId', { description: 'Organization that owns the execution.' }),
    runId: t.exposeString('runId', { description: 'Workflow run created for this execution.' }),
    workflowId: t.exposeString('workflowId', { description: 'Workflow this execution runs.' }),
    sourceEntityId: t.exposeString('sourceEntityId', { description: 'Id of the entity that triggered the execution, e.g. an invoice.' }),
    sourceEntityType: t.exposeString('sourceEntityType', { description: 'Kind of the triggering entity, e.g. `invoice`.' }),
    sourceSystem: t.exposeString('sourceSystem', { description: 'System the trigger came from, e.g. `billing`.' }),
    clientSafeMetadata: t.expose('clientSafeMetadata', {
      type: 'JSON',
      nullable: true,
      description: 'Metadata that is safe to show in a client UI. Null when absent.',
    }),
    requestPayload: t.expose('requestPayload', { type: 'JSON', nullable: true, description: 'The payload the execution was started with. Null when absent.' }),
    responsePayload: t.expose('responsePayload', { type: 'JSON', nullable: true, description: 'The result (or error) the workflow produced. Null when absent.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the execution was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the execution last changed.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When the workflow started; null until then.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When the execution reached a terminal status; null until then.' }),
    events: t.connection(
      {
        type: ExecutionEventRef,
        description: `The execution's event log as a cursor connection. Without \`first\` or \`last\` a page holds ${DEFAULT_PAGE_SIZE} events; at most ${MAX_PAGE_SIZE}. Cursors name events, so they stay valid while the execution grows and when the filter changes.`,
        args: {
          filter: t.arg({ type: ExecutionEventFilterInput, description: 'Only events matching this filter; `totalCount` counts them.' }),
          order: t.arg({ type: EventOrderEnum, defaultValue: 'ASC', description: 'Order by `createdAt`: `ASC` oldest first, `DESC` newest first.' }),
        },
        resolve: (execution, args, context) => {
          const page = pageEvents(execution.id, execution.events, args);
          context.scope.takeEvents(page.edges.length);
          return page;
        },
      },
      {
        name: 'ExecutionEventConnection',
        description: 'A page of an execution\'s events.',
        fields: (connection) => ({
          totalCount: connection.int({
            description: 'Number of events that match the filter, across all pages.',
            resolve: (page) => page.totalCount,
          }),
        }),
      },
      { name: 'ExecutionEventEdge', description: 'An event with its cursor.' },
    ),
  }),
});
