/**
 * A WebSocket whose operations still run when SHUTDOWN_GRACE_MS runs out (src/server/drain.ts, src/server/websocket.ts
 * `cut`). Its socket was dropped: the client saw 1006 (abnormal closure, no close frame) and nothing of its
 * operations. Now each operation still running gets a last result with SHUTTING_DOWN, then `complete`, and the
 * connection closes with 1001, so a client knows at once to send them again on a connection to another replica.
 *
 * The upstream is the fake REST server on a loopback port, holding the queries (`hang`); the client is `ws` speaking
 * graphql-transport-ws frame by frame, and graphql-ws's own client.
 */
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { AUTH, LANES } from './support/harness.js';
import { putExecution, sleep, liveHarnessForTest, waitFor } from './support/live.js';

const GOING_AWAY = { code: 1001, reason: 'Going away: the gateway is shutting down' };
const CUT = { errors: [{ message: 'The gateway shut down before it could answer: send the request again (another replica answers it).', extensions: { code: 'SHUTTING_DOWN' } }] };

describe.each(LANES)('a WebSocket operation still running when the grace runs out, %s lane', (lane) => {
  const start = () => liveHarnessForTest(lane);

  it('gets SHUTTING_DOWN and complete for each operation, then a 1001 close frame, not a bare 1006', async () => {
    const harness = await start();
    for (const id of ['ex_cut_one', 'ex_cut_two']) {
      putExecution(harness.upstream, id, 'workflow_succeeded');
      harness.upstream.setFault(id, { kind: 'hang' });
    }
    const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
    socket.on('error', () => undefined);
    const received: unknown[] = [];
    socket.on('message', (data) => received.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
    await waitFor(() => received.length === 1, 'connection_ack');
    socket.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: '{ execution(id: "ex_cut_one") { id } }' } }));
    socket.send(JSON.stringify({ id: 'b', type: 'subscribe', payload: { query: '{ execution(id: "ex_cut_two") { id } }' } }));
    await waitFor(() => harness.upstream.inFlight === 2, 'both queries to hang upstream');

    const report = await harness.instance.drain({ unreadyMs: 0, graceMs: 300 });
    expect(report).toMatchObject({ webSocketsCut: 1, requestsCut: 0 });
    expect(await Promise.race([closed, sleep(5_000).then(() => 'still open')])).toEqual(GOING_AWAY);
    expect(received).toEqual([
      { type: 'connection_ack' },
      { id: 'a', type: 'next', payload: CUT },
      { id: 'a', type: 'complete' },
      { id: 'b', type: 'next', payload: CUT },
      { id: 'b', type: 'complete' },
    ]);
    // Cut, not left running: their upstream calls were cancelled with the socket.
    await waitFor(() => harness.upstream.inFlight === 0, 'the upstream calls to be cancelled');
  });

  it("graphql-ws's client hands its sink the SHUTTING_DOWN result and completes it, with no error", async () => {
    const harness = await start();
    putExecution(harness.upstream, 'ex_cut_client', 'workflow_succeeded');
    harness.upstream.setFault('ex_cut_client', { kind: 'hang' });
    const closes: number[] = [];
    const client = createClient({
      url: harness.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: AUTH },
      retryAttempts: 0,
      on: { closed: (event) => closes.push((event as { code: number }).code) },
    });
    try {
      const seen: { results: unknown[]; completed: boolean; error?: unknown } = { results: [], completed: false };
      client.subscribe(
        { query: '{ execution(id: "ex_cut_client") { id } }' },
        { next: (result) => seen.results.push(result), error: (error) => (seen.error = error), complete: () => (seen.completed = true) },
      );
      await waitFor(() => harness.upstream.inFlight === 1, 'the query to hang upstream');
      await harness.instance.drain({ unreadyMs: 0, graceMs: 300 });
      await waitFor(() => seen.completed || seen.error !== undefined, () => `the operation to end; so far ${JSON.stringify(seen)}`, 5_000);
      expect(seen).toEqual({ results: [CUT], completed: true });
      await waitFor(() => closes.length > 0, 'the socket to close', 5_000);
      expect(closes).toEqual([1001]);
    } finally {
      await client.dispose();
    }
  });
});
