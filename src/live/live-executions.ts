/**
 * Live executions: the source of `Subscription.executionUpdates`. Each watch
 * is one subscription; watches of the same execution by the same caller share
 * one poller (./poller.ts), keyed like the cache, so callers never share.
 *
 * A watch yields updates: the first at once (the current execution, and every
 * event after `eventsAfter`), then one whenever upstream's data changed (and one
 * when upstream answers again after an outage notice, changed or not), with
 * the events appended since the previous update in append order, at most
 * `MAX_EVENTS_PER_UPDATE` per update (more arrive over several). It ends with
 * a final update when the execution reaches a terminal status or the watch
 * reaches its time limit; with an error when the execution is gone or the
 * token no longer sees it; at once, silently, when its client leaves; and
 * with SHUTTING_DOWN when the process drains (`shutDown`).
 */
import { GraphQLError } from 'graphql';
import { appendedEvents, checkEventCursor, cursorBefore, positionAfter, type EventEdge, type EventFilter } from '../domain/event-pages.js';
import type { EventCursor } from '../domain/event-cursor.js';
import type { Execution } from '../domain/execution.js';
import { isTerminalStatus, statusOf } from '../domain/execution-status.js';
import { ErrorCode, gatewayError, finalEventsUnreadable, liveBusy, shuttingDown, unauthenticated, tooMuchLiveData, watchLimitUnread, type TokenInUrl } from '../errors.js';
import type { ExecutionsClient } from '../upstream/executions-client.js';
import { entryBytes } from '../upstream/entry-bytes.js';
import type { Caller } from '../upstream/caller.js';
import type { LiveLeases } from '../shared-state/live-leases.js';
import { detached } from '../detached-text.js';
import { CallerCounts } from './caller-counts.js';
import { Poller, PollSlots, type PollerNews, type PollerSettings, type Watcher } from './poller.js';

/** Events one update carries at most; more are spread over several updates. */
export const MAX_EVENTS_PER_UPDATE = 100;

/**
 * Readable readings a resumed watch waits through for the event its
 * `eventsAfter` names before it refuses the cursor: enough to ride out an
 * upstream replica that lags, few enough that a cursor from other data ends
 * the watch within seconds.
 */
export const MAX_RESUME_MISSES = 3;

/**
 * How long a watch refused at a bound that frees by itself is told to wait (`extensions.retryAfterMs`), in ms: at
 * least `minMs`, plus up to `minMs` more at random, so the watches refused in one burst come back spread over that
 * window, not together into the same bound.
 *
 * - `unread` (LIVE_MAX_UNREAD_SUBSCRIPTIONS, or a caller's share of it): a place frees as upstream answers a first
 *   poll, within one upstream call when it is healthy (300 ms in a reconnect burst after a deploy: the 1,000 places
 *   turn over about three times a second). After 1 s a returning watch finds room, and spread over the next second
 *   the 1,124 refused of a burst of 3,000 come back at about 1,100 a second, fewer than the places that free. While
 *   upstream is out of reach none free; each refusal costs no upstream call, and the client's own backoff, doubling
 *   with each attempt, spaces its attempts out.
 * - `full` (LIVE_MAX_SUBSCRIPTIONS, LIVE_MAX_POLLERS): a place frees only as a watch ends (an execution finishes, a
 *   page closes), seconds to minutes; what helps sooner is another replica behind the load balancer, or one still
 *   starting in a rollout. 5–10 s keeps a full replica from spending itself on refusals (10,000 refused watches come
 *   back at about 1,300 a second, not 6,600 as at 1–2 s).
 */
export const RETRY_AFTER_MS = {
  unread: { minMs: 1_000 },
  full: { minMs: 5_000 },
} as const;

/** `n` of `noun` as a bound's message names them: "1 subscription", "3 subscriptions" ("at most 1 subscriptions" read wrong). */
function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A jittered `extensions.retryAfterMs` for a refusal at one of RETRY_AFTER_MS's bounds: in [minMs, 2 × minMs), whole ms. */
function retryAfterMs(kind: keyof typeof RETRY_AFTER_MS): number {
  const { minMs } = RETRY_AFTER_MS[kind];
  return minMs + Math.floor(Math.random() * minMs);
}

/** Where a watch resumes: `eventsAfter` as the client sent it and as it reads. */
interface Resume {
  cursor: string;
  decoded: EventCursor;
}

