/**
 * What the gateway's bounds on heap add up to, against the heap V8 may grow to: `--max-old-space-size` (in
 * NODE_OPTIONS, say), or node's default for the machine. The caches and the live readings are bounded in bytes,
 * and the upstream bodies read at once by UPSTREAM_MAX_BYTES_IN_FLIGHT (one of UPSTREAM_MAX_BODY_BYTES at least); a process whose bounds add up past its heap
 * runs out of memory at them (V8 aborts the process: its requests get no answer), where bounds that fit refuse
 * what would pass them with a code. A 64 MiB heap took the defaults without a word, and one query of a 17.5 MB
 * execution aborted the worker.
 */
import { getHeapStatistics } from 'node:v8';
import type { GatewayConfig } from '../config.js';
import { entryBytes } from '../upstream/entry-bytes.js';

/** The bounds that hold heap, by the setting that bounds each, in bytes. */
export type HeapBounds = Record<'CACHE_MAX_BYTES' | 'DOCUMENT_CACHE_MAX_BYTES' | 'LIVE_MAX_HELD_BYTES' | 'UPSTREAM_MAX_BYTES_IN_FLIGHT', number>;

/**
 * The heap each bound lets the gateway hold at once, in bytes: the caches and the live readings full, and the
 * upstream bodies in flight read and parsed (counted as the cache counts an execution, ../upstream/entry-bytes.ts):
 * UPSTREAM_MAX_BYTES_IN_FLIGHT of them, or one of UPSTREAM_MAX_BODY_BYTES when that is more (a lone body is never
 * refused, ../upstream/body-budget.ts).
 */
export function heapBounds(config: Pick<GatewayConfig, 'cache' | 'live' | 'upstream'>): HeapBounds {
  return {
    CACHE_MAX_BYTES: config.cache.maxBytes,
    DOCUMENT_CACHE_MAX_BYTES: config.cache.documentMaxBytes,
    LIVE_MAX_HELD_BYTES: config.live.maxHeldBytes,
    UPSTREAM_MAX_BYTES_IN_FLIGHT: entryBytes({ bodyBytes: Math.max(config.upstream.maxBytesInFlight, config.upstream.maxBodyBytes), events: [] }),
  };
}

/**
 * The setting(s) that bound the upstream term, the larger of UPSTREAM_MAX_BYTES_IN_FLIGHT and UPSTREAM_MAX_BODY_BYTES:
 * the advice named UPSTREAM_MAX_BODY_BYTES alone, and with the defaults (both 128 MiB) lowering it alone left the sum as it was.
 */
function upstreamBound({ upstream }: Pick<GatewayConfig, 'upstream'>): string {
  if (upstream.maxBytesInFlight > upstream.maxBodyBytes) return 'UPSTREAM_MAX_BYTES_IN_FLIGHT';
  if (upstream.maxBodyBytes > upstream.maxBytesInFlight) return 'UPSTREAM_MAX_BODY_BYTES';
  return 'UPSTREAM_MAX_BYTES_IN_FLIGHT together with UPSTREAM_MAX_BODY_BYTES (the larger of the two counts)';
}

/**
 * The warning for bounds that add up past `heapLimitBytes` (V8's `heap_size_limit` by default), with the fields
 * of its log line (every figure in MiB, each bound's by its setting); undefined when they fit.
 */
export function heapOverrun(
  config: Pick<GatewayConfig, 'cache' | 'live' | 'upstream'>,
  heapLimitBytes: number = getHeapStatistics().heap_size_limit,
): { fields: { heapLimitMiB: number; totalMiB: number; boundsMiB: HeapBounds }; message: string } | undefined {
  const bounds = heapBounds(config);
  const total = Object.values(bounds).reduce((sum, each) => sum + each, 0);
  if (total <= heapLimitBytes) return undefined;
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  const boundsMiB = Object.fromEntries(Object.entries(bounds).map(([setting, bytes]) => [setting, mib(bytes)])) as HeapBounds;
  return {
    fields: { heapLimitMiB: mib(heapLimitBytes), totalMiB: mib(total), boundsMiB },
    message:
      `the heap bounds add up to ${mib(total)} MiB, past the heap limit of ${mib(heapLimitBytes)} MiB: at them the process runs out of memory ` +
      `instead of refusing what passes them; lower CACHE_MAX_BYTES, LIVE_MAX_HELD_BYTES, DOCUMENT_CACHE_MAX_BYTES or ${upstreamBound(config)}, or raise --max-old-space-size`,
  };
}
