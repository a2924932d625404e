/**
 * The 408 the HTTP edge answers a request not received in time says which limit it passed
 * and its setting: the head within HTTP_HEADERS_TIMEOUT_MS (or HTTP_REQUEST_TIMEOUT_MS when
 * that is shorter, as it then acts), the whole request within HTTP_REQUEST_TIMEOUT_MS. It
 * said "The request was not received in time." for both, so a client whose upload was cut
 * could not tell a slow head from a slow body, nor the time it had.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Sends `text` and resolves with what came back once the gateway closed the connection. */
function answerTo(url: string, text: string): Promise<{ status: number; message: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
    let got = '';
    socket.on('data', (chunk) => (got += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(got.split(' ')[1]);
      const body = got.slice(got.indexOf('\r\n\r\n') + 4);
      resolve({ status, message: (JSON.parse(body) as { errors: Array<{ message: string }> }).errors[0]!.message });
    });
  });
}

describe.each(LANES)('408 messages, %s lane', (lane) => {
  it('a head not received in time names HTTP_HEADERS_TIMEOUT_MS and its time', async () => {
    harness = await Harness.start({ lane, env: { HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '2000' } });
    const answer = await answerTo(harness.url, 'POST /graphql HTTP/1.1\r\nHost: x\r\n');
    expect(answer.status).toBe(408);
    expect(answer.message).toContain('HTTP_HEADERS_TIMEOUT_MS');
    expect(answer.message).toContain('0.3 s');
  });

  it('a head past a shorter HTTP_REQUEST_TIMEOUT_MS names that one', async () => {
    harness = await Harness.start({ lane, env: { HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '400' } });
    const answer = await answerTo(harness.url, 'POST /graphql HTTP/1.1\r\nHost: x\r\n');
    expect(answer.status).toBe(408);
    expect(answer.message).toContain('HTTP_REQUEST_TIMEOUT_MS');
    expect(answer.message).toContain('0.4 s');
  });

  it('a body not received in time names HTTP_REQUEST_TIMEOUT_MS and its time', async () => {
    harness = await Harness.start({ lane, env: { HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '600' } });
    const answer = await answerTo(
      harness.url,
      'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer demo-token\r\nContent-Length: 100\r\n\r\n{"query":',
    );
    expect(answer.status).toBe(408);
    expect(answer.message).toContain('HTTP_REQUEST_TIMEOUT_MS');
    expect(answer.message).toContain('0.6 s');
  });
});
