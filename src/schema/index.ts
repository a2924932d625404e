/** Imports every type file, then builds the schema. Nothing else lives here. */
import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './execution-status.js';
import './event-filter.js';
import './execution-event.js';
import './execution.js';
import './query.js';
import './subscription.js';

/** The schema, fields sorted so its printed form is stable (schema/schema.graphql). */
export const schema: GraphQLSchema = lexicographicSortSchema(builder.toSchema());
