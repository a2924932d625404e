/**
 * `watchExecution` over Server-Sent Events answered with a status that asks for a pause (a proxy's 429 rate limit, a
 * load balancer's 503 with no replica up) and a `Retry-After`: it waits at least that long before it subscribes again,
 * and `onRetry` is told a WatchError with `retryAfterMs` (and the code of the body's GraphQL error when it has one). It
 * came back on its own backoff instead, from a few ms on with a small `retryDelayMs`, and was refused again.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchExecution, WatchError } from '../src/client/index.js';
import { AUTH } from './support/harness.js';
import { waitFor } from './support/live.js';
import { stalledAnswerer } from './support/raw-http.js';

describe('watchExecution over Server-Sent Events answered with Retry-After', () => {
  let server: Server;
  let answer: { status: number; body: string; contentType: string };
  const arrivals: number[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      arrivals.push(performance.now());
      request.resume();
      response.writeHead(answer.status, { 'content-type': answer.contentType, 'retry-after': '1' });
      response.end(answer.body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it.each([
    [
      "a 429 with a GraphQL error body: the body's message and code",
      { status: 429, contentType: 'application/json', body: JSON.stringify({ errors: [{ message: 'Slow down.', extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } }] }) },
      { message: 'Slow down.', code: 'TOO_MANY_SUBSCRIPTIONS' },
    ],
    ['a 503 with an HTML page: the status and the pause', { status: 503, contentType: 'text/html', body: '<h1>No healthy upstream</h1>' }, { message: 'The gateway answered 503, asking for a pause of 1 s.', code: undefined }],
  ])('waits at least Retry-After before it subscribes again, after %s', async (_title, given, told) => {
    answer = given;
    arrivals.length = 0;
    const retries: Array<{ error: unknown; delayMs: number }> = [];
    const stop = new AbortController();
    const { port } = server.address() as { port: number };
    const watching = watchExecution(`http://127.0.0.1:${port}/graphql`, AUTH, 'ex_demo_4', {
      retryDelayMs: 1,
      maxRetryDelayMs: 5,
      signal: stop.signal,
      onRetry: (error, _attempt, delayMs) => retries.push({ error, delayMs }),
    }).next();
    await waitFor(() => arrivals.length >= 2, () => `a second subscription (${arrivals.length} so far)`);
    stop.abort();
    await watching;
    // setTimeout may fire up to a millisecond before the time asked for, as performance.now() reads it.
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(995);
    const [{ error, delayMs }] = retries as [{ error: WatchError; delayMs: number }];
    expect(error).toBeInstanceOf(WatchError);
    expect({ message: error.message, code: error.code, retryAfterMs: error.retryAfterMs }).toEqual({ ...told, retryAfterMs: 1_000 });
    expect(delayMs).toBeGreaterThanOrEqual(1_000);
  });
});

describe('watchExecution over Server-Sent Events refused with a body that never ends', () => {
  it.each([
    ['a 429 with Retry-After: told as a pause', 'HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\n', false],
    ['a 400: thrown, as every 4xx but 408 and 429', 'HTTP/1.1 400 Bad Request\r\n', true],
  ])('%s, once the body has been waited for a while, even with no idle deadline (idleTimeoutMs 0)', async (_title, head, thrown) => {
    const { server: stalled, port } = await stalledAnswerer(`${head}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n`);
    const retries: unknown[] = [];
    const stop = new AbortController();
    try {
      const watching = watchExecution(`http://127.0.0.1:${port}/graphql`, AUTH, 'ex_demo_4', {
        idleTimeoutMs: 0,
        signal: stop.signal,
        onRetry: (error) => retries.push(error),
      })
        .next()
        .catch((error: unknown) => error);
      // 10 s, not 5, for a refusal told after its body was waited for 1 s: a guard of a hang only, which a loaded
      // machine's stalls came within a few seconds of.
      const outcome = thrown ? await watching : (await waitFor(() => retries.length > 0, 'onRetry', 10_000), retries[0]);
      stop.abort();
      await watching;
      expect(outcome).toBeInstanceOf(WatchError);
      if (thrown) expect((outcome as WatchError).message).toBe('The gateway answered 400.');
      else expect((outcome as WatchError).retryAfterMs).toBe(1_000);
    } finally {
      stalled.close();
    }
  });
});
