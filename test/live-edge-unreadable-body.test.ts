/**
 * A watch whose execution upstream answers with a body larger than UPSTREAM_MAX_BODY_BYTES ends at once with the
 * error a query of it gets (UPSTREAM_BAD_RESPONSE, "…too large for the gateway to read; asking again gets the same answer…"), one result of errors only,
 * then complete: upstream only appends to an execution, so a body past the bound is past it on every later poll, and
 * the gateway's bound changes only with a restart. Taken as an outage, such a watch gave UPSTREAM_UNAVAILABLE notices
 * and polled upstream every backoff until LIVE_MAX_WATCH_MS (6 h by default). A watch whose execution grows past the
 * bound ends the same way. A body that is no JSON (a proxy's maintenance page answered with a 200) is still an
 * outage: that one passes.
 */
import type { ExecutionResult } from 'graphql';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution, WatchError } from '../src/client/index.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { advance, Clients, liveEnv, putExecution, TOKENS, watch, type TransportName } from './support/live.js';

const QUERY = '{ execution(id: "ex_too_large") { id status } }';
/**
 * Far past every wait here (10 s at most, for a loaded machine's stalls): a watch still open when the test looks was
 * taken as an outage.
 */
const MAX_WATCH_MS = 60_000;

describe.each(LANES)('a watch of a body too large to read, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: liveEnv({ UPSTREAM_MAX_BODY_BYTES: '4096', LIVE_MAX_WATCH_MS: String(MAX_WATCH_MS) }), upstream: { tokens: TOKENS } });
    // 40 events: about 10 KB of JSON.
    putExecution(harness.upstream, 'ex_too_large', 'workflow_running', { eventCount: 40 });
    putExecution(harness.upstream, 'ex_maintenance', 'workflow_running');
    harness.upstream.setFault('ex_maintenance', { kind: 'body', body: '<html>Down for maintenance</html>', headers: { 'content-type': 'text/html' } });
  });
  afterAll(() => harness.close());

  describe.each(['sse', 'ws'] as TransportName[])('over %s', (transport) => {
    const clients = new Clients(transport);
    afterEach(() => clients.disposeAll());

    it('ends at once with the query\'s error, errors only, then completes', async () => {
      const query = await harness.query(QUERY);
      expect(query.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
      const watcher = watch(clients.for(harness), 'ex_too_large');
      await watcher.end();
      expect(watcher.completed, watcher.describe()).toBe(true);
      expect(watcher.results, watcher.describe()).toHaveLength(1);
      const [result] = watcher.results as ExecutionResult[];
      expect(Object.keys(result!)).toEqual(['errors']);
      // The same code, message and facts; `upstreamRequestId` names each upstream response, the query's and the poll's.
      const { upstreamRequestId: _queryResponse, ...facts } = query.errors![0]!.extensions!;
      expect(result!.errors![0]).toMatchObject({ message: query.errors![0]!.message, path: ['executionUpdates'], extensions: { ...facts, upstreamRequestId: expect.any(String) } });
      expect(facts).toEqual({ code: 'UPSTREAM_BAD_RESPONSE', upstreamStatus: 200, retryable: false });
    });

    it('ends watchExecution with a WatchError: it does not subscribe again', async () => {
      const id = `ex_too_large_client_${transport}`;
      putExecution(harness.upstream, id, 'workflow_running', { eventCount: 40 });
      const retries: unknown[] = [];
      const stop = new AbortController();
      const watching = (async () => {
        for await (const _update of watchExecution(harness.url, AUTH, id, { ...(transport === 'ws' ? { transport: 'websocket', webSocketImpl: WebSocket } : { transport: 'sse' }), signal: stop.signal, retryDelayMs: 20, maxRetryDelayMs: 20, onRetry: (error) => void retries.push(error) })) {
          // No update comes: the first reading is past the bound.
        }
      })();
      // Before: resubscribed every backoff, each subscription a poll of upstream, for as long as the page stayed open.
      const error = await Promise.race([watching.then(() => 'returned', (thrown: unknown) => thrown), new Promise((resolve) => setTimeout(() => resolve('still watching'), 10_000))]);
      stop.abort();
      expect(error).toBeInstanceOf(WatchError);
      expect((error as WatchError).code).toBe('UPSTREAM_BAD_RESPONSE');
      expect(retries).toEqual([]);
      expect(harness.upstream.requestsFor(id)).toHaveLength(1);
    });

    it('ends with it once its execution grows past the bound', async () => {
      const id = `ex_grows_${transport}`;
      putExecution(harness.upstream, id, 'workflow_running', { eventCount: 1 });
      const watcher = watch(clients.for(harness), id);
      await watcher.received(1);
      expect(watcher.updates).toHaveLength(1);
      advance(harness.upstream, id, 'workflow_running', 60);
      await watcher.end();
      expect(watcher.completed, watcher.describe()).toBe(true);
      expect(watcher.results.at(-1), watcher.describe()).toMatchObject({ errors: [{ path: ['executionUpdates'], extensions: { code: 'UPSTREAM_BAD_RESPONSE' } }] });
      expect('data' in watcher.results.at(-1)!).toBe(false);
    });

    it('still takes a body that is no JSON (a maintenance page) as an outage: notices, and the watch goes on', async () => {
      const watcher = watch(clients.for(harness), 'ex_maintenance');
      await watcher.received(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(watcher.ended, watcher.describe()).toBe(false);
      expect(watcher.results[0]).toMatchObject({ data: null, errors: [{ extensions: { code: 'UPSTREAM_UNAVAILABLE' } }] });
    });
  });
});

