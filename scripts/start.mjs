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
import { build, findTsc, staleness, withBuildLock } from './build.mjs';

// With WORKERS > 1 the server's workers run this file again; the primary has built.
if (cluster.isPrimary) {
  const reason = staleness();
  if (reason) {
    const tsc = findTsc();
    if (!tsc) {
      process.stderr.write(
        `execution-gateway: cannot start: ${reason}, and TypeScript is not installed to build it. Run \`npm ci && npm run build\`, or start dist/ as it is with \`node dist/main.js\`.\n`,
      );
      process.exit(1);
    }
    // Several processes started from one checkout build one at a time; one that waited finds
    // dist/ built by the other, and starts it as it is.
    const waiting = (/** @type {string} */ holder) =>
      process.stderr.write(`execution-gateway: waiting for the build already running (process ${holder || 'unknown'}) …\n`);
    const code = await withBuildLock(async () => {
      const stillStale = staleness();
      if (!stillStale) return 0;
      process.stderr.write(`execution-gateway: building (${stillStale}) …\n`);
      return build(tsc);
    }, waiting);
    if (code !== 0) process.exit(code);
  }
}

// The server runs in this process, not a child: signals reach it directly and its
// exit code is npm start's.
await import(new URL('../dist/main.js', import.meta.url).href);
