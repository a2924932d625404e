/**
 * Live executions over Server-Sent Events (GraphQL over SSE, distinct
 * connections mode), with the official graphql-sse client, on each lane:
 * the behaviour suite every transport owes (test/support/live.ts), and what is
 * particular to SSE — a client leaving is its request going away.
 */
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { nextPollDelay } from '../src/live/cadence.js';
import { callerOf } from '../src/upstream/caller.js';
import type { StoredExecution } from '../src/demo/demo-data.js';
import type { UpstreamEvent } from '../src/upstream/envelope.js';
import type { Plugin } from 'graphql-yoga';
import { AUTH, Harness } from './support/harness.js';
import {
  CIRCUIT_OF_THREE,
  advance,
  allStopped,
  Clients,
  describeEachLane,
  describeLiveBehaviour,
  expectPollingStopsAfter,
  OUTAGE_NOTICE_MS,
  PAYMENT_POLL_MS,
  putExecution,
  Recorder,
  POLL_MS,
  sleep,
  sseClient,
  startLiveHarness,
  type Update,
  waitFor,
  WATCH,
} from './support/live.js';

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
    expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1, unread: 0 });
    await expectPollingStopsAfter(harness, ['ex_abort'], () => watcher.stop());
  });

  it('leaving cuts the poll upstream has not answered yet: the call ends at once, not at its deadline', async () => {
    putExecution(harness.upstream, 'ex_poll_hangs', 'workflow_running');
    const watcher = new Recorder(clients.for(harness), { id: 'ex_poll_hangs' });
    await watcher.received(1);
    harness.upstream.setFault('ex_poll_hangs', { kind: 'hang' });
    await waitFor(() => harness.upstream.inFlight === 1, 'a poll hanging upstream');
    const left = performance.now();
    watcher.stop();
    // UPSTREAM_TIMEOUT_MS is 10 s here.
    await waitFor(() => harness.upstream.inFlight === 0, 'the hanging poll cut', 3_000);
    expect(performance.now() - left).toBeLessThan(3_000);
    await allStopped(harness);
  });

  it('events appended while every field of the execution stays the same are an update', async () => {
    const record = putExecution(harness.upstream, 'ex_quiet_fields', 'workflow_running');
    const watcher = new Recorder(clients.for(harness), { id: 'ex_quiet_fields' });
    await watcher.received(1);
    const more = advance(harness.upstream, 'ex_quiet_fields', 'workflow_running', 2);
    // The same fields as before, `updatedAt` included: only the list grew.
    harness.upstream.put({ execution: record.execution, events: harness.upstream.get('ex_quiet_fields')!.events });
    await watcher.until((update) => update.newEvents.length > 0, 'the appended events');
    expect(watcher.eventIds).toEqual(more);
    watcher.stop();
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
    // An execution awaiting payment is polled every minute, not 200 ms: the refusals below must reach upstream never,
    // and on a loaded machine the held watches' poller called it while they were sent (4 calls counted, not 2).
    harness = await startLiveHarness(lane, { LIVE_MAX_SUBSCRIPTIONS_PER_CALLER: '3', LIVE_POLL_PAYMENT_MS: '60000' });
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
      expect(errors[0]!.message).toBe('Not acceptable: accept text/event-stream (in UTF-8): a subscription is sent as Server-Sent Events, or over a WebSocket to the same URL (subprotocol graphql-transport-ws).');
    }
    await allStopped(harness);
    // A watch joins its poller as it is admitted, but polling starts only when something reads it.
    expect(harness.upstream.requestsFor('ex_unserved')).toHaveLength(0);
    // More than the caller's bound of 3 were refused, and the caller can still watch.
    const watcher = new Recorder(clients.for(harness), { id: 'ex_unserved' });
    await watcher.received(1);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1, unread: 0 });
  });

  it('is refused 406 before it is subscribed: a bad id, no token and a caller at its bound get the same 406, not their errors', async () => {
    putExecution(harness.upstream, 'ex_unserved_2', 'awaiting_payment');
    const watchers = [0, 1, 2].map(() => new Recorder(clients.for(harness), { id: 'ex_unserved_2' }));
    for (const watcher of watchers) await watcher.received(1);
    const before = harness.upstream.requests.length;
    const ask = (variables: Record<string, unknown>, headers: Record<string, string>) =>
      harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
        body: JSON.stringify({ query: WATCH, variables }),
      });
    const answers = [
      // The caller holds its 3 watches: subscribed, this was a 200 TOO_MANY_SUBSCRIPTIONS.
      await ask({ id: 'ex_unserved_2' }, { authorization: AUTH }),
      await ask({ id: 'bad id!' }, { authorization: AUTH }),
      await ask({ id: 'ex_unserved_2' }, {}),
      // A wildcard with another charset takes no stream either, as Yoga reads it.
      await ask({ id: 'ex_unserved_2' }, { authorization: AUTH, accept: 'application/json, */*; charset=utf-16' }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(406);
      expect(((await answer.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe('Not acceptable: accept text/event-stream (in UTF-8): a subscription is sent as Server-Sent Events, or over a WebSocket to the same URL (subprotocol graphql-transport-ws).');
    }
    expect(harness.upstream.requests.length).toBe(before);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 3, pollers: 1, unread: 0 });
  });
});

