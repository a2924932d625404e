// @ts-check
/**
 * Preloaded into a benchmarked process (`node --import`, bench/cpu-profile.ts). The first
 * SIGUSR2 starts V8's CPU profiler (one sample every CPU_PROFILE_INTERVAL_US, 200 by
 * default); the second stops it and writes the profile (a V8 CpuProfile, JSON, as
 * `node --cpu-prof` writes) to the file CPU_PROFILE names.
 *
 * The inspector module rather than `--cpu-prof`: that flag starts at launch and writes
 * at exit, so start-up and warm-up would be in the profile.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const file = process.env.CPU_PROFILE;
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: Number(process.env.CPU_PROFILE_INTERVAL_US ?? 200) });
let sampling = false;

process.on('SIGUSR2', () => {
  if (!sampling) {
    sampling = true;
    session.post('Profiler.start');
    return;
  }
  sampling = false;
  session.post('Profiler.stop', (error, result) => {
    if (error || !file) process.stderr.write(`cpu sampler: ${error ? error.message : 'CPU_PROFILE is not set'}\n`);
    else writeFileSync(file, JSON.stringify(result.profile));
  });
});
