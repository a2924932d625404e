/**
 * The connection to Redis (REDIS_URL), the one way replicas share state:
 * the cache of finished executions (./shared-cache.ts) and the live pollers'
 * leases and updates. Without REDIS_URL none of this exists and every replica
 * keeps its state to itself.
 *
 * Redis is an optimisation, never a dependency: commands are not queued while
 * it is away (ioredis's offline queue is off) and each gives up after
 * REDIS_COMMAND_TIMEOUT_MS, so a slow or absent Redis costs a query at most
 * that, and the gateway serves from local state meanwhile. ioredis reconnects
 * by itself; `/ready` and the `gateway_redis_up` gauge say where it stands (a
 * connection whose PINGs go unanswered twice running counts as lost), and one
 * log line each time it is lost and found again.
 *
 * Keys and channels: `<REDIS_KEY_PREFIX>v<FORMAT>:<kind>:<caller>:<execution id>`,
 * where `<caller>` is an HMAC-SHA256 (REDIS_KEY_SECRET) of the caller's
 * Authorization header in its one form per token (src/upstream/caller.ts:
 * `bearer x` and `Bearer x` are one caller on every replica), so a reader of
 * Redis can neither see nor test tokens,
 * and FORMAT is bumped whenever what is stored changes shape, so two versions
 * side by side during a rolling deploy never read each other's data. One key has
 * no caller part, `<REDIS_KEY_PREFIX>v<FORMAT>:key-check`: the replicas' check
 * that they all use one REDIS_KEY_SECRET (./key-check.ts), reported by
 * `keySecretMismatch`, never failing readiness.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { redisTlsOptions, type SharedStateConfig } from '../config.js';
import { certificateHints, untrustedCertificate } from '../certificate-hints.js';
import type { Logger } from '../logger.js';
import { KeyCheck } from './key-check.js';
import { isRedisRefusal, RedisRefusals } from './redis-refusals.js';

/**
 * Version of every stored value and message; part of every key and channel. 2: live updates are sealed to their
 * channel (./live-leases.ts), which a replica of format 1 cannot read, nor it a format 1 replica's plain ones; apart,
 * each polls for its own watchers during a rolling deploy rather than following a holder it cannot hear.
 */
export const FORMAT = 2;

/** Length of a seal: an HMAC-SHA256 in base64url. */
const SEAL_LENGTH = 43;

function sealOf(secret: string, key: string, json: string): string {
  return createHmac('sha256', secret).update(key).update('\n').update(json).digest('base64url');
}

/**
 * `json` sealed to `key`: `<seal>.<json>`, the seal an HMAC (the key secret) of
 * both. A value is then read only under the key it was written for (one
 * caller's entry copied under another's key is no entry), and only if a
 * replica with the secret wrote it: whoever can write to Redis cannot forge one.
 */
export function sealed(secret: string, key: string, json: string): string {
  return `${sealOf(secret, key, json)}.${json}`;
}

/** The JSON `text` holds when it was sealed to `key` with `secret`, else undefined. */
export function unsealed(secret: string, key: string, text: string): string | undefined {
  if (text.charCodeAt(SEAL_LENGTH) !== 0x2e) return undefined;
  const json = text.slice(SEAL_LENGTH + 1);
  const expected = Buffer.from(sealOf(secret, key, json));
  const seal = Buffer.from(text.slice(0, SEAL_LENGTH));
  return seal.length === expected.length && timingSafeEqual(seal, expected) ? json : undefined;
}

/** Bytes a seal adds to a value. */
export const SEAL_BYTES = SEAL_LENGTH + 1;

/**
 * What a key names: a cached execution, a poller's lease, when a watched pair's outage began, the pause upstream
 * asked of a watched pair (its Retry-After), or the channel of an execution's updates.
 */
export type KeyKind = 'cache' | 'lease' | 'outage' | 'pause' | 'updates';

/** What a key without a caller part names, one per prefix: the check that every replica has one secret. */
export type FleetKeyKind = 'key-check';

/** What a command was for, as a refusal's line says what is lost: the shared cache's reads and writes, or the live leases' commands. */
export type RedisUse = 'cache' | 'leases';

/**
 * How often a ready connection is checked with a PING. A Redis that hangs
 * (stopped, swapped out, a network that drops packets) keeps its TCP
 * connection open and answers nothing: it looked connected while every cache
 * miss waited out REDIS_COMMAND_TIMEOUT_MS.
 */
const HEARTBEAT_MS = 1_000;

/** How long the subscription connection gives a SUBSCRIBE or UNSUBSCRIBE to be answered before it counts as failed. */
export const SUBSCRIBE_TIMEOUT_MS = 1_000;

/**
 * Heartbeats between two checks of the key secret (./key-check.ts): every replica runs a script on the one key
 * of its prefix, so at each second 100 replicas of 8 workers would make 800 a second on one key (one Redis Cluster
 * node); a secret that differs is a configuration error that lasts until someone acts, told within 5 s.
 */
const KEY_CHECK_BEATS = 5;

/**
 * Consecutive PINGs unanswered within REDIS_COMMAND_TIMEOUT_MS before Redis
 * counts as hung. One is not enough: a GC pause or a busy event loop longer
 * than the timeout fails a PING whose answer is already in
 * the socket, and a false loss turns every replica into its own poller.
 */
const MISSES_TO_HUNG = 2;

/**
 * Heartbeats in a row that find a connection silent (a PING owed since the last one, and not one byte
 * received) before its socket is destroyed, so that ioredis connects again. A network that black-holes a
 * connection (a firewall or NAT that dropped its state, a host gone without a reset) sends neither FIN nor
 * RST: the socket stays open, and only the OS's TCP timeout would end it.
 * The subscriber's are counted from its own PINGs (Redis answers them in subscribed mode too): a follower
 * whose subscription hears nothing shows an old reading until the next change, so two are enough, while the
 * command connection is heard meanwhile. When it is silent too, Redis itself is (a long script, a fork): the
 * command connection's limit holds for both, or every such pause cut the subscriber and made each live pair
 * read upstream again.
 * The command connection's, from the PINGs below, are five, and only silence counts: a Redis that answers
 * late (a long command ahead of ours, a busy host) still sends bytes, and is `hung` rather than cut; a
 * connection cut fails every command in flight on it, and is made again from nothing.
 */
const SILENT_BEATS_TO_DEAD = { commands: 5, subscriber: 2 } as const;

