// Preloaded (`--import`, by absolute path) into a gateway with WORKERS that a test starts (test/workers.test.ts), with
// TEST_HOLD_DIR naming a scratch directory: lets the test act at a chosen moment of the first start, whatever the
// machine's load, rather than after a sleep.
// - A worker (cluster id n: 1, 2, … in fork order; a replacement takes the next) says on stderr
//   `test: worker n (pid <pid>) listens on <port>` once its first server, the API's, listens.
// - A worker whose file `hold-worker-<n>` exists says `test: worker n (pid <pid>) is held` and waits, before any of
//   the gateway's modules load (so it cannot listen), until the test removes that file.
// - The primary, when `hold-metrics` exists, holds its second listen (with UPSTREAM_URL set and METRICS=port: the
//   metrics port's, after the API port's) until the test removes it, having said `test: the primary holds the metrics
//   listen`. It waits without blocking: the primary must still see its workers come and go.
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

const dir = process.env.TEST_HOLD_DIR;
const listen = net.Server.prototype.listen;
let servers = 0;

if (dir && cluster.isWorker) {
  const id = cluster.worker.id;
  const hold = join(dir, `hold-worker-${id}`);
  if (existsSync(hold)) {
    process.stderr.write(`test: worker ${id} (pid ${process.pid}) is held\n`);
    // Blocking on purpose: nothing of the worker may run meanwhile.
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    while (existsSync(hold)) Atomics.wait(sleeper, 0, 0, 20);
  }
  net.Server.prototype.listen = function (...args) {
    if (++servers === 1) this.once('listening', () => process.stderr.write(`test: worker ${id} (pid ${process.pid}) listens on ${this.address().port}\n`));
    return listen.apply(this, args);
  };
} else if (dir) {
  const hold = join(dir, 'hold-metrics');
  net.Server.prototype.listen = function (...args) {
    if (++servers !== 2 || !existsSync(hold)) return listen.apply(this, args);
    process.stderr.write('test: the primary holds the metrics listen\n');
    const timer = setInterval(() => {
      if (existsSync(hold)) return;
      clearInterval(timer);
      listen.apply(this, args);
    }, 20);
    return this;
  };
}
