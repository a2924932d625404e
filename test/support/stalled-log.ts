/**
 * Child process of test/logger.test.ts: logs through the process's logger to a
 * stdout its parent does not read, then says on stderr how much the heap grew
 * (after full collections), and waits to be killed (pino's flush at exit would
 * wait for the reader).
 *   node --expose-gc --import tsx test/support/stalled-log.ts <lines> [level]
 * `level` (default info) is the logger's level and the lines'.
 */
import { createLogger } from '../../src/logger.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const lines = Number(process.argv[2]);
const level = (process.argv[3] ?? 'info') as 'info' | 'error';
const logger = createLogger(level);
const settle = () => new Promise((resolve) => setImmediate(resolve));

await settle();
gc();
const before = process.memoryUsage().heapUsed;
// About 500 bytes a line, as an access-log line with a long operation name.
const padding = 'x'.repeat(400);
for (let i = 0; i < lines; i++) logger[level]({ requestId: `req-${i}`, operationName: padding }, 'request');
await settle();
gc();
process.stderr.write(`${JSON.stringify({ grownBytes: process.memoryUsage().heapUsed - before })}\n`);
setInterval(() => undefined, 60_000);
