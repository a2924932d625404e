/**
 * A SIGTERM, SIGINT or SIGHUP before the process has handlers of its own (./process.ts installs them once its modules
 * are loaded, and a single process only once it listens): node's default ended it with 143 and not a line, for
 * the second or more the module graph takes to load. A supervisor stopping a gateway that was still starting
 * (a rollout replaced it, an operator's Ctrl-C) left nothing in the log saying so.
 *
 * Installed by ../main.ts before it imports anything else; the process's own handlers take over (the returned
 * function). Nothing is ready to drain: one line on stderr, as the other start-up lines (the logger may not exist
 * yet), and exit 0, as a drained process does. A worker's primary tells of its shutdown itself, so a worker exits
 * without the line. A signal during node's own bootstrap, before any of the gateway's code runs, is still node's.
 */
import cluster from 'node:cluster';

/**
 * The signals that stop the gateway, draining it once it serves. SIGHUP among them: node resets the disposition
 * `nohup` leaves (ignored) to its default, so a closed terminal ended the process at once, exit 129, cutting what
 * it served. SIGTERM last: test/support/signal-listeners.mjs tells a test that all are on once SIGTERM's is.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGHUP', 'SIGTERM'] as const;

export function stopWhileStarting(): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (!cluster.isWorker) process.stderr.write(`execution-gateway: stopped by ${signal} while starting, before it was ready\n`);
    process.exit(0);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  };
}
