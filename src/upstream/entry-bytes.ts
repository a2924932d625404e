/**
 * What one execution counts against the heap bounds that hold executions: the
 * cache (CACHE_MAX_BYTES, ./shared-executions.ts) and the live pollers' latest
 * readings (LIVE_MAX_HELD_BYTES, src/live/live-executions.ts). Counted from what
 * was read, never by walking the object.
 */
import type { Execution } from '../domain/execution.js';

/**
 * Heap a held execution takes per byte of the body it was read from, and per
 * entry besides (README "Caching" has the figures; `npm run bench:heap` measures them).
 */
export const HEAP_PER_BODY_BYTE = 2.1;
export const ENTRY_OVERHEAD_BYTES = 4_096;

/** What an execution counts, in bytes. */
export function entryBytes(execution: Pick<Execution, 'bodyBytes'>): number {
  return ENTRY_OVERHEAD_BYTES + Math.ceil(execution.bodyBytes * HEAP_PER_BODY_BYTE);
}
