/**
 * One live poller per (caller, execution) across every replica (REDIS_URL).
 *
 * Each replica with watchers of a pair has its own poller (src/live/poller.ts),
 * but only the one holding the pair's lease, a Redis key with LIVE_LEASE_MS to
 * live, calls upstream; it renews the lease with each poll and publishes every
 * change on the pair's channel as a small delta: the execution's fields that
 * changed and the events appended, numbered by a sequence. The other replicas
 * apply the deltas to their own last reading and tell their watchers. A replica
 * reads upstream itself when it has no reading yet, or sees a gap (a sequence
 * number skipped, a delta that does not start where its reading ends, or its
 * subscription connection coming back after a drop, which loses messages), and
 * polls for itself while Redis has not acknowledged its SUBSCRIBE (a lease check
 * waits for the answer to the pair's first, up to SUBSCRIBE_TIMEOUT_MS), and
 * once more when Redis acknowledges it after this replica read upstream; the
 * watches diff by event position, so a reading from anywhere never repeats or
 * skips an event for a client.
 *
 * Every replica with watchers tries to take the lease at each of its ticks, so
 * when the holder dies another takes over within LIVE_LEASE_MS plus one tick
 * (plus the rest of its back-off pause, or of upstream's Retry-After, while
 * upstream answers with failures).
 * A message is published only while its publisher holds the lease, checked by
 * Redis as it publishes (one script): a holder that was paused past its lease
 * (a GC pause, SIGSTOP, a slow network) and wakes with an old reading cannot
 * put it after the new holder's, so watchers never go back to older data.
 * While upstream answers with failures and the holder backs off longer than the
 * lease, it keeps the lease through its pause (`pausing`), so the other replicas
 * do not take turns polling a failing upstream; while its poll is on its way it
 * renews the lease (`polling`), so a poll slower than the lease keeps it. It
 * also records when the pair's outage began (the `outage` key), which every
 * replica reads with its lease check and the first reading from upstream
 * deletes: whichever replica holds the lease, and every follower, counts the
 * outage from its start, so LIVE_OUTAGE_NOTICE_MS holds when the replicas take
 * turns (src/live/poller.ts). A pause upstream asked of the pair (a Retry-After)
 * is recorded the same way (the `pause` key, read in the same lease check), so a
 * poller that starts on another replica once the pair's last watcher here left
 * waits it out too.
 * When Redis cannot be reached every replica polls for itself: duplicate calls
 * upstream for a while, never a watch left without updates.
 *
 * Every message is sealed to its channel as cached values are to their keys
 * (`RedisStore.seal`: an HMAC under REDIS_KEY_SECRET of the channel and the
 * JSON), and one whose seal is missing or wrong is dropped before it is read:
 * whoever can PUBLISH to Redis without the secret cannot end a watch, fake an
 * outage or change what watchers are shown, nor move a genuine message to
 * another caller's or execution's channel. A genuine message replayed on its own
 * channel is dropped too once its publisher's later (or same) number was heard
 * there (`newest` below); publishers number without repeats (`#sequences`).
 *
 * ioredis directly rather than Yoga's Redis event target: the deltas need a
 * sequence per publisher and the lease, which a topic-based pub/sub does not give.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Execution } from '../domain/execution.js';
import { isObject } from '../domain/execution.js';
import { ERROR_CODES } from '../errors.js';
import type { Logger } from '../logger.js';
import { isRedisRefusal } from './redis-refusals.js';
import { FORMAT, SUBSCRIBE_TIMEOUT_MS, type RedisStore } from './redis-store.js';
import { comparedJson, storedJson } from '../domain/json-depth.js';
import { FailureLog } from '../telemetry/failure-log.js';

/** At most one line per this long for the messages dropped (per reason: `unsealed`, `replayed`, `stale`), with their count. */
const DROPPED_LOG_MS = 60_000;

/**
 * How old (or how far ahead, by the hearer's clock) a `failed` or `outage` message may be and still be told to the
 * watchers. Sequence numbers stop a replay to a follower that heard its publisher since; this stops one to a watch
 * started after it (a captured UNAUTHENTICATED replayed at every new watch of the pair). Redis delivers at once, so
 * only clocks apart by more than this drop a genuine one, and then a follower still learns both itself: its outage
 * notice from the pair's `outage` record, the failure by polling once the holder leaves. Deltas carry no time: a
 * replayed one is stopped by the numbers and by the events it starts from, and a dropped genuine one would leave the
 * watchers behind.
 */
const NOTICE_FRESH_MS = 30_000;

/** Publishers whose newest number a pair's follower keeps (`newest`): a holder changes only on takeovers. */
const PUBLISHERS_KEPT = 16;

/**
 * What the holder publishes: a change as a delta, or the end of the watch with an error. `db` is the
 * Redis database the publisher's leases are in (absent from replicas of earlier releases): Redis
 * delivers a message to the subscribers of its channel in every database, so two deployments kept
 * apart only by their database number (the same REDIS_KEY_PREFIX and secret) would apply each other's
 * updates, and a reader skips a message from another database.
 */
