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

/** `count` ids of 19 characters, each cut from a text of its own of 200,000 characters that nothing else keeps. */
export function cutIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const text = `{ execution(id: "ex_${String(i).padStart(16, '0')}") { id } } # ${'x'.repeat(200_000)}`;
    return text.slice(text.indexOf('ex_'), text.indexOf('ex_') + 19);
  });
}

/** Heap kept by what `keep` keeps of 30 cut ids, once their texts could go: what the texts would add is 6 MB. */
export async function keptBytes(keep: (ids: string[]) => Promise<void> | void): Promise<number> {
  const before = heapAfterCollection();
  await keep(cutIds(30));
  return heapAfterCollection() - before;
}
