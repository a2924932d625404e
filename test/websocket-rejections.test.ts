/**
 * Nothing a WebSocket client does makes the gateway reject or throw outside a handled promise
 * (src/server/websocket.ts on graphql-ws's makeServer): graphql-ws runs each message's handling as a promise the
 * edge awaits, ends a connection's operations in the promise `closed()` returns, and closes sockets from timers,
 * so a throw in any of them (a `send`, a `close`, an operation's `return()`) would be an unhandled rejection or an
 * uncaught exception, ending the process (or, here, failing the run). Each case drives a real client into one such
 * path and asserts that none was seen, that the client got a close with graphql-ws's code (or its operation a
 * GraphQL error with a stable code), and that the gateway logged no error of its own.
 *
 * None of these paths rejects unhandled: the gateway passes graphql-ws no hook that can throw (no onConnect,
 * context, onError, onComplete; onSubscribe and onNext only build objects), its `send` resolves once the socket is
 * closed, an operation's `return()` cannot reject, ws emits one 'error' per socket at most, and the edge catches
 * what each message's handling rejects with. What did go wrong: a close reason past 123 bytes, which ws throws on,
 * and graphql-ws writes the client's operation id into one (4409), so a long duplicate id was closed with 4500 and
 * logged as the gateway's error.
 */
import { connect } from 'node:net';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, Harness } from './support/harness.js';

