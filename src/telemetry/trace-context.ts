/**
 * The W3C Trace Context a request brought, read by the rules of
 * @opentelemetry/core's W3C propagator (https://www.w3.org/TR/trace-context/):
 * what the gateway forwards upstream when tracing is off, and the trace id the
 * access log names.
 */
import { isSpanContextValid, type SpanContext } from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import type { TraceHeaders } from '../upstream/shared-executions.js';

/**
 * The span context of a `traceparent`, or undefined when it is not one: not the
 * format (version `ff`, version `00` with more fields, upper-case hex), or an
 * all-zero trace or parent id.
 */
export function remoteSpanContext(traceparent: string | null | undefined): SpanContext | undefined {
  if (!traceparent) return undefined;
  const parsed = parseTraceParent(traceparent);
  if (!parsed) return undefined;
  const context: SpanContext = { ...parsed, isRemote: true };
  return isSpanContextValid(context) ? context : undefined;
}

/**
 * What is forwarded of a request's trace context: nothing unless its
 * `traceparent` is valid, which is then sent as version 00 (`00-<trace
 * id>-<parent id>-<flags>`, 55 characters: the one version the gateway
 * speaks), with the valid members of its `tracestate` up to the
 * specification's bounds (32 members, 512 characters). A client's headers are
 * never sent on as they came: a `traceparent` that does not parse starts no
 * trace upstream, and a `tracestate` of kilobytes would reach upstream in
 * every call.
 */
export function forwardedTraceContext(traceparent: string | null | undefined, tracestate: string | null | undefined): TraceHeaders | undefined {
  const context = remoteSpanContext(traceparent);
  if (!context) return undefined;
  const flags = context.traceFlags.toString(16).padStart(2, '0');
  const state = tracestate ? new TraceState(tracestate).serialize() : '';
  return { traceparent: `00-${context.traceId}-${context.spanId}-${flags}`, tracestate: state || undefined };
}
