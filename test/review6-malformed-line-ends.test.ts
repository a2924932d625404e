/**
 * A request whose head's lines end in a bare LF or CR (a hand-written client writing `\n`) got only "Malformed HTTP
 * request.", though the other malformed heads are now told what to send (1a85487). Now it is told to end each line
 * with CRLF: a 400 with BAD_REQUEST, on both lanes, nothing run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';
import { MALFORMED_LINE_ENDS } from '../src/server/malformed-http.js';

describe.each(LANES)('a head with bare line ends (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    ['a bare LF after a header value', `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\nAuthorization: ${AUTH}\r\nx-graphql-yoga-csrf: 1\r\n\r\n`],
    ['a bare CR after a header value', `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\rAuthorization: ${AUTH}\r\nx-graphql-yoga-csrf: 1\r\n\r\n`],
  ])('%s: a 400 saying to end lines with CRLF', async (_name, bytes) => {
    const before = harness.upstream.requests.length;
    const { text } = await rawExchange(harness.url, bytes, { giveUpMs: 3_000 });
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors).toEqual([{ message: MALFORMED_LINE_ENDS, extensions: { code: 'BAD_REQUEST' } }]);
    expect(harness.upstream.requests.length).toBe(before);
  });
});
