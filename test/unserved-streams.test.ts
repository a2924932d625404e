/**
 * Which Accept headers a subscription is watched under (src/pipeline/unserved-streams.ts): every header
 * under which Yoga serves a subscription's stream, each as Yoga reads it, and no other; a stream no
 * processor serves is closed, whoever made it. What a refused watch does not hold (its caller's slot, a
 * poller) is in test/live.test.ts.
 */
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, expect, it, vi, type MockInstance } from 'vitest';
import type { LiveExecutions } from '../src/live/live-executions.js';
import { liveEnv, putExecution, TOKENS, WATCH, allStopped, describeEachLane, waitFor } from './support/live.js';
import { AUTH, Harness } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

/** A stream a plugin answers a subscription with before the gateway's own hooks run; `closed` counts its `return`s. */
function streamingProbe() {
  const probe = { closed: 0 };
  const plugin: Plugin = {
    onSubscribe({ args, setResultAndStopExecution }) {
      if (!(args.contextValue as { request?: Request }).request?.headers.get('x-test-probe-stream')) return;
      // Yields nothing until closed.
      const stream: AsyncIterableIterator<never> = {
        [Symbol.asyncIterator]: () => stream,
        next: () => new Promise<IteratorResult<never>>(() => undefined),
        return: () => {
          probe.closed++;
          return Promise.resolve({ done: true as const, value: undefined });
        },
      };
      setResultAndStopExecution(stream);
    },
  };
  return { probe, plugin };
}

describeEachLane('a subscription and the types its Accept takes', (lane) => {
  let harness: Harness;
  const { probe, plugin } = streamingProbe();
  /** The watches this lane's gateway started. Its own spy, never restored: the lanes run at once, and a restore of all mocks undid the other lane's. */
  let watches: MockInstance<LiveExecutions['watch']>;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: liveEnv(), upstream: { tokens: TOKENS }, plugins: [plugin] });
    watches = vi.spyOn(harness.instance.live, 'watch');
    putExecution(harness.upstream, 'ex_accept', 'awaiting_payment');
  });
  afterAll(() => harness.close());

  /** The subscription's answer: its status, its type, and the start of its body, read until the execution's id shows up. */
  async function subscribe(headers: Record<string, string>) {
    const controller = new AbortController();
    const answer = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH, ...headers },
      body: JSON.stringify({ query: WATCH, variables: { id: 'ex_accept' } }),
      signal: controller.signal,
    });
    let text = '';
    if (answer.status === 200) {
      const reader = answer.body!.getReader();
      const decoder = new TextDecoder();
      while (!text.includes('ex_accept')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      controller.abort();
    } else {
      text = await answer.text();
    }
    await allStopped(harness);
    return { status: answer.status, type: answer.headers.get('content-type'), text };
  }

  it.each([
    ['a wildcard', { accept: 'application/json, */*' }],
    ['a wildcard subtype', { accept: 'application/json, text/*' }],
    ['the type in capitals', { accept: 'Text/Event-Stream' }],
    ['spaces around its parameter', { accept: 'text/event-stream ; charset=utf-8' }],
  ])('is watched under %s, and served as Server-Sent Events', async (_name, headers) => {
    const before = harness.upstream.requestsFor('ex_accept').length;
    const watchesBefore = watches.mock.calls.length;
    const answer = await subscribe(headers);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.type).toMatch(/^text\/event-stream/);
    expect(answer.text).toContain('"id":"ex_accept"');
    // Watched: the first update came from upstream.
    expect(harness.upstream.requestsFor('ex_accept').length).toBeGreaterThan(before);
    expect(watches.mock.calls.length).toBe(watchesBefore + 1);
  });

  it('is watched when the request has no Accept header at all, which Yoga reads as */*', async () => {
    // By hand: fetch sends `accept: */*` when none is given.
    const body = JSON.stringify({ query: WATCH, variables: { id: 'ex_accept' } });
    const head = ['POST /graphql HTTP/1.1', 'host: localhost', 'content-type: application/json', `authorization: ${AUTH}`, `content-length: ${Buffer.byteLength(body)}`];
    const watchesBefore = watches.mock.calls.length;
    // Left once the first update came, not after 1 s: a loaded machine can take past a second to poll upstream for it.
    const { text } = await rawExchange(harness.url, `${head.join('\r\n')}\r\n\r\n${body}`, { leaveOnceReceived: (received) => received.includes('"id":"ex_accept"'), giveUpMs: 10_000 });
    await allStopped(harness);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/\r\ncontent-type: text\/event-stream/i);
    expect(text).toContain('"id":"ex_accept"');
    expect(watches.mock.calls.length).toBe(watchesBefore + 1);
  });

  it.each([
    'application/json',
    'multipart/mixed',
    'multipart/*, application/json',
    // Apollo Client's HTTP subscriptions (README "Live executions": not served).
    'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json',
  ])(
    'is never watched under %s: Yoga serves a subscription by SSE alone (multipart/mixed is for incremental delivery)',
    async (accept) => {
      const before = watches.mock.calls.length;
      const answer = await subscribe({ accept });
      expect(answer.status).toBe(406);
      expect(JSON.parse(answer.text)).toEqual({ errors: [{ message: 'Not acceptable: accept text/event-stream (in UTF-8): a subscription is sent as Server-Sent Events, or over a WebSocket to the same URL (subprotocol graphql-transport-ws).', extensions: { code: 'BAD_REQUEST' } }] });
      expect(watches.mock.calls.length).toBe(before);
    },
  );

  it("closes a stream no processor serves, though a plugin's onSubscribe made it before the gateway's own hook ran", async () => {
    const answer = await subscribe({ accept: 'application/json', 'x-test-probe-stream': '1' });
    expect(answer.status).toBe(406);
    await waitFor(() => probe.closed === 1, () => `the probe's stream closed once; closed ${probe.closed} times`);
  });
});
