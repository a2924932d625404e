/**
 * `/metrics` on its own port (METRICS=port, the default): METRICS_HOST,
 * loopback unless configured, so the series are not exposed with the API.
 * GET and HEAD only; anything else on this port is a 404 or a 405.
 *
 * With WORKERS=N the primary serves it, and one scrape answers the sum over the
 * workers (prom-client's AggregatorRegistry asks each worker over the cluster
 * channel); `workerRegistry` is what each worker hands it.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { pathOf } from '../server/raw-http.js';

/** Where a scrape's text comes from: one registry, or the workers' sum. */
export type MetricsSource = () => Promise<{ contentType: string; text: string }>;

export const registrySource =
  (registry: Registry): MetricsSource =>
  async () => ({ contentType: registry.contentType, text: await registry.metrics() });

/** The primary's source with WORKERS=N: every worker's registry, summed (gauges as each metric's `aggregator` says). */
export function clusterSource(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return async () => ({ contentType: aggregator.contentType, text: await aggregator.clusterMetrics() });
}

/** In a worker: the registry the primary's scrape reads. */
export function workerRegistry(registry: Registry): void {
  AggregatorRegistry.setRegistries(registry);
  // prom-client (15.1.3) answers the primary's requests only once the worker has
  // constructed an AggregatorRegistry: its constructor adds the listener,
  // setRegistries does not. Without it every cluster scrape times out (5 s, a 500).
  new AggregatorRegistry();
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on host:port (0: a free one) and answers `/metrics` from `source`. */
export async function serveMetrics(source: MetricsSource, port: number, host: string, logger: Logger): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = pathOf(request);
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: metrics are at /metrics.\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('Use GET.\n');
      return;
    }
    source().then(
      ({ contentType, text }) => {
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.message : String(error) }, 'metrics could not be collected');
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('Metrics could not be collected; see the gateway log.\n');
      },
    );
  });
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
