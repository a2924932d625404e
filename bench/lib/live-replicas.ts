/**
 * bench:live with several replicas (LIVE_BENCH_REPLICAS=2): reading each
 * gateway's own `/metrics` without changing how it runs. The gateways run with
 * METRICS_PORT=0 (a free port, as in the single-replica run) and LOG_LEVEL=warn,
 * so the info line that names the port is not written: the port is found in
 * /proc instead, as the gateway process's listening TCP socket other than its
 * API port.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'undici';

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Loopback and other TCP ports a process listens on (its sockets matched against /proc/net/tcp{,6} in LISTEN state). */
export function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of read(`/proc/${pid}/net/${table}`).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (fields.length < 10 || fields[3] !== '0A' || !inodes.has(fields[9]!)) continue;
      ports.add(parseInt(fields[1]!.split(':').at(-1)!, 16));
    }
  }
  return [...ports];
}

/** Sum over label sets of each metric in a Prometheus text exposition. */
export function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{.*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[2]);
    if (Number.isFinite(value)) sums.set(match[1]!, (sums.get(match[1]!) ?? 0) + value);
  }
  return sums;
}

/** Reads `/metrics`; undefined when it cannot. */
export async function scrape(url: string): Promise<Map<string, number> | undefined> {
  try {
    const response = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await response.body.text();
    return response.statusCode === 200 ? parseMetrics(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The gateway's `/metrics` URL: the port it listens on besides `apiPort` that answers `/metrics` (waits up to `timeoutMs` for it to listen). */
export async function findMetricsUrl(pid: number, apiPort: number, timeoutMs = 5000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const port of listeningPorts(pid)) {
      if (port === apiPort) continue;
      const url = `http://127.0.0.1:${port}/metrics`;
      if ((await scrape(url))?.has('gateway_live_pollers')) return url;
    }
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the report reads from a replica's scrape. */
export interface ReplicaGauges {
  leasesHeld: number;
  pollers: number;
  subscriptions: number;
  redisUp: number;
  /** gateway_upstream_attempts_total, every outcome and attempt: upstream calls this replica made since it started. */
  upstreamAttempts: number;
}

export async function replicaGauges(url: string | undefined): Promise<ReplicaGauges> {
  const metrics = url ? await scrape(url) : undefined;
  const value = (name: string) => metrics?.get(name) ?? NaN;
  return {
    leasesHeld: value('gateway_live_leases_held'),
    pollers: value('gateway_live_pollers'),
    subscriptions: value('gateway_live_subscriptions'),
    redisUp: value('gateway_redis_up'),
    upstreamAttempts: value('gateway_upstream_attempts_total'),
  };
}
