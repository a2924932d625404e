/**
 * `/health` and `/ready`, answered by the HTTP edge before any lane: cheap, no
 * auth, no CORS, never cached, GET and HEAD only. Another method is no probe:
 * the edge refuses it (405, `probeMethodRefusal`) as it refuses any request, with
 * an access line and a count, where the probes' own answers get neither.
 *
 * - `/health` (liveness) is 200 while the process lives, whatever it is doing:
 *   restarting a process that drains or waits on upstream would only lose work.
 *   Once a drain has closed the listener (./drain.ts) no probe reaches it: its
 *   connection is refused, as any new one.
 *   Its body names the build: `{"status":"ok","version":…,"commit":…}`.
 * - `/ready` (readiness) is 200 once the gateway can serve (it listens; in demo
 *   mode its demo upstream already runs) and 503 while it starts or drains
 *   (./drain.ts). Its body reports the upstream circuit without failing on it:
 *   an upstream outage is shared by every replica, so failing readiness on it
 *   would pull them all out of the load balancer at once, and clients would
 *   get connection errors instead of the coded UPSTREAM_UNAVAILABLE.
 *   With REDIS_URL it reports Redis too, `"redis": "connected"` or `"degraded"`
 *   (then `"redisReason"`, why, with no address in it),
 *   and `"redisKeySecretMismatch": true` while another replica on that Redis and
 *   prefix uses another REDIS_KEY_SECRET: never failing on either, as a rotation
 *   of the secret runs two for a while.
 *   With WORKERS > 1 it also says where the process's workers stand, as the
 *   primary last told this worker (./worker-readiness.ts): 503 with `"status":
 *   "starting"` or `"restarting"` and the counts under `workers` while fewer
 *   serve than configured, since the balancer sees one process, not a worker.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildInfo } from '../build-info.js';
import { onlyGetAndHead } from '../errors.js';
import type { RedisHealth } from '../shared-state/redis-store.js';
import type { ExecutionsClient } from '../upstream/executions-client.js';
import type { CircuitName } from '../upstream/resilience.js';
import { pathOf } from './raw-http.js';
import { CACHE_CONTROL } from '../pipeline/cache-control.js';
import type { WorkersReport } from './worker-readiness.js';

const HEALTH_PATH = '/health';
/** `/health`'s body: alive, and which build (src/build-info.ts). */
const HEALTHY = JSON.stringify({ status: 'ok', version: buildInfo.version, commit: buildInfo.commit });
const READY_PATH = '/ready';

/**
 * Paths a probe written for another convention asks for (Kubernetes' own `/healthz`, `/livez`, `/readyz`; a
 * trailing slash): still 404, which names the probes' paths rather than GraphQL's alone.
 */
export const PROBE_NEAR_MISSES: readonly string[] = ['/healthz', '/livez', '/readyz', `${HEALTH_PATH}/`, `${READY_PATH}/`];

/** The 404 of a PROBE_NEAR_MISSES path. */
export const probeNotHere = (graphqlPath: string) => `Not found: liveness is served at ${HEALTH_PATH}, readiness at ${READY_PATH}. GraphQL is served at ${graphqlPath}.`;

/**
 * The message of the 405 for a request to `/health` or `/ready` by a method other than GET and HEAD; undefined
 * for any other request. The answer's `Allow` is `GET, HEAD`.
 */
export function probeMethodRefusal(request: Pick<IncomingMessage, 'method' | 'url'>): string | undefined {
  const path = pathOf(request);
  if (path !== HEALTH_PATH && path !== READY_PATH) return undefined;
  return request.method === 'GET' || request.method === 'HEAD' ? undefined : onlyGetAndHead(path);
}

/** Where a gateway instance stands: `/ready` is 200 only when it is `ready`. */
export type Readiness = 'starting' | 'ready' | 'draining';

/** What `/ready` says of upstream. */
export interface UpstreamHealth {
  circuit: CircuitName;
  /** Why the circuit last opened; only while it is not closed. */
  reason?: string;
}


