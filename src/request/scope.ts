/**
 * Everything that belongs to one GraphQL request and to nothing else: who is
 * calling, the request id, the request's cancellation (its time budget, or its
 * client leaving), what it cost upstream, and its per-request limits. Made
 * fresh for each request (src/request/context.ts); nothing here outlives it.
 */
import type { EventFilter } from '../domain/event-pages.js';
import type { Execution } from '../domain/execution.js';
import { tooManyEvents, tooManyExecutions, tooManyServedValues, type DataWarning, type TokenInUrl } from '../errors.js';
import { budgetSpentReason, Cancellation, SHUTDOWN_CUT } from '../upstream/cancellation.js';
import type { Caller } from '../upstream/caller.js';
import type { TraceHeaders, UpstreamCost } from '../upstream/shared-executions.js';
import type { GoneCause } from './shutdown-cut.js';

/** Distinct executions one GraphQL request may load (also the cap of `executions(ids)`). */
export const MAX_EXECUTIONS_PER_REQUEST = 100;
/** Events one GraphQL request may return across all its `events` pages. */
export const MAX_EVENTS_PER_REQUEST = 2_000;
/**
 * Notes listed in one result's `extensions.warnings`; past it they are only
 * counted (`extensions.warningsOmitted`, their paths kept for that count). Every field of 2,000 events unreadable
 * made 24,000 notes: a response twelve times the size of its data.
 */
export const MAX_WARNINGS_PER_RESULT = 100;
/**
 * Notes past MAX_WARNINGS_PER_RESULT whose paths are kept to leave out of the count those an
 * error nulled; past it they are counted unchecked. 24,000 kept paths held 2.6 MB per request.
 */
export const MAX_OMITTED_PATHS_CHECKED = 1_000;

/** Tells when the request's client goes away. */
export interface ClientWatch {
  /** Calls `listener` once the client goes away (at once if it already has), with why; returns the unsubscribe. */
  onClientGone(listener: (cause: GoneCause) => void): () => void;
}

export interface ScopeLimits {
  /** Upstream time the request may spend in all, retries included (ms). */
  budgetMs: number;
  /**
   * Characters of upstream values (text and JSON fields) one result may hand
   * out, about (`handOut`): the gateway passes UPSTREAM_MAX_BODY_BYTES, so one
   * whole body always fits; absent, no bound.
   */
  maxServedChars?: number;
}

/**
 * Values shorter than this (in characters) are not counted against
 * `maxServedChars`: counting every id and timestamp would cost each field a
 * call, and short values cannot add up to a response too large to write
 * (2,000 events of 30 aliased fields of 1,023 characters are 61 MB).
 */
export const SERVED_CHARS_COUNTED_FROM = 1024;

/** Where a request's data warnings are also told, once per field and kind for the process (the log). */
export interface WarningLog {
  observe(field: string, warning: DataWarning, origin: WarningOrigin): void;
}

/** Where a warned value came from, for the log line: the request, and the execution when known. */
export interface WarningOrigin {
  /** The gateway's request id (`x-request-id`). */
  requestId: string;
  executionId?: string;
}

/**
 * A class, not an object literal with getters over closures: made once per
 * request, such a literal (which reaches the request through the client watch)
 * kept whole requests alive past young-generation collections (docs/performance.md
 * "What paid in earlier rounds", item 1).
 */
export class RequestScope {
  /** What this request cost upstream; reported in `extensions.upstream`. */
  readonly cost: UpstreamCost = { calls: 0, cacheHits: 0, sharedCalls: 0, timeMs: 0 };
  /** Values served as null or replaced, for `extensions.warnings`; made on the first. */
  warnings: DataWarning[] | undefined;
  /**
   * Paths of the notes past MAX_WARNINGS_PER_RESULT, for `extensions.warningsOmitted`. Their paths
   * (already made when the note was given) are kept so that count, like the list, can leave out notes that
   * point into a part of the result an error nulled (src/pipeline/execution-finish.ts).
   */
  omittedWarningPaths: Array<DataWarning['path']> | undefined = undefined;
  /** Notes past both caps: in `extensions.warningsOmitted`, unchecked. */
  omittedUnchecked = 0;
  /** The request's `traceparent` (and `tracestate`), when it brought one: forwarded upstream. */
  traceHeaders: TraceHeaders | undefined = undefined;
  /**
   * Called each time an execution upstream answered with this request's token (from upstream, a call
   * in flight or this caller's cache) is handed to it: a query's loads and a live watch's updates. The
   * WebSocket edge counts only such operations as use of a connection, and a connection so served as its
   * caller's (src/server/websocket.ts). Given the caller's key (src/upstream/caller.ts `Caller`), never the token.
   */
  onUpstreamReading: ((callerKey: string) => void) | undefined = undefined;
  /**
   * The names of a WebSocket's connectionParams keys when none held a token the gateway reads (`authToken`,
   * `headers.token`): named by the UNAUTHENTICATED refusal (src/errors.ts `unauthenticated`). Names only, never values.
   */
  unreadTokenParams: readonly string[] | undefined = undefined;
  /**
   * The names of the request URL's parameters that look like a token (`?token=`), when no caller was named: named by
   * the UNAUTHENTICATED refusal, which says the gateway never reads a token from a URL. Names only, never values.
   */
  tokenInUrl: TokenInUrl | undefined = undefined;
  #executions = 0;
  #events = 0;
  #servedChars = 0;
  /** `sameFilter`'s objects, by the `events` field they are of; made on the first filter. */
  #filters: WeakMap<object, EventFilter> | undefined;
  #cancellation: Cancellation | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;

