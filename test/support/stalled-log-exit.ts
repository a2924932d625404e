/**
 * Child process of test/logger.test.ts: logs through the process's logger to a
 * stdout its parent does not read yet, past LOG_BUFFER_MAX_BYTES, then exits at
 * once (a drain that ended while the log reader was stalled): pino's flush at
 * exit writes what waits once the parent reads, for LOG_EXIT_FLUSH_MS at most.
 * Says `exiting` on stderr as it calls process.exit.
 *   node --import tsx test/support/stalled-log-exit.ts <lines>
 */
import { createLogger } from '../../src/logger.js';

const lines = Number(process.argv[2]);
const logger = createLogger('info');
const padding = 'x'.repeat(400);
for (let i = 0; i < lines; i++) logger.info({ requestId: `req-${i}`, operationName: padding }, 'request');
logger.info('shutdown complete');
process.stderr.write('exiting\n');
process.exit(0);
