/**
 * A request that arrives at the end of a drain (src/server/drain.ts), once every earlier request has finished,
 * while the drain waits for the last connections to close (LINGER_MS): on a connection accepted before the listener
 * closed, which README promises to serve. The drain did not wait for it: it logged `drained: every request
 * finished` with it uncounted (`requestsFinished` 0), and the process's exit then waited on it only because closing
 * the upstream pool waits for its calls, with no bound of the drain's: an upstream that hangs held the exit past
 * SHUTDOWN_GRACE_MS until the attempt's timeout (6.4 s with a 3 s grace, the real process). Now it is waited for as
 * any other request, within the grace, and cut with 503 SHUTTING_DOWN when the grace runs out.
 *
 * The upstream is the fake REST server on a loopback port (`hang`, `slow`); the client is a raw TCP socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AUTH, Harness } from './support/harness.js';
import { sentDuringDrain } from './support/drain.js';
import { putExecution } from './support/live.js';

const query = (id: string) => `{ execution(id: "${id}") { id } }`;

describe('a request arriving while the drain waits for the last connections to close', () => {
  const started: Harness[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((harness) => harness.close()));
  });

  /** A request for `id` sent once the listener has closed and the drain found nothing in flight. */
  const lateRequest = (harness: Harness, id: string, graceMs: number) =>
    sentDuringDrain(harness, `GET /graphql?query=${encodeURIComponent(query(id))} HTTP/1.1\r\nHost: x\r\nAuthorization: ${AUTH}\r\n\r\n`, graceMs);

  it('is cut with 503 SHUTTING_DOWN when the grace runs out, not waited for past it', async () => {
    // An attempt timeout far past the grace: the drain that does not wait for the request waits for it in the pool's close.
    const harness = await Harness.start({ env: { UPSTREAM_TIMEOUT_MS: '12000', UPSTREAM_MAX_ATTEMPTS: '1' } });
    started.push(harness);
    putExecution(harness.upstream, 'ex_late_hang', 'workflow_succeeded');
    harness.upstream.setFault('ex_late_hang', { kind: 'hang' });
    // The late request must reach upstream within the grace, or it is cut before it holds the pool's close: a first
    // query of a fresh process took more than a 1 s grace to get there beside other test files (1 run in 6). So the
    // gateway has answered once already, and the grace is 3 s.
    expect((await harness.query('{ __typename }')).status).toBe(200);
    const { report, tookMs, received } = await lateRequest(harness, 'ex_late_hang', 3_000);
    expect(harness.upstream.requestsFor('ex_late_hang')).toHaveLength(1);
    expect(report).toMatchObject({ requestsCut: 1, requestsFinished: 0 });
    expect(received).toMatch(/^HTTP\/1\.1 503 /);
    expect(received).toContain('"code":"SHUTTING_DOWN"');
    // The grace (3 s), the cut answers' 250 ms and a loaded machine's slack; the attempt's 12 s before.
    expect(tookMs).toBeLessThan(7_000);
  });

  it('is waited for within the grace, answered, and counted among the requests that finished', async () => {
    const harness = await Harness.start();
    started.push(harness);
    putExecution(harness.upstream, 'ex_late_slow', 'workflow_succeeded');
    // Past the 2 s the drain then waits for the connection at most (LINGER_MS).
    harness.upstream.setFault('ex_late_slow', { kind: 'slow', ms: 2_500 });
    const { report, received } = await lateRequest(harness, 'ex_late_slow', 10_000);
    expect(received).toMatch(/^HTTP\/1\.1 200 [^]*\r\nconnection: close\r\n/i);
    expect(received).toContain('"id":"ex_late_slow"');
    expect(report).toMatchObject({ requestsFinished: 1, requestsCut: 0 });
  });
});