export type EndReason = 'EXECUTION_ENDED' | 'WATCH_TIME_LIMIT';

/** What `executionUpdates` resolves each step of a watch to. */
export type WatchStep =
  | {
      kind: 'update';
      execution: Execution;
      newEvents: EventEdge[];
      /** The cursor to resume from: the last event this watch has gone past (delivered or filtered out), or the start of the list before any. */
      cursor: string;
      isFinal: boolean;
      endReason: EndReason | null;
    }
  /** Upstream has been failing for a while; the watch goes on. */
  | { kind: 'outage'; error: GraphQLError }
  /** The watch ends with this error (NOT_FOUND, SHUTTING_DOWN, …): the last step. */
  | { kind: 'failed'; error: GraphQLError };

/** Errors a watch ended with (its `failed` step), as against an outage notice, after which it goes on. */
const watchEnds = new WeakSet<GraphQLError>();

/**
 * Whether `error` (or the error the executor located it from) ended its watch: its result then carries no update,
 * only the error, as a watch refused before any upstream call does (README "Live executions", Errors).
 */
export function endsWatch(error: GraphQLError): boolean {
  return watchEnds.has(error) || (error.originalError instanceof GraphQLError && watchEnds.has(error.originalError));
}

export interface LiveSettings extends PollerSettings {
  maxSubscriptionsPerCaller: number;
  maxSubscriptions: number;
  maxPollers: number;
  /** Heap the pollers' latest readings may hold, in bytes, each counted as the cache counts an execution (`entryBytes`). */
  maxHeldBytes: number;
  /** Watches waiting for their execution's first reading (see LiveExecutions.watch). */
  maxUnreadSubscriptions: number;
  /** Share of the upstream bulkhead (0–1] the pollers may use at once. */
  pollShare: number;
  /**
   * Share (0–1] of `maxPollers`, of `maxUnreadSubscriptions`, of the pollers' slots and of `maxHeldBytes` one caller
   * may hold (CALLER_SHARE_PERCENT), at least one of each (one reading, up to `maxHeldBytes`); absent: 1.
   */
  callerShare?: number;
}

/** What a watch needs from the request that started it (src/request/scope.ts). */
export interface WatchScope {
  readonly caller: Caller | null;
  /** connectionParams' key names when none held a token the gateway reads, for the UNAUTHENTICATED message. */
  readonly unreadTokenParams?: readonly string[] | undefined;
  /** The URL's token-like parameter names, for the UNAUTHENTICATED message (src/request/url-token.ts). */
  readonly tokenInUrl?: TokenInUrl | undefined;
  /** Calls `listener` once the client goes away; returns the unsubscribe. */
  onClientGone(listener: () => void): () => void;
}

export interface WatchRequest {
  id: string;
  eventsAfter?: string | null;
  filter?: EventFilter | null;
}

/** Counts of what is live, for the bounds and for tests. */
export interface LiveCounts {
  subscriptions: number;
  pollers: number;
  /** Subscriptions that have had no reading yet. */
  unread: number;
}

/** Times a caller was held to its share (CALLER_SHARE_PERCENT), for metrics. */
export interface LiveShareCounts {
  /** Watches of one more execution refused (TOO_MANY_SUBSCRIPTIONS). */
  pollers: number;
  /** Polls that waited for a slot although one was free: their caller's pollers held their share. */
  pollSlots: number;
  /** Readings, or watches of one more execution, refused (TOO_MANY_SUBSCRIPTIONS): their caller's pollers held their share of `maxHeldBytes`. */
  readings: number;
  /** Watches of an execution not yet read refused (TOO_MANY_SUBSCRIPTIONS, with `retryAfterMs`): their caller held its share of `maxUnreadSubscriptions`. */
  unreadSubscriptions: number;
}

/**
 * Times a watch, or a reading, met one of the process's own bounds (TOO_MANY_SUBSCRIPTIONS), for metrics, by
 * bound; a caller held to its share is counted in LiveShareCounts instead.
 */
export interface LiveBoundCounts {
  /** Watches refused at LIVE_MAX_SUBSCRIPTIONS. */
  subscriptions: number;
  /** Watches refused at LIVE_MAX_UNREAD_SUBSCRIPTIONS, while upstream had not answered the others yet. */
  unreadSubscriptions: number;
  /** Watches refused at LIVE_MAX_SUBSCRIPTIONS_PER_CALLER. */
  callerSubscriptions: number;
  /** Watches of one more execution refused at LIVE_MAX_POLLERS. */
  pollers: number;
  /** Readings refused at LIVE_MAX_HELD_BYTES, each ending its execution's watches. */
  readings: number;
}

