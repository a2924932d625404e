/**
 * A WebSocket client that sends `connection_init` and resets its connection at once (a tab closed, a laptop's network
 * gone, a client killed) makes the gateway's `connection_ack` write fail (EPIPE or ECONNRESET) while `ws` still calls the
 * socket open: Node calls a failed write's callback before it destroys the socket. That is the client leaving, no
 * failure of the gateway's: it was logged at error ("WebSocket message handling failed", `write EPIPE`), an alert for
 * an operator on every such client, and the socket was closed with 1011 Internal Server Error.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { waitForAnswer } from './support/live.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A client's text frame (masked with a zero key, so the payload goes as it is). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** Upgrades, then writes `connection_init` and resets the connection in the same turn; resolves once the socket closed. */
function initAndReset(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      if (!received.startsWith('HTTP/1.1 101 ')) return reject(new Error(received.slice(0, 200)));
      socket.write(textFrame(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer demo-token' } })));
      socket.resetAndDestroy();
    });
    socket.write(
      `GET /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n`,
    );
  });
}

describe('a WebSocket client that resets its connection right after connection_init', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: { METRICS: 'api' } });
  });
  afterAll(() => harness.close());

  it('is logged as no gateway failure: nothing at error, whatever the write of its connection_ack met', async () => {
    for (let i = 0; i < 20; i++) await initAndReset(harness.url);
    // Until the gateway has closed all twenty (a failed write's callback, and its log, come before the close), not
    // 200 ms: the client's own reset closes its side at once, and a loaded machine can read them all later than that,
    // when a failure logged at error would come after the look.
    await waitForAnswer(async () => (await harness.metricValue('gateway_websocket_connections')) === 0, 'the gateway to close the twenty connections', 10_000);
    const errors = harness.logs.filter((line) => (line.level as number) >= 50);
    expect(errors.map((line) => `${line.msg}: ${String(line.err)}`)).toEqual([]);
  });
});
