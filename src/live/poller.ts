/**
 * One poller per watched (caller, execution): however many subscriptions watch
 * it, upstream sees one call per tick, with that caller's token. It polls at
 * the cadence of the execution's status (./cadence.ts), tells its watchers only
 * when something changed (the execution's fields, or events appended), or when
 * upstream answers again after an outage they were told of, and stops when its last watcher leaves or the execution ends.
 *
 * Upstream failures: a permanent one (NOT_FOUND, UNAUTHENTICATED, FORBIDDEN,
 * BAD_USER_INPUT) ends every watch with that error; anything else is retried
 * with backoff, and once it has lasted `outageNoticeMs` the watchers are told
 * (once per outage) while polling goes on. A Retry-After from upstream is
 * honoured however long (up to `maxWatchMs`, and UPSTREAM_PAUSE_MAX_MS, which the client
 * reads it up to: src/upstream/retry-after.ts): the next poll waits at least
 * that, beyond the backoff cap and the client's own UPSTREAM_RETRY_AFTER_CAP_MS.
 * A new poller does too: the client refuses its calls while the pause upstream
 * gave the caller (a 429), or the caller for this execution (a 5xx), runs, and
 * the refusal carries the time left (src/upstream/caller-pauses.ts).
 * An error that is no GraphQLError (a bug of the gateway's, in the call or in
 * reading its answer) ends every watch at once: each subscription gets
 * INTERNAL_SERVER_ERROR, and the error is logged with its request
 * (src/pipeline/error-log.ts). Polled on, it was an outage notice blaming
 * upstream 10 s later, nothing logged, for as long as the client stayed.
 *
 * With REDIS_URL the pollers of a pair on every replica share one lease
 * (src/shared-state/live-leases.ts): only its holder calls upstream, and the
 * others take its readings as they are published.
 */
import { randomUUID } from 'node:crypto';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { GraphQLError } from 'graphql';
import type { Execution } from '../domain/execution.js';
import { inAppendOrder, inOrderPrefix } from './append-order.js';
import { isTerminalStatus, statusOf, type ExecutionStatus } from '../domain/execution-status.js';
import { ErrorCode, executionPaused, UpstreamError, watchOutage, type UpstreamFacts } from '../errors.js';
import type { LeaseMembership, LeaseNews } from '../shared-state/live-leases.js';
import { tracer } from '../telemetry/tracing.js';
import { Cancellation } from '../upstream/cancellation.js';
import type { ExecutionsClient } from '../upstream/executions-client.js';
import type { Caller } from '../upstream/caller.js';
import { failuresWithin, nextPollDelay, type CadenceSettings } from './cadence.js';
import { CallerCounts } from './caller-counts.js';
import { comparedJson } from '../domain/json-depth.js';

/** What a poller tells its watchers. */
export type PollerNews =
  /**
   * Upstream's execution changed (or this is the first reading), or it is the first reading after an
   * outage notice (`recovered`), changed or not: the update that tells watchers the outage is over.
   */
  | { kind: 'changed'; execution: Execution; recovered?: true }
  /**
   * This replica's own poll read the execution as it was: a resumed watch still looking for the event its
   * `eventsAfter` names counts it as a miss; to every other it is no news.
   */
  | { kind: 'unchanged'; execution: Execution }
  /** Polls have failed for longer than the notice time; polling goes on. */
  | { kind: 'outage'; error: GraphQLError }
  /**
   * The watch cannot go on: the execution is gone, or the token no longer sees it; or the poll broke (an error
   * that is no GraphQLError, which the pipeline masks and logs).
   */
  | { kind: 'failed'; error: Error };

export interface Watcher {
  tell(news: PollerNews): void;
}

/**
 * Upstream calls the pollers may have in flight at once: their share of the bulkhead, and of it one caller's share
 * (`perCaller`, CALLER_SHARE_PERCENT). Without it one caller whose polls hang (upstream slow for its token) held
 * every slot until UPSTREAM_TIMEOUT_MS, and every other caller's watch went unpolled meanwhile (four slots, none
 * left: 0 polls in 2 s for another caller's watch; now one every tick). A caller within its share takes any free
 * slot; past it, one only while more than a share of the slots stays free for the others, so a lone caller with
 * many watches still has most of them (all but one share) and never waits while the slots are idle.
 */
