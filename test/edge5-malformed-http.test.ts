/**
 * A request node's parser refuses as malformed is told what was wrong and what to send, not only "Malformed HTTP
 * request.": a client that sent Content-Length beside Transfer-Encoding, Content-Length twice, a chunk size that is
 * no hex number, a header name with a space in it or a URL with one got that bare sentence, with nothing to act on.
 * On both lanes: a 400 with BAD_REQUEST, the request id, the connection closed, and nothing run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';
import { MALFORMED_CHUNKS, MALFORMED_FRAMING, MALFORMED_HEADER_LINE, MALFORMED_HTTP, MALFORMED_REQUEST_LINE } from '../src/server/malformed-http.js';

const BODY = '{"query":"{ execution(id: \\"ex_demo_1\\") { id } }"}';
const HEAD = `Host: 127.0.0.1\r\nAuthorization: ${AUTH}\r\nContent-Type: application/json\r\n`;
const CHUNKED = `${BODY.length.toString(16)}\r\n${BODY}\r\n0\r\n\r\n`;

/** Status, headers (lowercased) and body of the one answer. */
function parse(text: string) {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) as { errors: Array<{ message: string; extensions: { code: string } }> } };
}

describe.each(LANES)('malformed HTTP (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    ['Content-Length beside Transfer-Encoding: chunked', `POST /graphql HTTP/1.1\r\n${HEAD}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${CHUNKED}`, MALFORMED_FRAMING],
    ['Content-Length twice, the same', `POST /graphql HTTP/1.1\r\n${HEAD}Content-Length: ${BODY.length}\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, MALFORMED_FRAMING],
    ['a Content-Length with a sign', `POST /graphql HTTP/1.1\r\n${HEAD}Content-Length: +${BODY.length}\r\n\r\n${BODY}`, MALFORMED_FRAMING],
    ['Transfer-Encoding: chunked, chunked', `POST /graphql HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked, chunked\r\n\r\n${CHUNKED}`, MALFORMED_FRAMING],
    ['a chunk size that is no hex number', `POST /graphql HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked\r\n\r\nzz\r\n${BODY}\r\n0\r\n\r\n`, MALFORMED_CHUNKS],
    ['a chunk longer than its size', `POST /graphql HTTP/1.1\r\n${HEAD}Transfer-Encoding: chunked\r\n\r\n5\r\n${BODY}\r\n0\r\n\r\n`, MALFORMED_CHUNKS],
    ['a space in a header name', `POST /graphql HTTP/1.1\r\n${HEAD}X Trace: 1\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, MALFORMED_HEADER_LINE],
    ['a control character in a header value', `POST /graphql HTTP/1.1\r\n${HEAD}X-Trace: a\x01b\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, MALFORMED_HEADER_LINE],
    ['a header value folded onto the next line', `POST /graphql HTTP/1.1\r\n${HEAD}X-Trace: a\r\n b\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`, MALFORMED_HEADER_LINE],
    ['a space in the URL', `GET /graphql?query={ __typename } HTTP/1.1\r\n${HEAD}\r\n`, MALFORMED_REQUEST_LINE],
  ])('%s: a 400 saying what to send, the request never run', async (_name, bytes, message) => {
    const before = harness.upstream.requests.length;
    const answer = parse((await rawExchange(harness.url, bytes)).text);
    expect(answer.status).toBe(400);
    expect(answer.body.errors).toEqual([{ message, extensions: { code: 'BAD_REQUEST' } }]);
    expect(answer.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.headers.connection).toBe('close');
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('keeps the bare sentence for bytes that are no HTTP at all', async () => {
    const answer = parse((await rawExchange(harness.url, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')).text);
    expect(answer.body.errors[0]!.message).toBe(MALFORMED_HTTP);
  });
});
