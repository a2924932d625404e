/**
 * A gateway restart under a watch (review 2): the gateway drains (SHUTTING_DOWN on each watch, then its listener
 * closes) and a new process listens on the same address. Each watch must go on from its last cursor there, over
 * Server-Sent Events and over the shared WebSocket: no event missed or repeated. No client test covered a drain (the
 * gateway's side is in websocket-drain and shutdown); this one passed as written.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { watchExecution, type ExecutionUpdate } from '../src/client/index.js';
import { WebSocket } from 'ws';
import { readConfig } from '../src/config.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { createLogger } from '../src/logger.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { DEMO_ORGANIZATION, demoExecutions, makeEvents, makeExecution } from '../src/demo/demo-data.js';
import { AUTH, TEST_ENV } from './support/harness.js';
import { Writable } from 'node:stream';

const ENV = { ...TEST_ENV, LIVE_POLL_PAYMENT_MS: '20', LIVE_POLL_WAITING_MS: '20', LIVE_POLL_ACTIVE_MS: '20', LIVE_POLL_JITTER_PERCENT: '0' };
const BASE_MS = Date.parse('2026-03-01T12:00:00.000Z');

async function startGateway(upstream: FakeUpstream, port: number): Promise<{ instance: GatewayInstance; port: number }> {
  const instance = createInstance(readConfig(ENV), { upstreamUrl: upstream.url, logger: createLogger('error', new Writable({ write: (_c, _e, cb) => cb() })) });
  return { instance, port: await instance.listen(port, '127.0.0.1') };
}

function append(upstream: FakeUpstream, id: string, count: number, status?: string): void {
  const stored = upstream.get(id)!;
  const firstSeq = stored.events.length + 1;
  const at = BASE_MS + firstSeq * 1_000;
  upstream.put({
    execution: { ...stored.execution, ...(status ? { status, updatedAt: new Date(at).toISOString() } : {}), ...(status === 'workflow_succeeded' ? { finishedAt: new Date(at).toISOString() } : {}) },
    events: [...stored.events, ...makeEvents(id, DEMO_ORGANIZATION, count, at, firstSeq)],
  });
}

async function next(watch: AsyncIterator<ExecutionUpdate>, what: string): Promise<ExecutionUpdate> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 8_000)));
  try {
    const result = await Promise.race([watch.next(), late]);
    expect(result.done, `the watch ended before ${what}`).toBe(false);
    return result.value as ExecutionUpdate;
  } finally {
    clearTimeout(timer);
  }
}

describe.each(['sse', 'websocket'] as const)('a watch across a gateway restart, over %s', (transport) => {
  const closing: Array<() => Promise<void>> = [];
  const stops: AbortController[] = [];
  afterAll(async () => {
    for (const stop of stops) stop.abort();
    for (const close of closing.reverse()) await close();
  });

  it('goes on from its last cursor on the new process: no event missed or repeated', async () => {
    const upstream = await FakeUpstream.start({ executions: demoExecutions() });
    closing.push(() => upstream.close());
    const id = `ex_restart_${transport}`;
    upstream.put(makeExecution({ id, status: 'workflow_running', eventCount: 2, minute: 50 }));
    const first = await startGateway(upstream, 0);
    const url = `http://127.0.0.1:${first.port}/graphql`;
    const stop = new AbortController();
    stops.push(stop);
    const retries: unknown[] = [];
    const updates = watchExecution(url, AUTH, id, { transport, webSocketImpl: WebSocket, retryDelayMs: 50, maxRetryDelayMs: 200, signal: stop.signal, onRetry: (error) => retries.push(error) })[Symbol.asyncIterator]();
    const seen: ExecutionUpdate[] = [await next(updates, 'the first update')];
    append(upstream, id, 2);
    seen.push(await next(updates, 'two events'));

    const drained = first.instance.drain({ unreadyMs: 0, graceMs: 2_000 });
    append(upstream, id, 3);
    await drained;
    await first.instance.close();
    // The restart's gap: nothing listens for a while, and the watch meets refused connections.
    append(upstream, id, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await startGateway(upstream, first.port);
    closing.push(async () => {
      second.instance.server.closeAllConnections();
      await new Promise<void>((resolve) => second.instance.server.close(() => resolve()));
      await second.instance.close();
    });
    let last = await next(updates, 'the first update from the new process');
    seen.push(last);
    append(upstream, id, 1, 'workflow_succeeded');
    while (!last.isFinal) seen.push((last = await next(updates, 'the final update')));
    const delivered = seen.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
    expect(retries[0]).toMatchObject({ name: 'WatchError', code: 'SHUTTING_DOWN' });
    expect(new Set(delivered).size, 'an event was delivered twice').toBe(delivered.length);
    expect(delivered).toEqual(upstream.get(id)!.events.map((event) => event.id).slice(2));
    expect(last.execution.status).toBe('WORKFLOW_SUCCEEDED');
  });
});