export class LiveExecutions {
  readonly #pollers = new Map<string, Poller>();
  readonly #perCaller = new CallerCounts();
  /** Caller key → its running pollers (watched executions); a caller leaves with its last. */
  readonly #pollersPerCaller = new CallerCounts();
  /** Pollers one caller may run: its share of `maxPollers`. */
  readonly #maxPollersPerCaller: number;
  #pollersRefused = 0;
  /** Each running poller's latest reading, in bytes as `entryBytes` counts them; their sum; the same per caller. */
  readonly #held = new Map<Poller, number>();
  #heldBytes = 0;
  readonly #heldPerCaller = new CallerCounts();
  readonly #maxHeldBytesPerCaller: number;
  #heldRefused = 0;
  readonly #boundsReached: LiveBoundCounts = { subscriptions: 0, unreadSubscriptions: 0, callerSubscriptions: 0, pollers: 0, readings: 0 };
  readonly #slots: PollSlots;
  /** Every watch not yet released, so a drain can end them all. */
  readonly #watches = new Set<Watch>();
  #shuttingDown = false;
  #subscriptions = 0;
  #unread = 0;
  /** Caller key → its unread watches; and how many one caller may hold: its share of `maxUnreadSubscriptions`. */
  readonly #unreadPerCaller = new CallerCounts();
  readonly #maxUnreadPerCaller: number;
  #unreadRefused = 0;

  constructor(
    private readonly client: ExecutionsClient,
    private readonly settings: LiveSettings,
    bulkhead: number,
    /** With REDIS_URL: one poller per pair across replicas. */
    readonly leases?: LiveLeases,
  ) {
    const share = settings.callerShare ?? 1;
    const slots = Math.max(1, Math.floor(bulkhead * settings.pollShare));
    this.#slots = new PollSlots(slots, Math.max(1, Math.floor(slots * share)));
    this.#maxPollersPerCaller = Math.max(1, Math.floor(settings.maxPollers * share));
    this.#maxUnreadPerCaller = Math.max(1, Math.floor(settings.maxUnreadSubscriptions * share));
    this.#maxHeldBytesPerCaller = Math.floor(settings.maxHeldBytes * share);
  }

