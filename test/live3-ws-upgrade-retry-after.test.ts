/**
 * `watchExecution` over `transport: 'websocket'` in Node, refused at the upgrade past the gateway's
 * WS_MAX_UPGRADES_PER_SECOND: a 429 with Retry-After and a TOO_MANY_SUBSCRIPTIONS body. The watch waits at least
 * Retry-After before it connects again, and `onRetry` is told the gateway's error (a WatchError with its code,
 * message and `retryAfterMs`). It came back after its own backoff instead (a few ms with a small `retryDelayMs`), was
 * refused again each time, and `onRetry` heard only "The WebSocket to the gateway closed (1006)."
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchExecution, WatchError } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { liveEnv, TOKENS, waitFor } from './support/live.js';
import { stalledAnswerer } from './support/raw-http.js';

describe('watchExecution over WebSocket refused at the upgrade with 429 and Retry-After', () => {
  let harness: Harness;
  let upgrades = 0;

  beforeAll(async () => {
    harness = await Harness.start({ env: liveEnv({ WS_MAX_UPGRADES_PER_SECOND: '1', WS_UPGRADE_BURST: '1' }), upstream: { tokens: TOKENS } });
    harness.instance.server.on('upgrade', () => upgrades++);
  });
  afterAll(() => harness.close());

  it('waits at least Retry-After before it connects again, telling onRetry the gateway\'s TOO_MANY_SUBSCRIPTIONS', async () => {
    // The address's one upgrade of its burst spent, then the watch. A loaded machine's stall of a second between the
    // two refills the token, and the watch's first upgrade is taken, as designed: such a run proves nothing, and is
    // run again (up to three times). A gateway without the limit is never refused, so all three fail below.
    let retries: Array<{ error: unknown; delayMs: number }> = [];
    let refusedAt = 0;
    let first: IteratorResult<unknown> | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const spent = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      await new Promise((resolve, reject) => {
        spent.once('open', resolve);
        spent.once('error', reject);
      });
      spent.close();
      retries = [];
      const stop = new AbortController();
      refusedAt = upgrades;
      const watching = watchExecution(harness.url, AUTH, 'ex_demo_4', {
        transport: 'websocket',
        webSocketImpl: WebSocket,
        retryDelayMs: 1,
        maxRetryDelayMs: 5,
        signal: stop.signal,
        onRetry: (error, _attempt, delayMs) => retries.push({ error, delayMs }),
      });
      first = await watching.next();
      stop.abort();
      await watching.return(undefined);
      if (retries.length > 0) break;
      // The next attempt's spent upgrade must find a full bucket again.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
    expect(first?.done).toBe(false);
    // One upgrade refused, one taken: the watch did not come back before the gateway said it could.
    expect(upgrades - refusedAt).toBe(2);
    expect(retries).toHaveLength(1);
    const [{ error, delayMs }] = retries as [{ error: WatchError; delayMs: number }];
    expect(error).toBeInstanceOf(WatchError);
    expect(error.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(error.retryAfterMs).toBe(1_000);
    expect(error.message).toBe('Too many WebSocket upgrades from this address (at most 1 a second, WS_MAX_UPGRADES_PER_SECOND, in bursts of 1): connect again in 1 s.');
    expect(delayMs).toBeGreaterThanOrEqual(1_000);
  });
});

/** What `onRetry` is first told of a watch refused by a proxy's 429 with `Retry-After: 1` whose body stalls after its first chunk. */
async function firstRetryOfStalledRefusal(idleTimeoutMs: number): Promise<{ error: unknown; port: number }> {
  const { server: stalled, port } = await stalledAnswerer('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nslow \r\n');
  const retries: unknown[] = [];
  const stop = new AbortController();
  try {
    const watching = watchExecution(`http://127.0.0.1:${port}/graphql`, AUTH, 'ex_demo_4', {
      transport: 'websocket',
      webSocketImpl: WebSocket,
      idleTimeoutMs,
      signal: stop.signal,
      onRetry: (error) => retries.push(error),
    }).next();
    await waitFor(() => retries.length > 0, 'onRetry', 5_000);
    stop.abort();
    await watching;
    return { error: retries[0], port };
  } finally {
    stalled.close();
  }
}

describe('watchExecution over WebSocket refused at the upgrade with Retry-After and a body that never ends', () => {
  it('is told the refusal once the body has been waited for a while, even with no opening deadline (idleTimeoutMs 0)', async () => {
    const { error, port } = await firstRetryOfStalledRefusal(0);
    expect(error).toBeInstanceOf(WatchError);
    expect((error as WatchError).retryAfterMs).toBe(1_000);
    expect((error as WatchError).message).toBe(`The gateway refused the WebSocket upgrade at ws://127.0.0.1:${port}/graphql with 429, asking for a pause of 1 s.`);
  });

  // Its body is read for up to 1 s, past the 300 ms the socket had to open.
  it('is told the refusal, not that the socket did not open, when the body is slower than the opening deadline: the answer came within it', async () => {
    const { error } = await firstRetryOfStalledRefusal(300);
    expect(error).toBeInstanceOf(WatchError);
    expect((error as WatchError).retryAfterMs).toBe(1_000);
  });
});
