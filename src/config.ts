/**
 * Every setting of the gateway, declared once: its environment variable, its
 * type and range, its default and what it means. `readConfig` turns the
 * environment into a typed configuration grouped by concern; everything else
 * receives its slice. Bad values stop start-up with one line each naming the
 * variable and what to fix, every one of them in one start, values that
 * contradict each other included. `NODE_ENV` is read here and nowhere else.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { compile as compileTrust } from 'proxy-addr';
import { z } from 'zod';
import { textPrefix } from './text-prefix.js';
import { ERROR_SHARE, HEAP_BYTES_PER_TOKEN, PARSE_ERROR_BYTES } from './pipeline/document-cache.js';
import { ENTRY_OVERHEAD_BYTES, entryBytes, HEAP_PER_BODY_BYTE, HEAP_PER_EVENT } from './upstream/entry-bytes.js';
import { compileIdPattern, DEFAULT_EXECUTION_ID_PATTERN, isAnchoredPattern, MAX_EXECUTION_ID_LENGTH, re2Refusal } from './upstream/execution-path.js';

/** Digits only: `z.coerce` would read " " as 0, `0x61A0` as 24992 and `1e3` as 1000. */
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, { error: `must be a whole number from ${min} to ${max}` })
    .transform(Number)
    .pipe(z.number().min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` }));

/**
 * The address Kubernetes gives every pod for each Service of its namespace as `<SERVICE>_PORT` (Docker's links did the
 * same): `tcp://10.96.0.12:6379`. Set by the platform, never typed by an operator.
 */
const SERVICE_LINK = /^(?:tcp|udp|sctp):\/\/[^\s/]+:\d+$/;

/**
 * METRICS_PORT, which a Service named `metrics` sets in every pod of its namespace: refused, as any port that is no
 * number, but saying where it came from, since the operator never wrote it.
 */
const metricsPortNumber = () =>
  z
    .string()
    .refine((value) => !SERVICE_LINK.test(value), {
      error:
        "is the address Kubernetes sets for a Service named metrics in this namespace, not a port: set METRICS_PORT in the pod's env (it wins over the Service's), or enableServiceLinks: false in the pod spec",
      abort: true,
    })
    .pipe(integer(0, 65535));

/** Spaces alone name no host, prefix or service, and are no secret. */
const notBlank = (value: string) => value.trim() !== '';

/**
 * Free text of `min` to `max` characters, refused in the house style rather than zod's. A blank one is refused for that
 * alone (`abort`): its length is beside the point.
 */
const text = (min: number, max?: number) => {
  const bounds = max === undefined ? `at least ${min} characters` : `${min} to ${max} characters`;
  const schema = z.string().refine(notBlank, { error: 'must not be blank', abort: true }).min(min, { error: `must be ${bounds}` });
  return max === undefined ? schema : schema.max(max, { error: `must be ${bounds}` });
};

/**
 * A name (REDIS_KEY_PREFIX, OTEL_SERVICE_NAME) refused when it starts or ends with a blank rather than trimmed: a
 * quoted `" gw:"` in a .env file is a different prefix from the other replicas' `gw:`, which then share nothing.
 */
const nameText = (min: number, max?: number) =>
  text(min, max).refine((value) => !notBlank(value) || value === value.trim(), 'must not start or end with a space, tab or line break');

/** A PEM block's first line: text that is a key or certificate, never quoted in a refusal. */
const PEM_TEXT = /-----BEGIN /;

/** A path to a file this process can read (the Redis TLS files): refused at start, not at the first connection. */
const readableFile = () =>
  z
    .string()
    .refine(notBlank, { error: 'must not be blank', abort: true })
    // A Kubernetes secret mounted as a variable puts the PEM itself here; quoted as a path, the key's first 100
    // characters went to the terminal and the log collector (`quoted` hides it).
    .refine((path) => !PEM_TEXT.test(path), { error: "must be the path of a PEM file, not its text: write the text to a file and set the file's path", abort: true })
    .refine(
      (path) => {
        try {
          accessSync(path, fsConstants.R_OK);
          return statSync(path).isFile();
        } catch {
          return false;
        }
      },
      { error: 'must name a file this process can read (a PEM file)' },
    );

/**
 * An interface to listen on (HOST, METRICS_HOST): an address or a host name, refused when a blank (space, tab, line
 * break) is in it or around it rather than trimmed, as PORT's digits are. Passed on as it was, ` 127.0.0.1` failed only
 * at listen, with `getaddrinfo ENOTFOUND` after the stray space nobody saw, and a line break split that one line.
 */
const listenHost = () =>
  text(1).refine(
    (value) => !notBlank(value) || !/\s/.test(value),
    'must be an address or host name with no spaces or line breaks in or around it (127.0.0.1, 0.0.0.0, ::1, localhost)',
  );

const flag = () => z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true');

/** Why JavaScript cannot read `source` as a regular expression (`Unterminated group`), or undefined when it can. */
function regExpRefusal(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
  }
}

/**
 * Largest body read as one string: V8 makes no string over 0x1fffffe8 characters (about
 * 512 MiB, ERR_STRING_TOO_LONG), so a limit above it would accept bodies that can only
 * fail. Half of it leaves room for the JSON the gateway makes from such a body.
 */
const MAX_STRING_BYTES = 256 * 1024 * 1024;

/**
 * A REDIS_URL whose credentials (from `//` to the last `@`) hold what a URL reserves, so that they end early. Its scheme
 * in any case, as REDIS_URL's is read: `REDISS://` was told it must be a redis:// or rediss:// URL, without the advice.
 */
const RESERVED_IN_CREDENTIALS = /^rediss?:\/\/[^@]*?[/?#@\s][^]*@/i;

const PERCENT_ENCODE_ADVICE = 'percent-encode /, ?, #, @, % and blanks in its user name and password (%2F, %3F, %23, %40, %25, %20), as encodeURIComponent does';

/** Whether ioredis can read a REDIS_URL's user name and password: it percent-decodes them, and threw on a `%` not followed by two hex digits. */
function decodableCredentials(value: string): boolean {
  const { username, password } = new URL(value);
  try {
    decodeURIComponent(username);
    decodeURIComponent(password);
    return true;
  } catch {
    return false;
  }
}

/** UPSTREAM_MAX_BODY_BYTES's default, and UPSTREAM_MAX_BYTES_IN_FLIGHT's (one such body at a time); the LIVE_MAX_HELD_BYTES description sizes a reading by it. */
const DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024;

/**
 * An UPSTREAM_URL path that ends with the endpoint's own path, or part of it: `/v1`,
 * `/v1/executions`, `/v1/executions/{id}` (as URL parsing encodes it), trailing slashes
 * aside. The gateway appends `/v1/executions/<id>` to the base path, so such a base
 * addresses no execution.
 */
const ENDPOINT_PATH_AT_END = /(?:^|\/)v1(?:\/executions(?:\/[^/]*)?)?\/*$/;

/** proxy-addr's names of address ranges, for TRUSTED_PROXIES. */
const NAMED_PROXY_RANGES: ReadonlySet<string> = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `address` or `address/prefix` (a length, or an IPv4 netmask), the address as node reads one. */
function isProxyEntry(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const prefix = slash === -1 ? undefined : entry.slice(slash + 1);
  return isIP(address) !== 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix) || isIP(prefix) === 4);
}

/** One setting: the variable that sets it, its schema (default included) and its meaning, as the README states it. */
interface Setting<T extends z.ZodType> {
  env: string;
  schema: T;
  doc: string;
  /** Never quoted in an error message. */
  secret?: boolean;
  /** A URL or a list of them: quoted without what comes before a host's `@`, nor a query or fragment (`quoted`). */
  url?: boolean;
}
const setting = <T extends z.ZodType>(env: string, schema: T, doc: string, options: { secret?: boolean; url?: boolean } = {}): Setting<T> => ({
  env,
  schema,
  doc,
  ...options,
});

/** OTEL_EXPORTER_OTLP_PROTOCOL's values in the OpenTelemetry specification; whether `grpc` can be honoured is a contradiction's. */
const otlpProtocol = () => z.enum(['http/protobuf', 'http/json', 'grpc'], { error: 'must be http/protobuf, http/json or grpc' }).optional();

/** WS_MAX_CONNECTIONS's default, which also sizes the upgrade rate's table of addresses (src/server/upgrade-budget.ts). */
export const DEFAULT_WS_MAX_CONNECTIONS = 10_000;

/** UPSTREAM_MAX_CONCURRENT's default: the bulkhead, which the default caller's share below is a quarter of. */
const DEFAULT_MAX_CONCURRENT = 256;

/** A caller's share of the bulkhead when UPSTREAM_MAX_CONCURRENT_PER_CALLER is unset (a quarter of the default bulkhead). */
const DEFAULT_MAX_CONCURRENT_PER_CALLER = DEFAULT_MAX_CONCURRENT / 4;

