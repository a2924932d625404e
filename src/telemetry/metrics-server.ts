/**
 * `/metrics` on its own port (METRICS=port, the default): METRICS_HOST,
 * loopback unless configured, so the series are not exposed with the API.
 * GET and HEAD only; anything else on this port is a 404 or a 405. A target in
 * absolute-form is routed by its path, as on the API port.
 *
 * With WORKERS=N the primary serves it, and one scrape answers the sum over the
 * workers that are ready (`clusterSource` asks each over the cluster channel,
 * `workerRegistry` answers in the worker; prom-client's AggregatorRegistry sums),
 * with the primary's own series about its workers (./worker-metrics.ts).
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { adoptSocket, endWith, pathOf, toOriginForm, whenAnswered } from '../server/raw-http.js';
import { timeLimits, type TimeSettings } from '../server/time-limits.js';
import { CACHE_CONTROL } from '../pipeline/cache-control.js';
import { METRICS_PATH } from './metrics.js';

/** Where a scrape's text comes from: one registry, or the workers' sum. */
export type MetricsSource = () => Promise<{ contentType: string; text: string }>;

export const registrySource =
  (registry: Registry): MetricsSource =>
  async () => ({ contentType: registry.contentType, text: await registry.metrics() });

/** A worker's word to the primary that its registry exists and can be asked. */
const READY_MESSAGE = 'execution-gateway:metrics-ready';
const ASK_TYPE = 'execution-gateway:metrics?';
const ANSWER_TYPE = 'execution-gateway:metrics';
/** How long a scrape waits for the ready workers' answers before it fails (a 500), in ms. */
const ASK_TIMEOUT_MS = 5_000;

interface Ask {
  type: typeof ASK_TYPE;
  id: number;
}
interface Answer {
  type: typeof ANSWER_TYPE;
  id: number;
  /** The worker's `registry.getMetricsAsJSON()`. */
  metrics?: object[];
  /** Instead of `metrics`: why they could not be read. */
  error?: string;
}

const isAsk = (message: unknown): message is Ask => typeof message === 'object' && message !== null && (message as Ask).type === ASK_TYPE;
const isAnswer = (message: unknown): message is Answer => typeof message === 'object' && message !== null && (message as Answer).type === ANSWER_TYPE;

/**
 * The primary's source with WORKERS=N: the registries of the workers that are
 * ready (they said so once their registry existed), summed with prom-client's
 * `AggregatorRegistry.aggregate` (gauges as each metric's `aggregator` says).
 * Create it before forking, so no worker's ready message is missed.
 *
 * Not `AggregatorRegistry#clusterMetrics`: it asks every worker in
 * `cluster.workers`, also one still starting that has no registry yet, and then
 * waits 5 s and fails, so every scrape during a replacement would be a 500. A
 * worker that exits during a scrape is left out of it (its counts drop, as
 * when it is replaced); a ready worker that does not answer in 5 s fails the
 * scrape.
 *
 * `own`: the primary's registry, added to the sum: series only the primary
 * knows (its workers, counted across their deaths), named apart from the
 * workers' (none is summed with a worker's).
 */
export function clusterSource(own?: Registry): MetricsSource {
  const ready = new Set<Worker>();
  const pending = new Map<number, { waiting: Set<Worker>; answers: object[][]; settle: (error?: Error) => void }>();
  let nextId = 0;
  cluster.on('message', (worker, message: unknown) => {
    if (message === READY_MESSAGE) ready.add(worker);
    if (!isAnswer(message)) return;
    const scrape = pending.get(message.id);
    if (!scrape || !scrape.waiting.delete(worker)) return;
    if (message.error !== undefined) return scrape.settle(new Error(message.error));
    scrape.answers.push(message.metrics ?? []);
    if (scrape.waiting.size === 0) scrape.settle();
  });
  cluster.on('exit', (worker) => {
    ready.delete(worker);
    for (const scrape of pending.values()) if (scrape.waiting.delete(worker) && scrape.waiting.size === 0) scrape.settle();
  });
  return async () => {
    const id = nextId++;
    const answers: object[][] = [];
    // A worker whose channel is gone is exiting (sending would be an unhandled 'error'); its 'exit' removes it.
    const waiting = new Set([...ready].filter((worker) => worker.isConnected()));
    if (waiting.size > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => settle(new Error(`${waiting.size} worker(s) did not answer within ${ASK_TIMEOUT_MS} ms`)), ASK_TIMEOUT_MS);
        const settle = (error?: Error) => {
          clearTimeout(timer);
          pending.delete(id);
          if (error) reject(error);
          else resolve();
        };
        pending.set(id, { waiting, answers, settle });
        const ask: Ask = { type: ASK_TYPE, id };
        // A channel that closes in between fails the send; that worker's 'exit' then leaves it out.
        for (const worker of waiting) worker.send(ask, () => undefined);
      });
    }
    if (own) answers.push(await own.getMetricsAsJSON());
    const registry = AggregatorRegistry.aggregate(answers);
    return { contentType: registry.contentType, text: await registry.metrics() };
  };
}