describeEachLane('a watch whose source fails mid-stream', (lane) => {
  let harness: Harness;
  // A plugin whose subscribe yields nothing and then throws, as a broken source would.
  const failingSource: Plugin = {
    onSubscribe({ args, setSubscribeFn }) {
      if (!(args.contextValue as { request?: Request }).request?.headers.get('x-test-source-fails')) return;
      setSubscribeFn(async function* (): AsyncGenerator<never> {
        await Promise.resolve();
        throw new Error('source broke: secret hunter2');
      });
    },
  };
  beforeAll(async () => {
    harness = await Harness.start({ lane, plugins: [failingSource] });
  });
  afterAll(() => harness.close());

  it('is masked for the client and logged once, with its request id, not only by Yoga tied to no request', async () => {
    const from = harness.logs.length;
    const answer = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH, 'x-test-source-fails': '1' },
      body: JSON.stringify({ query: WATCH, variables: { id: 'ex_demo_1' } }),
    });
    const stream = await answer.text();
    expect(stream).toContain('Unexpected error.');
    expect(stream).not.toContain('hunter2');
    const requestId = answer.headers.get('x-request-id');
    const lines = harness.logs.slice(from).filter((line) => JSON.stringify(line).includes('hunter2'));
    const ours = lines.filter((line) => line.component !== 'yoga');
    expect(ours, JSON.stringify(lines)).toHaveLength(1);
    expect(ours[0]).toMatchObject({ requestId, msg: 'operation failed unexpectedly; the client got "Unexpected error."' });
    // Yoga's logger skips what the gateway logged: no second line for the same error.
    expect(lines).toHaveLength(1);
    // The stream's access line names the error it ended with, though no update carried it.
    await waitFor(() => harness.logs.some((line) => line.component === 'access' && line.requestId === requestId), 'the access line');
    expect(harness.logs.find((line) => line.component === 'access' && line.requestId === requestId)).toMatchObject({ msg: 'subscription ended', errorCodes: ['INTERNAL_SERVER_ERROR'] });
  });
});

