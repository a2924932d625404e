/**
 * What libraries print with `console.*`, as log lines. ioredis writes some warnings straight to the console,
 * around any listener its client has: a password in REDIS_URL for a Redis that asks none (`[WARN] … does not
 * require a password`), an ACL that denies INFO (`Skipping the ready check …`), an 'error' event nobody listens
 * to (`[ioredis] Unhandled error event: <stack>`), and again at every reconnect. Node prints its own warnings
 * through console.error too (`(node:…) Warning: Setting the NODE_TLS_REJECT_UNAUTHORIZED environment variable to '0'
 * …` at the first TLS connection, a rediss:// REDIS_URL's). Each was a line of plain text among the JSON on stdout
 * and stderr, which a log shipper parsing one JSON object a line drops or mangles.
 *
 * Nothing in the gateway prints with `console` itself, so whatever comes through it is a library's: one `warn`
 * line, `{ component: "console", method, text }`, the first of a text at once and its repeats counted
 * (./failure-log.ts: one line a minute per text, 100 texts at most; the counts still open are logged before an
 * orderly exit), the text cut to TEXT_CHARS,
 * without stack frames (README "Error codes": no stacks in the log) and without the secrets given (REDIS_URL's
 * password; any URL's user and password), as a library may print a URL or a message that holds one.
 */
import { format } from 'node:util';
import { writeBeforeExit, type Logger } from '../logger.js';
import { FailureLog } from './failure-log.js';

const INTERVAL_MS = 60_000;

/** Longest text kept in a line: ioredis's are under 250 characters, an error's first line is as long as its message. */
const TEXT_CHARS = 500;

const METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/** A URL's `user:password@` (or `password@`): kept out of a line whatever URL a library prints. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#@\s]*@/gi;

/** A stack frame line as V8 writes it. */
const STACK_FRAME = /^\s+at .*$\n?/gm;

/**
 * The console's methods made to log through `logger` until the returned function puts them back. `secrets`: texts
 * never to appear in a line (each also in its URL-encoded form), such as REDIS_URL's password.
 */
export function consoleToLog(logger: Logger, secrets: readonly string[] = []): () => void {
  const log = new FailureLog(logger.child({ component: 'console' }), 'a library wrote to the console: logged here instead', INTERVAL_MS);
  const hidden = [...new Set(secrets.flatMap((secret) => [secret, encodeURIComponent(secret)]).filter((secret) => secret.length > 0))];
  const saved = METHODS.map((method) => [method, console[method]] as const);
  for (const method of METHODS) {
    console[method] = (...args: unknown[]) => {
      let text = format(...args).replace(STACK_FRAME, '').replace(URL_USERINFO, '$1[redacted]@');
      for (const secret of hidden) text = text.split(secret).join('[redacted]');
      text = text.trimEnd().slice(0, TEXT_CHARS);
      log.observe(`${method} ${text}`, { method, text });
    };
  }
  // The last window's repeats are told as the process exits after a drain (SIGTERM, SIGINT), not lost with it.
  const owed = writeBeforeExit(logger, () => log.close());
  return () => {
    owed();
    log.close();
    for (const [method, original] of saved) console[method] = original;
  };
}

/** REDIS_URL's password as written in it (percent-encoded) and decoded: the texts a line must never hold. */
export function urlSecrets(url: string | undefined): string[] {
  if (!url || !URL.canParse(url)) return [];
  const { password } = new URL(url);
  if (password === '') return [];
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // A malformed escape: the text as written is what a library could print.
  }
  return [password, decoded];
}
