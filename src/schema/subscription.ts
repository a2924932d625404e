import { MAX_EVENTS_PER_UPDATE, type WatchStep } from '../live/live-executions.js';
import { builder } from './builder.js';
import { ExecutionEventFilterInput } from './event-filter.js';
import { ExecutionEventEdgeRef, servedEdges } from './execution-event.js';
import { ExecutionRef } from './execution-ref.js';
import { eventValueCopies, handOutEvents } from './served.js';
import { eventPagesOf, refusedPage } from './refused-pages.js';

type Update = Extract<WatchStep, { kind: 'update' }>;

const ExecutionUpdateEndEnum = builder.enumType('ExecutionUpdateEnd', {
  description: 'Why a live watch ended with this update.',
  values: {
    EXECUTION_ENDED: { description: 'The execution reached a terminal status: it will not change again.' },
    WATCH_TIME_LIMIT: {
      description: 'The watch reached its time limit while the execution still runs: subscribe again with `eventsAfter` set to the last cursor seen to go on without a gap.',
    },
  } as const,
});

const ExecutionUpdateRef = builder.objectRef<Update>('ExecutionUpdate').implement({
  description: 'One step of a live watch: the execution as of now, and the events upstream appended since the previous update.',
  fields: (t) => ({
    execution: t.field({
      type: ExecutionRef,
      description: 'The execution as of this update; any selection, `events(...)` included.',
      resolve: (update) => update.execution,
    }),
    newEvents: t.field({
      type: [ExecutionEventEdgeRef],
      description: `Events upstream appended since the previous update (after \`eventsAfter\` in the first), in upstream's append order, matching the filter, each with its cursor; at most ${MAX_EVENTS_PER_UPDATE} per update (more arrive over several updates). "New" follows upstream's append position, not \`createdAt\`. An event upstream inserts before events it already listed (its list is in \`createdAt\` order, so one that reaches it late lands before later ones) is new too: it comes once, after the events already delivered.`,
      resolve: (update, _args, context, info) => {
        handOutEvents(
          context,
          update.newEvents.map((edge) => edge.node),
          eventValueCopies(info, [['node']]),
        );
        return servedEdges(update.newEvents, context, { info, routes: (index) => [[index, 'node']] });
      },
    }),
    cursor: t.string({
      description:
        'Where this watch stands in upstream\'s list of events: the cursor of the last event it has gone past (delivered, or left out by the filter), or of the start of the list when it has gone past none. Pass it as `eventsAfter` to resume without a gap.',
      resolve: (update) => update.cursor,
    }),
    isFinal: t.boolean({
      description: 'True on the last update of the watch: the stream completes after it. See `endReason`.',
      resolve: (update) => update.isFinal,
    }),
    endReason: t.field({
      type: ExecutionUpdateEndEnum,
      nullable: true,
      description: 'Why the watch ends here; null unless `isFinal`.',
      resolve: (update) => update.endReason,
    }),
  }),
});

builder.subscriptionType({
  description: 'Watch executions live. Subscriptions run over Server-Sent Events (POST or GET with `Accept: text/event-stream`) and over WebSocket (graphql-ws, same path).',
  fields: (t) => ({
    executionUpdates: t.field({
      type: ExecutionUpdateRef,
      description:
        'Live updates of one execution, pushed when upstream\'s data changes, until it reaches a terminal status (the last update has `isFinal: true`, then the stream completes). The first update comes at once. One upstream poller serves every watch of the same execution by the same caller. Errors: `BAD_USER_INPUT` refuses an `id` or `eventsAfter` it cannot take (see each), or an `events` page below `execution` whose arguments a query would refuse (on this field, before any upstream call, as a query refuses it on `execution`), and ends a watch once upstream\'s list shows that `eventsAfter` names none of its events; `NOT_FOUND`, `UNAUTHENTICATED`, `FORBIDDEN` end the stream; while upstream fails for a while an update carries `UPSTREAM_UNAVAILABLE` and the stream goes on (it ends with it only when upstream never answered for the whole watch); `UPSTREAM_BAD_RESPONSE` ends a watch whose execution finishes in a reading without a list of events, or that upstream answers with a status its contract does not name (a `410`, a `418`: `upstreamStatus` says which, as a query of it gets): subscribe again from the last `cursor`; or with a body past `UPSTREAM_MAX_BODY_BYTES` (as a query gets it, with `extensions.retryable: false`: subscribing again gets the same); `TOO_MANY_SUBSCRIPTIONS` refuses a watch past a bound (with `extensions.retryAfterMs` at one that frees by itself: watches upstream has not answered yet, a full process; subscribe again after that many ms); an update refused as a whole (its selection past a per-request bound, such as more events across `newEvents` than a request may serve: `BAD_USER_INPUT`) ends the stream after it, since the watch had gone past its events: subscribe again from the last `cursor` with a smaller selection; `SHUTTING_DOWN` ends the stream when the gateway shuts down: subscribe again with `eventsAfter` set to the last `cursor`.',
      args: {
        id: t.arg.id({
          required: true,
          description: 'The execution to watch, e.g. `ex_acme_7`. An id outside the allowed pattern (`EXECUTION_ID_PATTERN`) is `BAD_USER_INPUT`, with no upstream call.',
        }),
        eventsAfter: t.arg.string({
          description: 'An events cursor (from `events` or `newEvents`): the first update then carries every event appended after it, so a client that reconnects misses nothing, and sees nothing twice unless upstream inserted or reordered events before those it had listed (the update then starts where the orders part). Any other string (altered, or another execution\'s cursor) is `BAD_USER_INPUT`, with no upstream call.',
        }),
        filter: t.arg({ type: ExecutionEventFilterInput, description: 'Only events matching this filter appear in `newEvents`.' }),
      },
      subscribe: (_root, args, context, info) => {
        // A page below `execution` its arguments alone refuse: refused here, as a query's `execution` refuses it
        // (src/schema/query.ts), on the root field and before any upstream call. Found by the update's `events`,
        // it came on ["executionUpdates", "execution", "events"], once a poller had read upstream for it.
        const refused = refusedPage(eventPagesOf(info, 'execution'), String(args.id));
        // A missing token or an invalid id is named before the page, as a query's `execution` names them.
        if (refused) throw context.loaders.execution.refusedBeforeCall(String(args.id)) ?? refused;
        return context.live.watch(context.scope, { id: String(args.id), eventsAfter: args.eventsAfter ?? null, filter: args.filter ?? null });
      },
      resolve: (step: WatchStep, _args, context) => {
        // Each update gets its own per-request caps and notes.
        context.scope.beginUpdate();
        if (step.kind === 'outage' || step.kind === 'failed') throw step.error;
        // A reading upstream answered with the watch's token.
        if (context.scope.caller) context.scope.onUpstreamReading?.(context.scope.caller.key);
        return step;
      },
    }),
  }),
});