describeEachLane('a watch whose poll breaks (a bug of the gateway\'s, not a failure of upstream\'s)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startLiveHarness(lane);
  });
  afterAll(() => harness.close());

  it('ends at once with INTERNAL_SERVER_ERROR, logged with its request id, and stops polling: no outage notice blaming upstream', async () => {
    // A poll that throws what no upstream failure is; this harness's own client only, so the other lane's runs on.
    const broken = vi.spyOn(harness.instance.client, 'getExecution').mockImplementationOnce(() => {
      throw new TypeError('poll broke: secret hunter3');
    });
    try {
      const from = harness.logs.length;
      const answer = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
        body: JSON.stringify({ query: WATCH, variables: { id: 'ex_demo_live' } }),
      });
      const stream = await answer.text();
      expect(stream).toContain('"code":"INTERNAL_SERVER_ERROR"');
      expect(stream).not.toContain('UPSTREAM_UNAVAILABLE');
      expect(stream).not.toContain('hunter3');
      expect(stream).toMatch(/event: complete/);
      expect(broken).toHaveBeenCalledTimes(1);
      const requestId = answer.headers.get('x-request-id');
      const lines = harness.logs.slice(from).filter((line) => JSON.stringify(line).includes('hunter3'));
      expect(lines).toEqual([expect.objectContaining({ level: 50, requestId, msg: 'operation failed unexpectedly; the client got "Unexpected error."' })]);
      await allStopped(harness);
      expect(harness.upstream.requestsFor('ex_demo_live')).toHaveLength(0);
    } finally {
      broken.mockRestore();
    }
  });
});

describeEachLane('a watch while the gateway\'s own circuit is open', (lane) => {
  const HALF_OPEN_MS = 1_500;
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness(lane, {
      // A backoff long enough that a poller counting the circuit's refusals would still be waiting well after the probe time.
      LIVE_POLL_MAX_BACKOFF_MS: '30000',
      ...CIRCUIT_OF_THREE,
      UPSTREAM_BREAKER_HALF_OPEN_MS: String(HALF_OPEN_MS),
    });
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  it('gets its update about the half-open time after the circuit opened, not after a backoff doubled by refusals', async () => {
    const { upstream } = harness;
    const id = 'ex_circuit_watch';
    putExecution(upstream, id, 'workflow_running');
    const watcher = new Recorder(clients.for(harness), { id });
    await watcher.received(1);
    // The query that opens the circuit, served once first: compiling it, on a busy machine, held the event
    // loop long enough for the poller to fail once more, or to reach upstream as the circuit opened.
    const QUERY = 'query($id: ID!) { execution(id: $id) { id } }';
    await harness.query(QUERY, { id });
    // Four real failures first: the poller's backoff is 400 ms, and doubling on.
    const failing = [id, 'ex_circuit_2', 'ex_circuit_3'];
    for (const each of failing) upstream.setFault(each, { kind: 'status', status: 500 });
    const before = upstream.requestsFor(id).length;
    await waitFor(() => upstream.requestsFor(id).length >= before + 4, 'four failed polls');
    // Two more ids fail too, at once (a shorter opening leaves the poller fewer failures of its own): the circuit opens.
    await Promise.all(failing.slice(1).map((each) => harness.query(QUERY, { id: each })));
    const openedLine = () => harness.logs.find((line) => line.msg === 'upstream circuit opened: failing fast');
    await waitFor(() => openedLine() !== undefined, 'the circuit to open');
    // When the gateway opened it, as it logged it, on the clock the fake upstream stamps requests with
    // (both in this process): what follows is timed by the gateway's and upstream's own events, not by when
    // this test noticed them or the update crossed the stream. performance.timeOrigin was 150 ms off in a
    // test worker; the offset taken now is not, but the wall clock may still drift from the monotonic one.
    const opened = Number(openedLine()!.time) - (Date.now() - performance.now());
    // How far apart the two clocks may drift over this test (seen: 7 ms).
    const CLOCKS_MS = 25;
    // Upstream recovers at once, and the execution has moved on.
    for (const each of failing) upstream.setFault(each, undefined);
    advance(upstream, id, 'workflow_succeeded', 1);
    // The circuit's refusals as they happen: the poller's are the only calls it refuses here.
    const refusals: Array<[at: number, count: number]> = [];
    await waitFor(() => {
      refusals.push([performance.now(), harness.instance.client.refusals.circuit_open]);
      return watcher.updates.some((update) => update.execution.status === 'WORKFLOW_SUCCEEDED');
    }, () => `the update after recovery; so far ${watcher.describe()}`);
    const polls = upstream.requestsFor(id).slice(before).map((request) => request.at);
    // The open circuit lets no call through before the half-open time: the poller's real polls are those
    // before it, one of them (admitted before the opening, on a busy machine) reaching upstream just after.
    const failed = polls.filter((at) => at < opened + HALF_OPEN_MS - CLOCKS_MS);
    const probe = polls.find((at) => at >= opened + HALF_OPEN_MS - CLOCKS_MS)!;
    const k = failed.length;
    // The pause the poller's last real failure earned (no jitter in these suites), and when it ends.
    const cadence = { pollPaymentMs: PAYMENT_POLL_MS, pollWaitingMs: POLL_MS, pollActiveMs: POLL_MS, pollJitter: 0, pollMaxBackoffMs: 30_000 };
    const due = Math.max(opened + HALF_OPEN_MS, failed.at(-1)! + nextPollDelay('WORKFLOW_RUNNING', k, cadence));
    const timeline = `opened at 0, failed polls at ${failed.map((at) => Math.round(at - opened)).join(', ')} ms, probe at ${Math.round(probe - opened)} ms, due at ${Math.round(due - opened)} ms`;
    expect(k, timeline).toBeGreaterThanOrEqual(4);
    expect(failed.filter((at) => at > opened).length, timeline).toBeLessThanOrEqual(1);
    // Refused once at most before the half-open time (when its pause ended first), then it waits for the
    // probe time. Before: each refusal doubled the pause, and with four failures a second refusal came
    // 800 ms after the first, well before the probe time (sampled 100 ms before it: a timer may fire
    // early by the time its loop turn took, and a poller woken early is refused once more, harmlessly).
    const refusedBeforeProbe = refusals.filter(([at]) => at < opened + HALF_OPEN_MS - 100).at(-1)?.[1] ?? 0;
    expect(refusedBeforeProbe, timeline).toBeLessThanOrEqual(1);
    // Before: the probe came after the doubled pauses (about 2.8 s after opening). When a poller that counted
    // each refusal as a failure would have probed, from this run's own failures:
    let doubled = failed.at(-1)! + nextPollDelay('WORKFLOW_RUNNING', k, cadence);
    for (let failures = k + 1; doubled < opened + HALF_OPEN_MS; failures++) doubled += nextPollDelay('WORKFLOW_RUNNING', failures, cadence);
    // The poller's timer may be late on a busy machine, by less than that, and than one more doubled pause.
    const next = nextPollDelay('WORKFLOW_RUNNING', k + 1, cadence);
    expect(probe - due, `${timeline}, doubled at ${Math.round(doubled - opened)} ms`).toBeLessThan(doubled > due ? Math.min(next, doubled - due) : next);
  });
});

