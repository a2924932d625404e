/**
 * A watch that joins its execution's running poller while upstream's pause runs (a 503 with Retry-After) is told the
 * notice with the time left until the next poll (README "Live executions": its `extensions.retryAfterMs` is the time
 * until the next poll), as a watch that found the poller stopped is. It was told the notice as first given, the
 * whole pause again: a page showed "retrying in 6 s" 3 s into a 6 s pause.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { seconds } from '../src/errors.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';
import { reading, Script, status } from './support/live12-script.js';
import { liveEnv, Recorder, sleep, waitFor, WATCH, type SubscribingClient } from './support/live.js';

let gateway: BehindScripted | undefined;
const made: SubscribingClient[] = [];

afterEach(async () => {
  await Promise.all(made.splice(0).map((client) => client.dispose()));
  await gateway?.close();
  gateway = undefined;
});

function client(transport: 'sse' | 'ws', url: string): SubscribingClient {
  const authorization = 'Bearer token-a';
  const one =
    transport === 'sse'
      ? (createSseClient({ url, headers: { authorization }, retryAttempts: 0 }) as unknown as SubscribingClient)
      : (createWsClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0, shouldRetry: () => false }) as unknown as SubscribingClient);
  made.push(one);
  return one;
}

describe.each(['sse', 'ws'] as const)('live12 a watch joining during a pause over %s', (transport) => {
  it('is told the time until the next poll, not the time the first watcher was told', async () => {
    const script = new Script();
    const id = 'ex_join_paused';
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, status(503, { 'retry-after': '6' }));
    gateway = await gatewayBehindScripted(script.listener, liveEnv());
    const first = new Recorder(client(transport, gateway.url), { id }, WATCH);
    await waitFor(() => first.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${first.describe()}`);
    const toldAt = performance.now();
    const told = Number(first.results.find((result) => result.errors)!.errors![0]!.extensions!.retryAfterMs);
    expect(told).toBeGreaterThan(5_000);
    const calls = script.calls(id);
    await sleep(3_000);
    const late = new Recorder(client(transport, gateway.url), { id }, WATCH);
    await late.received(2);
    const joinedAt = performance.now();
    // One poller, still in its pause: the joiner made no call.
    expect(gateway.instance.live.counts.pollers).toBe(1);
    expect(script.calls(id)).toBe(calls);
    expect(late.results[0]!.errors).toBeUndefined();
    const notice = late.results[1]!.errors![0]!;
    expect(notice.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 503 });
    const left = told - (joinedAt - toldAt);
    // Within a second of the time actually left (a busy machine is slow to deliver), not the whole pause again.
    expect(Number(notice.extensions?.retryAfterMs)).toBeLessThanOrEqual(left + 1_000);
    expect(Number(notice.extensions?.retryAfterMs)).toBeGreaterThanOrEqual(left - 1_000);
    expect(notice.message).toContain(`polls again in ${seconds(Number(notice.extensions?.retryAfterMs))}`);
    first.stop();
    late.stop();
  });
});