/**
 * In a worker: answers the primary's scrapes from `registry`, and tells the
 * primary it may ask from now on.
 */
export function workerRegistry(registry: Registry): void {
  process.on('message', (message: unknown) => {
    if (!isAsk(message)) return;
    // A primary gone (or a channel closed by the drain) has no use for the answer.
    const reply = (answer: Answer) => process.connected && process.send?.(answer, undefined, undefined, () => undefined);
    registry.getMetricsAsJSON().then(
      (metrics) => reply({ type: ANSWER_TYPE, id: message.id, metrics }),
      (error: unknown) => reply({ type: ANSWER_TYPE, id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  if (process.connected) process.send?.(READY_MESSAGE, undefined, undefined, () => undefined);
}

/** What llhttp reads as asking to upgrade (RFC 9110 §7.8): an Upgrade field, named in Connection. */
function asksToUpgrade(request: IncomingMessage): boolean {
  const connection = request.headers.connection ?? '';
  return request.headers.upgrade !== undefined && connection.split(',').some((token) => token.trim().toLowerCase() === 'upgrade');
}

/** The answer to a CONNECT: this port is no proxy. */
const NO_TUNNEL = 'This port serves /metrics and is no proxy: CONNECT is not allowed. Use GET.\n';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0: a free one) and answers `/metrics` from `source`, under the API port's time limits. */
export async function serveMetrics(source: MetricsSource, port: number, host: string, logger: Logger, times: TimeSettings): Promise<MetricsServer> {
  const { keepAliveTimeout, ...limits } = timeLimits(times);
  const server: Server = createServer(limits, (request, response) => {
    // Node's parser reads nothing after the head of a request asking to upgrade (h2c, WebSocket), which this port
    // does not take: a request pipelined behind it was never answered, and the connection sat silent until the
    // keep-alive timeout. Closing after this answer tells the client to send it again on a new connection.
    if (asksToUpgrade(request)) response.shouldKeepAlive = false;
    // RFC 9112 §3.2.2: a server MUST accept the absolute-form (`GET http://host:9464/metrics`, a proxy's scrape), which
    // the API port routes by its path; compared as sent, it was a 404 here.
    toOriginForm(request);
    const path = pathOf(request);
    if (path !== METRICS_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': CACHE_CONTROL }).end(`Not found: metrics are at ${METRICS_PATH}.\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8', 'cache-control': CACHE_CONTROL }).end('Use GET.\n');
      return;
    }
    source().then(
      ({ contentType, text }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': CACHE_CONTROL });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'metrics could not be collected');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': CACHE_CONTROL }).end('Metrics could not be collected; see the gateway log.\n');
      },
    );
  });
  // With no 'connect' listener node destroys a CONNECT's socket unanswered, and what was pipelined behind it. Answered
  // as the API port answers one (../server/http-edge.ts): after any scrape before it on the connection, then closed.
  server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    adoptSocket(socket);
    request.resume();
    whenAnswered(socket, () => endWith(socket, '405 Method Not Allowed', 'text/plain; charset=utf-8', NO_TUNNEL, { allow: 'GET, HEAD' }));
  });
  server.keepAliveTimeout = keepAliveTimeout;
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
