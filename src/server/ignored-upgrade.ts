/**
 * An Upgrade to anything but WebSocket is ignored, as RFC 9110 §7.8 lets a
 * server: the request is served over HTTP/1.1 like any other.
 *
 * `curl --http2` and Java's HttpClient (HTTP/2 by default) ask every
 * cleartext request to upgrade to h2c (`Connection: Upgrade, HTTP2-Settings`,
 * `Upgrade: h2c`). Node hands any request asking to upgrade to the server's
 * 'upgrade' listeners instead of its request handler, whatever the protocol,
 * once one listens (the WebSocket edge, ./websocket.ts), so those clients got
 * 400 "Only an upgrade to websocket is served." on every query.
 *
 * Node 20 cannot be told per request to ignore an Upgrade, so the request's
 * head is written again without it (no `Upgrade`, no `HTTP2-Settings`, no such
 * tokens in `Connection`), put back in front of what the socket has not yet
 * delivered, and the socket is handed to the server as a new connection: its
 * parser reads a plain HTTP/1.1 request, and every later one on the connection.
 *
 * Not before every earlier answer on the connection is written (./raw-http.ts
 * `whenAnswered`): the new parser's answers would queue behind the socket's
 * current one, which only the old parser would hand the socket on from. Handed
 * over at once, the request and every later one were never answered (measured:
 * a plain GET pipelined before an h2c GET left the connection silent until the
 * client gave up).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { whenAnswered } from './raw-http.js';

/** Header fields that only ask for the upgrade (RFC 9110 §7.8, RFC 7540 §3.2.1). */
const UPGRADE_FIELDS = new Set(['upgrade', 'http2-settings']);

/** `request`'s head as HTTP/1.1 bytes, without what asks for an upgrade. */
function headWithoutUpgrade(request: IncomingMessage): Buffer {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const raw = request.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) {
    const name = raw[index]!;
    const value = raw[index + 1]!;
    const lower = name.toLowerCase();
    if (UPGRADE_FIELDS.has(lower)) continue;
    if (lower === 'connection') {
      const kept = value.split(',').map((token) => token.trim()).filter((token) => token !== '' && !UPGRADE_FIELDS.has(token.toLowerCase()));
      if (kept.length > 0) lines.push(`${name}: ${kept.join(', ')}`);
      continue;
    }
    lines.push(`${name}: ${value}`);
  }
  // Node reads header bytes as latin1: written back the same way, each byte is the one received.
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** Serves the request on `socket` over HTTP/1.1 as if it had not asked to upgrade; `head` is what followed its headers. */
export function serveIgnoringUpgrade(server: Server, request: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.unshift(head.length > 0 ? Buffer.concat([headWithoutUpgrade(request), head]) : headWithoutUpgrade(request));
  whenAnswered(socket, () => {
    // An earlier answer's end armed the old connection's keep-alive timeout (HTTP_KEEP_ALIVE_TIMEOUT_MS) on the
    // socket, which the new connection neither clears nor sets (node arms its own only when server.timeout is):
    // the request was cut off unanswered once it took longer (measured: 300 ms keep-alive, 1.5 s upstream).
    (socket as Partial<Socket>).setTimeout?.(server.timeout || 0);
    server.emit('connection', socket);
  });
}
