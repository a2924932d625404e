// Preloaded (`--import`) into a single gateway a test starts with an UPSTREAM_URL and METRICS=port, whose first
// server to listen is then the API's and its second the metrics port's: says on stderr the port the first listens
// on, and holds the second's listen so the test can act while the API port serves and the metrics port is still to
// come (test/shutdown.test.ts): until the file TEST_HOLD_METRICS_FILE names is removed, when it is set (a moment the
// test chooses, whatever the machine's load), else for TEST_HOLD_METRICS_LISTEN_MS.
import { existsSync } from 'node:fs';
import net from 'node:net';

const holdMs = Number(process.env.TEST_HOLD_METRICS_LISTEN_MS ?? 0);
const holdFile = process.env.TEST_HOLD_METRICS_FILE;
const listen = net.Server.prototype.listen;
let servers = 0;
net.Server.prototype.listen = function (...args) {
  servers++;
  if (servers === 1) {
    this.once('listening', () => process.stderr.write(`test: the API port listens on ${this.address().port}\n`));
  } else if (servers === 2 && holdFile) {
    // Polled without blocking: the process must go on serving and draining meanwhile.
    const timer = setInterval(() => {
      if (existsSync(holdFile)) return;
      clearInterval(timer);
      listen.apply(this, args);
    }, 20);
    return this;
  } else if (servers === 2) {
    setTimeout(() => listen.apply(this, args), holdMs);
    return this;
  }
  return listen.apply(this, args);
};
