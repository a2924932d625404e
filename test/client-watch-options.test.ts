/**
 * watchExecution's pauses and timeouts are checked before anything is sent: a retryDelayMs of 0 or NaN made every
 * pause 0 ms, and a watch of a gateway that was down subscribed again in a tight loop, without end.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchExecution, type WatchOptions } from '../src/client/live.js';
import { AUTH } from './support/harness.js';
import { sleep, waitFor } from './support/live.js';

describe('watchExecution options', () => {
  let server: Server;
  let url: string;
  let requests = 0;
  beforeAll(async () => {
    // Answers every request with a 503, as a gateway that is down behind a balancer would: a watch retries it.
    server = createServer((_request, response) => {
      requests++;
      response.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each<[string, WatchOptions]>([
    ['retryDelayMs 0', { retryDelayMs: 0 }],
    ['retryDelayMs NaN', { retryDelayMs: Number.NaN }],
    ['retryDelayMs -1', { retryDelayMs: -1 }],
    ['maxRetryDelayMs 0', { maxRetryDelayMs: 0 }],
    ['idleTimeoutMs NaN', { idleTimeoutMs: Number.NaN }],
    ['pausedTimeoutMs -5', { pausedTimeoutMs: -5 }],
  ])('refuses %s with a RangeError naming it, nothing sent', async (name, options) => {
    const before = requests;
    const watch = watchExecution(url, AUTH, 'ex_demo_1', { ...options, signal: AbortSignal.timeout(2_000) });
    await expect(watch.next()).rejects.toThrow(new RegExp(`^${name.split(' ')[0]} must be a number of ms`));
    await expect(watchExecution(url, AUTH, 'ex_demo_1', options).next()).rejects.toBeInstanceOf(RangeError);
    expect(requests).toBe(before);
  });

  it.each<[string, WatchOptions]>([
    ['idleTimeoutMs 0 (never)', { idleTimeoutMs: 0 }],
    ['pausedTimeoutMs Infinity', { pausedTimeoutMs: Number.POSITIVE_INFINITY }],
    ['maxRetryDelayMs Infinity', { maxRetryDelayMs: Number.POSITIVE_INFINITY }],
  ])('takes %s, and retries the gateway at the pace asked', async (_name, options) => {
    const before = requests;
    const retries: unknown[] = [];
    const stop = new AbortController();
    const watch = watchExecution(url, AUTH, 'ex_demo_1', { retryDelayMs: 50, ...options, signal: stop.signal, onRetry: (reason) => retries.push(reason) });
    const watching = (async () => {
      for await (const _update of watch) break;
    })();
    // 600 ms from the first retry, not from the start: a loaded machine's stall of 600 ms before the first 503 came
    // back left no retry to see. A tight loop still makes hundreds of attempts in those 600 ms.
    await waitFor(() => retries.length >= 1, 'a first retry');
    await sleep(600);
    stop.abort();
    await watching;
    // Pauses up to 50, 100, 200 ms, each a random time below its bound: a few attempts in 600 ms, not hundreds.
    expect(requests - before).toBeGreaterThanOrEqual(1);
    expect(requests - before).toBeLessThan(30);
    expect(retries.length).toBeGreaterThanOrEqual(1);
  });
});