export type LeaseMessage = (
  | {
      v: typeof FORMAT;
      kind: 'changed';
      /**
       * The publishing replica's id, and its sequence number: consecutive per publisher and pair, never repeated on
       * the pair's channel by one publisher (a pair joined again goes on from the process's count).
       */
      from: string;
      seq: number;
      /** Events the reading had before this delta: where `events` start. */
      count: number;
      /** Fields of the execution object whose value changed (whole values), and fields it no longer has. */
      set?: Record<string, unknown>;
      /** True when `set` is the whole execution object: the publisher's first reading, from no previous one. */
      whole?: true;
      unset?: string[];
      events?: unknown[];
      eventsUnreadable?: boolean;
      /** The reading had no `events` list at all (Execution.eventsAbsent): its watchers' note says so on every replica. */
      eventsAbsent?: boolean;
      bodyBytes: number;
      /** Upstream's id of the response the holder read, when it sent one (data warnings name it). */
      upstreamRequestId?: string;
      /** Where the holder's list stops being in upstream's order (Execution.eventsInOrder); absent: nowhere. */
      eventsInOrder?: number;
    }
  /**
   * `failed`: a permanent failure, the watches end; `outage`: upstream has been failing for LIVE_OUTAGE_NOTICE_MS, the
   * watches go on. `at`: when it was published (epoch ms, the publisher's clock); heard NOTICE_FRESH_MS from it, dropped.
   */
  | { v: typeof FORMAT; kind: 'failed' | 'outage'; from: string; seq: number; at: number; message: string; extensions: Record<string, unknown> }
) & { db?: number };

/** What a replica's poller hears from the holder. */
export type LeaseNews =
  | { kind: 'changed'; execution: Execution }
  | { kind: 'failed' | 'outage'; message: string; extensions: Record<string, unknown> }
  | {
      kind: 'gap';
      /**
       * The holder's first reading (a whole delta: its fields, and how many events it had), heard by a replica
       * with no reading to apply it to: what that replica's own first read can be matched against.
       */
      whole?: { source: Record<string, unknown>; count: number };
    }
  /**
   * Redis acknowledged this replica's SUBSCRIBE to the pair's channel only after the pair's lease was checked here
   * (a lease check waits for the first SUBSCRIBE's answer only so long; a refusal lifted): what the holder published
   * before reached no one here, and it publishes only what changes, so a reading this replica read, or is reading,
   * may be older than the holder's until the execution changes again (for one that rests: for good). Not told to
   * the holder, which reads upstream at each of its ticks.
   */
  | { kind: 'subscribed' }
  /**
   * The subscription connection came back after a drop: messages may have been lost, for every pair of
   * this process at once. Read upstream once, as on a gap, but each pair at a random moment within its
   * poll interval: all at once, a reconnect made a burst of every pair's lease check and upstream read
   * on every replica in the same 100 ms (about 1,000 EVALs there for 500 watched pairs on two replicas),
   * and left every poller ticking in step afterwards.
   */
  | { kind: 'resubscribed' };

/** A poller's part in the pair's lease. */
export interface LeaseMembership {
  /**
   * Whether this replica polls upstream now: it holds the lease (taken or
   * renewed by this call), or Redis cannot tell (away, an error, or no answer
   * within REDIS_COMMAND_TIMEOUT_MS twice running), or this replica cannot
   * hear the holder (Redis has not acknowledged its SUBSCRIBE to the pair's
   * channel, or the subscription connection is down). False: another replica
   * holds it and publishes. When the pair's first SUBSCRIBE is still on its
   * way, waits for Redis's answer, up to SUBSCRIBE_TIMEOUT_MS (1 s) more.
   */
  holds(): Promise<boolean>;
  /**
   * When the pair's outage began (this process's performance.now() ms), as the last `holds()` read it:
   * the start a holder recorded (`failing`) and no reading has cleared since. Undefined when there is
   * none, or Redis could not say.
   */
  outageSince(): number | undefined;
  /**
   * The holder's poll failed, in an outage that began at `sinceMs` (performance.now() ms): recorded for
   * the pair unless a start is recorded already (that one stays), for `pauseMs` (its pause before the
   * next poll) plus LIVE_LEASE_MS. Whichever replica holds the lease next, and every follower, counts
   * the outage from then. Stored as wall-clock time, which the replicas share.
   */
  failing(sinceMs: number, pauseMs: number): void;
  /** Upstream answered this replica: the pair's outage, if one was recorded, is over. */
  recovered(): void;
  /**
   * Ms left of the pause upstream asked of the pair (its Retry-After) as another replica recorded it (`pause`),
   * as the last `holds()` read it; undefined when none runs, this replica recorded it (its client holds its own
   * pauses: src/upstream/caller-pauses.ts), or Redis could not say.
   */
  pausedFor(): number | undefined;
  /**
   * Upstream asked this replica to make no calls for the pair for `pauseMs` (a Retry-After): recorded for that
   * long (a longer one recorded already stays), whether or not this replica holds the lease, so a poller of the
   * pair that starts on another replica (the last watcher here left and the lease with it) waits it out too.
   */
  pause(pauseMs: number): void;
  /** The holder's reading after a poll: published as a delta from the previous one when anything changed. */
  published(previous: Execution | undefined, execution: Execution): void;
  /**
   * The holder's poll is on its way: the lease is renewed (to LIVE_LEASE_MS) every third of LIVE_LEASE_MS until
   * the returned function is called, when the poll has ended. A poll may outlast the lease (an upstream that
   * hangs until UPSTREAM_TIMEOUT_MS, set longer than LIVE_LEASE_MS): the lease lapsed mid-call, another
   * replica took it and polled too, and the holder's failure then found the lease another's, so the pair's
   * outage was never recorded (`failing` is fenced) and no watcher was ever told. A holder that dies or
   * stalls renews nothing: the takeover still comes within LIVE_LEASE_MS. Nothing to stop when this
   * replica does not hold the lease.
   */
  polling(): () => void;
  /** The holder pauses `pauseMs` before its next poll (backing off while upstream fails, or as its Retry-After asks): keeps the lease that long, plus LIVE_LEASE_MS. */
  pausing(pauseMs: number): void;
  /**
   * The holder read upstream and waits `pauseMs` (its poll interval) before the next poll. The lease runs
   * LIVE_LEASE_MS from the poll's `holds()`; when the next one would come later than three quarters of it
   * (a poll interval set longer than the lease, or a slow poll), it is kept through the pause, plus
   * LIVE_LEASE_MS, as `pausing` does. Otherwise nothing is sent: with the default settings a rest never needs it.
   */
  resting(pauseMs: number): void;
  /** The holder's permanent failure (NOT_FOUND, UNAUTHENTICATED, …): the other replicas end their watches with it. */
  failed(message: string, extensions: Record<string, unknown>): void;
  /** The holder's outage notice (UPSTREAM_UNAVAILABLE for LIVE_OUTAGE_NOTICE_MS): the other replicas tell their watchers too. */
  outage(message: string, extensions: Record<string, unknown>): void;
  /** The poller stopped: unsubscribes, and gives the lease up if held, so another replica takes over at its next tick. */
  leave(): void;
}

