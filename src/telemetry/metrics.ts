/**
 * Prometheus metrics, with prom-client: the GraphQL side from Yoga's
 * Prometheus plugin (operations, phase durations, errors by code, HTTP
 * duration), the gateway's own (upstream attempts, retries, circuit, bulkhead,
 * cache, shared calls, live subscriptions and pollers, data warnings, spans
 * dropped before export) and
 * Node's default process metrics (event-loop lag included). README
 * "Operating → Metrics" lists every series.
 *
 * Labels are bounded: no id, token, URL or free-form text ever becomes one.
 * An operation's name is a label only when it is one of the typed client's
 * operations (schema/operations/, which the trusted-documents manifest holds);
 * any other name counts as `other`, an unnamed operation as `anonymous`.
 *
 * One registry per gateway instance, so tests (and several instances in one
 * process) never share counts. Counts the components keep anyway (cache hits,
 * shared calls, live counts) are read when scraped; what happens per upstream
 * attempt is pushed, as a histogram needs each observation.
 */
import { createCounter, createHistogram, usePrometheus, type FillLabelsFnParams } from '@graphql-yoga/plugin-prometheus';
import { getOperationAST, Kind, type DocumentNode, type ExecutionResult, type GraphQLError, type OperationDefinitionNode } from 'graphql';
import { isAsyncIterable, maskError, type Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { buildInfo } from '../build-info.js';
import * as operations from '../client/generated.js';
import { ERROR_CODES, ErrorCode, MASKED_MESSAGE, WarningCode } from '../errors.js';
import type { LiveExecutions } from '../live/live-executions.js';
import type { GatewayServerContext } from '../pipeline/gateway.js';
import type { WebSocketEdge } from '../server/websocket.js';
import type { RedisStore } from '../shared-state/redis-store.js';
import type { LiveLeases } from '../shared-state/live-leases.js';
import type { SharedCache } from '../shared-state/shared-cache.js';
import type { AttemptWatcher, ExecutionsClient, Refusal } from '../upstream/executions-client.js';
import { CIRCUIT_STATE_NAMES, type RetrySkip } from '../upstream/resilience.js';
import type { SharedExecutions } from '../upstream/shared-executions.js';

/** Names of the typed client's operations: the only names that become labels. */
export const KNOWN_OPERATION_NAMES: ReadonlySet<string> = new Set(
  Object.values(operations as Record<string, unknown>)
    .filter((value): value is DocumentNode => typeof value === 'object' && value !== null && (value as DocumentNode).kind === Kind.DOCUMENT)
    .flatMap((document) => document.definitions)
    .flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : [])),
);

/** The longest operation name a log line or a span carries: a client may send a name of any length. */
export const MAX_OPERATION_NAME_LENGTH = 100;

const KNOWN_LABELS: ReadonlyMap<string, string> = new Map([...KNOWN_OPERATION_NAMES].map((name) => [name, name]));

/** An operation's name as a label: known names as they are, any other `other`, none `anonymous`. */
function operationNameLabel(name: string | undefined): string {
  if (!name || name === 'Anonymous') return 'anonymous';
  // The list's own copy: prom-client keeps a label value for the process, and the request's may be cut from its text.
  return KNOWN_LABELS.get(name) ?? 'other';
}

