/**
 * The open circuit's `extensions.retryAfterMs` is a cue for clients, not upstream asking for a pause. A watch
 * whose poller the circuit refused must hear that upstream has been failing, not that "the executions API
 * asked the gateway to make no calls", which upstream never did (it answered 500s).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Harness } from './support/harness.js';
import { CIRCUIT_OF_THREE, Clients, Recorder, describeEachLane, putExecution, startLiveHarness, waitFor } from './support/live.js';

const QUERY = 'query($id: ID!) { execution(id: $id) { id } }';
// 60 s, not 5: the case needs the circuit still open at its refused query, and a loaded machine's stall of 5 s
// between the opening and that query let the probe through (an unknown id, NOT_FOUND), as designed.
const HALF_OPEN_MS = 60_000;
const NOTICE_MS = 1_500;

describeEachLane('a watch refused by the open circuit', (lane) => {
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness(lane, {
      LIVE_OUTAGE_NOTICE_MS: String(NOTICE_MS),
      ...CIRCUIT_OF_THREE,
      UPSTREAM_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it('hears that upstream has been failing, when the notice time has passed; a query hears when to retry', async () => {
    const { upstream } = harness;
    const id = `ex_circuit_notice_${lane}`;
    putExecution(upstream, id, 'workflow_running');
    const watcher = new Recorder(clients.for(harness), { id });
    await watcher.received(1);
    const failing = [id, `${id}_2`, `${id}_3`];
    for (const each of failing) upstream.setFault(each, { kind: 'status', status: 500 });
    await Promise.all(failing.slice(1).map((each) => harness.query(QUERY, { id: each })));
    await waitFor(() => harness.logs.some((line) => line.msg === 'upstream circuit opened: failing fast'), 'the circuit to open');
    const refused = await harness.query(QUERY, { id: `${id}_4` });
    expect(refused.errors?.map((error) => error.extensions?.['code'])).toEqual(['UPSTREAM_UNAVAILABLE']);
    const retryAfterMs = refused.errors![0]!.extensions?.['retryAfterMs'] as number;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(HALF_OPEN_MS);
    expect(retryAfterMs % 100).toBe(0);
    const notices = () => watcher.results.filter((result) => result.errors !== undefined);
    await waitFor(() => notices().length >= 1, () => `the outage notice; so far ${watcher.describe()}`);
    const notice = notices()[0]!.errors![0]!;
    expect(notice.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    // Before: the refusal's retryAfterMs was read as upstream's Retry-After, and the notice came at once with
    // "The executions API asked the gateway to make no calls for 5 s".
    expect(notice.message).toBe('The executions API has been failing for a while; updates resume when it answers again.');
  });
});
