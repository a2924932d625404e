/**
 * The process: read configuration, start the demo upstream when no
 * UPSTREAM_URL is set (refused with NODE_ENV=production), serve (in WORKERS processes with node:cluster when asked),
 * and shut down gracefully on SIGTERM, SIGINT or SIGHUP.
 *
 * Shutdown: the first signal drains the gateway (./drain.ts) and the process
 * exits 0 when the drain is done, also when its grace ran out and requests
 * were cut (its last log line is then a warning counting them). A second
 * signal during the drain exits at once with code 1, unless it is a copy of
 * the first (SIGNAL_COPY_MS). With WORKERS, the
 * primary tells each worker to drain, never replaces one from then on, and
 * exits 0 once every worker that was serving exited 0 (1 otherwise); a second
 * signal kills the workers and exits 1.
 *
 * With WORKERS, a worker that exits is replaced, at once after a worker that
 * stayed up, and after a back-off (REPLACE_BACKOFF_MS) while replacements keep
 * failing at start. At the first start, until a worker listens, a worker that
 * exits fails the start: the primary logs which one and how (its exit code or
 * signal), kills the others and exits 1. From the first worker's listening on,
 * the configuration is proven and an exit is a crash, replaced as above.
 * Each such exit is logged and counted on the metrics port, with the workers
 * starting and serving (../telemetry/worker-metrics.ts), and told to every
 * worker, whose `/ready` follows the primary's word (./worker-readiness.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { writeSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { Registry } from 'prom-client';
import { buildInfo } from '../build-info.js';
import { ConfigError, DEMO_UPSTREAM_MARKER, nearMissSettings, readConfig, servesDemoUpstream, timeoutPastBudget, unloadedEnvFile, unreadVariables, unusedSettings, type GatewayConfig } from '../config.js';
import { DEMO_TOKEN } from '../demo/demo-data.js';
import { demoIdsRefusedWarning, startDemoUpstream } from '../demo/demo-upstream.js';
import type { FakeUpstream } from '../demo/fake-upstream.js';
import { LIVE_DEMO_ID } from '../demo/live-demo.js';
import { FastLaneError } from '../fast-lane/index.js';
import { createLogger, LOG_EXIT_FLUSH_MS, logWritten, type Logger } from '../logger.js';
import { EXAMPLE_QUERY, graphiqlOffMessage } from '../pipeline/graphiql.js';
import { ownOperationsRefusal } from '../pipeline/own-operations.js';
import { manifestRefusal, readManifest } from '../pipeline/trusted-documents.js';
import { consoleToLog, urlSecrets } from '../telemetry/console-lines.js';
import { clusterSource, registrySource, serveMetrics, workerRegistry, type MetricsServer, type MetricsSource } from '../telemetry/metrics-server.js';
import { FLUSH_AT_SHUTDOWN_MS, spansUrl, startTracing, tracesEndpointWarning } from '../telemetry/tracing.js';
import { observeWorkers } from '../telemetry/worker-metrics.js';
import { CUT_ANSWER_MS } from './drain.js';
import { heapOverrun } from './heap-budget.js';
import { createInstance } from './instance.js';
import { STOP_SIGNALS } from './starting-signals.js';
import { FAILED_AT_START_MS, reportOf, workersMessage, workersReport, type WorkersReport } from './worker-readiness.js';

/**
 * The primary's word to a worker to drain. A message, not a signal: after
 * Ctrl-C the terminal has already sent SIGINT to every worker, and a second
 * signal means "exit at once".
 */
const DRAIN_MESSAGE = 'execution-gateway:drain';
/**
 * A signal sent to the whole process group (Ctrl-C, `timeout`, systemd's
 * KillMode=control-group) reaches the server twice under `npm start`: once
 * from the group and once forwarded by npm. The same signal again within this
 * many ms of the first is that copy, not an operator asking to stop at once.
 */
const SIGNAL_COPY_MS = 500;
/**
 * Pause before the n-th replacement in a row of workers that failed at start (FAILED_AT_START_MS): 1 s, doubling, at
 * most 30 s. Such a replacement would most likely fail the same way (a manifest removed since the first start), so it
 * is not forked at once.
 */
const REPLACE_BACKOFF_MS = { first: 1_000, max: 30_000 } as const;

