/**
 * A drain's three steps for WebSocket connections (src/server/websocket.ts
 * `goingAway`, `close`), each in isolation, where test/shutdown.test.ts drives
 * them together with SSE and queries:
 *
 * - a connection running nothing when the listener closes is told 1001 at once
 *   (it holds no work, so nothing waits for it), and the drain ends without
 *   waiting for the grace;
 * - an upgrade reaching the gateway once it is going away (its head still
 *   arriving when the listener closed) is refused with 503 and SHUTTING_DOWN,
 *   as a live subscription is;
 * - a connection whose operation outlives SHUTDOWN_GRACE_MS is cut when the
 *   grace runs out (its operation told SHUTTING_DOWN, then 1001 for its
 *   client), not when upstream answers.
 *
 * The upstream is the fake REST server on a loopback port; the client is `ws`
 * speaking graphql-transport-ws frame by frame.
 */
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { AUTH, LANES, type Harness } from './support/harness.js';
import { putExecution, sleep, liveHarnessForTest, waitFor } from './support/live.js';

const GOING_AWAY = { code: 1001, reason: 'Going away: the gateway is shutting down' };

/** A graphql-transport-ws connection, acknowledged; `closed` resolves with the close code and reason its client saw. */
async function acknowledged(harness: Harness): Promise<{ socket: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } })));
    socket.once('message', (data) => (JSON.parse(String(data)).type === 'connection_ack' ? resolve() : reject(new Error(String(data)))));
  });
  return { socket, closed };
}

describe.each(LANES)('WebSocket connections during a drain, %s lane', (lane) => {
  const start = () => liveHarnessForTest(lane);

  it('a connection running nothing is told 1001 as the listener closes, and the drain does not wait for the grace', async () => {
    const harness = await start();
    const { closed } = await acknowledged(harness);
    const began = performance.now();
    // A grace of 20 s, the test's own timeout, and 5 s to end: a drain that waits for the grace still fails, and a
    // loaded machine's slow drain (1.3 s of the 2 s it had beside a 5 s grace) does not.
    const report = await harness.instance.drain({ unreadyMs: 50, graceMs: 20_000 });
    expect(await closed).toEqual(GOING_AWAY);
    expect(report).toMatchObject({ requestsCut: 0, webSocketsCut: 0 });
    expect(performance.now() - began).toBeLessThan(5_000);
  });

  // The close crosses the client's next messages on the wire: run, they called upstream, the access log said they
  // were answered, and their answers went nowhere (the socket was closing); a graphql-ws client sent them again anyway.
  it('a message that reaches a connection after its 1001 began is not run: no upstream call, no answer, no access line', async () => {
    const harness = await start();
    putExecution(harness.upstream, 'ex_late_message', 'workflow_running');
    const { socket, closed } = await acknowledged(harness);
    const received: string[] = [];
    socket.on('message', (data) => received.push(String(data)));
    const from = harness.logs.length;
    // Sent as the listener closes, just before goingAway's 1001 (the same turn of the loop): it reaches the gateway
    // after the gateway began to close the connection.
    const close = harness.instance.server.close.bind(harness.instance.server);
    harness.instance.server.close = ((callback?: (error?: Error) => void) => {
      socket.send(JSON.stringify({ id: 'late', type: 'subscribe', payload: { query: '{ execution(id: "ex_late_message") { status } }' } }));
      return close(callback);
    }) as typeof harness.instance.server.close;
    const report = await harness.instance.drain({ unreadyMs: 50, graceMs: 5_000 });
    expect(await closed).toEqual(GOING_AWAY);
    await sleep(100);
    expect(harness.upstream.requestsFor('ex_late_message')).toEqual([]);
    expect(received).toEqual([]);
    expect(harness.logs.slice(from).filter((line) => line.msg === 'request' || line.msg === 'operation')).toEqual([]);
    expect(report).toMatchObject({ requestsCut: 0, webSocketsCut: 0 });
  });

  it('an upgrade whose head was still arriving when the listener closed is refused with 503 and SHUTTING_DOWN, with its request id', async () => {
    const harness = await start();
    const url = new URL(harness.url);
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // A connection in the middle of a request's head is no idle one: closing the listener leaves it open.
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`);
    await sleep(50);
    const drained = harness.instance.drain({ unreadyMs: 50, graceMs: 5_000 });
    await waitFor(() => !harness.instance.server.listening, 'the listener to close');
    socket.write(`Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\nX-Request-Id: late-upgrade\r\n\r\n`);
    await Promise.race([ended, sleep(5_000)]);
    socket.destroy();
    const [head = '', body = ''] = received.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(head).toMatch(/\r\nx-request-id: late-upgrade\r\n/i);
    expect(JSON.parse(body)).toMatchObject({ errors: [{ extensions: { code: 'SHUTTING_DOWN' } }] });
    expect(await drained).toMatchObject({ requestsCut: 0, webSocketsCut: 0 });
  });

  it('a connection whose operation outlives the grace is cut as the grace runs out, not when upstream answers', async () => {
    const harness = await start();
    putExecution(harness.upstream, 'ex_drain_hang', 'workflow_succeeded');
    harness.upstream.setFault('ex_drain_hang', { kind: 'hang' });
    const { socket, closed } = await acknowledged(harness);
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ execution(id: "ex_drain_hang") { id } }' } }));
    await waitFor(() => harness.upstream.inFlight === 1, 'the query to hang upstream');
    const began = performance.now();
    const report = await harness.instance.drain({ unreadyMs: 50, graceMs: 300 });
    expect(report).toMatchObject({ webSocketsCut: 1 });
    // 5 s, not 2: a loaded machine took 1.5 s of 2 to cut it; one cut when upstream answers waits for the 10 s attempt deadline.
    const seen = await Promise.race([closed, sleep(5_000).then(() => 'still open')]);
    expect(seen).toEqual(GOING_AWAY);
    expect(performance.now() - began).toBeLessThan(5_000);
  });
});
