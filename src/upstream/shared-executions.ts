/**
 * The one place where loaded executions are shared beyond a single GraphQL
 * request. Everything here is keyed on the caller's identity (a hash of their
 * Authorization header) and the id, so two callers never share an execution,
 * an error or an upstream call.
 *
 * - In flight: concurrent requests by the same caller for the same execution
 *   share one upstream call. It is cancelled once every request waiting on it
 *   has gone away, and leaves the table at that moment, so a later request
 *   starts a fresh call instead of joining a cancelled one.
 * - Cache: terminal executions (succeeded, failed, cancelled) never change, so
 *   they are kept for `terminalTtlMs`, in an LRU bounded by approximate bytes
 *   (./entry-bytes.ts: the body's size scaled by a measured factor). An
 *   execution bigger than the whole bound is not cached. Other executions are
 *   kept only for `activeTtlMs` (0: not at all). Errors are never
 *   cached. A caller holds at most its share (`callerSharePercent`) of a full
 *   cache: past it, room for its next entry is made from its own least recently
 *   used ones, so one caller reading thousands of distinct executions no longer
 *   evicts every other caller's (`#makeRoom`).
 * - With REDIS_URL, a second cache shared by every replica
 *   (src/shared-state/shared-cache.ts) sits behind this one: a local miss
 *   reads it before calling upstream (inside the shared call, so concurrent
 *   requests read it once), and what upstream answers is stored in both.
 * - An id the allow-list refuses fails here, before anything is counted or
 *   shared: it costs no upstream call, and reports none.
 */
import type { SpanContext } from '@opentelemetry/api';
import { LRUCache } from 'lru-cache';
import type { Execution } from '../domain/execution.js';
import { isTerminalStatus, statusOf } from '../domain/execution-status.js';
import type { SharedCache } from '../shared-state/shared-cache.js';
import type { Caller } from './caller.js';
import { abortedError, Cancellation, settleBeforeAbort } from './cancellation.js';
import { entryBytes } from './entry-bytes.js';
import type { ExecutionsClient } from './executions-client.js';
import type { UpstreamCost } from '../client-contract.js';
import { detached } from '../detached-text.js';
import { addExecutionEvent, addJoinedCall, recordingSpanContext } from '../telemetry/execution-events.js';

export interface SharedExecutionsOptions {
  terminalTtlMs: number;
  activeTtlMs: number;
  /** Upper bound of the cache, in approximate bytes (`entryBytes`); 0: no cache. */
  maxBytes: number;
  /** Share (1–100 %) of a full cache's bytes one caller may hold (CALLER_SHARE_PERCENT); absent: 100. */
  callerSharePercent?: number;
  /** The cache shared with the other replicas (REDIS_URL), behind this one. */
  shared?: SharedCache | undefined;
}

/** What the cache holds now; read-only, for tests and diagnostics. */
export interface CacheStats {
  entries: number;
  /** Sum of the entries' `entryBytes`: never above `maxBytes`. */
  bytes: number;
  maxBytes: number;
  /** Callers holding entries, each counted against its share (CALLER_SHARE_PERCENT); one whose entries have all left is not. */
  callers: number;
}

/**
 * What the shared table and the cache have done since start, for metrics
 * (src/telemetry/metrics.ts): plain counts, read when scraped.
 */
export interface SharingCounts {
  /** Executions served from the cache. */
  cacheHits: number;
  /** Lookups neither the cache nor the shared one behind it served (a call was started or joined). */
  cacheMisses: number;
  /** Entries dropped to make room (not those that expired). */
  cacheEvictions: number;
  /** Loads that joined a call already in flight instead of starting one. */
  sharedCalls: number;
  /** Entries stored by a caller past its share of the full cache, which made room from its own entries (`#makeRoom`). */
  cacheShareReached: number;
}

export type { UpstreamCost } from '../client-contract.js';

/** What a load needs from the GraphQL request it serves (src/request/scope.ts). */
export interface LoadScope {
  /** Propagated as `x-request-id` so upstream logs can be joined with ours. */
  readonly requestId: string;
  /** The request's cancellation: its budget spent, or its client gone. */
  readonly cancellation: Cancellation;
  readonly cost: UpstreamCost;
  /** The request's W3C trace context, forwarded upstream (src/upstream/executions-client.ts). */
  readonly traceHeaders?: TraceHeaders | undefined;
}

