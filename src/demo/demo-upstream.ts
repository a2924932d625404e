/**
 * The built-in demo upstream `npm start` serves without UPSTREAM_URL: the demo
 * executions, the live one advancing (./live-demo.ts), and no record of the
 * requests it answers. The tests' fake upstream keeps every request to assert on;
 * the demo runs for as long as someone leaves it running, and kept about 700
 * bytes per request for good (27.5 MB per 40,000 requests).
 */
import { demoExecutions } from './demo-data.js';
import { FakeUpstream } from './fake-upstream.js';
import { runLiveDemo } from './live-demo.js';

/**
 * Starts the demo upstream on a free loopback port. `terminalTtlMs` is the
 * gateway's TERMINAL_CACHE_TTL_MS, which the live execution rests out once it
 * has succeeded. Resolves to the running upstream; its `url` is the gateway's
 * UPSTREAM_URL.
 */
export async function startDemoUpstream(terminalTtlMs: number): Promise<FakeUpstream> {
  const upstream = await FakeUpstream.start({ executions: demoExecutions(), recordRequests: false });
  runLiveDemo(upstream, { terminalTtlMs });
  return upstream;
}
