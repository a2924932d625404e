// @ts-check
/**
 * Preloaded into a benchmarked process (`node --import`, bench/allocations.ts). The
 * first SIGUSR2 starts V8's sampling heap profiler, keeping the samples of objects
 * that young- and old-generation collections free as well, so it counts what the
 * process allocates, not only what survives; the second stops it and writes the
 * profile (a V8 SamplingHeapProfile, JSON) to the file ALLOCATION_PROFILE names.
 * One sample per ALLOCATION_SAMPLE_BYTES (1,024) allocated, on average. With
 * ALLOCATION_SURVIVORS=1 the samples of objects a young-generation collection
 * freed are dropped: what is left outlived one, and was copied or promoted.
 *
 * The inspector module rather than `--heap-prof`: that flag starts at launch and
 * writes at exit, so warm-up and start-up would count, and it keeps no freed objects.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.ALLOCATION_PROFILE;
const sampleBytes = Number(process.env.ALLOCATION_SAMPLE_BYTES ?? 1024);
const survivorsOnly = process.env.ALLOCATION_SURVIVORS === '1';
const session = new Session();
session.connect();
session.post('HeapProfiler.enable');
let sampling = false;

process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    session.post('HeapProfiler.startSampling', { samplingInterval: sampleBytes, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !survivorsOnly });
    return;
  }
  sampling = false;
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (error || !file) process.stderr.write(`allocation sampler: ${error ? error.message : 'ALLOCATION_PROFILE is not set'}\n`);
    else writeFileSync(file, JSON.stringify(result.profile));
  });
});
