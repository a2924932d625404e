/**
 * An `Upgrade` header listing several protocols (RFC 9110 §7.8, formerly RFC 7230 §6.7: a list, in the client's order
 * of preference, of which the server picks one) that names `websocket` among them is a WebSocket upgrade: RFC 6455
 * §4.2.1 asks for an Upgrade "containing" websocket. The gateway picks websocket and answers `Upgrade: websocket`.
 * Served as HTTP instead (as an upgrade to h2c alone is), such a request got the CSRF refusal, a 403 about a header
 * that had nothing to do with it. A list without websocket is still an upgrade to another protocol, ignored.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

function handshake(upgrade: string, path = '/graphql'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: ${upgrade}\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n` +
    `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\nx-request-id: upgrade-list\r\n\r\n`
  );
}

/** A client's text frame (masked with a zero key, so the payload goes as it is). */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('short frames only');
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** Sends the handshake, then `connection_init`: the 101's head and the first server message's text. */
function openAndInit(url: string, head: string): Promise<{ top: string; message: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    let initSent = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer: ${received.toString('latin1').slice(0, 300)}`));
    }, 5_000);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const top = received.subarray(0, end).toString('latin1');
      if (!top.startsWith('HTTP/1.1 101 ')) {
        clearTimeout(timer);
        socket.destroy();
        return resolve({ top, message: '' });
      }
      if (!initSent) {
        initSent = true;
        socket.write(textFrame(JSON.stringify({ type: 'connection_init' })));
      }
      const frame = received.subarray(end + 4);
      if (frame.length < 2 || frame.length < 2 + (frame[1]! & 0x7f)) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ top, message: frame.subarray(2, 2 + (frame[1]! & 0x7f)).toString() });
    });
    socket.write(head);
  });
}

describe('an Upgrade header listing several protocols', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(async () => {
    await harness.close();
  });

  it.each([['h2c, websocket'], ['websocket, h2c'], ['h2c,WebSocket'], ['h2c ,  websocket  ']])(
    'takes %s as a WebSocket upgrade: 101 with Upgrade: websocket, and graphql-ws answers on it',
    async (upgrade) => {
      const { top, message } = await openAndInit(harness.url, handshake(upgrade));
      expect(top.split('\r\n')[0]).toBe('HTTP/1.1 101 Switching Protocols');
      expect(top.toLowerCase()).toContain('\r\nupgrade: websocket');
      expect(top).toContain(`Sec-WebSocket-Accept: ${ACCEPT}`);
      expect(JSON.parse(message)).toEqual({ type: 'connection_ack' });
    },
  );

  it('checks it as a WebSocket upgrade: a foreign Origin gets the WebSocket edge\'s 403, not the CSRF refusal', async () => {
    const head = handshake('h2c, websocket').replace('x-request-id', 'Origin: https://elsewhere.example\r\nx-request-id');
    // The refusal closes the connection: 5 s is only how long a loaded machine may take to answer, never waited for.
    const { text } = await rawExchange(harness.url, head, { giveUpMs: 5_000 });
    const [top = '', body = ''] = text.split('\r\n\r\n');
    expect(top.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
    expect(JSON.parse(body).errors[0].message).toMatch(/^Origin https:\/\/elsewhere\.example may not open a WebSocket/);
  });

  it('still ignores a list without websocket, serving the request over HTTP/1.1', async () => {
    const { text } = await rawExchange(
      harness.url,
      'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nConnection: Upgrade, close\r\nUpgrade: h2c, foo/2\r\n\r\n',
      // Connection: close ends it once answered: 5 s is only how long a loaded machine may take to answer.
      { giveUpMs: 5_000 },
    );
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ data: { __typename: 'Query' } });
  });
});