  constructor(
    readonly requestId: string,
    /** Null when the request carried no usable Authorization header. */
    readonly caller: Caller | null,
    private readonly watchClient: ClientWatch,
    private readonly limits: ScopeLimits,
    private readonly warningLog: WarningLog,
  ) {}

  /** Calls `listener` once the client goes away (a live watch ends with it); returns the unsubscribe. */
  onClientGone(listener: (cause: GoneCause) => void): () => void {
    return this.watchClient.onClientGone(listener);
  }

  /**
   * Starts the next update of a live subscription: the per-request counts
   * (events handed out, warnings, upstream cost) start over, so each update
   * gets its own caps and reports its own notes.
   */
  beginUpdate(): void {
    this.#events = 0;
    this.#servedChars = 0;
    this.warnings = undefined;
    this.omittedWarningPaths = undefined;
    this.omittedUnchecked = 0;
    this.cost.calls = this.cost.cacheHits = this.cost.sharedCalls = this.cost.timeMs = 0;
  }

  /**
   * Notes a value served as null or replaced; `field` is `Type.field`, for the
   * process log. `from` is the execution the value was read from: the note names
   * the upstream response it came in (`upstreamRequestId`), when upstream named it.
   */
  warn(field: string, warning: DataWarning, from?: Pick<Execution, 'id' | 'upstreamRequestId'>): void {
    if (from?.upstreamRequestId !== undefined) warning.upstreamRequestId = from.upstreamRequestId;
    const warnings = (this.warnings ??= []);
    if (warnings.length < MAX_WARNINGS_PER_RESULT) warnings.push(warning);
    else if ((this.omittedWarningPaths ??= []).length < MAX_OMITTED_PATHS_CHECKED) this.omittedWarningPaths.push(warning.path);
    else this.omittedUnchecked++;
    this.warningLog.observe(field, warning, from ? { requestId: this.requestId, executionId: from.id } : { requestId: this.requestId });
  }

  /**
   * Fired when the client goes away or the request's budget is spent. Made on
   * the request's first upstream call, so a request answered from the cache
   * arms no timer, and the budget counts upstream time only.
   */
  get cancellation(): Cancellation {
    if (!this.#cancellation) {
      // Every execution the request waits on listens to it; Node would warn past 10,
      // which is a normal request here, not a leak.
      const made = new Cancellation(4 * MAX_EXECUTIONS_PER_REQUEST);
      this.#cancellation = made;
      const { budgetMs } = this.limits;
      this.#timer = setTimeout(() => made.abort(budgetSpentReason(budgetMs)), budgetMs);
      this.#timer.unref();
      this.#unwatch = this.watchClient.onClientGone((cause) =>
        made.abort(cause === 'shutdown' ? new DOMException('The gateway shut down.', SHUTDOWN_CUT) : new DOMException('The client went away.', 'AbortError')),
      );
    }
    return this.#cancellation;
  }

  /** Counts one more distinct execution; throws BAD_USER_INPUT past MAX_EXECUTIONS_PER_REQUEST. */
  takeExecution(): void {
    if (++this.#executions > MAX_EXECUTIONS_PER_REQUEST) {
      throw tooManyExecutions(MAX_EXECUTIONS_PER_REQUEST);
    }
  }

  /**
   * The `filter` of the `events` field `field` (its node in the document) as the request's first page of it got it:
   * one object for every page of that field, however many executions it pages (100 ids under 30 aliases are 3,000),
   * so the filter is compiled once per field (src/domain/event-pages.ts remembers it by object). graphql-js makes a
   * new object for each page from a literal or from `{ levels: $levels }`; within one request, one field's argument
   * is always the same value.
   */
  sameFilter(field: object, filter: EventFilter): EventFilter {
    const filters = (this.#filters ??= new WeakMap());
    const first = filters.get(field);
    if (first) return first;
    filters.set(field, filter);
    return filter;
  }

  /** Counts events handed out; throws BAD_USER_INPUT past MAX_EVENTS_PER_REQUEST. */
  takeEvents(count: number): void {
    this.#events += count;
    if (this.#events > MAX_EVENTS_PER_REQUEST) {
      throw tooManyEvents(MAX_EVENTS_PER_REQUEST);
    }
  }

  /**
   * Counts a long value a field hands out (`size`: about its characters as JSON, from
   * src/domain/fields.ts `servedSize`); throws BAD_USER_INPUT once the result
   * would hold more than `maxServedChars`. The same large payload selected under
   * many aliases, for an id repeated in `executions(ids)`, or through each event's
   * `execution`, is one value many times over: 29 aliases of 100 copies of a
   * 200 KB payload made a 580 MB response, past the longest string V8 makes, and
   * the client got a 500 after 740 MB of memory.
   */
  handOut(size: number): void {
    if (size < SERVED_CHARS_COUNTED_FROM) return;
    this.#servedChars += size;
    const max = this.limits.maxServedChars;
    if (max !== undefined && this.#servedChars > max) {
      throw tooManyServedValues(max);
    }
  }

  /** Releases the budget timer and the client watch once the request's work is done. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#unwatch?.();
  }
}
