/**
 * An `idleTimeoutMs` or `pausedTimeoutMs` past setTimeout's range (2^31 − 1 ms, 24.8 days; a "30 days" written as
 * 2_592_000_000) armed timers that fire at once: over Server-Sent Events every attempt was aborted after a
 * millisecond as "No answer from the gateway for 2592000000 ms", and the watch never served an update; over a
 * WebSocket the socket was closed as unacknowledged. 84346b4 held the retry pause to the timer's range, not these.
 * Such a bound is now none, as Infinity is.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { watchExecution } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

const THIRTY_DAYS_MS = 30 * 24 * 3_600_000;

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

it.each(['sse', 'websocket'] as const)('over %s, an idle and paused bound of 30 days serves the first update with no retry', async (transport) => {
  const retries: string[] = [];
  const stop = new AbortController();
  const watch = watchExecution(harness.url, AUTH, 'ex_demo_1', {
    transport,
    webSocketImpl: WebSocket,
    idleTimeoutMs: THIRTY_DAYS_MS,
    pausedTimeoutMs: THIRTY_DAYS_MS,
    retryDelayMs: 50,
    signal: stop.signal,
    onRetry: (reason) => void retries.push(String((reason as Error)?.message ?? reason)),
  });
  try {
    const first = await Promise.race([watch.next(), new Promise((resolve) => setTimeout(() => resolve('no update within 10 s'), 10_000))]);
    expect({ first: typeof first === 'string' ? first : 'an update', retries }).toEqual({ first: 'an update', retries: [] });
  } finally {
    stop.abort();
    await watch.return(undefined);
  }
});