/** An error's `extensions.code` as a label, as the client will see it after masking (src/pipeline/error-codes.ts). */
export function errorCodeLabel(error: GraphQLError | undefined, phase: string | undefined): string {
  const code = error?.extensions?.code;
  if (typeof code === 'string' && ERROR_CODES.has(code)) return code;
  if (phase === 'parse') return ErrorCode.GRAPHQL_PARSE_FAILED;
  if (phase === 'validate') return ErrorCode.GRAPHQL_VALIDATION_FAILED;
  // Masking keeps a GraphQLError that wraps no other error (a variable graphql-js refused), and the codes step calls it BAD_REQUEST.
  if (error && maskError(error, MASKED_MESSAGE, false) === error) return ErrorCode.BAD_REQUEST;
  return ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * The operation a request runs: the one the client named, else, when it named
 * none, the document's only one. With no name sent the plugin passes
 * `Anonymous` or the document's first definition's name, a fragment's when the
 * document starts with one. A name the client sent that names no operation
 * runs none (OPERATION_RESOLUTION_FAILURE): taken for the document's only
 * operation, its request was labelled as a query that ran, under another name.
 */
function operationOf(document: DocumentNode | undefined, operationName: string | undefined): OperationDefinitionNode | undefined {
  if (!document) return undefined;
  const named = getOperationAST(document, operationName);
  if (named) return named;
  const first = document.definitions[0];
  const noneSent = operationName === undefined || operationName === 'Anonymous' || (first?.kind === Kind.FRAGMENT_DEFINITION && first.name.value === operationName);
  return noneSent ? (getOperationAST(document) ?? undefined) : undefined;
}

type OperationLabels = { operationType: string; operationName: string };

/**
 * Labels by document (Yoga's parser cache hands out one object per document
 * text) and operation name: every metric of a request asks, several times a
 * request, and the answer never changes.
 */
const labelsByDocument = new WeakMap<DocumentNode, Map<string | undefined, OperationLabels>>();

/** How many names `document`'s labels are kept under (tests: a name the client made up must not be one). */
export function labelNamesKept(document: DocumentNode): number {
  return labelsByDocument.get(document)?.size ?? 0;
}

/**
 * The labels of a request's operation. Kept only under no name, the name
 * @envelop/prometheus gives an unnamed operation (`Anonymous`), or a name of
 * one of the document's definitions (it passes the first's, a fragment's
 * too): any other name the client sends would make the cache grow without
 * bound.
 */
function keepsUnder(document: DocumentNode, name: string | undefined): boolean {
  return name === undefined || name === 'Anonymous' || document.definitions.some((definition) => 'name' in definition && definition.name?.value === name);
}

/**
 * The `operationName` the client sent, from the request's context (Yoga's `params`) when the plugin passes it: `null`
 * for none. The plugin's own name stands in the document's first operation for none, so a document of several
 * operations sent without a name, which runs none, was labelled as its first.
 */
function sentOperationName(context: unknown): string | null | undefined {
  const params = (context as { params?: { operationName?: unknown } } | undefined)?.params;
  if (!params) return undefined;
  return typeof params.operationName === 'string' ? params.operationName : null;
}

export const operationLabels = (params: FillLabelsFnParams, context?: unknown): OperationLabels => {
  const sent = sentOperationName(context);
  // With the name sent known, only the operation graphql-js picks by it, as it runs: none when it picks none. A
  // name, not a copy of `params`: the plugin asks several times a request (its phases, its request counter).
  const name = sent === undefined ? params.operationName : (sent ?? undefined);
  const { document } = params;
  const cached = document && labelsByDocument.get(document)?.get(name);
  if (cached) return cached;
  const operation = sent === undefined ? operationOf(document, name) : document && (getOperationAST(document, name) ?? undefined);
  const labels = {
    // A parsed document whose operation cannot be picked is `unknown`, not its first definition's type (the plugin's).
    operationType: operation?.operation ?? (document ? 'unknown' : (params.operationType ?? 'unknown')),
    operationName: operationNameLabel(operation ? operation.name?.value : name),
  };
  if (document && operation && keepsUnder(document, name)) {
    let byName = labelsByDocument.get(document);
    if (!byName) labelsByDocument.set(document, (byName = new Map()));
    byName.set(name, labels);
  }
  return labels;
};

/** Seconds, from 1 ms to 10 s: the range of a gateway request and of an upstream attempt. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A subscription's whole life, a second to LIVE_MAX_WATCH_MS (6 h): the plugin measures its subscribe phase to the stream's end. */
const WATCH_BUCKETS = [1, 10, 60, 300, 900, 1_800, 3_600, 10_800, 21_600];

/** What the gateway's own metrics read: the parts of one instance. */
export interface MetricSources {
  client: ExecutionsClient;
  executions: SharedExecutions;
  live: LiveExecutions;
  /** UPSTREAM_MAX_CONCURRENT and UPSTREAM_QUEUE: the bulkhead's size, which cockatiel reports as what is free. */
  bulkhead: { maxConcurrent: number; queue: number };
  /** With REDIS_URL: the connection and the shared cache. */
  shared?: { store: RedisStore; cache: SharedCache; leases: LiveLeases };
  /** With tracing on: the spans the process's batch processor dropped so far, its queue full (src/telemetry/tracing.ts `spansDropped`). */
  spansDropped?: () => number;
}

/** A counter fed by a count something else keeps: each scrape adds what it grew by. */
/** Why a live update heard through Redis was dropped (LiveLeases `dropped`). */
const DROPPED_REASONS = ['unsealed', 'replayed', 'stale'] as const;

function countedElsewhere(registry: Registry, name: string, help: string, read: () => number): Counter {
  let seen = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/**
 * A gauge set from `read` at each scrape. `aggregator`: how a cluster's scrape
 * joins the workers' values (prom-client's default: summed).
 */
function gaugeReadWhenScraped(registry: Registry, name: string, help: string, read: () => number, aggregator?: 'sum' | 'first'): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    ...(aggregator && { aggregator }),
    collect() {
      this.set(read());
    },
  });
}

