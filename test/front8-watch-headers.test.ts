/**
 * A watch over Server-Sent Events given `headers` fetch cannot send (a value past U+00FF, such as a user's name
 * `Łukasz`, or holding a line break; a name with a space). fetch refused each attempt before sending anything, with a
 * TypeError graphql-sse told as a NetworkError, and the watch took it for an unreachable gateway: it subscribed again
 * at every backoff for as long as the page stayed open (110 attempts in 1.5 s at a 10–20 ms backoff), nothing ever sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution, type ExecutionUpdate } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

/** How a watch of the finished ex_demo_6 ends within 3 s: its updates, what it threw, and what onRetry was told. */
async function run(options: Parameters<typeof watchExecution>[3]): Promise<{ updates: ExecutionUpdate[]; error: unknown; retries: unknown[] }> {
  const retries: unknown[] = [];
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), 3_000);
  const updates: ExecutionUpdate[] = [];
  let error: unknown;
  try {
    for await (const update of watchExecution(harness.url, AUTH, 'ex_demo_6', { retryDelayMs: 10, maxRetryDelayMs: 20, ...options, signal: stop.signal, onRetry: (reason) => retries.push(reason) })) updates.push(update);
  } catch (thrown) {
    error = thrown;
  } finally {
    clearTimeout(timer);
  }
  return { updates, error, retries };
}

describe('watchExecution given headers fetch cannot send, over Server-Sent Events', () => {
  it.each([
    [{ 'x-tenant': '\u0141ukasz' }, /^headers\["x-tenant"\] is not a valid header value: control characters \(line breaks included\) and characters past U\+00FF are not allowed/],
    [{ 'x-request-id': 'a\nb' }, /^headers\["x-request-id"\] is not a valid header value/],
    [{ 'x tenant': 'acme' }, /^headers\["x tenant"\] is no header name: a name is letters, digits and !#\$%&'\*\+-\.\^_`\|~ only/],
  ])('%j throws a TypeError at once, naming the header, never its value; nothing is sent', async (headers, message) => {
    const before = harness.upstream.requests.length;
    const { updates, error, retries } = await run({ headers });
    expect(retries).toEqual([]);
    expect(updates).toEqual([]);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/ukasz|a\nb/);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('sends a value of Latin-1 letters as fetch does (Zoë), and ignores them over the WebSocket, which sends none', async () => {
    const sse = await run({ headers: { 'x-tenant': 'Zo\u00eb' } });
    expect(sse.error).toBeUndefined();
    expect(sse.updates.map((update) => update.isFinal)).toEqual([true]);
    const socket = await run({ headers: { 'x-tenant': '\u0141ukasz' }, transport: 'websocket', webSocketImpl: WebSocket });
    expect(socket.error).toBeUndefined();
    expect(socket.updates.map((update) => update.isFinal)).toEqual([true]);
  });
});
