/**
 * The heap in use after full collections, for tests that hold what a table
 * keeps to a bound. `--expose-gc` is set at run time (node's docs leave flags
 * set after start-up unsupported; V8 takes this one, and a test fails loudly
 * if it did not), so the tests run in vitest's own workers.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Bytes of heap in use after four full collections. */
export function heapAfterCollection(): number {
  for (let i = 0; i < 4; i++) collect();
  return process.memoryUsage().heapUsed;
}
