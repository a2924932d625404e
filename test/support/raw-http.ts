/** HTTP as a raw TCP client (node:net) sends it: bytes as given, nothing fixed up on the way. */
import { connect } from 'node:net';

export interface RawOptions {
  /** Silence is a failure, not a hang of the suite: the socket is dropped after this long (ms). */
  giveUpMs?: number;
  /** The client hangs up this long (ms) after sending, answered or not. */
  leaveAfterMs?: number;
  /** The client ends its side this long (ms) after sending, and reads on until the server closes. */
  endAfterMs?: number;
}

/** What the client receives for `bytes` until the connection closes, and how long that took (ms). */
export function rawExchange(url: string, bytes: string, options: RawOptions = {}): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? undefined : reject(error)));
    socket.on('close', () => resolve({ text, ms: performance.now() - started }));
    socket.setTimeout(options.giveUpMs ?? 5_000, () => socket.destroy());
    socket.write(bytes);
    if (options.leaveAfterMs !== undefined) setTimeout(() => socket.destroy(), options.leaveAfterMs);
    if (options.endAfterMs !== undefined) setTimeout(() => socket.end(), options.endAfterMs);
  });
}
