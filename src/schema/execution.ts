import { responsePathAsArray } from 'graphql';
import { pageEvents, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../domain/event-pages.js';
import type { ExecutionEvent } from '../domain/execution.js';
import { isTerminalStatus, statusOf } from '../domain/execution-status.js';
import { readJson, readText, readTimestamp, UNREADABLE } from '../domain/fields.js';
import { WarningCode } from '../errors.js';
import { EventOrderEnum, ExecutionEventFilterInput } from './event-filter.js';
import { ExecutionEventEdgeRef, ExecutionEventRef } from './execution-event.js';
import { ServedEvent } from './served-event.js';
import { MAX_EVENTS_PER_REQUEST } from '../request/scope.js';
import { ExecutionRef } from './execution-ref.js';
import { ExecutionStatusEnum } from './execution-status.js';
import { jsonValue } from './scalars.js';
import { eventValueCopies, handOutEvents, JSON_WHAT, selects, served } from './served.js';
import type { UpstreamExecution } from '../upstream/envelope.js';

/** The fields of an events page that hand events out; `totalCount` and `pageInfo` do not. */
const HANDED_OUT = new Set(['edges', 'nodes']);
/** The ways down from an events page to its events. */
const LISTED = [['edges', 'node'], ['nodes']] as const;

/**
 * Upstream's execution fields by how they are read, from its documented shape (src/upstream/envelope.ts): a name
 * that is not one of its fields does not typecheck, and a field added there is a text field until listed otherwise.
 */
type JsonField = Extract<keyof UpstreamExecution, 'clientSafeMetadata' | 'requestPayload' | 'responsePayload'>;
type TimeField = Extract<keyof UpstreamExecution, 'createdAt' | 'updatedAt' | 'startedAt' | 'finishedAt'>;
type TextField = Exclude<keyof UpstreamExecution, 'id' | 'status' | JsonField | TimeField>;

ExecutionRef.implement({
  description:
    'One run of a workflow, from payment to completion, as the executions API reports it. All fields come from one upstream call, however many you select. Every field but `id`, `status`, `isTerminal` and `events` is null when upstream sent none, or sent a value the field cannot hold (then `extensions.warnings` says so). A text or JSON field is also null, with `BAD_USER_INPUT`, when serving it would pass the bound on upstream values one result hands out (`UPSTREAM_MAX_BODY_BYTES` characters, reached only by serving long values many times over: aliases, repeated ids).',
  fields: (t) => {
    const text = (name: TextField, description: string) =>
      t.string({ nullable: true, description, resolve: (execution, _args, context, info) => served(readText(execution.source[name]), 'text', context, info, execution) });
    const json = (name: JsonField, description: string) =>
      t.field({
        type: 'JSON',
        nullable: true,
        description,
        resolve: (execution, _args, context, info) => jsonValue(served(readJson(execution.source[name]), JSON_WHAT, context, info, execution)),
      });
    const time = (name: TimeField, description: string) =>
      t.field({
        type: 'DateTime',
        nullable: true,
        description,
        resolve: (execution, _args, context, info) => served(readTimestamp(execution.source[name]), 'an instant', context, info, execution),
      });
    return {
      id: t.exposeID('id', { description: 'Unique id of the execution, e.g. `ex_acme_7`.' }),
      status: t.field({
        type: ExecutionStatusEnum,
        description: 'Where the execution is in its lifecycle. `UNKNOWN` when upstream sent no status, or a value this schema does not know yet (`rawStatus` has it), or one that cannot be read as text (an object, a list, or a number past a double\'s range, with an `UNREADABLE_VALUE` note).',
        resolve: (execution, _args, context, info) => {
          const status = statusOf(execution);
          // UNKNOWN alone cannot tell a status this schema does not know yet from one that is no status at all.
          if (status === 'UNKNOWN' && readText(execution.source.status) === UNREADABLE) {
            context.scope.warn('Execution.status', {
              path: responsePathAsArray(info.path),
              code: WarningCode.UNREADABLE_VALUE,
              message: 'Execution.status: upstream sent a value that is not text; served as UNKNOWN.',
            }, execution);
          }
          return status;
        },
      }),
      rawStatus: t.string({
        nullable: true,
        description: 'The status exactly as upstream sent it (lowercase, e.g. `workflow_running`), including values `status` maps to `UNKNOWN`. Null when upstream sent none, or one that cannot be read as text (an object, a list, or a number past a double\'s range, with an `UNREADABLE_VALUE` note).',
        resolve: (execution, _args, context, info) => served(readText(execution.source.status), 'text', context, info, execution),
      }),
      isTerminal: t.boolean({
        description: 'True once the execution has succeeded, failed or been cancelled; it will not change after that.',
        resolve: (execution) => isTerminalStatus(statusOf(execution)),
      }),
      statusReason: text('statusReason', 'Why the execution is in its status, e.g. the failure cause.'),
      paymentStatus: text('paymentStatus', 'Payment state as upstream names it, e.g. `pending`, `paid`, `refunded`.'),
      checkoutSessionId: text('checkoutSessionId', 'Checkout session that paid for the execution, if any.'),
      orderId: text('orderId', 'Order the execution belongs to, if any.'),
      externalRef: text('externalRef', 'Reference the caller attached when creating the execution, if any.'),
      idempotencyKey: text('idempotencyKey', 'Idempotency key the execution was created with.'),
      initiatedById: text('initiatedById', 'Id of who started the execution (a user, an API key or the system).'),
      initiatedByType: text('initiatedByType', 'Kind of initiator, e.g. `user`, `api_key`, `system`.'),
      organizationId: text('organizationId', 'Organization that owns the execution.'),
      runId: text('runId', 'Workflow run created for this execution.'),
      workflowId: text('workflowId', 'Workflow this execution runs.'),
      sourceEntityId: text('sourceEntityId', 'Id of the entity that triggered the execution, e.g. an invoice.'),
      sourceEntityType: text('sourceEntityType', 'Kind of the triggering entity, e.g. `invoice`.'),
      sourceSystem: text('sourceSystem', 'System the trigger came from, e.g. `billing`.'),
      clientSafeMetadata: json('clientSafeMetadata', 'Metadata that is safe to show in a client UI: any JSON value, as upstream sent it.'),
      requestPayload: json('requestPayload', 'The payload the execution was started with: any JSON value, as upstream sent it.'),
      responsePayload: json('responsePayload', 'The result (or error) the workflow produced: any JSON value, as upstream sent it.'),
      createdAt: time('createdAt', 'When the execution was created.'),
      updatedAt: time('updatedAt', 'When the execution last changed.'),
      startedAt: time('startedAt', 'When the workflow started; null until then.'),
      finishedAt: time('finishedAt', 'When the execution reached a terminal status; null until then.'),
      events: t.connection(
        {
          type: ExecutionEventRef,
          description: `The execution's event log as a cursor connection. Without \`first\` or \`last\` a page holds ${DEFAULT_PAGE_SIZE} events: the first ones (after \`after\`), or with \`before\` alone the ones just before it; at most ${MAX_PAGE_SIZE}. Cursors name events, so they stay valid while the execution grows and when the filter or order changes. Empty when upstream sent no events (with an \`UNREADABLE_VALUE\` note in \`extensions.warnings\` when it sent no list at all, or something else than a list). Errors: a page size outside 0 to ${MAX_PAGE_SIZE}, a cursor this connection did not hand out (another execution's, or altered), more than ${MAX_EVENTS_PER_REQUEST} events handed out across one request's pages, or a page whose selected event values would pass the bound on upstream values one result hands out (\`UPSTREAM_MAX_BODY_BYTES\` characters) are \`BAD_USER_INPUT\`; a cursor naming an event that upstream's reading lacks (a replica behind the one that served it) or where upstream sent no readable list to find it in is \`UPSTREAM_BAD_RESPONSE\` (ask again with it: it stays valid); the field is non-null, so the execution it is on is then null.`,
          args: {
            filter: t.arg({ type: ExecutionEventFilterInput, description: 'Only events matching this filter; `totalCount` counts them.' }),
            order: t.arg({ type: EventOrderEnum, defaultValue: 'ASC', description: 'Order by `createdAt`: `ASC` oldest first, `DESC` newest first.' }),
          },
          resolve: (execution, args, context, info) => {
            if (execution.eventsUnreadable || execution.eventsAbsent) {
              context.scope.warn('Execution.events', {
                path: responsePathAsArray(info.path),
                code: WarningCode.UNREADABLE_VALUE,
                message: execution.eventsUnreadable
                  ? 'Execution.events: upstream sent `events` that is not a list; served as no events.'
                  : 'Execution.events: upstream sent no `events` list (its contract always has one, empty included); served as no events.',
              }, execution);
            }
            const list = { info, routes: (index: number) => [['edges', index, 'node'], ['nodes', index]] };
            const copies = eventValueCopies(info, LISTED);
            const listed: ExecutionEvent[] = [];
            // One filter object per field of the document for the whole request, so it is compiled once (scope.sameFilter).
            const pageArgs = args.filter ? { ...args, filter: context.scope.sameFilter(info.fieldNodes[0]!, args.filter) } : args;
            const page = pageEvents(execution, pageArgs, (event, index) => {
              if (copies.size > 0) listed.push(event);
              return new ServedEvent(event, context, list, index);
            });
            // A page that only counts (`totalCount`, `pageInfo`) hands out no events.
            if (selects(info, HANDED_OUT)) context.scope.takeEvents(page.edges.length);
            handOutEvents(context, listed, copies);
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
        ExecutionEventEdgeRef,
      ),
    };
  },
});
