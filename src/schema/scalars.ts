import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { builder } from '../builder.js';

builder.addScalarType('DateTime', DateTimeResolver, {
  description:
    'An instant in time as an ISO-8601 string in UTC with milliseconds, e.g. `2026-03-01T12:07:00.000Z`. Inputs may carry an offset.',
});

builder.addScalarType('JSON', JSONResolver, {
  description: 'Free-form JSON as upstream sent it (objects, arrays, strings, numbers, booleans or null).',
});