/** A poller's part in what this process hears on the pairs' channels. */
interface Member {
  /** A message on the pair's channel, `length` characters long. */
  heard(message: LeaseMessage, length: number): void;
  /** Messages may have been lost (the subscriber connection dropped and came back): read upstream once. */
  missed(): void;
  /**
   * Redis acknowledged the last SUBSCRIBE to the pair's channel (false again if a later one was refused). Until
   * then this replica cannot follow the holder: it polls for itself (`holds`). Not reset when the connection
   * drops: the read each pair makes when it is back (`missed`) covers what was published meanwhile, and reads
   * of its own while it was away raced that one.
   */
  subscribed: boolean;
  /**
   * Settles once Redis answered the pair's first SUBSCRIBE, whatever the answer (or the command failed); undefined
   * after. A lease check waits for it, up to SUBSCRIBE_TIMEOUT_MS (`holds`).
   */
  firstSubscribe: Promise<void> | undefined;
  /**
   * Redis answered a SUBSCRIBE to the pair's channel: acknowledged it (true), refused it (false), or the command
   * failed without an answer (undefined: a timeout, a lost connection; `subscribed` stays as it was). An
   * acknowledgment that makes the pair `subscribed` after its lease was checked is heard (LeaseNews `subscribed`).
   */
  answered(subscribed: boolean | undefined): void;
}

// Take the lease when free, renew it when ours; [1 when ours now, the pair's outage start or nil, who recorded the
// pair's pause or nil, its ms left]. A lease with no expiry is no replica's (every one is written with PX; a PERSIST
// or a restore leaves such a key): taken, or no replica polled the pair again, for good.
const HOLD = `local v = redis.call('GET', KEYS[1])
local held = 0
if v == false or (v ~= ARGV[1] and redis.call('PTTL', KEYS[1]) == -1) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) held = 1
elseif v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) held = 1 end
return {held, redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3]), redis.call('PTTL', KEYS[3])}`;
// Delete the lease only when ours.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// Publish only while the lease is ours (the fence); -1 when it is not.
const PUBLISH_HOLDING = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PUBLISH', KEYS[2], ARGV[2]) end return -1`;
// Keep the lease for ARGV[2] ms when ours, however long it had left; 1 when ours.
const KEEP = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0`;
// While the lease is ours: the pair's outage began at ARGV[2] (epoch ms) unless a start is recorded already; kept ARGV[3] ms.
const MARK_OUTAGE = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'NX')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

// The pair's pause, recorded by replica ARGV[1] for ARGV[2] ms, unless one recorded already lasts longer.
const MARK_PAUSE = `if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

/** Whether a command failed by ioredis's REDIS_COMMAND_TIMEOUT_MS rather than by an answer or a closed connection. */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && error.message === 'Command timed out';
}

/** Resolves once `settled` does, or after `ms`, whichever comes first. */
function settledWithin(settled: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([settled, elapsed]).finally(() => clearTimeout(timer));
}

/** Channels per SUBSCRIBE when a connection comes back: a replica may watch LIVE_MAX_POLLERS (up to 1,000,000) pairs. */
const SUBSCRIBE_BATCH = 1_000;

/**
 * The longest live update published, in characters of its JSON. Redis buffers what it has not yet written to a
 * subscriber and cuts the subscriber's connection at `client-output-buffer-limit pubsub` (32 MB hard, 8 MB for
 * 60 s, by default): one larger delta (a field of megabytes changed, a holder's first reading of such fields) cut
 * every follower's subscription, and each of their pairs read upstream again. Past it, followers read upstream.
 */
const PUBLISHED_MAX_CHARS = 1024 * 1024;

/**
 * What is published in place of an update past PUBLISHED_MAX_CHARS: a delta that starts past every reading
 * (`count`), which every follower, this release or an earlier one, takes as a gap and reads upstream on.
 */
function readUpstreamInstead(from: string, seq: number, db: number): LeaseMessage & { db: number } {
  return { v: FORMAT, kind: 'changed', from, seq, count: Number.MAX_SAFE_INTEGER, bodyBytes: 0, db };
}

/**
 * How long the subscription connection may be down, with commands answered, before the pairs this replica follows
 * poll for themselves: a drop ioredis mends at once (100 ms, then 200 ms) is covered by the read each pair makes
 * when it is back; one that lasts (Redis at `maxclients`, a rotated password, an unresolvable host, each of which
 * spares the command connection already open) left every follower here with its watchers' last reading.
 */
const DEAF_AFTER_MS = 1_000;

/**
 * Leases a replica whose publish Redis refused (an ACL without PUBLISH) gives back any lease it takes, polling for
 * itself, unless another replica holds the lease meanwhile: long enough for a replica whose publishes go through to
 * take it, short enough that a fixed ACL is used again soon.
 */
const REFUSED_PUBLISH_LEASES = 10;

