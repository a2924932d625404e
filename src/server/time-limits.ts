/**
 * node:http's time limits for the gateway's servers, from HTTP_HEADERS_TIMEOUT_MS,
 * HTTP_REQUEST_TIMEOUT_MS and HTTP_KEEP_ALIVE_TIMEOUT_MS: the API port's
 * (./http-edge.ts) and the metrics port's (src/telemetry/metrics-server.ts),
 * which kept node's defaults (60 s for headers, 300 s for a request), so a
 * client sending half a head held it 30 times longer than the settings say.
 */
import type { ServerConfig } from '../config.js';

export type TimeSettings = Pick<ServerConfig, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs'>;

/** The options node:http's `createServer` takes for them, and the `keepAliveTimeout` to set on the server. */
export interface TimeLimits {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
  keepAliveTimeout: number;
}

/** How often node checks the time limits: often enough to answer within a tenth of the shorter one. */
function checkingIntervalMs(settings: TimeSettings): number {
  return Math.max(25, Math.min(1_000, Math.floor(Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs) / 10)));
}

export function timeLimits(settings: TimeSettings): TimeLimits {
  return {
    // Node refuses a headers timeout longer than the request timeout; the whole request bounds its headers too.
    headersTimeout: Math.min(settings.headersTimeoutMs, settings.requestTimeoutMs),
    requestTimeout: settings.requestTimeoutMs,
    connectionsCheckingInterval: checkingIntervalMs(settings),
    keepAliveTimeout: settings.keepAliveTimeoutMs,
  };
}
