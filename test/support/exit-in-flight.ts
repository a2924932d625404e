/**
 * Child process of test/logger.test.ts: fills its stdout pipe (its parent does
 * not read it yet), logs two lines and exits as the gateway does after a drain.
 * The first line's asynchronous write is in flight, and finds the pipe full.
 * Says `exiting` on stderr as it asks to exit.
 *   node --import tsx test/support/exit-in-flight.ts
 */
import { writeSync } from 'node:fs';
import * as logging from '../../src/logger.js';

const logger = logging.createLogger('info');
// Fill the unread pipe: 4 KiB writes are atomic (PIPE_BUF), so only whole filler lines go in.
const filler = Buffer.from('{"filler":true}\n'.repeat(256));
for (;;) {
  try {
    writeSync(1, filler);
  } catch {
    break;
  }
}
logger.info('first');
logger.info('second');
process.stderr.write('exiting\n');
// As the gateway exits after a drain (src/server/process.ts).
void logging.logWritten(logger).then(() => process.exit(0));
