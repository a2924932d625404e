/**
 * One pino logger for the process. Authorization headers and tokens are redacted
 * by path so that no code path can log a token by accident, and an error is
 * logged as its name, code and message, never its stack (README "Error codes"):
 * a stack maps out the code for whoever reads the logs, and a line per frame
 * drowns a log shipper.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

const REDACTED_PATHS = [
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
 * Bytes of access lines (README "Access log") kept in memory before they are written
 * to stdout together, and the ms the first of them waits at most. Each line was one
 * asynchronous write of its own, through libuv's thread pool: two more syscalls and
 * some three futex calls a request, and a thread woken each time. Every other line
 * is written at once (a start-up line, a warning, an error); pino's flush at exit
 * writes what waits.
 */
export const ACCESS_LINES_BATCH_BYTES = 4 * 1024;
export const ACCESS_LINES_WAIT_MS = 100;

/** The bindings of the access log's child logger (src/telemetry/access-log.ts), which no other line has. */
export const ACCESS_LINE_BINDINGS = { component: 'access' } as const;

/** What an access line holds and no other line does: ACCESS_LINE_BINDINGS as pino writes them. */
const ACCESS_LINE_MARK = JSON.stringify(ACCESS_LINE_BINDINGS).slice(1, -1);

/**
 * Ms the flush at exit may wait for stdout's reader. The lines still waiting are
 * written synchronously as the process exits, and a reader that does not read at
 * all (a wedged shipper, a log driver whose backend is down) made that wait last
 * for ever: SIGTERM drained the gateway, then its exit never came (measured: still
 * running when killed 15 s later) until the supervisor's SIGKILL. In 2 s a reader
 * that is only behind takes what waits (up to 16 MiB): a full pipe is tried again
 * every LOG_EXIT_RETRY_MS; past the 2 s the rest is given up and counted on stderr.
 */
export const LOG_EXIT_FLUSH_MS = 2_000;

/**
 * Ms the flush at exit sleeps when stdout is full before it tries again. sonic-boom's
 * own flush sleeps 100 ms, so it wrote one pipe's worth (64 KiB) per 100 ms however
 * fast the reader read: of 16 MiB waiting at exit, a reader reading at once got some
 * 1.3 MB in the 2 s and the rest was given up as "not read" (measured: 15.2 MB given
 * up, 36,079 lines). 1 ms lets a reader that reads take it all at its own pace.
 */
const LOG_EXIT_RETRY_MS = 1;

/**
 * Log lines (pino ends each with a newline) a flush that gave up left unwritten,
 * read from sonic-boom's private buffers (defensively: undefined when their
 * shape is not the one known): the last `current` bytes of the first buffer
 * (the rest of it was written) and the buffers after it. A line written in part
 * counts as not written. An asynchronous write still pending is left out of the
 * flush: when `retrying` (stdout was full, a timer was to try again) it is lost
 * too; otherwise it went to the pipe from libuv's thread pool, whose answer the
 * exiting process does not wait for.
 */
function unwrittenLines(stream: object, current: number, retrying: boolean): number | undefined {
  const { _bufs: bufs, _writingBuf: writing, _writing: inFlight } = stream as { _bufs?: unknown; _writingBuf?: unknown; _writing?: unknown };
  if (!Array.isArray(bufs)) return undefined;
  const held: unknown[] = [...bufs];
  const first = bytesOf(held[0]);
  if (first) held[0] = first.subarray(Math.max(0, first.length - current));
  if (inFlight === true && retrying) held.push(writing);
  let lines = 0;
  for (const buf of held) {
    const bytes = bytesOf(buf);
    if (!bytes) return undefined;
    for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) lines++;
  }
  return lines;
}

function bytesOf(buf: unknown): Buffer | undefined {
  if (typeof buf === 'string') return Buffer.from(buf);
  return Buffer.isBuffer(buf) ? buf : undefined;
}

