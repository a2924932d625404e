/**
 * A logger made as the gateway makes its own (src/logger.ts: its levels, its redaction), writing to memory, so a test
 * reads what an operator would: each line parsed, and the text as written (to search it for what must never be logged).
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logger.js';

/** One line of the JSON log: pino's level number, the message, and the line's own fields. */
export interface LoggedLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface CapturedLog {
  logger: Logger;
  /** Every line written so far, parsed, in order; the same array throughout. */
  readonly lines: LoggedLine[];
  /** Everything written so far, as written. */
  raw(): string;
}

/** `level`: the least level written, as LOG_LEVEL names it. */
export function captureLog(level = 'debug'): CapturedLog {
  const lines: LoggedLine[] = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString();
      raw += text;
      // pino writes whole lines, one or more to a chunk.
      for (const line of text.split('\n')) if (line !== '') lines.push(JSON.parse(line) as LoggedLine);
      callback();
    },
  });
  return { logger: createLogger(level, sink), lines, raw: () => raw };
}
