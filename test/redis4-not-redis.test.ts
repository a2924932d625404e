/**
 * Something at REDIS_URL that speaks enough of Redis's protocol to pass ioredis's checks and is not Redis: an echo
 * service (a port forward looped back, a TCP proxy's test target) answers each command with the command itself.
 * Taken for Redis, it answered every lease check with no lease: a live watch followed a holder that did not exist and
 * got nothing after its first update, `/ready` said `connected`, and nothing was logged. A PING must be answered
 * PONG (src/shared-state/redis-store.ts).
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { Harness } from './support/harness.js';
import { advance, AUTH_A, Clients, liveEnv, putExecution, sleep, TOKENS, waitFor, watch } from './support/live.js';
import { readiness } from './support/redis.js';

const LOST = 'redis unreachable: serving from local state until it is back';

it('an echo service at REDIS_URL: one warning saying it is not Redis, /ready degraded, and a live watch gets every change', async () => {
  const echo = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const upstream = await FakeUpstream.start({ executions: [], tokens: TOKENS });
  const gateway = await Harness.start({
    sharedUpstream: upstream,
    env: liveEnv({
      REDIS_URL: `redis://127.0.0.1:${(echo.address() as { port: number }).port}`,
      REDIS_KEY_SECRET: 'a-test-secret-of-at-least-32-characters',
      LIVE_POLL_ACTIVE_MS: '50',
      LIVE_POLL_WAITING_MS: '50',
    }),
  });
  const clients = new Clients('sse');
  try {
    putExecution(upstream, 'ex_echo', 'workflow_running', { eventCount: 1, organizationId: 'org_a' });
    const watcher = watch(clients.for(gateway, AUTH_A), 'ex_echo');
    await watcher.received(1);
    const lost = () => gateway.logs.filter((line) => line.msg === LOST);
    await waitFor(() => lost().length === 1, 'the warning');
    expect(String(lost()[0]!.reason)).toBe('the far end of REDIS_URL does not answer as Redis does (PING answered ["ping"], not PONG)');
    expect((await readiness(gateway.url)).redis).toBe('degraded');
    const added = advance(upstream, 'ex_echo', 'workflow_running', 2);
    await waitFor(() => watcher.eventIds.length === added.length, () => `the change; ${watcher.describe()}`, 5_000);
    expect(watcher.eventIds).toEqual(added);
    // Told once, not at every PING.
    await sleep(2_500);
    expect(lost()).toHaveLength(1);
    expect(gateway.logs.filter((line) => String(line.msg).startsWith('redis still unreachable'))).toEqual([]);
  } finally {
    await clients.disposeAll();
    await gateway.close();
    await upstream.close();
    echo.close();
  }
});