export const SETTINGS = {
  server: {
    port: setting('PORT', integer(0, 65535).default(4000), 'port to listen on (`0` picks a free one)'),
    host: setting('HOST', listenHost().default('127.0.0.1'), 'interface to listen on; `0.0.0.0` in a container; a space or line break in or around it is refused, not trimmed'),
    workers: setting('WORKERS', integer(1, 64).default(1), 'processes (node:cluster) sharing the port; a worker that dies is replaced (after a back-off while replacements fail at start), counted in `gateway_workers` and `gateway_worker_exits_total` on the primary'),
    fastLane: setting(
      'FAST_LANE',
      flag().default(true),
      'run requests through the fast lane (the same pipeline, executed with cached documents, graphql-jit and no fetch-API objects); `false` serves everything through Yoga\'s own node adapter',
    ),
    maxRequestBodyBytes: setting(
      'MAX_REQUEST_BODY_BYTES',
      integer(256, 16 * 1024 * 1024).default(64 * 1024),
      'larger request bodies get `413` before they are read',
    ),
    headersTimeoutMs: setting(
      'HTTP_HEADERS_TIMEOUT_MS',
      integer(100, 120_000).default(10_000),
      'time a client has to send the request headers; then `408` and the connection closes (one that sent nothing at all is closed without an answer, line or count); a value above `HTTP_REQUEST_TIMEOUT_MS` acts as `HTTP_REQUEST_TIMEOUT_MS`',
    ),
    requestTimeoutMs: setting(
      'HTTP_REQUEST_TIMEOUT_MS',
      integer(100, 120_000).default(30_000),
      'time a client has to send the whole request, body included; then `408` and the connection closes',
    ),
    shutdownUnreadyMs: setting(
      'SHUTDOWN_UNREADY_MS',
      integer(0, 600_000).default(5_000),
      'on SIGTERM (or SIGINT), how long `/ready` answers 503 while everything is still served, so load balancers stop sending, before the listener closes and new connections are refused',
    ),
    shutdownGraceMs: setting(
      'SHUTDOWN_GRACE_MS',
      integer(0, 600_000).default(20_000),
      'then how long requests in flight may take to finish; what still runs after it is cut, answered `503` `SHUTTING_DOWN` when none of its answer had gone out (the process exits 0 either way); live subscriptions end at once with `SHUTTING_DOWN`, WebSockets close with 1001',
    ),
    keepAliveTimeoutMs: setting(
      'HTTP_KEEP_ALIVE_TIMEOUT_MS',
      // Node writes `Keep-Alive: timeout=` in whole seconds, rounded down: under 1000 it told clients 0, reuse nothing.
      integer(1_000, 600_000).default(5_000),
      'how long an idle keep-alive connection stays open, as `Keep-Alive: timeout` tells clients in whole seconds, rounded down (Node closes it a second later); behind a load balancer, set it above the balancer\'s idle timeout',
    ),
  },
  upstream: {
    url: setting(
      'UPSTREAM_URL',
      z
        // What is no http(s) URL stops here (`abort`): the rules on its parts would judge what is not one. Each of
        // them is checked, and refused, whatever the others say, so one start names every mistake of the URL.
        .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8080', abort: true })
        .refine((value) => !/[?#]/.test(value), 'must not carry a query string or fragment')
        // undici would drop them (the pool is made for the origin) and the start-up line would log them.
        .refine(
          (value) => new URL(value).username === '' && new URL(value).password === '',
          "must not carry credentials (user:password@): upstream is called with each caller's own Authorization header",
        )
        // Upstream's documentation writes https://api.example.com/v1/executions/{id}: a base copied with part of
        // that path called /v1/v1/executions/…, and every id was NOT_FOUND, "not visible to this token".
        .refine(
          (value) => !ENDPOINT_PATH_AT_END.test(new URL(value).pathname),
          'must be the base URL of the executions API, without `/v1` or `/v1/executions`: the gateway appends `/v1/executions/{id}` itself (https://api.example.com, not https://api.example.com/v1)',
        )
        .optional(),
      'base URL of the executions API; `/v1/executions/{id}` is appended to its path, so a path that already ends in `/v1` or `/v1/executions…` is refused (unset: the built-in demo upstream; with `NODE_ENV=production` the gateway refuses to start)',
      { url: true },
    ),
    timeoutMs: setting('UPSTREAM_TIMEOUT_MS', integer(1, 300_000).default(5_000), 'deadline of one upstream attempt, connect to last byte'),
    requestBudgetMs: setting(
      'REQUEST_BUDGET_MS',
      integer(1, 600_000).default(15_000),
      'upstream time one GraphQL request may spend in all, retries included; an `UPSTREAM_TIMEOUT_MS` longer than it is a warning at start (only live polls, which have no budget, wait it out)',
    ),
    maxAttempts: setting(
      'UPSTREAM_MAX_ATTEMPTS',
      integer(1, 10).default(3),
      'attempts per upstream call; only network errors, 408, 421, 425, 429, 502, 503, 504 are retried',
    ),
    retryBaseDelayMs: setting('UPSTREAM_RETRY_BASE_DELAY_MS', integer(0, 60_000).default(50), 'first retry pause; it doubles per attempt, with jitter; at most `UPSTREAM_RETRY_MAX_DELAY_MS` (start-up refuses more)'),
    retryMaxDelayMs: setting('UPSTREAM_RETRY_MAX_DELAY_MS', integer(0, 60_000).default(1_000), 'longest retry pause'),
    retryAfterCapMs: setting(
      'UPSTREAM_RETRY_AFTER_CAP_MS',
      integer(0, 60_000).default(2_000),
      'longest `Retry-After` the gateway waits before retrying; an answer asking for longer is not retried: its `UPSTREAM_UNAVAILABLE` says so and carries the delay in `extensions.retryAfterMs`',
    ),
    pauseMaxMs: setting(
      'UPSTREAM_PAUSE_MAX_MS',
      integer(1_000, 86_400_000).default(60_000),
      'longest pause a `Retry-After` from upstream is read as: a longer one reads as this long, for the call it answered (`extensions.retryAfterMs`), the pause it puts on the caller (a `429`) or the caller for that execution (a `5xx`), and live polls; once it ends, the next call goes upstream, and is paused again if upstream still asks',
    ),
    refusedTokenMs: setting(
      'UPSTREAM_REFUSED_TOKEN_MS',
      integer(0, 600_000).default(5_000),
      'how long a token upstream refused (`401`, `403`) is answered by the gateway with the same code, without calling upstream again (`0`: never); also, until upstream has once answered a caller without refusing its token, that caller has one call in flight at a time, so a made-up token costs upstream one call however many ids it asks for, and its `429`s count toward `UPSTREAM_BREAKER_MIN_CALLERS` as one caller together with every other such caller\'s',
    ),
    breakerThreshold: setting(
      'UPSTREAM_BREAKER_THRESHOLD',
      integer(1, 1_000_000).default(10),
      'failures that open the circuit: that many failing (caller, id) pairs within `UPSTREAM_BREAKER_WINDOW_MS` (network errors, timeouts, 5xx, 429, 408, 421, 425; each pair counted once), spread over the ids and callers below, at least half of the pairs seen and, with 2 callers or more, at least half of the other callers\' pairs, on two ids at least, once the caller with the most failing pairs is left out; or that many attempts in a row that could not reach upstream at all (connection refused, DNS)',
    ),
    breakerWindowMs: setting(
      'UPSTREAM_BREAKER_WINDOW_MS',
      integer(100, 600_000).default(10_000),
      'how far back failures count toward opening the circuit',
    ),
    breakerMinIds: setting(
      'UPSTREAM_BREAKER_MIN_IDS',
      integer(1, 100_000).default(5),
      'distinct execution ids the failures must span before the circuit opens: failures on fewer ids, however many, never open it',
    ),
    breakerMinCallers: setting(
      'UPSTREAM_BREAKER_MIN_CALLERS',
      integer(1, 100_000).default(2),
      'distinct callers (tokens: `Authorization` headers, the `Bearer` scheme\'s case and the spaces after it aside) the failures must span before the circuit opens, so one caller never opens it for others; `1` for a single-tenant gateway, whose only caller is one service token',
    ),
    breakerHalfOpenMs: setting(
      'UPSTREAM_BREAKER_HALF_OPEN_MS',
      integer(1, 600_000).default(5_000),
      'how long an open circuit fails fast before one probe call',
    ),
    maxConcurrent: setting('UPSTREAM_MAX_CONCURRENT', integer(1, 100_000).default(DEFAULT_MAX_CONCURRENT), 'upstream calls in flight per process (bulkhead)'),
    queue: setting(
      'UPSTREAM_QUEUE',
      integer(0, 1_000_000).default(1_024),
      'calls that may wait for the bulkhead; beyond, `UPSTREAM_UNAVAILABLE` at once',
    ),
    maxConcurrentPerCaller: setting(
      'UPSTREAM_MAX_CONCURRENT_PER_CALLER',
      integer(1, 100_000).optional(),
      `upstream calls one caller may have in flight; its further calls wait apart (all callers' together at most \`UPSTREAM_QUEUE\`), so one caller never takes every slot of the bulkhead; live polls are bounded by their own slots; unset: ${DEFAULT_MAX_CONCURRENT_PER_CALLER} (no share of its own when \`UPSTREAM_MAX_CONCURRENT\` is lower); set to more than \`UPSTREAM_MAX_CONCURRENT\`, it is refused at start-up`,
    ),
    connections: setting(
      'UPSTREAM_CONNECTIONS',
      integer(1, 100_000).optional(),
      'keep-alive sockets in the process-wide upstream pool; unset: `UPSTREAM_MAX_CONCURRENT`, and fewer is refused at start-up, so every call the bulkhead admits has a socket and no attempt\'s deadline runs out waiting for one behind other callers\' calls (sockets are opened only as calls need them)',
    ),
    concurrencyPerRequest: setting(
      'UPSTREAM_CONCURRENCY_PER_REQUEST',
      integer(1, 100).default(20),
      'upstream calls one GraphQL request may have in flight',
    ),
    maxBodyBytes: setting(
      'UPSTREAM_MAX_BODY_BYTES',
      integer(1024, MAX_STRING_BYTES).default(DEFAULT_MAX_BODY_BYTES),
      'larger upstream bodies (after gzip/br decoding) are refused; also the most characters of upstream values one result hands out (README "Operation limits"); at most 256 MiB, since a body is read into one string and V8 makes none over about 512 MiB',
    ),
    maxJsonValues: setting(
      'UPSTREAM_MAX_JSON_VALUES',
      integer(1_000, 100_000_000).default(8_000_000),
      'JSON values (objects, arrays, strings, numbers, …) one upstream body may hold, counted before it is parsed; a body with more is refused with `UPSTREAM_BAD_RESPONSE`, as one over `UPSTREAM_MAX_BODY_BYTES`; a body of tiny values takes far more heap and time to parse than its bytes say (8 million empty objects: about 256 MB of heap and over a second of event loop), and a real one far fewer (an execution of 100,000 events of the demo\'s shape holds 2.5 million); bodies under 1.5 characters per value allowed are not counted',
    ),
    maxBytesInFlight: setting(
      'UPSTREAM_MAX_BYTES_IN_FLIGHT',
      integer(1024, 2 ** 40).default(DEFAULT_MAX_BODY_BYTES),
      'bytes of upstream bodies the process holds at once, each charged from when its size is known (its `Content-Length`, or as it is decoded or read) until it is parsed; a body that would pass it is refused with `UPSTREAM_UNAVAILABLE` (never waited for), unless no other body is held, so one execution of up to `UPSTREAM_MAX_BODY_BYTES` is always served; without it, every call of the bulkhead (`UPSTREAM_MAX_CONCURRENT`) could hold a body of `UPSTREAM_MAX_BODY_BYTES` at once; the heap check at start counts the larger of the two (README "Caching")',
    ),
    executionIdPattern: setting(
      'EXECUTION_ID_PATTERN',
      z
        .string()
        // A blank pattern, or one JavaScript cannot read, stops here (`abort`, `continue: false`): its anchors cannot
        // be told. One JavaScript reads is checked for anchors and by RE2 both, and refused for each that fails.
        .refine(notBlank, { error: 'must not be blank', abort: true })
        .superRefine((source, context) => {
          const refusal = regExpRefusal(source);
          if (refusal === undefined) return;
          // Read as JavaScript (for the anchors), matched by RE2: only what both read is taken.
          context.addIssue({
            code: 'custom',
            message: `must be a regular expression in the syntax JavaScript and RE2 share (not RE2's alone, such as (?i) or (?P<name>…)); JavaScript says: ${refusal}`,
            continue: false,
          });
        })
        .refine(isAnchoredPattern, 'must match whole ids: start it with ^ and end it with $, as in ^(?:your pattern)$')
        .superRefine((source, context) => {
          const refusal = re2Refusal(source);
          if (refusal === undefined) return;
          context.addIssue({
            code: 'custom',
            message: `must be a pattern RE2 reads (no lookaround, no backreference, repeat counts up to 1000, nested ones multiplied), so that ids are matched in time linear in their length; RE2 says: ${refusal}`,
          });
        })
        .transform(compileIdPattern)
        .prefault(DEFAULT_EXECUTION_ID_PATTERN),
      `ids allowed to reach upstream (a pattern anchored with \`^\` and \`$\`, alternatives inside a group, no lookaround or backreference: matched by RE2's linear-time engine); others, any id over ${MAX_EXECUTION_ID_LENGTH} characters and any holding half of a UTF-16 surrogate pair (which no URL can carry) are \`BAD_USER_INPUT\` with no call`,
    ),
  },
  cache: {
    terminalTtlMs: setting(
      'TERMINAL_CACHE_TTL_MS',
      integer(0, 86_400_000).default(60_000),
      'how long finished executions are cached per caller (`0` turns it off)',
    ),
    activeTtlMs: setting('ACTIVE_CACHE_TTL_MS', integer(0, 60_000).default(0), 'how long other executions may be cached per caller (default: not at all)'),
    maxBytes: setting(
      'CACHE_MAX_BYTES',
      integer(0, 2 ** 40).default(256 * 1024 * 1024),
      `size bound of that cache: each execution counts ${HEAP_PER_BODY_BYTE} × its upstream body + ${HEAP_PER_EVENT} bytes per event + ${ENTRY_OVERHEAD_BYTES / 1024} KiB (README "Caching"); one larger than the whole cache is not cached, so below ${ENTRY_OVERHEAD_BYTES} (one entry's overhead) nothing is cached; \`0\` turns the cache off`,
    ),
    documentMaxBytes: setting(
      'DOCUMENT_CACHE_MAX_BYTES',
      integer(0, 2 ** 40).default(64 * 1024 * 1024),
      `heap the caches of parsed operations may hold (README "What a cached document holds"): documents, with the code compiled from them, take up to ${100 - 100 * ERROR_SHARE}% of it, each counting its text + ${HEAP_BYTES_PER_TOKEN} bytes per token and its compiled code as estimated; texts that failed to parse take the rest, each counting itself + ${PARSE_ERROR_BYTES} bytes; a document larger than its share is parsed each time instead, and code that would not fit beside its document is not compiled; \`0\` caches nothing`,
    ),
    callerSharePercent: setting(
      'CALLER_SHARE_PERCENT',
      integer(1, 100).default(25),
      'share of the process one caller (token) may hold, so one never crowds the others out: of that cache once it is full (past it, the caller makes room from its own entries only), of the watched executions (`LIVE_MAX_POLLERS`; past it, a watch of one more is `TOO_MANY_SUBSCRIPTIONS`), of the watches upstream has not answered yet (`LIVE_MAX_UNREAD_SUBSCRIPTIONS`; past it, one more is `TOO_MANY_SUBSCRIPTIONS` with `extensions.retryAfterMs`, as its places free when upstream answers), of their readings (`LIVE_MAX_HELD_BYTES`, though always one reading) and of the pollers\' upstream slots (`LIVE_POLL_SHARE_PERCENT`; past it, its polls take a slot only while more than a share of them stays free), and of the WebSockets upstream served once `WS_MAX_CONNECTIONS` are open (past it, its closing or idle ones make room for newcomers before any other caller gives one up); at least one of each; `100` for a single-tenant gateway, whose only caller is one service token',
    ),
  },
  security: {
    trustedDocuments: setting(
      'TRUSTED_DOCUMENTS',
      z.enum(['off', 'allow', 'only'], { error: 'must be off, allow or only' }).default('off'),
      'persisted documents (schema/persisted-documents.json): `allow` takes hashes and text, `only` runs nothing else (`PERSISTED_QUERY_NOT_IN_LIST`; no GraphiQL, no ad-hoc introspection)',
    ),
    introspection: setting('INTROSPECTION', flag().default(true), 'serve schema introspection (depth-limited either way) and GraphiQL'),
    fieldSuggestions: setting(
      'FIELD_SUGGESTIONS',
      flag().optional(),
      '"Did you mean …?" hints in errors; unset: on, except with `NODE_ENV=production`, or while introspection is not served (`INTROSPECTION=false`, `TRUSTED_DOCUMENTS=only`: hints name the fields and values introspection would)',
    ),
    corsOrigins: setting(
      'CORS_ORIGINS',
      z
        .string()
        .transform((value, context) => {
          const origins: string[] = [];
          for (const entry of value.split(',').map((each) => each.trim())) {
            const origin = corsOrigin(entry);
            if (origin === undefined) {
              context.addIssue({
                code: 'custom',
                message: 'must be a comma-separated list of origins, each a scheme, host and optional port with no path (https://app.example.com), or *',
              });
              return z.NEVER;
            }
            origins.push(origin);
          }
          // `https://app.example.com, *` reads as a list, yet `*` lets every origin in: refused rather than opened silently.
          if (origins.length > 1 && origins.includes('*')) {
            context.addIssue({ code: 'custom', message: '* allows every origin and cannot be listed beside others: set it alone, or list the origins without it' });
            return z.NEVER;
          }
          return origins;
        })
        .optional(),
      'comma-separated origins allowed by CORS (`https://app.example.com`; a trailing `/` and upper case are normalised, a path is refused), or `*` alone (unset: closed)',
      { url: true },
    ),
  },
  operations: {
    maxDepth: setting(
      'OPERATION_MAX_DEPTH',
      integer(1, 100).default(9),
      'nesting of data fields one operation may reach, fragments counted as if inline and introspection left out (README "Operation limits": the deepest useful query, cursors at both levels, is 9); past it `GRAPHQL_VALIDATION_FAILED`, "Query depth limit of 9 exceeded, found 10." and what to change; at most `OPERATION_MAX_INTROSPECTION_DEPTH` (start-up refuses more); start-up (`npm start`) refuses a value that would refuse any of the typed client\'s operations (schema/operations/, as schema/persisted-documents.json holds them), naming the least it takes',
    ),
    maxIntrospectionDepth: setting(
      'OPERATION_MAX_INTROSPECTION_DEPTH',
      integer(1, 100).default(25),
      'nesting an operation that asks for introspection (`__schema`, `__type`) may reach, counted over all of it; past it `GRAPHQL_VALIDATION_FAILED`, "Query depth limit of 25 exceeded, found 26." and what to change; at least `OPERATION_MAX_DEPTH` unless `INTROSPECTION=false` (start-up refuses less); while introspection is served (`INTROSPECTION=true`, `TRUSTED_DOCUMENTS` not `only`), start-up (`npm start`) refuses a value below the standard introspection query\'s 15 (graphql-js, GraphiQL, codegen)',
    ),
    maxAliases: setting(
      'OPERATION_MAX_ALIASES',
      integer(0, 1_000).default(30),
      'aliases one operation may hold, `__typename` ones included; past it `GRAPHQL_VALIDATION_FAILED`, "Aliases limit of 30 exceeded, found 31." and what to change; the typed client\'s operations use none',
    ),
    maxDirectives: setting(
      'OPERATION_MAX_DIRECTIVES',
      integer(0, 1_000).default(20),
      'directives (`@include`, `@skip`, …) one operation may hold; past it `GRAPHQL_VALIDATION_FAILED`, "Directives limit of 20 exceeded, found 21." and what to change; the typed client\'s operations use none',
    ),
    maxTokens: setting(
      'OPERATION_MAX_TOKENS',
      integer(1, 100_000).default(2_000),
      'tokens (names, values, punctuation; not commas) one document may hold, counted as it is parsed: past it `GRAPHQL_PARSE_FAILED`, "Token limit of 2000 exceeded." and what to change; each token a cached document holds costs about 400 bytes of heap (`DOCUMENT_CACHE_MAX_BYTES`); start-up (`npm start`) refuses a value that would refuse the typed client\'s operations or, while introspection is served (`INTROSPECTION=true`, `TRUSTED_DOCUMENTS` not `only`), the standard introspection query, naming the least they take',
    ),
    maxCost: setting(
      'OPERATION_MAX_COST',
      integer(1, 100_000_000).default(25_000),
      'static cost one operation may reach (README "Operation limits": 1 per scalar, 2 per object, ×1.5 per level, × a literal `first` or `last`; fragments counted as if inline; introspection not counted); past it `GRAPHQL_VALIDATION_FAILED`, "Query Cost limit of 25000 exceeded, found 31225." and what to change; start-up (`npm start`) refuses a value that would refuse the typed client\'s operations, naming the least they take',
    ),
  },
  live: {
    pollPaymentMs: setting('LIVE_POLL_PAYMENT_MS', integer(10, 3_600_000).default(5_000), 'how often a watched execution awaiting payment is polled'),
    pollWaitingMs: setting('LIVE_POLL_WAITING_MS', integer(10, 3_600_000).default(3_000), 'how often one with payment confirmed, waiting, or in an unknown status is polled'),
    pollActiveMs: setting('LIVE_POLL_ACTIVE_MS', integer(10, 3_600_000).default(1_000), 'how often a queued or running one is polled'),
    pollJitterPercent: setting('LIVE_POLL_JITTER_PERCENT', integer(0, 90).default(20), 'each pause varies at random by this much, so pollers drift apart'),
    pollMaxBackoffMs: setting('LIVE_POLL_MAX_BACKOFF_MS', integer(10, 3_600_000).default(30_000), 'longest pause between polls while upstream fails (it doubles per failure, never shorter than the healthy interval)'),
    pollSharePercent: setting(
      'LIVE_POLL_SHARE_PERCENT',
      integer(1, 100).default(50),
      'share of `UPSTREAM_MAX_CONCURRENT` the pollers may use at once, so watchers never starve queries',
    ),
    outageNoticeMs: setting(
      'LIVE_OUTAGE_NOTICE_MS',
      integer(0, 3_600_000).default(10_000),
      'how long polls may fail, from the first failed poll\'s answer, before watchers get an update carrying `UPSTREAM_UNAVAILABLE` (the watch goes on)',
    ),
    maxWatchMs: setting(
      'LIVE_MAX_WATCH_MS',
      integer(1_000, 7 * 86_400_000).default(6 * 3_600_000),
      'longest a watch lasts; then a final update with `endReason: WATCH_TIME_LIMIT` (resume with `eventsAfter`)',
    ),
    maxSubscriptionsPerConnection: setting('LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION', integer(1, 100_000).default(100), 'operations one WebSocket connection may run at once, live subscriptions and queries alike'),
    maxSubscriptionsPerCaller: setting('LIVE_MAX_SUBSCRIPTIONS_PER_CALLER', integer(1, 1_000_000).default(100), 'live subscriptions one caller may hold in a process; at most `LIVE_MAX_SUBSCRIPTIONS` (start-up refuses more); past it a watch is `TOO_MANY_SUBSCRIPTIONS` without `retryAfterMs`: final, as the caller\'s own doing'),
    maxSubscriptions: setting('LIVE_MAX_SUBSCRIPTIONS', integer(1, 10_000_000).default(10_000), 'live subscriptions per process; past it a watch is `TOO_MANY_SUBSCRIPTIONS` with `extensions.retryAfterMs` (5–10 s at random: another replica, or this one once watches end, may take it)'),
    maxPollers: setting('LIVE_MAX_POLLERS', integer(1, 1_000_000).default(5_000), 'watched (caller, execution) pairs per process, each with one poller; past it a watch of one more is `TOO_MANY_SUBSCRIPTIONS` with `extensions.retryAfterMs` (5–10 s at random, as for `LIVE_MAX_SUBSCRIPTIONS`)'),
    maxHeldBytes: setting(
      'LIVE_MAX_HELD_BYTES',
      integer(4096, 2 ** 40).default(512 * 1024 * 1024),
      `heap the pollers' latest readings may hold, each counted as in \`CACHE_MAX_BYTES\` (${HEAP_PER_BODY_BYTE} × its upstream body + ${HEAP_PER_EVENT} bytes per event + ${ENTRY_OVERHEAD_BYTES / 1024} KiB); a reading that would take them past it (whoever's it is), or its caller past its \`CALLER_SHARE_PERCENT\` of it while the caller holds another, ends that execution's watches with \`TOO_MANY_SUBSCRIPTIONS\` (a finished execution's last reading is passed on, never kept); with the default \`UPSTREAM_MAX_BODY_BYTES\` the largest reading of few events counts about ${Math.round(entryBytes({ bodyBytes: DEFAULT_MAX_BODY_BYTES, events: [] }) / 2 ** 20)} MiB`,
    ),
    maxUnreadSubscriptions: setting(
      'LIVE_MAX_UNREAD_SUBSCRIPTIONS',
      integer(1, 10_000_000).default(1_000),
      'live subscriptions per process still waiting for upstream to answer their execution once; a further watch of an execution not yet read is refused (`TOO_MANY_SUBSCRIPTIONS`, with `extensions.retryAfterMs`, 1–2 s at random: places free as upstream answers), as is one past its caller\'s `CALLER_SHARE_PERCENT` of them, so callers whose executions upstream is slow to answer leave room for the others. During an outage upstream cannot tell a made-up token from a real one, and tokens cost nothing to invent: this keeps such watches from filling `LIVE_MAX_SUBSCRIPTIONS` and `LIVE_MAX_POLLERS` for `LIVE_MAX_WATCH_MS`',
    ),
    stalledClientMs: setting(
      'LIVE_STALLED_CLIENT_MS',
      integer(100, 3_600_000).default(10_000),
      'a live stream or any HTTP answer whose client stopped reading (what the gateway wrote has waited this long for the client\'s network to take any of it) is closed, ending its watches: a WebSocket with `1013` (graphql-ws clients reconnect), a Server-Sent Events response or another answer by dropping its connection (logged once); so a stalled reader holds no memory, watch slot or poller',
    ),
    connectionInitTimeoutMs: setting(
      'WS_CONNECTION_INIT_TIMEOUT_MS',
      integer(100, 60_000).default(3_000),
      'a WebSocket that sends no `connection_init` in this time is closed',
    ),
    idleTimeoutMs: setting(
      'WS_IDLE_TIMEOUT_MS',
      integer(100, 3_600_000).default(60_000),
      'a WebSocket that has run no operation, and had none served by upstream (an execution read with its token), for this long is closed (`1000`), as an idle keep-alive connection is; graphql-ws clients connect again when they next subscribe',
    ),
    keepAliveMs: setting(
      'WS_KEEPALIVE_MS',
      integer(1_000, 600_000).default(12_000),
      'how often the gateway pings a WebSocket, and how long the pong may take before the connection counts as dead and is closed, ending its watches: a peer that vanished without a close (a laptop shut, a NAT entry expired) would hold its watches, pollers and a `WS_MAX_CONNECTIONS` place until the kernel gave up on it, minutes later; below a proxy\'s idle timeout, the pings also keep it from cutting a quiet socket',
    ),
    maxConnections: setting(
      'WS_MAX_CONNECTIONS',
      integer(1, 1_000_000).default(DEFAULT_WS_MAX_CONNECTIONS),
      'WebSockets open at once per process; a further upgrade drops a socket: first the closing or idle socket upstream served least recently of the caller holding the most past its `CALLER_SHARE_PERCENT` of them, else the oldest closing or idle one upstream never served an operation of (both closed with `1013`), or gets `503` when there is none, so WebSockets alone cannot take every file descriptor from HTTP requests and upstream calls',
    ),
    maxMessagesPerSecond: setting(
      'WS_MAX_MESSAGES_PER_SECOND',
      integer(1, 1_000_000).default(1_000),
      'messages one WebSocket may send a second, of any kind (graphql-ws\'s `ping` and `pong`, `subscribe`, `complete`, invalid ones, and WebSocket ping and pong frames), with or without `connection_init` or a token, in bursts of as many at once and, on top of them, a `subscribe` and a `complete` of each operation it may run (`LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION`: a client resubscribes all at once after a reconnect); past it the socket is closed with `1008` (Policy Violation, which graphql-ws clients do not retry), counted and logged, so one socket sending pings in a loop cannot slow every other client. graphql-ws\'s client pings once per `keepAlive`, after the last pong',
    ),
    maxUpgradesPerSecond: setting(
      'WS_MAX_UPGRADES_PER_SECOND',
      integer(0, 1_000_000).default(2),
      'WebSocket upgrades one client address (as the access log names it, `TRUSTED_PROXIES` honoured) may make a second per process, in bursts of `WS_UPGRADE_BURST`; past it an upgrade gets `429` with `Retry-After` before any handshake, counted and logged, so a client that opens a new socket each time one is closed cannot get a new `WS_MAX_MESSAGES_PER_SECOND` budget at will (17 a second took a neighbour\'s p90 from 14 ms to 53 ms). 2 a second is 7,200 an hour, 9.6 reconnects an hour for each of 750 tabs behind one address; each worker and replica counts its own; `0` turns the bound off',
    ),
    upgradeBurst: setting(
      'WS_UPGRADE_BURST',
      integer(1, 1_000_000).default(1_000),
      'upgrades one client address may make at once before `WS_MAX_UPGRADES_PER_SECOND` holds it back, refilled at that rate: every tab behind one corporate NAT reconnects at once when a deploy closes their sockets (`1001`), and 750 of them must not be refused; a fresh process, or an address not seen for `WS_UPGRADE_BURST / WS_MAX_UPGRADES_PER_SECOND` seconds (500 by default), has the whole burst',
    ),
  },
  sharedState: {
    redisUrl: setting(
      'REDIS_URL',
      z
        // No redis URL, or one with no host, stops there (`abort`): the rules after would judge a host as a path.
        .url({
          protocol: /^rediss?$/,
          // A password from `openssl rand -base64` holds a `/`: unencoded, it ends the URL's host early, and the refusal
          // showed a form the operator's URL already had.
          error: ({ input }) =>
            `must be a redis:// or rediss:// URL such as redis://:password@127.0.0.1:6379/0${typeof input === 'string' && RESERVED_IN_CREDENTIALS.test(input) ? `; ${PERCENT_ENCODE_ADVICE}` : ''}`,
          abort: true,
        })
        // `redis:/host:6379` and `redis:host:6379` parse with no host: ioredis read them as a Unix socket's path, degraded for good.
        .refine((value) => new URL(value).hostname !== '', { error: 'must name a host: redis://127.0.0.1:6379 (two slashes)', abort: true })
        // ioredis threw `URIError: URI malformed` from inside `new Redis`, and the process ended with its stack.
        .refine(decodableCredentials, { error: `must have a user name and password ioredis can decode: ${PERCENT_ENCODE_ADVICE}`, abort: true })
        // ioredis sent `SELECT NaN` for `/abc`, and the reply's error ended the process with a stack.
        .refine((value) => /^(?:\/(?:\d{1,9})?)?$/.test(new URL(value).pathname), {
          // `redis://user:ab@c/d@host` parses, with `c` for its host and `/d@host` for its path.
          error: ({ input }) => `must have no path but a database number: redis://127.0.0.1:6379/0${typeof input === 'string' && RESERVED_IN_CREDENTIALS.test(input) ? `; ${PERCENT_ENCODE_ADVICE}` : ''}`,
        })
        // ioredis takes options from the query over the gateway's own: `?db=abc` sent `SELECT NaN` and ended the process
        // with a stack, `?commandTimeout=` and `?enableOfflineQueue=` undid REDIS_COMMAND_TIMEOUT_MS and "never queued".
        .refine((value) => new URL(value).search === '' && new URL(value).hash === '', {
          // `redis://ab#cd@host` parses, its password read as a host and the rest as a fragment.
          error: ({ input }) =>
            typeof input === 'string' && RESERVED_IN_CREDENTIALS.test(input)
              ? `must carry no query string or fragment: ${PERCENT_ENCODE_ADVICE}`
              : 'must carry no query string or fragment (ioredis would take its options from it over the gateway\'s): the database is the path, redis://127.0.0.1:6379/0',
        })
        // A scheme is case-insensitive (RFC 3986 §3.1), but ioredis takes only a lower-case `rediss://` for TLS:
        // `REDISS://` connected in plain text, its password on the wire, where the operator had asked for TLS.
        .transform((value) => value.replace(/^rediss?:/i, (scheme) => scheme.toLowerCase()))
        .optional(),
      'Redis shared by every replica (and worker): the cache of finished executions and one live poller per (caller, execution) across them; `rediss://` for TLS, credentials in the URL, percent-encoded (`/` as `%2F`, `encodeURIComponent`) (unset: everything stays in the process)',
      { url: true },
    ),
    redisKeySecret: setting(
      'REDIS_KEY_SECRET',
      text(32).optional(),
      'secret of the HMAC that turns a caller\'s `Authorization` into its part of Redis keys and channels, so whoever reads Redis cannot test tokens; the same on every replica; required with `REDIS_URL`',
      { secret: true },
    ),
    redisTlsCaFile: setting(
      'REDIS_TLS_CA_FILE',
      readableFile().optional(),
      'with a `rediss://` `REDIS_URL`: PEM file of the CA certificates that Redis\'s certificate is checked against, instead of the system\'s (a private CA\'s; unset: the system\'s, with `NODE_EXTRA_CA_CERTS`)',
    ),
    redisTlsCertFile: setting(
      'REDIS_TLS_CERT_FILE',
      readableFile().optional(),
      'with a `rediss://` `REDIS_URL`: PEM file of the client certificate shown to a Redis that asks for one (`tls-auth-clients yes`, its default with TLS), with `REDIS_TLS_KEY_FILE` (unset: none is sent)',
    ),
    redisTlsKeyFile: setting('REDIS_TLS_KEY_FILE', readableFile().optional(), 'PEM file of the private key of `REDIS_TLS_CERT_FILE`, unencrypted'),
    redisKeyPrefix: setting('REDIS_KEY_PREFIX', nameText(1, 64).default('execution-gateway:'), 'prefix of every key and channel, so several gateways can share one Redis'),
    redisCommandTimeoutMs: setting(
      'REDIS_COMMAND_TIMEOUT_MS',
      integer(1, 10_000).default(50),
      'longest a Redis command may take before the gateway goes on without it (a cache read becomes a miss); commands are never queued while Redis is away',
    ),
    redisMaxValueBytes: setting(
      'REDIS_CACHE_MAX_VALUE_BYTES',
      integer(0, MAX_STRING_BYTES).default(1024 * 1024),
      'largest execution (its stored JSON) put in the shared cache; larger ones stay in the process\'s cache only; `0`: none is shared; at most 256 MiB (one string, as for `UPSTREAM_MAX_BODY_BYTES`); a value Redis cannot deliver within `REDIS_COMMAND_TIMEOUT_MS` is never a hit, only a cost (on loopback at 50 ms, 11 MB was read in time and 23 MB never was): raise both together',
    ),
    leaseMs: setting(
      'LIVE_LEASE_MS',
      integer(300, 600_000).default(10_000),
      'with `REDIS_URL`: lease of the replica that polls a watched (caller, execution) for all; another replica with watchers takes over within this time plus one tick when the holder dies (more while upstream fails and polls back off)',
    ),
  },
  telemetry: {
    metrics: setting(
      'METRICS',
      z.enum(['port', 'api', 'off'], { error: 'must be port, api or off' }).default('port'),
      'Prometheus `/metrics`: on its own port (`port`, not exposed with the API), on the API port too (`api`), or not at all',
    ),
    metricsPort: setting('METRICS_PORT', metricsPortNumber().default(9464), 'port of `/metrics` with `METRICS=port` (`0` picks a free one); the API\'s `PORT` on the same interface is refused at start-up'),
    metricsHost: setting(
      'METRICS_HOST',
      listenHost().default('127.0.0.1'),
      'interface of `/metrics` with `METRICS=port`; loopback unless set; a space or line break in or around it is refused, not trimmed',
    ),
    accessLog: setting(
      'ACCESS_LOG',
      z.enum(['off', 'errors', 'sampled', 'all'], { error: 'must be off, errors, sampled or all' }).default('all'),
      'one JSON line per request: none, only requests with errors, a sample (`ACCESS_LOG_SAMPLE_PERCENT`) plus every error, or every request',
    ),
    accessLogSamplePercent: setting('ACCESS_LOG_SAMPLE_PERCENT', integer(0, 100).default(10), 'share of error-free requests logged with `ACCESS_LOG=sampled`'),
    trustedProxies: setting(
      'TRUSTED_PROXIES',
      z
        .string()
        .transform((value, context) => {
          const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
          if (entries.length === 0) {
            context.addIssue({ code: 'custom', message: 'must list at least one proxy (unset, the header is ignored)' });
            return z.NEVER;
          }
          // proxy-addr takes the legacy forms ipaddr.js reads (`10` is 0.0.0.10, `0x10`, `010.0.0.1`): most likely a
          // range mistyped, trusting the wrong proxy. Only the forms node and every proxy write: dotted quads and IPv6.
          const unlike = entries.find((entry) => !NAMED_PROXY_RANGES.has(entry) && !isProxyEntry(entry));
          if (unlike !== undefined) {
            context.addIssue({ code: 'custom', message: `must be a comma-separated list of IP addresses, CIDR ranges or loopback, linklocal, uniquelocal: ${JSON.stringify(textPrefix(unlike, 100))} is none (IPv4 is four numbers, as in 10.0.0.1 or 10.0.0.0/8; the names are lower case)` });
            return z.NEVER;
          }
          try {
            return { entries, trusts: compileTrust(entries) };
          } catch (error) {
            context.addIssue({ code: 'custom', message: `must be a comma-separated list of IP addresses, CIDR ranges or loopback, linklocal, uniquelocal: ${(error as Error).message}` });
            return z.NEVER;
          }
        })
        .optional(),
      'proxies in front of the gateway whose `X-Forwarded-For` is believed (addresses, CIDR ranges, or `loopback`, `linklocal`, `uniquelocal`): the access line\'s `clientAddress` and the operation span\'s `client.address` are the nearest address not among them; unset: the connection\'s peer, the header ignored',
    ),
    otlpEndpoint: setting(
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:4318' }).optional(),
      'OpenTelemetry collector (OTLP over HTTP): spans go to `<endpoint>/v1/traces`; unset, with `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` unset too: tracing is off',
      { url: true },
    ),
    otlpTracesEndpoint: setting(
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:4318/v1/traces' }).optional(),
      'where spans go, as it is (nothing added); wins over `OTEL_EXPORTER_OTLP_ENDPOINT`, and alone turns tracing on',
      { url: true },
    ),
    otlpProtocol: setting(
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      otlpProtocol(),
      'the exporter\'s protocol, as the OpenTelemetry specification names it: spans go over OTLP/HTTP as JSON, which a collector\'s OTLP/HTTP receiver reads beside protobuf, so `http/protobuf` and `http/json` are taken; `grpc` with tracing on is refused at start-up (point the endpoint at the collector\'s OTLP/HTTP port, 4318, not its gRPC one, 4317)',
    ),
    otlpTracesProtocol: setting('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', otlpProtocol(), 'the same for spans alone; wins over `OTEL_EXPORTER_OTLP_PROTOCOL`'),
    otelSdkDisabled: setting('OTEL_SDK_DISABLED', flag().default(false), '`true` turns tracing off, whatever the endpoints say'),
    otelSampler: setting(
      'OTEL_TRACES_SAMPLER',
      z
        .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'], {
          error: 'must be always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio',
        })
        .default('parentbased_traceidratio'),
      'which new traces are sampled, as the OpenTelemetry specification names its samplers; `parentbased_*` follow a `traceparent` that came with the request, the ratio ones take `OTEL_TRACES_SAMPLER_ARG`',
    ),
    otelServiceName: setting('OTEL_SERVICE_NAME', nameText(1).default('execution-gateway'), '`service.name` of the spans; unset, the `service.name` in `OTEL_RESOURCE_ATTRIBUTES` when there is one, as the OpenTelemetry specification has it'),
    otelResourceAttributes: setting(
      'OTEL_RESOURCE_ATTRIBUTES',
      z
        .string()
        .transform((text, context) => {
          const attributes = resourceAttributes(text);
          if (typeof attributes === 'string') context.addIssue({ code: 'custom', message: attributes });
          return typeof attributes === 'string' ? z.NEVER : attributes;
        })
        .optional(),
      'more attributes of the spans\' resource, `key=value` pairs separated by commas, values percent-encoded (`deployment.environment.name=prod,service.version=1.4.2`); a `service.name` among them names the service unless `OTEL_SERVICE_NAME` is set',
    ),
    otelSampleRatio: setting(
      'OTEL_TRACES_SAMPLER_ARG',
      z
        .string()
        .regex(/^\d*\.?\d+$/, { error: 'must be a number from 0 to 1' })
        .transform(Number)
        .pipe(z.number().min(0, { error: 'must be at least 0' }).max(1, { error: 'must be at most 1' }))
        .default(1),
      'share of new traces sampled by `traceidratio` and `parentbased_traceidratio` (`OTEL_TRACES_SAMPLER`)',
    ),
    traceDocument: setting('OTEL_GRAPHQL_DOCUMENT', flag().default(false), 'put the operation\'s text in `graphql.document` on server spans'),
    logLevel: setting(
      'LOG_LEVEL',
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace or silent (lower case)' }).default('info'),
      'pino level (`silent` … `trace`, in lower case); tokens are redacted from every log line',
    ),
    upstreamCost: setting('UPSTREAM_EXTENSIONS', flag().default(true), 'report each request\'s upstream cost in `extensions.upstream`'),
  },
} as const;

