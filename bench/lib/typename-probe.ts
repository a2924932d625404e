/**
 * A stand-in for the gateway's event-loop lag seen from outside, in its own
 * small process so the load driver's own loop does not colour it: every
 * `intervalMs` it sends `{ __typename }` (no upstream call, no token needed)
 * over one keep-alive connection, one at a time, and prints one line
 * `{"t": <ms since epoch at the answer>, "ms": <response time>}` per answer
 * (or `"error"`). A request that waits behind a busy event loop takes that
 * much longer. Usage: tsx bench/lib/typename-probe.ts <graphql url> [intervalMs]
 */
import { Client } from 'undici';

const url = new URL(process.argv[2] ?? 'http://127.0.0.1:4000/graphql');
const intervalMs = Number(process.argv[3] ?? 100);
const client = new Client(url.origin, { pipelining: 1, keepAliveTimeout: 60_000 });
const body = '{"query":"{ __typename }"}';
let stopped = false;
process.on('SIGTERM', () => {
  stopped = true;
  void client.destroy().finally(() => process.exit(0));
});

while (!stopped) {
  const began = performance.now();
  try {
    const response = await client.request({ path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
    await response.body.dump();
    const ended = performance.now();
    process.stdout.write(`${JSON.stringify({ t: performance.timeOrigin + ended, ms: Math.round((ended - began) * 100) / 100, ...(response.statusCode === 200 ? {} : { error: `HTTP ${response.statusCode}` }) })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ t: performance.timeOrigin + performance.now(), ms: performance.now() - began, error: (error as Error).message })}\n`);
  }
  const wait = intervalMs - (performance.now() - began);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
