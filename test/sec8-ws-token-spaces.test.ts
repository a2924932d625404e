/**
 * A WebSocket's token is read from `connectionParams` without the spaces, tabs and line breaks around it, as fetch
 * reads a header value. The expression that stripped them tried the rest of a run of spaces from each of its
 * spaces: a token holding 60,000 spaces before its last letter (a 60 KB `connection_init`, no token needed to send
 * one) cost some 11 s of the event loop for each operation of its connection, every other request waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AUTH, Harness, LANES } from './support/harness.js';

/** The messages the gateway sent on one connection, after `connection_init` with `payload` and, once acknowledged, `subscribe` of each id. */
function exchange(harness: Harness, payload: unknown, ids: string[]): Promise<Array<{ id?: string; type: string; payload?: Array<{ message: string; extensions: { code: string } }> }>> {
  return new Promise((resolve, reject) => {
    const received: Array<{ id?: string; type: string }> = [];
    const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    socket.on('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: string; type: string };
      received.push(message);
      if (message.type === 'connection_ack') {
        for (const id of ids) socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: '{ execution(id: "ex_demo_1") { id } }' } }));
      }
      if (ids.every((id) => received.some((each) => each.id === id && (each.type === 'error' || each.type === 'complete')))) socket.close();
    });
    socket.on('close', () => resolve(received as never));
  });
}

describe.each(LANES)('a connectionParams token of 60,000 spaces (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it('is refused as too large for each operation at once, while another request is served beside it', async () => {
    const started = performance.now();
    const [received, served] = await Promise.all([
      exchange(harness, { authorization: `Bearer${' '.repeat(60_000)}token` }, ['1', '2']),
      harness.query('{ execution(id: "ex_demo_1") { id } }'),
    ]);
    const ms = performance.now() - started;
    const refusals = received.filter((message) => message.type === 'error');
    expect(refusals.map((message) => message.id)).toEqual(['1', '2']);
    for (const refusal of refusals) {
      expect(refusal.payload).toHaveLength(1);
      expect(refusal.payload![0]!.extensions.code).toBe('BAD_REQUEST');
      expect(refusal.payload![0]!.message).toMatch(/^The token in connectionParams and the upgrade's headers pass 16 KiB together/);
    }
    expect(served.data).toEqual({ execution: { id: 'ex_demo_1' } });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH]);
    // Some 22 s for the two operations before; milliseconds now. The bound leaves room for a busy machine.
    expect(ms).toBeLessThan(5_000);
  });

  it('still reads a token with line breaks and tabs around it as the token', async () => {
    harness.upstream.reset();
    const received = await exchange(harness, { authorization: `\r\n\t ${AUTH} \t\r\n` }, ['1']);
    expect(received.find((message) => message.type === 'next')).toMatchObject({ id: '1', payload: { data: { execution: { id: 'ex_demo_1' } } } });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH]);
  });
});
