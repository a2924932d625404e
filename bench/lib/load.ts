/**
 * Closed-loop HTTP load with autocannon (in this, the driver's, process), with
 * latencies kept at sub-millisecond resolution (autocannon's own histogram is in
 * whole milliseconds and stops at 10 s) and every response body checked.
 */
import autocannon, { type RequestParams } from 'autocannon';
import { Pool } from 'undici';
import { summarize } from './measure.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  /** This request's own headers (e.g. its caller's `authorization`), on top of the run's `headers`. */
  headers?: Record<string, string>;
}

export interface LoadOptions {
  /** Origin, e.g. http://127.0.0.1:4000. */
  origin: string;
  headers: Record<string, string>;
  /** The i-th request of the run (spreads load over ids). */
  request: (i: number) => LoadRequest;
  connections: number;
  /** Seconds. */
  duration: number;
  /** Per-request timeout, seconds. */
  timeout?: number;
  /** Checked on every 2xx response; false counts it as an error (e.g. a GraphQL `errors` entry). */
  verifyBody?: (body: string) => boolean;
  /** Each request carries `x-request-id: <prefix><n>`; responses echoing one are collected. */
  requestIdPrefix?: string;
}

export interface LoadResult {
  /** Responses received (any status). */
  completed: number;
  /** Requests written, including those still in flight when the run stopped. */
  sent: number;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  /** Connection errors and timeouts. */
  socketErrors: number;
  timeouts: number;
  /** 2xx responses whose body failed verification (e.g. GraphQL `errors`). */
  badBodies: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** x-request-id values echoed by responses, when `requestIdPrefix` was given. */
  echoedRequestIds: string[];
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let counter = 0;
  let badBodies = 0;
  const echoed: string[] = [];
  const durations: number[] = [];
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.duration,
    timeout: options.timeout ?? 10,
    headers: options.headers,
    requests: [
      {
        setupRequest: (request: RequestParams) => {
          const next = options.request(counter);
          const headers: Record<string, string> = { ...(request.headers as Record<string, string>), ...next.headers };
          if (options.requestIdPrefix) headers['x-request-id'] = `${options.requestIdPrefix}${counter}`;
          counter++;
          return { ...request, method: next.method, path: next.path, headers, ...(next.body !== undefined ? { body: next.body } : {}) };
        },
        onResponse: (status, body, _context, headers) => {
          // Checked here rather than with autocannon's verifyBody, which cannot tell a
          // non-2xx (already counted) from a 2xx with a bad body.
          if (status >= 200 && status < 300 && options.verifyBody && !options.verifyBody(body)) badBodies++;
          if (!options.requestIdPrefix) return;
          for (const [name, value] of Object.entries(headers)) {
            if (name.toLowerCase() === 'x-request-id') echoed.push(String(Array.isArray(value) ? value[0] : value));
          }
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => durations.push(responseTime));
  const result = await instance;
  const latency = durations.length ? summarize(durations) : { p50: NaN, p90: NaN, p99: NaN, mean: NaN };
  const completed = result.requests.total;
  const socketErrors = result.errors;
  return {
    completed,
    sent: result.requests.sent,
    seconds: result.duration,
    rps: completed / result.duration,
    latencyMs: { p50: latency.p50, p90: latency.p90, p99: latency.p99, mean: latency.mean, max: durations.length ? durations.reduce((a, b) => Math.max(a, b), 0) : NaN },
    non2xx: result.non2xx,
    socketErrors,
    timeouts: result.timeouts,
    badBodies,
    errors: result.non2xx + socketErrors + badBodies,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    echoedRequestIds: echoed,
  };
}

/**
 * Seconds of load before a measured run (BENCH_WARMUP_SECONDS), in run, gc and allocations alike. V8 goes on
 * optimising a fresh process's hot code on its background threads for many seconds of load, at several times
 * the CPU per request it then settles at, and longer for a larger program: a short warm-up measured that
 * tiering rather than the steady state a long-running gateway serves in (docs/performance.md "Warm-up" has the figures).
 */
export const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 20);

/**
 * Warm-up that ends gracefully: `connections` closed loops over one keep-alive
 * pool for `seconds`, each finishing the request it has in flight when time is
 * up. (autocannon ends a run by destroying its sockets mid-request, and a server
 * then keeps working on, or failing, the abandoned requests while the measured
 * run starts.) Returns the requests completed and those that failed.
 */
export async function warmUp(options: Omit<LoadOptions, 'duration' | 'requestIdPrefix'> & { seconds: number }): Promise<{ completed: number; failed: number }> {
  const pool = new Pool(options.origin, { connections: options.connections });
  const deadline = performance.now() + options.seconds * 1000;
  let next = 0;
  let completed = 0;
  let failed = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      if (await sendOne(pool, options, next++)) completed++;
      else failed++;
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, loop));
  } finally {
    await pool.close();
  }
  return { completed, failed };
}

/**
 * Sends the i-th request of `options` over `pool` and reads its answer whole: true for a
 * 2xx whose body passes `verifyBody`, false for anything else, a socket error or a timeout
 * (`options.timeout` seconds for the head and again for the body) included.
 */
export async function sendOne(pool: Pool, options: Pick<LoadOptions, 'headers' | 'request' | 'timeout' | 'verifyBody'>, i: number): Promise<boolean> {
  const { method, path, body, headers } = options.request(i);
  const timeoutMs = (options.timeout ?? 10) * 1000;
  try {
    const response = await pool.request({
      method,
      path,
      headers: headers ? { ...options.headers, ...headers } : options.headers,
      ...(body !== undefined ? { body } : {}),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await response.body.text();
    return response.statusCode >= 200 && response.statusCode < 300 && (!options.verifyBody || options.verifyBody(text));
  } catch {
    return false;
  }
}
