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
      serializers: { err: errorFields },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
