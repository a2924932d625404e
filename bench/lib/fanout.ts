/**
 * The "direct upstream" reference for a request that needs several executions
 * (S3): what a client without the gateway would do, i.e. fetch each id from REST
 * itself, at most `concurrencyPerRequest` at a time (the gateway's default
 * policy), over one keep-alive pool the size of the gateway's. Closed loop with
 * `clients` concurrent logical requests for `duration` seconds, in the driver's
 * process; latency is per logical request (all its ids answered).
 */
import { Pool } from 'undici';
import { summarize } from './measure.js';
import type { LoadResult } from './load.js';

export interface FanoutOptions {
  origin: string;
  headers: Record<string, string>;
  /** The paths of the i-th logical request. */
  paths: (i: number) => string[];
  clients: number;
  /** Seconds; ignored when `amount` is given. */
  duration: number;
  /** Run exactly this many logical requests instead of for `duration`. */
  amount?: number;
  concurrencyPerRequest: number;
  connections: number;
}

export async function runFanout(options: FanoutOptions): Promise<LoadResult> {
  const pool = new Pool(options.origin, { connections: options.connections });
  const durations: number[] = [];
  let next = 0;
  let non2xx = 0;
  let socketErrors = 0;
  let badBodies = 0;
  let sent = 0;
  const statusCodes: Record<string, number> = {};
  const started = performance.now();
  const deadline = started + options.duration * 1000;
  const more = () => (options.amount !== undefined ? next < options.amount : performance.now() < deadline);

  const fetchOne = async (path: string) => {
    try {
      const response = await pool.request({ method: 'GET', path, headers: options.headers });
      const text = await response.body.text();
      statusCodes[response.statusCode] = (statusCodes[response.statusCode] ?? 0) + 1;
      if (response.statusCode < 200 || response.statusCode >= 300) non2xx++;
      else if (!text.startsWith('{"code":200')) badBodies++;
    } catch {
      socketErrors++;
    }
  };
  const logical = async (paths: string[]) => {
    let index = 0;
    const worker = async () => {
      while (index < paths.length) await fetchOne(paths[index++]!);
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrencyPerRequest, paths.length) }, worker));
  };
  const client = async () => {
    while (more()) {
      const paths = options.paths(next++);
      sent++;
      const begin = performance.now();
      await logical(paths);
      // Only logical requests that finished inside the window count, as with autocannon.
      if (options.amount !== undefined || performance.now() <= deadline) durations.push(performance.now() - begin);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.clients }, client));
  } finally {
    await pool.close();
  }
  const seconds = options.amount !== undefined ? (performance.now() - started) / 1000 : options.duration;
  const latency = summarize(durations);
  return {
    completed: durations.length,
    sent,
    seconds,
    rps: durations.length / seconds,
    latencyMs: { p50: latency.p50, p90: latency.p90, p99: latency.p99, mean: latency.mean, max: durations.reduce((a, b) => Math.max(a, b), 0) },
    non2xx,
    socketErrors,
    timeouts: 0,
    badBodies,
    errors: non2xx + socketErrors + badBodies,
    statusCodes,
    echoedRequestIds: [],
  };
}
