/**
 * `variables` sent as a string holding JSON (encoded twice) is told over HTTP to send the object itself
 * (test/newuser7-variables-as-text.test.ts). The same subscribe over a WebSocket closed with graphql-ws's bare 4400
 * "Invalid message received", which said nothing of what was wrong: now the close reason says it, on both lanes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AUTH, Harness, LANES } from './support/harness.js';

/** Opens a graphql-transport-ws socket, initialises it with the demo token, sends `message`, and waits for the close. */
async function exchange(harness: Harness, message: string): Promise<{ types: string[]; code: number; reason: string }> {
  const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const types: string[] = [];
  socket.on('message', (data) => {
    const { type } = JSON.parse(String(data)) as { type: string };
    types.push(type);
    if (type === 'connection_ack') socket.send(message);
    else if (type === 'complete' || type === 'error') socket.close(1000);
  });
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } })));
  const [code, reason] = await new Promise<[number, Buffer]>((resolve) => socket.on('close', (...args) => resolve(args)));
  return { types, code, reason: String(reason) };
}

const ONE = 'query One($id: ID!) { execution(id: $id) { id } }';

describe.each(LANES)('variables sent as a string over a WebSocket (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it('closes with 4400 saying to send the object, with no upstream call', async () => {
    harness.upstream.reset();
    const got = await exchange(harness, JSON.stringify({ type: 'subscribe', id: '1', payload: { query: ONE, variables: JSON.stringify({ id: 'ex_demo_1' }) } }));
    expect(got).toEqual({
      types: ['connection_ack'],
      code: 4400,
      reason: 'Invalid message received: `payload.variables` is a string: send the variables as a JSON object, not a string holding one',
    });
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it("keeps graphql-ws's own reason for another unreadable message, and runs the object itself", async () => {
    const other = await exchange(harness, JSON.stringify({ type: 'subscribe', id: '1', payload: { query: ONE, variables: 7 } }));
    expect(other).toEqual({ types: ['connection_ack'], code: 4400, reason: 'Invalid message received' });
    const served = await exchange(harness, JSON.stringify({ type: 'subscribe', id: '1', payload: { query: ONE, variables: { id: 'ex_demo_1' } } }));
    expect(served.types).toEqual(['connection_ack', 'next', 'complete']);
  });
});
