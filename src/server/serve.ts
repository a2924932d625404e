/**
 * One gateway process: builds the upstream client and the Yoga instance from
 * the configuration and listens. Used directly (WORKERS=1) or by each worker.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { GatewayConfig } from '../config.js';
import { DEMO_TOKEN } from '../demo/demo-data.js';
import { createGateway } from '../gateway.js';
import type { Logger } from '../logger.js';
import { ExecutionsClient } from '../upstream/executions-client.js';
import { createHttpServer } from './http-server.js';

export interface Serving {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function serve(config: GatewayConfig, upstreamUrl: string, logger: Logger, demo: boolean): Promise<Serving> {
  const client = new ExecutionsClient({
    baseUrl: upstreamUrl,
    timeoutMs: config.upstreamTimeoutMs,
    connections: config.upstreamConnections,
    maxBodyBytes: config.upstreamMaxBodyBytes,
    executionIdPattern: config.executionIdPattern,
    logger,
    resilience: {
      maxAttempts: config.upstreamMaxAttempts,
      retryAfterCapMs: config.upstreamRetryAfterCapMs,
      breakerThreshold: config.breakerThreshold,
      breakerHalfOpenAfterMs: config.breakerHalfOpenAfterMs,
      maxConcurrent: config.upstreamMaxConcurrent,
      queue: config.upstreamQueue,
    },
  });
  const yoga = createGateway({
    client,
    logger,
    concurrencyPerRequest: config.upstreamConcurrencyPerRequest,
    requestBudgetMs: config.requestBudgetMs,
    cache: {
      terminalTtlMs: config.terminalCacheTtlMs,
      activeTtlMs: config.activeCacheTtlMs,
      maxBytes: config.cacheMaxBytes,
    },
    upstreamExtensions: config.upstreamExtensions,
    security: {
      introspection: config.introspection,
      corsOrigins: config.corsOrigins,
    },
    graphiql: demo ? { headers: { Authorization: `Bearer ${DEMO_TOKEN}` }, exampleId: 'ex_demo_4' } : {},
  });

  const server = createHttpServer(yoga, { maxRequestBodyBytes: config.maxRequestBodyBytes, logger });
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    server,
    port,
    async close() {
      server.close();
      server.closeIdleConnections();
      await client.close();
    },
  };
}
