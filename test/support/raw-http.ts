/** HTTP as a raw TCP client (node:net) sends it: bytes as given, nothing fixed up on the way. */
import { once } from 'node:events';
import type { Server } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';

export interface RawOptions {
  /** Silence is a failure, not a hang of the suite: the socket is dropped after this long (ms). */
  giveUpMs?: number;
  /** The client hangs up this long (ms) after sending, answered or not. */
  leaveAfterMs?: number;
  /** The client ends its side this long (ms) after sending, and reads on until the server closes. */
  endAfterMs?: number;
  /**
   * The client ends its side once this many answers came whole (framed by Content-Length or chunked), and reads on
   * until the server closes: unlike a fixed `endAfterMs`, a loaded machine that answers late is not sent a FIN first
   * (node drops a request still being answered when its client ends).
   */
  endAfterAnswers?: number;
  /**
   * The client hangs up as soon as what it received passes this test: unlike a fixed `leaveAfterMs`, a loaded machine
   * that answers late is not left before the part the test reads (a stream's first event).
   */
  leaveOnceReceived?: (text: string) => boolean;
}

/**
 * How many whole HTTP answers `text` holds, one after the other (an answer with neither framing is never whole; a
 * 101's head is whole, and the last).
 */
export function wholeAnswers(text: string): number {
  let count = 0;
  let rest = text;
  for (;;) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) return count;
    const head = rest.slice(0, headEnd);
    let body = rest.slice(headEnd + 4);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    // A 101 is the last HTTP answer on its connection (what follows is the new protocol's); other 1xx are interim.
    if (/^HTTP\/1\.[01] 101 /.test(head)) return count + 1;
    if (/^HTTP\/1\.[01] 1\d\d /.test(head)) {
      rest = body;
      continue;
    }
    if (length) {
      if (Buffer.byteLength(body) < Number(length[1])) return count;
      body = Buffer.from(body).subarray(Number(length[1])).toString();
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const end = body.indexOf('\r\n0\r\n\r\n');
      if (end === -1 && !body.startsWith('0\r\n\r\n')) return count;
      body = end === -1 ? body.slice(5) : body.slice(end + 7);
    } else return count;
    count++;
    rest = body;
  }
}

/**
 * What the client receives for `bytes` until the connection closes, how long that took (ms), and whether the client
 * gave up (`giveUpMs` of silence) rather than the server closing: a close told apart without timing it.
 */
export function rawExchange(url: string, bytes: string, options: RawOptions = {}): Promise<{ text: string; ms: number; gaveUp: boolean }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8');
    let ended = false;
    let gaveUp = false;
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (options.leaveOnceReceived?.(text)) socket.destroy();
      if (options.endAfterAnswers !== undefined && !ended && wholeAnswers(text) >= options.endAfterAnswers) {
        ended = true;
        socket.end();
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.on('close', () => resolve({ text, ms: performance.now() - started, gaveUp }));
    socket.setTimeout(options.giveUpMs ?? 5_000, () => {
      gaveUp = true;
      socket.destroy();
    });
    socket.write(bytes);
    if (options.leaveAfterMs !== undefined) setTimeout(() => socket.destroy(), options.leaveAfterMs);
    if (options.endAfterMs !== undefined) setTimeout(() => socket.end(), options.endAfterMs);
  });
}

/**
 * Sends `bytes` on a new connection to `server` and resets it (RST) in the same tick, before the server can
 * have read a byte: the server reads the request and the reset together, and finds the client gone only when
 * it writes an answer. Resolves once the server's side of the connection has closed, with what the process
 * threw meanwhile (an 'error' nothing listened to); awaited closing, not a sleep, so a busy machine only makes
 * it slower. The server's 'connection' is awaited before sending: the socket named is the one it accepted.
 */
export async function resetBeforeRead(server: Server, url: string, bytes: string, giveUpMs = 10_000): Promise<unknown[]> {
  const uncaught: unknown[] = [];
  const record = (error: unknown) => void uncaught.push(error);
  process.prependListener('uncaughtException', record);
  try {
    const { hostname, port } = new URL(url);
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const client = connect(Number(port), hostname);
    client.on('error', () => undefined);
    const [[serverSide]] = await Promise.all([accepted, once(client, 'connect')]);
    // Not events.once: it listens for 'error' too, which would hide the one this is about.
    const closed = new Promise((resolve) => serverSide.once('close', resolve));
    client.write(bytes);
    client.resetAndDestroy();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      closed,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`the server kept the connection past ${giveUpMs} ms`)), giveUpMs))),
    ]).finally(() => clearTimeout(timer));
    // An 'error' comes before the socket's 'close'; one more turn for anything queued behind it.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('uncaughtException', record);
  }
  return uncaught;
}

/** A TCP server on loopback that writes `bytes` to each connection as it opens, then nothing more (a stalled answer); its port. */
export async function stalledAnswerer(bytes: string): Promise<{ server: NetServer; port: number }> {
  const server = createNetServer((socket) => socket.write(bytes));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port };
}