/** W3C trace context headers, as src/telemetry/trace-context.ts read them off a request. */
export interface TraceHeaders {
  traceparent: string;
  tracestate?: string | undefined;
}

interface InFlight {
  promise: Promise<Execution>;
  cancellation: Cancellation;
  waiters: number;
  /** The recording span the call was made under: those that join it link to it. */
  startedBy: SpanContext | undefined;
}

interface Cached {
  execution: Execution;
  bytes: number;
}

/** What one caller's entries count against the cache: their bytes, and their keys, least recently used first. */
interface Held {
  bytes: number;
  keys: Set<string>;
}

/** The caller key a cache key begins with (`<caller key>:<id>`: a caller key, base64url, holds no colon). */
function callerOfKey(key: string): string {
  return key.slice(0, key.indexOf(':'));
}

export class SharedExecutions {
  readonly #client: ExecutionsClient;
  readonly #options: SharedExecutionsOptions;
  /**
   * Calls in flight by key. A null-prototype object rather than a Map: a
   * long-lived Map whose entries come and go with every request kept finished
   * calls (and the requests they reach) alive past young-generation collections
   * until a full GC (docs/performance.md "What paid in earlier rounds", item 2; `npm run bench:gc`).
   */
  readonly #inFlight: Record<string, InFlight | undefined> = Object.create(null);
  readonly #cache: LRUCache<string, Cached> | undefined;
  /**
   * Keys whose last reading was a running execution, while only finished ones
   * are shared (ACTIVE_CACHE_TTL_MS=0): Redis cannot hold them, so their next
   * load skips the round trip. Once one finishes, the next upstream call finds
   * it so and shares it; the price is at most one upstream call per replica at
   * that moment, against a Redis read on every poll of every running execution.
   */
  readonly #lastSeenRunning: LRUCache<string, true> | undefined;
  /** Caller key → what its entries hold; a caller leaves with its last entry. */
  readonly #held = new Map<string, Held>();
  /** Bytes one caller's entries may count once the cache is full (CALLER_SHARE_PERCENT of `maxBytes`). */
  readonly #shareBytes: number;
  readonly counts: SharingCounts = { cacheHits: 0, cacheMisses: 0, cacheEvictions: 0, sharedCalls: 0, cacheShareReached: 0 };

