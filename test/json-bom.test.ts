/**
 * A JSON text that begins with a UTF-8 byte order mark (EF BB BF), as Windows
 * tools write one: RFC 8259 §8.1 lets a parser ignore it, and the gateway does,
 * on both lanes, for a POST's JSON body (answered as JSON or as an event
 * stream) and for graphql-ws messages. A body that is still no JSON without
 * the mark is refused as before.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const withBom = (value: unknown) => Buffer.concat([BOM, Buffer.from(JSON.stringify(value))]);
/** fetch's typing takes no Buffer; the same bytes as a plain Uint8Array. */
const bytes = (body: Buffer) => new Uint8Array(body);

describe.each(LANES)('a leading byte order mark (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (body: Buffer, headers: Record<string, string> = {}) =>
    harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: AUTH, ...headers }, body: bytes(body) });

  it.each(['application/json', 'application/json; charset=utf-8', 'application/graphql+json'])('a POST body of %s is read without it: 200 with data', async (contentType) => {
    const response = await post(withBom({ query: 'query($id: ID!) { execution(id: $id) { id } }', variables: { id: 'ex_demo_4' } }), { 'content-type': contentType });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { execution: { id: 'ex_demo_4' } } });
  });

  it('a POST answered as an event stream reads it too', async () => {
    const response = await post(withBom({ query: '{ __typename }' }), { accept: 'text/event-stream' });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('"data":{"__typename":"Query"}');
  });

  it('a body still no JSON without it, or no object, is refused as before: 400 BAD_REQUEST', async () => {
    const calls = harness.upstream.requests.length;
    for (const body of [Buffer.concat([BOM, Buffer.from('{"query": ')]), Buffer.concat([BOM, BOM, Buffer.from('{"query":"{ __typename }"}')]), Buffer.concat([BOM, Buffer.from('null')])]) {
      const response = await post(body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { errors: Array<{ extensions: unknown }> };
      expect(answer.errors.map((error) => error.extensions)).toEqual([{ code: 'BAD_REQUEST' }]);
    }
    expect(harness.upstream.requests).toHaveLength(calls);
  });

  it('graphql-ws messages are read without it: connection_init is acknowledged and a subscribe runs', async () => {
    const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const messages: Array<{ type: string; id?: string; payload?: unknown }> = [];
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const received = (type: string) =>
        new Promise<void>((resolve, reject) => {
          socket.on('message', () => {
            if (messages.some((message) => message.type === type)) resolve();
          });
          void closed.then((code) => reject(new Error(`closed with ${code} before ${type}: ${JSON.stringify(messages)}`)));
        });
      const acked = received('connection_ack');
      socket.send(withBom({ type: 'connection_init', payload: { authorization: AUTH } }));
      await acked;
      const completed = received('complete');
      socket.send(withBom({ type: 'subscribe', id: '1', payload: { query: '{ execution(id: "ex_demo_4") { id } }' } }));
      await completed;
      expect(messages.filter((message) => message.type === 'next')).toMatchObject([{ type: 'next', id: '1', payload: { data: { execution: { id: 'ex_demo_4' } } } }]);
    } finally {
      socket.close();
    }
  });
});
