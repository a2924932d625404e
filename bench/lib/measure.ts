/** Sequential latency sampling on one keep-alive connection, reported as percentiles. */
import { Pool } from 'undici';

export interface LatencySummary {
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function summarize(durations: number[]): LatencySummary {
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    samples: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
  };
}

export interface Probe {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Also parse the body as JSON, the way any consumer of it would. */
  parse?: boolean;
}

/** Runs `warmup` untimed and `samples` timed requests, one at a time. */
export async function sampleLatency(origin: string, probe: Probe, samples: number, warmup: number): Promise<LatencySummary> {
  const pool = new Pool(origin, { connections: 1 });
  const once = async () => {
    const response = await pool.request({ method: probe.method, path: probe.path, headers: probe.headers, body: probe.body });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
    if (probe.parse) {
      const json = JSON.parse(text) as { errors?: unknown };
      if (json.errors) throw new Error(`GraphQL errors: ${JSON.stringify(json.errors).slice(0, 300)}`);
    }
  };
  try {
    for (let i = 0; i < warmup; i++) await once();
    const durations: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await once();
      durations.push(performance.now() - started);
    }
    return summarize(durations);
  } finally {
    await pool.close();
  }
}
