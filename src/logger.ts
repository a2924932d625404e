/**
 * One pino logger for the process. Authorization headers and tokens are redacted
 * by path so that no code path can log a token by accident.
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

/**
 * The process's logger, to `destination` or stdout. Stdout is written
 * asynchronously, so a slow reader of it (a log shipper behind) never blocks
 * the event loop: lines written while a write is pending go out together.
 * pino flushes what is pending when the process exits.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'execution-gateway',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
