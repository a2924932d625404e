/**
 * Two ways a page's own values broke watchExecution: a token not loaded yet (`undefined` from plain JavaScript) threw
 * "Cannot read properties of undefined (reading 'length')", with no code to switch on; and `maxRetryDelayMs: Infinity`
 * let the jittered pause pass setTimeout's range (2^31 − 1 ms), which fires at once, so a watch of a gateway that was
 * down subscribed again in a tight loop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/lib/ports.js';
import { watchExecution, WatchError } from '../src/client/index.js';
import { Harness } from './support/harness.js';
import { thrownBy } from './support/rejection.js';

describe('watchExecution guards', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it.each([
    ['undefined', undefined, 'authorization is undefined, not a string: pass the token as `Bearer <token>` once it is known.'],
    ['null', null, 'authorization is null, not a string: pass the token as `Bearer <token>` once it is known.'],
  ])('refuses an authorization that is %s as UNAUTHENTICATED, sending nothing', async (_name, authorization, message) => {
    const before = harness.upstream.requests.length;
    const watch = watchExecution(harness.url, authorization as unknown as string, 'ex_demo_1');
    const error = await thrownBy(watch.next());
    expect(error).toBeInstanceOf(WatchError);
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', message });
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('holds a pause to a timer\'s range with maxRetryDelayMs: Infinity: one attempt, not a tight loop, against a gateway that is down', async () => {
    // A port nothing listens on: every attempt is refused at once.
    const down = `http://127.0.0.1:${await freePort()}/graphql`;
    const delays: number[] = [];
    const stop = new AbortController();
    const watching = (async () => {
      for await (const _ of watchExecution(down, 'Bearer t', 'ex_demo_1', { retryDelayMs: 1e12, maxRetryDelayMs: Infinity, signal: stop.signal, onRetry: (_reason, _attempt, delayMs) => delays.push(delayMs) }));
    })();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    stop.abort();
    await watching;
    // Before: a pause past the range fired at once, and the attempts numbered in the hundreds within the wait.
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThanOrEqual(2 ** 31 - 1);
  });
});
