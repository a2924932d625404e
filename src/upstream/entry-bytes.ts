/**
 * What one execution counts against the heap bounds that hold executions: the
 * cache (CACHE_MAX_BYTES, ./shared-executions.ts) and the live pollers' latest
 * readings (LIVE_MAX_HELD_BYTES, src/live/live-executions.ts). Counted from what
 * was read, never by walking the object.
 */
import type { Execution } from '../domain/execution.js';

/**
 * Heap a held execution takes per byte of the body it was read from, per event,
 * and per entry besides (README "Caching" has the figures; `npm run bench:heap`
 * measures them). The body's bytes alone missed events that cost more than their
 * text: each parsed event is an object and a slot in the list, and the events
 * index (src/domain/event-pages.ts) keeps a few numbers and an id for each, none
 * of which grows with the event's text.
 */
export const HEAP_PER_BODY_BYTE = 2.1;
export const HEAP_PER_EVENT = 168;
export const ENTRY_OVERHEAD_BYTES = 4_096;

/** What an execution counts, in bytes. */
export function entryBytes(execution: Pick<Execution, 'bodyBytes'> & { readonly events: { readonly length: number } }): number {
  return ENTRY_OVERHEAD_BYTES + Math.ceil(execution.bodyBytes * HEAP_PER_BODY_BYTE) + execution.events.length * HEAP_PER_EVENT;
}
