/** Imports every type file, then builds the schema. Nothing else lives here. */
import { GraphQLSchema, lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './execution-status.js';
import './event-filter.js';
import './execution-event.js';
import './execution.js';
import './query.js';
import './subscription.js';

/** What introspection's `__schema.description` says, for registries and explorers; Pothos's toSchema takes none. */
const DESCRIPTION =
  'Workflow executions and their events, read from the executions API with the caller\'s own token. ' +
  'Every error carries a stable `extensions.code`; a value upstream sent that cannot be served is null with a note in `extensions.warnings`.';

/** The schema, fields sorted so its printed form is stable (schema/schema.graphql). */
export const schema: GraphQLSchema = lexicographicSortSchema(new GraphQLSchema({ ...builder.toSchema().toConfig(), description: DESCRIPTION }));
