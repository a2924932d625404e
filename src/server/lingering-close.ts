/**
 * Lingering close (RFC 9112 §9.6, "the TCP reset problem"). A server that
 * closes a connection while the client may still be sending must close its
 * writing side first and read on for a while: a socket closed with bytes
 * unread, or one that receives bytes after its close, answers with a reset, and
 * the client's TCP stack then throws away the answer it had not read yet. A 413
 * for an upload still on its way, or the answer to an HTTP/1.0 request whose
 * body was still coming, reached the client as EPIPE or ECONNRESET and nothing
 * else.
 *
 * Node destroys the socket as soon as the last answer is written
 * (`destroySoon`); nginx (`lingering_close`) and Go (`closeWriteAndWait`)
 * linger. Hand-written because node:http has no option for it.
 */
import type { Duplex } from 'node:stream';

/**
 * How long a closing connection is read on after its answer went out: enough
 * for what the client had in flight and for its read of the answer, short
 * enough that a client that never stops sending holds the socket no longer.
 */
export const LINGER_MS = 2_000;

const lingering = new WeakSet<Duplex>();

/**
 * Ends `socket` once everything written to it is out, then drops what the
 * client still sends until it closes its side or LINGER_MS pass, and only then
 * destroys the socket. Node's parser, while it is attached, keeps reading (a
 * refused body is dumped, anything after it fails to parse and is refused to
 * no one); without it the socket is resumed here. Idempotent.
 */
export function closeLingering(socket: Duplex): void {
  if (socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  const linger = () => {
    if (socket.destroyed) return;
    if (socket.readableEnded) return void socket.destroy();
    const destroy = socket.destroy.bind(socket);
    // From here the linger ends the socket. node's own destroy without an error (a drain's closeIdleConnections, which
    // counts a lingering connection as idle, or a timeout) would reset it all the same: the answer the client had not
    // read was lost to every client still sending during a drain. That destroy now waits for the linger's end (at most
    // LINGER_MS); one with an error (the connection failed) is at once.
    socket.destroy = (error?: Error) => (error ? destroy(error) : socket);
    const timer = setTimeout(() => destroy(), LINGER_MS);
    socket.once('end', () => destroy());
    socket.once('close', () => clearTimeout(timer));
    // Paused (handed over by node: an upgrade, a CONNECT), unread bytes would pile up and reset the close all the same.
    if (socket.isPaused()) socket.resume();
  };
  if (!socket.writableEnded) socket.end();
  if (socket.writableFinished) linger();
  else socket.once('finish', linger);
}

/**
 * Makes node's own close after a connection's last answer (the client's
 * `Connection: close`, HTTP/1.0, a refusal that closes, a drain) a lingering
 * one: node calls `destroySoon` on the socket then.
 */
export function lingerOnClose(socket: Duplex): void {
  (socket as Duplex & { destroySoon(): void }).destroySoon = () => closeLingering(socket);
}