export class PollSlots {
  #busy = 0;
  /** Caller key → slots its pollers hold; a caller leaves with its last. */
  readonly #held = new CallerCounts();
  /** Polls that waited for a slot though one was free, their caller past its share, for metrics. */
  shareReached = 0;

  constructor(
    readonly capacity: number,
    readonly perCaller = capacity,
  ) {}

  /** A slot for one poll of `caller` (its key); false when none is free, or its caller is past its share and few are. */
  tryTake(caller: string): boolean {
    const free = this.capacity - this.#busy;
    if (free <= 0) return false;
    if (this.#held.of(caller) >= this.perCaller && free - 1 < this.perCaller) {
      this.shareReached++;
      return false;
    }
    this.#busy++;
    this.#held.add(caller);
    return true;
  }

  /** Gives back a slot `tryTake(caller)` took. */
  give(caller: string): void {
    this.#busy--;
    this.#held.remove(caller);
  }
}

export interface PollerSettings extends CadenceSettings {
  /** How long polls may fail before watchers are told (they keep being retried). */
  outageNoticeMs: number;
  /**
   * How long one watch may last before it ends with WATCH_TIME_LIMIT (the client can resume); also the
   * longest Retry-After a poller waits, since a longer one outlasts every watch it serves.
   */
  maxWatchMs: number;
}

export interface PollerDependencies {
  client: ExecutionsClient;
  slots: PollSlots;
  settings: PollerSettings;
  /** Called once the poller stopped for good (no watchers left, or the execution ended). */
  onStopped(poller: Poller): void;
  /** With REDIS_URL: joins the pair's lease across replicas (`latest` is this poller's reading; `hear` gets the holder's news). */
  join?: (latest: () => Execution | undefined, hear: (news: LeaseNews) => void) => LeaseMembership;
  /**
   * Whether the poller may keep `execution` as its latest reading, in place of the one it keeps
   * (LIVE_MAX_HELD_BYTES): undefined when it may, else the error its watches end with.
   */
  keep?: (poller: Poller, execution: Execution) => GraphQLError | undefined;
}

const PERMANENT: ReadonlySet<unknown> = new Set([ErrorCode.NOT_FOUND, ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN, ErrorCode.BAD_USER_INPUT]);

/**
 * An answer that ends the watch with its own error, as a query gets it: upstream refused the execution
 * to this caller, or answered with a status its contract does not name (a 410, a 418: the same however
 * often asked), or with a body past UPSTREAM_MAX_BODY_BYTES (upstream only appends: past it on every later
 * poll). Polled on, a 418 was an outage notice, UPSTREAM_UNAVAILABLE where a query said
 * UPSTREAM_BAD_RESPONSE, and a call every backoff until LIVE_MAX_WATCH_MS; so was a body too large. Another
 * unreadable body (not JSON, a broken encoding: a proxy's maintenance page answered with a 200) passes, and
 * stays an outage.
 */
function endsWatch(error: GraphQLError): boolean {
  return PERMANENT.has(error.extensions?.code) || (error instanceof UpstreamError && (error.unnamedStatus || error.tooLarge));
}

