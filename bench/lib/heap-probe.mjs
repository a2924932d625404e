// @ts-check
/**
 * Preloaded into a benchmarked gateway (`node --expose-gc --import`,
 * bench/documents.ts): on SIGUSR2 it collects four times over and writes
 * `process.memoryUsage().heapUsed`, in bytes, to the file HEAP_PROBE_FILE
 * names, by a rename, so a reader never sees it half written. Collections only
 * on request, so the load between them runs as usual.
 */
import { renameSync, writeFileSync } from 'node:fs';

const file = process.env.HEAP_PROBE_FILE;
const collect = /** @type {{ gc?: () => void }} */ (globalThis).gc;
if (!file || typeof collect !== 'function') throw new Error('heap-probe needs HEAP_PROBE_FILE and node --expose-gc');

process.on('SIGUSR2', () => {
  for (let i = 0; i < 4; i++) collect();
  writeFileSync(`${file}.part`, String(process.memoryUsage().heapUsed));
  renameSync(`${file}.part`, file);
});