describeEachLane('a watcher that reads slowly', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startLiveHarness(lane, { UPSTREAM_MAX_ATTEMPTS: '1' });
  });
  afterAll(() => harness.close());

  it('gets a notice newer than a recovery it has not read yet after that recovery, so it ends showing the outage', async () => {
    const id = `ex_slow_${lane}`;
    putExecution(harness.upstream, id, 'workflow_running');
    // The watch itself, read step by step: a consumer that reads only when told to.
    const steps = harness.instance.live.watch({ caller: callerOf(AUTH), onClientGone: () => () => undefined }, { id })[Symbol.asyncIterator]();
    try {
      expect((await steps.next()).value).toMatchObject({ kind: 'update' });
      // Nothing read from here on: an outage long enough for its notice, then upstream answers unchanged
      // (the recovery), then asks for a pause longer than the notice time (a new notice at once).
      harness.upstream.setFault(id, { kind: 'status', status: 500 });
      const failing = harness.upstream.requestsFor(id).length;
      await waitFor(() => harness.upstream.requestsFor(id).length >= failing + 3, 'failing polls');
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_NOTICE_MS * 3));
      harness.upstream.reset();
      const healed = harness.upstream.requestsFor(id).length;
      await waitFor(() => harness.upstream.requestsFor(id).length > healed, 'the recovering poll');
      await new Promise((resolve) => setTimeout(resolve, 50));
      harness.upstream.setFault(id, { kind: 'status', status: 429, headers: { 'retry-after': '5' } });
      const limited = harness.upstream.requestsFor(id).length;
      await waitFor(() => harness.upstream.requestsFor(id).length > limited, 'the rate-limited poll');
      await new Promise((resolve) => setTimeout(resolve, 50));
      // Read now: the recovery, then the newer notice, so a page ends showing the outage.
      const kinds = [(await steps.next()).value, (await steps.next()).value].map((step: { kind: string }) => step.kind);
      expect(kinds).toEqual(['update', 'outage']);
    } finally {
      await steps.return?.();
    }
  });
});

