/**
 * The lingering close (src/server/lingering-close.ts) on plain TCP sockets on
 * loopback, step by step: the server's side ends first, what the client still
 * sends is read until its own end or LINGER_MS, node's own destroy waits for
 * that, and an answer still on its way is never cut by the linger.
 * test/http-framing.test.ts and test/shutdown.test.ts hold the same close
 * through node:http, where a parser and a drain stand in between.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeLingering, LINGER_MS, lingerOnClose } from '../src/server/lingering-close.js';

interface Pair {
  /** The server's side, which the test closes the lingering way. */
  server: net.Socket;
  client: net.Socket;
  /** Everything the client read, as it arrives. */
  received: Buffer[];
  /** Resolves when the client has read the server's FIN. */
  clientEnded: Promise<void>;
  /** Resolves with performance.now() when the server's side has closed. */
  serverClosed: Promise<number>;
  /** Resolves when the client's side has closed. */
  clientClosed: Promise<void>;
  /** An error the client's socket met (a reset: ECONNRESET), if any. */
  clientError: () => Error | undefined;
}

const listeners: net.Server[] = [];

afterEach(async () => {
  for (const listener of listeners.splice(0)) await new Promise((resolve) => listener.close(resolve));
});

/**
 * A connected pair on loopback. The server's side reads what comes, as node's
 * HTTP parser does while attached, and stays open after the client's FIN (as
 * node:http's does).
 */
