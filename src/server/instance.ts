/**
 * One gateway, composed from its configuration: the upstream client, the Yoga
 * instance with its pipeline, the lane that runs it and the HTTP edge in front.
 * The process (./process.ts) and the test harness both build it here, so tests
 * run exactly what production runs.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import type { GatewayConfig, LiveConfig } from '../config.js';
import { metricsNotHere } from '../errors.js';
import { createFastLane, type Lane } from '../fast-lane/index.js';
import { LiveExecutions, type LiveSettings } from '../live/live-executions.js';
import type { Logger } from '../logger.js';
import type { GraphiQLSettings } from '../pipeline/graphiql.js';
import { refusedOriginLog } from '../pipeline/cors.js';
import { createGateway, type Gateway } from '../pipeline/gateway.js';
import { ExecutionsClient } from '../upstream/executions-client.js';
import { SharedExecutions } from '../upstream/shared-executions.js';
import { RedisStore } from '../shared-state/redis-store.js';
import { LiveLeases } from '../shared-state/live-leases.js';
import { SharedCache } from '../shared-state/shared-cache.js';
import { createAccessLog } from '../telemetry/access-log.js';
import { GatewayMetrics, METRICS_PATH } from '../telemetry/metrics.js';
import { attemptSpans, spansDropped, spansUrl } from '../telemetry/tracing.js';
import { drain, OpenConnections, RequestsInFlight, type DrainReport, type DrainTimings } from './drain.js';
import { Health, PROBE_NEAR_MISSES, probeNotHere, upstreamHealth } from './health.js';
import { createHttpEdge } from './http-edge.js';
import { StalledClients } from './stalled-clients.js';
import { attachWebSocket } from './websocket.js';
import type { WorkersReport } from './worker-readiness.js';
import { createYogaLane } from './yoga-lane.js';

export interface InstanceOptions {
  /** Where the executions API is: UPSTREAM_URL, or the demo upstream's address. */
  upstreamUrl: string;
  logger: Logger;
  graphiql?: GraphiQLSettings;
  /** Plugins added after the gateway's own, for a program that builds the gateway itself, and test probes (src/pipeline/gateway.ts `plugins`). */
  plugins?: Plugin[];
  /** A worker's (WORKERS > 1): the primary's last word on the workers, which `/ready` follows (./worker-readiness.ts). */
  workers?: () => WorkersReport | undefined;
}

export interface GatewayInstance {
  readonly client: ExecutionsClient;
  /** Calls in flight and the cache of finished executions, shared by the requests of this instance. */
  readonly executions: SharedExecutions;
  /** Live watches and their pollers. */
  readonly live: LiveExecutions;
  readonly gateway: Gateway;
  /** The Redis connection shared state goes through; undefined without REDIS_URL. */
  readonly redis: RedisStore | undefined;
  /** Prometheus metrics; undefined with METRICS=off. */
  readonly metrics: GatewayMetrics | undefined;
  readonly lane: Lane;
  readonly server: Server;
  /** `/ready`'s state: starting until it listens, then ready, then draining. */
  readonly health: Health;
  /** Listens on host:port (port 0: a free one), then counts as ready; resolves with the port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * The graceful shutdown (./drain.ts): unready for `unreadyMs`, then the
   * listener closes, subscriptions end with SHUTTING_DOWN and requests in
   * flight have `graceMs`; then the upstream pool closes. Timings default to
   * SHUTDOWN_UNREADY_MS and SHUTDOWN_GRACE_MS.
   */
  drain(timings?: Partial<DrainTimings>, cause?: string): Promise<DrainReport>;
  /** At once: drops WebSocket connections, stops accepting connections, closes idle ones and the upstream pool. */
  close(): Promise<void>;
}