describeEachLane('an event upstream inserts before events it already listed', (lane) => {
  let harness: Harness;
  const clients = new Clients('sse');
  beforeAll(async () => {
    harness = await startLiveHarness(lane);
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  type EventsPage = { execution: { events: { nodes: Array<{ id: string }>; pageInfo: { endCursor: string } } } };
  /** The first three events as a query serves them (upstream's order), with the cursor after them. */
  const firstThree = (id: string) =>
    harness.query<EventsPage>('query ($id: ID!) { execution(id: $id) { events(first: 3) { nodes { id } pageInfo { endCursor } } } }', { id });
  /** Upstream's list once `events` is in: the execution updated, or finished with `last` appended after `events`. */
  const relist = (record: StoredExecution, events: UpstreamEvent[], last?: UpstreamEvent) =>
    harness.upstream.put(
      last
        ? { execution: { ...record.execution, status: 'workflow_succeeded', updatedAt: '2026-03-01T13:01:00.000Z' }, events: [...events, last] }
        : { execution: { ...record.execution, updatedAt: '2026-03-01T13:00:00.000Z' }, events },
    );
  const after = (event: UpstreamEvent, id: string) => ({ ...event, id, createdAt: new Date(Date.parse(event.createdAt) + 1).toISOString() });

  it('comes once, as new, and no event already listed comes again', async () => {
    // Upstream lists events in createdAt order (openapi.yaml): one that reaches it late lands before later ones.
    const id = `ex_inserted_${lane}`;
    const record = putExecution(harness.upstream, id, 'workflow_running', { eventCount: 3 });
    const watcher = new Recorder(clients.for(harness), { id });
    await watcher.received(1);
    const [e1, e2, e3] = record.events as [UpstreamEvent, UpstreamEvent, UpstreamEvent];
    const late = after(e2, 'ev_late');
    relist(record, [e1, e2, late, e3]);
    await watcher.until((update) => update.newEvents.length > 0, 'the inserted event');
    // Then one appended at the end, and the execution ends: each new event exactly once.
    relist(record, [e1, e2, late, e3], after(e3, 'ev_last'));
    await watcher.end();
    expect(watcher.failure).toBeUndefined();
    expect(watcher.eventIds).toEqual(['ev_late', 'ev_last']);
  });

  // The poller's list is [e1, e2, e3, late], the query's [e1, e2, late, e3]: resumed after `late` in its own
  // list, the watch never sent e3. It now starts where the two orders part, so `late` comes again too.
  it('resumed from a query cursor past it, still gets the events that follow in upstream order, and again those from where the orders part', async () => {
    const id = `ex_resume_inserted_${lane}`;
    const record = putExecution(harness.upstream, id, 'workflow_running', { eventCount: 3 });
    const first = new Recorder(clients.for(harness), { id });
    await first.received(1);
    const [e1, e2, e3] = record.events as [UpstreamEvent, UpstreamEvent, UpstreamEvent];
    // Same createdAt as e2 and e3: upstream lists it between them.
    const late = { ...e2, id: 'ev_late' };
    relist(record, [e1, e2, late, e3]);
    await first.until((update) => update.newEvents.length > 0, 'the inserted event');
    // A client reads the history with a query (upstream's order), then watches from where it stopped.
    const page = await firstThree(id);
    expect(page.data?.execution.events.nodes.map((node) => node.id)).toEqual([e1.id, e2.id, 'ev_late']);
    const second = new Recorder(clients.for(harness), { id, after: page.data!.execution.events.pageInfo.endCursor });
    await second.received(1);
    relist(record, [e1, e2, late, e3], after(e3, 'ev_last'));
    await second.end();
    expect(second.failure).toBeUndefined();
    expect(second.eventIds).toEqual([e3.id, 'ev_late', 'ev_last']);
  });

  // An event without an id is named by its place (`#<position>`): the query's `#2` is upstream's third
  // event, while the watch's list holds another, id'd, event there. The cursor was refused (BAD_USER_INPUT).
  it('resumed from a query cursor of an event without an id past it, starts where the two orders part instead of refusing the cursor', async () => {
    const id = `ex_resume_idless_${lane}`;
    const record = putExecution(harness.upstream, id, 'workflow_running', { eventCount: 3 });
    const [e1, e2, e3] = record.events as [UpstreamEvent, UpstreamEvent, UpstreamEvent];
    const { id: _dropped, ...bare } = e2;
    const nameless = bare as unknown as UpstreamEvent;
    harness.upstream.put({ execution: record.execution, events: [e1, nameless, e3] });
    const first = new Recorder(clients.for(harness), { id });
    await first.received(1);
    const late = { ...e1, id: 'ev_late' };
    relist(record, [e1, late, nameless, e3]);
    await first.until((update) => update.newEvents.length > 0, 'the inserted event');
    const page = await firstThree(id);
    expect(page.data?.execution.events.nodes.map((node) => node.id)).toEqual([e1.id, 'ev_late', '#2']);
    const second = new Recorder(clients.for(harness), { id, after: page.data!.execution.events.pageInfo.endCursor });
    await second.received(1);
    // Past MAX_RESUME_MISSES readings: the refusal came then.
    await sleep(20 * POLL_MS);
    relist(record, [e1, late, nameless, e3], after(e3, 'ev_last'));
    await second.end();
    expect(second.errorCodes).toEqual([]);
    expect(second.failure).toBeUndefined();
    expect(second.eventIds).toEqual(expect.arrayContaining([e3.id, 'ev_last']));
  });
});

describeEachLane('an eventsAfter that is no cursor', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startLiveHarness(lane);
  });
  afterAll(() => harness.close());

  // The message named only the connection's fields (edges.cursor, pageInfo.*), which a watch has
  // none of: a client resuming a watch was not told that an update's `cursor` is what it takes.
  it('is refused with a message naming where a watch gets its cursors', async () => {
    putExecution(harness.upstream, 'ex_bad_resume', 'workflow_running');
    const answer = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
      body: JSON.stringify({ query: WATCH, variables: { id: 'ex_bad_resume', after: 'not-a-cursor' } }),
    });
    const text = await answer.text();
    const result = JSON.parse(text.split('\n').find((line) => line.startsWith('data: {'))!.slice('data: '.length)) as {
      errors: Array<{ message: string; extensions: { code: string } }>;
      extensions?: Record<string, unknown>;
    };
    expect(result.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
    // A watch's refusal is its error alone, as one refused once upstream answered (test/live-refusals.test.ts): no
    // cost, which a subscription never reports (its calls are its shared poller's), where this one said 0 calls.
    expect(Object.keys(result)).toEqual(['errors']);
    expect(result.errors[0]!.message).toBe(
      'Argument `eventsAfter` is not a valid events cursor. Pass, unchanged, the `cursor` of an update or of one of its `newEvents`, or a cursor of this execution\'s `events` (edges.cursor, pageInfo.startCursor or pageInfo.endCursor).',
    );
  });
});