  get counts(): LiveCounts {
    return { subscriptions: this.#subscriptions, pollers: this.#pollers.size, unread: this.#unread };
  }

  /** Heap the pollers' latest readings hold, in bytes, as `maxHeldBytes` counts it. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  get shareCounts(): LiveShareCounts {
    return { pollers: this.#pollersRefused, pollSlots: this.#slots.shareReached, readings: this.#heldRefused, unreadSubscriptions: this.#unreadRefused };
  }

  get boundCounts(): LiveBoundCounts {
    return { ...this.#boundsReached };
  }

  /**
   * Starts a watch. Everything that can be refused without upstream is refused
   * here, before the first call: no caller, an id outside the allowed pattern, a
   * cursor that is not one or belongs to another execution, and the bounds
   * (TOO_MANY_SUBSCRIPTIONS).
   *
   * A watch is unread until its first reading (at once when it joins a
   * poller that has one). Unread watches have their own, smaller bound
   * (`maxUnreadSubscriptions`): upstream has not yet shown that their token
   * sees anything, and during an outage it cannot, so watches with made-up
   * tokens would otherwise hold the process's places until `maxWatchMs`. One caller holds at most its share of
   * them (`callerShare`), so callers whose executions upstream is slow to answer leave room for the others'.
   *
   * A refusal at a bound that frees by itself (the unread bound or a caller's share of it, `maxSubscriptions`,
   * `maxPollers`) carries `extensions.retryAfterMs` (RETRY_AFTER_MS) and says it is temporary; one at the
   * caller's own bounds (`maxSubscriptionsPerCaller`, its share of the pollers or of `maxHeldBytes`) is final.
   */
  watch(scope: WatchScope, request: WatchRequest): AsyncIterable<WatchStep> {
    if (this.#shuttingDown) throw shuttingDown();
    const { caller } = scope;
    if (!caller) throw unauthenticated(scope.unreadTokenParams, scope.tokenInUrl);
    this.client.assertAllowedId(request.id);
    const after = request.eventsAfter == null ? undefined : checkEventCursor('eventsAfter', request.eventsAfter, request.id);
    // One key per token, however the header spelt its scheme (src/upstream/caller.ts): one poller, one lease.
    const callerKey = caller.key;
    const key = `${callerKey}:${request.id}`;
    // The map holds running pollers only: one leaves it as it stops (onStopped).
    let poller = this.#pollers.get(key);
    let unread = !poller?.latest;
    this.#admit(callerKey, key, unread);
    this.#subscriptions++;
    if (unread) {
      this.#unread++;
      this.#unreadPerCaller.add(callerKey);
    }
    this.#perCaller.add(callerKey);
    // Copies (src/detached-text.ts): the poller, its key and its spans can outlive this subscription, whose id may be a
    // slice of its query's text.
    poller ??= this.#startPoller(caller, detached(key), detached(request.id));
    const read = () => {
      if (!unread) return;
      unread = false;
      this.#unread--;
      this.#unreadPerCaller.remove(callerKey);
    };
    const released = () => {
      read();
      this.#subscriptions--;
      this.#perCaller.remove(callerKey);
    };
    const resume = after && { cursor: request.eventsAfter!, decoded: after };
    const watch: Watch = new Watch(poller, scope, request.filter ?? null, resume, this.settings.maxWatchMs, read, () => {
      this.#watches.delete(watch);
      released();
    });
    this.#watches.add(watch);
    // Joined now, though read later: a watch that joined only at its first `next()` could find its
    // poller stopped since (its last watcher left, NOT_FOUND, the execution ended) and wait for polls
    // that never came until `maxWatchMs`. As a watcher from here on, it keeps the poller going and is
    // told how it ends.
    poller.watch(watch);
    return watch;
  }

  /**
   * Starts the poller of (`caller`, execution `id`), in a scope of its own: closures made in `watch` would share
   * that call's scope, and so keep the first watch (its scope, filter and cursor) for as long as the poller runs.
   */
  #startPoller(caller: Caller, key: string, id: string): Poller {
    const callerKey = caller.key;
    const poller = new Poller(key, caller, id, {
      client: this.client,
      slots: this.#slots,
      settings: this.settings,
      onStopped: (stopped) => {
        this.#release(callerKey, stopped);
        if (this.#pollers.get(stopped.key) !== stopped) return;
        this.#pollers.delete(stopped.key);
        this.#pollersPerCaller.remove(callerKey);
      },
      keep: (polled, execution) => this.#keep(callerKey, polled, execution),
      ...(this.leases ? { join: (latest, hear) => this.leases!.join(caller.authorization, id, latest, hear) } : {}),
    });
    this.#pollers.set(key, poller);
    this.#pollersPerCaller.add(callerKey);
    return poller;
  }

  /**
   * The process drains: every watch ends with SHUTTING_DOWN as its last result
   * (then its stream completes and its poller stops), and watches started from
   * now on are refused with it. Returns how many watches it ended.
   */
  shutDown(): number {
    this.#shuttingDown = true;
    const ending = [...this.#watches];
    for (const watch of ending) watch.tell({ kind: 'failed', error: shuttingDown() });
    return ending.length;
  }

  #admit(callerKey: string, pollerKey: string, unread: boolean): void {
    const { settings } = this;
    const newPoller = !this.#pollers.has(pollerKey);
    /** A place at a process's bound frees by itself: the refusal is temporary, and says when to come back. */
    let busy: { limit: string; why: string; retryAfterMs: number } | undefined;
    let limit: string | undefined;
    let bound: keyof LiveBoundCounts | undefined;
    const unreadWhy = 'upstream has not yet answered the watches before it: slow to answer, or unreachable';
    const fullWhy = 'this replica is full until watches end; another may have room';
    // The caller's own subscriptions first (LIVE_MAX_SUBSCRIPTIONS_PER_CALLER), which no wait frees: past them and a
    // process's bound too, a refusal saying "come back later" would only bring it back to be refused again, for good (a
    // caller at its own bound of 1 was told to retry in 8 s while the process was full, then refused for good once it
    // had room). Then the process's bounds, each counted by the bound it met, and the caller's shares of them.
    if (this.#perCaller.of(callerKey) >= settings.maxSubscriptionsPerCaller) {
      limit = `${counted(settings.maxSubscriptionsPerCaller, 'subscription')} per caller`;
      bound = 'callerSubscriptions';
    } else if (this.#subscriptions >= settings.maxSubscriptions) {
      busy = { limit: `${counted(settings.maxSubscriptions, 'subscription')} per process`, why: fullWhy, retryAfterMs: retryAfterMs('full') };
      bound = 'subscriptions';
    } else if (unread && this.#unread >= settings.maxUnreadSubscriptions) {
      busy = { limit: `${counted(settings.maxUnreadSubscriptions, 'subscription')} per process waiting for upstream's first answer`, why: unreadWhy, retryAfterMs: retryAfterMs('unread') };
      bound = 'unreadSubscriptions';
    } else if (unread && this.#unreadPerCaller.of(callerKey) >= this.#maxUnreadPerCaller) {
      // Its share of them (CALLER_SHARE_PERCENT): one caller whose executions upstream is slow to answer never holds
      // every place. Temporary too: its places free as upstream answers it, not as it closes watches.
      busy = { limit: `${counted(this.#maxUnreadPerCaller, 'subscription')} per caller waiting for upstream's first answer`, why: unreadWhy, retryAfterMs: retryAfterMs('unread') };
      this.#unreadRefused++;
    } else if (newPoller && this.#pollers.size >= settings.maxPollers) {
      busy = { limit: `${counted(settings.maxPollers, 'watched execution')} per process`, why: fullWhy, retryAfterMs: retryAfterMs('full') };
      bound = 'pollers';
    } else if (newPoller && this.#pollersPerCaller.of(callerKey) >= this.#maxPollersPerCaller) {
      // Its share of them (CALLER_SHARE_PERCENT): one caller never holds every poller of the process. After the
      // process's bound, which a share of 100% is: a lone caller holding every poller is told the process is full.
      limit = `${counted(this.#maxPollersPerCaller, 'watched execution')} per caller`;
      this.#pollersRefused++;
    } else if (newPoller && this.#heldPerCaller.of(callerKey) >= this.#maxHeldBytesPerCaller && this.#heldPerCaller.of(callerKey) > 0) {
      // Its first reading would be refused (#keep): refused now, without an upstream call.
      this.#heldRefused++;
      throw tooMuchLiveData(`${this.#maxHeldBytesPerCaller.toLocaleString('en-US')} bytes per caller`);
    }
    if (bound) this.#boundsReached[bound]++;
    if (busy) throw liveBusy(busy.limit, busy.why, busy.retryAfterMs);
    // The caller's own doing: no wait frees these, closing some of its watches does.
    if (limit) throw gatewayError(ErrorCode.TOO_MANY_SUBSCRIPTIONS, `Too many live subscriptions: at most ${limit}. Close some before opening more.`);
  }

  /**
   * Counts `execution` as `poller`'s latest reading in place of the one it held, or refuses it when that
   * would take the readings held past `maxHeldBytes`, or the caller's past its share of it while it holds
   * another: a watch of an execution never read keeps no more than its count, but its readings can be as
   * large as UPSTREAM_MAX_BODY_BYTES, and grow with every event appended.
   */
  #keep(callerKey: string, poller: Poller, execution: Execution): GraphQLError | undefined {
    const bytes = entryBytes(execution);
    const before = this.#held.get(poller) ?? 0;
    const growth = bytes - before;
    const callerHeld = this.#heldPerCaller.of(callerKey);
    const { maxHeldBytes } = this.settings;
    if (this.#heldBytes + growth > maxHeldBytes) {
      this.#boundsReached.readings++;
      return tooMuchLiveData(`${maxHeldBytes.toLocaleString('en-US')} bytes per process`);
    }
    if (callerHeld + growth > this.#maxHeldBytesPerCaller && callerHeld > before) {
      this.#heldRefused++;
      return tooMuchLiveData(`${this.#maxHeldBytesPerCaller.toLocaleString('en-US')} bytes per caller`);
    }
    this.#held.set(poller, bytes);
    this.#heldBytes += growth;
    if (growth >= 0) this.#heldPerCaller.add(callerKey, growth);
    else this.#heldPerCaller.remove(callerKey, -growth);
    return undefined;
  }

  /** Gives back what a stopped poller's reading held. */
  #release(callerKey: string, poller: Poller): void {
    const bytes = this.#held.get(poller);
    if (bytes === undefined) return;
    this.#held.delete(poller);
    this.#heldBytes -= bytes;
    this.#heldPerCaller.remove(callerKey, bytes);
  }
}