type Role = keyof typeof SILENT_BEATS_TO_DEAD;

/** What a connection's heartbeats saw since it was last ready. */
interface Silence {
  /** Bytes came in since the last heartbeat. */
  received: boolean;
  /** A PING was sent at the last heartbeat. */
  owed: boolean;
  /** Heartbeats in a row that found a PING owed and nothing received. */
  beats: number;
}

/** Where Redis stands, as `/ready` reports it. */
export type RedisHealth = 'connected' | 'degraded';

export class RedisStore {
  /** For commands. */
  readonly client: Redis;
  readonly #settings: SharedStateConfig & { redisUrl: string; redisKeySecret: string };
  readonly #logger: Logger;
  #subscriber: Redis | undefined;
  #up = false;
  /** Connected, but the last MISSES_TO_HUNG PINGs went unanswered within the command timeout. */
  #hung = false;
  /**
   * The last PING was answered with something other than PONG: the far end speaks enough of Redis's protocol to
   * pass ioredis's checks (an echo service, another RESP server) and is not Redis. Taken as one, it answered every
   * lease check with no lease, so each live watch followed a holder that did not exist and got no update after its
   * first, while `/ready` said `connected`. Cleared by a PONG.
   */
  #notRedis = false;
  /** PINGs unanswered in a row on the current connection. */
  #misses = 0;
  /** Bumped at each 'ready', so a PING sent on an earlier connection says nothing about this one. */
  #connection = 0;
  #pinging = false;
  /**
   * The reasons the current outage's lines gave, the loss's first; empty while no loss is told, so an outage is one
   * line however many reconnects fail (and one more per other reason they fail for).
   */
  #toldReasons: string[] = [];
  /**
   * Why the command connection last failed (`ECONNREFUSED`, `WRONGPASS …`), for the loss line: without it a wrong
   * password read as Redis being down, and its reason was only in the debug lines.
   */
  #lastError: string | undefined;
  /**
   * Why Redis is not used at all: it refused to SELECT the database REDIS_URL names (`/99` where it has 16). ioredis
   * went on in database 0, sharing another deployment's keys and leases in silence (a watch got its first update
   * and then none, the lease being the other fleet's); now the connections are closed and the replica serves alone.
   */
  #unusable: string | undefined;
  /** Commands Redis refused, by what they were for: each use's line says what is lost while Redis refuses it. */
  readonly #refusals: Record<RedisUse, RedisRefusals>;
  /** PINGs Redis refused: the heartbeat still counts them as answers, and says so apart from refused writes. */
  readonly #pingRefusals: RedisRefusals;
  /** PINGs refused otherwise than by the ACL (renamed away: `ERR unknown command`), to which a grant of +ping changes nothing. */
  readonly #pingOtherRefusals: RedisRefusals;
  readonly #keyCheck: KeyCheck;
  #closed = false;
  /** performance.now() of the last reconnect a READONLY reply asked for (`#readOnly`); -Infinity before the first. */
  #readOnlyReconnectAt = -Infinity;
  /** The command connection's next 'close' is one `#readOnly` asked for: no outage to tell, the reconnect follows. */
  #closingForPrimary = false;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #silence: Record<Role, Silence> = {
    commands: { received: false, owed: false, beats: 0 },
    subscriber: { received: false, owed: false, beats: 0 },
  };
  /**
   * Whether the far end sent any byte on each role's current connection since it was made (reset at 'connect'): a
   * far end that accepted and sent nothing before failing tells what it is (a black hole, a TLS port) where ioredis's
   * error alone (`Command timed out`, `ECONNRESET`) does not.
   */
  readonly #heardSinceConnect: Record<Role, boolean> = { commands: false, subscriber: false };
  /**
   * A redis:// connection reset before a byte came back is a TLS port's answer to plain commands, and also a plain
   * Redis's at `maxclients` (its refusal is lost in the reset): a TLS handshake with the same address tells them
   * apart (`probeTls`). Its answer, while on its way; the loss's line waits for it, so that it says which.
   */
  #tlsProbe: Promise<void> | undefined;
  /** The CA, client certificate and key of REDIS_TLS_*, read once at start; undefined when none is set. */
  readonly #tls: ReturnType<typeof redisTlsOptions> | undefined;
  /** The error line the command connection's far end sent first, on the current connection (`ERR max number of clients reached`). */
  #refusedAtConnect: string | undefined;
  /**
   * The reason such a line gave, in the current outage: a reset before any answer from a port that serves no TLS is
   * the same refusal lost in the reset, and a Redis at maxclients alternates the two at each reconnect.
   */
  #outageRefusal: string | undefined;
  /** What that handshake found in the current outage (true: REDIS_URL's port serves TLS); undefined until one is answered. */
  #tlsPort: boolean | undefined;

  /** `keyCheckBeats`: heartbeats between two checks of the key secret; tests shorten it, nothing else sets it. */
  constructor(settings: SharedStateConfig, logger: Logger, keyCheckBeats = KEY_CHECK_BEATS) {
    if (!settings.redisUrl || !settings.redisKeySecret) throw new Error('RedisStore needs REDIS_URL and REDIS_KEY_SECRET');
    this.#settings = settings as SharedStateConfig & { redisUrl: string; redisKeySecret: string };
    this.#logger = logger;
    const tls = redisTlsOptions(settings);
    this.#tls = Object.keys(tls).length > 0 ? tls : undefined;
    this.#refusals = {
      cache: new RedisRefusals(logger, 'redis refused a shared cache command: replicas do not share the executions they read while it does, each asks upstream for its own', settings.redisKeyPrefix),
      leases: new RedisRefusals(logger, 'redis refused a live lease command: no lease is held while it does, each replica polls for its own watchers', settings.redisKeyPrefix),
    };
    this.#pingRefusals = new RedisRefusals(logger, 'redis refused PING: its refusal is taken as a sign of life; grant the gateway\'s Redis user +ping (README "Scaling out")');
    this.#pingOtherRefusals = new RedisRefusals(logger, 'redis refused PING (not its ACL: renamed away, or as its reply says): its refusal is taken as a sign of life');
    this.client = this.#connect('commands');
    this.#keyCheck = new KeyCheck(this, this.fleetKey('key-check'), logger, keyCheckBeats, HEARTBEAT_MS);
    this.#heartbeat = setInterval(() => this.#beat(), HEARTBEAT_MS).unref();
  }

  /** True while the command connection is ready and answers. */
  get up(): boolean {
    return this.#up && !this.#hung && !this.#notRedis && this.#unusable === undefined;
  }

  get health(): RedisHealth {
    return this.up ? 'connected' : 'degraded';
  }

  /**
   * Why Redis is `degraded`, as `/ready` says it (`redisReason`); undefined while `connected`. The reason the log
   * last gave (the loss's, or a later one of the same outage; why Redis is not used), else the connection's last
   * error, else `not connected yet`. The addresses a network error names are left out (`connect ECONNREFUSED`, not
   * its host and port), and so are the names a refused certificate was checked against: `/ready` answers whoever reaches the port, the log keeps them.
   */
  get reason(): string | undefined {
    if (this.up) return undefined;
    const reason = this.#unusable ?? this.#toldReasons.at(-1) ?? this.#lastError ?? 'not connected yet';
    return reason.replace(NAMED_ADDRESS, '$1').replace(CERTIFICATE_NAMES, '$1');
  }

  /**
   * Another replica on this Redis and prefix uses another REDIS_KEY_SECRET, as of the last check Redis answered
   * (./key-check.ts): the two share nothing. Reported (log, gauge, `/ready`), never failing readiness: a rotation
   * runs two secrets for a while.
   */
  get keySecretMismatch(): boolean {
    return this.#keyCheck.mismatch;
  }

  /** Key secret checks that failed or timed out (`gateway_redis_errors_total`). */
  get keyCheckErrors(): number {
    return this.#keyCheck.errors;
  }

  /** REDIS_KEY_PREFIX: every key and channel starts with it (an ACL grants `~<prefix>*` and `&<prefix>*`). */
  get keyPrefix(): string {
    return this.#settings.redisKeyPrefix;
  }

  get commandTimeoutMs(): number {
    return this.#settings.redisCommandTimeoutMs;
  }

  /**
   * The caller's part of keys and channels: an HMAC of its Authorization header, never the header or a plain hash of
   * it. `authorization` is `Caller.authorization`, already in its one form per token (src/upstream/caller.ts).
   */
  callerTag(authorization: string): string {
    return createHmac('sha256', this.#settings.redisKeySecret).update(authorization).digest('base64url');
  }

  /** `json` sealed to `key` (`sealed` above). */
  seal(key: string, json: string): string {
    return sealed(this.#settings.redisKeySecret, key, json);
  }

  /** What `text` holds when it was sealed to `key` with this secret (`unsealed` above). */
  unseal(key: string, text: string): string | undefined {
    return unsealed(this.#settings.redisKeySecret, key, text);
  }

  key(kind: KeyKind, callerTag: string, id: string): string {
    return `${this.#settings.redisKeyPrefix}v${FORMAT}:${kind}:${callerTag}:${id}`;
  }

  /** A key of the whole fleet on this prefix: its name depends on no caller and no secret. */
  fleetKey(kind: FleetKeyKind): string {
    return `${this.#settings.redisKeyPrefix}v${FORMAT}:${kind}`;
  }

  /**
   * The connection for subscriptions (a subscribed Redis connection takes no
   * other commands), made on first use.
   */
  get subscriber(): Redis {
    return (this.#subscriber ??= this.#connect('subscriber'));
  }

  /**
   * A command for `use` failed (the code that sent it counts it): a refusal by Redis is logged, at most once a minute
   * per use (./redis-refusals.ts), none once Redis is not used. One line for both uses said cache entries were not
   * stored while an ACL refused only the leases' EVALSHA, and every SET went through.
   */
  failed(error: unknown, use: RedisUse): void {
    // Refused before the INFO that found a Sentinel was answered (sent behind it), told after its line: a second line for one cause.
    if (!this.#closed && this.#unusable === undefined) this.#refusals[use].report(error);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    for (const refusals of Object.values(this.#refusals)) refusals.close();
    this.#pingRefusals.close();
    this.#pingOtherRefusals.close();
    this.#keyCheck.close();
    // quit() waits for replies in flight; disconnect() when the connection is down (quit would wait for it).
    const end = (redis: Redis) => (redis.status === 'ready' ? redis.quit().then(() => undefined, () => redis.disconnect()) : redis.disconnect());
    await Promise.all([end(this.client), this.#subscriber ? end(this.#subscriber) : undefined]);
  }

  #connect(role: Role): Redis {
    const options: RedisOptions = {
      connectionName: `execution-gateway-${role}`,
      // Commands fail at once while disconnected instead of queueing behind the outage. The subscriber sends
      // nothing while away either: every watch that came and went during an outage queued its SUBSCRIBE and
      // UNSUBSCRIBE, a memory growing for as long as Redis was away; the live leases subscribe to the channels
      // watched at each 'ready' instead (./live-leases.ts).
      enableOfflineQueue: false,
      maxRetriesPerRequest: role === 'subscriber' ? null : 0,
      // The subscriber waits for messages: a command timeout would only apply to (un)subscribing.
      commandTimeout: role === 'commands' ? this.#settings.redisCommandTimeoutMs : SUBSCRIBE_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // REDIS_TLS_*: merged by ioredis over the TLS a rediss:// URL asks for (the config refuses them with redis://).
      ...(this.#tls ? { tls: this.#tls } : {}),
      // Reconnect for ever, 100 ms then doubling up to 2 s between tries.
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times - 1, 5), 2_000),
      // The live leases subscribe again after a reconnect, to the channels watched then (./live-leases.ts).
      autoResubscribe: false,
      // Nor is a (un)subscribe Redis never answered sent again when it is back: a SUBSCRIBE of a watch that ended
      // meanwhile listened to a channel nobody watched until the process ended (its command times out instead).
      autoResendUnfulfilledCommands: role === 'commands',
      // Only the command connection writes; the subscriber hears what the primary publishes on a replica too.
      ...(role === 'commands' ? { reconnectOnError: (error: Error) => this.#readOnly(error) } : {}),
    };
    const redis = new Redis(this.#settings.redisUrl, options);
    // The commands ioredis sends as a connection is made (AUTH, SELECT, CLIENT SETNAME, the ready check's INFO) hold up
    // no query: nothing else is sent before 'ready'. With REDIS_COMMAND_TIMEOUT_MS (50 ms) a stall of the event loop
    // past it while they were in flight (a busy host, a CPU quota, the gateway's own start) failed the ready check of
    // a Redis that had answered at once: an outage told, and a reconnect that could meet the same. ioredis reads the
    // option as it sends each command.
    const commandTimeout = options.commandTimeout!;
    Object.defineProperty(redis.options, 'commandTimeout', {
      get: () => (redis.status === 'ready' ? commandTimeout : handshakeTimeoutMs(commandTimeout)),
      configurable: true,
      enumerable: true,
    });
    redis.on('ready', () => {
      // Not used (a Sentinel, found by the command connection): the subscriber, made on first use, is closed too.
      if (role === 'subscriber' && this.#unusable !== undefined) return redis.disconnect();
      const silence = this.#silence[role];
      Object.assign(silence, { received: false, owed: false, beats: 0 });
      // Any byte is a sign of life, a late answer or a message: only a connection that hears nothing is cut.
      redis.stream.on('data', () => (silence.received = true));
    });
    if (role === 'commands') {
      redis.on('ready', () => {
        if (this.#unusable !== undefined) return;
        this.#connection++;
        this.#up = true;
        this.#hung = false;
        this.#misses = 0;
        this.#lastError = undefined;
        this.#tlsPort = undefined;
        // A refused CLIENT SETNAME (an ACL) is an error line first too, on a connection that is fine.
        this.#refusedAtConnect = undefined;
        this.#outageRefusal = undefined;
        // Not Redis before: told so again only if the PING at once finds it still is not.
        if (!this.#notRedis) this.#found();
        this.#ping();
        this.#checkMode(redis);
      });
      redis.on('close', () => {
        this.#up = false;
        // Closed with no error after refusing the connection (a Redis at maxclients that closed before we wrote).
        if (this.#refusedAtConnect !== undefined) {
          this.#lastError = this.#outageRefusal = connectionRefusal(this.#refusedAtConnect);
          this.#reasonChanged(this.#lastError);
        }
        if (this.#closingForPrimary) {
          this.#closingForPrimary = false;
          return;
        }
        // A reset's cause is known once the TLS probe is answered (within TLS_PROBE_MS): one line, the right one.
        if (this.#tlsProbe) void this.#tlsProbe.then(() => (this.#up ? undefined : this.#lost()));
        else this.#lost();
      });
    }
    redis.on('connect', () => {
      this.#heardSinceConnect[role] = false;
      this.#refusedAtConnect = undefined;
      redis.stream.on('data', (chunk: Buffer) => {
        // An error line first, before any command could be answered: Redis refusing the connection itself
        // (`-ERR max number of clients reached`), which ioredis hands to CLIENT SETNAME's reply and drops.
        if (!this.#heardSinceConnect[role] && role === 'commands' && chunk[0] === 0x2d) this.#refusedAtConnect = chunk.toString('latin1', 1, 201).split('\r')[0];
        this.#heardSinceConnect[role] = true;
      });
      guardParser(redis);
    });
    // Without a listener an 'error' event would end the process; the 'close' above is the one line an outage gets.
    redis.on('error', (error: Error) => {
      if ((error as { command?: { name?: unknown } }).command?.name === 'select') {
        if (DATABASE_REFUSAL.test(error.message)) return this.#refusedDatabase(redis, error);
        // Refused for the connection's sake (NOAUTH, BUSY, a Redis at maxclients), not the database's: read as a
        // database Redis lacks, it ended the use of Redis for good, past the password's fix or the script's end. Made
        // again, as the connection would go on in database 0 should its ready check pass.
        redis.disconnect(true);
        // After an AUTH with REDIS_URL's password, NOAUTH says the AUTH failed: its own reply (WRONGPASS) is the reason.
        if (error.message.startsWith('NOAUTH') && new URL(this.#settings.redisUrl).password !== '') return;
      }
      // ioredis's follow-on to a connection already failing (its ready check could not be written) says nothing of why:
      // the reset or close that failed it has its own error or line. Taken as a reason when it came first (a Redis at
      // maxclients), the on-call read `Stream isn't writeable and enableOfflineQueue options is false`.
      if (role === 'commands' && !error.message.startsWith(UNWRITABLE)) {
        // Not Redis until a PING says otherwise: one whose answers fail ioredis's parser after its ready check was
        // connected, lost and told again at each reconnect, two lines per 100 ms.
        if (error.name === 'ParserError') this.#notRedis = true;
        const tls = this.#settings.redisUrl.startsWith('rediss:');
        const unheard = redis.status !== 'ready' && !this.#heardSinceConnect.commands;
        const reset = unheard && !tls && RESET.test(error.message);
        // A refusal a command was answered with (NOAUTH, WRONGPASS) is the reason itself, the close after it included.
        if (error.name === 'ReplyError') this.#refusedAtConnect = undefined;
        if (this.#refusedAtConnect !== undefined && redis.status !== 'ready') {
          this.#lastError = this.#outageRefusal = connectionRefusal(this.#refusedAtConnect);
        } else {
          const before = this.#lastError;
          this.#lastError = connectionError(error, tls, unheard, handshakeTimeoutMs(this.#settings.redisCommandTimeoutMs), this.#tlsPort, this.#settings.redisTlsCaFile !== undefined);
          if (reset && this.#tlsPort === false) this.#lastError = this.#outageRefusal ?? this.#lastError;
          // Asked again, not yet answered: the reason stays the one the unanswered probe gave, not the bare errno.
          if (reset && this.#tlsPort === undefined && before === UNPROBED_RESET) this.#lastError = before;
        }
        // Which reset it is waits for the probe, and so does its line.
        if (reset && this.#tlsPort === undefined) this.#probeTls();
        else this.#reasonChanged(this.#lastError);
      }
      this.#logger.debug({ role, err: error.message }, 'redis error');
    });
    return redis;
  }

  /**
   * ioredis's `reconnectOnError`: 1 (connect again, the command failed; the subscriber too) for a READONLY reply, at most once per
   * READ_ONLY_RECONNECT_MS. After a failover the connection open to the old primary, now a replica, stays open and
   * refuses every write: REDIS_URL's name (a DNS name, a proxy) leads a new connection to the new primary, while
   * this one refused every lease and cache write until the process restarted, each replica polling for itself. A
   * REDIS_URL naming a replica for good costs a connection per that time, and its refusals' line says READONLY.
   */
  #readOnly(error: Error): 1 | false {
    // Redis 7 answers a write in a script READONLY as any write; Redis 6 wraps it: `ERR Error running script … -READONLY …`.
    if (this.#closed || !READ_ONLY_REPLY.test(error.message)) return false;
    const now = performance.now();
    if (now - this.#readOnlyReconnectAt < READ_ONLY_RECONNECT_MS) return false;
    this.#readOnlyReconnectAt = now;
    // One close, no outage line: a reconnect that then fails has its own 'close', and that one is told.
    this.#closingForPrimary = this.client.status === 'ready';
    // The subscriber, made through the same name, is on the demoted primary too, and hears the new primary's messages
    // only while that one replicates to it: not during its resync, never when it cannot reach the new primary (an
    // isolated old primary), while its PINGs are answered. Its followers kept their watchers' reading for good. Made
    // again, it follows the name to the new primary, and each pair reads upstream once, as after any drop.
    if (this.#subscriber?.status === 'ready') this.#subscriber.disconnect(true);
    return 1;
  }

  /** A TLS handshake with REDIS_URL's address, unless one is on its way; its answer sets `#tlsPort` and the reset's reason. */
  #probeTls(): void {
    this.#tlsProbe ??= probeTls(this.#settings.redisUrl).then((answer) => {
      this.#tlsProbe = undefined;
      if (this.#closed) return;
      // No answer in time says nothing of the port (a TLS port on a slow link, a busy Redis): the next reset asks again.
      if (answer === 'silent') {
        this.#lastError = this.#outageRefusal ?? UNPROBED_RESET;
      } else {
        this.#tlsPort = answer === 'tls';
        this.#lastError = this.#tlsPort ? TLS_PORT : (this.#outageRefusal ?? PLAIN_RESET);
      }
      this.#reasonChanged(this.#lastError);
    });
  }

  /**
   * Each connection's silence checked (#stillHeard), and a PING on each that is still heard. On the command
   * connection, MISSES_TO_HUNG unanswered in time, Redis counts as lost until one is answered. While Redis is up,
   * the key secret's check (its own pace, KEY_CHECK_BEATS).
   */
  #beat(): void {
    if (this.#closed) return;
    if (this.up) this.#keyCheck.beat();
    const subscriber = this.#subscriber;
    if (subscriber && this.#stillHeard('subscriber', subscriber)) subscriber.ping().catch(() => undefined);
    // A PING still on its way (its answer not in, its timeout not yet run) is owed too: no second one.
    if (this.#stillHeard('commands', this.client)) this.#ping();
  }

  /** A PING on the command connection, unless one is on its way; what its answer says of Redis (`#beat`). */
  #ping(): void {
    if (!this.#up || this.#pinging) return;
    const connection = this.#connection;
    this.#pinging = true;
    const answered = (ok: boolean) => {
      this.#pinging = false;
      if (connection !== this.#connection || !this.#up) return;
      if (ok) {
        this.#misses = 0;
        if (!this.#hung && !this.#notRedis) return;
        this.#hung = false;
        this.#notRedis = false;
        this.#found();
      } else if (++this.#misses >= MISSES_TO_HUNG && !this.#hung) {
        this.#hung = true;
        this.#lost(`${MISSES_TO_HUNG} PINGs in a row unanswered within ${this.#settings.redisCommandTimeoutMs} ms`);
      }
    };
    this.client.ping().then(
      (reply: unknown) => {
        if (reply === 'PONG') return answered(true);
        this.#pinging = false;
        if (connection !== this.#connection || !this.#up) return;
        this.#notRedis = true;
        const reason = `the far end of REDIS_URL does not answer as Redis does (PING answered ${String(JSON.stringify(reply)).slice(0, 100)}, not PONG)`;
        if (this.#toldReasons.length === 0) this.#lost(reason);
        else this.#reasonChanged(reason);
      },
      (error: unknown) => {
        // A Redis that cannot serve (CANNOT_SERVE: BUSY, LOADING, MASTERDOWN) refuses every command: taken as the ACL's
        // refusal below, it was "reachable again" and `connected` while it did, with advice to grant +ping. Lost until
        // a PING is answered PONG, its reply the reason.
        if (isRedisRefusal(error) && CANNOT_SERVE.test((error as Error).message)) {
          this.#pinging = false;
          if (connection !== this.#connection || !this.#up) return;
          this.#hung = true;
          const reason = `Redis refuses PING, and so every command: ${(error as Error).message.slice(0, 200)}`;
          if (this.#toldReasons.length === 0) this.#lost(reason);
          else this.#reasonChanged(reason);
          return;
        }
        // Refused otherwise (an ACL without PING: NOPERM; PING renamed away: `ERR unknown command`) is still an answer:
        // Redis is there, and serves the other commands. Read as silence, or as BUSY above, such a Redis was
        // "unreachable" for good.
        if (isRedisRefusal(error)) ((error as Error).message.startsWith('NOPERM') ? this.#pingRefusals : this.#pingOtherRefusals).report(error);
        answered(isRedisRefusal(error));
      },
    );
  }

  /**
   * At a heartbeat: false when `redis` is not ready (ioredis's own timers watch a connection being made), or was
   * silent for SILENT_BEATS_TO_DEAD[role] heartbeats and is destroyed now (ioredis connects again: the live
   * leases subscribe again at its 'ready'); true when a PING is to be sent, which the next heartbeat expects.
   */
  #stillHeard(role: Role, redis: Redis): boolean {
    if (redis.status !== 'ready') return false;
    const silence = this.#silence[role];
    silence.beats = silence.owed && !silence.received ? silence.beats + 1 : 0;
    silence.received = false;
    silence.owed = true;
    // Read before the command connection's own check of this heartbeat (#beat checks the subscriber first).
    const commands = this.#silence.commands;
    const redisSilent = role === 'subscriber' && commands.owed && !commands.received;
    if (silence.beats < SILENT_BEATS_TO_DEAD[redisSilent ? 'commands' : role]) return true;
    silence.owed = false;
    this.#logger.warn({ role, heartbeats: silence.beats, heartbeatMs: HEARTBEAT_MS }, 'redis connection silent (no answer, not closed): closed it to connect again');
    redis.stream.destroy();
    return false;
  }

  /**
   * A Sentinel (`redis_mode:sentinel` in its INFO) answers PING, INFO, CLIENT and SUBSCRIBE as Redis does and refuses
   * GET, SET and EVAL (`ERR unknown command`): a REDIS_URL naming its port (26379 beside 6379) was `connected` in
   * `/ready` while no lease, cache entry or key check was ever stored, each replica polling for itself, and only the
   * refusals' line, about `eval`, hinted why. Now one error line at connection, and Redis is not used, as for a database
   * it does not have. An INFO that fails says nothing: the refusals' line still shows a Sentinel's replies.
   */
  #checkMode(redis: Redis): void {
    redis.info('server').then(
      (info: string) => {
        if (this.#unusable !== undefined || this.#closed) return;
        if (/^redis_mode:cluster\s*$/m.test(info)) return this.#notUsed(CLUSTER_REASON, CLUSTER_MESSAGE);
        if (!/^redis_mode:sentinel\s*$/m.test(info)) return;
        this.#notUsed('REDIS_URL names a Redis Sentinel (redis_mode:sentinel), which stores no keys', 'redis not used: REDIS_URL names a Redis Sentinel, not the primary it watches; serving from local state. Set REDIS_URL to the primary through a name or proxy that follows failovers (the gateway does not ask Sentinel; README "Scaling out") and restart');
      },
      () => undefined,
    );
  }

  /**
   * Redis refused to SELECT the database REDIS_URL names (it has no such database, or the user may not SELECT): one
   * error line saying which, and Redis is not used again by this process; a connection made later (the subscriber, on first use) is closed as it finds the same.
   */
  #refusedDatabase(redis: Redis, error: Error): void {
    redis.disconnect();
    if (this.#unusable !== undefined || this.#closed) return;
    const database = new URL(this.#settings.redisUrl).pathname.slice(1);
    const reason = `Redis refused database ${database} of REDIS_URL (${error.message.slice(0, 200)})`;
    // An ACL without SELECT is refused the same way: told "a database this Redis does not have", the on-call fixed a
    // REDIS_URL that was right, and the user's grant stayed short.
    if (error.message.startsWith('ERR SELECT is not allowed in cluster mode')) this.#notUsed(CLUSTER_REASON, CLUSTER_MESSAGE);
    else if (error.message.startsWith('NOPERM')) {
      this.#notUsed(reason, 'redis not used: the Redis user of REDIS_URL may not SELECT the database REDIS_URL names; serving from local state. Grant the user +select (README "Scaling out") and restart');
    } else this.#notUsed(reason, 'redis not used: REDIS_URL names a database this Redis does not have; serving from local state. Fix REDIS_URL and restart');
  }

  /** Redis is not used again by this process (`#unusable`): one error line, `message`, and both connections closed. */
  #notUsed(reason: string, message: string): void {
    this.#unusable = reason;
    this.#up = false;
    // A key check a heartbeat sent while the mode check was on its way is refused by a Sentinel: not told, the line below says why.
    this.#keyCheck.close();
    this.#logger.error({ reason }, message);
    this.client.disconnect();
    this.#subscriber?.disconnect();
  }

  /**
   * `reason` when known: the hang's, else the connection's last error (ioredis emits it before the 'close'); a
   * connection Redis closed with no error (a SHUTDOWN, a crash, a restart) says so.
   */
  #lost(reason = this.#lastError ?? 'the connection closed'): void {
    if (this.#closed || this.#toldReasons.length > 0 || this.#unusable !== undefined) return;
    this.#toldReasons = [reason];
    this.#logger.warn({ reason }, 'redis unreachable: serving from local state until it is back');
  }

  /**
   * A reconnect failing for another reason than the outage's line gave: told, as the loss is, up to
   * TOLD_REASONS_MAX reasons an outage. Told once, a password set on a running Redis read `the connection closed`
   * while every reconnect was refused with NOAUTH, the one line that would have said what to fix.
   */
  #reasonChanged(reason: string): void {
    if (this.#toldReasons.length === 0 || this.#closed || this.#toldReasons.includes(reason) || this.#toldReasons.length >= TOLD_REASONS_MAX) return;
    this.#toldReasons.push(reason);
    this.#logger.warn({ reason }, 'redis still unreachable, now for another reason');
  }

  #found(): void {
    if (this.#toldReasons.length > 0) this.#logger.info('redis reachable again: sharing state with the other replicas');
    this.#toldReasons = [];
  }
}

/**
 * Least time between two reconnects READONLY replies ask for (`RedisStore.#readOnly`): a failover's new primary is
 * found within it once REDIS_URL's name leads there, and a REDIS_URL naming a replica costs a connection per period.
 */
const READ_ONLY_RECONNECT_MS = 5_000;

/** A reply refusing a write on a replica, as a command's (`READONLY …`) or inside a script's error on Redis 6 (`… -READONLY …`). */
export const READ_ONLY_REPLY = /(?:^|-)READONLY /;

/**
 * Makes an exception thrown while ioredis reads a connection's bytes end that connection, not the process. A far end
 * that is not Redis can send a null reply (`$-1`) when no command waits for one: ioredis's DataHandler then throws a
 * TypeError from the socket's 'data' listener (it builds its "Command queue state error" from `reply.toString()`),
 * and the gateway exited with a stack, restarted, and met it again. Run at 'connect' (emitted on the next tick, once
 * ioredis has put its parser first among the stream's 'data' listeners): the parser is wrapped in place.
 */
function guardParser(redis: Redis): void {
  const stream = redis.stream;
  const parse = stream.listeners('data')[0] as ((chunk: Buffer) => void) | undefined;
  if (!parse) return;
  stream.removeListener('data', parse);
  stream.prependListener('data', (chunk: Buffer) => {
    try {
      parse(chunk);
    } catch (error) {
      // A ParserError, as a reply of the wrong shape is: the warning says the far end is not Redis (connectionError).
      const unread = new Error(`Protocol error, an answer ioredis could not take: ${(error as Error).message.slice(0, 100)}`);
      unread.name = 'ParserError';
      stream.destroy(unread);
    }
  });
}

/** The address after a Node network error's code (`connect ECONNREFUSED 10.0.0.5:6379`, `getaddrinfo ENOTFOUND redis.internal`). */
const NAMED_ADDRESS = /\b((?:connect|getaddrinfo) E[A-Z_]+) [^\s()]+/g;

/**
 * What follows node's refusal of a rediss:// certificate for another name: REDIS_URL's host and the names the
 * certificate holds (`Host: redis.internal. is not in the cert's altnames: DNS:…`), which `/ready` does not give away.
 */
const CERTIFICATE_NAMES = /^(Hostname\/IP does not match certificate's altnames): .*$/s;

/**
 * A node of a Redis Cluster (`redis_mode:cluster` in its INFO, or its refusal of SELECT): the gateway's one
 * connection reaches only that node's slots (another's keys are refused MOVED), and its lease check takes a pair's
 * lease, outage and pause keys, of different slots, in one script (refused CROSSSLOT). It was `connected` while each
 * replica polled upstream for itself and one refusal line a minute gave Redis's reply alone; a database in REDIS_URL
 * was told as one Redis does not have. Not used, as a Sentinel is not.
 */
const CLUSTER_REASON = 'REDIS_URL names a node of a Redis Cluster (redis_mode:cluster), which answers only for its own slots';
const CLUSTER_MESSAGE =
  'redis not used: REDIS_URL names a node of a Redis Cluster, whose keys the gateway cannot use (its scripts take keys of several slots); serving from local state. Set REDIS_URL to a Redis without cluster mode (a primary, with replicas behind a name or proxy that follows failovers; README "Scaling out") and restart';

/** How long a connection, with its TLS handshake for rediss://, may take to be made (ioredis's `connectTimeout`). */
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * How long each command a connection sends as it is made (before 'ready') may take: the connect timeout, or
 * `commandTimeoutMs` when longer. Such commands hold up no query, so a short REDIS_COMMAND_TIMEOUT_MS buys nothing there.
 */
function handshakeTimeoutMs(commandTimeoutMs: number): number {
  return Math.max(commandTimeoutMs, CONNECT_TIMEOUT_MS);
}

/** Reasons an outage's lines give at most, the loss's own included: a flapping network alternates two or three. */
const TOLD_REASONS_MAX = 3;

/**
 * Redis's refusals of a SELECT that are about the database itself, which no reconnect mends: a number past its
 * `databases`, a user without SELECT (NOPERM), a cluster (database 0 only). Any other (NOAUTH, BUSY, LOADING, a Redis at
 * maxclients) is the connection's.
 */
const DATABASE_REFUSAL = /^(?:NOPERM|ERR (?:DB index is out of range|invalid DB index|SELECT is not allowed))/;

/**
 * Redis's replies to a command it refuses because it cannot serve any now (`#ping`): a script past busy-reply-threshold
 * (BUSY), a dataset being loaded (LOADING), a replica with `replica-serve-stale-data no` whose primary is down
 * (MASTERDOWN). Any other refusal of PING (NOPERM, a PING renamed away) says nothing of the other commands.
 */
const CANNOT_SERVE = /^(?:BUSY|LOADING|MASTERDOWN) /;

/** How ioredis begins the error of a command it could not write: the connection it was for had failed already. */
const UNWRITABLE = "Stream isn't writeable";

/** ioredis's error for a connection the far end reset: `read ECONNRESET` as the reset is read, `write …` or EPIPE as a command is written into it. */
const RESET = /^(?:read|write) (?:ECONNRESET|EPIPE)$/;

/** The reason for a redis:// URL whose port answered a TLS handshake (`probeTls`). */
const TLS_PORT = 'the far end of REDIS_URL reset the connection without answering a command, and answers a TLS handshake: this looks like a TLS port: use rediss://';

/**
 * A Redis in protected mode (no password for its default user) refuses a client not on its loopback as one at
 * maxclients does, one error line and a close, which the reset may lose: the reset's reasons named maxclients alone.
 */
const PROTECTED_RESET = 'as does one in protected mode to a client not on its loopback (no password set)';

/** The first words of protected mode's refusal: 1,000 characters, cut at 200 in the reason before its fixes. */
const PROTECTED_MODE = /^DENIED Redis is running in protected mode/;

/** The reason for an error line a far end sent before any answer (`#refusedAtConnect`): Redis's own, but protected mode's in short, with what to set. */
function connectionRefusal(line: string): string {
  if (PROTECTED_MODE.test(line)) {
    return 'Redis refused the connection: it runs in protected mode (no password for its default user) and takes clients on its loopback only: give its default user a password (requirepass) and put it in REDIS_URL, or bind Redis to a private network and set protected-mode no';
  }
  return `Redis refused the connection: ${line}`;
}

/**
 * The reason for a redis:// connection reset before any answer by a port that serves no TLS. A Redis at `maxclients`
 * writes its refusal and closes as the connection's first commands arrive: the refusal is lost in the reset, and the
 * reasons were `write EPIPE` and ioredis's `Stream isn't writeable …`. No errno in it: the same reset is read as
 * ECONNRESET or written into as EPIPE from one reconnect to the next, and each had been a warning of its own.
 */
const PLAIN_RESET = `the far end of REDIS_URL reset the connection without answering a command, and serves no TLS: a Redis at maxclients does so (its INFO clients, its log), ${PROTECTED_RESET}`;

/** How long the TLS probe waits for a handshake. */
const TLS_PROBE_MS = 1_000;

/**
 * The reason for a redis:// connection reset before any answer by a port whose TLS handshake was not answered within
 * TLS_PROBE_MS: a TLS port on a slow or busy link and a Redis at `maxclients` both fit, and naming one was a guess.
 */
const UNPROBED_RESET = `the far end of REDIS_URL reset the connection without answering a command, and did not answer a TLS handshake within ${TLS_PROBE_MS / 1000} s either: a TLS port on a slow link (then use rediss://) or a Redis at maxclients (its INFO clients, its log), ${PROTECTED_RESET}`;

/**
 * What REDIS_URL's host and port do with a TLS handshake (no certificate checked, nothing sent after it): `tls`, it
 * completes; `plain`, it fails (a plain Redis answers the ClientHello with an error line, or closes); `silent`, no
 * answer within TLS_PROBE_MS, which says nothing either way.
 */
function probeTls(url: string): Promise<'tls' | 'plain' | 'silent'> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379), rejectUnauthorized: false, timeout: TLS_PROBE_MS });
    const done = (answer: 'tls' | 'plain' | 'silent') => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => done('tls'));
    socket.once('error', () => done('plain'));
    socket.once('timeout', () => done('silent'));
  });
}

/**
 * An untrusted certificate's hint with REDIS_TLS_CA_FILE set: its CAs replace the system's and NODE_EXTRA_CA_CERTS's
 * for Redis's connections, so the advice to set NODE_EXTRA_CA_CERTS changed nothing.
 */
const UNTRUSTED_BY_CA_FILE =
  "the certificate of REDIS_URL's host is not signed by a CA in REDIS_TLS_CA_FILE, which replaces the system's CAs and NODE_EXTRA_CA_CERTS for Redis: add the CA that signed it to that file (a private CA's, or the certificate itself when self-signed), or have Redis send its whole chain";

/**
 * What to do about a rediss:// certificate node refused, by its code. OpenSSL's words alone said nothing of where a CA
 * is given, and the README's one word on such a Redis was NODE_TLS_REJECT_UNAUTHORIZED=0, which turns off every
 * certificate check of the process. A certificate for another name keeps node's sentence, which says it
 * (CERTIFICATE_NAMES).
 */
const CERTIFICATE_HINTS = certificateHints(
  'REDIS_URL',
  "set REDIS_TLS_CA_FILE=/path/to/ca.pem (or start the gateway with NODE_EXTRA_CA_CERTS=/path/to/ca.pem) naming the CA that signed it (a private CA's, or the certificate itself when self-signed), or have Redis send its whole chain",
  'Redis must be given a new one',
);

/**
 * OpenSSL's error string (`80CC…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/…c:350:`
 * and a line break), of which the reason is the part that says anything to an operator.
 */
const OPEN_SSL_ERROR = /^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:([^:]+):/;

/** The hint of a rediss:// URL whose far end answered the handshake in plain text (an HTTP service, a plain port). */
const PLAIN_ANSWER = 'REDIS_URL is rediss:// but its far end does not answer in TLS: use redis:// if Redis serves plain text there, or the port it serves TLS on';

/** OpenSSL's error for a TLS 1.3 server that ended the handshake for want of a client certificate (alert 116). */
const CLIENT_CERTIFICATE_REQUIRED = /alert certificate required/;

/**
 * The reason for CLIENT_CERTIFICATE_REQUIRED: Redis asks one by default once TLS is on, and the gateway gives it none
 * without REDIS_TLS_CERT_FILE. OpenSSL's string, with its source file, line and a line break, was the reason in the log and
 * in `/ready`.
 */
const CLIENT_CERTIFICATE =
  'Redis asks for a client certificate (tls-auth-clients, yes by default with TLS), which the gateway sends only with REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE: set both, or set tls-auth-clients no (or optional) on Redis, which then admits clients by the password or ACL user of REDIS_URL';

/**
 * The alerts a Redis sends when it refuses the client certificate it was shown (REDIS_TLS_CERT_FILE): signed by no CA
 * of its `tls-ca-cert-file`, or one it cannot take. The reason was `TLS: tlsv1 alert unknown ca` alone, which reads as
 * if Redis's own certificate were at fault.
 */
const CLIENT_CERTIFICATE_ALERTS = new Set(['ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN']);
const CLIENT_CERTIFICATE_REFUSED =
  "Redis refused the client certificate of REDIS_TLS_CERT_FILE: it must be signed by a CA in Redis's tls-ca-cert-file (or tls-ca-cert-dir): add its CA there, or set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE to a certificate that CA issued";

/**
 * The reason for a Redis refusing the client certificate as expired: most often renewed on disk since the start, and
 * the files are read at start only. The reason was `TLS: sslv3 alert certificate expired`, which reads as Redis's own.
 */
const CLIENT_CERTIFICATE_EXPIRED =
  "Redis refused the client certificate of REDIS_TLS_CERT_FILE as expired (or Redis's clock is wrong): renew it, and restart the gateway, which reads REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE at start only";

/**
 * The reason an outage's warning gives. ioredis's parser error names only the byte it did not expect (an HTTP
 * service answers `H`) and asks to be reported: the operator's mistake is a REDIS_URL naming something else.
 * `tls`: REDIS_URL is rediss://, whose connect timeout runs until the TLS handshake ends. A Redis without TLS takes
 * the handshake for the start of a command and answers nothing, and `connect ETIMEDOUT` alone sent the on-call after
 * the network, where the TCP connection was made.
 * `unheard`: the connection failed before it was ready, and not one byte came from the far end. A far end that takes
 * the connection and never writes (a proxy with nothing behind it, a stopped Redis, whose kernel still accepts) was
 * told as ioredis's `Command timed out`, as if Redis were slow; a Redis serving only TLS resets a connection that
 * sends it plain commands, told as `write ECONNRESET` then `read ECONNRESET`, two reasons and no hint of `rediss://`
 * (either now gives one reason once `tlsPort` says what the port is: one that answers a TLS handshake is a TLS port; a
 * plain Redis at `maxclients` resets such a connection too: `PLAIN_RESET`).
 */
function connectionError(error: Error, tls: boolean, unheard: boolean, handshakeMs: number, tlsPort: boolean | undefined, caFile: boolean): string {
  if (tls && error.message === 'connect ETIMEDOUT') {
    return `connect ETIMEDOUT (rediss://: no TLS handshake within ${CONNECT_TIMEOUT_MS / 1000} s: the server does not serve TLS, or the network drops the connection)`;
  }
  if (unheard && error.message === 'Command timed out') {
    return `the far end of REDIS_URL accepted the connection and never answered (nothing within ${handshakeMs} ms to the connection's first commands): a stopped or overloaded Redis, or a proxy or load balancer with no Redis behind it`;
  }
  if (unheard && !tls && tlsPort !== undefined && RESET.test(error.message)) return tlsPort ? TLS_PORT : PLAIN_RESET;
  if (CLIENT_CERTIFICATE_REQUIRED.test(error.message)) return CLIENT_CERTIFICATE;
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED') return `TLS: ${OPEN_SSL_ERROR.exec(error.message)?.[1] ?? code}: ${CLIENT_CERTIFICATE_EXPIRED}`;
  if (CLIENT_CERTIFICATE_ALERTS.has(code as string)) return `TLS: ${OPEN_SSL_ERROR.exec(error.message)?.[1] ?? code}: ${CLIENT_CERTIFICATE_REFUSED}`;
  const certificate = caFile && untrustedCertificate(code) ? UNTRUSTED_BY_CA_FILE : CERTIFICATE_HINTS[code as string];
  if (certificate !== undefined) return `${error.message.slice(0, 200)}: ${certificate}`;
  const openSsl = OPEN_SSL_ERROR.exec(error.message)?.[1];
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') return `${openSsl ?? error.message.slice(0, 200)}: ${PLAIN_ANSWER}`;
  if (openSsl !== undefined) return `TLS: ${openSsl}`;
  if (error.name !== 'ParserError') return error.message.slice(0, 300);
  return `the far end of REDIS_URL does not answer as Redis does (${error.message.replace(/\s*Please report this\.?$/, '').slice(0, 200)})`;
}
