/**
 * A request line whose URL holds a space and that names no version (`GET /search?q=a b`, as a hand-written client
 * sends it) was told "b is no HTTP version …", a piece of its URL named as a version: it keeps the advice to
 * percent-encode the space, while a third part that is a version written otherwise (`HTTPS/1.1`) is still told so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';
import { MALFORMED_REQUEST_LINE } from '../src/server/malformed-http.js';

/** The message of the one answer to `request`. */
async function messageFor(harness: Harness, request: string): Promise<{ status: number; message: string }> {
  const { text } = await rawExchange(harness.url, request);
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const body = JSON.parse(rest.join('\r\n\r\n')) as { errors: Array<{ message: string }> };
  return { status: Number(head.split(' ')[1]), message: body.errors[0]!.message };
}

describe('a request line of three parts whose last is no version', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it('with a space in its URL and no version, is told to percent-encode the space', async () => {
    expect(await messageFor(harness, 'GET /graphql?q=a b\r\nHost: 127.0.0.1\r\n\r\n')).toEqual({ status: 400, message: MALFORMED_REQUEST_LINE });
  });

  it('with a version written otherwise, is told what a version is', async () => {
    expect(await messageFor(harness, 'GET /graphql HTTPS/1.1\r\nHost: 127.0.0.1\r\n\r\n')).toEqual({
      status: 400,
      message: 'HTTPS/1.1 is no HTTP version: a version is HTTP/, one digit, a dot and one digit; send HTTP/1.1 (RFC 9112 §2.3).',
    });
  });
});
