/**
 * How a live watch is refused or ended with an error, on every transport (Server-Sent Events by POST and by GET,
 * WebSocket with graphql-ws's own client), on both lanes. README "Live executions", Errors:
 * - a watch refused or ended with an error, before any upstream call (BAD_USER_INPUT, TOO_MANY_SUBSCRIPTIONS) or
 *   once upstream answered (NOT_FOUND, UPSTREAM_BAD_RESPONSE, UPSTREAM_UNAVAILABLE at the watch's time limit), is one
 *   result holding only `errors` (no `data`, no result `extensions`), the error on `executionUpdates` with its code,
 *   then the stream completes (a `next` then `complete` over graphql-ws);
 * - an update that goes on (an outage notice) is `data: null` with the error;
 * - a request error (the document does not validate, a variable does not fit) is graphql-ws's `error` message over
 *   WebSocket (its errors, no `complete`: graphql-transport-ws's answer to errors before execution starts), and over
 *   SSE the same errors in the one `next` event. Before, graphql-ws got them as a `next`, then `complete`.
 * Before, a refusal once upstream answered came as `data: null`, and one before any call with `extensions.upstream`.
 */
import type { ExecutionResult } from 'graphql';
import { createClient as createWsClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';
import { AUTH_A, liveEnv, putExecution, TOKENS, waitFor } from './support/live.js';
import { nextEvents } from './support/transports.js';

type Transport = 'SSE (POST)' | 'SSE (GET)' | 'WebSocket';
const TRANSPORTS: readonly Transport[] = ['SSE (POST)', 'SSE (GET)', 'WebSocket'];

/** What one subscription received: its results, and how it ended (`complete`, or graphql-ws's `error` message's errors). */
interface Received {
  results: ExecutionResult[];
  completed: boolean;
  /** The errors of graphql-ws's `error` message; undefined when none came. */
  errorMessage?: unknown[];
}

const WATCH = 'subscription ($id: ID!) { executionUpdates(id: $id) { isFinal cursor } }';

/** Subscribes over `transport` and collects everything until the stream ends. */
async function subscribe(
  harness: Harness,
  transport: Transport,
  payload: { query: string; variables?: Record<string, unknown> },
  authorization = AUTH,
): Promise<Received> {
  if (transport !== 'WebSocket') {
    const response =
      transport === 'SSE (POST)'
        ? await harness.fetch('/graphql', { method: 'POST', headers: { authorization, accept: 'text/event-stream', 'content-type': 'application/json' }, body: JSON.stringify(payload) })
        : await harness.fetch(`/graphql?${new URLSearchParams({ query: payload.query, variables: JSON.stringify(payload.variables ?? {}) })}`, { headers: { authorization, accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    const text = await response.text();
    return { results: nextEvents(text), completed: /^event: complete$/m.test(text) };
  }
  const client = createWsClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0 });
  const received: Received = { results: [], completed: false };
  try {
    await new Promise<void>((resolve) => {
      client.subscribe(payload, {
        next: (result) => void received.results.push(result as ExecutionResult),
        error: (error) => {
          received.errorMessage = Array.isArray(error) ? error : [String(error)];
          resolve();
        },
        complete: () => {
          received.completed = true;
          resolve();
        },
      });
    });
    return received;
  } finally {
    await client.dispose();
  }
}

/** A watch's refusal: one result of `errors` only, on the root field, with `code`; then complete. */
function expectWatchRefused(received: Received, code: string): void {
  expect(received.errorMessage, JSON.stringify(received)).toBeUndefined();
  expect(received.completed, JSON.stringify(received)).toBe(true);
  expect(received.results, JSON.stringify(received)).toHaveLength(1);
  const [result] = received.results;
  expect(Object.keys(result!)).toEqual(['errors']);
  expect(result!.errors).toHaveLength(1);
  expect(result!.errors![0]).toMatchObject({ path: ['executionUpdates'], locations: [{ line: 1, column: 27 }], extensions: { code } });
}

describe.each(LANES)('live refusals (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      // Watches of an upstream that never answers end at 3 s; one watch per caller, so a second is refused. 3 s, not 1:
      // the outage notice (100 ms of failing polls) must come before the end, and a loaded machine's stall of 900 ms
      // in the test's process let the end come first, as designed. Only the outage case waits for it.
      env: liveEnv({ LIVE_MAX_WATCH_MS: '3000', LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '1' }),
      upstream: { tokens: TOKENS },
    });
    putExecution(harness.upstream, 'ex_teapot', 'workflow_running');
    harness.upstream.setFault('ex_teapot', { kind: 'status', status: 418 });
    putExecution(harness.upstream, 'ex_down', 'workflow_running');
    harness.upstream.setFault('ex_down', { kind: 'status', status: 503 });
    putExecution(harness.upstream, 'ex_held', 'workflow_running', { organizationId: 'org_a' });
  });
  afterAll(() => harness.close());

  describe.each(TRANSPORTS)('over %s', (transport) => {
    it('refuses a malformed id before any upstream call with errors only (BAD_USER_INPUT)', async () => {
      expectWatchRefused(await subscribe(harness, transport, { query: WATCH, variables: { id: 'bad id!' } }), 'BAD_USER_INPUT');
      // Counted by path: an earlier test's last poll, aborted as its watch ended, may still reach upstream.
      expect(harness.upstream.requests.filter((request) => request.path.includes('bad'))).toHaveLength(0);
    });

    it('refuses a watch of an execution upstream does not have in the same shape (NOT_FOUND)', async () => {
      const received = await subscribe(harness, transport, { query: WATCH, variables: { id: 'ex_missing' } });
      expectWatchRefused(received, 'NOT_FOUND');
      expect(received.results[0]!.errors![0]!.extensions).toMatchObject({ upstreamStatus: 404 });
    });

    it('ends a watch upstream answers with a status its contract does not name in the same shape (UPSTREAM_BAD_RESPONSE)', async () => {
      const received = await subscribe(harness, transport, { query: WATCH, variables: { id: 'ex_teapot' } });
      expectWatchRefused(received, 'UPSTREAM_BAD_RESPONSE');
      expect(received.results[0]!.errors![0]!.extensions).toMatchObject({ upstreamStatus: 418 });
    });

    it('gives an outage notice as data: null (the watch goes on), and ends a watch upstream never answered with errors only (UPSTREAM_UNAVAILABLE)', async () => {
      const received = await subscribe(harness, transport, { query: WATCH, variables: { id: 'ex_down' } });
      expect(received.completed, JSON.stringify(received)).toBe(true);
      const last = received.results.at(-1)!;
      const notices = received.results.slice(0, -1);
      expect(notices.length, JSON.stringify(received)).toBeGreaterThan(0);
      for (const notice of notices) expect(notice).toMatchObject({ data: null, errors: [{ path: ['executionUpdates'], extensions: { code: 'UPSTREAM_UNAVAILABLE' } }] });
      expectWatchRefused({ ...received, results: [last] }, 'UPSTREAM_UNAVAILABLE');
    });

    it('refuses a watch past the caller\'s bound in the same shape (TOO_MANY_SUBSCRIPTIONS)', async () => {
      // One watch of token-a held open over SSE, whatever the transport under test.
      const held = new AbortController();
      const holding = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { authorization: AUTH_A, accept: 'text/event-stream', 'content-type': 'application/json' },
        body: JSON.stringify({ query: WATCH, variables: { id: 'ex_held' } }),
        signal: held.signal,
      });
      expect(holding.status).toBe(200);
      await waitFor(() => harness.instance.live.counts.subscriptions === 1, 'the held watch');
      try {
        expectWatchRefused(await subscribe(harness, transport, { query: WATCH, variables: { id: 'ex_held' } }, AUTH_A), 'TOO_MANY_SUBSCRIPTIONS');
      } finally {
        held.abort();
      }
      await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'the held watch to end');
    });

    it('answers a subscription that does not validate as a request error: graphql-ws\'s `error` message, the one `next` event over SSE', async () => {
      const received = await subscribe(harness, transport, { query: 'subscription { executionUpdates(id: "ex_any") { nope } }' });
      const expected = [{ message: 'Cannot query field "nope" on type "ExecutionUpdate".', locations: [{ line: 1, column: 49 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }];
      if (transport === 'WebSocket') {
        expect(received.results, JSON.stringify(received)).toEqual([]);
        expect(received.completed).toBe(false);
        expect(received.errorMessage).toEqual(expected);
      } else {
        expect(received.results).toEqual([{ errors: expected }]);
        expect(received.completed).toBe(true);
      }
      expect(harness.upstream.requestsFor('ex_any')).toHaveLength(0);
    });

    it('answers a variable that does not fit its type as a request error too (BAD_REQUEST)', async () => {
      const received = await subscribe(harness, transport, { query: WATCH, variables: { id: { x: 1 } } });
      const errors = transport === 'WebSocket' ? received.errorMessage : received.results[0]?.errors;
      expect(errors, JSON.stringify(received)).toMatchObject([{ extensions: { code: 'BAD_REQUEST' } }]);
      if (transport === 'WebSocket') expect(received.results).toEqual([]);
      else expect(Object.keys(received.results[0]!)).toEqual(['errors']);
    });
  });
});
