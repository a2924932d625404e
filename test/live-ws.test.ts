/**
 * Live executions over WebSocket (graphql-ws, `graphql-transport-ws`), with
 * the official graphql-ws client and with Apollo Client's GraphQLWsLink, on
 * each lane: the behaviour suite every transport owes
 * (test/support/live.ts), and what is particular to a WebSocket — many
 * operations on one connection, each ended by `complete` or all by the socket
 * closing, and a bound per connection.
 */
import { ApolloClient, gql, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import type { Socket } from 'node:net';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness } from './support/harness.js';
import {
  allStopped,
  AUTH_A,
  Clients,
  describeEachLane,
  describeLiveBehaviour,
  driveThroughSteps,
  expectPollingStopsAfter,
  liveEnv,
  PAYMENT_POLL_MS,
  putExecution,
  Recorder,
  sleep,
  startLiveHarness,
  STEP_STATUSES,
  STEPS,
  TOKENS,
  type SubscribingClient,
  waitFor,
  WATCH,
  type WatchResult,
  wsClient,
} from './support/live.js';

describeLiveBehaviour('ws');

/** Apollo Client over GraphQLWsLink, seen through the recorder's client interface. */
function apolloClient(link: GraphQLWsLink): SubscribingClient {
  const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
  return {
    subscribe(payload, sink) {
      const subscription = apollo
        .subscribe<WatchResult['data']>({ query: gql(payload.query), variables: payload.variables ?? {}, fetchPolicy: 'no-cache' })
        .subscribe({
          next: (result) => sink.next({ data: result.data ?? null, ...(result.error ? { errors: [new GraphQLError(result.error.message)] } : {}) }),
          error: (error: unknown) => sink.error(error),
          complete: () => sink.complete(),
        });
      return () => subscription.unsubscribe();
    },
    dispose: () => apollo.stop(),
  };
}