/** What `/ready` reads of Redis (a RedisStore, src/shared-state/redis-store.ts). */
export interface RedisReport {
  readonly health: RedisHealth;
  /** Why it is `degraded`, with no address in it; undefined while `connected`. */
  readonly reason: string | undefined;
  readonly keySecretMismatch: boolean;
}

/** The upstream circuit as the client's policies see it now. */
export function upstreamHealth(client: ExecutionsClient): UpstreamHealth {
  const circuit = client.policies.circuitState();
  const reason = client.policies.judge.reason;
  return circuit === 'closed' || !reason ? { circuit } : { circuit, reason };
}

/** What a worker says before its primary has told it anything (it has just listened). */
const UNHEARD = { status: 'starting', reason: 'the primary has not yet said where its workers stand' } as const;

/** One instance's readiness: starting, then ready once it listens, then draining for good. */
export class Health {
  #readiness: Readiness = 'starting';

  /**
   * `redis`: where shared state stands, with REDIS_URL; reported, never failing readiness (same reason as upstream's).
   * `workers`: with WORKERS > 1, the primary's last word on its workers (undefined until it has spoken); failing
   * readiness unless `ready`.
   */
  constructor(
    private readonly upstream: () => UpstreamHealth,
    private readonly redis?: RedisReport,
    private readonly workers?: () => WorkersReport | undefined,
  ) {}

  get readiness(): Readiness {
    return this.#readiness;
  }

  /** The instance can serve. A draining instance stays draining. */
  ready(): void {
    if (this.#readiness === 'starting') this.#readiness = 'ready';
  }

  /** The instance drains: `/ready` answers 503 from now on. */
  draining(): void {
    this.#readiness = 'draining';
  }

  /** Answers a GET or HEAD of `/health` and `/ready`; false (nothing sent) for any other request (`probeMethodRefusal`). */
  answer(request: IncomingMessage, response: ServerResponse, requestId: string): boolean {
    const path = pathOf(request);
    if (path !== HEALTH_PATH && path !== READY_PATH) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const headers: Record<string, string | number> = { 'cache-control': CACHE_CONTROL, 'x-request-id': requestId };
    // A draining instance keeps no connection open for the next probe: its listener is about to close. Said to node
    // (which then sends `Connection: close`), not as a header: the edge reads it to run nothing pipelined behind.
    if (this.#readiness === 'draining') response.shouldKeepAlive = false;
    let status = 200;
    let body: string;
    if (path === HEALTH_PATH) body = HEALTHY;
    else {
      const own = this.#readiness;
      // A worker that listens is ready only when the process is: the primary's word decides, and until it comes
      // the process is still starting. Its own draining (or starting) says more, and wins.
      const report = this.workers && (this.workers() ?? UNHEARD);
      const readiness = own === 'ready' && report ? report.status : own;
      if (readiness !== 'ready') status = 503;
      const redis = this.redis;
      // The mismatch only while seen, as the circuit's reason: a body that every replica agrees on stays as it was.
      // The reason while degraded: `degraded` alone sent the on-call to the log of the one replica that said why.
      const reason = redis?.reason;
      const shared = redis ? { redis: redis.health, ...(reason === undefined ? {} : { redisReason: reason }), ...(redis.keySecretMismatch ? { redisKeySecretMismatch: true } : {}) } : {};
      // The counts as the primary sent them, without its status (the body's own `status` says it); none before it spoke.
      const workers = report && ('configured' in report ? { configured: report.configured, serving: report.serving, failedAtStartInARow: report.failedAtStartInARow, ...(report.reason ? { reason: report.reason } : {}) } : { reason: report.reason });
      body = JSON.stringify({ status: readiness, ...(workers ? { workers } : {}), upstream: this.upstream(), ...shared });
    }
    response.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(request.method === 'HEAD' ? undefined : body);
    return true;
  }
}
