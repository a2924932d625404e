/**
 * An operation past a WebSocket connection's LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION is refused (TOO_MANY_SUBSCRIPTIONS,
 * graphql-ws's `error` message) with a message that says what frees a place: completing an operation, or another
 * connection. It said only "at most 100 per WebSocket connection", and the typed client's watch, which ends on it, left
 * its caller guessing which bound it was and what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';
import { Clients, Recorder, startLiveHarness, watch } from './support/live.js';

describe('an operation past LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION', () => {
  let harness: Harness;
  const clients = new Clients('ws');
  beforeAll(async () => {
    harness = await startLiveHarness('fast', { LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1' });
  });
  afterAll(async () => {
    await clients.disposeAll();
    await harness.close();
  });

  it('is refused with a message naming the setting and what frees a place', async () => {
    const client = clients.for(harness);
    const first = watch(client, 'ex_demo_4');
    await first.received(1);
    const second: Recorder = watch(client, 'ex_demo_5');
    await second.end();
    const errors = second.failure as Array<{ message: string; extensions?: { code?: unknown } }>;
    expect(errors.map((error) => error.extensions?.code)).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
    expect(errors[0]!.message).toBe(
      'Too many operations at once: at most 1 per WebSocket connection (LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION), queries and live subscriptions alike. Complete one before starting another, or start it on another connection.',
    );
    first.stop();
  });
});
