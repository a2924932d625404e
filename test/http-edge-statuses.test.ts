/**
 * Which status the HTTP edge gives a request that is wrong in more than one way,
 * or wrong in a part with a status of its own (RFC 9110, RFC 9112), on each lane:
 * a request target too long to parse is a 414, not a 431; trailer fields past
 * what the parser reads are a 431 that says so; a method the request cannot be
 * served by is a 405 whatever its Accept; a method node does not know is a 501,
 * another major version of HTTP a 505. Raw sockets: the bytes go as written.
 * Every answer keeps its GraphQL error body, a stable code and the request id.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';
import { refusedHeadFields } from '../src/server/request-line.js';
import { rawExchange, resetBeforeRead } from './support/raw-http.js';

/** One raw answer: status, headers (names lowercased) and body. */
function parse(text: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

/** The one error of a refusal: its message and code. */
function refusal(body: string): { message: string; code: unknown } {
  const { errors } = JSON.parse(body) as { errors: Array<{ message: string; extensions?: { code?: unknown } }> };
  expect(errors).toHaveLength(1);
  return { message: errors[0]!.message, code: errors[0]!.extensions?.code };
}

const ORIGIN = 'https://app.example';
const TYPENAME = JSON.stringify({ query: '{ __typename }' });
/**
 * Silence after which a raw exchange gives up: 10 s, not 1 or 3, as a21460d gave the live-edge upgrade files. Every
 * answer here closes its connection at once, so a passing run never waits it, and a loaded machine can stall past 3 s
 * before answering, leaving nothing read.
 */
const GIVE_UP_MS = 10_000;

describe.each(LANES)('the status of an edge refusal (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { CORS_ORIGINS: ORIGIN } });
  });
  afterAll(() => harness.close());

  describe('a request target too long (RFC 9112 §3: 414)', () => {
    /** A GET of `{ __typename }` whose URL is `bytes` long, padded by an unread parameter. */
    const longUrl = (bytes: number) => {
      const start = '/graphql?query=%7B__typename%7D&pad=';
      return start + 'p'.repeat(bytes - start.length);
    };

    it.each([
      ['just reaching 16 KiB', 16_384],
      ['of 40 KB, under what the parser reads', 40_000],
    ])('answers a URL %s with 414, the request id, CORS headers and a body that says to POST', async (_name, bytes) => {
      const { text } = await rawExchange(harness.url, `GET ${longUrl(bytes)} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${ORIGIN}\r\nX-Request-Id: long-url\r\nx-graphql-yoga-csrf: 1\r\n\r\n`);
      const answer = parse(text);
      expect(answer.status, text.slice(0, 300)).toBe(414);
      expect(text).toMatch(/^HTTP\/1\.1 414 URI Too Long\r\n/);
      expect(answer.headers['x-request-id']).toBe('long-url');
      expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers.connection).toBe('close');
      const { message, code } = refusal(answer.body);
      expect(code).toBe('BAD_REQUEST');
      expect(message).toMatch(/URL passes 16 KiB: .* by POST/);
    });

    it('keeps 431 for a URL under the bound that the header fields take past it: smaller fields would do', async () => {
      const { text } = await rawExchange(harness.url, `GET ${longUrl(10_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nx-padding: ${'x'.repeat(10_000)}\r\n\r\n`);
      const answer = parse(text);
      expect(answer.status, text.slice(0, 300)).toBe(431);
      expect(refusal(answer.body).message).toMatch(/request line and headers pass 16 KiB together/);
    });

    // Every 431 told the client to send a long operation by POST instead: no help to a POST, nor to a GET whose
    // URL is short and whose cookie is long.
    it.each([
      ['a POST with a long Authorization', `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${'t'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\n{}`, /most of it header fields: send fewer or smaller headers/],
      ['a GET with a short URL and a long cookie', `GET ${longUrl(100)} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\ncookie: ${'c'.repeat(20_000)}\r\n\r\n`, /most of it header fields/],
      ['a GET whose URL is most of it', `GET ${longUrl(12_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nx-padding: ${'x'.repeat(5_000)}\r\n\r\n`, /most of it the URL: send a long operation by POST rather than GET/],
      // Node counts the URL (8,192 bytes) and the fields (Host 4 + 9, the CSRF header 19 + 1, x-padding 9 + 8,150) alike.
      ['a GET whose URL is as long as its fields', `GET ${longUrl(8_192)} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nx-padding: ${'x'.repeat(8_150)}\r\n\r\n`, /most of it the URL: send a long operation by POST/],
      ['a POST whose URL is most of it', `POST ${longUrl(12_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\nx-padding: ${'x'.repeat(5_000)}\r\ncontent-length: 2\r\n\r\n{}`, /most of it the URL: send a shorter one \(a POST carries the operation in its body\)\.$/],
      ['a DELETE whose URL is most of it', `DELETE ${longUrl(12_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-padding: ${'x'.repeat(5_000)}\r\n\r\n`, /most of it the URL: send a shorter one/],
      ['3,000 short fields', `GET ${longUrl(100)} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Array.from({ length: 3_000 }, (_, index) => `h${index}: v\r\n`).join('')}\r\n`, /^More than 1000 header fields\.$/],
    ])('advises what would make the head fit: %s', async (_kind, bytes, message) => {
      const { text } = await rawExchange(harness.url, bytes);
      const answer = parse(text);
      expect(answer.status, text.slice(0, 300)).toBe(431);
      expect(refusal(answer.body).message).toMatch(message);
    });

    it('counts bytes as node does: 9,000 bytes past ASCII in a field (4,500 é in UTF-8) fit, as 9 KB', async () => {
      // Node reads each such byte as one latin1 character, which UTF-8 would count twice (18 KB, refused). A URL cannot
      // hold such bytes: node's parser refuses them (400).
      const { text } = await rawExchange(harness.url, `GET ${longUrl(100)} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nx-padding: ${'é'.repeat(4_500)}\r\nConnection: close\r\n\r\n`);
      expect(parse(text).status, text.slice(0, 300)).toBe(200);
    });

    it('serves a URL one byte under the bound with the fields it needs', async () => {
      const head = `Host: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nConnection: close\r\n`;
      // Node counts the URL and each field name and value: the Host, the CSRF header and Connection take 48 bytes.
      const { text } = await rawExchange(harness.url, `GET ${longUrl(16_383 - 48)} HTTP/1.1\r\n${head}\r\n`);
      expect(parse(text).status, text.slice(0, 300)).toBe(200);
    });

    it('refuses a WebSocket upgrade to a URL past the bound with 414 too; no connection', async () => {
      const handshake = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
      const { text } = await rawExchange(harness.url, `GET ${longUrl(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n${handshake}X-Request-Id: long-upgrade\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
      const answer = parse(text);
      expect(text).toMatch(/^HTTP\/1\.1 414 URI Too Long\r\n/);
      expect(answer.headers.upgrade).toBeUndefined();
      expect(answer.headers['x-request-id']).toBe('long-upgrade');
      expect(refusal(answer.body).code).toBe('BAD_REQUEST');
    });
  });

  describe('a request line node refuses: what it says, not "malformed" (RFC 9110 §9.1, §15.6.2, §15.6.6)', () => {
    /** Every answer of `text`: status and the rest, in order. */
    const answers = (text: string) => text.split(/(?=HTTP\/1\.1 \d{3} )/).map(parse);

    it.each([
      ['an unknown method', 'FOO /graphql HTTP/1.1'],
      ['a method in lowercase (methods are case-sensitive)', 'get /graphql?query=%7B__typename%7D HTTP/1.1'],
      ['a method one letter past a known one', 'PURGX /graphql HTTP/1.1'],
    ])('answers %s with 501, a GraphQL error body, the request id and no-store, and closes', async (_name, line) => {
      const { text } = await rawExchange(harness.url, `${line}\r\nHost: 127.0.0.1\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
      const answer = parse(text);
      expect(text, text.slice(0, 300)).toMatch(/^HTTP\/1\.1 501 Not Implemented\r\n/);
      expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      // The client's own id comes back, as on every other answer of the edge: node parses no header of such a request.
      const named = parse((await rawExchange(harness.url, `${line}\r\nHost: 127.0.0.1\r\nX-Request-Id: mine-501\r\n\r\n`, { giveUpMs: GIVE_UP_MS })).text);
      expect(named.status).toBe(501);
      expect(named.headers['x-request-id']).toBe('mine-501');
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers.connection).toBe('close');
      expect(refusal(answer.body)).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/^Method not implemented: GraphQL is served by GET and POST/) });
    });

    /** What the server answers to `parts`, each written on its own 50 ms after the one before, until it closes. */
    async function inParts(parts: string[]): Promise<string> {
      const socket = connect(Number(new URL(harness.url).port), '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
      const closed = once(socket, 'close');
      for (const part of parts) {
        if (socket.destroyed) break;
        socket.write(part);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, GIVE_UP_MS))]);
      socket.destroy();
      return text;
    }

    // The parser refuses a method as soon as it reads a byte no method has there: only the bytes it has read so far
    // are known, and a request line split by TCP is cut there.
    it.each([
      ['a request line cut after its target began', ['GEX /gra', 'phql HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], [501]],
      ['a request line cut, pipelined behind a request', ['GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\nFOO /gra', 'phql HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], [200, 501]],
    ])('answers an unknown method in %s with 501', async (_name, parts, statuses) => {
      const text = await inParts(parts);
      expect(answers(text).map(({ status }) => status), text.slice(0, 300)).toEqual(statuses);
    });

    it('answers a version pipelined behind a request with 505, read from its own request line and head', async () => {
      const typename = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nX-Request-Id: first\r\n\r\n';
      const { text } = await rawExchange(harness.url, `${typename}GET /graphql HTTP/3.0\r\nHost: 127.0.0.1\r\nX-Request-Id: second\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
      expect(answers(text).map(({ status }) => status), text).toEqual([200, 505]);
      expect(answers(text).map(({ headers }) => headers['x-request-id'])).toEqual(['first', 'second']);
      expect(refusal(answers(text)[1]!.body).message).toBe('HTTP/3.0 is not supported here: send HTTP/1.1.');
    });

    it('keeps 400 for bytes that are no method at all (a TLS handshake on the cleartext port)', async () => {
      const { text } = await rawExchange(harness.url, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', { giveUpMs: GIVE_UP_MS });
      expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(refusal(parse(text).body)).toEqual({ code: 'BAD_REQUEST', message: 'Malformed HTTP request.' });
    });

    it('answers an unknown method pipelined behind a request after its answer, in order', async () => {
      const typename = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n';
      const { text } = await rawExchange(harness.url, `${typename}FOO /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
      expect(answers(text).map(({ status }) => status), text).toEqual([200, 501]);
      expect(text).toContain('{"data":{"__typename":"Query"}');
    });

    it.each([
      ['a Content-Length body', `Content-Length: ${TYPENAME.length}\r\n\r\n${TYPENAME}`],
      ['a chunked body', `Transfer-Encoding: chunked\r\n\r\n${TYPENAME.length.toString(16)}\r\n${TYPENAME}\r\n0\r\n\r\n`],
    ])('answers an unknown method pipelined behind a request with %s with 501, as alone', async (_name, framing) => {
      const post = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${framing}`;
      const { text } = await rawExchange(harness.url, `${post}FOO /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
      const [served, refused] = answers(text);
      expect(answers(text).map(({ status }) => status), text).toEqual([200, 501]);
      expect(served!.body).toContain('{"data":{"__typename":"Query"}');
      expect(refused!.headers.connection).toBe('close');
      expect(refusal(refused!.body)).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/^Method not implemented/) });
    });

    it('keeps 400 for the rest of a body longer than its Content-Length, which is no request line', async () => {
      const post = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${TYPENAME.length}\r\n\r\n`;
      const { text } = await rawExchange(harness.url, `${post}${TYPENAME}extra /graphql\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
      const [, refused] = answers(text);
      expect(answers(text).map(({ status }) => status), text).toEqual([200, 400]);
      expect(refusal(refused!.body)).toEqual({ code: 'BAD_REQUEST', message: 'Malformed HTTP request.' });
    });

    it.each([
      ['HTTP/3.0', 'GET /graphql?query=%7B__typename%7D HTTP/3.0\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n', '3.0'],
      // llhttp reads this one: it was served, as HTTP/1.1, a 200.
      ['HTTP/2.0 in an HTTP/1 request line', 'GET /graphql?query=%7B__typename%7D HTTP/2.0\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n', '2.0'],
      ["HTTP/2's connection preface (h2 with prior knowledge)", 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', '2.0'],
      // A major version below 1 is no more HTTP/1 than one above it.
      ['HTTP/0.5', 'GET /graphql?query=%7B__typename%7D HTTP/0.5\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n', '0.5'],
      // Node hands CONNECT and upgrades to listeners of their own: the version was looked at after the method (a 405)
      // and after the handshake (its 400).
      ['CONNECT in HTTP/2.0', 'CONNECT 127.0.0.1:80 HTTP/2.0\r\nHost: 127.0.0.1:80\r\n\r\n', '2.0'],
      [
        'a WebSocket upgrade in HTTP/2.0',
        'GET /graphql HTTP/2.0\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        '2.0',
      ],
      ['an h2c upgrade in HTTP/2.0', 'GET /graphql?query=%7B__typename%7D HTTP/2.0\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nx-graphql-yoga-csrf: 1\r\n\r\n', '2.0'],
    ])('answers %s with 505, naming the version to send, and closes', async (_name, bytes, version) => {
      const { text } = await rawExchange(harness.url, bytes, { giveUpMs: GIVE_UP_MS });
      const answer = parse(text);
      expect(text, text.slice(0, 300)).toMatch(/^HTTP\/1\.1 505 HTTP Version Not Supported\r\n/);
      expect(answers(text)).toHaveLength(1);
      expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(answer.headers.connection).toBe('close');
      expect(refusal(answer.body)).toEqual({ code: 'BAD_REQUEST', message: `HTTP/${version} is not supported here: send HTTP/1.1.` });
    });

    it("echoes the client's x-request-id on a 505 too, read from the refused head", async () => {
      const { text } = await rawExchange(harness.url, 'GET /graphql HTTP/3.0\r\nHost: 127.0.0.1\r\nx-request-id: mine-505\r\n\r\n', { giveUpMs: GIVE_UP_MS });
      expect(parse(text).status).toBe(505);
      expect(parse(text).headers['x-request-id']).toBe('mine-505');
    });

    it('reads a refused head only as far as its chunk holds whole lines, the first of a repeated field', () => {
      const refused = (text: string, code = 'HPE_INVALID_METHOD') => refusedHeadFields(Object.assign(new Error('x'), { code, rawPacket: Buffer.from(text, 'latin1'), bytesParsed: 0 }));
      expect([...refused('FOO / HTTP/1.1\r\nX-Request-Id: a\r\nx-request-id: b\r\nOrigin: http://o.example\r\n\r\nX-Late: no\r\n')]).toEqual([
        ['x-request-id', 'a'],
        ['origin', 'http://o.example'],
      ]);
      // The last line is cut short by the chunk's end: not read.
      expect([...refused('FOO / HTTP/1.1\r\nHost: h\r\nX-Request-Id: cut-sh')]).toEqual([['host', 'h']]);
      expect([...refused('FOO / HTTP/1.1\r\nX-Request-Id: a\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN')]).toEqual([]);
    });

    it('answers HTTP/1.2, a minor version node does not read, with a 400 that names the version to send', async () => {
      const { text } = await rawExchange(harness.url, 'GET /graphql?query=%7B__typename%7D HTTP/1.2\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n', { giveUpMs: GIVE_UP_MS });
      expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(refusal(parse(text).body)).toEqual({ code: 'BAD_REQUEST', message: 'HTTP/1.2 is not read here: send HTTP/1.1.' });
    });

    // They were the bare "Malformed HTTP request.": told what a version is instead (test/left7-malformed-advice.test.ts).
    it('answers a version that is no version (HTTP/1.10, HTTP/11) with a 400 that says what a version is', async () => {
      for (const version of ['HTTP/1.10', 'HTTP/11']) {
        const { text } = await rawExchange(harness.url, `GET /graphql ${version}\r\nHost: 127.0.0.1\r\n\r\n`, { giveUpMs: GIVE_UP_MS });
        expect(text, version).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
        expect(refusal(parse(text).body).message, version).toBe(`${version} is no HTTP version: a version is HTTP/, one digit, a dot and one digit; send HTTP/1.1 (RFC 9112 §2.3).`);
      }
    });
  });

  describe('Vary: Origin on answers whose request the edge never handed on (CORS_ORIGINS set)', () => {
    // The answer to an allowed origin differs from anyone else's, so a shared cache must key it by Origin even
    // where the head never parsed and no Origin could be read.
    it.each([
      ["HTTP/2's connection preface (the head never parses)", 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, undefined],
      ['a head past 16 KiB from an allowed origin', `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${ORIGIN}\r\nx-padding: ${'x'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\n{}`, 431, ORIGIN],
      ['malformed HTTP (the head never parses)', 'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n', 400, undefined],
      ['CONNECT from an allowed origin', `CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nOrigin: ${ORIGIN}\r\n\r\n`, 405, ORIGIN],
      ['CONNECT from another origin', 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nOrigin: https://elsewhere.example\r\n\r\n', 405, undefined],
    ])('%s', async (_name, bytes, status, allowed) => {
      const { text } = await rawExchange(harness.url, bytes, { giveUpMs: GIVE_UP_MS });
      const answer = parse(text);
      expect(answer.status, text.slice(0, 300)).toBe(status);
      expect(answer.headers.vary).toBe('Origin');
      expect(answer.headers['access-control-allow-origin']).toBe(allowed);
      expect(refusal(answer.body).code).toBe('BAD_REQUEST');
    });
  });

  describe('CONNECT pipelined behind a request still being answered', () => {
    // Its answer waits for upstream (300 ms), so the CONNECT behind it arrives first.
    const slow = `GET /graphql?query=${encodeURIComponent('{ execution(id: "ex_demo_5") { id } }')} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-token\r\nX-Request-Id: earlier\r\n\r\n`;
    const connect = 'CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\nX-Request-Id: tunnel\r\n\r\n';

    it('is refused after the earlier answer, in order (its 405 ended the connection, and the answer was never sent)', async () => {
      harness.upstream.setFault('ex_demo_5', { kind: 'slow', ms: 300 });
      try {
        const { text } = await rawExchange(harness.url, slow + connect, { giveUpMs: GIVE_UP_MS });
        expect(text.match(/HTTP\/1\.1 \d{3}/g), text.slice(0, 300)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 405']);
        expect(text.match(/x-request-id: \S+/gi)).toEqual(['x-request-id: earlier', 'x-request-id: tunnel']);
        expect(text).toContain('"id":"ex_demo_5"');
      } finally {
        harness.upstream.reset();
      }
    });

    it('a client that resets while it waits throws nothing in the gateway', async () => {
      harness.upstream.setFault('ex_demo_5', { kind: 'slow', ms: 300 });
      try {
        expect(await resetBeforeRead(harness.instance.server, harness.url, slow + connect)).toEqual([]);
      } finally {
        harness.upstream.reset();
      }
    });
  });

  describe('a field that is no list, sent twice (RFC 9110 §5.3)', () => {
    const AUTHORIZATIONS = 'Authorization: Bearer demo-token\r\nAuthorization: Bearer someone-else\r\n';
    const query = encodeURIComponent('{ execution(id: "ex_demo_1") { id } }');
    const JSON_BODY = JSON.stringify({ query: '{ execution(id: "ex_demo_1") { id } }' });

    // Node kept the first line and dropped the rest: the first credential was served (a 200), where a proxy in front may have
    // authenticated or rate-limited the caller by the other; a body labelled twice was parsed by its first label.
    it.each([
      ['two Authorization lines on a GET', `GET /graphql?query=${query} HTTP/1.1\r\nHost: 127.0.0.1\r\n${AUTHORIZATIONS}`, 'Authorization'],
      [
        'two Authorization lines on a POST',
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n${AUTHORIZATIONS}content-type: application/json\r\ncontent-length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}`,
        'Authorization',
      ],
      ['two Authorization lines on an OPTIONS', `OPTIONS /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n${AUTHORIZATIONS}`, 'Authorization'],
      ['two Authorization lines, differently spelled, on a PUT', 'PUT /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization: a\r\nAUTHORIZATION: b\r\n', 'Authorization'],
      [
        'two Content-Type lines on a POST',
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-token\r\ncontent-type: application/json\r\nContent-Type: text/plain\r\ncontent-length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}`,
        'Content-Type',
      ],
    ])('refuses %s with 400, a GraphQL error body naming the field, the request id, and no upstream call', async (_name, head, field) => {
      harness.upstream.reset();
      const bytes = head.includes('\r\n\r\n') ? head.replace('Host: 127.0.0.1\r\n', 'Host: 127.0.0.1\r\nX-Request-Id: twice\r\n') : `${head}X-Request-Id: twice\r\n\r\n`;
      const { text } = await rawExchange(harness.url, bytes, { giveUpMs: GIVE_UP_MS });
      const answer = parse(text);
      expect(answer.status, text.slice(0, 300)).toBe(400);
      expect(answer.headers['x-request-id']).toBe('twice');
      expect(answer.headers['cache-control']).toBe('no-store');
      expect(refusal(answer.body)).toEqual({ code: 'BAD_REQUEST', message: `More than one ${field} header: send it once (RFC 9110 §5.3).` });
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('serves one Authorization and one Content-Type, and fields node joins (two Accept lines)', async () => {
      // Values that spell those names (and Host) are values, not more lines of them.
      const { text } = await rawExchange(
        harness.url,
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Target: host\r\nX-Note: Authorization\r\nAuthorization: Bearer demo-token\r\nX-Kind: content-type\r\ncontent-type: application/json\r\naccept: application/json\r\naccept: text/event-stream\r\ncontent-length: ${JSON_BODY.length}\r\nConnection: close\r\n\r\n${JSON_BODY}`,
      );
      expect(parse(text).status, text.slice(0, 300)).toBe(200);
      expect(parse(text).body).toContain('"id":"ex_demo_1"');
    });
  });

  it('answers the server-wide OPTIONS * (RFC 9110 §9.3.7) with 204 and what the server takes, keeping the connection', async () => {
    // It was a 404 "Not found: GraphQL is served at /graphql.": `*` is no path, but the server itself.
    const typename = 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nConnection: close\r\n\r\n';
    const { text } = await rawExchange(harness.url, `OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: server-ping\r\n\r\n${typename}`, { giveUpMs: GIVE_UP_MS });
    const [options, served] = text.split(/(?=HTTP\/1\.1 \d{3} )/).map(parse);
    expect(options!.status, text.slice(0, 300)).toBe(204);
    expect(options!.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    expect(options!.headers['x-request-id']).toBe('server-ping');
    expect(options!.headers['cache-control']).toBe('no-store');
    expect(options!.headers['content-length']).toBeUndefined();
    expect(options!.body).toBe('');
    expect(served?.status).toBe(200);
    expect(text).toContain('{"data":{"__typename":"Query"}');
  });

  it('answers `*` asked with any other method than OPTIONS as no resource: the 404 of any path it does not serve', async () => {
    const { text } = await rawExchange(harness.url, 'GET * HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: star-get\r\nConnection: close\r\n\r\n', { giveUpMs: GIVE_UP_MS });
    const answer = parse(text);
    expect(answer.status, text.slice(0, 300)).toBe(404);
    expect(answer.headers['x-request-id']).toBe('star-get');
    expect(answer.headers.allow).toBeUndefined();
    expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
  });

  it("serves a GET whose body is labelled gzip: a GET's body is never read, so its coding does not matter", async () => {
    const { text } = await rawExchange(
      harness.url,
      'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd',
      { giveUpMs: GIVE_UP_MS },
    );
    const answer = parse(text);
    expect(answer.status, text.slice(0, 300)).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { __typename: 'Query' } });
  });

  it("answers trailer fields past what the parser reads with a 431 about trailers, with the request's id and CORS headers", async () => {
    const chunk = `${TYPENAME.length.toString(16)}\r\n${TYPENAME}\r\n`;
    const trailer = `x-trailer: ${'t'.repeat(70_000)}\r\n`;
    const { text } = await rawExchange(
      harness.url,
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${ORIGIN}\r\nX-Request-Id: big-trailer\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}0\r\n${trailer}\r\n`,
    );
    const answer = parse(text);
    expect(answer.status, text.slice(0, 300)).toBe(431);
    expect(answer.headers['x-request-id']).toBe('big-trailer');
    expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
    const { message, code } = refusal(answer.body);
    expect(code).toBe('BAD_REQUEST');
    // Not the head's message, which sent the client to shorten a URL it never made long.
    expect(message).toMatch(/trailer fields after the chunked body pass 64 KiB/);
    expect(message).not.toMatch(/URL|GET/);
  });
});
