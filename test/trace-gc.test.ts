/**
 * The `--trace-gc` reader behind `npm run bench:gc`: real lines as Node 20
 * prints them, summed over the isolate that serves requests.
 */
import { describe, expect, it } from 'vitest';
import { parseTraceGcLine, summarizeGc } from '../bench/lib/trace-gc.js';

const MAIN = '[9274:0x346f0ce0]';
const WORKER = '[9274:0x7f5d54000f00]';
const scavenge = (isolate: string, before: number, after: number, pause: number) =>
  `${isolate}     9232 ms: Scavenge ${before} (92.6) -> ${after} (92.6) MB, ${pause} / 0.01 ms  (average mu = 0.995, current mu = 0.997) task; `;
const markCompact = (isolate: string, before: number, after: number, pause: number) =>
  `${isolate}     8312 ms: Mark-Compact ${before} (139.4) -> ${after} (92.6) MB, ${pause} / 0.19 ms  (+ 7.4 ms in 22 steps since start of marking, biggest step 4.3 ms, walltime since start of marking 48 ms) (average mu = 0.995, current mu = 0.997) finalize incremental marking via task; GC in old space requested`;

describe('trace-gc reader', () => {
  it('reads scavenges and mark-compacts, and nothing else', () => {
    expect(parseTraceGcLine(scavenge(MAIN, 56.8, 48.1, 10.76))).toEqual({ isolate: '0x346f0ce0', kind: 'scavenge', beforeMb: 56.8, afterMb: 48.1, pauseMs: 10.76 });
    expect(parseTraceGcLine(markCompact(MAIN, 108.3, 30, 9.53))).toMatchObject({ kind: 'mark-compact', beforeMb: 108.3, afterMb: 30, pauseMs: 9.53 });
    expect(parseTraceGcLine('{"level":40,"msg":"upstream call failed"}')).toBeUndefined();
  });

  it('counts growth between scavenges as promoted, restarting after a full collection, on the busiest isolate only', () => {
    const lines = [
      scavenge(MAIN, 20, 10, 1),
      scavenge(MAIN, 22, 12, 2), // +2
      scavenge(WORKER, 9, 5, 50),
      scavenge(MAIN, 23, 11.5, 1), // shrank: nothing promoted
      markCompact(MAIN, 40, 8, 7),
      scavenge(MAIN, 20, 9, 1), // first after the full collection: no baseline
      scavenge(MAIN, 21, 10, 1), // +1
    ];
    const summary = summarizeGc(lines.map((line) => parseTraceGcLine(line)!));
    expect(summary).toEqual({ scavenges: 5, scavengePauseMs: 6, markCompacts: 1, markCompactPauseMs: 7, promotedMb: 3 });
  });
});