/**
 * One entry of CORS_ORIGINS as a browser's Origin header spells it (the URL's
 * serialized origin: lower-case host, no default port, no trailing slash),
 * since origins are matched exactly; undefined for anything that is not an
 * http(s) origin alone (a path, query, fragment or credentials).
 */
export function corsOrigin(entry: string): string | undefined {
  if (entry === '*') return entry;
  if (!URL.canParse(entry)) return undefined;
  const url = new URL(entry);
  // A wildcard host (`https://*.example.com`) parses as a URL, yet no browser's Origin equals it.
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname.includes('*')) return undefined;
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash || entry.endsWith('?') || entry.endsWith('#')) return undefined;
  return url.origin;
}

/**
 * OTEL_RESOURCE_ATTRIBUTES as the OpenTelemetry specification writes it:
 * `key=value` pairs separated by commas, values percent-encoded. Its text,
 * or why it is not one. By hand because @opentelemetry/resources' envDetector
 * reads process.env itself, and this file is the one place that does.
 */
function resourceAttributes(text: string): Record<string, string> | string {
  const attributes: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (pair.trim() === '') continue;
    const equals = pair.indexOf('=');
    const key = pair.slice(0, equals).trim();
    if (equals < 1 || key === '') return `"${textPrefix(pair.trim(), 40)}" is not key=value`;
    try {
      attributes[key] = decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      return `the value of ${key} is not percent-encoded`;
    }
  }
  return attributes;
}

