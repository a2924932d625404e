/**
 * The page's own callbacks (review 2). watchExecution caught whatever its loop threw as a dropped connection, so an
 * exception in `onWarnings` or `onOutage` (a page's bug) was told to `onRetry` as if the gateway had dropped the
 * stream, and the watch subscribed again from a cursor already moved past the update it never yielded: its events
 * were lost, without a word but onRetry's. The caller's error now ends the watch, as any error of its own would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution, type ExecutionUpdate } from '../src/client/index.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';

const LIVE_ENV = { LIVE_POLL_ACTIVE_MS: '20', LIVE_POLL_WAITING_MS: '20', LIVE_POLL_JITTER_PERCENT: '0', LIVE_POLL_MAX_BACKOFF_MS: '100', LIVE_OUTAGE_NOTICE_MS: '100' };

/** The watch's next step within 5 s: its update, its end, or what it threw. */
async function step(watch: AsyncIterator<ExecutionUpdate>): Promise<{ value?: ExecutionUpdate; done?: boolean; threw?: unknown; late?: true }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ late: true }>((resolve) => (timer = setTimeout(() => resolve({ late: true }), 5_000)));
  try {
    return await Promise.race([
      watch.next().then(
        (result) => ({ value: result.value as ExecutionUpdate, done: result.done ?? false }),
        (threw: unknown) => ({ threw }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each(['sse', 'websocket'] as const)("watchExecution and the page's callbacks, over %s", (transport) => {
  let harness: Harness;
  const stops: AbortController[] = [];
  beforeAll(async () => {
    harness = await Harness.start({ env: LIVE_ENV });
  });
  afterAll(async () => {
    for (const stop of stops) stop.abort();
    await harness.close();
  });

  it('ends with the error onWarnings threw: no retry, no update skipped behind it', async () => {
    const id = `ex_callback_warnings_${transport}`;
    harness.upstream.put(makeExecution({ id, status: 'workflow_running', eventCount: 1, minute: 50 }));
    const stop = new AbortController();
    stops.push(stop);
    const bug = new Error('the page failed to render the notes');
    const retries: unknown[] = [];
    const updates = watchExecution(harness.url, AUTH, id, {
      transport,
      webSocketImpl: WebSocket,
      retryDelayMs: 20,
      signal: stop.signal,
      onRetry: (error) => retries.push(error),
      onWarnings: () => {
        throw bug;
      },
    })[Symbol.asyncIterator]();
    expect(await step(updates)).toMatchObject({ done: false });
    // An event whose createdAt upstream sent unreadable: its update carries a note.
    harness.upstream.appendEvents(id, [{ id: `ev_${id}_bad`, executionId: id, createdAt: 'not a time', level: 'info' } as never]);
    const next = await step(updates);
    expect(retries, 'the callback\'s error was taken for a dropped connection').toEqual([]);
    expect(next).toEqual({ threw: bug });
    expect(await step(updates)).toEqual({ value: undefined, done: true });
  });

  it('ends with the error onOutage threw, instead of subscribing again at each notice', async () => {
    const id = `ex_callback_outage_${transport}`;
    harness.upstream.put(makeExecution({ id, status: 'workflow_running', eventCount: 1, minute: 50 }));
    const stop = new AbortController();
    stops.push(stop);
    const bug = new Error('the page failed to show the outage');
    const retries: unknown[] = [];
    const updates = watchExecution(harness.url, AUTH, id, {
      transport,
      webSocketImpl: WebSocket,
      retryDelayMs: 20,
      signal: stop.signal,
      onRetry: (error) => retries.push(error),
      onOutage: () => {
        throw bug;
      },
    })[Symbol.asyncIterator]();
    expect(await step(updates)).toMatchObject({ done: false });
    harness.upstream.setFault(id, { kind: 'status', status: 503 });
    const next = await step(updates);
    harness.upstream.setFault(id, undefined);
    expect(retries, 'the callback\'s error was taken for a dropped connection').toEqual([]);
    expect(next).toEqual({ threw: bug });
  });
});

describe("watchExecution and its caller's throw()", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: LIVE_ENV });
  });
  afterAll(() => harness.close());

  it.each(['sse', 'websocket'] as const)('ends with the error thrown into it, over %s: no retry', async (transport) => {
    const id = `ex_callback_throw_${transport}`;
    harness.upstream.put(makeExecution({ id, status: 'workflow_running', eventCount: 1, minute: 50 }));
    const stop = new AbortController();
    const retries: unknown[] = [];
    const updates = watchExecution(harness.url, AUTH, id, { transport, webSocketImpl: WebSocket, retryDelayMs: 20, signal: stop.signal, onRetry: (error) => retries.push(error) });
    try {
      expect(await step(updates)).toMatchObject({ done: false });
      const bug = new Error('the page gave up');
      await expect(updates.throw(bug)).rejects.toBe(bug);
      expect(retries).toEqual([]);
      expect(await step(updates)).toEqual({ value: undefined, done: true });
    } finally {
      stop.abort();
    }
  });
});
