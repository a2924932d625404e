/**
 * `return()` on a watch (src/client/live.ts) while a `next()` is still waiting: a component's cleanup racing its
 * `for await` loop, as React's effect cleanup does. An async generator queues return() behind the pending next(),
 * so the watch, its connection and the gateway's poller stayed until the execution's next update came: minutes on
 * a waiting execution, for ever on one that never changes. The execution here never changes after the first update,
 * so only ending the pending next() lets either call settle.
 */
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution, type ExecutionUpdate, type WatchOptions } from '../src/client/index.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';
import { waitFor } from './support/live.js';

/** How long a step may take on a busy machine before the test says what it waited for. */
const STEP_MS = 8_000;

const TRANSPORTS: ReadonlyArray<[string, WatchOptions]> = [
  ['Server-Sent Events', {}],
  ['a WebSocket', { transport: 'websocket', webSocketImpl: WebSocket }],
];

/** `promise`'s outcome, or `late` once STEP_MS passed without one. */
async function within<T>(promise: Promise<T>, late: string): Promise<T | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(late), STEP_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each(TRANSPORTS)('a watch over %s', (_transport, transportOptions) => {
  let harness: Harness;
  /** Every WebSocket upgrade the gateway took. */
  const upgrades: Duplex[] = [];
  let sequence = 0;

  beforeAll(async () => {
    harness = await Harness.start({ env: { LIVE_POLL_WAITING_MS: '20', LIVE_POLL_ACTIVE_MS: '20', LIVE_POLL_JITTER_PERCENT: '0' } });
    harness.instance.server.on('upgrade', (_request, socket: Duplex) => upgrades.push(socket));
  });
  afterAll(() => harness.close());

  /** A running execution that never changes, stored upstream; its id. */
  function runningExecution(): string {
    const id = `ex_return_${++sequence}`;
    harness.upstream.put(makeExecution({ id, status: 'workflow_running', eventCount: 2, minute: 40 }));
    return id;
  }

  it('ends at once on return() while next() waits for an update: both settle done, and the gateway lets the watch go', async () => {
    const watch = watchExecution(harness.url, AUTH, runningExecution(), { retryDelayMs: 50, ...transportOptions });
    const first = await within(watch.next(), 'no first update');
    expect(first).toMatchObject({ done: false, value: { isFinal: false } });
    await waitFor(() => harness.instance.live.counts.subscriptions === 1, 'the gateway to hold the watch', STEP_MS);

    const pending = watch.next();
    const returned = watch.return(undefined);
    expect(await within(returned, 'return() still waiting behind next()')).toEqual({ done: true, value: undefined });
    expect(await within(pending, 'next() still waiting')).toEqual({ done: true, value: undefined });
    // Nothing polls for it any longer (a poll already on its way when the watch ended may still land upstream).
    await waitFor(() => harness.instance.live.counts.subscriptions === 0 && harness.instance.live.counts.pollers === 0, 'the gateway to end the returned watch and its poller', STEP_MS);
    await waitFor(() => upgrades.every((socket) => socket.destroyed), 'the shared socket to close', STEP_MS);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 0, pollers: 0, unread: 0 });
    // Ended is ended: a later next() is done too.
    expect(await within(watch.next(), 'next() after return()')).toEqual({ done: true, value: undefined });
  });

  it('subscribes to nothing when returned before its first next()', async () => {
    const subscriptionsBefore = harness.instance.live.counts.subscriptions;
    const upgradesBefore = upgrades.length;
    const watch = watchExecution(harness.url, AUTH, runningExecution(), transportOptions);
    expect(await watch.return(undefined)).toEqual({ done: true, value: undefined });
    expect(await watch.next()).toEqual({ done: true, value: undefined });
    expect(harness.instance.live.counts.subscriptions).toBe(subscriptionsBefore);
    expect(upgrades.length).toBe(upgradesBefore);
  });

  it('still ends between updates on return(), as break out of a for await does', async () => {
    const seen: ExecutionUpdate[] = [];
    for await (const update of watchExecution(harness.url, AUTH, runningExecution(), transportOptions)) {
      seen.push(update);
      break;
    }
    expect(seen).toHaveLength(1);
    await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'the gateway to end the watch left by break', STEP_MS);
  });
});