const exitSleep = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes what sonic-boom `stream` holds for `fd` synchronously, in order, sleeping
 * LOG_EXIT_RETRY_MS whenever `fd` is full, until all is written or `deadline`
 * (Date.now()) passes. Reads and empties its private buffers (as sonic-boom's own
 * flushSync does): the one an asynchronous write has in hand is written too when
 * `retrying` (it waits for a timer that never fires at exit), else left to that
 * write. Returns what was left unwritten (undefined: all written) with the error
 * that stopped it when writing failed otherwise than with EAGAIN (a full disk:
 * ENOSPC), or `false` when the buffers are not of the shape known (then
 * sonic-boom's flushSync is used).
 */
function flushAtExit(stream: object, fd: number, deadline: number, retrying: boolean): Unwritten | undefined | false {
  const boom = stream as { _bufs?: unknown; _writingBuf?: unknown; _writing?: unknown; _len?: unknown };
  if (!Array.isArray(boom._bufs) || typeof boom._len !== 'number' || typeof boom._writing !== 'boolean') return false;
  const pending: Buffer[] = [];
  const takeWriting = !boom._writing || retrying;
  for (const buf of takeWriting ? [boom._writingBuf, ...boom._bufs] : boom._bufs) {
    const bytes = bytesOf(buf);
    if (!bytes) return false;
    if (bytes.length > 0) pending.push(bytes);
  }
  boom._bufs.length = 0;
  if (takeWriting) boom._writingBuf = Buffer.isBuffer(boom._writingBuf) ? Buffer.alloc(0) : '';
  boom._len = 0;
  for (let at = 0; at < pending.length; ) {
    const buf = pending[at]!;
    try {
      const written = writeSync(fd, buf);
      if (written >= buf.length) at++;
      else pending[at] = buf.subarray(written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' || Date.now() >= deadline) {
        const left = pending.slice(at);
        let lines = 0;
        for (const bytes of left) for (let nl = bytes.indexOf(0x0a); nl !== -1; nl = bytes.indexOf(0x0a, nl + 1)) lines++;
        return { lines, bytes: left.reduce((sum, bytes) => sum + bytes.length, 0), ...(code === 'EAGAIN' ? {} : { failure: code ?? (error as Error).name }) };
      }
      Atomics.wait(exitSleep, 0, 0, LOG_EXIT_RETRY_MS);
    }
  }
  return undefined;
}

/** Log lines a flush at exit left unwritten (`lines` undefined: not counted), and the write error that stopped it, if one did (else stdout was not read in time). */
interface Unwritten {
  lines: number | undefined;
  bytes: number;
  failure?: string;
}

/** Per stdout logger: resolves once no asynchronous write of its is in flight (see logWritten). */
const exitWaits = new WeakMap<Logger, () => Promise<void>>();

/**
 * Resolves once `logger`'s stdout has no asynchronous write in flight whose answer
 * is still to come (at once for a logger to another destination), within the
 * LOG_EXIT_FLUSH_MS the flush at exit shares: call it before process.exit. The
 * flush at exit cannot write a buffer a write in flight holds (that write may
 * have taken it) and cannot learn whether it did: one that found stdout full
 * (EAGAIN from libuv's thread pool) was lost without a word, typically the last
 * line, `shutdown complete`, written just before exiting (measured: lost in 4 of
 * 5 exits to a full pipe read 200 ms later, and out of order when not lost).
 * Answered, it is either written or held to be tried again, which the flush writes.
 * First, the lines held back for it are logged (writeBeforeExit).
 */
export function logWritten(logger: Logger): Promise<void> {
  const owed = owedLines.get(logger);
  owedLines.delete(logger);
  for (const write of owed ?? []) write();
  return exitWaits.get(logger)?.() ?? Promise.resolve();
}

/** Per logger: what writes the lines held back (counts of repeats a window has not reported yet) when it is asked to. */
const owedLines = new WeakMap<Logger, Set<() => void>>();

/**
 * `write` logs through `logger` what it holds back, once, when logWritten(logger) is asked for before an orderly exit
 * (after a drain): a window's count of repeated lines was otherwise lost with the process. Returns the function that
 * takes it off again, for a holder closed before that.
 */
export function writeBeforeExit(logger: Logger, write: () => void): () => void {
  const owed = owedLines.get(logger) ?? new Set();
  owedLines.set(logger, owed);
  owed.add(write);
  return () => owed.delete(write);
}

/**
 * The process's logger, to `destination` or stdout. Stdout is written
 * asynchronously, so a slow reader of it (a log shipper behind) never blocks
 * the event loop: lines written while a write is pending go out together, at
 * most LOG_BUFFER_MAX_BYTES of them; once the reader has caught up, one `warn`
 * line says how many were dropped meanwhile (`dropped`). pino flushes what is
 * pending when the process exits, for LOG_EXIT_FLUSH_MS at most, and the count
 * of lines dropped since the last report follows it; when the reader took
 * nothing for that long, one line on stderr says how many lines were not written
 * (`execution-gateway: stdout was not read at exit: …`) and the process exits.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  // The moment the flush at exit gives up; undefined while the process runs (then a stalled write is retried for ever).
  let exitDeadline: number | undefined;
  let unwritten: (Unwritten & { current: number }) | undefined;
  // Whether the pending asynchronous write found stdout full and waits for a timer to try again.
  let retrying = false;
  if (!destination) {
    // A flush that gives up needs writes that fail (EAGAIN) rather than wait: fd 1 and 2 as inherited are often
    // blocking (a pipe from a plain `node`), and a blocking write to a pipe nobody reads waits in the kernel for
    // ever. Node opens a pipe it wraps as process.stdout or process.stderr in non-blocking mode; nothing is
    // written through them here.
    void process.stdout;
    void process.stderr;
  }
  const stdout = destination
    ? undefined
    : pino.destination({
        dest: 1,
        sync: false,
        // Lines wait until this many bytes do: a line that should go at once is flushed (batchingAccessLines below).
        minLength: ACCESS_LINES_BATCH_BYTES,
        maxLength: LOG_BUFFER_MAX_BYTES,
        retryEAGAIN: (_error: Error, writing: number, remaining: number) => {
          if (exitDeadline === undefined || Date.now() < exitDeadline) return (retrying = true);
          unwritten = { lines: undefined, bytes: writing + remaining, current: writing };
          return false;
        },
      });
  const logger = pino(
    {
      name: 'execution-gateway',
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: errorFields },
    },
    destination ?? batchingAccessLines(stdout!),
  );
  if (stdout) {
    let dropped = 0;
    stdout.on('drop', () => dropped++);
    // A write that fails otherwise than for a full pipe (a log file on a full disk: ENOSPC; a reader that left,
    // EPIPE, pino silences itself) ended the process, unheard. sonic-boom keeps what failed and tries again with
    // the next line, so lines wait, and past the bound are dropped and counted, as for a reader that stopped.
    let failing = false;
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || failing) return;
      failing = true;
      try {
        writeSync(
          2,
          `execution-gateway: cannot write log lines to stdout (${error.message}): they wait, ${LOG_BUFFER_MAX_BYTES} bytes at most, then are dropped and counted; each new line tries again\n`,
        );
      } catch {
        // stderr fails too: nobody to tell.
      }
    });
    stdout.on('write', () => {
      retrying = false;
      failing = false;
    });
    const report = () => {
      if (dropped === 0) return;
      const count = dropped;
      dropped = 0;
      // At error: under LOG_LEVEL=error the lines lost are errors, and a warn line would be lost too.
      logger.error({ dropped: count, maxBufferedBytes: LOG_BUFFER_MAX_BYTES }, 'log lines dropped: stdout was not read');
    };
    // 'drain': what was waiting has been written, so the reader reads again and this line reaches it.
    stdout.on('drain', report);
    // Every synchronous flush (pino's at exit, the one below) shares one deadline, set by the first: the process
    // exits within LOG_EXIT_FLUSH_MS of its 'exit'. Once a flush gave up, the next gives up at its first EAGAIN.
    const flushSync = stdout.flushSync.bind(stdout);
    stdout.flushSync = () => {
      exitDeadline ??= Date.now() + LOG_EXIT_FLUSH_MS;
      // Once a flush gave up, the next gives up at its first EAGAIN too (its deadline has passed).
      const left = flushAtExit(stdout, 1, unwritten ? 0 : exitDeadline, retrying);
      if (left !== false) {
        if (left) {
          // A write error an earlier flush met stays the reason, should this one only find stdout full.
          const failure = left.failure ?? unwritten?.failure;
          unwritten = { lines: (unwritten?.lines ?? 0) + left.lines!, bytes: (unwritten?.bytes ?? 0) + left.bytes, current: 0, ...(failure ? { failure } : {}) };
        }
        return;
      }
      try {
        flushSync();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const held = (stdout as unknown as { _len?: unknown })._len;
        unwritten ??= { lines: undefined, bytes: typeof held === 'number' ? held : 0, current: 0, ...(code === 'EAGAIN' ? {} : { failure: code ?? (error as Error).name }) };
        unwritten.lines = unwrittenLines(stdout, unwritten.current, retrying);
      }
    };
    // Polled every turn of the event loop: an answer from the thread pool comes within one (stdout is non-blocking).
    const boom = stdout as unknown as { _writing?: unknown };
    exitWaits.set(logger, () => {
      exitDeadline ??= Date.now() + LOG_EXIT_FLUSH_MS;
      return new Promise<void>((resolve) => {
        const check = () => (boom._writing !== true || retrying || Date.now() >= exitDeadline! ? resolve() : setImmediate(check));
        check();
      });
    });
    // No 'drain' comes at exit (a drain that ended while the reader was stalled): pino's own exit hook,
    // registered with the destination above and so run first, writes what waits synchronously; the count
    // follows it the same way, or the lines were lost without a word.
    process.once('exit', () => {
      if (dropped > 0 && !unwritten) {
        report();
        try {
          stdout.flushSync();
        } catch {
          // stdout closed: nobody to tell.
        }
      }
      if (unwritten) reportUnwritten(unwritten, dropped);
    });
  }
  return logger;
}

/**
 * One line on stderr (never waiting: a stderr nobody reads either loses it):
 * `execution-gateway: stdout was not read at exit: 1234 log lines (567890 bytes) not written in 2000 ms, 456 more dropped before`,
 * or when writing failed otherwise: `execution-gateway: stdout could not be written at exit (ENOSPC): 12 log lines (3456 bytes) not written`.
 */
function reportUnwritten(unwritten: Unwritten, dropped: number): void {
  const lines = unwritten.lines === undefined ? 'log lines' : `${unwritten.lines} log lines`;
  const before = dropped > 0 ? `, ${dropped} more dropped before` : '';
  const why = unwritten.failure ? `could not be written at exit (${unwritten.failure}): ${lines} (${unwritten.bytes} bytes) not written` : `was not read at exit: ${lines} (${unwritten.bytes} bytes) not written in ${LOG_EXIT_FLUSH_MS} ms`;
  try {
    writeSync(2, `execution-gateway: stdout ${why}${before}\n`);
  } catch {
    // stderr full or closed too: nobody to tell.
  }
}

/**
 * The destination pino writes to: `stdout`, whose lines wait until ACCESS_LINES_BATCH_BYTES of them do;
 * an access line is written within ACCESS_LINES_WAIT_MS, any other line at once (with what waited before it, in
 * order), or as soon as the write in flight is answered. Reads sonic-boom's private `_writing` and `_len`
 * (defensively: of another shape, they count as no write in flight and lines waiting, so its flush() is called, which
 * checks for itself): its flush() returns at once while a write is in flight and never comes back for what is left
 * under `minLength`.
 */
function batchingAccessLines(stdout: ReturnType<typeof pino.destination>): DestinationStream {
  const boom = stdout as unknown as { _writing?: unknown; _len?: unknown };
  let due: NodeJS.Timeout | undefined;
  // Lines wait that should have gone: written when the write in flight is answered ('drain').
  let owed = false;
  const flush = () => {
    if (boom._writing === true) owed = true;
    else if (boom._len !== 0) stdout.flush();
  };
  stdout.on('drain', () => {
    if (!owed) return;
    owed = false;
    flush();
  });
  const flushDue = () => {
    due = undefined;
    flush();
  };
  return {
    write(line: string) {
      stdout.write(line);
      if (!line.includes(ACCESS_LINE_MARK)) flush();
      else due ??= setTimeout(flushDue, ACCESS_LINES_WAIT_MS).unref();
    },
  };
}
