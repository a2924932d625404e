/**
 * Events on the active span (the operation's, or a live poll's) that name an
 * execution, as `execution_gateway.execution_id`: `cache hit`, `joined a call
 * in flight`, `shared cache hit`, `upstream call refused`.
 */
import { trace, type Attributes } from '@opentelemetry/api';
import { detached } from '../detached-text.js';

/**
 * Adds event `name` with `id` and `attributes` to the active span, if one
 * records. The id is a copy (src/detached-text.ts): a finished span waits in
 * the exporter's queue (up to 2,048 spans) after its request, and an id written
 * as a literal is a slice of that request's text.
 */
export function addExecutionEvent(name: string, id: string, attributes?: Attributes): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.addEvent(name, { ...attributes, 'execution_gateway.execution_id': detached(id) });
}
