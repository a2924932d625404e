/**
 * Events on the active span (the operation's, or a live poll's) that name an
 * execution, as `execution_gateway.execution_id`: `cache hit`, `joined a call
 * in flight` (with a link to the span that made the call), `shared cache hit`,
 * `upstream call refused`.
 */
import { trace, type Attributes, type SpanContext } from '@opentelemetry/api';
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

/** The active span's context when it records: what a request that joins the upstream call made under it links to. */
export function recordingSpanContext(): SpanContext | undefined {
  const span = trace.getActiveSpan();
  return span?.isRecording() ? span.spanContext() : undefined;
}

/**
 * `joined a call in flight` on the active span, and a link to `startedBy`, the span of the operation (or live poll)
 * that made the call: the upstream call's CLIENT span is that span's child, in its trace, and this operation waited
 * on it with no span of its own. Without the link a trace showed the wait and not where to find what it waited on.
 */
export function addJoinedCall(id: string, startedBy: SpanContext | undefined): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  const execution = detached(id);
  span.addEvent('joined a call in flight', { 'execution_gateway.execution_id': execution });
  if (startedBy) span.addLink({ context: startedBy, attributes: { 'execution_gateway.execution_id': execution } });
}
