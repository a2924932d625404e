/**
 * The built-in demo upstream `npm start` serves without UPSTREAM_URL: the demo
 * executions, the live one advancing (./live-demo.ts), and no record of the
 * requests it answers. The tests' fake upstream keeps every request to assert on;
 * the demo runs for as long as someone leaves it running, and kept about 700
 * bytes per request for good (27.5 MB per 40,000 requests).
 */
import { demoExecutions } from './demo-data.js';
import { FakeUpstream } from './fake-upstream.js';
import { LIVE_DEMO_ID, runLiveDemo } from './live-demo.js';
import type { IdPattern } from '../upstream/execution-path.js';

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

/**
 * The warning for an EXECUTION_ID_PATTERN that refuses the demo's own ids: every query of the demo was then
 * BAD_USER_INPUT, and nothing at start said why. Names the setting and the first id it refuses; undefined when it
 * takes them all. The gateway still starts: the pattern may be meant for the upstream set next.
 */
export function demoIdsRefusedWarning(pattern: IdPattern): { fields: { variable: string; refusedId: string; refused: number }; message: string } | undefined {
  const ids = [...demoExecutions().map(({ execution }) => execution.id), LIVE_DEMO_ID];
  const refused = ids.filter((id) => !pattern.test(id));
  if (refused.length === 0) return undefined;
  const which = refused.length === ids.length ? `every demo id (${refused[0]} among them)` : `${refused.length} of the ${ids.length} demo ids (${refused[0]} among them)`;
  return {
    fields: { variable: 'EXECUTION_ID_PATTERN', refusedId: refused[0]!, refused: refused.length },
    message: `EXECUTION_ID_PATTERN ${pattern.source} refuses ${which}: the demo answers them with BAD_USER_INPUT. To try the demo, unset EXECUTION_ID_PATTERN; to serve your own executions, set UPSTREAM_URL too.`,
  };
}