const PROTOCOL = 'graphql-transport-ws';
const WATCH = 'subscription { executionUpdates(id: "ex_demo_4") { isFinal execution { id status } } }';
const STEP_MS = 5_000;

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a WebSocket client cannot make the gateway reject or throw unhandled', () => {
  let harness: Harness;
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);

  beforeAll(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    // 1 s, not 200 ms: each connection sends connection_init as it opens, and a loaded machine's stall between the
    // gateway's 101 (its timer's start) and reading that message closes it with 4408 at 200 ms.
    harness = await Harness.start({ env: { WS_CONNECTION_INIT_TIMEOUT_MS: '1000', MAX_REQUEST_BODY_BYTES: '4096' } });
  });
  afterAll(async () => {
    await harness?.close();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  });
  // The lines each case logged, from here on.
  let logsFrom = 0;
  beforeEach(() => {
    logsFrom = harness.logs.length;
  });
  afterEach(async () => {
    // Whatever settles late (a `closed()` after the socket's end, a timer) has had its turn.
    await sleep(100);
    expect(crashes.splice(0)).toEqual([]);
    expect(harness.logs.slice(logsFrom).filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  const url = () => `ws://${new URL(harness.url).host}/graphql`;

  function open(): Promise<WebSocket> {
    return within(
      new Promise((resolve, reject) => {
        const socket = new WebSocket(url(), PROTOCOL);
        socket.once('open', () => resolve(socket));
        socket.once('error', reject);
      }),
      'the upgrade',
    );
  }

  function closed(socket: WebSocket): Promise<{ code: number; reason: string }> {
    return within(new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))), 'the close');
  }

  function message(socket: WebSocket, type: string): Promise<{ type: string; id?: string; payload?: unknown }> {
    return within(
      new Promise((resolve) => {
        const onMessage = (data: WebSocket.RawData) => {
          const parsed = JSON.parse(String(data)) as { type: string };
          if (parsed.type !== type) return;
          socket.off('message', onMessage);
          resolve(parsed);
        };
        socket.on('message', onMessage);
      }),
      `a ${type} message`,
    );
  }

  async function acknowledged(): Promise<WebSocket> {
    const socket = await open();
    const ack = message(socket, 'connection_ack');
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
    await ack;
    return socket;
  }

  /**
   * Until the gateway holds no subscription (STEP_MS at most), and at least `ms` as before, for anything unhandled to
   * surface: it learns of a cut socket when its loop gets to it, which on a loaded machine can be past a fixed wait;
   * one that never ends its watches still fails.
   */
  async function subscriptionsEnded(ms: number): Promise<void> {
    const deadline = performance.now() + STEP_MS;
    const least = sleep(ms);
    while (harness.instance.live.counts.subscriptions !== 0 && performance.now() < deadline) await sleep(10);
    await least;
    expect(harness.instance.live.counts.subscriptions).toBe(0);
  }

  const subscribe = (socket: WebSocket, id: string, query = WATCH) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query } }));

  /** Subscribes under `id` twice, the first still running: the close graphql-ws answers the second with. */
  async function duplicated(id: string): Promise<{ code: number; reason: string }> {
    const socket = await acknowledged();
    const first = message(socket, 'next');
    subscribe(socket, id);
    await first;
    const end = closed(socket);
    subscribe(socket, id);
    return end;
  }

  it('a second subscribe with an active id longer than a close reason takes: 4409, its reason cut to 123 bytes', async () => {
    // graphql-ws closes with `Subscriber for <id> already exists`; ws throws on a reason past 123 bytes.
    const { code, reason } = await duplicated(`op-${'é'.repeat(100)}`);
    expect(code).toBe(4409);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/^Subscriber for op-é+…$/);
  });

  it.each([
    [93, false],
    [94, true],
  ])('a duplicate id of %s bytes: 4409, its reason cut: %s', async (length, cut) => {
    const id = 'i'.repeat(length);
    const { code, reason } = await duplicated(id);
    expect(code).toBe(4409);
    expect(reason.endsWith('…')).toBe(cut);
    if (!cut) expect(reason).toBe(`Subscriber for ${id} already exists`);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
  });

  it('a second subscribe with an active short id: 4409', async () => {
    const socket = await acknowledged();
    const first = message(socket, 'next');
    subscribe(socket, 'one');
    await first;
    const end = closed(socket);
    subscribe(socket, 'one');
    expect(await end).toEqual({ code: 4409, reason: 'Subscriber for one already exists' });
  });

  it.each([
    ['not JSON', 'not json', 4400],
    ['no type', '{"id":"1"}', 4400],
    ['an unknown type', '{"type":"start","id":"1"}', 4400],
    ["a server's next", '{"type":"next","id":"1","payload":{}}', 4400],
    ['subscribe before connection_init', `{"type":"subscribe","id":"1","payload":{"query":"{ __typename }"}}`, 4401],
  ])('%s: closed with %s', async (_name, text, code) => {
    const socket = await open();
    const end = closed(socket);
    socket.send(text);
    expect((await end).code).toBe(code);
  });

  it('a second connection_init: 4429', async () => {
    const socket = await acknowledged();
    const end = closed(socket);
    socket.send(JSON.stringify({ type: 'connection_init' }));
    expect((await end).code).toBe(4429);
  });

  it('no connection_init in time: 4408', async () => {
    const socket = await open();
    expect((await closed(socket)).code).toBe(4408);
  });

  it('a message over MAX_REQUEST_BODY_BYTES: 1009', async () => {
    const socket = await acknowledged();
    const end = closed(socket);
    socket.send(JSON.stringify({ type: 'ping', payload: { pad: 'x'.repeat(5_000) } }));
    expect((await end).code).toBe(1009);
  });

  it('a frame with a reserved opcode: 1002', async () => {
    const socket = await acknowledged();
    const end = closed(socket);
    // FIN and opcode 0x3 (reserved), masked, no payload: ws refuses it.
    (socket as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0x83, 0x80, 0, 0, 0, 0]));
    expect((await end).code).toBe(1002);
  });

  it('an operation whose GraphQL is invalid: a GraphQL error with its code, the connection open', async () => {
    const socket = await acknowledged();
    // graphql-transport-ws's answer to errors before execution starts: one `error` message, its payload the errors.
    const refused = message(socket, 'error');
    subscribe(socket, 'bad', 'subscription { nothingHere }');
    const { payload } = (await refused) as { payload: { extensions: { code: string } }[] };
    expect(payload[0]!.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(socket.readyState).toBe(WebSocket.OPEN);
    socket.close(1000);
  });

  it('complete for an id never subscribed, and for one still being set up, then the socket cut: nothing unhandled', async () => {
    const socket = await acknowledged();
    socket.send(JSON.stringify({ id: 'never', type: 'complete' }));
    subscribe(socket, 'quick');
    socket.send(JSON.stringify({ id: 'quick', type: 'complete' }));
    subscribe(socket, 'quick');
    await sleep(50);
    socket.terminate();
    await subscriptionsEnded(200);
  });

  it('the client gone (TCP cut, no close frame) while its operations are answered: their sends find no socket, nothing unhandled', async () => {
    const socket = await acknowledged();
    const first = message(socket, 'next');
    for (let i = 0; i < 5; i++) subscribe(socket, `watch-${i}`);
    subscribe(socket, 'query', '{ execution(id: "ex_demo_long") { id events(first: 500) { nodes { id message } } } }');
    await first;
    (socket as unknown as { _socket: import('node:net').Socket })._socket.destroy();
    await subscriptionsEnded(300);
  });

  it('the client closes (1000) as an answer is being sent: nothing unhandled', async () => {
    const socket = await acknowledged();
    subscribe(socket, 'q', '{ execution(id: "ex_demo_long") { id events(first: 500) { nodes { id message } } } }');
    socket.close(1000);
    await closed(socket);
  });

  it.each(['drained', 'closed'] as const)('the gateway %s with connections open and watches running: each client sees its close, nothing unhandled', async (how) => {
    const other = await Harness.start();
    try {
      const sockets = await Promise.all(
        [1, 2, 3].map(async () => {
          const socket = new WebSocket(`ws://${new URL(other.url).host}/graphql`, PROTOCOL);
          await within(new Promise((resolve) => socket.once('open', resolve)), 'the upgrade');
          const ack = message(socket, 'connection_ack');
          socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
          await ack;
          const first = message(socket, 'next');
          subscribe(socket, 'watch');
          await first;
          return socket;
        }),
      );
      const ends = Promise.all(sockets.map((socket) => closed(socket)));
      // The first `next` with errors: a poll's update may come before it.
      const errorCode = (socket: WebSocket) =>
        new Promise<string>((resolve) => {
          socket.on('message', (data) => {
            const { type, payload } = JSON.parse(String(data)) as { type: string; payload?: { errors?: { extensions: { code: string } }[] } };
            if (type === 'next' && payload?.errors) resolve(payload.errors[0]!.extensions.code);
          });
        });
      const errors = sockets.map((socket) => within(errorCode(socket), 'an error'));
      // The instance first, as the process's shutdown does: the harness's own close waits for every socket to end.
      if (how === 'drained') {
        await other.instance.drain({ unreadyMs: 0, graceMs: 1_000 });
        // Each watch ends with SHUTTING_DOWN, then its connection with 1001 Going Away.
        expect(await Promise.all(errors)).toEqual(['SHUTTING_DOWN', 'SHUTTING_DOWN', 'SHUTTING_DOWN']);
        for (const { code } of await ends) expect(code).toBe(1001);
      } else {
        for (const error of errors) error.catch(() => undefined);
        await other.instance.close();
        for (const { code } of await ends) expect([1001, 1006]).toContain(code);
      }
    } finally {
      await other.close();
    }
    expect(other.logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('an upgrade cut before its handshake is answered, and one cut right after: nothing unhandled', async () => {
    const raw = connect(Number(new URL(harness.url).port), '127.0.0.1');
    await within(new Promise((resolve) => raw.once('connect', resolve)), 'the TCP connection');
    raw.write(`GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${PROTOCOL}\r\n\r\n`);
    raw.destroy();
    const socket = await open();
    socket.terminate();
  });
});