async function pair({ clientPaused = false }: { clientPaused?: boolean } = {}): Promise<Pair> {
  const listener = net.createServer({ allowHalfOpen: true });
  listeners.push(listener);
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect({ port: (listener.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const server = await accepted;
  await new Promise<void>((resolve) => (client.connecting ? client.once('connect', () => resolve()) : resolve()));
  server.on('error', () => undefined);
  server.on('data', () => undefined);
  let clientError: Error | undefined;
  client.on('error', (error) => (clientError = error));
  const received: Buffer[] = [];
  client.on('data', (chunk: Buffer) => received.push(chunk));
  // After the listener, which starts the flow.
  if (clientPaused) client.pause();
  const clientEnded = new Promise<void>((resolve) => client.once('end', resolve));
  const serverClosed = new Promise<number>((resolve) => server.once('close', () => resolve(performance.now())));
  const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return { server, client, received, clientEnded, serverClosed, clientClosed, clientError: () => clientError };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with performance.now() at `socket`'s 'finish': its answer is out, and the linger's LINGER_MS timer starts. */
const answerOut = (socket: net.Socket) => new Promise<number>((resolve) => socket.once('finish', () => resolve(performance.now())));

/**
 * A close that came before the linger's own deadline (LINGER_MS after the answer went out) was not the linger's timer:
 * timed from there, not from the client's end, which a loaded machine's stall of a second right after it made look late.
 */
const BEFORE_THE_LINGER_CUT = LINGER_MS - 50;

/** Whether `promise` settles within `ms`. */
const within = (promise: Promise<unknown>, ms: number) => Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);

describe('closing a connection the lingering way', () => {
  it('ends the server side first, reads on while the client still sends, and closes the moment the client ends its side', async () => {
    const { server, client, received, clientEnded, serverClosed, clientError, clientClosed } = await pair();
    server.write('HTTP/1.1 413 Content Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    const out = answerOut(server);
    closeLingering(server);
    await clientEnded;
    // The client, still uploading, sends 256 KB more after the answer: the server takes it all and closes nothing yet.
    await new Promise<void>((resolve) => client.write(Buffer.alloc(256 * 1024, 1), () => resolve()));
    await sleep(100);
    expect(server.destroyed).toBe(false);
    client.end();
    const closedAt = await serverClosed;
    expect(closedAt - (await out)).toBeLessThan(BEFORE_THE_LINGER_CUT);
    await clientClosed;
    expect(clientError()).toBeUndefined();
    expect(Buffer.concat(received).toString()).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a client that never stops sending is cut LINGER_MS after the answer went out, not before', async () => {
    const { server, client, clientEnded, serverClosed } = await pair();
    server.write('answer');
    closeLingering(server);
    await clientEnded;
    const answered = performance.now();
    const sending = setInterval(() => client.writable && client.write('more'), 50);
    try {
      const closedAt = await serverClosed;
      expect(closedAt - answered).toBeGreaterThanOrEqual(LINGER_MS - 50);
      // 3 s past the linger, not 1: its timer runs in this process, which a loaded machine can stall past a second;
      // a socket never cut runs into the test's timeout.
      expect(closedAt - answered).toBeLessThan(LINGER_MS + 3_000);
    } finally {
      clearInterval(sending);
    }
  });

  it('a client that had ended its side before the answer went out is closed as soon as the answer is out', async () => {
    const { server, client, received, serverClosed, clientClosed } = await pair();
    client.end();
    await new Promise((resolve) => server.once('end', resolve));
    server.write('answer');
    const out = answerOut(server);
    closeLingering(server);
    expect((await serverClosed) - (await out)).toBeLessThan(BEFORE_THE_LINGER_CUT);
    await clientClosed;
    expect(Buffer.concat(received).toString()).toBe('answer');
  });

  it("node's own destroy without an error (a drain's closeIdleConnections, a timeout) waits for the linger; one with an error does not", async () => {
    const { server, clientEnded, serverClosed } = await pair();
    server.write('answer');
    const out = answerOut(server);
    closeLingering(server);
    await clientEnded;
    server.destroy();
    await sleep(100);
    expect(server.destroyed).toBe(false);
    server.destroy(new Error('the connection failed'));
    expect((await serverClosed) - (await out)).toBeLessThan(BEFORE_THE_LINGER_CUT);
  });

  it("leaves no timer behind once the client's end closed the socket", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const { server, client, clientEnded, serverClosed } = await pair();
    const before = timers();
    server.write('answer');
    closeLingering(server);
    await clientEnded;
    expect(timers()).toBe(before + 1);
    client.end();
    await serverClosed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBe(before);
  });

  it('resumes a paused socket (one node handed over), so the client is read to its end rather than reset', async () => {
    const { server, client, clientEnded, serverClosed, clientError, clientClosed } = await pair();
    server.pause();
    server.write('answer');
    const out = answerOut(server);
    closeLingering(server);
    await clientEnded;
    await new Promise<void>((resolve) => client.write(Buffer.alloc(256 * 1024, 1), () => resolve()));
    client.end();
    expect((await serverClosed) - (await out)).toBeLessThan(BEFORE_THE_LINGER_CUT);
    await clientClosed;
    expect(clientError()).toBeUndefined();
  });

  it('a socket whose answer had all gone out before the call lingers at once, and is cut LINGER_MS later', async () => {
    const { server, serverClosed } = await pair();
    await new Promise<void>((resolve) => server.end('answer', () => resolve()));
    expect(server.writableFinished).toBe(true);
    const called = performance.now();
    closeLingering(server);
    // 5 s past the linger, not 2: a loaded machine can stall this process's timers past a second.
    expect(await within(serverClosed, LINGER_MS + 5_000)).toBe(true);
    expect((await serverClosed) - called).toBeGreaterThanOrEqual(LINGER_MS - 50);
  });

  it('the linger starts once the whole answer went out: a client that reads it slowly, starting past LINGER_MS, gets every byte', async () => {
    const { server, client, received, clientEnded } = await pair({ clientPaused: true });
    // Far more than loopback's socket buffers hold: most of it waits in the process until the client reads.
    const answer = Buffer.alloc(48 * 1024 * 1024, 7);
    server.write(answer);
    closeLingering(server);
    await sleep(LINGER_MS + 500);
    expect(server.destroyed).toBe(false);
    client.resume();
    await clientEnded;
    expect(received.reduce((bytes, chunk) => bytes + chunk.length, 0)).toBe(answer.length);
    client.end();
  });

  it("lingerOnClose makes node's close after a connection's last answer (destroySoon) a lingering one", async () => {
    const { server, client, clientEnded, serverClosed, clientError, clientClosed } = await pair();
    lingerOnClose(server);
    server.write('answer');
    (server as net.Socket & { destroySoon(): void }).destroySoon();
    await clientEnded;
    await new Promise<void>((resolve) => client.write(Buffer.alloc(64 * 1024, 1), () => resolve()));
    await sleep(100);
    expect(server.destroyed).toBe(false);
    client.end();
    await serverClosed;
    await clientClosed;
    expect(clientError()).toBeUndefined();
  });

  it('is idempotent', async () => {
    const { server, client, clientEnded, serverClosed } = await pair();
    const endListeners = server.listenerCount('end');
    server.write('answer');
    closeLingering(server);
    closeLingering(server);
    await clientEnded;
    expect(server.listenerCount('end')).toBe(endListeners + 1);
    client.end();
    await serverClosed;
  });

  it('leaves a socket destroyed before the call alone: nothing ended, nothing waited for', async () => {
    const { server, serverClosed } = await pair();
    server.destroy();
    await serverClosed;
    const finishListeners = server.listenerCount('finish');
    closeLingering(server);
    expect(server.writableEnded).toBe(false);
    expect(server.listenerCount('finish')).toBe(finishListeners);
  });
});
