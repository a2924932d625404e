/**
 * How the connection is kept and the body framed is node's to decide, never
 * the pipeline's (src/pipeline/hop-by-hop.ts): on every kind of answer, a
 * client's `Connection: close` closes the connection after the answer, and an
 * HTTP/1.0 client gets no chunked body. Raw sockets, so nothing is fixed up on the way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const TYPENAME = JSON.stringify({ query: '{ __typename }' });

/** The head of a raw answer: status line, then headers with names lowercased (a name sent twice keeps both values). */
function head(text: string): { statusLine: string; headers: Map<string, string[]> } {
  const [statusLine = '', ...lines] = (text.split('\r\n\r\n', 1)[0] ?? '').split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(line.indexOf(':') + 1).trim()]);
  }
  return { statusLine, headers };
}

describe.each(LANES)('connection and framing (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    // Far longer than an answer takes: a connection still open after it was kept alive.
    harness = await Harness.start({ lane, env: { HTTP_KEEP_ALIVE_TIMEOUT_MS: '5000' } });
  });
  afterAll(() => harness.close());

  const post = (version: string, accept: string, extra = '') =>
    `POST /graphql HTTP/${version}\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: ${accept}\r\n${extra}content-length: ${TYPENAME.length}\r\n\r\n${TYPENAME}`;

  it.each([
    ['JSON', 'application/json'],
    ['an event stream', 'text/event-stream'],
    ['multipart/mixed', 'multipart/mixed'],
  ])('honours Connection: close on %s: the answer says close, and the connection closes after it', async (_kind, accept) => {
    const { text, ms } = await rawExchange(harness.url, post('1.1', accept, 'Connection: close\r\n'), { giveUpMs: 3_000 });
    const { statusLine, headers } = head(text);
    expect(statusLine, text.slice(0, 300)).toBe('HTTP/1.1 200 OK');
    expect(text).toContain('__typename');
    expect(headers.get('connection')).toEqual(['close']);
    // Closed by the server once the answer was whole, not by the client giving up after 3 s.
    expect(ms).toBeLessThan(1_500);
  });

  it.each([
    ['an event stream', 'text/event-stream'],
    ['multipart/mixed', 'multipart/mixed'],
  ])('sends %s to an HTTP/1.0 client unchunked, ended by the close', async (_kind, accept) => {
    const { text, ms } = await rawExchange(harness.url, post('1.0', accept), { giveUpMs: 3_000 });
    const { statusLine, headers } = head(text);
    expect(statusLine, text.slice(0, 300)).toBe('HTTP/1.1 200 OK');
    expect(headers.has('transfer-encoding')).toBe(false);
    expect(headers.get('connection')?.map((value) => value.toLowerCase())).not.toContain('keep-alive');
    expect(text.split('\r\n\r\n').slice(1).join('\r\n\r\n')).toContain('{"data":{"__typename":"Query"}');
    expect(ms).toBeLessThan(1_500);
  });

  /** The status of every answer in `text`, in order. */
  const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));

  it('writes nothing after the answer to a request with Connection: close, whatever follows it on the connection (RFC 9112 §9.6)', async () => {
    // Found by test/http-fuzz.test.ts: the fast lane, done at once, let the edge answer the bytes after it with a 400 of its own.
    const get = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nConnection: close\r\n\r\n';
    for (const after of ['{}', `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${TYPENAME.length}\r\n\r\n${TYPENAME}`]) {
      const { text } = await rawExchange(harness.url, `${get}${after}`, { giveUpMs: 3_000 });
      expect(statuses(text), text).toEqual([200]);
      expect(text).toContain('{"data":{"__typename":"Query"}');
    }
  });

  it("keeps a pipelined refusal's answer when malformed bytes follow it: each request is answered, in order", async () => {
    // The 405 closes the connection; the edge's 400 for the malformed request behind it went out in its place.
    const typename = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n';
    const { text } = await rawExchange(harness.url, `${typename}DELETE /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /graph ql HTTP/1.1\r\n\r\n`, { giveUpMs: 3_000 });
    expect(statuses(text), text).toEqual([200, 405]);
    expect(text).toContain('{"data":{"__typename":"Query"}');
    expect(text).toContain('Method not allowed');
  });

  it('answers a GET from its URL without waiting for a body it declares, which nothing reads', async () => {
    // Found by test/http-fuzz.test.ts: the fast lane read the body first, so a GET whose declared body never came
    // got a 408 once the time limit passed, where Yoga's lane (which never reads a GET's body) answered at once.
    const get = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n';
    const { text, ms } = await rawExchange(harness.url, get, { giveUpMs: 3_000 });
    expect(statuses(text), text).toEqual([200]);
    expect(text).toContain('{"data":{"__typename":"Query"}');
    expect(ms).toBeLessThan(1_500);
  });

  it('answers a pipelined request whose framing the edge refuses once, after the answer before it, and nothing after', async () => {
    // Node hands the request over, then reports its body as malformed: the edge's refusal (400, closing) is its only answer.
    const typename = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n';
    const { text } = await rawExchange(harness.url, `${typename}GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: identity\r\n\r\n`, { giveUpMs: 3_000 });
    expect(statuses(text), text).toEqual([200, 400]);
    expect(text).toContain('{"data":{"__typename":"Query"}');
    expect(text).toContain('Transfer-Encoding must end with chunked');
  });
});
