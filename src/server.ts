/**
 * Process entry: read configuration, start the demo upstream when no
 * UPSTREAM_URL is set, listen, and shut down gracefully on SIGINT/SIGTERM.
 */
import { once } from 'node:events';
import { ConfigError, readConfig, type GatewayConfig } from './config.js';
import { demoExecutions, DEMO_TOKEN } from './demo/demo-data.js';
import { FakeUpstream } from './demo/fake-upstream.js';
import { createGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { EXAMPLE_QUERY } from './server/graphiql.js';
import { createHttpServer } from './server/http-server.js';
import { ExecutionsClient } from './upstream/executions-client.js';

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`execution-gateway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);

  // Without UPSTREAM_URL the gateway runs on its built-in demo data.
  const demo = config.upstreamUrl ? undefined : await FakeUpstream.start({ executions: demoExecutions() });
  const upstreamUrl = config.upstreamUrl ?? demo!.url;

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
    security: {
      introspection: config.introspection,
      corsOrigins: config.corsOrigins,
    },
    graphiql: demo ? { headers: { Authorization: `Bearer ${DEMO_TOKEN}` }, exampleId: 'ex_demo_4' } : {},
  });

  const server = createHttpServer(yoga, { maxRequestBodyBytes: config.maxRequestBodyBytes });
  server.listen(config.port, config.host);
  try {
    await once(server, 'listening');
  } catch (error) {
    process.stderr.write(`execution-gateway: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}. Set PORT to a free port.\n`);
    process.exit(1);
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/graphql`;
  logger.info({ url, upstream: demo ? 'demo' : upstreamUrl }, 'execution-gateway listening');

  if (demo) {
    process.stdout.write(
      [
        '',
        `execution-gateway is serving the built-in demo data at ${url}`,
        `Open it in a browser for GraphiQL. Demo token (already in GraphiQL's headers): Authorization: Bearer ${DEMO_TOKEN}`,
        'Demo executions: ex_demo_1 … ex_demo_8 (one per status) and ex_demo_long (1,000 events).',
        'Paste this query, with variables {"id": "ex_demo_4"}:',
        '',
        EXAMPLE_QUERY,
        `Or from a shell:`,
        `  curl -s ${url} -H 'content-type: application/json' -H 'authorization: Bearer ${DEMO_TOKEN}' \\`,
        `    -d '{"query":"{ execution(id: \\"ex_demo_4\\") { id status events(first: 3) { nodes { level message } } } }"}'`,
        '',
      ].join('\n'),
    );
  }

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeIdleConnections();
    await client.close();
    await demo?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

await main();
