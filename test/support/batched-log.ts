/**
 * Child process of test/log-batching.test.ts: logs through the process's logger
 * to a stdout its parent reads, counting the asynchronous writes sonic-boom
 * makes (fs.write, which it looks up at each call), and says on stderr, as one
 * JSON line per step, when it wrote what.
 *   node --import tsx test/support/batched-log.ts <scenario>
 * Scenarios:
 * - `spread`: 200 access lines of about 450 bytes, one a millisecond; then `{ writes, spreadMs }` (how long the 200 took).
 * - `lone`: one access line, then `{ wroteAt }` (Date.now()).
 * - `others`: two other lines in one tick (the second while the first's write is in flight), then `{ wroteAt }`.
 */
import fs from 'node:fs';
import { ACCESS_LINE_BINDINGS, createLogger } from '../../src/logger.js';

let writes = 0;
const write = fs.write;
(fs as { write: unknown }).write = (...args: unknown[]) => {
  writes++;
  return (write as (...args: unknown[]) => void)(...args);
};
const tell = (fields: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(fields)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const logger = createLogger('info');
const access = logger.child(ACCESS_LINE_BINDINGS);
const scenario = process.argv[2];
await sleep(50);
if (scenario === 'spread') {
  const padding = 'x'.repeat(300);
  const started = performance.now();
  for (let i = 0; i < 200; i++) {
    access.info({ requestId: `req-${i}`, operationName: padding }, 'request');
    await sleep(1);
  }
  const spreadMs = performance.now() - started;
  await sleep(300);
  tell({ writes, spreadMs });
} else if (scenario === 'lone') {
  access.info({ requestId: 'req-lone' }, 'request');
  tell({ wroteAt: Date.now() });
} else if (scenario === 'others') {
  logger.info('first');
  logger.warn('second');
  tell({ wroteAt: Date.now() });
}
setInterval(() => undefined, 60_000);
