/**
 * A poll refused because the process holds UPSTREAM_MAX_BYTES_IN_FLIGHT of upstream bodies carries
 * `extensions.retryAfterMs` (1–2 s), a cue for clients, as the open circuit's does: it is this process's own
 * bound, not upstream asking for a pause. The live poller read it as upstream's Retry-After, as it did the
 * circuit's (c49b915): the watch was told at once "The executions API asked the gateway to make no calls for 1.5 s",
 * which upstream never did, and the other replicas were told to pause the pair.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Harness } from './support/harness.js';
import { Clients, Recorder, describeEachLane, putExecution, startLiveHarness, waitFor } from './support/live.js';

const QUERY = 'query($id: ID!) { execution(id: $id) { id } }';
const BOUND = 40_000;
const NOTICE_MS = 500;

describeEachLane('a watch whose poll the bodies in flight refused', (lane) => {
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness(lane, { UPSTREAM_MAX_BYTES_IN_FLIGHT: String(BOUND), LIVE_OUTAGE_NOTICE_MS: String(NOTICE_MS), UPSTREAM_TIMEOUT_MS: '10000' });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it('hears that upstream has been failing once the notice time has passed, not that upstream asked for a pause', async () => {
    const { upstream } = harness;
    const id = `ex_bodies_notice_${lane}`;
    const holder = `${id}_held`;
    putExecution(upstream, id, 'workflow_running');
    const watcher = new Recorder(clients.for(harness), { id });
    await watcher.received(1);
    // A body whose head says nearly the whole bound and whose bytes never come: charged until the attempt's deadline.
    upstream.setFault(holder, { kind: 'body', body: '{', headers: { 'content-length': String(BOUND - 10) } });
    void harness.query(QUERY, { id: holder }).catch(() => undefined);
    const notices = () => watcher.results.filter((result) => result.errors !== undefined);
    await waitFor(() => notices().length >= 1, () => `the outage notice; so far ${watcher.describe()}`, 8_000);
    const notice = notices()[0]!.errors![0]!;
    expect(notice.extensions?.['code']).toBe('UPSTREAM_UNAVAILABLE');
    expect(notice.message).toBe('The executions API has been failing for a while; updates resume when it answers again.');
    expect(harness.logs.some((line) => String(line.msg).includes('UPSTREAM_MAX_BYTES_IN_FLIGHT') || String(line.why ?? '').includes('UPSTREAM_MAX_BYTES_IN_FLIGHT'))).toBe(true);
    upstream.setFault(holder, undefined);
  });
});