export class Poller {
  readonly #watchers = new Set<Watcher>();
  #latest: Execution | undefined;
  #fingerprint: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Cancellation | undefined;
  /**
   * A poll is on its way, from its start to its end, the lease check before the upstream call included:
   * `#inFlight` is set only once the call starts, and a poll started during the check (a second watch's
   * first read, a gap heard) made a second upstream call, one per watch started in that window.
   */
  #polling = false;
  #failures = 0;
  #failingSince: number | undefined;
  /** When this poller last saw an outage end with a reading, its own or the holder's (performance.now()); one recorded as begun before it is over. */
  #recoveredAt = -Infinity;
  /**
   * Gives the outage notice when the outage reaches `outageNoticeMs` between two polls: the backoff
   * spaces failing polls out, and a notice given only at a failed poll came at the first one past the
   * notice time, up to a whole back-off pause late.
   */
  #noticeTimer: NodeJS.Timeout | undefined;
  /** The outage notice given since the last reading (this poller's own, or the lease holder's): told to watchers who join meanwhile. */
  #notice: GraphQLError | undefined;
  /**
   * The last failure of this poller's own that asked for a pause, while its notice stands: a watcher who joins is told
   * the time left until the next poll. Told the notice as given, it heard the whole pause again (a 6 s Retry-After
   * told as 6 s, 3 s into it), where a watch that found the poller stopped was told the time left.
   */
  #pauseAsked: { error: GraphQLError; askedMs: number } | undefined;
  /** When the pending poll is due (performance.now() ms), while one is scheduled. */
  #nextPollAt: number | undefined;
  #stopped = false;
  readonly #lease: LeaseMembership | undefined;
  /** A reading from the lease holder could not be applied: read upstream at once, holder or not. */
  #gap = false;
  /**
   * Readings and gaps heard from the lease holder so far. An own call compares them across itself: what
   * the holder published while the call was out may be newer than the call's answer (upstream read it
   * first, or a slow or lagging upstream replica answered it), and the holder sends only what changes.
   */
  #heardReadings = 0;
  #heardGaps = 0;
  /** The holder's first reading, when the last gap heard was one (LeaseNews `gap` with `whole`). */
  #heardWhole: { source: Record<string, unknown>; count: number } | undefined;
  /**
   * Until when (performance.now() ms) upstream asked for no calls: from this replica's own 429 or
   * 503, or from the holder's outage notice. A follower that polls for itself (a gap in the holder's
   * messages, Redis out of reach) waits it out too, as the holder does.
   */
  #pausedUntil = 0;
  /** Upstream calls this poller made, for tests and metrics. */
  polls = 0;

