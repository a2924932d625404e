/**
 * The WebSocket keep-alive (src/server/websocket.ts, WS_KEEPALIVE_MS): the
 * gateway pings every connection every WS_KEEPALIVE_MS (12 s by default) and
 * drops one whose pong has not come as long after, ending its watches. A peer that vanished without a close
 * (a laptop lid shut, a NAT entry expired) otherwise held its watches, their
 * pollers and a slot of WS_MAX_CONNECTIONS until the kernel gave up on the
 * connection, minutes later.
 *
 * Real time, with WS_KEEPALIVE_MS at 2 s (about 7 s). One lane: pings and
 * pongs are the edge's, before any lane.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, type Harness } from './support/harness.js';
import { putExecution, startLiveHarness, waitFor } from './support/live.js';

/**
 * A graphql-transport-ws connection watching `id` that answers the first `pongs` pings and no more (all of them when
 * undefined); `closed` resolves with the close code its client saw.
 */
async function watching(harness: Harness, id: string, pongs?: number) {
  const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { autoPong: false });
  socket.on('error', () => undefined);
  let pings = 0;
  socket.on('ping', (data) => {
    pings++;
    if (pongs === undefined || pings <= pongs) socket.pong(data);
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  const updates: unknown[] = [];
  await new Promise<void>((resolve) => socket.once('open', () => resolve()));
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string };
    if (message.type === 'connection_ack') {
      socket.send(JSON.stringify({ id: 'watch', type: 'subscribe', payload: { query: `subscription { executionUpdates(id: "${id}") { isFinal } }` } }));
    }
    if (message.type === 'next') updates.push(message);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
  return { socket, closed, updates, pings: () => pings };
}

/** WS_KEEPALIVE_MS here: short, so that the case takes seconds, not the default's 37. */
const KEEPALIVE_MS = 2_000;

describe('the WebSocket keep-alive', () => {
  let harness: Harness;
  beforeAll(async () => {
    // The idle timeout does not apply to a connection running a watch; long anyway, so that only the keep-alive acts.
    harness = await startLiveHarness('fast', { WS_IDLE_TIMEOUT_MS: '120000', WS_KEEPALIVE_MS: String(KEEPALIVE_MS) });
  });
  afterAll(() => harness.close());

  it('drops a connection that stopped answering pings WS_KEEPALIVE_MS after the first unanswered one, ending its watch; one that answers stays', async () => {
    putExecution(harness.upstream, 'ex_keepalive_silent', 'workflow_running');
    putExecution(harness.upstream, 'ex_keepalive_answering', 'workflow_running');
    // From before the silent connection opens: its pings are timed from its opening, and a loaded machine can take
    // seconds to start both watches.
    const opened = performance.now();
    // Answers the first ping, then vanishes: the second goes unanswered.
    const silent = await watching(harness, 'ex_keepalive_silent', 1);
    const answering = await watching(harness, 'ex_keepalive_answering');
    await waitFor(() => silent.updates.length > 0 && answering.updates.length > 0, 'both watches to start');
    expect(harness.instance.live.counts.subscriptions).toBe(2);

    // Pings at 1× and 2× WS_KEEPALIVE_MS; the second's pong awaited until 3×. Without the keep-alive it stays open for good.
    const code = await Promise.race([silent.closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), 10 * KEEPALIVE_MS))]);
    const after = performance.now() - opened;
    expect(code).toBe(1006);
    expect(after).toBeGreaterThan(2.5 * KEEPALIVE_MS);
    expect(silent.pings()).toBe(2);
    await waitFor(() => harness.instance.live.counts.subscriptions === 1, 'the silent connection\'s watch to end');
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    expect(answering.pings()).toBeGreaterThanOrEqual(2);
    answering.socket.close();
    await answering.closed;
  }, 60_000);
});
