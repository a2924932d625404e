/**
 * Request lines and trailers node's parser refuses are told what to send: a version that is no `HTTP/d.d`
 * (`HTTP/1.10`, `HTTP/11`) got the bare "Malformed HTTP request.", a lowercase `http/1.1` was told to
 * percent-encode spaces in its URL, and a malformed trailer field after a chunked body got the bare sentence, or
 * (a trailer line ending in a bare LF) the advice for chunks. On both lanes: a 400 with BAD_REQUEST, the request
 * id, the connection closed, and nothing run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';
import { MALFORMED_HTTP, MALFORMED_TRAILERS } from '../src/server/malformed-http.js';

const BODY = '{"query":"{ execution(id: \\"ex_demo_1\\") { id } }"}';
const HEAD = `Host: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\n`;
const CHUNKED = `POST /graphql HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked\r\n\r\n${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n`;
const GET = `/graphql?query=${encodeURIComponent('{ execution(id: "ex_demo_1") { id } }')}`;

/** Status, headers (lowercased) and body of the one answer. */
function parse(text: string) {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) as { errors: Array<{ message: string; extensions: { code: string } }> } };
}

describe.each(LANES)('malformed request lines and trailers, told what to send (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    ['HTTP/1.10', `GET ${GET} HTTP/1.10\r\n${HEAD}\r\n`, 'HTTP/1.10 is no HTTP version: a version is HTTP/, one digit, a dot and one digit; send HTTP/1.1 (RFC 9112 §2.3).'],
    ['HTTP/11', `GET ${GET} HTTP/11\r\n${HEAD}\r\n`, 'HTTP/11 is no HTTP version: a version is HTTP/, one digit, a dot and one digit; send HTTP/1.1 (RFC 9112 §2.3).'],
    ['a lowercase http/1.1', `GET ${GET} http/1.1\r\n${HEAD}\r\n`, 'http/1.1 is not read here: the protocol name is case-sensitive; send HTTP/1.1, in capitals (RFC 9112 §2.3).'],
    ['Http/1.1', `GET ${GET} Http/1.1\r\n${HEAD}\r\n`, 'Http/1.1 is not read here: the protocol name is case-sensitive; send HTTP/1.1, in capitals (RFC 9112 §2.3).'],
    ['a trailer field with a space in its name', `${CHUNKED}X Trailer: 1\r\n\r\n`, MALFORMED_TRAILERS],
    ['a trailer field with a control character in its value', `${CHUNKED}X-Trailer: a\x01b\r\n\r\n`, MALFORMED_TRAILERS],
    ['a trailer line ending in a bare LF', `${CHUNKED}X-Trailer: 1\n\r\n`, MALFORMED_TRAILERS],
    ['a trailer line with no colon', `${CHUNKED}X-Trailer\r\n\r\n`, MALFORMED_TRAILERS],
  ])('%s: a 400 saying what to send, the request never run', async (_name, bytes, message) => {
    const before = harness.upstream.requests.length;
    const { text } = await rawExchange(harness.url, bytes, { giveUpMs: 3_000 });
    const answer = parse(text);
    expect(answer.status, text.slice(0, 300)).toBe(400);
    expect(answer.body.errors).toEqual([{ message, extensions: { code: 'BAD_REQUEST' } }]);
    expect(answer.body.errors[0]!.message).not.toBe(MALFORMED_HTTP);
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers.connection).toBe('close');
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('keeps the URL advice for a space in the URL, and the chunk advice for a chunk not ended by CRLF', async () => {
    const space = parse((await rawExchange(harness.url, `GET /graphql?query={ __typename } HTTP/1.1\r\n${HEAD}\r\n`, { giveUpMs: 3_000 })).text);
    expect(space.body.errors[0]!.message).toMatch(/percent-encode any space/);
    const chunk = parse((await rawExchange(harness.url, `POST /graphql HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n`, { giveUpMs: 3_000 })).text);
    expect(chunk.body.errors[0]!.message).toMatch(/Its chunked body is malformed/);
  });
});
