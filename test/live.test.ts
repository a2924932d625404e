/**
 * Live executions over Server-Sent Events (GraphQL over SSE, distinct
 * connections mode), with the official graphql-sse client, on each lane:
 * the behaviour suite every transport owes (test/support/live.ts), and what is
 * particular to SSE — a client leaving is its request going away.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { AUTH, type Harness } from './support/harness.js';
import { allStopped, Clients, describeEachLane, describeLiveBehaviour, expectPollingStopsAfter, putExecution, Recorder, sseClient, startLiveHarness, type Update, WATCH } from './support/live.js';

describeLiveBehaviour('sse');

describeEachLane('a client leaving an SSE watch', (lane) => {
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness(lane);
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it('aborting the request stops polling', async () => {
    putExecution(harness.upstream, 'ex_abort', 'awaiting_payment');
    const watcher = new Recorder(clients.for(harness), { id: 'ex_abort' });
    await watcher.received(1);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1 });
    await expectPollingStopsAfter(harness, ['ex_abort'], () => watcher.stop());
  });

  it('returning the iterator stops polling', async () => {
    putExecution(harness.upstream, 'ex_iterate', 'awaiting_payment');
    const client = clients.track(sseClient(harness));
    const iterator = client.iterate<{ executionUpdates: Update }>({ query: WATCH, variables: { id: 'ex_iterate' } });
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect((first.value as { data: { executionUpdates: Update } }).data.executionUpdates.execution.id).toBe('ex_iterate');
    await expectPollingStopsAfter(harness, ['ex_iterate'], () => iterator.return?.());
    await allStopped(harness);
  });
});

describeEachLane('a watch no media type in Accept can carry', (lane) => {
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness(lane, { LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '3' });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it('is answered 406 and holds nothing: no poller, no slot of its caller', async () => {
    putExecution(harness.upstream, 'ex_unserved', 'awaiting_payment');
    for (let i = 0; i < 5; i++) {
      const answer = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: AUTH },
        body: JSON.stringify({ query: WATCH, variables: { id: 'ex_unserved' } }),
      });
      expect(answer.status).toBe(406);
      // Each type once, each with its charset (Yoga lists one entry per result processor).
      expect(answer.headers.get('accept')).toBe('text/event-stream; charset=utf-8');
      const { errors } = (await answer.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(errors[0]!.extensions.code).toBe('BAD_REQUEST');
      // What a subscription is served as, and nothing it is not.
      expect(errors[0]!.message).toBe('Not acceptable: accept text/event-stream (in UTF-8).');
    }
    await allStopped(harness);
    // More than the caller's bound of 3 were refused, and the caller can still watch.
    const watcher = new Recorder(clients.for(harness), { id: 'ex_unserved' });
    await watcher.received(1);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1 });
  });
});