function loadConfig(): GatewayConfig {
  try {
    // The demo answers anyone holding the published demo token: a production deployment that forgot UPSTREAM_URL
    // must not come up serving it, refused with the rest (the in-process harnesses read the same config without one).
    return readConfig(process.env, { upstreamRequiredInProduction: true, limits: ownOperationsRefusal, manifest: manifestRefusal });
  } catch (error) {
    if (error instanceof ConfigError) {
      // A misspelt name is most often why a value is missing or wrong (`UPSTREAM_ULR`): said here too, since the
      // warning that names it at start comes only once the configuration is read.
      const misses = nearMissSettings().map(({ variable, setting }) => `${variable} is no setting and is ignored: did you mean ${setting}?`);
      // Most often why UPSTREAM_URL is missing under NODE_ENV=production: written in a .env nothing loaded.
      const envFile = envFileWarning();
      process.stderr.write([...error.message.split('\n'), ...misses, ...(envFile ? [envFile.message] : [])].map((line) => `execution-gateway: ${line}\n`).join(''));
      process.exit(1);
    }
    throw error;
  }
}

/** The warning for a `.env` file whose settings this process lacks (src/config.ts `unloadedEnvFile`), or undefined. */
function envFileWarning(): { fields: { file: string; settings: string[] }; message: string } | undefined {
  const envFile = unloadedEnvFile();
  if (!envFile) return undefined;
  const { file, settings } = envFile;
  const shown = settings.length > 5 ? `${settings.slice(0, 5).join(', ')} and ${settings.length - 5} more` : settings.join(', ');
  return {
    fields: { file, settings },
    message: `${file} sets ${shown}, which this process's environment lacks: the gateway reads its environment only, never a .env file. Load it first: \`set -a; . ./.env; set +a; npm start\`, or \`node --env-file=.env dist/main.js\``,
  };
}

/** The hash of the manifest's operation named `name` (schema/persisted-documents.json), as `documentId` takes it. */
function persistedDocumentId(name: string, config: GatewayConfig): string {
  for (const [hash, text] of readManifest({ ...config.security, limits: config.operations })) if (new RegExp(`^(query|subscription) ${name}\\b`).test(text)) return `sha256:${hash}`;
  throw new Error(`the trusted-documents manifest has no operation named ${name}`);
}

function printDemoBanner(url: string, config: GatewayConfig): void {
  const { security } = config;
  const trustedOnly = security.trustedDocuments === 'only';
  const graphiqlOff = graphiqlOffMessage(security);
  const curl = (accept: string) => `  curl -s${accept ? 'N' : ''} ${url} -H 'content-type: application/json'${accept} -H 'authorization: Bearer ${DEMO_TOKEN}' \\`;
  const sse = " -H 'accept: text/event-stream'";
  const mode = trustedOnly
    ? `TRUSTED_DOCUMENTS=only: GraphiQL is off and only the documents of schema/persisted-documents.json run, named by their hash. Demo token: Authorization: Bearer ${DEMO_TOKEN}`
    : graphiqlOff
      ? `${graphiqlOff} Demo token: Authorization: Bearer ${DEMO_TOKEN}`
      : `Open it in a browser for GraphiQL. Demo token (already in GraphiQL's headers): Authorization: Bearer ${DEMO_TOKEN}`;
  // With TRUSTED_DOCUMENTS=only a pasted query is refused: the examples name persisted documents by their hash.
  const examples = trustedOnly
    ? [
        'The ExecutionStatus document, from a shell:',
        curl(''),
        `    -d '{"documentId":"${persistedDocumentId('ExecutionStatus', config)}","variables":{"id":"ex_demo_4"}}'`,
        `Watch ${LIVE_DEMO_ID} live (Server-Sent Events, the ExecutionUpdates document):`,
        curl(sse),
        `    -d '{"documentId":"${persistedDocumentId('ExecutionUpdates', config)}","variables":{"id":"${LIVE_DEMO_ID}"}}'`,
      ]
    : [
        'Paste this query, with variables {"id": "ex_demo_4"}:',
        '',
        EXAMPLE_QUERY,
        `Or from a shell:`,
        curl(''),
        `    -d '{"query":"{ execution(id: \\"ex_demo_4\\") { id status events(first: 3) { nodes { level message } } } }"}'`,
        `Watch ${LIVE_DEMO_ID} live (Server-Sent Events):`,
        curl(sse),
        `    -d '{"query":"subscription { executionUpdates(id: \\"${LIVE_DEMO_ID}\\") { isFinal execution { status } newEvents { node { eventType } } } }"}'`,
      ];
  process.stdout.write(
    [
      '',
      `execution-gateway is serving the built-in demo data at ${url}`,
      mode,
      `Demo executions: ex_demo_1 … ex_demo_8 (one per status), ex_demo_long (1,000 events) and ${LIVE_DEMO_ID} (advances while you watch it for about 18 s, then rests succeeded for TERMINAL_CACHE_TTL_MS and a second: a watch started then gets one final update).`,
      ...examples,
      '',
    ].join('\n'),
  );
}

