/** The Execution type's reference, apart from its fields so that types that point at it avoid an import cycle. */
import { builder } from './builder.js';
import type { Execution } from '../domain/execution.js';

export const ExecutionRef = builder.objectRef<Execution>('Execution');