describeEachLane('WebSocket connections', (lane) => {
  let harness: Harness;
  const clients = new Clients('ws');
  beforeAll(async () => {
    harness = await startLiveHarness(lane);
  });
  afterEach(() => clients.disposeAll());
  afterAll(() => harness.close());

  /** A graphql-ws client whose socket, once open, is handed to the test. */
  function withSocket(): { client: SubscribingClient; socket: () => WebSocket } {
    let socket: WebSocket | undefined;
    const client = clients.track(wsClient(harness, undefined, { connected: (opened) => (socket = opened as WebSocket) }));
    return {
      client,
      socket: () => {
        if (!socket) throw new Error('the WebSocket is not open');
        return socket;
      },
    };
  }

  it.each([
    // graphql-ws's client closes with 1000 when disposed; a bare close(1000) under live subscriptions would make it reconnect and subscribe again.
    ['closing', (client: SubscribingClient) => client.dispose()],
    ['dropping', (_client: SubscribingClient, socket: WebSocket) => socket.terminate()],
  ] as const)('%s the socket stops the polling of every watch it carried', async (way, end) => {
    const ids = [`ex_socket_${way}_1`, `ex_socket_${way}_2`];
    for (const id of ids) putExecution(harness.upstream, id, 'awaiting_payment');
    const { client, socket } = withSocket();
    const watchers = ids.map((id) => new Recorder(client, { id }));
    await waitFor(() => watchers.every((watcher) => watcher.updates.length >= 1), 'the first update of both watches');
    expect(harness.instance.live.counts).toEqual({ subscriptions: 2, pollers: 2, unread: 0 });
    await expectPollingStopsAfter(harness, ids, () => end(client, socket()));
  });

  it('`complete` of one subscription stops its polling; another on the same socket goes on', async () => {
    putExecution(harness.upstream, 'ex_leaving', 'awaiting_payment');
    putExecution(harness.upstream, 'ex_staying', 'awaiting_payment');
    const { client } = withSocket();
    const leaving = new Recorder(client, { id: 'ex_leaving' });
    const staying = new Recorder(client, { id: 'ex_staying' });
    await waitFor(() => leaving.updates.length >= 1 && staying.updates.length >= 1, 'the first update of both watches');
    await expectPollingStopsAfter(harness, ['ex_leaving'], () => leaving.stop(), { goingOn: ['ex_staying'], remaining: { subscriptions: 1, pollers: 1 } });
    // The other watch on the socket is still served.
    expect(staying.ended).toBe(false);
    expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1, unread: 0 });
    staying.stop();
    await allStopped(harness);
  });

  describe('an id used again right after the client completed it (only an active id is a duplicate)', () => {
    /**
     * A raw connection that watches `id` under the operation id `a`, completes
     * it and at once subscribes `a` again (as a client numbering its
     * operations may); resolves with the socket and every message once the
     * second watch's first update arrived.
     */
    async function watchedTwiceUnderOneId(id: string): Promise<{ socket: WebSocket; messages: Array<{ type: string; id?: string }> }> {
      const socket = new WebSocket(harness.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      const messages: Array<{ type: string; id?: string }> = [];
      socket.on('message', (data) => messages.push(JSON.parse(String(data))));
      await new Promise((resolve) => socket.once('open', resolve));
      const subscribe = JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: WATCH, variables: { id } } });
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
      await waitFor(() => messages.some((message) => message.type === 'connection_ack'), 'connection_ack');
      socket.send(subscribe);
      await waitFor(() => messages.some((message) => message.type === 'next'), 'the first watch\'s update');
      socket.send(JSON.stringify({ id: 'a', type: 'complete' }));
      socket.send(subscribe);
      await waitFor(() => messages.filter((message) => message.type === 'next').length >= 2, 'the second watch\'s update');
      return { socket, messages };
    }

    it.each([
      ['its `complete`', (socket: WebSocket) => socket.send(JSON.stringify({ id: 'a', type: 'complete' }))],
      ['closing the socket', (socket: WebSocket) => socket.terminate()],
    ] as const)('names the new watch alone: no `complete` for it while it runs, and %s stops its polling', async (way, leave) => {
      const id = `ex_reused_${way.includes('close') ? 'close' : 'complete'}`;
      putExecution(harness.upstream, id, 'awaiting_payment');
      const { socket, messages } = await watchedTwiceUnderOneId(id);
      try {
        // graphql-ws sent the first watch's end under the id once the second had taken it: the client took it for the second's end.
        await sleep(PAYMENT_POLL_MS);
        expect(messages.filter((message) => message.type === 'complete')).toEqual([]);
        expect(messages.filter((message) => message.type === 'error')).toEqual([]);
        expect(harness.instance.live.counts).toEqual({ subscriptions: 1, pollers: 1, unread: 0 });
        // ...and forgot the id, so neither the client's `complete` nor the socket's end reached the second watch: it polled on for good.
        await expectPollingStopsAfter(harness, [id], () => leave(socket));
      } finally {
        socket.terminate();
      }
    });
  });

  it('LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION refuses the next watch on that socket until one ends', async () => {
    const own = await startLiveHarness(lane, { LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    try {
      putExecution(own.upstream, 'ex_conn', 'workflow_running');
      const socket = clients.track(wsClient(own));
      const held = [new Recorder(socket, { id: 'ex_conn' }), new Recorder(socket, { id: 'ex_demo_4' })];
      await waitFor(() => held.every((watcher) => watcher.updates.length >= 1), 'two watches');
      // Refused before it ran, by the edge (no field's path): graphql-ws's `error` message, not a `next` (README "Live executions").
      const refused = new Recorder(socket, { id: 'ex_demo_5' });
      await refused.end();
      expect(refused.results).toEqual([]);
      expect((refused.failure as Array<{ path?: unknown; extensions?: { code?: unknown } }>).map((error) => [error.path, error.extensions?.code])).toEqual([[undefined, 'TOO_MANY_SUBSCRIPTIONS']]);
      expect(own.upstream.requestsFor('ex_demo_5')).toHaveLength(0);
      // The same caller on another connection is not bound by this one.
      const elsewhere = new Recorder(clients.track(wsClient(own)), { id: 'ex_demo_5' });
      await elsewhere.received(1);
      expect(elsewhere.updates).toHaveLength(1);
      // Its slot is free as soon as the `complete` arrives: the next watch, sent right behind it, is served.
      held[0]!.stop();
      const again = new Recorder(socket, { id: 'ex_conn' });
      await again.received(1);
      expect(again.updates).toHaveLength(1);
    } finally {
      await clients.disposeAll();
      await own.close();
    }
  });

  it('LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION bounds every operation running on a socket, queries too', async () => {
    // graphql-ws runs each `subscribe` at once: unbounded, one socket behind a client that stops reading could hold any number of results.
    const own = await startLiveHarness(lane, { LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
    // The last result, or the errors of graphql-ws's `error` message (`refused`), which answers an operation refused before it ran.
    type Answer = { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[]; refused?: boolean };
    const query = (client: SubscribingClient, id: string) =>
      new Promise<Answer>((resolve, reject) => {
        let last: Answer = {};
        client.subscribe({ query: 'query ($id: ID!) { execution(id: $id) { id } }', variables: { id } }, {
          next: (result) => (last = result as typeof last),
          error: (error) => (Array.isArray(error) ? resolve({ errors: error, refused: true }) : reject(error)),
          complete: () => resolve(last),
        });
      });
    try {
      // Held 5 s, not 1.5: the third query and its refusal must come while both run, and a loaded machine can take
      // past 1.5 s between the second reaching upstream and the refusal (the attempt deadline is 10 s).
      for (const id of ['ex_demo_1', 'ex_demo_2']) own.upstream.setFault(id, { kind: 'slow', ms: 5_000 });
      const socket = clients.track(wsClient(own));
      const held = [query(socket, 'ex_demo_1'), query(socket, 'ex_demo_2')];
      await waitFor(() => own.upstream.requestsFor('ex_demo_1').length === 1 && own.upstream.requestsFor('ex_demo_2').length === 1, 'both slow queries upstream');
      const refused = await query(socket, 'ex_demo_3');
      expect(refused.refused).toBe(true);
      expect(refused.data).toBeUndefined();
      expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
      expect(own.upstream.requestsFor('ex_demo_3')).toHaveLength(0);
      // Another connection is not bound by this one.
      expect(await query(clients.track(wsClient(own)), 'ex_demo_4')).toMatchObject({ data: { execution: { id: 'ex_demo_4' } } });
      for (const answer of await Promise.all(held)) expect(answer.errors).toBeUndefined();
      expect(await query(socket, 'ex_demo_3')).toMatchObject({ data: { execution: { id: 'ex_demo_3' } } });
    } finally {
      await clients.disposeAll();
      await own.close();
    }
  });

  describe('LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION counts only operations the client has not completed', () => {
    const BOUND = 5;
    /** Queries named Held wait in their pipeline (onParams) until `open()`: the test decides when they leave it. */
    const held = { entered: 0, left: 0, open: () => undefined as void };
    let gate = Promise.resolve();
    const holding: Plugin = {
      onParams: async ({ params }) => {
        if (params.operationName !== 'Held') return;
        held.entered++;
        await gate;
        held.left++;
      },
    };
    let own: Harness;
    beforeAll(async () => {
      own = await Harness.start({ lane, env: liveEnv({ LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(BOUND) }), upstream: { tokens: TOKENS }, plugins: [holding] });
    });
    afterAll(() => own.close());

    type ErrorShape = { extensions?: { code?: unknown } };
    type Message = { type: string; id?: string; payload?: { data?: unknown; errors?: ErrorShape[] } | ErrorShape[] };
    /** A raw acknowledged connection, with every message it received; closed after the case. */
    async function connection(): Promise<{ socket: WebSocket; messages: Message[] }> {
      const socket = new WebSocket(own.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      sockets.push(socket);
      const messages: Message[] = [];
      socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
      await new Promise((resolve) => socket.once('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: AUTH } }));
      await waitFor(() => messages.some((message) => message.type === 'connection_ack'), 'connection_ack');
      return { socket, messages };
    }
    const sockets: WebSocket[] = [];
    afterEach(() => {
      for (const socket of sockets.splice(0)) socket.terminate();
    });

    /**
     * Sends `messages` in one write, so that the gateway reads them at once: graphql-ws then takes in each
     * `complete` before it has set up the operation the `subscribe` ahead of it started.
     */
    function sendInOneWrite(socket: WebSocket, messages: readonly object[]): void {
      // ws sends each message with a write of its own; a corked socket joins them (ws keeps its net.Socket private).
      const raw = (socket as unknown as { _socket: Socket })._socket;
      raw.cork();
      for (const message of messages) socket.send(JSON.stringify(message));
      raw.uncork();
    }
    const subscribe = (id: string, query: string, variables?: Record<string, unknown>) => ({ id, type: 'subscribe', payload: { query, variables, operationName: /^\w+ (\w+)/.exec(query)?.[1] } });
    const watch = (id: string, execution: string) => subscribe(id, WATCH, { id: execution });
    // A `next`'s errors, or an `error` message's (an operation refused before it ran, the connection's bound among them).
    const errorsOf = ({ payload }: Message): ErrorShape[] => (Array.isArray(payload) ? payload : (payload?.errors ?? []));
    const codesOf = (messages: Message[], id: string) => messages.filter((message) => message.id === id).flatMap((message) => errorsOf(message).map((error) => error.extensions?.code));
    const updatesOf = (messages: Message[], id: string) => messages.filter((message) => message.id === id && message.type === 'next' && !Array.isArray(message.payload) && message.payload?.data);

    it('a subscribe completed before it was set up takes no slot, and nothing is sent for it', async () => {
      putExecution(own.upstream, 'ex_kept_watch', 'awaiting_payment');
      const { socket, messages } = await connection();
      const toggled = Array.from({ length: BOUND + 1 }, (_, index) => `toggled_${index + 1}`);
      // One operation running at most: each of the first BOUND + 1 is completed right behind its subscribe.
      sendInOneWrite(socket, [...toggled.flatMap((id) => [watch(id, 'ex_kept_watch'), { id, type: 'complete' }]), watch('kept', 'ex_kept_watch')]);
      await waitFor(() => updatesOf(messages, 'kept').length >= 1 || codesOf(messages, 'kept').length > 0, 'the kept watch\'s first answer');
      // Counted from graphql-ws's call to start them, the completed ones held every slot: the kept watch was TOO_MANY_SUBSCRIPTIONS.
      expect(codesOf(messages, 'kept')).toEqual([]);
      expect(updatesOf(messages, 'kept')).toHaveLength(1);
      // The bound still holds the rest: BOUND - 1 more run beside the kept one, and the one past them is refused.
      const more = Array.from({ length: BOUND }, (_, index) => `more_${index + 1}`);
      sendInOneWrite(socket, more.map((id) => watch(id, 'ex_kept_watch')));
      await waitFor(() => more.slice(0, -1).every((id) => updatesOf(messages, id).length >= 1) && codesOf(messages, more.at(-1)!).length > 0, 'the answers of the further watches');
      expect(more.map((id) => codesOf(messages, id))).toEqual([...more.slice(0, -1).map(() => []), ['TOO_MANY_SUBSCRIPTIONS']]);
      // Nothing for an id the client completed, whose end it has already seen (its own `complete`).
      await sleep(PAYMENT_POLL_MS);
      expect(messages.filter((message) => toggled.includes(message.id ?? ''))).toEqual([]);
    });

    it('an operation the client completed while the pipeline ran it gives its slot back at once, and nothing is sent for it once it leaves the pipeline', async () => {
      gate = new Promise<void>((resolve) => (held.open = resolve));
      held.entered = held.left = 0;
      const { socket, messages } = await connection();
      const completed = Array.from({ length: BOUND }, (_, index) => `held_${index + 1}`);
      for (const id of completed) socket.send(JSON.stringify(subscribe(id, 'query Held { __typename }')));
      await waitFor(() => held.entered === BOUND, 'every held query in the pipeline');
      // Every slot is taken by an operation still in the pipeline: the client completes them all, then asks for one more.
      for (const id of completed) socket.send(JSON.stringify({ id, type: 'complete' }));
      socket.send(JSON.stringify(subscribe('after', '{ __typename }')));
      await waitFor(() => messages.some((message) => message.id === 'after' && message.type === 'complete'), 'the answer to the operation sent after the completes');
      expect(messages.filter((message) => message.id === 'after').map((message) => message.payload ?? message.type)).toEqual([expect.objectContaining({ data: { __typename: 'Query' } }), 'complete']);
      expect(held.left).toBe(0);
      held.open();
      await waitFor(() => held.left === BOUND, 'every held query out of its hook');
      await sleep(PAYMENT_POLL_MS);
      expect(messages.filter((message) => completed.includes(message.id ?? ''))).toEqual([]);
    });
  });

  describe('Apollo Client over GraphQLWsLink', () => {
    it('sees the one final update of a terminal execution, then complete', async () => {
      const apollo = clients.track(apolloClient(new GraphQLWsLink(clients.track(wsClient(harness)))));
      const watcher = new Recorder(apollo, { id: 'ex_demo_6' });
      await watcher.end();
      expect(watcher.failure).toBeUndefined();
      expect(watcher.completed).toBe(true);
      expect(watcher.results).toHaveLength(1);
      expect(watcher.updates[0]).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { id: 'ex_demo_6', status: 'WORKFLOW_SUCCEEDED' } });
      await allStopped(harness);
    });

    it('sees every update of an advancing execution, then complete', async () => {
      putExecution(harness.upstream, 'ex_apollo', 'workflow_queued', { organizationId: 'org_a' });
      const apollo = clients.track(apolloClient(new GraphQLWsLink(clients.track(wsClient(harness, AUTH_A)))));
      const watcher = new Recorder(apollo, { id: 'ex_apollo' });
      const appended = await driveThroughSteps(harness.upstream, 'ex_apollo', [watcher]);
      await watcher.end();
      expect(watcher.failure).toBeUndefined();
      expect(watcher.completed).toBe(true);
      expect(watcher.statuses).toEqual(STEP_STATUSES);
      expect(watcher.updates).toHaveLength(1 + STEPS.length);
      expect(watcher.eventIds).toEqual(appended);
      expect(watcher.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
      await allStopped(harness);
    });
  });
});