  constructor(client: ExecutionsClient, options: SharedExecutionsOptions) {
    this.#client = client;
    this.#options = options;
    this.#shareBytes = Math.floor((options.maxBytes * (options.callerSharePercent ?? 100)) / 100);
    if (options.shared && options.activeTtlMs === 0) this.#lastSeenRunning = new LRUCache<string, true>({ max: 100_000 });
    if ((options.terminalTtlMs > 0 || options.activeTtlMs > 0) && options.maxBytes > 0) {
      this.#cache = new LRUCache<string, Cached>({
        maxSize: options.maxBytes,
        // An entry bigger than the whole cache is refused rather than evicting everything for it.
        maxEntrySize: options.maxBytes,
        sizeCalculation: (entry) => entry.bytes,
        ttlAutopurge: false,
        // Read the clock on each lookup instead of caching it behind a 1 ms timer,
        // which under load meant a timer per request.
        ttlResolution: 0,
        // Every way an entry leaves (evicted, expired, replaced, deleted), synchronously: its caller's count follows.
        dispose: (entry, key, reason) => {
          if (reason === 'evict') this.counts.cacheEvictions++;
          this.#forget(key, entry.bytes);
        },
      });
    }
  }

  /**
   * Throws BAD_USER_INPUT unless EXECUTION_ID_PATTERN allows the id. Callers
   * check before `get`, so a refused id never reaches the cache, the table or
   * the cost (./execution-loader.ts), nor counts against a request's limit.
   */
  assertAllowedId(id: string): void {
    this.#client.assertAllowedId(id);
  }

  /**
   * The execution, from the cache, a call in flight or a new upstream call, for
   * an id `assertAllowedId` accepted (the client checks it again before any URL
   * is built). Rejects with a GraphQLError.
   */
  get(id: string, caller: Caller, scope: LoadScope): Promise<Execution> {
    const key = `${caller.key}:${id}`;
    const cached = this.#cache?.get(key);
    const { counts } = this;
    if (cached) {
      scope.cost.cacheHits++;
      counts.cacheHits++;
      this.#touched(caller.key, key);
      // Visible in the operation's trace: this execution cost no upstream call.
      addExecutionEvent('cache hit', id);
      return Promise.resolve(cached.execution);
    }
    let entry = this.#inFlight[key];
    if (entry) {
      if (this.#cache) counts.cacheMisses++;
      scope.cost.sharedCalls++;
      counts.sharedCalls++;
      addJoinedCall(id, entry.startedBy);
    } else entry = this.#start(key, id, caller, scope);
    return this.#wait(key, entry, scope.cancellation);
  }

  #start(key: string, id: string, caller: Caller, scope: LoadScope): InFlight {
    const cancellation = new Cancellation();
    const entry: InFlight = { promise: undefined as unknown as Promise<Execution>, cancellation, waiters: 0, startedBy: recordingSpanContext() };
    // The shared cache only behind a local one: CACHE_MAX_BYTES=0 turns caching off everywhere.
    const shared = this.#cache && !this.#lastSeenRunning?.has(key) && this.#options.shared;
    // A miss is a lookup neither cache served: one Redis serves is a hit alone (gateway_cache_hits_total), not
    // counted as a local miss too, so hits + misses is the lookups made.
    if (this.#cache && !shared) this.counts.cacheMisses++;
    entry.promise = shared
      ? shared.get(caller.authorization, id).then((hit) => {
          if (!hit) {
            this.counts.cacheMisses++;
            return this.#call(key, entry, id, caller, scope, cancellation);
          }
          this.#settled(key, entry);
          scope.cost.cacheHits++;
          this.counts.cacheHits++;
          addExecutionEvent('shared cache hit', id);
          this.#remember(key, caller, hit.execution, hit.expiresAt);
          return hit.execution;
        })
      : this.#call(key, entry, id, caller, scope, cancellation);
    this.#inFlight[key] = entry;
    return entry;
  }

  /** The upstream call of a shared entry. */
  #call(key: string, entry: InFlight, id: string, caller: Caller, scope: LoadScope, cancellation: Cancellation): Promise<Execution> {
    const started = performance.now();
    const { cost } = scope;
    const headers = { authorization: caller.authorization, requestId: scope.requestId, callerKey: caller.key, ...scope.traceHeaders };
    // Counted when sent, not here: the breaker or the bulkhead may refuse it, and then upstream never saw it; nor
    // its time, which was the gateway's (a wait in the bulkhead's queue): `calls: 0` beside `timeMs: 3` read as upstream's.
    let wasSent = false;
    const sent = () => {
      wasSent = true;
      cost.calls++;
    };
    const spent = () => {
      if (wasSent) cost.timeMs += performance.now() - started;
    };
    return this.#client.getExecution(id, headers, cancellation, { sent }).then(
      (execution) => {
        spent();
        this.#settled(key, entry);
        if (this.#lastSeenRunning) {
          if (isTerminalStatus(statusOf(execution))) this.#lastSeenRunning.delete(key);
          // A new key only: a Map keeps the key it was first given, which holds no request's text (../detached-text.ts).
          else if (!this.#lastSeenRunning.has(key)) this.#lastSeenRunning.set(detached(key), true);
        }
        this.#remember(key, caller, execution);
        return execution;
      },
      (error: unknown) => {
        spent();
        this.#settled(key, entry);
        throw error;
      },
    );
  }

  #settled(key: string, entry: InFlight): void {
    if (this.#inFlight[key] === entry) delete this.#inFlight[key];
  }

  /**
   * Waits for a shared call: each waiter stops at its own cancellation (its
   * budget or its client leaving); the call itself is cancelled, and leaves the
   * table, once its last waiter left.
   */
  #wait(key: string, entry: InFlight, cancellation: Cancellation): Promise<Execution> {
    entry.waiters++;
    return settleBeforeAbort(entry.promise, cancellation, () => {
      if (--entry.waiters === 0) {
        if (this.#inFlight[key] === entry) delete this.#inFlight[key];
        entry.cancellation.abort(cancellation.reason);
      }
      return abortedError(cancellation, this.#client.timeoutMs);
    });
  }

  /** The cache's entries and accounted bytes now (all zero without a cache). */
  get cacheStats(): CacheStats {
    const cache = this.#cache;
    return { entries: cache?.size ?? 0, bytes: cache?.calculatedSize ?? 0, maxBytes: cache ? this.#options.maxBytes : 0, callers: this.#held.size };
  }

  /**
   * Caches what was loaded, for its status's time: what upstream answered also
   * in the shared cache; what came from there locally, until `sharedExpiresAt`
   * at the latest (when Redis lets it go, on performance.now()'s clock). A
   * reading whose `events` is no list (absent or null included) is not cached.
   */
  #remember(key: string, caller: Caller, execution: Execution, sharedExpiresAt?: number): void {
    // A reading whose events are no list is a glitch the next call may not repeat: kept, it would hide a finished execution's events for the whole TTL.
    if (!this.#cache || execution.eventsUnreadable || execution.eventsAbsent) return;
    const statusTtl = isTerminalStatus(statusOf(execution)) ? this.#options.terminalTtlMs : this.#options.activeTtlMs;
    // Read from Redis: the time left is measured here, where it is stored, not when Redis answered (the body was
    // read and revived since, which under load took long enough to serve the copy after Redis had let it go).
    const ttl = sharedExpiresAt === undefined ? statusTtl : Math.min(statusTtl, sharedExpiresAt - performance.now());
    if (ttl <= 0) return;
    if (sharedExpiresAt === undefined) this.#options.shared?.set(caller.authorization, execution, ttl);
    const bytes = entryBytes(execution);
    // Bigger than the whole cache: not cached (lru-cache's maxEntrySize says the same).
    if (bytes > this.#options.maxBytes) return;
    this.#makeRoom(caller.key, bytes);
    // The key holds the request's id, which may be cut from its query's text (../detached-text.ts).
    const kept = detached(key);
    this.#cache.set(kept, { execution, bytes }, { ttl });
    let held = this.#held.get(caller.key);
    if (!held) this.#held.set(caller.key, (held = { bytes: 0, keys: new Set() }));
    held.bytes += bytes;
    held.keys.add(kept);
  }

  /**
   * Before a caller's entry of `bytes` is stored: when the cache has no room for it and the caller's entries would
   * count past its share, room is made from its own least recently used entries (as much as the entry needs, or
   * until the caller is back within its share), not from the LRU's oldest, which were other callers' once one
   * caller read many distinct executions: 300 by one token evicted all five another read a moment before (each
   * then went upstream again); now none. Below its share, or while the cache has room, the LRU decides as ever:
   * a lone caller still has the whole cache.
   */
  #makeRoom(caller: string, bytes: number): void {
    const cache = this.#cache!;
    const held = this.#held.get(caller);
    const full = () => cache.calculatedSize + bytes > this.#options.maxBytes;
    if (!held || held.bytes + bytes <= this.#shareBytes || !full()) return;
    this.counts.cacheShareReached++;
    // Deleting the key iterated is safe in a Set's for…of; `dispose` takes it out of `held`.
    for (const key of held.keys) {
      if (held.bytes + bytes <= this.#shareBytes || !full()) return;
      // Dropped to make room, as the LRU's evictions are (gateway_cache_evictions_total).
      this.counts.cacheEvictions++;
      cache.delete(key);
    }
  }

  /** A cache hit: the entry becomes its caller's most recently used. */
  #touched(caller: string, key: string): void {
    const keys = this.#held.get(caller)?.keys;
    if (keys?.delete(key)) keys.add(key);
  }

  /** An entry left the cache: no longer counted against its caller. */
  #forget(key: string, bytes: number): void {
    const caller = callerOfKey(key);
    const held = this.#held.get(caller);
    if (!held?.keys.delete(key)) return;
    held.bytes -= bytes;
    if (held.keys.size === 0) this.#held.delete(caller);
  }
}