/**
 * Tells the first signal from a copy of it (SIGNAL_COPY_MS, logged at debug)
 * and from a second one.
 */
function signalSeen(logger: Logger): (signal: NodeJS.Signals) => 'first' | 'copy' | 'second' {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  return (signal) => {
    if (!first) {
      first = { signal, at: performance.now() };
      return 'first';
    }
    const afterMs = Math.round(performance.now() - first.at);
    if (signal === first.signal && afterMs < SIGNAL_COPY_MS) {
      logger.debug({ signal, afterMs }, 'the same signal again at once: a copy (process group and npm), not a second signal');
      return 'copy';
    }
    return 'second';
  };
}

/**
 * Runs `stop` on the first stop signal, SIGTERM, SIGINT or SIGHUP (or on the returned function, for
 * a worker told by its primary), then exits 0; a second signal exits at once
 * with 1. A failing `stop` exits 1.
 */
function onSignals(logger: Logger, stop: (cause: string) => Promise<unknown>, handOver: () => void): (cause: string) => void {
  let stopping = false;
  const seen = signalSeen(logger);
  const begin = (cause: string) => {
    if (stopping) return;
    stopping = true;
    stop(cause).then(
      // The last lines (`shutdown complete`) reach stdout rather than die with a write in flight (../logger.ts).
      () => logWritten(logger).then(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const seenAs = seen(signal);
    if (seenAs === 'copy') return;
    if (seenAs === 'second') {
      logger.warn({ signal }, 'second signal during shutdown: exiting at once');
      process.exit(1);
    }
    begin(signal);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  handOver();
  return begin;
}

/** `host:port` as set, an IPv6 literal in brackets (`[::1]:5300`): `::1:5300` does not say where the port starts. */
function hostAndPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `host:port` for a URL: the wildcard addresses as localhost, IPv6 literals in brackets (`[::1]:5300`). */
function urlAuthority(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') return `localhost:${port}`;
  return hostAndPort(host, port);
}

function publicUrl(config: GatewayConfig, port: number): string {
  return `http://${urlAuthority(config.server.host, port)}/graphql`;
}

/** The message a worker that cannot start sends its primary: the line to print. */
const START_FAILURE = 'execution-gateway:start-failure';

function isStartFailure(message: unknown): message is { type: typeof START_FAILURE; line: string } {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === START_FAILURE && typeof (message as { line?: unknown }).line === 'string';
}

/**
 * Exits 1 with one line saying why the gateway cannot start. A worker hands the line to its primary, which prints
 * each distinct line once: with WORKERS=3 a port already taken printed the same line three times.
 */
async function cannotStart(line: string): Promise<never> {
  if (cluster.isWorker && process.connected && process.send) {
    await new Promise<void>((resolve) => process.send!({ type: START_FAILURE, line }, undefined, undefined, () => resolve()));
  } else {
    process.stderr.write(`execution-gateway: ${line}\n`);
  }
  process.exit(1);
}

/** One gateway listening; exits with one line when it cannot be made or cannot listen. */
async function listenOrExit(config: GatewayConfig, upstreamUrl: string, logger: Logger, demo: boolean, workers?: () => WorkersReport | undefined) {
  let instance;
  try {
    instance = createInstance(config, {
      upstreamUrl,
      logger,
      ...(workers ? { workers } : {}),
      ...(demo ? { graphiql: { headers: { Authorization: `Bearer ${DEMO_TOKEN}` }, exampleId: 'ex_demo_4' } } : {}),
    });
  } catch (error) {
    // A plugin the fast lane cannot run, or a file a setting needs (the trusted-documents manifest): one line, exit 1.
    if (!(error instanceof FastLaneError) && !(error instanceof ConfigError)) throw error;
    return cannotStart(error.message);
  }
  try {
    const port = await instance.listen(config.server.port, config.server.host);
    return { port, metrics: instance.metrics, drain: (cause: string) => instance.drain({}, cause) };
  } catch (error) {
    const { host, port } = config.server;
    return cannotStart(`cannot listen on ${hostAndPort(host, port)}: ${(error as Error).message}. Set PORT to a free port, and HOST to an address of this machine.`);
  }
}

/**
 * `/metrics` on its own port with METRICS=port; exits with one line when the port is taken. Once a drain has begun
 * (`draining`), the port failing is one warning and undefined: the drain decides the exit, and exiting 1 there cut
 * the requests it was draining.
 */
async function serveMetricsOrExit(config: GatewayConfig, source: MetricsSource, logger: Logger, draining: () => boolean): Promise<MetricsServer | undefined> {
  const { metricsHost, metricsPort } = config.telemetry;
  try {
    const server = await serveMetrics(source, metricsPort, metricsHost, logger, config.server);
    logger.info({ url: `http://${urlAuthority(metricsHost, server.port)}/metrics` }, 'metrics listening');
    return server;
  } catch (error) {
    const cause = `cannot serve metrics on ${hostAndPort(metricsHost, metricsPort)}: ${(error as Error).message}`;
    if (draining()) {
      logger.warn({ metricsHost, metricsPort }, `${cause}; shutting down anyway, so the drain goes on without them`);
      return undefined;
    }
    return cannotStart(`${cause}. Set METRICS_PORT to a free port and METRICS_HOST to an address of this machine, or METRICS=api or off.`);
  }
}

async function runSingle(config: GatewayConfig, logger: Logger, handOver: () => void): Promise<void> {
  // Before the instance exists, so its spans have a provider to go to.
  const tracing = startTracing(config.telemetry, logger);
  // Without UPSTREAM_URL the gateway runs on its built-in demo data.
  const demo = config.upstream.url ? undefined : await startDemoUpstream(config.cache.terminalTtlMs);
  const upstreamUrl = config.upstream.url ?? demo!.url;
  const serving = await listenOrExit(config, upstreamUrl, logger, Boolean(demo));
  // On from the moment the API port listens (and /ready answers 200), as what it serves must be drained: put on only
  // once the metrics port listened too, a signal while that port bound exited at once, cutting requests in flight.
  let metrics: MetricsServer | undefined;
  let stopping = false;
  onSignals(logger, async (signal) => {
    stopping = true;
    await serving.drain(signal);
    await metrics?.close();
    // Flushes the spans still batched.
    await tracing?.shutdown();
    await demo?.close();
  }, handOver);
  // The workers' series as a cluster's primary exports them, so one dashboard fits WORKERS=1 and N: this process is the one
  // worker, serving (the API port listens), and none ever exits to be replaced. Here, also with METRICS=api.
  if (serving.metrics) observeWorkers(serving.metrics.registry, 1, () => ({ starting: 0, serving: 1 }));
  if (config.telemetry.metrics === 'port' && serving.metrics) metrics = await serveMetricsOrExit(config, registrySource(serving.metrics.registry), logger, () => stopping);
  // A signal came while the metrics port bound: the drain ends the process (and closes that port if it listens by
  // then), and the gateway does not say it listens after it said it drains.
  if (stopping) return;
  const url = publicUrl(config, serving.port);
  logger.info({ url, upstream: demo ? 'demo' : upstreamUrl, ...buildInfo }, 'execution-gateway listening');
  if (demo) printDemoBanner(url, config);
}

/** Beyond a worker's own drain budget, for its exit itself (the upstream pool and the metrics port closing) before the primary gives up on it. */
const WORKER_EXIT_MARGIN_MS = 1_000;

/**
 * The longest a worker's drain can take, in ms, from when it starts (the signal, or for a worker still starting, its
 * listening) to its exit: unready, grace, the answers to the requests it cut, Redis's goodbye (replies in flight wait up to REDIS_COMMAND_TIMEOUT_MS),
 * the spans' flush when tracing is on, stdout's flush, and a margin (README "Health, readiness and drain"). A worker
 * past it is stuck, and is killed.
 */
function workerDrainBudgetMs(config: GatewayConfig): number {
  const { shutdownUnreadyMs, shutdownGraceMs } = config.server;
  const { redisUrl, redisCommandTimeoutMs } = config.sharedState;
  return (
    shutdownUnreadyMs +
    shutdownGraceMs +
    // The 503s of the requests the grace's end cut, waited for before their connections close (./drain.ts).
    CUT_ANSWER_MS +
    (redisUrl ? redisCommandTimeoutMs : 0) +
    (spansUrl(config.telemetry) ? FLUSH_AT_SHUTDOWN_MS : 0) +
    LOG_EXIT_FLUSH_MS +
    WORKER_EXIT_MARGIN_MS
  );
}

/**
 * The primary's shutdown: each worker drains (told by DRAIN_MESSAGE) and
 * exits; none is replaced from the first signal on (`stopping` also cancels a
 * replacement still waiting out its back-off). Exits 0 once every worker that
 * had listened exited 0, else 1. A worker that never listened and exits 1
 * failed at start (or was cut while starting): it served nothing, so it is
 * logged but does not turn a clean drain into 1. One still running `budgetMs`
 * after its drain began is killed. A second signal (not a copy of the first:
 * SIGNAL_COPY_MS) kills the workers and exits 1.
 */
function onPrimarySignals(
  logger: Logger,
  budgetMs: number,
  stopping: () => void,
  started: () => { demo?: FakeUpstream; metrics?: MetricsServer },
  hasListened: (worker: Worker) => boolean,
  handOver: () => void,
): void {
  const seen = signalSeen(logger);
  const onSignal = (signal: NodeJS.Signals) => {
    const seenAs = seen(signal);
    if (seenAs === 'copy') return;
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    if (seenAs === 'second') {
      logger.warn({ signal, workers: workers.length }, 'second signal during shutdown: killing the workers and exiting at once');
      for (const worker of workers) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping();
    logger.info({ signal, workers: workers.length }, 'shutting down: every worker drains');
    // A worker whose event loop is stuck never drains, and while it holds its share of the port the primary goes on
    // accepting connections for it that nobody answers: past the budget its drain has, it is killed. The budget runs
    // from when it drains: the signal, or for one still starting, its listening (its start is no part of it).
    const deadlines: NodeJS.Timeout[] = [];
    const watch = (worker: Worker) =>
      deadlines.push(
        setTimeout(() => {
          if (worker.isDead()) return;
          // `worker`, not `pid`: pino writes the primary's own `pid` on every line.
          logger.error({ worker: worker.process.pid, budgetMs }, 'worker still running past the drain budget: killing it');
          worker.process.kill('SIGKILL');
        }, budgetMs),
      );
    const exits = workers.map(
      (worker) =>
        new Promise<{ code: number | null; listened: boolean }>((resolve) => {
          // Whether it listened is read at its exit: one still starting at the signal may listen, then drain.
          worker.once('exit', (code: number | null) => resolve({ code, listened: hasListened(worker) }));
          // A worker whose channel is gone is exiting anyway (sending would be an unhandled 'error').
          const tell = () => worker.isConnected() && worker.send(DRAIN_MESSAGE);
          tell();
          if (hasListened(worker)) watch(worker);
          // A worker still starting may not have heard it yet; once it listens, it surely does (telling twice is harmless).
          else
            worker.once('listening', () => {
              tell();
              watch(worker);
            });
        }),
    );
    void Promise.all(exits).then(async (results) => {
      for (const deadline of deadlines) clearTimeout(deadline);
      const { demo, metrics } = started();
      await metrics?.close();
      await demo?.close();
      const failed = results.filter(({ code, listened }) => code !== 0 && listened).length;
      const failedAtStart = results.filter(({ code, listened }) => code !== 0 && !listened).length;
      if (failedAtStart > 0) logger.warn({ failedAtStart }, 'workers that had not started exited with an error; they served nothing');
      if (failed > 0) logger.error({ failed }, 'workers stopped; some did not exit cleanly');
      else logger.info({ workers: results.length }, 'workers stopped');
      process.exit(failed > 0 ? 1 : 0);
    });
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  handOver();
}

async function runPrimary(config: GatewayConfig, logger: Logger, handOver: () => void): Promise<void> {
  let stopping = false;
  let demo: FakeUpstream | undefined;
  let metrics: MetricsServer | undefined;
  const forkedAt = new WeakMap<Worker, number>();
  const listened = new WeakSet<Worker>();
  /** Replacements waiting out their back-off. */
  const pendingForks = new Set<NodeJS.Timeout>();
  /** Settled (with undefined) by the first signal: a wait for a worker to listen ends there. */
  let stopped: () => void = () => undefined;
  const stoppedNow = new Promise<undefined>((resolve) => (stopped = () => resolve(undefined)));
  // Before anything starts, so a signal during start-up drains too.
  onPrimarySignals(
    logger,
    workerDrainBudgetMs(config),
    () => {
      stopping = true;
      stopped();
      for (const timer of pendingForks) clearTimeout(timer);
      pendingForks.clear();
    },
    () => ({ demo, metrics }),
    (worker) => listened.has(worker),
    handOver,
  );
  demo = config.upstream.url ? undefined : await startDemoUpstream(config.cache.terminalTtlMs);
  const upstreamUrl = config.upstream.url ?? demo!.url;
  const env = { UPSTREAM_URL: upstreamUrl, ...(demo ? { [DEMO_UPSTREAM_MARKER]: '1' } : {}) };
  // Before the first fork, so it hears every worker say its registry is ready, and counts every worker from its fork.
  const own = config.telemetry.metrics === 'port' ? new Registry() : undefined;
  const metricsSource = own && clusterSource(own);
  /** The workers alive (forked, not yet exited): `cluster.workers` drops one already at its disconnect, while it drains. */
  const alive = new Set<Worker>();
  const workerSeries =
    own &&
    observeWorkers(own, config.server.workers, () => {
      let serving = 0;
      for (const worker of alive) if (listened.has(worker)) serving++;
      return { starting: alive.size - serving, serving };
    });
  // While the first workers start, each distinct line once: they all fail alike (a port taken, a manifest unreadable).
  // A replacement's failure later is an event of its own, each told.
  const told = new Set<string>();
  const firstWorkers = new WeakSet<Worker>();
  // Whether any worker has listened: from then on, an exit is a crash, not a failed start.
  let anyListened = false;
  // The API port each worker listens on, from the address of its `listening`, not a question to a worker, which could
  // die before it answered. They share one port while any of them listens; once every worker on it died, node:cluster
  // closed it, and with PORT=0 the next worker to listen gets another: the one logged is read from a worker
  // listening now (servingPort), never the last one seen.
  const ports = new WeakMap<Worker, number>();
  const servingPort = (): number | undefined => {
    for (const worker of alive) if (worker.isConnected() && ports.has(worker)) return ports.get(worker);
    return undefined;
  };
  // Where the workers stand, told to each worker, whose `/ready` follows it (./worker-readiness.ts). A replacement
  // forked after failures at start is on probation until it has served FAILED_AT_START_MS: counted from its listening,
  // not its fork, since a loaded machine may take longer than that to start one, which then was ready at once.
  let anyExited = false;
  let failedInARow = 0;
  /** When each replacement on probation listened. */
  const probation = new WeakMap<Worker, number>();
  /** Replacements forked after failures at start: each goes on probation when it listens. */
  const afterFailures = new WeakSet<Worker>();
  const report = (): WorkersReport => {
    let serving = 0;
    let onProbation = false;
    for (const worker of alive) {
      if (!listened.has(worker) || !worker.isConnected()) continue;
      serving++;
      const since = probation.get(worker);
      if (since !== undefined && performance.now() - since < FAILED_AT_START_MS) onProbation = true;
    }
    return workersReport({ configured: config.server.workers, serving, anyExited, failedAtStartInARow: failedInARow, onProbation });
  };
  const tellWorkers = (): void => {
    // Draining workers answer 503 of their own accord.
    if (stopping) return;
    const message = workersMessage(report());
    // The callback takes a send that fails as the worker's channel closes (it is exiting), which would be an 'error'.
    for (const worker of alive) if (worker.isConnected()) worker.send(message, () => undefined);
  };
  const fork = (): Worker => {
    const worker = cluster.fork(env);
    alive.add(worker);
    worker.once('exit', () => alive.delete(worker));
    worker.on('message', (message: unknown) => {
      if (!isStartFailure(message) || (firstWorkers.has(worker) && told.has(message.line))) return;
      told.add(message.line);
      process.stderr.write(`execution-gateway: ${message.line}\n`);
    });
    forkedAt.set(worker, performance.now());
    if (failedInARow > 0) afterFailures.add(worker);
    worker.once('listening', (address: { port: number }) => {
      listened.add(worker);
      anyListened = true;
      ports.set(worker, address.port);
      if (afterFailures.has(worker)) {
        const since = performance.now();
        probation.set(worker, since);
        // Its probation's end may make the process ready: said then, not at the next exit. Checked against the clock
        // `report` reads: a timer fires by the loop's time, kept in whole ms, up to a millisecond before 5,000 ms have
        // passed by performance.now(), and `report` then still found the worker on probation, and with nothing left to
        // tell the workers again, /ready said `restarting` until the next exit (twice in three CI runs).
        const probationEnds = (): void => {
          const left = since + FAILED_AT_START_MS - performance.now();
          if (left > 0) setTimeout(probationEnds, Math.ceil(left)).unref();
          else tellWorkers();
        };
        setTimeout(probationEnds, FAILED_AT_START_MS).unref();
      }
      tellWorkers();
    });
    return worker;
  };
  let givingUp = false;
  /**
   * Ends the first start: one error line naming the first worker to exit, its exit `code` and `signal` (one killed by
   * a signal prints no line of its own: the primary used to exit 1 in silence), the others killed (none serves yet),
   * exit 1. A worker that listens meanwhile changes nothing: the start has failed.
   */
  const failStart = (worker: Worker, code: number | null, signal: string | null): void => {
    if (givingUp) return;
    givingUp = true;
    logger.error({ worker: worker.process.pid, code, signal }, 'worker exited before any worker listened: the gateway cannot start');
    for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
    void logWritten(logger).then(() => process.exit(1));
  };
  // On before the first fork, so it sees every exit of the whole start (the first workers starting, the metrics port
  // binding): registered once the gateway said it listens, a worker that died before was never replaced.
  //
  // Until a worker has listened, one that exits failed the start: its replacement would fail alike (a port taken, a
  // manifest unreadable), so the primary gives up (failStart). Once one has listened, the configuration is proven: an
  // exit from then on, of a first worker still starting too, is a crash (the OOM killer on a loaded machine), and
  // giving up there killed the workers already serving, undrained.
  //
  // A worker that dies is replaced, so one crash never takes the service down. One that
  // failed at start would fail again at once: each such replacement in a row waits twice
  // as long as the one before (never giving up: the other workers keep serving, and the
  // cause, a file or a dependency, may come back); one that stayed up resets the wait.
  cluster.on('exit', (worker, code, signal) => {
    if (stopping || givingUp) return;
    // Set once a worker listened.
    if (!anyListened) return failStart(worker, code, signal);
    const failedAtStart = !listened.has(worker) || performance.now() - (forkedAt.get(worker) ?? 0) < FAILED_AT_START_MS;
    failedInARow = failedAtStart ? failedInARow + 1 : 0;
    anyExited = true;
    tellWorkers();
    const delayMs = failedInARow === 0 ? 0 : Math.min(REPLACE_BACKOFF_MS.first * 2 ** (failedInARow - 1), REPLACE_BACKOFF_MS.max);
    // `worker`, not `pid`: pino writes the primary's own `pid` on every line, and a second `pid` key made a line whose
    // readers keep one of the two (JSON.parse, jq: the last) or refuse it.
    logger.error({ worker: worker.process.pid, code, signal, failedAtStart, delayMs }, 'worker exited; starting another');
    workerSeries?.exited(signal, failedAtStart);
    const timer = setTimeout(() => {
      pendingForks.delete(timer);
      if (!stopping) fork();
    }, delayMs);
    pendingForks.add(timer);
  });
  const workers = Array.from({ length: config.server.workers }, () => {
    const worker = fork();
    firstWorkers.add(worker);
    return worker;
  });
  // Each first worker listened, or exited: before any listened that failed the start (failStart exits), after, it is
  // being replaced, and the others serve meanwhile.
  await Promise.all(workers.map((worker) => new Promise((resolve) => (worker.once('listening', resolve), worker.once('exit', resolve)))));
  // A signal came while the workers started: its drain (onPrimarySignals) decides the exit, a worker
  // that exited unstarted included, and nothing more starts. Going on opened the metrics port, logged
  // `execution-gateway listening` and printed the demo's banner after `shutting down`, and a worker
  // told to drain before it listened (it exits at once) made this exit 1, killing the other workers.
  if (stopping || givingUp || !anyListened) return;
  // One scrape of the primary answers the workers' sum.
  if (metricsSource) metrics = await serveMetricsOrExit(config, metricsSource, logger, () => stopping);
  // A metrics server started meanwhile is closed by the drain, which reads it when the workers have exited.
  if (stopping) return;
  // The port a worker listens on now, waiting for one when none does: every worker that had listened died meanwhile,
  // their port closed, and the last one seen was logged while nothing listened there (with PORT=0 the replacement
  // then listens on another).
  const port = servingPort() ?? (await Promise.race([new Promise<number>((resolve) => cluster.once('listening', (_worker, address) => resolve(address.port))), stoppedNow]));
  if (stopping || port === undefined) return;
  const url = publicUrl(config, port);
  logger.info({ url, workers: config.server.workers, upstream: demo ? 'demo' : upstreamUrl, ...buildInfo }, 'execution-gateway listening');
  if (demo) printDemoBanner(url, config);
}

async function runWorker(config: GatewayConfig, logger: Logger, handOver: () => void): Promise<void> {
  let serving: Awaited<ReturnType<typeof listenOrExit>> | undefined;
  const tracing = startTracing(config.telemetry, logger);
  // A worker told to drain before it listens has nothing to drain.
  const begin = onSignals(logger, async (cause) => {
    await serving?.drain(cause);
    await tracing?.shutdown();
  }, handOver);
  // The primary's word on the workers, which this worker's `/ready` follows; none until it first speaks.
  let workers: WorkersReport | undefined;
  process.on('message', (message) => {
    if (message === DRAIN_MESSAGE) begin('primary');
    workers = reportOf(message) ?? workers;
  });
  serving = await listenOrExit(config, config.upstream.url!, logger, servesDemoUpstream(), () => workers);
  if (config.telemetry.metrics === 'port' && serving.metrics) workerRegistry(serving.metrics.registry);
}

/**
 * A write to stdout or stderr that fails, node raises as an unhandled 'error' that ends the process: a reader that
 * left (`npm start | head`, a log shipper that died: EPIPE) or a log file on a full disk (ENOSPC) ended every request
 * in flight, and a supervisor restarted the gateway into the same failure. The gateway serves on: what it prints
 * there is lost (the logger, which writes stdout itself, keeps and counts its lines). A failure of stdout other than
 * a reader leaving is told once on stderr; stderr's own, to nobody.
 */
function outliveWriteErrors(stream: NodeJS.WriteStream, name: 'stdout' | 'stderr'): void {
  let told = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (name === 'stderr' || error.code === 'EPIPE' || told) return;
    told = true;
    try {
      writeSync(2, `execution-gateway: cannot write to stdout (${error.message}): what the gateway prints there is lost; it serves on\n`);
    } catch {
      // stderr fails too: nobody to tell.
    }
  });
}

/**
 * The warning for command-line arguments, which the gateway reads none of: `npm start -- --port 4001` served on PORT's
 * port, 4000, and said nothing of the `--port` it had been given. Names the options given (`--port`, cut at `=`),
 * never a value, which may be a secret (`--redis-url=redis://:password@…`).
 */
export function ignoredArguments(args: readonly string[]): { fields: { arguments: number; options: string[] }; message: string } | undefined {
  if (args.length === 0) return undefined;
  const options = args.filter((arg) => arg.startsWith('-')).map((arg) => arg.split('=')[0]!.slice(0, 40)).slice(0, 10);
  const named = options.length > 0 ? ` (${options.join(', ')})` : '';
  return {
    fields: { arguments: args.length, options },
    message: `command-line arguments${named} are ignored: every setting is an environment variable, as in PORT=4001 npm start (README "Configuration")`,
  };
}

/**
 * Runs the gateway as configured by the environment: one process, or a primary and its workers. `handOver` takes
 * off the handlers of a signal while starting (./starting-signals.ts) once the process's own are on.
 */
export async function run(handOver: () => void = () => undefined): Promise<void> {
  outliveWriteErrors(process.stdout, 'stdout');
  outliveWriteErrors(process.stderr, 'stderr');
  const config = loadConfig();
  const logger = createLogger(config.telemetry.logLevel);
  // ioredis prints some warnings with console.warn, at each reconnect: as JSON lines instead, bounded, no secret in them.
  consoleToLog(logger, [...urlSecrets(config.sharedState.redisUrl), config.sharedState.redisKeySecret ?? '']);
  // Once per deployment, not per worker; the value is never logged (it may be a secret).
  if (!cluster.isWorker) {
    for (const { variable, setting } of nearMissSettings()) {
      logger.warn({ variable, setting }, `${variable} is no setting and is ignored: did you mean ${setting}?`);
    }
    for (const { variable, message } of unreadVariables()) logger.warn({ variable }, message);
    const envFile = envFileWarning();
    if (envFile) logger.warn(envFile.fields, envFile.message);
    const ignored = ignoredArguments(process.argv.slice(2));
    if (ignored) logger.warn(ignored.fields, ignored.message);
    const pastBudget = timeoutPastBudget(config.upstream);
    if (pastBudget) logger.warn({ variable: 'UPSTREAM_TIMEOUT_MS' }, pastBudget);
    const tracesEndpoint = tracesEndpointWarning(config.telemetry);
    if (tracesEndpoint) logger.warn({ variable: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' }, tracesEndpoint);
    for (const { variable, message } of unusedSettings(config)) logger.warn({ variable }, message);
    // A replica whose manifest lost REDIS_URL serves and polls alone, in silence, beside a fleet that shares.
    if (config.sharedState.redisKeySecret !== undefined && config.sharedState.redisUrl === undefined) {
      logger.warn('REDIS_KEY_SECRET is set but REDIS_URL is not: this process shares nothing with other replicas');
    }
    // Set for the upstream to come, it turned every demo query into BAD_USER_INPUT with nothing said at start.
    const demoIdsRefused = config.upstream.url ? undefined : demoIdsRefusedWarning(config.upstream.executionIdPattern);
    if (demoIdsRefused) logger.warn(demoIdsRefused.fields, demoIdsRefused.message);
    // Each worker has the heap and the bounds the primary has (NODE_OPTIONS and the settings are theirs too).
    const overrun = heapOverrun(config);
    if (overrun) logger.warn(overrun.fields, overrun.message);
  }
  if (config.server.workers > 1 && cluster.isPrimary) await runPrimary(config, logger, handOver);
  else if (cluster.isWorker) await runWorker(config, logger, handOver);
  else await runSingle(config, logger, handOver);
}
