/**
 * The cache of executions shared by every replica through Redis, behind each
 * replica's own (src/upstream/shared-executions.ts), which stays in front so
 * hot reads pay no round trip. Keyed exactly as the local one: the caller's
 * tag (an HMAC of its Authorization, ./redis-store.ts) and the id, so an entry
 * is never readable with another caller's key. What is cached, and for how
 * long, is the local cache's rule; executions whose stored JSON is over
 * REDIS_CACHE_MAX_VALUE_BYTES stay local, and a value read that is larger is
 * no entry. Each value is sealed to its key (./redis-store.ts): one read under
 * another key, or written by anyone without the key secret, is no entry either.
 *
 * It never fails a request: a read that errs or passes REDIS_COMMAND_TIMEOUT_MS
 * is a miss, a write that fails is dropped; both are counted.
 */
import type { Execution } from '../domain/execution.js';
import { executionIdOf, isObject } from '../domain/execution.js';
import { SEAL_BYTES, type RedisStore } from './redis-store.js';
import { storedJson } from '../domain/json-depth.js';

/** What the shared cache has done since start, for metrics; plain counts. */
export interface SharedCacheCounts {
  hits: number;
  misses: number;
  /** Reads and writes that failed or timed out (each read also counts as a miss). */
  errors: number;
  /** Executions not stored because their JSON was over the bound. */
  tooLarge: number;
}

/** The stored value: the execution as the gateway holds it, without its id (the key has it). */
interface Stored {
  source: Record<string, unknown>;
  events: unknown[];
  eventsUnreadable?: boolean;
  bodyBytes: number;
  /** Upstream's id of the response it was read from, when it sent one (data warnings name it). */
  upstreamRequestId?: string;
  /** The charset upstream declared that the gateway does not know (the execution's note says so). */
  unknownCharset?: string;
}

export class SharedCache {
  readonly counts: SharedCacheCounts = { hits: 0, misses: 0, errors: 0, tooLarge: 0 };

  constructor(
    private readonly store: RedisStore,
    private readonly maxValueBytes: number,
  ) {}

  /**
   * The execution `id` as cached for this caller and when Redis lets it go
   * (`expiresAt`, on `performance.now()`'s clock: a copy kept locally must
   * expire no later, however long it takes to be stored), or undefined
   * (absent, unreadable, or Redis unavailable). One round trip; never rejects.
   */
  async get(authorization: string, id: string): Promise<{ execution: Execution; expiresAt: number } | undefined> {
    if (!this.store.up) {
      this.counts.misses++;
      return undefined;
    }
    const key = this.store.key('cache', this.store.callerTag(authorization), id);
    let replies: Array<[Error | null, unknown]> | null;
    const asked = performance.now();
    try {
      replies = await this.store.client.pipeline().get(key).pttl(key).exec();
    } catch (error) {
      this.store.failed(error, 'cache');
      replies = null;
    }
    const failure = replies?.find(([error]) => error)?.[0];
    if (!replies || failure) {
      if (failure) this.store.failed(failure, 'cache');
      this.counts.errors++;
      this.counts.misses++;
      return undefined;
    }
    const [[, text], [, pttl]] = replies as [[null, string | null], [null, number]];
    // Counted from when it was asked, so the local copy never outlives Redis's by the round trip.
    const expiresAt = asked + pttl;
    const ttlMs = expiresAt - performance.now();
    // Never parsed past the bound: the local cache's size accounting trusts what it holds.
    const json = text === null || ttlMs <= 0 || text.length > this.maxValueBytes + SEAL_BYTES ? undefined : this.store.unseal(key, text);
    const execution = json === undefined ? undefined : revive(json, id);
    if (!execution) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    return { execution, expiresAt };
  }

  /** Stores the execution for `ttlMs`, in the background; a failure is counted and dropped. */
  set(authorization: string, execution: Execution, ttlMs: number): void {
    if (!this.store.up || ttlMs <= 0) return;
    const stored: Stored = { source: execution.source as Record<string, unknown>, events: execution.events as unknown[], bodyBytes: execution.bodyBytes };
    if (execution.eventsUnreadable) stored.eventsUnreadable = true;
    if (execution.upstreamRequestId !== undefined) stored.upstreamRequestId = execution.upstreamRequestId;
    if (execution.unknownCharset !== undefined) stored.unknownCharset = execution.unknownCharset;
    // Numbers past a double's range kept as such: read back, their fields carry the notes they carried fresh.
    const text = storedJson(stored);
    // Length in UTF-16 units is at most the UTF-8 bytes' count ×1 for ASCII; the bound is on bytes.
    if (text.length > this.maxValueBytes || Buffer.byteLength(text) > this.maxValueBytes) {
      this.counts.tooLarge++;
      return;
    }
    const key = this.store.key('cache', this.store.callerTag(authorization), execution.id);
    this.store.client.set(key, this.store.seal(key, text), 'PX', ttlMs).catch((error: unknown) => {
      this.counts.errors++;
      this.store.failed(error, 'cache');
    });
  }
}

/** The execution from a stored value; undefined when the value is not one this version wrote for `id`. */
function revive(text: string, id: string): Execution | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || !isObject(value.source) || !Array.isArray(value.events) || typeof value.bodyBytes !== 'number') return undefined;
  // A byte count: anything else (a negative one made the local cache's size calculation throw, failing the request) was not written here.
  if (!Number.isSafeInteger(value.bodyBytes) || value.bodyBytes < 0) return undefined;
  // The execution served under an id is always that id's (the rule the upstream client applies too).
  if (executionIdOf(value.source) !== id) return undefined;
  return {
    id,
    source: value.source,
    events: value.events,
    // At least the stored JSON's length: the local cache counts an entry's heap by it.
    bodyBytes: Math.max(value.bodyBytes, text.length),
    ...(value.eventsUnreadable === true ? { eventsUnreadable: true } : {}),
    ...(typeof value.upstreamRequestId === 'string' ? { upstreamRequestId: value.upstreamRequestId } : {}),
    ...(typeof value.unknownCharset === 'string' ? { unknownCharset: value.unknownCharset } : {}),
  };
}
