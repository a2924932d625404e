/**
 * Reads V8's `--trace-gc` lines, one per collection, e.g.
 *
 *   [123:0x5f0e2a0]   9232 ms: Scavenge 56.8 (92.6) -> 48.1 (92.6) MB, 10.76 / 0.01 ms  (average mu = …) task;
 *
 * and sums what a window of them cost: how many young-generation collections
 * (scavenges) and full ones (mark-compacts), their pause time, and how much
 * the heap kept growing across scavenges, which is memory promoted to the old
 * generation that only a full collection frees again.
 */

export interface GcEvent {
  /** Which V8 isolate (main thread or a worker thread) collected. */
  isolate: string;
  kind: 'scavenge' | 'mark-compact';
  /** Heap in use before and after the collection, MB. */
  beforeMb: number;
  afterMb: number;
  /** Pause on the main thread, ms. */
  pauseMs: number;
}

const LINE = /^\[\d+:(0x[0-9a-f]+)\]\s+\d+ ms: (Scavenge|Mark-Compact)\s+([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, ([\d.]+)/;

/** The collection a `--trace-gc` line reports, or undefined for any other line. */
export function parseTraceGcLine(line: string): GcEvent | undefined {
  const match = LINE.exec(line);
  if (!match) return undefined;
  return {
    isolate: match[1]!,
    kind: match[2] === 'Scavenge' ? 'scavenge' : 'mark-compact',
    beforeMb: Number(match[3]),
    afterMb: Number(match[4]),
    pauseMs: Number(match[5]),
  };
}

export interface GcSummary {
  scavenges: number;
  scavengePauseMs: number;
  markCompacts: number;
  markCompactPauseMs: number;
  /** Growth of the heap from one scavenge's end to the next's, summed (no full collection between). */
  promotedMb: number;
}

/** Sums the busiest isolate's collections: the one serving requests, not a logger's worker thread. */
export function summarizeGc(all: readonly GcEvent[]): GcSummary {
  const counts = new Map<string, number>();
  for (const event of all) counts.set(event.isolate, (counts.get(event.isolate) ?? 0) + 1);
  const busiest = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  const events = all.filter((event) => event.isolate === busiest);
  const summary: GcSummary = { scavenges: 0, scavengePauseMs: 0, markCompacts: 0, markCompactPauseMs: 0, promotedMb: 0 };
  let previousScavengeEnd: number | undefined;
  for (const event of events) {
    if (event.kind === 'mark-compact') {
      summary.markCompacts++;
      summary.markCompactPauseMs += event.pauseMs;
      previousScavengeEnd = undefined;
      continue;
    }
    summary.scavenges++;
    summary.scavengePauseMs += event.pauseMs;
    if (previousScavengeEnd !== undefined) summary.promotedMb += Math.max(0, event.afterMb - previousScavengeEnd);
    previousScavengeEnd = event.afterMb;
  }
  return summary;
}
