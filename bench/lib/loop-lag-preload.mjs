// Event-loop lag, garbage collection and heap of a benchmarked process,
// measured from inside it without touching its code:
//   node --import ./bench/lib/loop-lag-preload.mjs [--expose-gc] …   with LOOP_LAG_FILE=<path>
// A 10 ms interval timer notes how late each tick fires (the lag: time the loop
// was busy before it could run the timer); a PerformanceObserver adds up GC
// pauses. Once a second it appends to the file one line about the second
// before `t` (ms since the epoch):
//   {"t", "s": [lag ms, …], "gc": {"n", "ms", "maxMs", "majorMs"}, "m": {"rss", "heapUsed", "heapTotal", "external"} (bytes)}
// On SIGUSR2 (with --expose-gc) it runs a full collection and appends
//   {"t", "afterGc": {"rss", "heapUsed", "heapTotal", "external"}, "gcMs"}
// Plain JavaScript, so it loads before tsx. Costs the process about 100 timer
// callbacks, a few GC entries and one small write per second.
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.LOOP_LAG_FILE;
if (file) {
  const intervalMs = 10;
  let samples = [];
  let gc = { n: 0, ms: 0, maxMs: 0, majorMs: 0 };
  let last = performance.now();
  const write = (value) => {
    try {
      appendFileSync(file, `${JSON.stringify(value)}\n`);
    } catch {
      // the benchmark removed the file: nothing to report to
    }
  };
  const memory = () => {
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    return { rss, heapUsed, heapTotal, external };
  };
  setInterval(() => {
    const now = performance.now();
    samples.push(Math.max(0, Math.round((now - last - intervalMs) * 10) / 10));
    last = now;
  }, intervalMs).unref();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.n++;
      gc.ms += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
      if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.majorMs += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    write({ t: performance.timeOrigin + performance.now(), s: samples, gc, m: memory() });
    samples = [];
    gc = { n: 0, ms: 0, maxMs: 0, majorMs: 0 };
  }, 1000).unref();
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc !== 'function') return;
    const began = performance.now();
    globalThis.gc();
    write({ t: performance.timeOrigin + performance.now(), afterGc: memory(), gcMs: performance.now() - began });
  });
}
