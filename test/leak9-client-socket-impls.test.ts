/**
 * The typed client's shared WebSockets are kept by WebSocket class, then by endpoint and token
 * (src/client/shared-socket.ts). A Node service that watches on behalf of its own callers passes a
 * class of its own to each watch (`class extends WebSocket` whose constructor sets a caller's headers
 * or cookie); once every watch made with a class has ended, nothing of it may stay: kept, each such
 * class and what its constructor closes over (a caller's cookie) stayed for the life of the process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';
import { heapAfterCollection } from './support/heap.js';

/** Watches made, each with a WebSocket class of its own. */
const WATCHES = 40;

describe('WebSocket classes of watches that ended', () => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await Harness.start();
  });

  afterAll(async () => {
    await harness.close();
  });

  it('are not kept once every watch made with them ended', async () => {
    const classes: Array<WeakRef<object>> = [];
    for (let i = 0; i < WATCHES; i++) {
      const cookie = `session=${'c'.repeat(64)}${i}`;
      const PerCaller = class extends WebSocket {
        constructor(url: string, protocols: string) {
          super(url, protocols, { headers: { cookie } });
        }
      };
      classes.push(new WeakRef(PerCaller));
      // ex_demo_7 has failed: one final update, and the watch ends.
      const updates = [];
      for await (const update of watchExecution(harness.url, AUTH, 'ex_demo_7', { transport: 'websocket', webSocketImpl: PerCaller })) updates.push(update);
      expect(updates.map((update) => update.isFinal)).toEqual([true]);
    }
    // graphql-ws lets go of a disposed client's socket on its own next ticks.
    await new Promise((resolve) => setTimeout(resolve, 200));
    heapAfterCollection();
    expect(classes.filter((kept) => kept.deref() !== undefined).length).toBeLessThanOrEqual(1);
  });
});