export class LiveLeases {
  /** This process: the lease holder's name and the `from` of its messages. */
  readonly replica = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  readonly #members = new Map<string, Member>();
  /** The Redis database this process's keys are in (REDIS_URL's path, 0 by default). */
  readonly #db: number;
  #listening = false;
  /** Whether a SUBSCRIBE refused by Redis was logged: one line until one is acknowledged again. */
  #refusalLogged = false;
  /** performance.now() when the subscription connection went down, while it is; undefined while it is ready. */
  #deafSince: number | undefined;
  /** Whether the subscription connection's lasting loss was logged: one line until it is back. */
  #deafLogged = false;
  /** Leases this process holds now, for metrics. */
  held = 0;
  /**
   * Lease and update commands (take, renew, keep, give up, publish, subscribe) that failed or timed out, for
   * metrics: a Redis that refuses writes (full under `noeviction`) answers PINGs and reads, so it looks up while no
   * lease can be taken and every replica polls for itself.
   */
  errors = 0;
  /**
   * Messages heard on a pair's channel and dropped unread, for metrics: `unsealed`, whose seal was missing or wrong
   * (not a replica's with this secret, or sealed for another channel), `replayed`, a genuine one numbered no later
   * than one heard from its publisher, and `stale`, a `failed` or `outage` older than NOTICE_FRESH_MS.
   */
  readonly dropped = { unsealed: 0, replayed: 0, stale: 0 };
  readonly #droppedLog: FailureLog;
  /**
   * Sequence numbers this process has published, over every pair: where a pair joined again starts numbering, so
   * one publisher's numbers on a channel never repeat and a follower can tell a replay by its number alone.
   */
  #sequences = 0;

  constructor(
    private readonly store: RedisStore,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {
    this.#db = store.client.options.db ?? 0;
    this.#droppedLog = new FailureLog(
      logger,
      'redis: dropped a live update heard on a pair\'s channel (`unsealed`: not sealed for it by a replica with this REDIS_KEY_SECRET, so something else publishes there: secure Redis; `replayed`: heard before; `stale`: a notice sent over 30 s ago, a replay or clocks apart) (README "Scaling out")',
      DROPPED_LOG_MS,
    );
  }