  constructor(
    readonly key: string,
    readonly caller: Caller,
    readonly id: string,
    private readonly deps: PollerDependencies,
  ) {
    this.#lease = deps.join?.(
      () => this.#latest,
      (news) => this.#heard(news),
    );
  }

  get watchers(): number {
    return this.#watchers.size;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** The last execution read, if any. */
  get latest(): Execution | undefined {
    return this.#latest;
  }

  /**
   * Adds a watcher, told the latest reading now, if any, and the outage if one was noticed; from now on
   * it is told everything the others are, and the poller does not stop for want of watchers while it
   * stays. Polling starts at the first `start()`, not here: a watch joins when it is admitted, before
   * anything reads it, and one never read (a stream no transport serves) makes no upstream call.
   */
  watch(watcher: Watcher): void {
    this.#watchers.add(watcher);
    if (this.#latest) watcher.tell({ kind: 'changed', execution: this.#latest });
    if (this.#notice) watcher.tell({ kind: 'outage', error: this.#noticeNow(this.#notice) });
  }

  /** `notice` as a watcher joining now is told it: one naming the time until the next poll names the time left of it. */
  #noticeNow(notice: GraphQLError): GraphQLError {
    if (this.#pauseAsked === undefined || typeof notice.extensions.retryAfterMs !== 'number') return notice;
    const nextPollMs = Math.max(0, Math.round((this.#nextPollAt ?? 0) - performance.now()));
    return outageNotice(this.#pauseAsked.error, { askedMs: this.#pauseAsked.askedMs, nextPollMs });
  }

  /** A watcher begins reading: the first poll goes out now, unless there is a reading already or a poll on its way. */
  start(): void {
    if (!this.#stopped && !this.#latest && !this.#polling && !this.#timer) void this.#poll();
  }

  /** Removes a watcher; the last one to leave stops the poller. */
  unwatch(watcher: Watcher): void {
    this.#watchers.delete(watcher);
    if (this.#watchers.size === 0) this.stop();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#clearNoticeTimer();
    this.#inFlight?.abort(new DOMException('The last watcher left.', 'AbortError'));
    this.#lease?.leave();
    this.deps.onStopped(this);
  }

  /** Tells every watcher (and, as the lease holder, the other replicas) that upstream has been failing for a while. */
  #giveNotice(notice: GraphQLError): void {
    this.#notice = notice;
    this.#lease?.outage(notice.message, { ...notice.extensions });
    this.#tellAll({ kind: 'outage', error: notice });
  }

  #clearNoticeTimer(): void {
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = undefined;
  }

  #tellAll(news: PollerNews): void {
    for (const watcher of this.#watchers) watcher.tell(news);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#nextPollAt = performance.now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#nextPollAt = undefined;
      void this.#poll();
    }, delay);
    this.#timer.unref();
  }

  /** One poll at a time: a poll asked for while one is on its way is that one. */
  async #poll(): Promise<void> {
    if (this.#stopped || this.#polling) return;
    this.#polling = true;
    try {
      await this.#pollOnce();
    } finally {
      this.#polling = false;
    }
  }

  async #pollOnce(): Promise<void> {
    const paused = this.#pausedUntil - performance.now();
    if (paused > 0) return this.#schedule(paused);
    const { settings, slots } = this.deps;
    if (this.#lease) {
      // Asked at every tick, so a replica takes over within the lease time when the holder dies.
      const holds = await this.#lease.holds();
      if (this.#stopped) return;
      // The holder's notice may have asked for a pause while Redis answered (or failed to: then this replica
      // polls for itself). Checked only before, the call went out at once, and its answer ended the pause.
      const asked = this.#pausedUntil - performance.now();
      if (asked > 0) return this.#schedule(asked);
      const pairOutage = this.#lease.outageSince();
      // Another replica polls and publishes: follow it, unless there is nothing to follow from.
      if (!holds && this.#latest && !this.#gap) {
        // This replica's own failures (its polls while Redis was out of reach) are no longer its to back off
        // from: the holder reads upstream now, and publishes nothing while nothing changes, so they stayed.
        // Taking the lease over later, one failed poll then waited LIVE_POLL_MAX_BACKOFF_MS instead of twice
        // the interval, and counted the outage from when those old failures began (a notice at once).
        this.#failures = 0;
        this.#followOutage(pairOutage);
        return this.#schedule(nextPollDelay(statusOf(this.#latest), 0, settings));
      }
      // An outage the pair's earlier holders recorded goes on: counted from its start, not from this replica's
      // turn. Its notice comes with this poll's failure, as ever, never while the poll may still succeed.
      if (pairOutage !== undefined) {
        if (this.#failingSince === undefined || pairOutage < this.#failingSince) this.#failingSince = pairOutage;
        // And backed off from as long as it has lasted: the replicas take turns when the lease lapses at each failure.
        const status = this.#latest ? statusOf(this.#latest) : 'UNKNOWN';
        this.#failures = Math.max(this.#failures, failuresWithin(status, performance.now() - pairOutage, settings));
      }
      // Upstream asked the pair for a pause on another replica (a Retry-After), whose client keeps the pause: a poller
      // new here (the last watcher there left, the lease with it) called at once. Waited out as the client's own
      // refusal of a paused pair is, its notice included.
      const pairPause = this.#lease.pausedFor();
      if (pairPause !== undefined && performance.now() + pairPause > this.#pausedUntil) return this.#failed(executionPaused(pairPause), false);
    }
    // Polls take at most their share of the bulkhead, so watchers never starve queries, and a caller at most its
    // share of that, so one caller's watches never starve another's.
    if (!slots.tryTake(this.caller.key)) return this.#schedule(settings.pollActiveMs);
    const cancellation = new Cancellation();
    this.#inFlight = cancellation;
    // As holder: the lease is kept while the call waits, however long upstream takes to answer or time out.
    const polled = this.#lease?.polling();
    this.polls++;
    // A poll serves every subscriber of the execution: a trace of its own, not the first subscriber's.
    const span = tracer().startSpan('poll execution', { root: true, attributes: { 'execution_gateway.execution_id': this.id } });
    try {
      const headers = { authorization: this.caller.authorization, requestId: `live-${randomUUID()}`, callerKey: this.caller.key };
      const [readings, gaps] = [this.#heardReadings, this.#heardGaps];
      const execution = await context.with(trace.setSpan(context.active(), span), () => this.deps.client.getExecution(this.id, headers, cancellation, { poll: true }));
      this.#read(execution, readings, gaps);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as GraphQLError | null | undefined)?.extensions?.code ?? 'error') });
      if (this.#stopped) return;
      if (error instanceof GraphQLError) this.#failed(error);
      else this.#broke(error);
    } finally {
      polled?.();
      span.end();
      slots.give(this.caller.key);
      this.#inFlight = undefined;
    }
  }

  /**
   * A follower's outage clock is the pair's: from the start its holders recorded (`failing`), and none
   * when none is recorded. When upstream cannot be reached the lease lapses at each failure, and once the
   * back-off outgrows it the replicas take turns holding it: counted from each replica's own turn, the
   * outage never reached LIVE_OUTAGE_NOTICE_MS and no watcher was told.
   */
  #followOutage(pairOutage: number | undefined): void {
    this.#clearNoticeTimer();
    // A record that began before the outage this poller saw end is that outage: the holder read upstream since, and
    // its clearing of the record crossed this check. Followed, it showed the watchers the outage again after the
    // update that ended it, and nothing cleared it while the data stayed the same (the holder publishes only changes).
    this.#failingSince = pairOutage !== undefined && pairOutage > this.#recoveredAt ? pairOutage : undefined;
    this.#noticeAt(undefined);
  }

  /**
   * The outage notice when the outage reaches `outageNoticeMs`: now when it has, else by a timer that a
   * reading or the next failure clears. `error`: the failure whose upstream facts the notice carries.
   */
  #noticeAt(error: GraphQLError | undefined): void {
    if (this.#notice || this.#failingSince === undefined) return;
    const failingSince = this.#failingSince;
    const due = failingSince + this.deps.settings.outageNoticeMs - performance.now();
    if (due <= 0) return this.#giveNotice(outageNotice(error, undefined));
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => {
      this.#noticeTimer = undefined;
      if (!this.#stopped && !this.#notice && this.#failingSince === failingSince) this.#giveNotice(outageNotice(error, undefined));
    }, due);
    this.#noticeTimer.unref();
  }

  /** What the lease holder (another replica) published. */
  #heard(news: LeaseNews): void {
    if (this.#stopped) return;
    if (news.kind === 'changed') {
      this.#heardReadings++;
      return this.#succeeded(news.execution, false);
    }
    if (news.kind === 'failed') {
      this.#tellAll({ kind: 'failed', error: new GraphQLError(news.message, { extensions: news.extensions }) });
      this.stop();
      return;
    }
    if (news.kind === 'outage') {
      const pause = news.extensions.retryAfterMs;
      if (typeof pause === 'number' && pause > 0) this.#pausedUntil = Math.max(this.#pausedUntil, performance.now() + pause);
      if (this.#notice) return;
      // The holder's notice, its time counted from the holder's clock: told to joiners as heard, not timed by this replica's ticks.
      this.#pauseAsked = undefined;
      this.#notice = new GraphQLError(news.message, { extensions: news.extensions });
      this.#tellAll({ kind: 'outage', error: this.#notice });
      return;
    }
    // Subscribed only now: without a reading or a call on its way, the first poll reads upstream after this anyway.
    // Otherwise what this replica holds, or is reading, may be older than what the holder published before: a gap.
    if (news.kind === 'subscribed' && !this.#latest && !this.#polling) return;
    this.#gap = true;
    this.#heardGaps++;
    this.#heardWhole = news.kind === 'gap' ? news.whole : undefined;
    // A poll on its way reads upstream itself: one still asking for the lease sees the gap once answered.
    if (this.#polling) return;
    // Every pair of the process heard it at the same instant: each reads within its poll interval, at random,
    // which also leaves the pollers' ticks spread rather than in step. Without a reading, the first poll is on its way.
    if (news.kind === 'resubscribed') {
      if (this.#latest) this.#schedule(Math.round(Math.random() * nextPollDelay(statusOf(this.#latest), 0, this.deps.settings)));
      return;
    }
    void this.#poll();
  }

  /**
   * This poller's own reading, from a call made when the holder's `readings` and `gaps` were as counted.
   * A reading heard from the holder since may be newer: this one is dropped, as taking it would put
   * older fields over newer ones, and the holder publishes only what changes, so they stayed (a status
   * shown for as long as it did not change again). Anything newer in it, the holder publishes after its
   * next poll. A gap heard since is not closed by it, as the message missed may be newer too: the poller
   * reads again at once, not at its next tick, which comes with the holder's when both started together
   * (a call beside the holder's, made before its notice of a Retry-After could come).
   */
  #read(execution: Execution, readings: number, gaps: number): void {
    if (this.#stopped) return;
    const dropped = this.#heardReadings !== readings && this.#latest !== undefined;
    if (!dropped) {
      // The one gap heard was the holder's first reading, and it is this one: nothing was missed (two replicas
      // whose watches started together; read again, the follower's next call came with the holder's).
      const matched = this.#heardGaps === gaps + 1 && this.#heardWhole !== undefined && sameReading(this.#heardWhole, execution);
      if (this.#heardGaps === gaps || matched) this.#gap = false;
      this.#succeeded(execution);
      if (this.#stopped) return;
    }
    if (this.#gap) return this.#schedule(0);
    if (dropped) this.#rest(statusOf(this.#latest!));
  }

  /** A reading: from this poller's own call (`own`, published when it holds the lease) or from the holder. */
  #succeeded(execution: Execution, own = true): void {
    if (this.#stopped) return;
    const previous = this.#latest;
    const recovered = this.#notice !== undefined;
    // Failing until now, by this replica's polls or by the pair's record.
    const wasFailing = this.#failingSince !== undefined;
    if (own && wasFailing) this.#lease?.recovered();
    this.#pausedUntil = 0;
    this.#failures = 0;
    this.#failingSince = undefined;
    // Not on every reading: a poller new to an outage gets the last reading first, and must still follow the outage.
    // A notice without a start counts too: a follower whose check found the record expired keeps the notice it gave.
    if (wasFailing || recovered) this.#recoveredAt = performance.now();
    this.#clearNoticeTimer();
    this.#notice = undefined;
    this.#pauseAsked = undefined;
    // Upstream only appends. A reading whose `events` is no list, or shorter than the last, says nothing
    // about them: the watch keeps the events it has, so it never goes back and no cursor it handed out
    // comes to name an event that is not there.
    if (previous && (execution.eventsUnreadable || execution.events.length < previous.events.length)) {
      // Not absent once the kept events stand in for the list it lacked: its note would say none were served.
      const { eventsUnreadable: unreadable, eventsAbsent: absent, ...read } = execution;
      // Still marked when the kept events were no list either, and when this is the last reading (a finished
      // execution) with no list, or none at all: events appended since the kept list would be lost unseen
      // (src/live/live-executions.ts).
      const stillUnreadable = previous.eventsUnreadable || ((unreadable || absent) && isTerminalStatus(statusOf(execution)));
      execution = {
        ...read,
        events: previous.events,
        // The kept events were counted with the body they came in (LIVE_MAX_HELD_BYTES), and this body may lack them.
        bodyBytes: Math.max(read.bodyBytes, previous.bodyBytes),
        ...(stillUnreadable ? { eventsUnreadable: true } : {}),
        ...(previous.eventsInOrder !== undefined ? { eventsInOrder: previous.eventsInOrder } : {}),
      };
    } else if (previous) {
      // Upstream keeps its list in createdAt order: an event that came late is inserted, not appended. The
      // watch reads it as appended, after the events it has (./append-order.ts).
      // A watch resumed from a cursor past where the orders part starts from there (src/live/live-executions.ts).
      const events = inAppendOrder(previous.events, execution.events);
      if (events !== execution.events) execution = { ...execution, events, eventsInOrder: inOrderPrefix(events, execution.events) };
    }
    // Upstream only appends events, so a change is a new field value or a longer list. comparedJson, not
    // JSON.stringify: a number past a double's range (read as ±Infinity, served null with a note) and null differ,
    // and a value nested too deep for JSON.stringify reads the same from upstream and from the holder's copy.
    // A finished execution's last reading is not kept: it is handed to the watches and the poller stops.
    const refused = isTerminalStatus(statusOf(execution)) ? undefined : this.deps.keep?.(this, execution);
    if (refused) {
      // This process's bound, not the pair's: its watches end here only, and the lease passes to another replica's poller.
      this.#tellAll({ kind: 'failed', error: refused });
      this.stop();
      return;
    }
    const fingerprint = `${execution.events.length}:${comparedJson(execution.source)}`;
    const changed = fingerprint !== this.#fingerprint;
    this.#fingerprint = fingerprint;
    this.#latest = execution;
    // After failures, an unchanged reading is published too: it tells the other replicas upstream answers again,
    // followers that gave the notice by the pair's clock included.
    if (own && (changed || recovered || wasFailing)) this.#lease?.published(previous, execution);
    // Watchers shown the outage are told it is over even when nothing changed: without an update they
    // would show it until the next change, which may be never. A follower hears the holder's recovery
    // as the reading it publishes, and its own notice makes it `recovered` here too.
    if (recovered) this.#tellAll({ kind: 'changed', execution, recovered: true });
    else if (changed) this.#tellAll({ kind: 'changed', execution });
    else if (own) this.#tellAll({ kind: 'unchanged', execution });
    const status = statusOf(execution);
    if (isTerminalStatus(status)) {
      this.stop();
      return;
    }
    this.#rest(status);
  }

  /** The pause after a reading, at the status's cadence; the lease holder keeps its lease through it if need be. */
  #rest(status: ExecutionStatus): void {
    const delay = nextPollDelay(status, 0, this.deps.settings);
    this.#lease?.resting(delay);
    this.#schedule(delay);
  }

  /**
   * The poll threw what no failure of upstream's or refusal of the gateway's is: a bug. Not told to the other
   * replicas (their pollers read upstream themselves once this one gives up the lease).
   */
  #broke(error: unknown): void {
    this.#tellAll({ kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) });
    this.stop();
  }

  /** A failed poll, or one refused (`record`: false for a pause read from the other replicas, which they hold already). */
  #failed(error: GraphQLError, record = true): void {
    if (endsWatch(error)) {
      this.#lease?.failed(error.message, { ...error.extensions });
      this.#tellAll({ kind: 'failed', error });
      this.stop();
      return;
    }
    const now = performance.now();
    // A new poller refused by a pause (the caller's after a 429, the pair's after a 5xx): the outage began with the
    // answer that began the pause, not now. From now, a watch started with less than the notice time of the pause
    // left got no notice until the next poll.
    const pausedFor = error instanceof UpstreamError ? error.refusal?.pausedForMs : undefined;
    this.#failingSince ??= now - (pausedFor ?? 0);
    const { settings } = this.deps;
    const status = this.#latest ? statusOf(this.#latest) : 'UNKNOWN';
    // The gateway's own open circuit refused the poll, and upstream was not called: no new evidence
    // against upstream, so no longer backoff. Waiting past the circuit's half-open time only delays the
    // update once upstream is back (watches lagged queries by up to 30 s). A full bulkhead still backs
    // off: that is this process overloaded, and pollers coming back at full cadence would keep it so.
    const refusal = ownRefusal(error);
    if (refusal === undefined) this.#failures++;
    const backoff =
      refusal?.retryInMs !== undefined && refusal.retryInMs > 0
        ? Math.round(refusal.retryInMs * (1 + settings.pollJitter * Math.random()))
        : nextPollDelay(status, refusal === undefined ? this.#failures : 0, settings);
    const asked = retryAfterOf(error);
    // Upstream asked for a pause (a 429 or 503 with Retry-After): thousands of pollers coming back on the
    // backoff schedule would keep it rate limited. The spread goes past the asked time, never before it,
    // so pollers told the same Retry-After do not all return at the same instant.
    const pause = asked === undefined ? 0 : Math.min(settings.maxWatchMs, Math.round(asked * (1 + settings.pollJitter * Math.random())));
    const delay = Math.max(backoff, pause);
    if (pause > 0) {
      this.#pausedUntil = now + pause;
      this.#pauseAsked = { error, askedMs: asked! };
    }
    // For the other replicas: one whose poller of the pair starts once the last watcher here left waits it out too.
    if (asked !== undefined && record) this.#lease?.pause(asked);
    // Told once the outage has lasted the notice time, or at once when upstream asked for a pause that
    // makes it last that long: no update can come before the pause ends.
    const silentUntil = now + pause;
    this.#clearNoticeTimer();
    if (!this.#notice && silentUntil - this.#failingSince >= settings.outageNoticeMs) {
      this.#giveNotice(outageNotice(error, pause > 0 ? { askedMs: asked!, nextPollMs: delay } : undefined));
    } else if (now + delay > this.#failingSince + settings.outageNoticeMs) {
      // The next poll comes after the notice time: the outage reaches it before then, with no reading between.
      this.#noticeAt(error);
    }
    // The pair's outage, for whichever replica holds the lease next and for the followers.
    this.#lease?.failing(this.#failingSince, delay);
    // Upstream itself answered with a failure (a 5xx, a 429, an unreadable body), or asked this caller (or
    // this caller for this execution) for a pause and it still runs: every replica would see the same,
    // so the holder keeps the lease through its pause (another replica, which knows nothing of the pause,
    // would poll with the token at once). A failure of this replica's own (its circuit open, its bulkhead
    // full, no route to upstream) lets the lease lapse for another to try.
    const paused = pausedByUpstream(error);
    const upstreamsOwn = error.extensions?.upstreamStatus !== undefined || paused;
    if (upstreamsOwn) this.#lease?.pausing(delay);
    this.#schedule(delay);
  }
}

/** Whether `execution`, as upstream answered it, is the holder's reading `whole` (the same fields, as many events). */
function sameReading(whole: { source: Record<string, unknown>; count: number }, execution: Execution): boolean {
  return whole.count === execution.events.length && comparedJson(whole.source) === comparedJson(execution.source);
}

/** The gateway's open circuit refused the call by itself (src/errors.ts, GatewayRefusal). */
function ownRefusal(error: GraphQLError): { retryInMs?: number | undefined } | undefined {
  if (!(error instanceof UpstreamError) || error.refusal === undefined) return undefined;
  const { by, retryInMs } = error.refusal;
  return by === 'circuit-open' ? { retryInMs } : undefined;
}

/** A pause upstream asked for (a 429's for the caller, a 5xx's for the pair) still runs: the call was not made. */
function pausedByUpstream(error: GraphQLError): boolean {
  return error instanceof UpstreamError && (error.refusal?.by === 'caller-paused' || error.refusal?.by === 'execution-paused');
}

/**
 * Upstream's Retry-After carried by the error, in ms (UpstreamError puts it in `extensions.retryAfterMs`): on an
 * answer of upstream's (`upstreamStatus`), or a pause it asked for that still runs. Not this replica's own cues to
 * clients, the open circuit's or a full UPSTREAM_MAX_BYTES_IN_FLIGHT's: taken for upstream's, watchers heard "the
 * executions API asked the gateway to make no calls" and the other replicas were told to pause the pair.
 */
function retryAfterOf(error: GraphQLError): number | undefined {
  if (error.extensions?.upstreamStatus === undefined && !pausedByUpstream(error)) return undefined;
  const value = error.extensions?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * What watchers are told of an outage (src/errors.ts `watchOutage`): UPSTREAM_UNAVAILABLE whatever the last
 * failure was (a timeout, a 500, an unreadable body), as the README promises and clients switch on, with
 * upstream's facts kept.
 */
function outageNotice(error: GraphQLError | undefined, pause: { askedMs: number; nextPollMs: number } | undefined): GraphQLError {
  const { upstreamStatus, upstreamRequestId } = (error?.extensions ?? {}) as UpstreamFacts;
  return watchOutage({ upstreamStatus, upstreamRequestId }, pause);
}
