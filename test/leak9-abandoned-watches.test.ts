/**
 * A watch whose iterator is left without `return()` (a component gone without aborting) lets its subscription
 * go past `pausedTimeoutMs` (src/client/live.ts). Nothing of the watch may stay once the caller dropped the
 * iterator: before, over a WebSocket the shared socket's client kept each such watch (its listener, and so the
 * whole suspended watch with its last update) for the life of the process, as did an AbortSignal that outlives
 * the watches (an application's own, passed to each), one listener per watch, Node's MaxListenersExceededWarning
 * past ten.
 */
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution } from '../src/client/index.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';
import { heapAfterCollection } from './support/heap.js';
import { waitFor } from './support/live.js';

/** Watches left unread, each read once and dropped. */
const WATCHES = 12;
const PAUSED_MS = 50;

describe.each(['sse', 'websocket'] as const)('watches left without return() over %s', (transport) => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await Harness.start({ env: { LIVE_POLL_ACTIVE_MS: '50', LIVE_POLL_JITTER_PERCENT: '0' } });
    harness.upstream.put(makeExecution({ id: 'ex_left_running', status: 'workflow_running', eventCount: 2, minute: 5 }));
  });

  afterAll(async () => {
    await harness.close();
  });

  it('are not kept once their subscriptions were let go of', async () => {
    const application = new AbortController();
    const left: Array<WeakRef<object>> = [];
    for (let i = 0; i < WATCHES; i++) {
      const updates = watchExecution(harness.url, AUTH, 'ex_left_running', {
        transport,
        webSocketImpl: WebSocket,
        signal: application.signal,
        pausedTimeoutMs: PAUSED_MS,
      });
      const first = await updates.next();
      expect(first.value?.execution?.status).toBe('WORKFLOW_RUNNING');
      left.push(new WeakRef(updates));
    }
    // Every subscription let go of: the gateway's watches end.
    await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'the watches to be let go of');
    expect(getEventListeners(application.signal, 'abort')).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    heapAfterCollection();
    expect(left.filter((watch) => watch.deref() !== undefined).length).toBeLessThanOrEqual(1);
  });
});