  /** A message dropped unread: counted, and logged at most once a DROPPED_LOG_MS per kind (never its text). */
  #dropped(kind: keyof LiveLeases['dropped'], channel: string, length: number): void {
    this.dropped[kind]++;
    this.#droppedLog.observe(kind, { reason: kind, channel, length });
  }

  /** Joins the pair (caller, id); `hear` gets what the holder publishes, already applied to `latest()`. */
  join(authorization: string, id: string, latest: () => Execution | undefined, hear: (news: LeaseNews) => void): LeaseMembership {
    const { store } = this;
    const tag = store.callerTag(authorization);
    const leaseKey = store.key('lease', tag, id);
    const outageKey = store.key('outage', tag, id);
    const pauseKey = store.key('pause', tag, id);
    const channel = store.key('updates', tag, id);
    let outageSince: number | undefined;
    let pausedFor: number | undefined;
    let holding = false;
    // When (performance.now()) this replica last took or renewed the lease.
    let heldAt = 0;
    // From where this process's numbering stands, not 0: joined again, a pair numbered from 1 anew, and a follower
    // could not tell this membership's first messages from a replay of the last one's.
    let seq = this.#sequences;
    const nextSeq = () => {
      this.#sequences++;
      return ++seq;
    };
    let heard: { from: string; seq: number } | undefined;
    // The newest number heard from each publisher on this channel, PUBLISHERS_KEPT of them: Redis delivers each
    // message once, so one numbered no later is a genuine message published again (a replay by whoever can PUBLISH
    // and SUBSCRIBE). Unchecked, a replayed `failed` ended every follower's watch, and an old delta from a publisher
    // other than the last one heard was in sequence and put its older fields back.
    const newest = new Map<string, number>();
    let left = false;
    // Whether the followers may lack the holder's latest reading: its publish was skipped (Redis away) or failed.
    // Held all along (an outage shorter than the lease), the holder published only the next change, which for a
    // waiting execution could be hours, and the followers' watchers kept the reading before. Settled by the first
    // publish once Redis answers: a poll's reading whole, or, at a lease check, a marker that has the followers read
    // upstream themselves; not the reading held meanwhile, which another holder may have outdated while this one
    // could not learn that it had lost the lease.
    let owed = false;
    // When (performance.now()) Redis last refused this replica's publish, while it counts (REFUSED_PUBLISH_LEASES).
    let publishRefusedAt: number | undefined;
    // The lease was found not ours after this replica read upstream as holder (its publish fenced, a renewal refused),
    // `unheard`: a reading went unpublished. Owed until the next check says who holds: another replica (which reads
    // upstream at once as it takes over, and clears it), or this one again, which then publishes the marker. Cleared
    // at once, a key gone under the holder (a FLUSHALL, an eviction) lost that reading for the followers whenever it
    // took the lease again first: the next poll found nothing changed, and published nothing until the next change.
    const lost = (unheard: boolean) => {
      setHolding(false);
      if (unheard) owed = true;
    };
    const setHolding = (now: boolean) => {
      if (now !== holding) this.held += now ? 1 : -1;
      holding = now;
      // Another replica holds it, or will: its readings reach the followers, and this one's, older, never should.
      if (!now) owed = false;
    };
    this.#listen();
    const heardFrom = (message: LeaseMessage, length: number) => {
      if (left || message.from === this.replica) return;
      // Another deployment's, on the same server under the same prefix and secret: its leases and its upstream are not ours.
      if (message.db !== undefined && message.db !== this.#db) return;
      const before = newest.get(message.from);
      if (before !== undefined && message.seq <= before) return this.#dropped('replayed', channel, length);
      newest.delete(message.from);
      newest.set(message.from, message.seq);
      if (newest.size > PUBLISHERS_KEPT) newest.delete(newest.keys().next().value!);
      // Not a sign that ours lapsed: Redis may deliver a message published just before this replica took the
      // lease after the answer that it has it. A publish refused by the fence says so (below).
      const inSequence = heard === undefined || heard.from !== message.from || message.seq === heard.seq + 1;
      heard = { from: message.from, seq: message.seq };
      if (message.kind !== 'changed' && !(Math.abs(Date.now() - message.at) <= NOTICE_FRESH_MS)) return this.#dropped('stale', channel, length);
      if (message.kind !== 'changed') return hear({ kind: message.kind, message: message.message, extensions: message.extensions });
      const base = latest();
      // Upstream only appends: a reading short of the delta's start cannot take it (read upstream instead),
      // one longer than the delta's end is newer than it (this replica read upstream since: nothing to do).
      if (!base && inSequence && message.whole) return hear({ kind: 'gap', whole: { source: { ...message.set }, count: message.count } });
      if (!inSequence || !base || base.events.length < message.count) return hear({ kind: 'gap' });
      if (message.count + (message.events?.length ?? 0) < base.events.length) return;
      if (message.bodyBytes < leastBodyBytes(base, message, length)) return hear({ kind: 'gap' });
      hear({ kind: 'changed', execution: applied(base, message) });
    };
    let firstSubscribed = () => {};
    // Whether the pair's lease was checked here: a poller checks it before each upstream call, so until then this
    // replica has read nothing the holder's messages could outdate.
    let checked = false;
    const member: Member = {
      heard: heardFrom,
      missed: () => {
        if (!left) hear({ kind: 'resubscribed' });
      },
      subscribed: false,
      firstSubscribe: new Promise<void>((resolve) => (firstSubscribed = resolve)),
      answered: (subscribed) => {
        const followed = subscribed === true && !member.subscribed;
        if (subscribed !== undefined) member.subscribed = subscribed;
        // Before a lease check waiting for this answer goes on: a poll on its way learns it has a gap to read.
        if (followed && checked && !left && !holding) hear({ kind: 'subscribed' });
        member.firstSubscribe = undefined;
        firstSubscribed();
      },
    };
    this.#members.set(channel, member);
    // While the connection is away nothing is sent: it subscribes to every pair's channel when it is back (#listen).
    if (store.subscriber.status === 'ready') this.#subscribe([channel]);
    const publish = (message: LeaseMessage) => {
      let json = storedJson({ ...message, db: this.#db });
      // Past the bound, in its place a delta that starts past every reading: each follower reads upstream itself.
      if (json.length > PUBLISHED_MAX_CHARS) json = storedJson(readUpstreamInstead(message.from, message.seq, this.#db));
      // Sealed to this channel: a follower takes nothing else (#listen).
      return void store.client
        .eval(PUBLISH_HOLDING, 2, leaseKey, channel, this.replica, store.seal(channel, json))
        .then((receivers) => {
          // The lease lapsed (this process was paused, or Redis was), or its key went (a FLUSHALL, an eviction under
          // maxmemory, a restart): another replica polls now, or this one takes it again at its next check.
          if (receivers === -1 && !left) lost(message.kind === 'changed');
        })
        .catch((error: Error) => {
          this.errors++;
          if (message.kind === 'changed') owed = true;
          // Refused, it will be again; a timeout or a lost connection says nothing of the next.
          if (isRedisRefusal(error)) publishRefusedAt = performance.now();
          store.failed(error, 'leases');
          this.logger.debug({ err: error.message }, 'redis: could not publish a live update');
        });
    };
    return {
      holds: async () => {
        checked = true;
        outageSince = undefined;
        pausedFor = undefined;
        if (!store.up) return true;
        const check = () => store.client.eval(HOLD, 3, leaseKey, outageKey, pauseKey, this.replica, this.leaseMs) as Promise<[number, string | null, string | null, number]>;
        try {
          const [held, since, pausedBy, pauseMs] = await check().catch((error: unknown) => {
            // A check that timed out is asked once more before this replica polls for itself: the process's event
            // loop blocked past REDIS_COMMAND_TIMEOUT_MS (a GC pause, a large body parsed) fires the command's timer
            // before the answer, already in the socket, is read. Taken for Redis's silence, a follower called
            // upstream beside the holder (two replicas after a 300 ms stall: two calls of a hanging upstream 19 ms
            // apart). The check takes or renews only, so asking again is safe; a Redis that is truly slow fails it too.
            if (!isTimeout(error) || !store.up) throw error;
            this.errors++;
            return check();
          });
          const taken = held === 1;
          outageSince = storedOutageStart(since);
          // This replica's own pauses are its client's to keep; PTTL is relative, so no clock is compared.
          if (pausedBy !== null && pausedBy !== this.replica && pauseMs > 0) pausedFor = pauseMs;
          // The last watcher left while Redis answered: give back what was just taken, unless the pair has a
          // poller here again. The lease names the process, not the poller: the new poller has renewed it as its
          // own, and releasing it left the pair with no lease while that poller counted it held (its publish
          // refused by the fence, other replicas polling too until its next tick).
          if (left) {
            if (taken && !this.#members.has(channel)) store.client.eval(RELEASE, 1, leaseKey, this.replica).catch(this.#failed);
            return false;
          }
          if (publishRefusedAt !== undefined) {
            // Another replica holds it: its publishes may go through, whatever Redis refused this one.
            if (!taken || performance.now() - publishRefusedAt >= this.leaseMs * REFUSED_PUBLISH_LEASES) publishRefusedAt = undefined;
            else {
              // What this replica publishes reaches no follower. Holding on (the lease renewed at each check), it left
              // every other replica's watchers at their first reading for as long as it had watchers; it gives the
              // lease back and polls for itself, and a replica that can publish takes it.
              setHolding(false);
              store.client.eval(RELEASE, 1, leaseKey, this.replica).catch(this.#failed);
              return true;
            }
          }
          setHolding(taken);
          if (taken) {
            heldAt = performance.now();
            if (owed) {
              owed = false;
              publish(readUpstreamInstead(this.replica, nextSeq(), this.#db));
            }
          }
          // Another replica holds the lease, but what it publishes would not reach this one: Redis has not
          // acknowledged the SUBSCRIBE (not answered yet, or refused). Following then left the
          // watchers here with their first reading for as long as the holder held the lease, and a refusal (an ACL
          // without the channels) was for good. Polled for itself, as when Redis cannot say who holds.
          else {
            // The pair's first SUBSCRIBE, sent as it was joined or once the subscription connection is made (a
            // replica's first watch makes it), may still be on its way: its answer is waited for, as long as the
            // subscription connection gives a SUBSCRIBE. A poller with no reading reads upstream whatever this says;
            // read before Redis took the SUBSCRIBE, its reading may lack a change the holder published in between,
            // and the acknowledgment has it read again (LeaseNews `subscribed`): two calls where one does. Not
            // REDIS_COMMAND_TIMEOUT_MS: making the connection and subscribing took longer than its 50 ms on a loaded
            // machine (two test files side by side).
            if (!member.subscribed && member.firstSubscribe && !this.#deaf()) await settledWithin(member.firstSubscribe, SUBSCRIBE_TIMEOUT_MS);
            if (!member.subscribed || this.#deaf()) return true;
          }
        } catch (error) {
          this.errors++;
          store.failed(error, 'leases');
          // Redis cannot say who polls: this replica does, so its watchers are never left without updates.
          return true;
        }
        return holding;
      },
      outageSince: () => outageSince,
      pausedFor: () => pausedFor,
      pause: (pauseMs) => {
        if (!store.up || !(pauseMs > 0)) return;
        store.client.eval(MARK_PAUSE, 1, pauseKey, this.replica, Math.ceil(pauseMs)).catch(this.#failed);
      },
      failing: (sinceMs, pauseMs) => {
        if (!holding || !store.up) return;
        const epochMs = Math.round(Date.now() - (performance.now() - sinceMs));
        store.client.eval(MARK_OUTAGE, 2, leaseKey, outageKey, this.replica, epochMs, Math.round(pauseMs) + this.leaseMs).catch(this.#failed);
      },
      recovered: () => {
        // Not fenced: a reading from upstream ends the outage whoever made it.
        if (store.up) store.client.del(outageKey).catch(this.#failed);
      },
      published: (previous, execution) => {
        if (!holding) return;
        if (!store.up) {
          owed = true;
          return;
        }
        // Owed, the followers lack `previous`: the reading goes whole, as a first one.
        publish(delta(this.replica, nextSeq(), owed ? undefined : previous, execution));
        owed = false;
      },
      polling: () => {
        if (!holding || !store.up) return () => {};
        const renewal = setInterval(() => {
          if (left || !holding || !store.up) return;
          const sentAt = performance.now();
          store.client
            .eval(KEEP, 1, leaseKey, this.replica, this.leaseMs)
            .then((kept) => {
              if (kept === 1) heldAt = Math.max(heldAt, sentAt);
              // Lost meanwhile (this process or Redis was paused, the key went): the reading this poll brings is not
              // published, as this replica no longer holds the lease.
              else if (!left) lost(true);
            })
            .catch(this.#failed);
        }, Math.max(1, Math.floor(this.leaseMs / 3)));
        renewal.unref();
        return () => clearInterval(renewal);
      },
      pausing: (pauseMs) => {
        if (!holding || !store.up) return;
        store.client.eval(KEEP, 1, leaseKey, this.replica, pauseMs + this.leaseMs).catch(this.#failed);
      },
      resting: (pauseMs) => {
        // Lapsed before the next poll, the lease would be free for every replica with watchers, and each would poll too.
        if (!holding || !store.up || performance.now() - heldAt + pauseMs < this.leaseMs * 0.75) return;
        store.client.eval(KEEP, 1, leaseKey, this.replica, pauseMs + this.leaseMs).catch(this.#failed);
      },
      failed: (message, extensions) => {
        if (!holding || !store.up) return;
        publish({ v: FORMAT, kind: 'failed', from: this.replica, seq: nextSeq(), at: Date.now(), message, extensions });
      },
      outage: (message, extensions) => {
        if (!holding || !store.up) return;
        publish({ v: FORMAT, kind: 'outage', from: this.replica, seq: nextSeq(), at: Date.now(), message, extensions });
      },
      leave: () => {
        if (left) return;
        left = true;
        this.#members.delete(channel);
        // A connection that is away listens to nothing; when it is back it subscribes to the members' channels only.
        if (store.subscriber.status === 'ready') store.subscriber.unsubscribe(channel).catch(this.#failed);
        if (holding) {
          setHolding(false);
          store.client.eval(RELEASE, 1, leaseKey, this.replica).catch(this.#failed);
        }
      },
    };
  }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    const { subscriber } = this.store;
    subscriber.on('message', (channel: string, text: string) => {
      const member = this.#members.get(channel);
      if (!member) return;
      // Not sealed to this channel with this secret: not a replica's (anyone who can PUBLISH to Redis), or a
      // replica's for another pair, moved here. Dropped unread: before, a forged `failed` ended every follower's watch
      // with the forger's message, and a forged delta put its fields and events before the watchers.
      const json = this.store.unseal(channel, text);
      if (json === undefined) return this.#dropped('unsealed', channel, text.length);
      const message = parseMessage(json);
      // Garbage under a valid seal (a bug): ignored; the watchers here read for themselves on the next gap.
      if (message) member.heard(message, json.length);
    });
    // The subscriber connection came back after a drop (Redis restarted or failed over, the connection was killed,
    // Redis cut a slow subscriber at its pub/sub output buffer limit). Redis keeps no message for a client that is
    // away, and a holder publishes only when something changes: a follower that missed the last change would show
    // the old reading until the next one, which may be hours away (a status that then stays). Every pair reads
    // upstream once instead, as on a skipped sequence number, within its poll interval (src/live/poller.ts).
    // Subscribing again is this class's, not ioredis's (autoResubscribe off, no offline queue:
    // src/shared-state/redis-store.ts): pairs joined and left while the connection was away sent nothing, so each
    // 'ready' (the first included) subscribes to the channels of the pairs watched now. These SUBSCRIBEs are written
    // before any member reads upstream, so whatever is published after that reading is heard.
    let connectedBefore = false;
    subscriber.on('ready', () => {
      this.#deafSince = undefined;
      if (this.#deafLogged) this.logger.info('redis subscription connection back: following the lease holders again');
      this.#deafLogged = false;
      this.#subscribe([...this.#members.keys()]);
      if (connectedBefore) for (const member of this.#members.values()) member.missed();
      connectedBefore = true;
    });
    subscriber.on('close', () => {
      this.#deafSince ??= performance.now();
    });
    // Counted while commands are answered only: after a restart both connections come back within moments of each
    // other, and the subscriber's time away from before the restart made every follower poll beside its holder.
    this.store.client.on('ready', () => {
      if (this.#deafSince !== undefined) this.#deafSince = performance.now();
    });
  }

  /**
   * Whether the subscription connection has been down past DEAF_AFTER_MS: then a follower cannot hear its holder and
   * polls for itself (`holds`). Logged once per loss, and only while commands are answered (a Redis that is away
   * altogether has its own line, and every pair polls for itself then anyway).
   */
  #deaf(): boolean {
    if (this.#deafSince === undefined || performance.now() - this.#deafSince < DEAF_AFTER_MS) return false;
    if (!this.#deafLogged) {
      this.#deafLogged = true;
      this.logger.warn(
        { downMs: Math.round(performance.now() - this.#deafSince) },
        'redis subscription connection down while commands are answered: the executions watched here are polled from this replica, beside their lease holders, until it is back',
      );
    }
    return true;
  }

  /** Counts a command that failed in the background; nothing else to do, the next tick asks again. */
  readonly #failed = (error: unknown): void => {
    this.errors++;
    this.store.failed(error, 'leases');
  };

  /** SUBSCRIBEs again to those of `batch` whose pair is still the one (`members`) it was sent for, on a connection still up. */
  #subscribeAgain(batch: string[], members: Array<Member | undefined>): void {
    const current = batch.filter((channel, i) => members[i] !== undefined && this.#members.get(channel) === members[i]);
    if (current.length > 0 && this.store.subscriber.status === 'ready') this.#subscribe(current);
  }

  /**
   * SUBSCRIBEs to `channels`, at most SUBSCRIBE_BATCH a command; each pair follows the holder once Redis
   * acknowledged its channel on this connection. A refusal (an ACL without the channels: `NOPERM`) is one
   * warning, until a SUBSCRIBE is acknowledged again: each watch started meanwhile is refused too.
   */
  #subscribe(channels: string[]): void {
    for (let start = 0; start < channels.length; start += SUBSCRIBE_BATCH) {
      const batch = channels.slice(start, start + SUBSCRIBE_BATCH);
      // The members subscribed for: a pair left and joined again meanwhile has a SUBSCRIBE of its own.
      const members = batch.map((channel) => this.#members.get(channel));
      const answered = (subscribed: boolean | undefined) =>
        batch.forEach((channel, i) => {
          const member = members[i];
          if (member && this.#members.get(channel) === member) member.answered(subscribed);
        });
      this.store.subscriber.subscribe(...batch).then(
        () => {
          this.#refusalLogged = false;
          answered(true);
        },
        (error: Error) => {
          this.errors++;
          if (!isRedisRefusal(error)) {
            answered(undefined);
            this.logger.debug({ err: error.message }, 'redis: could not subscribe to live updates');
            // Timed out (a stalled event loop, a slow Redis), Redis may still have run it: unasked again, the pair never
            // counted as subscribed and polled beside its holder for as long as the connection stayed up. SUBSCRIBE is
            // idempotent. Only a timeout, and on a later turn: a socket that cannot be written fails a command at once
            // while the status still says 'ready' (its 'close' comes a turn later), and asked again from here that
            // looped without end. A connection that dropped subscribes every pair at its next 'ready' instead.
            if (isTimeout(error)) setImmediate(() => this.#subscribeAgain(batch, members));
            return;
          }
          answered(false);
          if (this.#refusalLogged) return;
          this.#refusalLogged = true;
          this.logger.warn(
            { reply: error.message.slice(0, 300), channels: `&${this.store.keyPrefix}*` },
            'redis refused to SUBSCRIBE to live updates: this replica polls upstream itself for the executions it watches, beside the lease holder; grant the Redis user these channels',
          );
        },
      );
    }
  }
}

/** The delta from `previous` to `execution`: changed fields and appended events. */
export function delta(from: string, seq: number, previous: Execution | undefined, execution: Execution): LeaseMessage {
  // The publisher's first reading: its fields whole and none of its events. Every event from the start
  // would put megabytes through Redis for a long list; a replica whose reading is shorter reads upstream itself.
  const count = previous ? previous.events.length : execution.events.length;
  const before = previous?.source ?? {};
  // No prototype: assigning `__proto__` must make a field, not change the object's prototype.
  const set: Record<string, unknown> = Object.create(null);
  const unset: string[] = [];
  // Own fields only: upstream's JSON may hold `__proto__` or `constructor`, which `in` would find on every object.
  for (const [field, value] of Object.entries(execution.source)) {
    // comparedJson, as the poller's change check: ±Infinity and null differ, and a value too deep for
    // JSON.stringify gives the same text from any stack.
    if (!Object.hasOwn(before, field) || comparedJson(before[field]) !== comparedJson(value)) set[field] = value;
  }
  for (const field of Object.keys(before)) if (!Object.hasOwn(execution.source, field)) unset.push(field);
  return {
    v: FORMAT,
    kind: 'changed',
    from,
    seq,
    count,
    ...(Object.keys(set).length ? { set } : {}),
    ...(previous ? {} : { whole: true as const }),
    ...(unset.length ? { unset } : {}),
    ...(execution.events.length > count ? { events: execution.events.slice(count) as unknown[] } : {}),
    ...(execution.eventsUnreadable ? { eventsUnreadable: true } : {}),
    ...(execution.eventsAbsent ? { eventsAbsent: true } : {}),
    bodyBytes: execution.bodyBytes,
    ...(execution.upstreamRequestId !== undefined ? { upstreamRequestId: execution.upstreamRequestId } : {}),
    ...(execution.eventsInOrder !== undefined ? { eventsInOrder: execution.eventsInOrder } : {}),
  };
}

/**
 * Characters a holder's delta may run past what it changes in the body it reports: its own fields (`from`,
 * `upstreamRequestId` up to 256, the counts, `unset`'s names).
 */
const DELTA_SLACK_CHARS = 1_024;

/**
 * The least `bodyBytes` an honest holder reports for the reading `base` becomes with a delta `length` characters
 * long: what `base` held, less what the fields the delta sets or unsets held there, plus the delta (the delta alone
 * when it replaces the reading whole, or `base` has some of its events already). A follower counts what it holds
 * (LIVE_MAX_HELD_BYTES) from the holder's `bodyBytes` and applies delta after delta without reading upstream: one
 * that says less (a bug, another release, anything else writing to Redis) is a gap, read upstream instead, so what
 * a follower holds is never counted short however many deltas it applies.
 */
function leastBodyBytes(base: Execution, message: Extract<LeaseMessage, { kind: 'changed' }>, length: number): number {
  if (message.whole || base.events.length !== message.count) return length - DELTA_SLACK_CHARS;
  // No prototype: a field named `__proto__` must be a field here too.
  const replaced: Record<string, unknown> = Object.create(null);
  for (const field of [...Object.keys(message.set ?? {}), ...(message.unset ?? [])]) {
    if (Object.hasOwn(base.source, field)) replaced[field] = base.source[field];
  }
  return base.bodyBytes - storedJson(replaced).length + length - DELTA_SLACK_CHARS;
}

/** `base` with a delta applied; `base` may already hold some of the delta's events (it read upstream later than the holder). */
export function applied(base: Execution, message: Extract<LeaseMessage, { kind: 'changed' }>): Execution {
  const source: Record<string, unknown> = message.whole ? { ...message.set } : { ...base.source, ...message.set };
  for (const field of message.unset ?? []) delete source[field];
  const appended = (message.events ?? []).slice(base.events.length - message.count);
  // `base`'s events stay where they are: where its own order parted from upstream's still holds, whatever the
  // holder's list says (a holder that took over with a reading in upstream's order sends none), so the earlier wins.
  const inOrder = Math.min(base.eventsInOrder ?? Infinity, typeof message.eventsInOrder === 'number' ? message.eventsInOrder : Infinity);
  return {
    id: base.id,
    source,
    events: appended.length ? [...base.events, ...appended] : base.events,
    bodyBytes: message.bodyBytes,
    ...(message.eventsUnreadable ? { eventsUnreadable: true } : {}),
    ...(message.eventsAbsent === true ? { eventsAbsent: true } : {}),
    ...(typeof message.upstreamRequestId === 'string' ? { upstreamRequestId: message.upstreamRequestId } : {}),
    ...(inOrder !== Infinity ? { eventsInOrder: inOrder } : {}),
  };
}

/**
 * An outage start as stored (epoch ms) as this process's performance.now() time, never in the future
 * (another host's clock may run ahead); anything else is none.
 */
function storedOutageStart(text: string | null): number | undefined {
  const value = text === null ? NaN : Number(text);
  if (!Number.isFinite(value) || value <= 0) return undefined;
  const now = Date.now();
  return performance.now() - (now - Math.min(value, now));
}

function parseMessage(text: string): LeaseMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.v !== FORMAT || typeof value.from !== 'string' || typeof value.seq !== 'number') return undefined;
  if (value.db !== undefined && typeof value.db !== 'number') return undefined;
  // A failure relayed to watchers carries one of the gateway's codes, as every error it serves does: one without
  // (not a replica's) ended a follower's watch with an error no client could tell by its code.
  if (value.kind === 'failed' || value.kind === 'outage') {
    return typeof value.message === 'string' && isObject(value.extensions) && ERROR_CODES.has(value.extensions.code as string) ? (value as LeaseMessage) : undefined;
  }
  if (value.kind !== 'changed' || typeof value.count !== 'number' || !Number.isSafeInteger(value.bodyBytes) || (value.bodyBytes as number) < 0) return undefined;
  if ((value.set !== undefined && !isObject(value.set)) || (value.unset !== undefined && !Array.isArray(value.unset)) || (value.events !== undefined && !Array.isArray(value.events))) return undefined;
  return value as LeaseMessage;
}
