// @ts-check
/**
 * `npm start`: runs the compiled server, dist/main.js, after building it
 * (scripts/build.mjs) when dist/ is missing or its sources changed since, so
 * `npm ci && npm start` works on a fresh clone. When dist/ is up to date it needs
 * nothing but the production dependencies.
 *
 * Production starts dist/main.js with `node` itself (README, "Operating → Production build").
 */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { build, findTsc, staleness, withBuildLock } from './build.mjs';

/** The signals that stop the gateway (src/server/starting-signals.ts, which takes over once dist/main.js loads). */
const STOP_SIGNALS = /** @type {const} */ (['SIGINT', 'SIGHUP', 'SIGTERM']);

// With WORKERS > 1 the server's workers run this file again; the primary has built.
if (cluster.isPrimary) {
  // A stop signal while dist/ is checked or built stops npm start as one before the server is ready does: one line,
  // exit 0. It was node's default (exit 143, no line). While tsc runs, the build forwards SIGINT and SIGTERM to it
  // and keeps the last dist/; this process stops once the build has.
  /** @type {NodeJS.Signals | undefined} */
  let stoppedBy;
  let building = false;
  const stop = () => {
    process.stderr.write(`execution-gateway: stopped by ${stoppedBy} while building, before it started\n`);
    process.exit(0);
  };
  const onSignal = (/** @type {NodeJS.Signals} */ signal) => {
    stoppedBy ??= signal;
    if (!building) stop();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const reason = staleness();
  if (reason) {
    const tsc = findTsc();
    if (!tsc) {
      // With no dist/main.js at all (`npm ci --omit=dev` on a fresh clone) there is nothing to start as it is: that
      // advice ended in ERR_MODULE_NOT_FOUND.
      const asItIs = existsSync(new URL('../dist/main.js', import.meta.url)) ? ', or start dist/ as it is with `node dist/main.js`' : ' (then `npm prune --omit=dev` drops the build tools)';
      process.stderr.write(`execution-gateway: cannot start: ${reason}, and TypeScript is not installed to build it. Run \`npm ci && npm run build\`${asItIs}.\n`);
      process.exit(1);
    }
    // Several processes started from one checkout build one at a time; one that waited finds
    // dist/ built by the other, and starts it as it is.
    const waiting = (/** @type {string} */ holder) =>
      process.stderr.write(`execution-gateway: waiting for the build already running (process ${holder || 'unknown'}) …\n`);
    const code = await withBuildLock(async () => {
      building = true;
      const stillStale = staleness();
      if (!stillStale || stoppedBy) return 0;
      process.stderr.write(`execution-gateway: building (${stillStale}) …\n`);
      return build(tsc);
    }, waiting);
    if (stoppedBy) stop();
    if (code !== 0) process.exit(code);
  }
  for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
}

// The server runs in this process, not a child: signals reach it directly and its
// exit code is npm start's.
await import(new URL('../dist/main.js', import.meta.url).href);