/**
 * One subscription's steps: an async iterator over what its poller tells it.
 * Its bookkeeping (the poller, the counts, the timers) is released once,
 * whichever way it ends: its last step, an error, its client leaving, or
 * `return()`, even before it was ever read (an async generator would skip its
 * `finally` then).
 */
class Watch implements AsyncIterableIterator<WatchStep>, Watcher {
  #steps: AsyncGenerator<WatchStep> | undefined;
  #stopWatchingClient: (() => void) | undefined;
  #limit: NodeJS.Timeout | undefined;
  #released = false;
  #news: PollerNews | undefined;
  #outage: GraphQLError | undefined;
  /** The pending notice came after the pending reading: the watcher gets them in that order. */
  #outageLast = false;
  #wake: (() => void) | undefined;
  #done = false;

  constructor(
    private readonly poller: Poller,
    private readonly scope: WatchScope,
    private readonly filter: EventFilter | null,
    private readonly resume: Resume | undefined,
    private readonly maxWatchMs: number,
    /** Called at each reading: the watch is no longer unread. */
    private readonly read: () => void,
    private readonly released: () => void,
  ) {}

  tell(news: PollerNews): void {
    if (news.kind === 'unchanged') {
      // Read again only by a resumed watch still looking for its event: an execution at rest (waiting, awaiting
      // payment) changes for hours, and a cursor naming an event upstream no longer has was never refused meanwhile.
      if (this.#seeking && this.#news === undefined) {
        this.#news = { kind: 'changed', execution: news.execution };
        this.#wake?.();
      }
      return;
    }
    if (news.kind === 'changed') this.read();
    // Readings are cumulative (events only append), so a watcher that has not
    // caught up needs only the latest one; failures are never overwritten.
    if (news.kind === 'outage') {
      this.#outage = news.error;
      this.#outageLast = true;
    } else if (this.#news?.kind !== 'failed') {
      this.#outageLast = false;
      // A later reading overwriting the recovery keeps its mark: the update it asks for must still come.
      const recovered = news.kind === 'changed' && this.#news?.kind === 'changed' && this.#news.recovered;
      this.#news = recovered && !news.recovered ? { ...news, recovered } : news;
    }
    this.#wake?.();
  }

