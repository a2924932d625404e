/**
 * The Pothos SchemaBuilder and its plugins: configuration only, no types.
 * Relay provides the spec-shaped connection types; DataLoader is used directly
 * (src/upstream/execution-loader.ts) so that loaders are explicit, named, and
 * bound to the caller in the per-request context.
 */
import SchemaBuilder from '@pothos/core';
import RelayPlugin from '@pothos/plugin-relay';
import type { Instant } from '../domain/fields.js';
import type { GatewayContext } from '../request/context.js';

export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  Scalars: {
    DateTime: { Input: Instant; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
  // Non-null unless a field says otherwise: clients get precise generated types.
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [RelayPlugin],
  relay: {
    cursorType: 'String',
    // The API has no global object identification; ids are upstream's own.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    nodesOnConnection: {
      description: 'The nodes of `edges`, for clients that do not need cursors per item.',
    },
    pageInfoTypeOptions: {
      description: 'Where a page sits in its connection, per the GraphQL Cursor Connections spec.',
    },
    hasNextPageFieldOptions: {
      description:
        'Paging forward (`first`; or neither `first` nor `last`, unless `before` comes without `after`): true when more items follow this page up to `before` (or the end). Paging backward (`last`, or `before` alone): true when an item the filter keeps lies at or after `before`\'s event (that event included), false without `before`. The Relay connection spec\'s rule.',
    },
    hasPreviousPageFieldOptions: {
      description:
        'Paging backward (`last`, or `before` alone): true when more items precede this page down to `after` (or the start). Paging forward: true when an item the filter keeps lies at or before `after`\'s event (that event included), false without `after`. The Relay connection spec\'s rule.',
    },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page; null when the page is empty.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of this page; null when the page is empty.' },
    edgesFieldOptions: { description: 'The items of this page with their cursors.' },
    pageInfoFieldOptions: { description: 'How to fetch the pages before and after this one.' },
    cursorFieldOptions: { description: 'Opaque cursor of this item; pass it as `after` or `before` to page from here.' },
    nodeFieldOptions: { description: 'The item.' },
    firstArgOptions: { description: 'Return at most this many items from the start (after `after`), 0 to 100; outside that range `BAD_USER_INPUT` (a literal so large that the operation passes its static cost limit, `OPERATION_MAX_COST`, is refused first, in validation: the whole request is `GRAPHQL_VALIDATION_FAILED`, with no `data`).' },
    lastArgOptions: { description: 'Return at most this many items from the end (before `before`), 0 to 100; outside that range `BAD_USER_INPUT` (a literal so large that the operation passes its static cost limit, `OPERATION_MAX_COST`, is refused first, in validation: the whole request is `GRAPHQL_VALIDATION_FAILED`, with no `data`).' },
    afterArgOptions: {
      description: 'Return items after this cursor: one this connection handed out, under any filter or order, or the `cursor` of an `executionUpdates` update of the same execution (before it has gone past any event, that names the start of the list: the page then starts at the first event). Any other string is `BAD_USER_INPUT`.',
    },
    beforeArgOptions: {
      description:
        'Return items before this cursor: one this connection handed out, under any filter or order, or the `cursor` of an `executionUpdates` update of the same execution (the start of the list has no items before it). Any other string is `BAD_USER_INPUT`. Alone (without `first`, `last` or `after`) it pages backward: the default page size just before it.',
    },
  },
});