/** The live settings as the pollers and watches read them. */
function liveSettings(live: LiveConfig, callerSharePercent: number): LiveSettings {
  return {
    pollPaymentMs: live.pollPaymentMs,
    pollWaitingMs: live.pollWaitingMs,
    pollActiveMs: live.pollActiveMs,
    pollJitter: live.pollJitterPercent / 100,
    pollMaxBackoffMs: live.pollMaxBackoffMs,
    outageNoticeMs: live.outageNoticeMs,
    maxWatchMs: live.maxWatchMs,
    maxSubscriptionsPerCaller: live.maxSubscriptionsPerCaller,
    maxSubscriptions: live.maxSubscriptions,
    maxPollers: live.maxPollers,
    maxHeldBytes: live.maxHeldBytes,
    maxUnreadSubscriptions: live.maxUnreadSubscriptions,
    pollShare: live.pollSharePercent / 100,
    callerShare: callerSharePercent / 100,
  };
}

export function createInstance(config: GatewayConfig, options: InstanceOptions): GatewayInstance {
  const { upstream, telemetry } = config;
  const metrics = telemetry.metrics === 'off' ? undefined : new GatewayMetrics(telemetry.metrics === 'api');
  // The tracer provider itself is the process's (startTracing, ./process.ts).
  const traced = spansUrl(telemetry) !== undefined;
  const client = new ExecutionsClient({
    baseUrl: options.upstreamUrl,
    timeoutMs: upstream.timeoutMs,
    connections: upstream.connections,
    maxBodyBytes: upstream.maxBodyBytes,
    maxBytesInFlight: upstream.maxBytesInFlight,
    maxJsonValues: upstream.maxJsonValues,
    executionIdPattern: upstream.executionIdPattern,
    logger: options.logger,
    refusedTokenMs: upstream.refusedTokenMs,
    resilience: {
      maxAttempts: upstream.maxAttempts,
      retryBaseDelayMs: upstream.retryBaseDelayMs,
      retryMaxDelayMs: upstream.retryMaxDelayMs,
      retryAfterCapMs: upstream.retryAfterCapMs,
      pauseMaxMs: upstream.pauseMaxMs,
      breakerThreshold: upstream.breakerThreshold,
      breakerWindowMs: upstream.breakerWindowMs,
      breakerMinIds: upstream.breakerMinIds,
      breakerMinCallers: upstream.breakerMinCallers,
      breakerHalfOpenMs: upstream.breakerHalfOpenMs,
      maxConcurrent: upstream.maxConcurrent,
      queue: upstream.queue,
      maxConcurrentPerCaller: upstream.maxConcurrentPerCaller,
    },
    watchers: [...(metrics ? [metrics.attempts] : []), ...(traced ? [attemptSpans] : [])],
  });
  // With REDIS_URL: the cache of finished executions is shared with the other replicas.
  const redis = config.sharedState.redisUrl ? new RedisStore(config.sharedState, options.logger) : undefined;
  const sharedCache = redis ? new SharedCache(redis, config.sharedState.redisMaxValueBytes) : undefined;
  const executions = new SharedExecutions(client, { ...config.cache, shared: sharedCache });
  const leases = redis ? new LiveLeases(redis, config.sharedState.leaseMs, options.logger) : undefined;
  const live = new LiveExecutions(client, liveSettings(config.live, config.cache.callerSharePercent), upstream.maxConcurrent, leases);
  metrics?.observe({
    client,
    executions,
    live,
    bulkhead: { maxConcurrent: upstream.maxConcurrent, queue: upstream.queue },
    ...(redis && sharedCache && leases ? { shared: { store: redis, cache: sharedCache, leases } } : {}),
    ...(traced ? { spansDropped } : {}),
  });
  // One sweep for every answer, event stream and WebSocket whose client may stop reading.
  const stalledClients = new StalledClients(config.live.stalledClientMs);
  // A page refused by CORS (a preflight) or by the upgrade's Origin check sees only an opaque failure: told of once per origin.
  const refusedOrigin = refusedOriginLog(config.security.corsOrigins, (fields, message) => options.logger.warn(fields, message));
  const accessLog = createAccessLog(options.logger, telemetry, metrics ? (method, status, transport) => metrics.answered(method, status, transport) : undefined);
  const gateway = createGateway({
    refusedOrigin,
    executions,
    live,
    logger: options.logger,
    ...(metrics ? { metrics } : {}),
    ...(traced ? { operationSpans: { document: telemetry.traceDocument, trustedProxies: telemetry.trustedProxies } } : {}),
    accessLog,
    security: config.security,
    operationLimits: config.operations,
    upstream,
    reportCost: config.telemetry.upstreamCost,
    fastLane: config.server.fastLane,
    documentCacheMaxBytes: config.cache.documentMaxBytes,
    ...(options.graphiql ? { graphiql: options.graphiql } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  const lane = config.server.fastLane ? createFastLane(gateway) : createYogaLane(gateway);
  const health = new Health(() => upstreamHealth(client), redis, options.workers);
  // Once, whether a drain or close() gets there first: undici refuses to close a pool twice.
  let upstreamClosed: Promise<void> | undefined;
  const closeUpstream = () => (upstreamClosed ??= Promise.all([client.close(), redis?.close()]).then(() => undefined));
  const requests = new RequestsInFlight();
  const edgeSettings = {
    ...config.server,
    corsOrigins: config.security.corsOrigins,
    graphqlPath: gateway.graphqlEndpoint,
    otherPaths: metrics?.serveOnApi ? [METRICS_PATH] : [],
    notFoundMessages: new Map([
      ...PROBE_NEAR_MISSES.map((path): [string, string] => [path, probeNotHere(gateway.graphqlEndpoint)]),
      ...(config.telemetry.metrics === 'api' ? [] : [[METRICS_PATH, metricsNotHere({ ...config.telemetry, metrics: config.telemetry.metrics }, gateway.graphqlEndpoint)] as [string, string]]),
    ]),
    trustedDocumentsOnly: config.security.trustedDocuments === 'only',
    maxOperationTokens: config.operations.maxTokens,
  };
  const server = createHttpEdge(lane, edgeSettings, options.logger, { health, requests, stalledClients, accessLog });
  const connections = new OpenConnections();
  server.on('connection', (socket: Socket) => connections.accepted(socket));
  const sockets = attachWebSocket(
    server,
    lane,
    {
      path: gateway.graphqlEndpoint,
      corsOrigins: config.security.corsOrigins,
      refusedOrigin,
      connectionInitTimeoutMs: config.live.connectionInitTimeoutMs,
      idleTimeoutMs: config.live.idleTimeoutMs,
      keepAliveMs: config.live.keepAliveMs,
      maxConnections: config.live.maxConnections,
      maxConnectionsPerCaller: Math.max(1, Math.floor((config.live.maxConnections * config.cache.callerSharePercent) / 100)),
      maxMessageBytes: config.server.maxRequestBodyBytes,
      maxSubscriptionsPerConnection: config.live.maxSubscriptionsPerConnection,
      maxMessagesPerSecond: config.live.maxMessagesPerSecond,
      maxUpgradesPerSecond: config.live.maxUpgradesPerSecond,
      upgradeBurst: config.live.upgradeBurst,
      trustedProxies: telemetry.trustedProxies,
      stalledClients,
      accessLog,
    },
    options.logger,
  );
  metrics?.observeWebSockets(sockets);
  return {
    client,
    executions,
    live,
    gateway,
    metrics,
    redis,
    lane,
    server,
    health,
    async listen(port, host) {
      server.listen(port, host);
      await once(server, 'listening');
      health.ready();
      const address = server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    drain(timings = {}, cause) {
      return drain(
        { server, health, requests, connections, webSockets: sockets, live, closeUpstream, logger: options.logger },
        { unreadyMs: timings.unreadyMs ?? config.server.shutdownUnreadyMs, graceMs: timings.graceMs ?? config.server.shutdownGraceMs },
        cause,
      );
    },
    async close() {
      sockets.close();
      stalledClients.close();
      server.close();
      server.closeIdleConnections();
      await closeUpstream();
    },
  };
}
