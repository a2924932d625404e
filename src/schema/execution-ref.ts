/** The Execution type's reference, apart from its fields so that types that point at it avoid an import cycle. */
import { builder } from '../builder.js';
import type { ExecutionRecord } from '../upstream/executions-client.js';

export const ExecutionRef = builder.objectRef<ExecutionRecord>('Execution');