  #limitReached = false;
  /** Readable readings that did not hold the event `eventsAfter` names. */
  #resumeMisses = 0;
  /** A resumed watch whose readings have not yet held the event its `eventsAfter` names. */
  #seeking = false;

  #end(): void {
    this.#done = true;
    this.#wake?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WatchStep>> {
    if (!this.#steps) {
      if (this.#released) return Promise.resolve({ done: true, value: undefined });
      this.#stopWatchingClient = this.scope.onClientGone(() => this.#end());
      this.#limit = setTimeout(() => {
        this.#limitReached = true;
        this.#wake?.();
      }, this.maxWatchMs);
      this.#limit.unref();
      this.poller.start();
      this.#steps = this.#run();
    }
    return this.#steps.next();
  }

  async return(): Promise<IteratorResult<WatchStep>> {
    this.#end();
    if (this.#steps) await this.#steps.return(undefined);
    this.#release();
    return { done: true, value: undefined };
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#limit);
    this.#stopWatchingClient?.();
    this.poller.unwatch(this);
    this.released();
  }

  /**
   * The position after the event `eventsAfter` names, or undefined while
   * readings do not hold it: upstream only appends, so a reading without it
   * lags (another upstream replica) or lost its list (`eventsUnreadable`), and
   * the next may hold it (`eventsAbsent` too: it had no list). BAD_USER_INPUT once MAX_RESUME_MISSES readable
   * readings (changed or not, of this replica's own polls: a follower hears only changes), or a finished
   * execution's whole list, did not.
   *
   * Past `eventsInOrder` (upstream inserted an event the watch laid after the
   * others), the watch's order and a query's differ, and what came before the
   * cursor depends on which one handed it out: the walk then starts where they
   * part, so no event is missed, and some may come again.
   */
  #positionAfterResume(execution: Execution, terminal: boolean): number | undefined {
    const { eventsInOrder } = execution;
    try {
      const after = positionAfter(execution, 'eventsAfter', this.resume!.decoded);
      return eventsInOrder !== undefined && after > eventsInOrder ? eventsInOrder : after;
    } catch (error) {
      // An event without an id is named by its place (`#<position>`) in the list that handed the cursor out:
      // a query's place past where the orders part names another event here, or none, yet the event is held.
      const place = placeNamed(this.resume!.decoded);
      if (eventsInOrder !== undefined && place !== undefined && place >= eventsInOrder && place < execution.events.length) return eventsInOrder;
      // No list to look in: the next reading may have one, and a finished execution's last never will, which no
      // cursor of the client's is to blame for (UPSTREAM_BAD_RESPONSE: subscribe again, not BAD_USER_INPUT).
      if (execution.eventsAbsent && terminal) throw finalEventsUnreadable();
      if (execution.eventsUnreadable || execution.eventsAbsent) return undefined;
      if (terminal || ++this.#resumeMisses >= MAX_RESUME_MISSES) throw error;
      return undefined;
    }
  }

  async *#run(): AsyncGenerator<WatchStep> {
    try {
      yield* this.#walk();
    } catch (error) {
      // A step, not a throw: the resolver throws it, so it carries the field's path and location
      // (thrown from here, the executor would place it on the operation), then the stream completes.
      if (error instanceof GraphQLError) {
        watchEnds.add(error);
        yield { kind: 'failed', error };
      }
      else throw error;
    } finally {
      this.#release();
    }
  }

  async *#walk(): AsyncGenerator<WatchStep> {
    let position: number | undefined;
    let execution: Execution | undefined;
    let announced = false;
    for (;;) {
      if (this.#done) return;
      const news = this.#news;
      const outage = this.#outage;
      this.#news = undefined;
      this.#outage = undefined;
      // A notice newer than the reading waits for it: an update without errors after the notice would
      // tell the client the outage is over (a slow reader's pending recovery, then a new outage).
      if (outage && this.#outageLast && news?.kind === 'changed') this.#outage = outage;
      else if (outage) yield { kind: 'outage', error: outage };
      if (news?.kind === 'failed') throw news.error;
      if (news?.kind === 'changed') {
        execution = news.execution;
        const first = !announced;
        announced = true;
        const terminal = isTerminalStatus(statusOf(execution));
        // The last reading has no list: events since the client's place may be missing (none for a new
        // watch's first update, which starts from now).
        if (terminal && execution.eventsUnreadable && (this.resume || !first)) throw finalEventsUnreadable();
        // The first update starts after `eventsAfter` (none: history is read through `execution.events`).
        position ??= this.resume ? this.#positionAfterResume(execution, terminal) : execution.events.length;
        this.#seeking = position === undefined;
        if (position === undefined) {
          // This reading does not hold the event yet: the client keeps its place until one does (told
          // again after an outage, so it clears its notice).
          if (first || news.recovered) yield { kind: 'update', execution, newEvents: [], cursor: this.resume!.cursor, isFinal: false, endReason: null };
          continue;
        }
        do {
          const { edges, next } = appendedEvents(execution, position, this.filter, MAX_EVENTS_PER_UPDATE);
          position = next;
          const rest = position < execution.events.length;
          const isFinal = terminal && !rest;
          // Every pass is an update: one with no edge has reached the end of the list (a changed field, or events the filter left out).
          yield { kind: 'update', execution, newEvents: edges, cursor: cursorBefore(execution, position), isFinal, endReason: isFinal ? 'EXECUTION_ENDED' : null };
          if (isFinal) return;
        } while (position < execution.events.length);
        continue;
      }
      if (this.#limitReached) {
        // Upstream never answered this watch: no reading to make a final update of, and the poller must not go on for ever.
        if (!execution) throw watchLimitUnread(this.maxWatchMs);
        const cursor = position === undefined ? this.resume!.cursor : cursorBefore(execution, position);
        yield { kind: 'update', execution, newEvents: [], cursor, isFinal: true, endReason: 'WATCH_TIME_LIMIT' };
        return;
      }
      // What was told while this watch stood at a step its client had not yet asked past woke nobody: read it first.
      if (this.#news === undefined && this.#outage === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    }
  }
}

/** The position an event cursor names when its event had no id of its own (`#<position>`, src/domain/execution.ts eventIdOf), else undefined. */
function placeNamed(cursor: EventCursor): number | undefined {
  if (cursor.start || cursor.digest || cursor.occurrence !== 0) return undefined;
  const match = /^#(0|[1-9][0-9]*)$/.exec(cursor.eventId);
  return match ? Number(match[1]) : undefined;
}
