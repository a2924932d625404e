/**
 * The one place where loaded executions are shared beyond a single GraphQL
 * request. Everything here is keyed on the caller's identity (a hash of their
 * Authorization header) and the id, so two callers never share a result, an
 * error or an in-flight call.
 *
 * - In flight: concurrent requests by the same caller for the same execution
 *   share one upstream call. It is cancelled only when every request waiting on
 *   it has gone away.
 * - Cache: terminal executions (succeeded, failed, cancelled) never change, so
 *   they are kept for `terminalTtlMs`, in an LRU bounded by approximate bytes.
 *   Other executions are kept only for `activeTtlMs` (default 0: not at all).
 *   Errors are never cached.
 */
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isTerminalStatus, toExecutionStatus } from '../domain/execution-status.js';
import { abortedError, settleBeforeAbort } from './abort.js';
import { Cancellation } from './cancellation.js';
import type { ExecutionRecord, ExecutionsClient, UpstreamCall } from './executions-client.js';

export interface SharedExecutionsOptions {
  terminalTtlMs: number;
  activeTtlMs: number;
  /** Upper bound of the cache, in approximate bytes of upstream body. */
  maxBytes: number;
}

/** What one GraphQL request's upstream work cost; reported in `extensions.upstream`. */
export interface UpstreamStats {
  calls: number;
  cacheHits: number;
  sharedCalls: number;
  timeMs: number;
}

export function emptyStats(): UpstreamStats {
  return { calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 };
}

interface InFlight {
  promise: Promise<ExecutionRecord>;
  cancellation: Cancellation;
  waiters: number;
}

interface Cached {
  record: ExecutionRecord;
  bytes: number;
}

export class SharedExecutions {
  readonly #client: ExecutionsClient;
  readonly #options: SharedExecutionsOptions;
  /**
   * Calls in flight by key. A null-prototype object rather than a Map: a
   * long-lived Map whose entries come and go with every request kept finished
   * calls (and the requests they reach) alive past young-generation collections
   * until a full GC, about 1 MB promoted per scavenge under load; with a
   * dictionary object 0.25 MB (measured with --trace-gc, `npm run bench:gc`).
   * Most likely V8's link from each hash table a Map replaces to its successor,
   * kept for live iterators, lets one promoted table hold the newer ones.
   */
  readonly #inFlight: Record<string, InFlight | undefined> = Object.create(null);
  readonly #cache: LRUCache<string, Cached> | undefined;

  constructor(client: ExecutionsClient, options: SharedExecutionsOptions) {
    this.#client = client;
    this.#options = options;
    if (options.terminalTtlMs > 0 || options.activeTtlMs > 0) {
      this.#cache = new LRUCache<string, Cached>({
        maxSize: options.maxBytes,
        sizeCalculation: (entry) => entry.bytes,
        ttlAutopurge: false,
        // Read the clock on each lookup instead of caching it behind a 1 ms timer,
        // which under load meant a timer per request.
        ttlResolution: 0,
      });
    }
  }

  /**
   * The caller's identity: a hash, so tokens are never kept as keys in memory
   * dumps or logs. The one-shot `hash` (Node 20.12+) skips the Hash object.
   */
  static callerKey(authorization: string): string {
    return hash('sha256', authorization, 'base64url');
  }

  async get(id: string, call: UpstreamCall, callerKey: string, stats: UpstreamStats): Promise<ExecutionRecord> {
    const key = `${callerKey}:${id}`;
    const cached = this.#cache?.get(key);
    if (cached) {
      stats.cacheHits++;
      return cached.record;
    }

    let entry = this.#inFlight[key];
    if (entry) stats.sharedCalls++;
    else entry = this.#start(key, id, call, stats);
    return this.#wait(entry, call.signal);
  }

  #start(key: string, id: string, call: UpstreamCall, stats: UpstreamStats): InFlight {
    const cancellation = new Cancellation();
    const started = performance.now();
    stats.calls++;
    const settled = () => {
      stats.timeMs += performance.now() - started;
      delete this.#inFlight[key];
    };
    const promise = this.#client.getExecution(id, { authorization: call.authorization, requestId: call.requestId, signal: cancellation }).then(
      (record) => {
        settled();
        this.#remember(key, record);
        return record;
      },
      (error: unknown) => {
        settled();
        throw error;
      },
    );
    const entry: InFlight = { promise, cancellation, waiters: 0 };
    this.#inFlight[key] = entry;
    return entry;
  }

  /**
   * Waits for a shared call: each waiter stops at its own signal (its budget or
   * its client leaving); the call itself is cancelled once its last waiter left.
   */
  #wait(entry: InFlight, signal: Cancellation | undefined): Promise<ExecutionRecord> {
    entry.waiters++;
    return settleBeforeAbort(entry.promise, signal, () => {
      if (--entry.waiters === 0) entry.cancellation.abort(signal?.reason);
      return abortedError(signal, this.#client.timeoutMs);
    });
  }

  #remember(key: string, record: ExecutionRecord): void {
    if (!this.#cache) return;
    const ttl = isTerminalStatus(toExecutionStatus(record.status)) ? this.#options.terminalTtlMs : this.#options.activeTtlMs;
    if (ttl <= 0) return;
    this.#cache.set(key, { record, bytes: approximateBytes(record) }, { ttl });
  }
}

/** Rough in-memory size: enough to bound the cache, far cheaper than serializing. */
function approximateBytes(record: ExecutionRecord): number {
  return 2_048 + record.events.length * 600;
}
