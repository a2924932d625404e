/**
 * A graphql-ws message, or its payload, that gives a member twice is refused as a JSON POST giving one twice is
 * (test/request-guards.test.ts; README "Error codes", BAD_REQUEST): JSON.parse keeps the last, where a filter in front
 * that reads WebSocket messages may have judged the first. It ran the last (a `query` the filter never saw); now the
 * socket closes with graphql-ws's 4400 naming the member, and nothing runs. On both lanes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { memberText } from '../src/json-members.js';
import { AUTH, Harness, LANES } from './support/harness.js';

interface Exchange {
  messages: string[];
  code: number;
  reason: string;
}

/** Opens a graphql-transport-ws socket, initialises it with the demo token, sends `message` as written, and waits for the close. */
async function exchange(harness: Harness, message: string): Promise<Exchange> {
  const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: string[] = [];
  socket.on('message', (data) => {
    const text = String(data);
    messages.push(text);
    if (JSON.parse(text).type === 'connection_ack') socket.send(message);
    // Served to its end: the test is over, the socket is the client's to close.
    if (JSON.parse(text).type === 'complete') socket.close(1000);
  });
  socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } })));
  const [code, reason] = await new Promise<[number, Buffer]>((resolve) => socket.on('close', (...args) => resolve(args)));
  return { messages: messages.filter((text) => JSON.parse(text).type !== 'connection_ack'), code, reason: String(reason) };
}

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe.each(LANES)('a graphql-ws message giving a member twice (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it('closes the socket with 4400 naming a member its payload gives twice, and runs nothing', async () => {
    const got = await exchange(harness, `{"type":"subscribe","id":"1","payload":{"query":"{ __typename }","query":${JSON.stringify(INTROSPECTION)}}}`);
    expect(got).toEqual({ messages: [], code: 4400, reason: 'Invalid message received: `payload.query` is given twice' });
  });

  it('reads a name as JSON does, escapes included', async () => {
    const got = await exchange(harness, `{"type":"subscribe","id":"1","payload":{"query":"{ __typename }","\\u0071uery":${JSON.stringify(INTROSPECTION)}}}`);
    expect(got.code).toBe(4400);
    expect(got.reason).toBe('Invalid message received: `payload.query` is given twice');
  });

  it('closes the socket for a member the message itself gives twice', async () => {
    const got = await exchange(harness, '{"type":"subscribe","id":"1","id":"2","payload":{"query":"{ __typename }"}}');
    expect(got).toEqual({ messages: [], code: 4400, reason: 'Invalid message received: `id` is given twice' });
  });

  it('serves names repeated inside variables (JSON\'s to read, the last winning), as over HTTP', async () => {
    const got = await exchange(harness, '{"type":"subscribe","id":"1","payload":{"query":"query ($id: ID!) { execution(id: $id) { id } }","variables":{"id":"x","id":"ex_demo_1"}}}');
    expect(got.code).toBe(1000);
    expect(got.messages.map((text) => JSON.parse(text).payload?.data)).toEqual([{ execution: { id: 'ex_demo_1' } }, undefined]);
  });
});

describe('memberText', () => {
  it('gives the text of the last value of a name at the top, escapes and nesting read as JSON reads them', () => {
    expect(memberText('{"a":1,"payload":{"q":"}\\",","r":[1,{"s":2}]},"b":2}', 'payload')).toBe('{"q":"}\\",","r":[1,{"s":2}]}');
    expect(memberText('{ "payload" : "x" , "payload": [ 1 ] }', 'payload')).toBe('[ 1 ]');
    expect(memberText('{"\\u0070ayload":{"q":1}}', 'payload')).toBe('{"q":1}');
    expect(memberText('{"x":{"payload":1}}', 'payload')).toBeUndefined();
    expect(memberText('[{"payload":1}]', 'payload')).toBeUndefined();
  });
});