type Settings = typeof SETTINGS;
type Group<G extends Record<string, Setting<z.ZodType>>> = { [K in keyof G]: z.output<G[K]['schema']> };

export type ServerConfig = Group<Settings['server']>;
export type UpstreamConfig = Omit<Group<Settings['upstream']>, 'connections' | 'maxConcurrentPerCaller'> & {
  /** Resolved: the variable when set, else `maxConcurrent`; never fewer than `maxConcurrent`. */
  connections: number;
  /** Resolved: the variable when set (never more than `maxConcurrent`), else DEFAULT_MAX_CONCURRENT_PER_CALLER. */
  maxConcurrentPerCaller: number;
};
export type CacheConfig = Group<Settings['cache']>;
export type SecurityConfig = Omit<Group<Settings['security']>, 'fieldSuggestions' | 'corsOrigins'> & {
  /** Resolved: the variable when set, else off in production. */
  fieldSuggestions: boolean;
  /** Empty: CORS closed. */
  corsOrigins: string[];
};
export type TelemetryConfig = Group<Settings['telemetry']>;
/** What one operation may ask for (README "Operation limits"), enforced by src/pipeline/operation-limits.ts. */
export type OperationsConfig = Group<Settings['operations']>;
export type LiveConfig = Group<Settings['live']>;
export type SharedStateConfig = Group<Settings['sharedState']>;

