/**
 * The process: read configuration, start the demo upstream when no
 * UPSTREAM_URL is set, serve (in WORKERS processes with node:cluster when asked),
 * and shut down gracefully on SIGINT/SIGTERM.
 */
import cluster from 'node:cluster';
import { ConfigError, readConfig, type GatewayConfig } from '../config.js';
import { demoExecutions, DEMO_TOKEN } from '../demo/demo-data.js';
import { FakeUpstream } from '../demo/fake-upstream.js';
import { LIVE_DEMO_ID, runLiveDemo } from '../demo/live-demo.js';
import { FastLaneError } from '../fast-lane/index.js';
import { createLogger, type Logger } from '../logger.js';
import { EXAMPLE_QUERY } from '../pipeline/graphiql.js';
import { createInstance } from './instance.js';

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

/** The built-in demo upstream, with its live execution advancing. */
async function startDemoUpstream(): Promise<FakeUpstream> {
  const upstream = await FakeUpstream.start({ executions: demoExecutions() });
  runLiveDemo(upstream);
  return upstream;
}

function printDemoBanner(url: string): void {
  process.stdout.write(
    [
      '',
      `execution-gateway is serving the built-in demo data at ${url}`,
      `Open it in a browser for GraphiQL. Demo token (already in GraphiQL's headers): Authorization: Bearer ${DEMO_TOKEN}`,
      `Demo executions: ex_demo_1 … ex_demo_8 (one per status), ex_demo_long (1,000 events) and ${LIVE_DEMO_ID} (advances while you watch it).`,
      'Paste this query, with variables {"id": "ex_demo_4"}:',
      '',
      EXAMPLE_QUERY,
      `Or from a shell:`,
      `  curl -s ${url} -H 'content-type: application/json' -H 'authorization: Bearer ${DEMO_TOKEN}' \\`,
      `    -d '{"query":"{ execution(id: \\"ex_demo_4\\") { id status events(first: 3) { nodes { level message } } } }"}'`,
      `Watch ${LIVE_DEMO_ID} live (Server-Sent Events):`,
      `  curl -sN ${url} -H 'content-type: application/json' -H 'accept: text/event-stream' -H 'authorization: Bearer ${DEMO_TOKEN}' \\`,
      `    -d '{"query":"subscription { executionUpdates(id: \\"${LIVE_DEMO_ID}\\") { isFinal execution { status } newEvents { node { eventType } } } }"}'`,
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
  const { host } = config.server;
  return `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/graphql`;
}

/** One gateway listening; exits with one line when it cannot be made or cannot listen. */
async function listenOrExit(config: GatewayConfig, upstreamUrl: string, logger: Logger, demo: boolean) {
  let instance;
  try {
    instance = createInstance(config, {
      upstreamUrl,
      logger,
      ...(demo ? { graphiql: { headers: { Authorization: `Bearer ${DEMO_TOKEN}` }, exampleId: 'ex_demo_4' } } : {}),
    });
  } catch (error) {
    if (!(error instanceof FastLaneError)) throw error;
    process.stderr.write(`execution-gateway: ${error.message}\n`);
    process.exit(1);
  }
  try {
    const port = await instance.listen(config.server.port, config.server.host);
    return { port, close: () => instance.close() };
  } catch (error) {
    const { host, port } = config.server;
    process.stderr.write(`execution-gateway: cannot listen on ${host}:${port}: ${(error as Error).message}. Set PORT to a free port.\n`);
    process.exit(1);
  }
}

async function runSingle(config: GatewayConfig, logger: Logger): Promise<void> {
  // Without UPSTREAM_URL the gateway runs on its built-in demo data.
  const demo = config.upstream.url ? undefined : await startDemoUpstream();
  const upstreamUrl = config.upstream.url ?? demo!.url;
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
  const demo = config.upstream.url ? undefined : await startDemoUpstream();
  const upstreamUrl = config.upstream.url ?? demo!.url;
  const env = { UPSTREAM_URL: upstreamUrl, ...(demo ? { [DEMO_MARKER]: '1' } : {}) };
  let stopping = false;
  const workers = Array.from({ length: config.server.workers }, () => cluster.fork(env));
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('listening', resolve))));
  const address = await new Promise<number>((resolve) => {
    workers[0]!.send('port?');
    workers[0]!.once('message', (port: number) => resolve(port));
  });
  const url = publicUrl(config, address);
  logger.info({ url, workers: config.server.workers, upstream: demo ? 'demo' : upstreamUrl }, 'execution-gateway listening');
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
  const serving = await listenOrExit(config, config.upstream.url!, logger, process.env[DEMO_MARKER] === '1');
  process.on('message', (message) => {
    if (message === 'port?') process.send?.(serving.port);
  });
  onSignals(() => serving.close());
}

/** Runs the gateway as configured by the environment: one process, or a primary and its workers. */
export async function run(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.telemetry.logLevel);
  if (config.server.workers > 1 && cluster.isPrimary) await runPrimary(config, logger);
  else if (cluster.isWorker) await runWorker(config, logger);
  else await runSingle(config, logger);
}
