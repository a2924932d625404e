/**
 * Pieces of HTTP/1.1 the edge reads and writes itself, where node's server
 * gives no ServerResponse: a socket in error, an upgrade being refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { CACHE_CONTROL } from '../pipeline/cache-control.js';

/** A status whose answer has no body, and so no Content-Length (RFC 9110 §8.6, §15.3.5, §15.4.5). */
export function forbidsContentLength(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}

/**
 * A request target in absolute-form (`GET http://api.example/graphql?… HTTP/1.1`)
 * rewritten to the origin-form every reader here takes (`/graphql?…`): node
 * passes the target as sent, and Yoga's and the fast lane's URLs (host, then
 * target) would not parse. RFC 9112 §3.2.2: a server MUST accept the
 * absolute-form, and takes the host from the target, ignoring the Host header's
 * value (a missing Host is still refused over HTTP/1.1). Any other target is left as sent.
 */
export function toOriginForm(request: IncomingMessage): void {
  const target = request.url;
  if (target === undefined || target.startsWith('/') || !/^https?:\/\//i.test(target) || !URL.canParse(target)) return;
  const url = new URL(target);
  request.url = `${url.pathname}${url.search}`;
  if (request.headers.host !== undefined) request.headers.host = url.host;
}

/** The request target's path, without the query: what the edge routes by. */
export function pathOf(request: Pick<IncomingMessage, 'url'>): string {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Writes a whole JSON answer on `socket` and ends it: `status` is the status
 * line's code and reason ("400 Bad Request"), `headers` go out as given, after
 * the Content-Type, Content-Length and Cache-Control every answer carries, and
 * the Date node's own answers carry (RFC 9110 §6.6.1: an origin server MUST
 * send it on every 2xx, 3xx and 4xx).
 */
export function endWithJson(socket: Duplex, status: string, body: string, headers: Record<string, string>): void {
  endWith(socket, status, 'application/json; charset=utf-8', body, headers);
}

/** endWithJson for a body of any `contentType` (the metrics port answers in plain text). */
export function endWith(socket: Duplex, status: string, contentType: string, body: string, headers: Record<string, string>): void {
  // A `connection` given (a 426's `upgrade`) joins the `close` every such answer ends with, in one field.
  const { connection, ...rest } = headers;
  const lines = Object.entries(rest)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${status}\r\ncontent-type: ${contentType}\r\ncontent-length: ${Buffer.byteLength(body)}\r\ncache-control: ${CACHE_CONTROL}\r\ndate: ${new Date().toUTCString()}\r\n${lines}connection: ${connection ? `${connection}, close` : 'close'}\r\n\r\n${body}`);
}

/** A socket's error once the socket is the edge's (`adoptSocket`): nothing to do but let it close. */
const gone = (): void => undefined;

/**
 * Takes on `socket`, which node handed over with an 'upgrade' or 'connect'
 * event: node took its own 'error' listener off it then, and an 'error' that
 * nothing listens to is thrown, which ends the process. A client that sends
 * its request and resets the connection before the gateway has read it is
 * found gone only when an answer is written (node no longer reads the socket),
 * and that write's ECONNRESET had no listener: one such connection (a refused
 * upgrade, a CONNECT, an upgrade pipelined behind a request still being
 * answered) ended the gateway, and every request it was serving with it.
 * Kept for the socket's life, added once however often the socket is handed
 * over: ws and node's connection listener (an ignored upgrade,
 * ./ignored-upgrade.ts) add their own handling beside it.
 */
export function adoptSocket(socket: Duplex): void {
  // Once per socket: an ignored upgrade (h2c) hands the socket back to node's parser, and every later request on
  // the connection that asks to upgrade comes here again; a listener each would grow without bound.
  if (!socket.listeners('error').includes(gone)) socket.on('error', gone);
}

/**
 * Calls `then` once no earlier answer is being written on `socket` (at once
 * when none is), never when the connection is gone or was closed by an
 * earlier answer. Node hands over a pipelined request that asks to upgrade
 * while earlier ones on its connection are still being answered; what is
 * written on the socket before they are done (a 101, a refusal, another
 * parser's answers) would go out before or inside theirs (HTTP/1.1 answers in
 * order, RFC 9112 §9.3.2). `socket` was adopted (`adoptSocket`): a client that
 * leaves while waiting throws nothing. A listener only for the wait was not
 * enough: when the earlier answer's write is what finds the client gone, the
 * answer's 'close' comes a tick before the socket's 'error'.
 */
export function whenAnswered(socket: Duplex, then: () => void): void {
  if (socket.destroyed || socket.writableEnded) return;
  // Node's own field: the answer the socket is writing; on its 'close', the next pipelined one has taken its place.
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!current) return then();
  current.once('close', () => whenAnswered(socket, then));
}
