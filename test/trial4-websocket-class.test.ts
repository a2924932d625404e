/**
 * `watchExecution(…, { transport: 'websocket' })` without a WebSocket class: in Node 20, which has none of its own,
 * with no `webSocketImpl`, or with `ws`'s module namespace (`import * as WebSocket from 'ws'`, an object) as it.
 * graphql-ws answered both "WebSocket implementation missing; … pass `webSocketImpl: WebSocket` to `createClient`":
 * a function the caller never called, and to one who had passed `webSocketImpl`, to pass it. Each is now a TypeError
 * saying what to pass, before anything is sent; `ws`'s class itself is served by a real gateway.
 */
import * as wsModule from 'ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { watchExecution } from '../src/client/index.js';
import { AUTH, Harness } from './support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

const global = globalThis as { WebSocket?: unknown };
const own = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
afterEach(() => {
  if (own) Object.defineProperty(globalThis, 'WebSocket', own);
  else delete global.WebSocket;
});

/** The first update of a finished execution, or what the watch threw. */
async function firstOutcome(webSocketImpl: unknown): Promise<unknown> {
  try {
    for await (const update of watchExecution(harness.url, AUTH, 'ex_demo_6', { transport: 'websocket', webSocketImpl, retryDelayMs: 10_000 })) return update.isFinal;
    return 'ended';
  } catch (error) {
    return error;
  }
}

describe("transport: 'websocket' without a WebSocket class", () => {
  it('with none given where the runtime has none: a TypeError naming webSocketImpl and ws', async () => {
    delete global.WebSocket;
    harness.upstream.reset();
    const outcome = await firstOutcome(undefined);
    expect(outcome).toBeInstanceOf(TypeError);
    expect((outcome as TypeError).message).toBe(
      "transport: 'websocket' needs a WebSocket class, and this runtime has none of its own (Node 20): pass `webSocketImpl: WebSocket`, with `import WebSocket from 'ws'`.",
    );
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it("with ws's module namespace given: a TypeError saying to pass its default export", async () => {
    harness.upstream.reset();
    const outcome = await firstOutcome(wsModule);
    expect(outcome).toBeInstanceOf(TypeError);
    expect((outcome as TypeError).message).toBe(
      "webSocketImpl is an object, not a WebSocket class: pass ws's default export (`import WebSocket from 'ws'`; `import * as WebSocket from 'ws'` gives the module, not the class).",
    );
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it("with ws's class: served", async () => {
    harness.upstream.reset();
    expect(await firstOutcome(WebSocket)).toBe(true);
    expect(harness.upstream.requests).toHaveLength(1);
  });
});