/** Where the metrics are served: on METRICS_PORT, and on the API port with METRICS=api. */
export const METRICS_PATH = '/metrics';

/**
 * A counter, by one label, of running totals counted elsewhere (`read`: a reader per label value), read at
 * scrape time; every value exported from 0, so a rate over them has a baseline.
 */
function countedByLabel(registry: Registry, name: string, help: string, label: string, read: Record<string, () => number>): Counter {
  const seen: Record<string, number> = Object.fromEntries(Object.keys(read).map((value) => [value, 0]));
  return new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      for (const [value, readNow] of Object.entries(read)) {
        const now = readNow();
        this.inc({ [label]: value }, now - seen[value]!);
        seen[value] = now;
      }
    },
  });
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly #attempts: Counter<'outcome' | 'status' | 'attempt'>;
  readonly #retries: Counter;
  readonly #attemptSeconds: Histogram<'outcome'>;
  readonly #warnings: Counter<'code'>;
  readonly #answers: Counter<'method' | 'statusCode' | 'transport'>;

  /** `serveOnApi`: answer `/metrics` on the API port too (METRICS=api). */
  constructor(readonly serveOnApi: boolean) {
    collectDefaultMetrics({ register: this.registry });
    this.#attempts = new Counter({
      name: 'gateway_upstream_attempts_total',
      help: 'Upstream attempts, by outcome (OK or the error code it became), upstream status (2xx, 3xx, 4xx, 429, 5xx, or none without an answer) and attempt number (1: first try)',
      labelNames: ['outcome', 'status', 'attempt'],
      registers: [this.registry],
    });
    this.#retries = new Counter({
      name: 'gateway_upstream_retries_total',
      help: 'Upstream attempts that were retries of a failed one (sent to upstream)',
      registers: [this.registry],
    });
    this.#attemptSeconds = new Histogram({
      name: 'gateway_upstream_attempt_duration_seconds',
      help: 'Duration of upstream attempts, from sending to the last byte read, by outcome',
      labelNames: ['outcome'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
    this.#warnings = new Counter({
      name: 'gateway_data_warnings_total',
      help: 'Upstream values served as null or replaced (extensions.warnings), by code',
      labelNames: ['code'],
      registers: [this.registry],
    });
    for (const code of Object.values(WarningCode)) this.#warnings.inc({ code }, 0);
    this.#answers = new Counter({
      name: 'gateway_http_responses_total',
      help: "HTTP answers of the API port, the edge's own refusals included, by method (GET, POST, HEAD, OPTIONS, other: any other or none read), statusCode and transport (http, sse, ws: a WebSocket upgrade refused); not the answers of /health, /ready and /metrics, an OPTIONS that is no CORS preflight, a WebSocket upgrade taken, or a WebSocket's operations",
      labelNames: ['method', 'statusCode', 'transport'],
      registers: [this.registry],
    });
  }

  /**
   * Counts one HTTP answer of the API port (the access log tells of each, whatever ACCESS_LOG says): `method` as
   * the request line had it (undefined where none was read), `status` as sent.
   */
  answered(method: string | undefined, status: number | undefined, transport: string): void {
    this.#answers.inc({ method: method !== undefined && ANSWER_METHODS.has(method) ? method : 'other', statusCode: statusCodeLabel(status), transport });
  }

  /** Times and counts every upstream attempt; handed to the upstream client. */
  readonly attempts: AttemptWatcher = {
    start: ({ attempt }) => {
      const started = performance.now();
      // Counted as it is sent: a retry the circuit refused, or whose caller left during its pause, never was.
      if (attempt > 1) this.#retries.inc();
      return ({ outcome, status }) => {
        this.#attempts.inc({ outcome, status: statusLabel(status), attempt });
        this.#attemptSeconds.observe({ outcome }, (performance.now() - started) / 1000);
      };
    },
  };

  /** Counts a value served as null or replaced. */
  warning(code: string): void {
    this.#warnings.inc({ code });
  }

  /** The WebSocket edge's connections and its bound (WS_MAX_CONNECTIONS), read when scraped. */
  observeWebSockets(edge: Pick<WebSocketEdge, 'open' | 'boundCounts' | 'tooManyMessages' | 'tooManyUpgrades'>): void {
    gaugeReadWhenScraped(this.registry, 'gateway_websocket_connections', 'WebSocket connections open (bound: WS_MAX_CONNECTIONS)', () => edge.open);
    countedByLabel(
      this.registry,
      'gateway_websocket_bound_reached_total',
      "Upgrades that met WS_MAX_CONNECTIONS, by outcome: caller_share (a closing or idle connection of the caller holding the most past its CALLER_SHARE_PERCENT of WS_MAX_CONNECTIONS was dropped for it, 1013), made_room (none such, and a connection upstream never served, closing or idle, was dropped, 1013), refused (503: none to drop)",
      'outcome',
      { made_room: () => edge.boundCounts.madeRoom, caller_share: () => edge.boundCounts.callerShare, refused: () => edge.boundCounts.refused },
    );
    countedElsewhere(
      this.registry,
      'gateway_websocket_too_many_messages_total',
      'WebSocket connections closed (1008) for sending more than WS_MAX_MESSAGES_PER_SECOND messages a second',
      () => edge.tooManyMessages,
    );
    countedElsewhere(
      this.registry,
      'gateway_websocket_too_many_upgrades_total',
      'WebSocket upgrades refused (429) past their client address\'s WS_MAX_UPGRADES_PER_SECOND (in bursts of WS_UPGRADE_BURST)',
      () => edge.tooManyUpgrades,
    );
  }

  /** The gauges and counters read from the instance's parts when scraped. */
  observe({ client, executions, live, bulkhead, shared, spansDropped }: MetricSources): void {
    const registers = [this.registry];
    new Gauge({
      name: 'gateway_build_info',
      help: 'Always 1; its labels name the build this process runs (version, and the git commit or "unknown")',
      labelNames: ['version', 'commit'],
      registers,
      // Every worker runs the same build: their 1s are not summed.
      aggregator: 'first',
    }).set({ version: buildInfo.version, commit: buildInfo.commit ?? 'unknown' }, 1);
    const { policies } = client;
    const skipped = new Counter({
      name: 'gateway_upstream_retries_skipped_total',
      help: 'Retryable upstream failures with attempts left that got no retry: the retry budget was spent (budget), or the circuit refused the retry (circuit_open)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of RETRY_SKIPS) skipped.inc({ reason }, 0);
    policies.onRetrySkipped((reason) => skipped.inc({ reason }));
    const opened = new Counter({ name: 'gateway_upstream_circuit_opened_total', help: 'Times the upstream circuit opened', registers });
    policies.breaker.onBreak(() => opened.inc());
    new Gauge({
      name: 'gateway_upstream_circuit_state',
      help: 'Upstream circuit state: 1 for the current one (closed, open, half_open, isolated)',
      labelNames: ['state'],
      registers,
      aggregator: 'sum',
      collect() {
        const current = policies.circuitState();
        for (const state of CIRCUIT_STATE_NAMES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    gaugeReadWhenScraped(
      this.registry,
      'gateway_upstream_in_flight',
      'Upstream calls running now (bulkhead slots taken)',
      () => bulkhead.maxConcurrent - policies.bulkhead.executionSlots,
    );
    gaugeReadWhenScraped(
      this.registry,
      'gateway_upstream_body_bytes_in_flight',
      'Bytes of upstream bodies held now, from when each size is known until the body is parsed (bound: UPSTREAM_MAX_BYTES_IN_FLIGHT)',
      () => client.bodies.charged,
    );
    gaugeReadWhenScraped(
      this.registry,
      'gateway_upstream_queued',
      'Upstream calls waiting for a bulkhead slot',
      () => bulkhead.queue - policies.bulkhead.queueSlots,
    );
    gaugeReadWhenScraped(
      this.registry,
      'gateway_upstream_caller_queued',
      "Upstream calls waiting in their caller's share (UPSTREAM_MAX_CONCURRENT_PER_CALLER reached), taking no bulkhead slot",
      () => policies.waitingInShares,
    );
    const refusals: Refusal[] = ['circuit_open', 'bulkhead_full', 'caller_share_full', 'caller_paused', 'execution_paused', 'bodies_in_flight', 'token_refused'];
    countedByLabel(
      this.registry,
      'gateway_upstream_refused_total',
      'Calls the gateway answered itself with UPSTREAM_UNAVAILABLE, by why (circuit_open, bulkhead_full, caller_share_full, caller_paused, execution_paused: without calling upstream; bodies_in_flight: upstream answered, and its body would have taken the bodies held past UPSTREAM_MAX_BYTES_IN_FLIGHT; token_refused: UNAUTHENTICATED or FORBIDDEN instead, upstream having refused the token within UPSTREAM_REFUSED_TOKEN_MS); circuit_open includes retries the circuit refused, also in gateway_upstream_retries_skipped_total',
      'by',
      Object.fromEntries(refusals.map((by) => [by, () => client.refusals[by]])),
    );
    const { counts } = executions;
    countedElsewhere(this.registry, 'gateway_cache_hits_total', 'Executions served from the cache of finished executions', () => counts.cacheHits);
    countedElsewhere(this.registry, 'gateway_cache_misses_total', 'Lookups the cache could not serve, nor the shared one behind it', () => counts.cacheMisses);
    countedElsewhere(this.registry, 'gateway_cache_evictions_total', 'Cache entries dropped to make room', () => counts.cacheEvictions);
    countedElsewhere(this.registry, 'gateway_upstream_shared_calls_total', 'Loads that joined an upstream call already in flight', () => counts.sharedCalls);
    // Per resource, never per caller: a caller's key as a label would grow without bound (and name its token's hash).
    countedByLabel(
      this.registry,
      'gateway_caller_share_reached_total',
      "Times a caller was held to its share (CALLER_SHARE_PERCENT), by resource: cache (an entry stored into a full cache made room from the caller's own), pollers (a watch of one more execution refused, TOO_MANY_SUBSCRIPTIONS), poll_slots (a poll waited for a slot its caller's share held), live_readings (its pollers held their share of LIVE_MAX_HELD_BYTES: a reading refused, ending its watches, or a watch of one more execution refused, TOO_MANY_SUBSCRIPTIONS), unread_subscriptions (its watches held their share of LIVE_MAX_UNREAD_SUBSCRIPTIONS: a watch of an execution not yet read refused, TOO_MANY_SUBSCRIPTIONS with retryAfterMs)",
      'resource',
      {
        cache: () => counts.cacheShareReached,
        pollers: () => live.shareCounts.pollers,
        poll_slots: () => live.shareCounts.pollSlots,
        live_readings: () => live.shareCounts.readings,
        unread_subscriptions: () => live.shareCounts.unreadSubscriptions,
      },
    );
    countedByLabel(
      this.registry,
      'gateway_live_bound_reached_total',
      "Times a live subscription met one of the process's bounds (TOO_MANY_SUBSCRIPTIONS), by bound: a watch refused at subscriptions (LIVE_MAX_SUBSCRIPTIONS), unread_subscriptions (LIVE_MAX_UNREAD_SUBSCRIPTIONS), caller_subscriptions (LIVE_MAX_SUBSCRIPTIONS_PER_CALLER) or pollers (LIVE_MAX_POLLERS, a watch of one more execution); readings (LIVE_MAX_HELD_BYTES): a reading refused, ending every watch of its execution, counted once. A caller held to its share is in gateway_caller_share_reached_total; a WebSocket connection's LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION is not counted here",
      'bound',
      {
        subscriptions: () => live.boundCounts.subscriptions,
        unread_subscriptions: () => live.boundCounts.unreadSubscriptions,
        caller_subscriptions: () => live.boundCounts.callerSubscriptions,
        pollers: () => live.boundCounts.pollers,
        readings: () => live.boundCounts.readings,
      },
    );
    gaugeReadWhenScraped(
      this.registry,
      'gateway_cache_bytes',
      'Approximate heap held by the cache, in bytes (CACHE_MAX_BYTES bounds it)',
      () => executions.cacheStats.bytes,
    );
    gaugeReadWhenScraped(this.registry, 'gateway_cache_entries', 'Executions in the cache', () => executions.cacheStats.entries);
    if (shared) this.#observeShared(shared);
    if (spansDropped) {
      countedElsewhere(
        this.registry,
        'gateway_trace_spans_dropped_total',
        'Spans dropped before export because the batch queue was full (OTEL_BSP_MAX_QUEUE_SIZE): the collector took them slower than they came; they are lost',
        spansDropped,
      );
    }
    gaugeReadWhenScraped(
      this.registry,
      'gateway_live_subscriptions',
      'Live subscriptions open (executionUpdates), over every transport',
      () => live.counts.subscriptions,
    );
    gaugeReadWhenScraped(this.registry, 'gateway_live_pollers', 'Pollers running: one per watched (caller, execution)', () => live.counts.pollers);
    gaugeReadWhenScraped(
      this.registry,
      'gateway_live_held_bytes',
      "Approximate heap the pollers' latest readings hold, in bytes (LIVE_MAX_HELD_BYTES bounds it)",
      () => live.heldBytes,
    );
    gaugeReadWhenScraped(
      this.registry,
      'gateway_live_unread_subscriptions',
      'Live subscriptions still waiting for upstream to answer their execution once (bound: LIVE_MAX_UNREAD_SUBSCRIPTIONS)',
      () => live.counts.unread,
    );
  }

  #observeShared({ store, cache, leases }: NonNullable<MetricSources['shared']>): void {
    // While Redis is away every replica polls for its own watchers and publishes nothing: a holder's count
    // stays until its next lease check, and said it polled for all while nobody did.
    gaugeReadWhenScraped(
      this.registry,
      'gateway_live_leases_held',
      'Watched (caller, execution) pairs this process polls for every replica (it holds their lease)',
      () => (store.up ? leases.held : 0),
    );
    // Summed over workers: how many of them reach Redis.
    gaugeReadWhenScraped(
      this.registry,
      'gateway_redis_up',
      'Workers that reach Redis (REDIS_URL): 0 to WORKERS; below WORKERS, the others serve from local state',
      () => (store.up ? 1 : 0),
      'sum',
    );
    // Summed over workers: how many of them see another secret.
    gaugeReadWhenScraped(
      this.registry,
      'gateway_redis_key_secret_mismatch',
      'Workers that see another replica on this Redis and REDIS_KEY_PREFIX using a different REDIS_KEY_SECRET (they share no cache and no lease): 0 to WORKERS, alert on > 0; expected only during a rotation',
      () => (store.keySecretMismatch ? 1 : 0),
      'sum',
    );
    const { counts } = cache;
    countedElsewhere(this.registry, 'gateway_shared_cache_hits_total', 'Executions served from the cache shared through Redis', () => counts.hits);
    countedElsewhere(this.registry, 'gateway_shared_cache_misses_total', 'Shared cache lookups that found nothing usable (Redis errors included)', () => counts.misses);
    countedElsewhere(
      this.registry,
      'gateway_redis_errors_total',
      'Redis commands that failed or timed out: shared cache reads and writes, live lease commands (take, renew, give up, publish, subscribe) and the key secret check',
      () => counts.errors + leases.errors + store.keyCheckErrors,
    );
    countedElsewhere(this.registry, 'gateway_shared_cache_too_large_total', 'Executions kept out of the shared cache by REDIS_CACHE_MAX_VALUE_BYTES', () => counts.tooLarge);
    // Any of these says something other than this fleet's replicas publishes on its channels (or clocks are apart).
    const dropped = leases.dropped;
    const seen: Record<keyof typeof dropped, number> = { unsealed: 0, replayed: 0, stale: 0 };
    new Counter({
      name: 'gateway_live_updates_dropped_total',
      help: "Live updates heard on a pair's Redis channel and dropped unread, by reason: unsealed (no valid seal for that channel under REDIS_KEY_SECRET: not a replica's), replayed (a replica's, heard before), stale (a failure or outage notice sent over 30 s before)",
      labelNames: ['reason'],
      registers: [this.registry],
      collect() {
        for (const reason of DROPPED_REASONS) {
          if (dropped[reason] > seen[reason]) this.inc({ reason }, dropped[reason] - seen[reason]);
          seen[reason] = dropped[reason];
        }
      },
    });
  }

  /** Yoga's Prometheus plugin, configured so every label is bounded. */
  plugin(): Plugin {
    const registry = this.registry;
    const histogram = <Phase>(name: string, help: string, buckets = DURATION_BUCKETS) =>
      createHistogram<Phase, 'operationType' | 'operationName'>({ registry, histogram: { name, help, labelNames: ['operationType', 'operationName'], buckets }, fillLabelsFn: operationLabels });
    const errors = createCounter<'parse' | 'validate' | 'context' | 'execute' | 'subscribe', 'operationType' | 'operationName' | 'phase' | 'code'>({
      registry,
      counter: {
        name: 'graphql_envelop_error_result',
        help: 'Errors in results, by extensions.code and the phase that raised them',
        labelNames: ['operationType', 'operationName', 'phase', 'code'],
      },
      fillLabelsFn: (params: FillLabelsFnParams, context: unknown) => ({
        ...operationLabels(params, context),
        phase: params.errorPhase ?? 'unknown',
        code: errorCodeLabel(params.error, params.errorPhase),
      }),
      // Subscriptions are counted by `subscriptionErrors` below: the plugin loses the error a stream ends with.
      phases: ['parse', 'validate', 'context', 'execute'],
    });
    /** A subscription's errors: in a refused start, in its updates, and the one its stream ends with (phase `subscribe`). */
    const subscriptionErrors: Plugin = {
      onSubscribe({ args }) {
        const labels = operationLabels({ document: args.document, operationName: args.operationName ?? undefined });
        const count = (error: unknown) => errors.counter.inc({ ...labels, phase: 'subscribe', code: errorCodeLabel(error as GraphQLError, 'subscribe') });
        const countResult = ({ result }: { result: ExecutionResult }) => result.errors?.forEach(count);
        return {
          onSubscribeResult: ({ result }) => (isAsyncIterable(result) ? { onNext: countResult } : countResult({ result })),
          onSubscribeError: ({ error }) => count(error),
        };
      },
    };
    /**
     * Errors of a request that the plugin's phases never count, by their code: refused before its document was
     * parsed (a trusted-documents refusal, no document at all, an operation the WebSocket edge refused), phase `request`; or parsed and then refused
     * because `operationName` picks no operation of it (OPERATION_RESOLUTION_FAILURE, thrown after parsing by
     * src/pipeline/error-codes.ts, so it never reaches the validation the plugin counts from), phase `parse`. A
     * fleet refusing every request of a stale frontend showed nothing otherwise. Named by the `operationName` sent,
     * as a label (a known name, `other` or `anonymous`), as the access line and the span name it: counted as
     * `anonymous`, a rollout of TRUSTED_DOCUMENTS=only filled that series with the named operations of stale
     * frontends (the name is kept in onParams, a WeakMap entry per request that sends one, dropped as it is read).
     * Phase `parse` by code rather than by one more hook per request: no other error stops a parsed document there.
     */
    const parsed = new WeakSet<Request>();
    const sentNames = new WeakMap<Request, string>();
    /**
     * The name label of a request refused OPERATION_RESOLUTION_FAILURE, from its result until its response, for
     * `graphql_yoga_http_duration`: Yoga's plugin hands that histogram only the operation it found, none here, and
     * its labels were the document's only operation's (`query`, under that operation's name).
     */
    const unresolvedNames = new WeakMap<Request, string>();
    const requestErrors: Plugin = {
      // An operation the WebSocket edge refused is answered in onRequest, before any result: its code, phase `request`.
      onRequest({ serverContext }) {
        const refusal = (serverContext as Partial<GatewayServerContext>).edgeRefusal;
        if (refusal) errors.counter.inc({ operationType: 'unknown', operationName: operationNameLabel(refusal.operationName), phase: 'request', code: errorCodeLabel(refusal.error, 'request') });
      },
      onParams({ request, params }) {
        if (typeof params.operationName === 'string') sentNames.set(request, params.operationName);
      },
      onParse({ context }) {
        const { request } = context as { request?: Request };
        if (request) parsed.add(request);
      },
      onResultProcess({ request, result }) {
        // Out of the tables at once: an entry left for the WeakMap or WeakSet to drop outlives young-generation collections
        // (docs/performance.md "Memory that outlived its request, again").
        const sent = sentNames.get(request);
        sentNames.delete(request);
        const wasParsed = parsed.delete(request);
        if (isAsyncIterable(result)) return;
        const phase = wasParsed ? 'parse' : 'request';
        for (const each of Array.isArray(result) ? result : [result]) {
          for (const error of (each as ExecutionResult).errors ?? []) {
            if (phase === 'parse' && error.extensions?.code !== ErrorCode.OPERATION_RESOLUTION_FAILURE) continue;
            if (phase === 'parse') unresolvedNames.set(request, operationNameLabel(sent));
            errors.counter.inc({ operationType: 'unknown', operationName: operationNameLabel(sent), phase, code: errorCodeLabel(error, phase) });
          }
        }
      },
    };
    const prometheus = usePrometheus({
      registry,
      endpoint: this.serveOnApi ? METRICS_PATH : false,
      metrics: {
        graphql_envelop_request: createCounter({
          registry,
          counter: { name: 'graphql_envelop_request', help: 'GraphQL operations, by type and name', labelNames: ['operationType', 'operationName'] },
          fillLabelsFn: operationLabels,
        }),
        // The plugin times it from the start of execution, the span of phase_execute and phase_subscribe: a copy of those two.
        graphql_envelop_request_duration: false,
        // A summary's quantiles cannot be summed over workers; the histograms say the same.
        graphql_envelop_request_time_summary: false,
        // The plugin times phases in whole milliseconds (Date.now()): a cached document reads 0 (or 1 ms), a slow parse shows.
        graphql_envelop_phase_parse: histogram('graphql_envelop_phase_parse', 'Time spent parsing, in seconds, in whole milliseconds (a cached document: 0 or 0.001)'),
        graphql_envelop_phase_validate: histogram('graphql_envelop_phase_validate', 'Time spent validating, in seconds, in whole milliseconds (a cached result: 0 or 0.001)'),
        // The plugin reads its clock twice before the context is built, so every observation would be 0.
        graphql_envelop_phase_context: false,
        graphql_envelop_phase_execute: histogram('graphql_envelop_phase_execute', 'Time spent executing (upstream included), in seconds'),
        graphql_envelop_phase_subscribe: histogram('graphql_envelop_phase_subscribe', 'Duration of subscriptions, from their start to the end of their stream, in seconds', WATCH_BUCKETS),
        graphql_envelop_error_result: errors,
        // The schema deprecates nothing, and counting walks every document with its types on every request
        // (README "What operating costs"). Switch it on with the first @deprecated.
        graphql_envelop_deprecated_field: false,
        // The schema is built once at start.
        graphql_envelop_schema_change: false,
        graphql_envelop_execute_resolver: false,
        graphql_yoga_http_duration: createHistogram({
          registry,
          histogram: {
            name: 'graphql_yoga_http_duration',
            help: 'Duration of HTTP requests that carried a GraphQL operation, in seconds, by method, status and operation',
            labelNames: ['method', 'statusCode', 'operationType', 'operationName'],
            buckets: DURATION_BUCKETS,
          },
          fillLabelsFn: (params: FillLabelsFnParams, { request, response }: { request: Request; response: Response }) => {
            const unresolved = unresolvedNames.get(request);
            if (unresolved !== undefined) unresolvedNames.delete(request);
            return {
              method: request.method,
              statusCode: response.status,
              ...(unresolved === undefined ? operationLabels(params) : { operationType: 'unknown', operationName: unresolved }),
            };
          },
        }),
      },
    });
    return {
      onPluginInit({ addPlugin }) {
        addPlugin(prometheus);
        addPlugin(subscriptionErrors);
        addPlugin(requestErrors);
      },
    };
  }
}

/** Methods named in `gateway_http_responses_total`; any other (a scanner's made-up one) is `other`. */
const ANSWER_METHODS: ReadonlySet<string> = new Set(['GET', 'POST', 'HEAD', 'OPTIONS']);

/**
 * An answer's status as `statusCode`, the label Yoga's HTTP histogram gives it: the code itself (the gateway and its
 * plugins send a few dozen at most), `other` past HTTP's range. Not `statusLabel`'s class: upstream, or a proxy in
 * front of it, may answer any of hundreds.
 */
function statusCodeLabel(status: number | undefined): string {
  return status !== undefined && Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}

/** Why a retry was not sent, each exported from 0 so a rate over them has a baseline. */
const RETRY_SKIPS: readonly RetrySkip[] = ['budget', 'circuit_open'];

/**
 * Upstream's status as a label: its class, with 429 apart (upstream rate
 * limiting a token, where a 5xx is upstream failing: both are
 * UPSTREAM_UNAVAILABLE), `none` when no answer came (a network error, a
 * timeout before the head, a cancelled attempt; a timeout while the body was
 * arriving has the head's status, as its error's `upstreamStatus`). Never the
 * status itself: a proxy in between may answer with any of hundreds.
 */
function statusLabel(status: number | undefined): string {
  if (status === undefined) return 'none';
  if (status === 429) return '429';
  return status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : 'other';
}
