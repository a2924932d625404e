/**
 * Process entry: read configuration, start the demo upstream when no
 * UPSTREAM_URL is set, serve (in WORKERS processes with node:cluster when asked),
 * and shut down gracefully on SIGINT/SIGTERM.
 */
import cluster from 'node:cluster';
import { ConfigError, readConfig, type GatewayConfig } from './config.js';
import { demoExecutions, DEMO_TOKEN } from './demo/demo-data.js';
import { FakeUpstream } from './demo/fake-upstream.js';
import { createLogger, type Logger } from './logger.js';
import { EXAMPLE_QUERY } from './server/graphiql.js';
import { serve } from './server/serve.js';

/** Set by the primary for its workers, so they know the upstream is the demo one. */
const DEMO_MARKER = 'EXECUTION_GATEWAY_DEMO_UPSTREAM';

function loadConfig(): GatewayConfig {
  try {
    return readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`execution-gateway: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

function printDemoBanner(url: string): void {
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

function onSignals(stop: (signal: string) => Promise<void>): void {
  const handle = (signal: string) => void stop(signal).then(() => process.exit(0));
  process.once('SIGINT', () => handle('SIGINT'));
  process.once('SIGTERM', () => handle('SIGTERM'));
}

function publicUrl(config: GatewayConfig, port: number): string {
  return `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}/graphql`;
}

async function listenOrExit(config: GatewayConfig, upstreamUrl: string, logger: Logger, demo: boolean) {
  try {
    return await serve(config, upstreamUrl, logger, demo);
  } catch (error) {
    process.stderr.write(
      `execution-gateway: cannot listen on ${config.host}:${config.port}: ${(error as Error).message}. Set PORT to a free port.\n`,
    );
    process.exit(1);
  }
}

async function runSingle(config: GatewayConfig, logger: Logger): Promise<void> {
  // Without UPSTREAM_URL the gateway runs on its built-in demo data.
  const demo = config.upstreamUrl ? undefined : await FakeUpstream.start({ executions: demoExecutions() });
  const upstreamUrl = config.upstreamUrl ?? demo!.url;
  const serving = await listenOrExit(config, upstreamUrl, logger, Boolean(demo));
  const url = publicUrl(config, serving.port);
  logger.info({ url, upstream: demo ? 'demo' : upstreamUrl }, 'execution-gateway listening');
  if (demo) printDemoBanner(url);
  onSignals(async (signal) => {
    logger.info({ signal }, 'shutting down');
    await serving.close();
    await demo?.close();
  });
}

async function runPrimary(config: GatewayConfig, logger: Logger): Promise<void> {
  const demo = config.upstreamUrl ? undefined : await FakeUpstream.start({ executions: demoExecutions() });
  const upstreamUrl = config.upstreamUrl ?? demo!.url;
  const env = { UPSTREAM_URL: upstreamUrl, ...(demo ? { [DEMO_MARKER]: '1' } : {}) };
  let stopping = false;
  const workers = Array.from({ length: config.workers }, () => cluster.fork(env));
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('listening', resolve))));
  const address = await new Promise<number>((resolve) => {
    workers[0]!.send('port?');
    workers[0]!.once('message', (port: number) => resolve(port));
  });
  const url = publicUrl(config, address);
  logger.info({ url, workers: config.workers, upstream: demo ? 'demo' : upstreamUrl }, 'execution-gateway listening');
  if (demo) printDemoBanner(url);
  // A worker that dies is replaced, so one crash never takes the service down.
  cluster.on('exit', (worker, code) => {
    if (stopping) return;
    logger.error({ pid: worker.process.pid, code }, 'worker exited; starting another');
    cluster.fork(env);
  });
  onSignals(async (signal) => {
    stopping = true;
    logger.info({ signal }, 'shutting down workers');
    await Promise.all(
      Object.values(cluster.workers ?? {}).map(
        (worker) => new Promise((resolve) => worker?.once('exit', resolve).kill('SIGTERM')),
      ),
    );
    await demo?.close();
  });
}

async function runWorker(config: GatewayConfig, logger: Logger): Promise<void> {
  const serving = await listenOrExit(config, config.upstreamUrl!, logger, process.env[DEMO_MARKER] === '1');
  process.on('message', (message) => {
    if (message === 'port?') process.send?.(serving.port);
  });
  onSignals(() => serving.close());
}

const config = loadConfig();
const logger = createLogger(config.logLevel);
if (config.workers > 1 && cluster.isPrimary) await runPrimary(config, logger);
else if (cluster.isWorker) await runWorker(config, logger);
else await runSingle(config, logger);
