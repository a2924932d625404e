/**
 * One pino logger for the process. Authorization headers and tokens are redacted
 * by path so that no code path can log a token by accident, and an error is
 * logged as its name, code and message, never its stack (README "Error codes"):
 * a stack maps out the code for whoever reads the logs, and a line per frame
 * drowns a log shipper.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'authorization',
  'headers.authorization',
  '*.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
];

/** `err` as a log line holds it: pino's standard serializer adds the stack (and the cause's). */
function errorFields(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: error.message, ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}) };
}

/**
 * Bytes of log lines waiting for stdout at most. Past it, new lines are dropped
 * (and counted) instead of kept: a reader of stdout that stops reading (a log
 * driver in Docker's default blocking mode whose backend is down, a wedged
 * shipper) otherwise made every access-log line wait in memory, about 4 MiB
 * per 10,000 requests without end (measured: 40 MB for 200,000 lines), until
 * the process ran out of memory. 16 MiB is some 40,000 lines: tens of seconds
 * of a busy gateway's log, so a reader that only falls behind for a moment
 * loses nothing.
 */
export const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The process's logger, to `destination` or stdout. Stdout is written
 * asynchronously, so a slow reader of it (a log shipper behind) never blocks
 * the event loop: lines written while a write is pending go out together, at
 * most LOG_BUFFER_MAX_BYTES of them; once the reader has caught up, one `warn`
 * line says how many were dropped meanwhile (`dropped`). pino flushes what is
 * pending when the process exits, and the count of lines dropped since the
 * last report follows it.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const stdout = destination ? undefined : pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_MAX_BYTES });
  const logger = pino(
    {
      name: 'execution-gateway',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: errorFields },
    },
    destination ?? stdout!,
  );
  if (stdout) {
    let dropped = 0;
    stdout.on('drop', () => dropped++);
    const report = () => {
      if (dropped === 0) return;
      const count = dropped;
      dropped = 0;
      // At error: under LOG_LEVEL=error the lines lost are errors, and a warn line would be lost too.
      logger.error({ dropped: count, maxBufferedBytes: LOG_BUFFER_MAX_BYTES }, 'log lines dropped: stdout was not read');
    };
    // 'drain': what was waiting has been written, so the reader reads again and this line reaches it.
    stdout.on('drain', report);
    // No 'drain' comes at exit (a drain that ended while the reader was stalled): pino's own exit hook,
    // registered with the destination above and so run first, writes what waits synchronously; the count
    // follows it the same way, or the lines were lost without a word.
    process.once('exit', () => {
      if (dropped === 0) return;
      report();
      try {
        stdout.flushSync();
      } catch {
        // stdout closed: nobody to tell.
      }
    });
  }
  return logger;
}