export interface GatewayConfig {
  server: ServerConfig;
  upstream: UpstreamConfig;
  cache: CacheConfig;
  security: SecurityConfig;
  operations: OperationsConfig;
  live: LiveConfig;
  sharedState: SharedStateConfig;
  telemetry: TelemetryConfig;
  /** `NODE_ENV=production`: graphql-js skips its development checks, and suggestions default to off. */
  production: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The operation limits as their settings default them: what a document is held to where no deployment's settings are
 * known (the schema check's known documents, scripts/known-documents.ts).
 */
export function defaultOperationLimits(): OperationsConfig {
  const { maxDepth, maxIntrospectionDepth, maxAliases, maxDirectives, maxTokens, maxCost } = SETTINGS.operations;
  const value = (each: { schema: z.ZodType<number, string | undefined> }) => each.schema.parse(undefined);
  return {
    maxDepth: value(maxDepth),
    maxIntrospectionDepth: value(maxIntrospectionDepth),
    maxAliases: value(maxAliases),
    maxDirectives: value(maxDirectives),
    maxTokens: value(maxTokens),
    maxCost: value(maxCost),
  };
}

/** Every setting's variable name, for documentation checks. */
export function settingNames(): string[] {
  return Object.values(SETTINGS).flatMap((group) => Object.values(group).map((each: Setting<z.ZodType>) => each.env));
}

/** A refused value is quoted up to this many characters: enough to recognise it, not a screenful. */
const QUOTED_LENGTH = 100;

/**
 * A refused value as its error message quotes it (`undefined`: not at all, a secret or a PEM block's text).
 * A URL setting's value loses everything after its scheme up to the last `@`, and its
 * query and fragment: a password with an unencoded `/`, `?`, `#` or `@`, a forgotten
 * scheme (`admin:token@host`), one slash too few, or a key in the query string is what
 * makes such a URL refused, and so quoted. A URL with an `@` in its path loses its
 * host too, the safe way to be wrong. Any other value loses what lies between `//` and
 * the last `@`, should it hold a URL.
 */
function quoted(raw: string, { secret, url }: { secret?: boolean; url?: boolean }): string | undefined {
  if (secret || PEM_TEXT.test(raw)) return undefined;
  // Across blanks too: a password with a space in it is just as invalid, and as secret.
  const shown = url ? raw.replace(/^((?:https?|rediss?):\/{0,2})?.*@/is, '$1***@').replace(/[?#].*/s, (rest) => `${rest[0]}***`) : raw.replace(/\/\/.*@/s, '//***@');
  return shown.length > QUOTED_LENGTH ? `${textPrefix(shown, QUOTED_LENGTH)}…` : shown;
}

type Groups = { [K in keyof Settings]: Group<Settings[K]> };
type Env = Record<string, string | undefined>;

/** Each group's settings by key, for reading and for naming the setting a zod issue is about. */
const SETTINGS_BY_GROUP: Record<string, Record<string, Setting<z.ZodType>>> = SETTINGS;

/**
 * Every setting's schema, group by group, in one object: zod goes on past a refused value to the next setting, and past
 * a setting's refused rule to its next (unless the rule aborts), so one parse yields every refused value, and every
 * mistake of each, in the order of the tables. The cast restores the types `Object.fromEntries` loses.
 */
const GROUPS_SCHEMA = z.object(
  Object.fromEntries(Object.entries(SETTINGS_BY_GROUP).map(([name, group]) => [name, z.object(Object.fromEntries(Object.entries(group).map(([key, each]) => [key, each.schema])))])),
) as unknown as z.ZodType<Groups, Record<string, Record<string, string | undefined>>>;

/** The environment shaped as GROUPS_SCHEMA reads it. Empty variables are treated as unset, the way shells and .env files mean them. */
function rawGroups(env: Env): Record<string, Record<string, string | undefined>> {
  return Object.fromEntries(
    Object.entries(SETTINGS_BY_GROUP).map(([name, group]) => [name, Object.fromEntries(Object.entries(group).map(([key, each]) => [key, env[each.env] === '' ? undefined : env[each.env]]))]),
  );
}

/** The setting a zod issue's path ([group, key]) names; undefined for a contradiction between settings, whose path is empty. */
function settingAt(path: readonly PropertyKey[]): Setting<z.ZodType> | undefined {
  const [group, key] = path;
  return typeof group === 'string' && typeof key === 'string' ? SETTINGS_BY_GROUP[group]?.[key] : undefined;
}

/** One refused value (`Invalid NAME="value": why.`), or a contradiction's own line. */
function refusalLine(issue: z.core.$ZodIssue, env: Env): string {
  const each = settingAt(issue.path);
  if (each === undefined) return issue.message;
  // A secret, or a URL's credentials, must not reach a terminal or a log collector.
  const shown = quoted(env[each.env] ?? '', each);
  return `Invalid ${each.env}=${shown === undefined ? '(hidden)' : JSON.stringify(shown)}: ${issue.message}.`;
}

/**
 * Values that are each taken but cannot be honoured together. `settings` are the variables it compares: it is not
 * checked when one of them was refused, since it would compare a value never taken (zod hands on what it had read,
 * `UPSTREAM_MAX_CONCURRENT=0` or the text `many`) and could blame the setting that is right; that value's own line
 * says what to fix, and the next start checks the pair.
 */
interface Contradiction {
  settings: readonly string[];
  /** The line refusing the pair, or undefined when the values agree. */
  refusal(groups: Groups, env: Env): string | undefined;
}

const isSet = (env: Env, name: string) => env[name] !== undefined && env[name] !== '';
const byDefault = (env: Env, name: string) => (isSet(env, name) ? '' : ' (its default)');

/**
 * Refuses a setting the deployer chose above the one that bounds it, which could never be
 * honoured. Only when `small` is set: lowering `large` alone below `small`'s default works
 * as asked (the default yields).
 */
function notAbove(smallName: string, largeName: string, values: (groups: Groups) => [small: number, large: number], why: string): Contradiction {
  return {
    settings: [smallName, largeName],
    refusal(groups, env) {
      const [small, large] = values(groups);
      if (!isSet(env, smallName) || small <= large) return undefined;
      return `${smallName}=${small} is above ${largeName}=${large}${byDefault(env, largeName)}: ${why}. Lower ${smallName} or raise ${largeName}.`;
    },
  };
}

/** Otherwise the metrics port's bind fails with EADDRINUSE, which reads as if another program held it. */
function metricsPortIsApiPort({ server, telemetry }: Groups, env: Env): string | undefined {
  // On two interfaces, neither a wildcard, the same port binds twice; `localhost` is a loopback address by another
  // name, and other names are left to the bind, which knows what they resolve to.
  const wildcard = (host: string) => host === '0.0.0.0' || host === '::';
  const loopback = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  const oneInterface =
    telemetry.metricsHost === server.host || wildcard(telemetry.metricsHost) || wildcard(server.host) || (loopback(telemetry.metricsHost) && loopback(server.host));
  if (telemetry.metrics !== 'port' || telemetry.metricsPort === 0 || telemetry.metricsPort !== server.port || !oneInterface) return undefined;
  return `METRICS_PORT=${telemetry.metricsPort}${byDefault(env, 'METRICS_PORT')} is the API's PORT${byDefault(env, 'PORT')}: pick another port for /metrics, or METRICS=api to serve it on the API's port.`;
}

/** Whether an OTLP endpoint is set: spans are exported then unless OTEL_SDK_DISABLED is `true`. */
const endpointSet = ({ telemetry }: Pick<Groups, 'telemetry'>) => telemetry.otlpEndpoint !== undefined || telemetry.otlpTracesEndpoint !== undefined;

/** Whether spans are exported: an endpoint is set and OTEL_SDK_DISABLED is not `true`. */
const tracingOn = (groups: Pick<Groups, 'telemetry'>) => endpointSet(groups) && !groups.telemetry.otelSdkDisabled;

/**
 * The exporter speaks OTLP/HTTP only: with `grpc` (and the collector's gRPC port, 4317) every batch was POSTed as JSON
 * to a port that takes none, and lost, with nothing at start saying why.
 */
function otlpOverGrpc({ telemetry }: Groups, env: Env): string | undefined {
  const tracing = tracingOn({ telemetry });
  const name = telemetry.otlpTracesProtocol !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  if (!tracing || (telemetry.otlpTracesProtocol ?? telemetry.otlpProtocol) !== 'grpc') return undefined;
  const endpoint = isSet(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  return `${name}=grpc: the gateway exports spans over OTLP/HTTP only (as JSON). Unset ${name} or set it to http/protobuf, and point ${endpoint} at the collector's OTLP/HTTP port (4318), not its gRPC one (4317).`;
}

const TRACING_SETTINGS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED'] as const;

/**
 * The exporter's and the batch processor's own variables (OTEL_BSP_*, OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT, _COMPRESSION,
 * _HEADERS), which the SDK reads itself: a value it cannot take it told only its diagnostic logger, which the gateway
 * does not set, and went on without. `OTEL_BSP_MAX_QUEUE_SIZE=0` (or `-5`) dropped every span, with a warning blaming a
 * slow collector; `OTEL_EXPORTER_OTLP_HEADERS=Authorization Bearer x` sent no header, so every export was refused
 * (`Unauthorized`); `OTEL_EXPORTER_OTLP_TIMEOUT=10s` and `_COMPRESSION=zstd` were the defaults. Checked only with
 * tracing on, since nothing reads them otherwise; an empty value (or only spaces) is unset, as the SDK reads it.
 */
function sdkVariable(name: string, check: (value: string) => string | undefined, { secret = false } = {}): Contradiction {
  return {
    settings: TRACING_SETTINGS,
    refusal(groups, env) {
      const value = env[name];
      // The SDK trims what it reads, and takes a value of only spaces as unset.
      if (value === undefined || value.trim() === '' || !tracingOn(groups)) return undefined;
      const why = check(value.trim());
      if (why === undefined) return undefined;
      return `Invalid ${name}=${secret ? '(hidden)' : JSON.stringify(textPrefix(value, 40))}: ${why}.`;
    },
  };
}

/**
 * The longest time node's timers take (2^31 - 1 ms, 24.8 days): past it setTimeout warns TimeoutOverflowWarning on
 * stderr and runs after 1 ms, so an export timeout meant as "never" cut every export at once.
 */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A count or a time in milliseconds as the SDK reads it (`Number()` of the trimmed text: `1e4` and `10000.0` are
 * 10000), whole: refused only when that is no number, a fraction or below `min`, or, a time, past MAX_TIMER_MS.
 */
const sdkWholeNumber = (name: string, min: number, example: number, kind: 'count' | 'milliseconds') =>
  sdkVariable(name, (value) => {
    const unit = kind === 'milliseconds' ? ' of milliseconds' : '';
    if (!Number.isInteger(Number(value)) || Number(value) < min) return `must be a whole number${unit} of at least ${min}, as in ${name}=${example}`;
    if (kind === 'milliseconds' && Number(value) > MAX_TIMER_MS) return `must be a whole number${unit} of at most ${MAX_TIMER_MS} (node's longest timer: a longer one runs after 1 ms), as in ${name}=${example}`;
    return undefined;
  });

const sdkCompression = (name: string) =>
  sdkVariable(name, (value) => (value === 'none' || value === 'gzip' ? undefined : `must be gzip or none, as in ${name}=gzip`));

/** A header name (RFC 9110 token) and a value node's http sends (no control character but tab). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * OTEL_EXPORTER_OTLP_[TRACES_]HEADERS as the SDK parses it (`key=value` pairs separated by commas, percent-encoded,
 * `;` starting properties that are cut off): an entry it cannot read was left out in silence. Never quoted: it
 * holds the collector's credentials.
 */
const sdkHeaders = (name: string) =>
  sdkVariable(
    name,
    (value) => {
      const entries = value.split(',');
      const bad = entries.findIndex((entry) => {
        // An empty entry (`a=b,`) names no header: the SDK skips it, and nothing is lost.
        if (entry.trim() === '') return false;
        const separator = entry.indexOf('=');
        const key = entry.slice(0, Math.max(separator, 0)).trim();
        const rest = entry.slice(separator + 1).trim();
        if (separator <= 0 || key === '' || rest === '' || rest.includes(';')) return true;
        try {
          // Checked as sent, once the SDK has decoded both: `x%20y=1` or `a=%0A` made node refuse every export.
          return !HEADER_NAME.test(decodeURIComponent(key)) || !HEADER_VALUE.test(decodeURIComponent(rest));
        } catch {
          return true;
        }
      });
      return bad === -1
        ? undefined
        : `entry ${bad + 1} of ${entries.length} is not a header name, "=" and a value, percent-encoded (a ";" as %3B) (as in ${name}=x-api-key=abc123,x-tenant=prod); the exporter would send it without that header`;
    },
    { secret: true },
  );

/**
 * The Redis TLS files, judged together: for a `rediss://` REDIS_URL only (with `redis://` they were never used, and the
 * password went in plain text where TLS was meant), a certificate with its key, and contents OpenSSL takes (checked
 * here by making the TLS context each connection will use: a wrong file was otherwise an outage at every reconnect).
 */
function redisTlsRefusal({ sharedState: { redisUrl, redisTlsCaFile, redisTlsCertFile, redisTlsKeyFile } }: Groups): string | undefined {
  const set = [
    ['REDIS_TLS_CA_FILE', redisTlsCaFile],
    ['REDIS_TLS_CERT_FILE', redisTlsCertFile],
    ['REDIS_TLS_KEY_FILE', redisTlsKeyFile],
  ].filter(([, path]) => path !== undefined).map(([name]) => name!);
  if (set.length === 0 || redisUrl === undefined) return undefined;
  if (!redisUrl.startsWith('rediss:')) return `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set but REDIS_URL is redis://, which uses no TLS: use rediss:// (Redis's TLS port), or unset ${set.join(', ')}.`;
  if ((redisTlsCertFile === undefined) !== (redisTlsKeyFile === undefined)) {
    return `${redisTlsCertFile === undefined ? 'REDIS_TLS_KEY_FILE' : 'REDIS_TLS_CERT_FILE'} is set without ${redisTlsCertFile === undefined ? 'REDIS_TLS_CERT_FILE' : 'REDIS_TLS_KEY_FILE'}: a client certificate needs its private key, and the key its certificate; set both.`;
  }
  try {
    const files = redisTlsOptions({ redisTlsCaFile, redisTlsCertFile, redisTlsKeyFile });
    createSecureContext(files);
    // node takes a CA file with no certificate in it (empty, a key, DER) as a list of none: every Redis certificate was then untrusted.
    if (files.ca !== undefined && !/-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/.test(files.ca.toString('latin1'))) {
      return "REDIS_TLS_CA_FILE holds no PEM certificate (-----BEGIN CERTIFICATE-----): name the file of the CA certificates that signed Redis's certificate.";
    }
    // OpenSSL drops a key of another type than the certificate's (RSA for EC) without an error, where one of the same
    // type is 'key values mismatch': the context was made, and every connection then failed its handshake.
    if (files.cert !== undefined && files.key !== undefined && !new X509Certificate(files.cert).checkPrivateKey(createPrivateKey(files.key))) {
      return `${set.join(', ')}: REDIS_TLS_KEY_FILE is not the private key of REDIS_TLS_CERT_FILE's certificate: set the key the certificate was made for.`;
    }
    return undefined;
  } catch (error) {
    const reason = /:([^:]+):?$/.exec(String((error as Error).message))?.[1] ?? (error as Error).message;
    return `${set.join(', ')}: OpenSSL cannot use ${set.length === 1 ? 'it' : 'them'} (${reason.slice(0, 120).trim()}): each must be PEM, the key unencrypted and the certificate's own.`;
  }
}

/**
 * node:tls options from the Redis TLS files (RedisStore's connections and the check above): `ca` replaces the
 * system's CAs, as node's option does. Throws when a file cannot be read.
 */
export function redisTlsOptions(files: Pick<SharedStateConfig, 'redisTlsCaFile' | 'redisTlsCertFile' | 'redisTlsKeyFile'>): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return {
    ...(files.redisTlsCaFile !== undefined ? { ca: readFileSync(files.redisTlsCaFile) } : {}),
    ...(files.redisTlsCertFile !== undefined ? { cert: readFileSync(files.redisTlsCertFile) } : {}),
    ...(files.redisTlsKeyFile !== undefined ? { key: readFileSync(files.redisTlsKeyFile) } : {}),
  };
}

/** The tracing SDK's own variables, in the order of README "Traces". */
const SDK_VARIABLES: readonly Contradiction[] = [
  ...['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS'].map(sdkHeaders),
  ...['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'].map((name) => sdkWholeNumber(name, 1, 10000, 'milliseconds')),
  ...['OTEL_EXPORTER_OTLP_COMPRESSION', 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION'].map(sdkCompression),
  sdkWholeNumber('OTEL_BSP_MAX_QUEUE_SIZE', 1, 2048, 'count'),
  sdkWholeNumber('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 1, 512, 'count'),
  sdkWholeNumber('OTEL_BSP_SCHEDULE_DELAY', 0, 5000, 'milliseconds'),
  sdkWholeNumber('OTEL_BSP_EXPORT_TIMEOUT', 1, 30000, 'milliseconds'),
];

/** Every contradiction start-up refuses, in the order its lines come (after every refused value's). */
const CONTRADICTIONS: readonly Contradiction[] = [
  // A pool with fewer sockets than the bulkhead admits calls would queue calls inside undici with their attempt
  // deadline running, so one caller's hanging calls (up to its share) could hold every socket and make other callers'
  // calls time out there, which the breaker would then count as a second caller's failures.
  {
    settings: ['UPSTREAM_CONNECTIONS', 'UPSTREAM_MAX_CONCURRENT'],
    refusal({ upstream: { connections, maxConcurrent } }) {
      if (connections === undefined || connections >= maxConcurrent) return undefined;
      return `UPSTREAM_CONNECTIONS=${connections} is fewer than UPSTREAM_MAX_CONCURRENT=${maxConcurrent}: calls would wait for a socket with their deadline running; unset UPSTREAM_CONNECTIONS or set it to at least ${maxConcurrent}.`;
    },
  },
  // A caller's share set larger than the bulkhead would be no share at all.
  notAbove(
    'UPSTREAM_MAX_CONCURRENT_PER_CALLER',
    'UPSTREAM_MAX_CONCURRENT',
    ({ upstream }) => [upstream.maxConcurrentPerCaller ?? DEFAULT_MAX_CONCURRENT_PER_CALLER, upstream.maxConcurrent],
    "a caller's share cannot be larger than the bulkhead",
  ),
  notAbove(
    'UPSTREAM_RETRY_BASE_DELAY_MS',
    'UPSTREAM_RETRY_MAX_DELAY_MS',
    ({ upstream }) => [upstream.retryBaseDelayMs, upstream.retryMaxDelayMs],
    'the first retry pause cannot be longer than the longest',
  ),
  notAbove(
    'LIVE_MAX_SUBSCRIPTIONS_PER_CALLER',
    'LIVE_MAX_SUBSCRIPTIONS',
    ({ live }) => [live.maxSubscriptionsPerCaller, live.maxSubscriptions],
    'one caller can never hold more live subscriptions than the whole process',
  ),
  // The second depth limit counts every field of an operation that asks for introspection: data fields could never
  // reach a first one above it. With INTROSPECTION=false no request is held to the second (src/pipeline/operation-limits.ts).
  {
    settings: ['OPERATION_MAX_DEPTH', 'OPERATION_MAX_INTROSPECTION_DEPTH', 'INTROSPECTION'],
    refusal({ operations: { maxDepth, maxIntrospectionDepth }, security }, env) {
      if (maxDepth <= maxIntrospectionDepth || !security.introspection) return undefined;
      return `OPERATION_MAX_DEPTH=${maxDepth}${byDefault(env, 'OPERATION_MAX_DEPTH')} is above OPERATION_MAX_INTROSPECTION_DEPTH=${maxIntrospectionDepth}${byDefault(env, 'OPERATION_MAX_INTROSPECTION_DEPTH')}: an operation that asks for introspection is held to the second over all its fields, data fields included. Lower OPERATION_MAX_DEPTH or raise OPERATION_MAX_INTROSPECTION_DEPTH.`;
    },
  },
  { settings: ['METRICS', 'METRICS_PORT', 'PORT', 'METRICS_HOST', 'HOST'], refusal: metricsPortIsApiPort },
  {
    settings: ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED'],
    refusal: otlpOverGrpc,
  },
  ...SDK_VARIABLES,
  { settings: ['REDIS_URL', 'REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'], refusal: redisTlsRefusal },
  // Without the secret, keys would have to carry the token or a plain hash of it, which anyone reading Redis could test.
  {
    settings: ['REDIS_URL', 'REDIS_KEY_SECRET'],
    refusal: ({ sharedState }) =>
      sharedState.redisUrl && !sharedState.redisKeySecret
        ? 'REDIS_URL is set but REDIS_KEY_SECRET is not: set it to the same random string of at least 32 characters on every replica.'
        : undefined,
  },
];

/**
 * The demo answers anyone holding the published demo token: a production deployment that forgot UPSTREAM_URL must not
 * come up serving it. Checked only for a gateway that serves (src/server/process.ts): the in-process harnesses read
 * the same configuration without one.
 */
const UPSTREAM_REQUIRED_IN_PRODUCTION: Contradiction = {
  settings: ['UPSTREAM_URL'],
  refusal: ({ upstream }, env) =>
    env.NODE_ENV === 'production' && upstream.url === undefined
      ? 'UPSTREAM_URL is not set: with NODE_ENV=production the gateway needs the executions API to serve (UPSTREAM_URL=https://api.example.com). The built-in demo data runs only when NODE_ENV is not production.'
      : undefined,
};

/**
 * What is wrong with the trusted-documents manifest under these settings, as start-up's line (`schema/persisted-documents.json: …`),
 * or undefined when nothing is (src/pipeline/trusted-documents.ts, `manifestRefusal`).
 */
export type ManifestCheck = (settings: Pick<SecurityConfig, 'introspection'> & { limits: OperationsConfig }) => string | undefined;

/**
 * What the operation limits would refuse of the operations the gateway tells clients to send (the typed client's, and
 * the standard introspection query while INTROSPECTION is on), as start-up's lines naming each setting and the least it
 * takes, or undefined when they refuse none (src/pipeline/operation-limits.ts, `ownOperationsRefusal`).
 */
export type LimitsCheck = (settings: { introspection: boolean; limits: OperationsConfig }) => string | undefined;

/** The names of the operation limits, for the contradictions that compare them. */
const OPERATION_LIMIT_SETTINGS = Object.values(SETTINGS.operations).map((each) => each.env);

/**
 * A limit set so low that the typed client's own operations (or GraphiQL's and codegen's introspection) are refused on
 * every request would come up answering them GRAPHQL_VALIDATION_FAILED: refused at start instead, naming the setting.
 */
function limitsNeeded(check: LimitsCheck): Contradiction {
  return {
    settings: [...OPERATION_LIMIT_SETTINGS, 'INTROSPECTION', 'TRUSTED_DOCUMENTS'],
    // TRUSTED_DOCUMENTS=only refuses introspection before it is parsed: no limit of it is ever reached.
    refusal: ({ security, operations }) => check({ introspection: security.introspection && security.trustedDocuments !== 'only', limits: operations }),
  };
}

/**
 * The manifest TRUSTED_DOCUMENTS needs, read with the settings rather than by the gateway it configures, so a manifest's
 * mistake comes in the same start as the settings' own, not in the next one, once they are mended. Not read when
 * TRUSTED_DOCUMENTS is refused (its own line says what to fix, once: whether a manifest is needed is not known) or
 * `off`. A refused INTROSPECTION holds the documents to the rules that take introspection: the manifest's other
 * mistakes still come now.
 */
function manifestNeeded(check: ManifestCheck, limitsRefused: () => boolean = () => false): Contradiction {
  return {
    // A refused limit waits for the next start: the documents would be held to a value never taken.
    settings: ['TRUSTED_DOCUMENTS', ...OPERATION_LIMIT_SETTINGS],
    refusal: ({ security, operations }) => {
      if (security.trustedDocuments === 'off') return undefined;
      // A limit the typed client's documents do not fit has its own line naming it: the manifest, which holds those
      // documents, is held to the defaults, or it would say the same again and advise `npm run generate`, which
      // cannot help.
      const limits = limitsRefused() ? defaultOperationLimits() : operations;
      // zod hands on what it had read of a refused value (the text `yes`), not a boolean.
      return check({ introspection: typeof security.introspection === 'boolean' ? security.introspection : true, limits });
    },
  };
}

/** GROUPS_SCHEMA with each contradiction as a refinement of the whole, skipped when one of its settings was refused. */
function withContradictions(contradictions: readonly Contradiction[], env: Env) {
  return contradictions.reduce(
    (schema, { settings, refusal }) =>
      schema.superRefine(
        (groups, context) => {
          const line = refusal(groups, env);
          if (line !== undefined) context.addIssue({ code: 'custom', message: line });
        },
        // zod runs a refinement of the object even when one of its values was refused, on what it had read of that value.
        { when: ({ issues }) => !issues.some((issue) => settings.includes(settingAt(issue.path ?? [])?.env ?? '')) },
      ),
    GROUPS_SCHEMA,
  );
}

const NODE_ENVS = ['production', 'development', 'test'] as const;

/**
 * NODE_ENV as read, strictly, or the line refusing it: `prod` or `Production` once started the
 * demo upstream with its public token. Lower case only, since graphql-js and other libraries
 * compare it to 'production' themselves: `Production` read as production here would leave them
 * in development mode.
 */
function nodeEnv(raw: string | undefined): { value: (typeof NODE_ENVS)[number] | undefined } | { refusal: string } {
  if (raw === undefined || raw === '') return { value: undefined };
  if ((NODE_ENVS as readonly string[]).includes(raw)) return { value: raw as (typeof NODE_ENVS)[number] };
  return { refusal: `Invalid NODE_ENV=${JSON.stringify(textPrefix(raw, 40))}: must be ${NODE_ENVS.join(', ').replace(/, (?=[^,]*$)/, ' or ')} (lower case), or unset.` };
}

/**
 * Reads and validates configuration; throws one ConfigError whose message is one line per refusal, all of them at once
 * (a manifest with several mistakes is mended in one deploy, not one each): NODE_ENV's, then every refused value's in
 * the order of the tables (a value with several mistakes, one line for each), then every contradiction between values
 * that were each taken. `upstreamRequiredInProduction`: refuse NODE_ENV=production without UPSTREAM_URL too.
 * `limits`: refuse operation limits that would refuse the gateway's own operations too (LimitsCheck).
 * `manifest`: with TRUSTED_DOCUMENTS, read the manifest and refuse what is wrong with it too, last.
 */
export function readConfig(
  env: Env = process.env,
  { upstreamRequiredInProduction = false, manifest, limits }: { upstreamRequiredInProduction?: boolean; manifest?: ManifestCheck; limits?: LimitsCheck } = {},
): GatewayConfig {
  const mode = nodeEnv(env.NODE_ENV);
  let limitsRefused = false;
  const limitsChecked: LimitsCheck | undefined = limits && ((settings) => {
    const refusal = limits(settings);
    limitsRefused = refusal !== undefined;
    return refusal;
  });
  const contradictions = [
    ...CONTRADICTIONS,
    ...(upstreamRequiredInProduction ? [UPSTREAM_REQUIRED_IN_PRODUCTION] : []),
    // Before the manifest's, which reads whether it refused.
    ...(limitsChecked ? [limitsNeeded(limitsChecked)] : []),
    ...(manifest ? [manifestNeeded(manifest, () => limitsRefused)] : []),
  ];
  const parsed = withContradictions(contradictions, env).safeParse(rawGroups(env));
  const refused = [...('refusal' in mode ? [mode.refusal] : []), ...(parsed.error?.issues.map((issue) => refusalLine(issue, env)) ?? [])];
  if (!parsed.success || refused.length > 0) throw new ConfigError(refused.join('\n'));
  const production = 'value' in mode && mode.value === 'production';
  const { server, upstream, cache, security, operations, live, sharedState, telemetry } = parsed.data;
  return {
    server,
    upstream: {
      ...upstream,
      // Checked above never to be fewer than the bulkhead.
      connections: upstream.connections ?? upstream.maxConcurrent,
      // Unset, the default stays as it always was: a bulkhead lowered below it then bounds each caller by itself.
      maxConcurrentPerCaller: upstream.maxConcurrentPerCaller ?? DEFAULT_MAX_CONCURRENT_PER_CALLER,
    },
    cache,
    security: { ...security, fieldSuggestions: security.fieldSuggestions ?? (!production && security.introspection && security.trustedDocuments !== 'only'), corsOrigins: security.corsOrigins ?? [] },
    operations,
    live,
    sharedState,
    // As the OpenTelemetry specification has it: OTEL_SERVICE_NAME, else the `service.name` of OTEL_RESOURCE_ATTRIBUTES
    // (what the OpenTelemetry Operator injects), else the default. The default used to win over the operator's
    // `service.name=checkout-gateway`, and every span came out as `execution-gateway`, without a word.
    telemetry: isSet(env, 'OTEL_SERVICE_NAME') ? telemetry : { ...telemetry, otelServiceName: resourceServiceName(telemetry.otelResourceAttributes) ?? telemetry.otelServiceName },
    production,
  };
}

/** A `service.name` OTEL_RESOURCE_ATTRIBUTES gives that is no blank. */
function resourceServiceName(attributes: Record<string, string> | undefined): string | undefined {
  const name = attributes?.['service.name'];
  return name !== undefined && name.trim() !== '' ? name : undefined;
}

/** A variable the environment sets that is no setting but one edit or two from a setting's name: most likely a misspelling of it. */
export interface NearMiss {
  /** The variable as set. */
  variable: string;
  /** The setting it is closest to. */
  setting: string;
}

/**
 * Set by the primary for its workers (src/server/process.ts), so they know the upstream is the demo one: not a
 * setting, the primary's word to its own processes.
 */
export const DEMO_UPSTREAM_MARKER = 'EXECUTION_GATEWAY_DEMO_UPSTREAM';

/** Whether this process's primary started the demo upstream (DEMO_UPSTREAM_MARKER). */
export function servesDemoUpstream(env: Record<string, string | undefined> = process.env): boolean {
  return env[DEMO_UPSTREAM_MARKER] === '1';
}

/**
 * Names other software reads Redis's address and credentials from (ioredis's own options, Bull, most
 * frameworks' examples): set here, each was ignored in silence and the replica shared nothing. REDIS_URL
 * holds them all (`redis://user:password@host:port/db`).
 */
const REDIS_ELSEWHERE = new Set(['REDIS_HOST', 'REDIS_PORT', 'REDIS_PASSWORD', 'REDIS_USERNAME', 'REDIS_USER', 'REDIS_DB']);

/**
 * Variables of `env` that name no setting but come within one edit of one (two from 12 characters on; a
 * swap of two neighbours is one), compared in upper case: `METRIC_PORT`, `UPSTREAM_TIMEOUTMS`,
 * `OTEL_EXPORTER_OTLP_ENDPIONT`, `port`; or that have a setting's letters (lettersOf): `LOGLEVEL`,
 * `SHUTDOWN_GRACE_SECONDS`; or that other software reads Redis from (REDIS_ELSEWHERE: REDIS_URL).
 * Left alone, each was ignored in silence and its default used.
 * Only names of 6 characters or more (`WORKER`, `METRIC`) or of a setting's own letters in another case are read,
 * so `HOME` is no `HOST`. Never the values: a misspelt `REDIS_KEY_SECRET` is still a secret.
 */
export function nearMissSettings(env: Record<string, string | undefined> = process.env): NearMiss[] {
  const names = settingNames();
  const known = new Set(names);
  const byLetters = new Map(names.map((name) => [lettersOf(name), name]));
  const found: NearMiss[] = [];
  for (const variable of Object.keys(env)) {
    if (known.has(variable) || env[variable] === undefined) continue;
    // Kubernetes' own `<SERVICE>_PORT` of a Service in the namespace (a Service named redis sets REDIS_PORT): no
    // misspelling, and its warning told an operator whose REDIS_URL was right to fix it.
    if (SERVICE_LINK.test(env[variable])) continue;
    const upper = variable.toUpperCase();
    if (known.has(upper)) {
      found.push({ variable, setting: upper });
      continue;
    }
    if (REDIS_ELSEWHERE.has(upper)) {
      found.push({ variable, setting: 'REDIS_URL' });
      continue;
    }
    const sameLetters = upper.length >= 6 ? byLetters.get(lettersOf(upper)) : undefined;
    if (sameLetters) {
      found.push({ variable, setting: sameLetters });
      continue;
    }
    // Short names are left alone (`HOME` is no `HOST`), not names without an underscore: `WORKER=4` was ignored in
    // silence, and the gateway ran one process.
    if (upper.length < 6) continue;
    const allowed = upper.length >= 12 ? 2 : 1;
    let best: { name: string; distance: number } | undefined;
    for (const name of names) {
      if (Math.abs(name.length - upper.length) > allowed) continue;
      const distance = editDistance(upper, name, allowed);
      if (distance <= allowed && (!best || distance < best.distance)) best = { name, distance };
    }
    if (best) found.push({ variable, setting: best.name });
  }
  return found;
}

/**
 * The warning for an attempt's deadline longer than a request's whole budget (`UPSTREAM_TIMEOUT_MS` over
 * `REQUEST_BUDGET_MS`), none when it is not: taken, and a query's attempt was cut at the budget with a message naming
 * the budget, while only live polls (which have no request budget) waited the whole timeout. Not refused: that is
 * what it does for live polls.
 */
export function timeoutPastBudget(upstream: Pick<UpstreamConfig, 'timeoutMs' | 'requestBudgetMs'>): string | undefined {
  if (upstream.timeoutMs <= upstream.requestBudgetMs) return undefined;
  return `UPSTREAM_TIMEOUT_MS (${upstream.timeoutMs}) is longer than REQUEST_BUDGET_MS (${upstream.requestBudgetMs}): a query's attempt is cut at the budget, and only live polls wait the whole timeout; raise REQUEST_BUDGET_MS with it, or lower UPSTREAM_TIMEOUT_MS`;
}

/**
 * Settings that are set (and taken) but that nothing reads as configured, because another setting leaves their part
 * off: one warning each at start, `variable` the one not read, never its value. They were ignored in silence:
 * `ACCESS_LOG_SAMPLE_PERCENT=10` under the default `ACCESS_LOG=all` still logged every request, `METRICS_PORT` with
 * `METRICS=api` served `/metrics` on the API's port, and `OTEL_SERVICE_NAME` or `OTEL_TRACES_SAMPLER_ARG` without an
 * endpoint exported nothing. REDIS_KEY_SECRET without REDIS_URL has its own warning (src/server/process.ts). Tracing
 * turned off on purpose (`OTEL_SDK_DISABLED=true`) leaves its settings unread without a word.
 */
export function unusedSettings(config: GatewayConfig, env: Record<string, string | undefined> = process.env): Array<{ variable: string; message: string }> {
  const { telemetry, sharedState } = config;
  const found: Array<{ variable: string; message: string }> = [];
  const unread = (variables: readonly string[], why: string) => {
    for (const variable of variables) if (isSet(env, variable)) found.push({ variable, message: `${variable} is set but not read: ${why}` });
  };
  if (telemetry.accessLog !== 'sampled') {
    unread(['ACCESS_LOG_SAMPLE_PERCENT'], `ACCESS_LOG is ${telemetry.accessLog}${byDefault(env, 'ACCESS_LOG')}, and only ACCESS_LOG=sampled logs a share of the error-free requests`);
  }
  if (telemetry.metrics !== 'port') {
    unread(['METRICS_PORT', 'METRICS_HOST'], `METRICS is ${telemetry.metrics}, and only METRICS=port serves /metrics on a port of its own`);
  }
  if (sharedState.redisUrl === undefined) {
    unread(['REDIS_KEY_PREFIX', 'REDIS_COMMAND_TIMEOUT_MS', 'REDIS_CACHE_MAX_VALUE_BYTES', 'LIVE_LEASE_MS', 'REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'], 'REDIS_URL is not set, so this process shares nothing with other replicas');
  }
  if (!endpointSet(config) && !telemetry.otelSdkDisabled) {
    unread(
      ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_GRAPHQL_DOCUMENT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'],
      'tracing is off, as neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; set one to export spans',
    );
  } else if (tracingOn(config) && !telemetry.otelSampler.endsWith('traceidratio')) {
    // `parentbased_always_on` with a ratio of 0.1 sampled every new trace, where 10% was meant.
    unread(['OTEL_TRACES_SAMPLER_ARG'], `OTEL_TRACES_SAMPLER is ${telemetry.otelSampler}, which takes no ratio; set it to parentbased_traceidratio (or traceidratio) to sample a share of new traces`);
  }
  return found;
}

/** Bytes of a `.env` file read for the names it sets: far more than any real one holds. */
const ENV_FILE_BYTES = 256 * 1024;

/**
 * The settings a `.env` file in `directory` sets that the environment lacks, or undefined (no such file, or none).
 * The gateway reads its environment only, no `.env` (many Node services load one themselves, and `.gitignore` keeps
 * one out of the repository): UPSTREAM_URL written there was ignored in silence, and `npm start` served the demo
 * data. Names only, never a value, which may be a secret. Warned of once at start (src/server/process.ts).
 */
export function unloadedEnvFile(directory: string = process.cwd(), env: Record<string, string | undefined> = process.env): { file: string; settings: string[] } | undefined {
  const file = join(directory, '.env');
  let text: string;
  try {
    // A regular file only: opening a FIFO named .env would block the start for good.
    if (!statSync(file).isFile()) return undefined;
    const fd = openSync(file, 'r');
    try {
      const bytes = Buffer.alloc(ENV_FILE_BYTES);
      text = bytes.toString('utf8', 0, readSync(fd, bytes, 0, ENV_FILE_BYTES, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const known = new Set(settingNames());
  const settings = new Set<string>();
  for (const [, name] of text.matchAll(/^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=/gm)) {
    if (known.has(name!) && (env[name!] === undefined || env[name!] === '')) settings.add(name!);
  }
  return settings.size > 0 ? { file, settings: [...settings] } : undefined;
}

/**
 * Variables other software reads that a process like this one is often given, which the gateway does not read, each
 * with what it does instead (one warning line each at start, never the value, which may hold a password):
 * HTTP_PROXY and the like (any case), since undici's pool connects to UPSTREAM_URL directly, and so do the clients
 * of Redis and of the collector; OTEL_PROPAGATORS naming anything but W3C Trace Context (the only `traceparent` read);
 * OTEL_TRACES_EXPORTER other than `otlp`, as `none` or `console` read as tracing off or to stdout, and did neither.
 */
export function unreadVariables(env: Record<string, string | undefined> = process.env): Array<{ variable: string; message: string }> {
  const found: Array<{ variable: string; message: string }> = [];
  for (const [variable, value] of Object.entries(env)) {
    if (value === undefined || value.trim() === '') continue;
    const upper = variable.toUpperCase();
    if (PROXY_VARIABLES.has(upper)) {
      found.push({ variable, message: `${variable} is not read: the gateway connects to UPSTREAM_URL, Redis and the OpenTelemetry collector directly, through no proxy` });
    } else if (upper === 'OTEL_PROPAGATORS' && value.split(',').some((name) => !['tracecontext', 'baggage'].includes(name.trim()))) {
      found.push({ variable, message: `${variable} is not read: the gateway reads and sends W3C Trace Context (\`traceparent\`) only` });
    } else if (upper === 'OTEL_TRACES_EXPORTER' && value.trim() !== 'otlp') {
      found.push({
        variable,
        message: `${variable} is not read: spans go over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; OTEL_SDK_DISABLED=true turns tracing off`,
      });
    }
  }
  return found;
}

/** Proxy variables curl, npm and most HTTP clients read, in upper case. */
const PROXY_VARIABLES = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY']);

/** A unit at the end of a variable's name, as other software spells its durations. */
const UNIT_SUFFIX = /_(?:MS|MILLIS|MILLISECONDS|S|SEC|SECS|SECONDS)$/;

/**
 * A name's letters, without underscores or a unit at its end: `LOGLEVEL` and `UPSTREAMURL` (the underscores
 * left out), `UPSTREAM_TIMEOUT` and `SHUTDOWN_GRACE_SECONDS` (another unit, or none) have a setting's.
 */
function lettersOf(name: string): string {
  return name.replace(UNIT_SUFFIX, '').replaceAll('_', '');
}

/**
 * Edits (insert, delete, replace, swap of neighbours) between `a` and `b`, or more than `limit` once past it.
 * Hand-written: a few lines, run once at start, where a package would be a dependency for this alone.
 */
function editDistance(a: string, b: string, limit: number): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      row.push(value);
      least = Math.min(least, value);
    }
    if (least > limit) return limit + 1;
    before = previous;
    previous = row;
  }
  return previous[b.length]!;
}
