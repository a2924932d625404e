/**
 * One gateway, composed from its configuration: the upstream client, the Yoga
 * instance with its pipeline, the lane that runs it and the HTTP edge in front.
 * The process (./process.ts) and the test harness both build it here, so tests
 * run exactly what production runs.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { GatewayConfig, LiveConfig } from '../config.js';
import { createFastLane, type Lane } from '../fast-lane/index.js';
import { LiveExecutions, type LiveSettings } from '../live/live-executions.js';
import type { Logger } from '../logger.js';
import type { GraphiQLSettings } from '../pipeline/graphiql.js';
import { createGateway, type Gateway } from '../pipeline/gateway.js';
import { ExecutionsClient } from '../upstream/executions-client.js';
import { SharedExecutions } from '../upstream/shared-executions.js';
import { createHttpEdge } from './http-edge.js';
import { attachWebSocket } from './websocket.js';
import { createYogaLane } from './yoga-lane.js';

export interface InstanceOptions {
  /** Where the executions API is: UPSTREAM_URL, or the demo upstream's address. */
  upstreamUrl: string;
  logger: Logger;
  graphiql?: GraphiQLSettings;
  /** Plugins added after the gateway's own (operators' additions, test probes). */
  plugins?: Plugin[];
}

export interface GatewayInstance {
  readonly client: ExecutionsClient;
  /** Calls in flight and the cache of finished executions, shared by the requests of this instance. */
  readonly executions: SharedExecutions;
  /** Live watches and their pollers. */
  readonly live: LiveExecutions;
  readonly gateway: Gateway;
  readonly lane: Lane;
  readonly server: Server;
  /** Listens on host:port (port 0: a free one) and resolves with the port. */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting connections, closes idle ones and the upstream pool. */
  close(): Promise<void>;
}

/** The live settings as the pollers and watches read them. */
function liveSettings(live: LiveConfig): LiveSettings {
  return {
    paymentMs: live.pollPaymentMs,
    waitingMs: live.pollWaitingMs,
    activeMs: live.pollActiveMs,
    jitter: live.pollJitterPercent / 100,
    maxBackoffMs: live.pollMaxBackoffMs,
    outageNoticeMs: live.outageNoticeMs,
    maxWatchMs: live.maxWatchMs,
    maxSubscriptionsPerCaller: live.maxSubscriptionsPerCaller,
    maxSubscriptions: live.maxSubscriptions,
    maxPollers: live.maxPollers,
    pollShare: live.pollSharePercent / 100,
  };
}

export function createInstance(config: GatewayConfig, options: InstanceOptions): GatewayInstance {
  const { upstream } = config;
  const client = new ExecutionsClient({
    baseUrl: options.upstreamUrl,
    timeoutMs: upstream.timeoutMs,
    connections: upstream.connections,
    maxBodyBytes: upstream.maxBodyBytes,
    executionIdPattern: upstream.executionIdPattern,
    logger: options.logger,
    resilience: {
      maxAttempts: upstream.maxAttempts,
      retryBaseDelayMs: upstream.retryBaseDelayMs,
      retryMaxDelayMs: upstream.retryMaxDelayMs,
      retryAfterCapMs: upstream.retryAfterCapMs,
      breakerThreshold: upstream.breakerThreshold,
      breakerWindowMs: upstream.breakerWindowMs,
      breakerMinIds: upstream.breakerMinIds,
      breakerMinCallers: upstream.breakerMinCallers,
      breakerHalfOpenAfterMs: upstream.breakerHalfOpenMs,
      maxConcurrent: upstream.maxConcurrent,
      queue: upstream.queue,
    },
  });
  const executions = new SharedExecutions(client, config.cache);
  const live = new LiveExecutions(client, liveSettings(config.live), upstream.maxConcurrent);
  const gateway = createGateway({
    executions,
    live,
    logger: options.logger,
    security: config.security,
    upstream,
    reportCost: config.telemetry.upstreamCost,
    compiledExecution: config.server.fastLane,
    ...(options.graphiql ? { graphiql: options.graphiql } : {}),
    ...(options.plugins ? { plugins: options.plugins } : {}),
  });
  const lane = config.server.fastLane ? createFastLane(gateway) : createYogaLane(gateway);
  const server = createHttpEdge(lane, { ...config.server, corsOrigins: config.security.corsOrigins }, options.logger);
  const sockets = attachWebSocket(
    server,
    lane,
    {
      path: gateway.graphqlEndpoint,
      corsOrigins: config.security.corsOrigins,
      connectionInitTimeoutMs: config.live.connectionInitTimeoutMs,
      maxMessageBytes: config.server.maxRequestBodyBytes,
      maxSubscriptionsPerConnection: config.live.maxSubscriptionsPerConnection,
    },
    options.logger,
  );
  return {
    client,
    executions,
    live,
    gateway,
    lane,
    server,
    async listen(port, host) {
      server.listen(port, host);
      await once(server, 'listening');
      const address = server.address();
      return typeof address === 'object' && address ? address.port : port;
    },
    async close() {
      for (const socket of sockets.clients) socket.terminate();
      sockets.close();
      server.close();
      server.closeIdleConnections();
      await client.close();
    },
  };
}
