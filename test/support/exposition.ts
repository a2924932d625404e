/** Prometheus's text exposition, parsed strictly enough for tests that scrape a spawned gateway's metrics port. */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    if (!match) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) {
      labels[key!] = value!.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    }
    const raw = match[3]!;
    const value = /^nan$/i.test(raw) ? Number.NaN : /^\+?inf$/i.test(raw) ? Infinity : /^-inf$/i.test(raw) ? -Infinity : Number(raw);
    if (Number.isNaN(value) && !/^nan$/i.test(raw)) throw new Error(`bad sample value in ${JSON.stringify(line)}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
export function samplesOf(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

/** The one sample named `name` with `labels` (fails when there is none or several). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samplesOf(samples, name, labels);
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found[0]!.value;
}

/**
 * The workers' series (src/telemetry/worker-metrics.ts) of one scrape: `gateway_workers` by state,
 * `gateway_workers_configured`, and `gateway_worker_exits_total` as `reason/failedAtStart` → count, every pair.
 */
export function workerSeries(samples: Sample[]): { starting: number; serving: number; configured: number; exits: Record<string, number> } {
  const exits: Record<string, number> = {};
  for (const sample of samplesOf(samples, 'gateway_worker_exits_total')) exits[`${sample.labels.reason}/${sample.labels.failedAtStart}`] = sample.value;
  return {
    starting: valueOf(samples, 'gateway_workers', { state: 'starting' }),
    serving: valueOf(samples, 'gateway_workers', { state: 'serving' }),
    configured: valueOf(samples, 'gateway_workers_configured'),
    exits,
  };
}
