/**
 * A frontend watching running executions while upstream misbehaves mid-watch (README "Live executions"):
 * a scripted upstream (a bare HTTP server on loopback) answers each poll as the test says, over Server-Sent
 * Events and over WebSocket with the official clients, and over both with the typed client's `watchExecution`.
 */
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { watchExecution, WatchError, type ExecutionUpdate, type OutageNotice } from '../src/client/index.js';
import { captureLog, type CapturedLog } from './support/captured-log.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';
import { event, json, reading, Script, status, type Answer } from './support/live12-script.js';
import { liveEnv, Recorder, sleep, waitFor, WATCH, type SubscribingClient } from './support/live.js';

let gateway: BehindScripted | undefined;
let log: CapturedLog | undefined;
const made: SubscribingClient[] = [];

afterEach(async () => {
  await Promise.all(made.splice(0).map((client) => client.dispose()));
  await gateway?.close();
  gateway = undefined;
  // No token and no stack trace in any line, whatever upstream did.
  const raw = log?.raw() ?? '';
  expect(raw).not.toMatch(/token-[ab]/);
  expect(raw).not.toMatch(/"stack"|\n\s+at /);
  expect(log?.lines.filter((line) => line.level >= 50) ?? []).toEqual([]);
  log = undefined;
});

async function start(script: Script, env: Record<string, string> = {}): Promise<BehindScripted> {
  log = captureLog();
  gateway = await gatewayBehindScripted(script.listener, liveEnv({ UPSTREAM_REFUSED_TOKEN_MS: '0', ...env }), log.logger);
  return gateway;
}

function client(transport: 'sse' | 'ws', url: string, authorization: string): SubscribingClient {
  const made_ =
    transport === 'sse'
      ? (createSseClient({ url, headers: { authorization }, retryAttempts: 0 }) as unknown as SubscribingClient)
      : (createWsClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0, shouldRetry: () => false }) as unknown as SubscribingClient);
  made.push(made_);
  return made_;
}

const live = () => gateway!.instance.live.counts;

describe.each(['sse', 'ws'] as const)('live12 over %s', (transport) => {
  it('an outage of 5xx mid-watch: a notice, then an update without errors once upstream answers again, then the end', async () => {
    const script = new Script();
    const id = 'ex_5xx';
    script.then(id, reading(id, 'workflow_running', 2));
    script.steady(id, status(503));
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.received(1);
    await waitFor(() => watcher.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${watcher.describe()}`);
    script.steady(id, reading(id, 'workflow_running', 3));
    await watcher.until((update) => update.newEvents.length === 1, 'the recovery');
    script.steady(id, reading(id, 'workflow_succeeded', 4));
    await watcher.end();
    expect(watcher.completed, watcher.describe()).toBe(true);
    const shapes = watcher.results.map((result) => (result.errors ? `error:${String(result.errors[0]!.extensions?.code)}:${JSON.stringify(result.data)}` : `update:${result.data!.executionUpdates.newEvents.map((edge) => edge.node.id).join(',')}`));
    expect(shapes).toEqual(['update:', 'error:UPSTREAM_UNAVAILABLE:null', 'update:evt_3', 'update:evt_4']);
    expect(watcher.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
    const calls = script.calls(id);
    await sleep(200);
    expect(script.calls(id)).toBe(calls);
  });

  it('a 429 with Retry-After mid-watch: no poll before it has passed', async () => {
    const script = new Script();
    const id = 'ex_429';
    script.then(id, reading(id, 'workflow_running', 1), status(429, { 'retry-after': '3' }));
    script.steady(id, reading(id, 'workflow_running', 2));
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.until((update) => update.newEvents.length === 1, 'the event after the pause', 15_000);
    const seen = script.seen.get(id)!;
    expect(seen.length).toBeGreaterThanOrEqual(3);
    // Past UPSTREAM_RETRY_AFTER_CAP_MS (2 s) the call is not retried: the poller waits the pause out.
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(2_900);
    // The pause runs past the outage notice time: the notice came at once, with the time until the next poll.
    const notice = watcher.results.find((result) => result.errors);
    expect(notice?.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', upstreamStatus: 429 });
    watcher.stop();
  });

  it('a body that stalls, then a connection closed mid-body: an outage, then the watch goes on', async () => {
    const script = new Script();
    const id = 'ex_stall';
    script.then(
      id,
      reading(id, 'workflow_running', 1),
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        response.write('{"code":200,"data":{"execution":');
        script.hanging.add(response);
      },
      (_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        response.write('{"code":200,"data":{"execution":');
        setTimeout(() => response.socket?.destroy(), 20);
      },
    );
    script.steady(id, reading(id, 'workflow_succeeded', 2));
    const { url } = await start(script, { UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_ATTEMPTS: '1' });
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.end(15_000);
    expect(watcher.completed, watcher.describe()).toBe(true);
    expect(watcher.eventIds).toEqual(['evt_2']);
    expect(watcher.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
    for (const code of watcher.errorCodes) expect(code).toBe('UPSTREAM_UNAVAILABLE');
    for (const response of script.hanging) response.destroy();
  });

  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
  ])('a token refused (%s) after upstream accepted it ends the watch with one error, and polling stops', async (code, expected) => {
    const script = new Script();
    const id = `ex_refused_${code}`;
    script.then(id, reading(id, 'workflow_running', 1), reading(id, 'workflow_running', 2));
    script.steady(id, status(code));
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.end();
    expect(watcher.completed, watcher.describe()).toBe(true);
    const last = watcher.results.at(-1)!;
    expect(last.data ?? null).toBeNull();
    expect(last.errors?.map((error) => error.extensions?.code)).toEqual([expected]);
    expect(last.errors?.[0]?.path).toEqual(['executionUpdates']);
    expect(watcher.eventIds).toEqual(['evt_2']);
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
    const calls = script.calls(id);
    await sleep(200);
    expect(script.calls(id)).toBe(calls);
  });

  it('a status that goes backwards, events that shrink or are reordered: each event once, in append order', async () => {
    const script = new Script();
    const id = 'ex_odd';
    const [e1, e2, e3, e4] = [event(id, 1), event(id, 2), event(id, 3), event(id, 4)];
    script.then(
      id,
      reading(id, 'workflow_running', [e1!, e2!]),
      reading(id, 'workflow_queued', [e1!]),
      reading(id, 'workflow_running', [e2!, e1!, e3!]),
      reading(id, 'workflow_running', [e1!, e2!, e3!]),
    );
    script.steady(id, reading(id, 'workflow_succeeded', [e1!, e2!, e3!, e4!]));
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.end();
    expect(watcher.completed, watcher.describe()).toBe(true);
    expect(watcher.errorCodes).toEqual([]);
    expect(watcher.eventIds).toEqual(['evt_3', 'evt_4']);
    expect(watcher.last).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
  });

  it('malformed envelopes between good readings pass as failures, without a notice while they are short', async () => {
    const script = new Script();
    const id = 'ex_malformed';
    const garbage: Answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('<html>maintenance</html>');
    };
    const noExecution: Answer = (_request, response) => json(response, 200, { code: 200, data: { events: [] } });
    script.then(id, reading(id, 'workflow_running', 1), garbage, reading(id, 'workflow_running', 2), noExecution, reading(id, 'workflow_running', 3));
    script.steady(id, reading(id, 'workflow_succeeded', 4));
    const { url } = await start(script, { LIVE_OUTAGE_NOTICE_MS: '5000' });
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.end();
    expect(watcher.completed, watcher.describe()).toBe(true);
    expect(watcher.errorCodes).toEqual([]);
    expect(watcher.eventIds).toEqual(['evt_2', 'evt_3', 'evt_4']);
  });

  it("two callers of one execution: each poll carries its own caller's token, and one leaving keeps the other's polling", async () => {
    const script = new Script();
    const id = 'ex_shared';
    script.steady(id, reading(id, 'workflow_running', 1));
    const { url } = await start(script);
    const a = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    const b = new Recorder(client(transport, url, 'Bearer token-b'), { id }, WATCH);
    await a.received(1);
    await b.received(1);
    await waitFor(() => script.calls(id) >= 6, 'polls');
    expect(live().pollers).toBe(2);
    const tokens = new Set(script.seen.get(id)!.map((seen) => seen.authorization));
    expect([...tokens].sort()).toEqual(['Bearer token-a', 'Bearer token-b']);
    a.stop();
    await waitFor(() => live().pollers === 1, 'one poller left');
    const since = performance.now();
    await waitFor(() => script.seen.get(id)!.filter((seen) => seen.at > since).length >= 4, 'polls for b');
    // The first may be a's poll that was on its way as a left; every one after it is b's.
    const after = script.seen.get(id)!.filter((seen) => seen.at > since).slice(1);
    expect(new Set(after.map((seen) => seen.authorization))).toEqual(new Set(['Bearer token-b']));
    b.stop();
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
  });
});

describe.each(['sse', 'websocket'] as const)('live12 watchExecution over %s', (transport) => {
  it('rides an outage and a 429, and returns after the update that ends the execution', async () => {
    const script = new Script();
    const id = 'ex_typed';
    script.then(id, reading(id, 'workflow_running', 1), status(500), status(502), status(503), status(429, { 'retry-after': '1' }), reading(id, 'workflow_running', 2));
    script.steady(id, reading(id, 'workflow_succeeded', 3));
    const { url } = await start(script);
    const outages: OutageNotice[] = [];
    const retries: unknown[] = [];
    const updates: ExecutionUpdate[] = [];
    for await (const update of watchExecution(url, 'Bearer token-a', id, {
      transport,
      webSocketImpl: WebSocket,
      retryDelayMs: 20,
      onOutage: (notice) => outages.push(notice),
      onRetry: (error) => retries.push(error),
    })) {
      updates.push(update);
    }
    expect(retries).toEqual([]);
    expect(outages.length).toBeGreaterThanOrEqual(1);
    expect(updates.flatMap((update) => update.newEvents.map((edge) => edge.node.id))).toEqual(['evt_2', 'evt_3']);
    expect(updates.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED' });
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
  });

  it('throws a WatchError with FORBIDDEN when upstream refuses the token mid-watch, and polling stops', async () => {
    const script = new Script();
    const id = 'ex_typed_403';
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, status(403));
    const { url } = await start(script);
    const retries: unknown[] = [];
    const updates: ExecutionUpdate[] = [];
    const error = await (async () => {
      for await (const update of watchExecution(url, 'Bearer token-a', id, { transport, webSocketImpl: WebSocket, retryDelayMs: 20, onRetry: (e) => retries.push(e) })) updates.push(update);
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WatchError);
    expect((error as WatchError).code).toBe('FORBIDDEN');
    expect(retries).toEqual([]);
    expect(updates).toHaveLength(1);
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
  });

  it('an abort frees the poller: upstream hears no more', async () => {
    const script = new Script();
    const id = 'ex_typed_abort';
    script.steady(id, reading(id, 'workflow_running', 1));
    const { url } = await start(script);
    const stop = new AbortController();
    const updates = watchExecution(url, 'Bearer token-a', id, { transport, webSocketImpl: WebSocket, signal: stop.signal })[Symbol.asyncIterator]();
    await updates.next();
    await waitFor(() => script.calls(id) >= 3, 'polls');
    stop.abort();
    const calls = script.calls(id);
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
    await sleep(300);
    // A poll already on its way as the watch ended may still reach upstream; none after it.
    expect(script.calls(id)).toBeLessThanOrEqual(calls + 1);
  });
});

describe.each(['sse', 'ws'] as const)('live12 more over %s', (transport) => {
  it('a first reading that is no envelope: no update, the notice, then the first update once upstream serves it', async () => {
    const script = new Script();
    const id = 'ex_first_bad';
    script.steady(id, (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>maintenance</html>');
    });
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await waitFor(() => watcher.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${watcher.describe()}`);
    expect(watcher.updates).toEqual([]);
    script.steady(id, reading(id, 'workflow_running', 2));
    await watcher.received(2);
    expect(watcher.results[1]!.errors).toBeUndefined();
    expect(watcher.updates[0]).toMatchObject({ isFinal: false, newEvents: [] });
    watcher.stop();
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
  });

  it.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
  ])('an envelope coded %s inside a 200 mid-watch ends it as the status would', async (code, expected) => {
    const script = new Script();
    const id = `ex_env_${code}`;
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, (_request, response) => json(response, 200, { code, message: 'nope', requestId: 'r' }));
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.end();
    expect(watcher.completed, watcher.describe()).toBe(true);
    expect(watcher.results.at(-1)!.errors?.map((error) => error.extensions?.code)).toEqual([expected]);
    await waitFor(() => live().pollers === 0, 'no poller');
  });

  it('a 401 whose body stalls mid-watch ends the watch with UNAUTHENTICATED, not an outage', async () => {
    const script = new Script();
    const id = 'ex_401_stall';
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, (_request, response) => {
      response.writeHead(401, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"code":401,');
      script.hanging.add(response);
    });
    const { url } = await start(script, { UPSTREAM_TIMEOUT_MS: '300' });
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.end();
    expect(watcher.results.at(-1)!.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    for (const response of script.hanging) response.destroy();
  });

  it('a watcher that leaves while a poll hangs: the upstream call is cut and no other is made', async () => {
    const script = new Script();
    const id = 'ex_leave_hung';
    const closed: boolean[] = [];
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, (_request, response) => {
      script.hanging.add(response);
      response.on('close', () => closed.push(true));
    });
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await watcher.received(1);
    await waitFor(() => script.hanging.size === 1, 'a hung poll');
    watcher.stop();
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
    await waitFor(() => closed.length === 1, 'the hung call cut');
    const calls = script.calls(id);
    await sleep(300);
    expect(script.calls(id)).toBe(calls);
  });

  it('one caller refused mid-watch leaves the other caller of the same execution watching, each with its own token', async () => {
    const script = new Script();
    const id = 'ex_two';
    script.steady(id, (request, response) => {
      if (request.headers.authorization === 'Bearer token-b' && script.calls(id) > 4) return status(403)(request, response);
      return reading(id, 'workflow_running', 1)(request, response);
    });
    const { url } = await start(script);
    const a = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    const b = new Recorder(client(transport, url, 'Bearer token-b'), { id }, WATCH);
    await b.end();
    expect(b.errorCodes).toEqual(['FORBIDDEN']);
    const since = performance.now();
    await waitFor(() => script.seen.get(id)!.filter((seen) => seen.at > since).length >= 3, 'polls for a');
    expect(a.ended).toBe(false);
    expect(a.errorCodes).toEqual([]);
    expect(live().pollers).toBe(1);
    a.stop();
  });
});

describe('live12 watchExecution over an unnamed status', () => {
  it.each(['sse', 'websocket'] as const)('a 410 mid-watch over %s: subscribes again from its cursor and gets every event once', async (transport) => {
    const script = new Script();
    const id = 'ex_410';
    script.then(id, reading(id, 'workflow_running', 1), reading(id, 'workflow_running', 2), status(410));
    script.steady(id, reading(id, 'workflow_succeeded', 3));
    const { url } = await start(script);
    const retries: unknown[] = [];
    const updates: ExecutionUpdate[] = [];
    for await (const update of watchExecution(url, 'Bearer token-a', id, { transport, webSocketImpl: WebSocket, retryDelayMs: 20, onRetry: (error) => retries.push(error) })) updates.push(update);
    expect(retries.map((error) => (error as WatchError).code)).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(updates.flatMap((update) => update.newEvents.map((edge) => edge.node.id))).toEqual(['evt_2', 'evt_3']);
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
  });
});

describe.each(['sse', 'ws'] as const)('live12 pauses over %s', (transport) => {
  it('a recovery that changed nothing still comes, without errors, after the notice', async () => {
    const script = new Script();
    const id = 'ex_same';
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, status(500));
    const { url } = await start(script);
    const watcher = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await waitFor(() => watcher.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${watcher.describe()}`);
    script.steady(id, reading(id, 'workflow_running', 1));
    await watcher.received(3);
    expect(watcher.results[2]!.errors).toBeUndefined();
    expect(watcher.results[2]!.data?.executionUpdates).toMatchObject({ newEvents: [], isFinal: false });
    // A late joiner during a new outage gets the last reading, then the notice.
    script.steady(id, status(500));
    await waitFor(() => watcher.errorCodes.length === 2, () => `a second notice; ${watcher.describe()}`);
    const late = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await late.received(2);
    expect(late.results[0]!.errors).toBeUndefined();
    expect(late.results[1]!.errors?.[0]?.extensions?.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(live().pollers).toBe(1);
    watcher.stop();
    late.stop();
    await waitFor(() => live().pollers === 0, 'no poller');
  });

  it("a new watch during a 503's pause: no upstream call until it ends, the notice at once", async () => {
    const script = new Script();
    const id = 'ex_paused';
    script.then(id, reading(id, 'workflow_running', 1));
    script.steady(id, status(503, { 'retry-after': '5' }));
    const { url } = await start(script);
    const first = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await waitFor(() => first.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${first.describe()}`);
    const notice = first.results.find((result) => result.errors)!.errors![0]!.extensions!;
    expect(notice).toMatchObject({ upstreamStatus: 503 });
    expect(Number(notice.retryAfterMs)).toBeGreaterThan(4_000);
    first.stop();
    await waitFor(() => live().pollers === 0, 'no poller');
    const calls = script.calls(id);
    const again = new Recorder(client(transport, url, 'Bearer token-a'), { id }, WATCH);
    await waitFor(() => again.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice at once; ${again.describe()}`, 2_000);
    expect(again.updates).toEqual([]);
    expect(script.calls(id)).toBe(calls);
    again.stop();
  });

  it("a 429 pauses the caller: its watch of another execution makes no call meanwhile; another caller's does", async () => {
    const script = new Script();
    script.then('ex_rl', reading('ex_rl', 'workflow_running', 1));
    script.steady('ex_rl', status(429, { 'retry-after': '5' }));
    script.steady('ex_other', reading('ex_other', 'workflow_running', 1));
    const { url } = await start(script);
    const first = new Recorder(client(transport, url, 'Bearer token-a'), { id: 'ex_rl' }, WATCH);
    await waitFor(() => first.errorCodes.includes('UPSTREAM_UNAVAILABLE'), () => `the notice; ${first.describe()}`);
    const other = new Recorder(client(transport, url, 'Bearer token-a'), { id: 'ex_other' }, WATCH);
    const b = new Recorder(client(transport, url, 'Bearer token-b'), { id: 'ex_other' }, WATCH);
    await b.received(1);
    await waitFor(() => other.results.length >= 1, () => `the notice; ${other.describe()}`, 2_000);
    expect(other.errorCodes).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(script.seen.get('ex_other')!.map((seen) => seen.authorization).filter((token) => token === 'Bearer token-a')).toEqual([]);
    first.stop();
    other.stop();
    b.stop();
  });
});

describe('live12 watchExecution: watches sharing one socket', () => {
  it("one watch refused or ended leaves its neighbour's subscription alone", async () => {
    const script = new Script();
    script.then('ex_nb_refused', reading('ex_nb_refused', 'workflow_running', 1));
    script.steady('ex_nb_refused', status(403));
    script.then('ex_nb_done', reading('ex_nb_done', 'workflow_running', 1), reading('ex_nb_done', 'workflow_running', 1));
    script.steady('ex_nb_done', reading('ex_nb_done', 'workflow_succeeded', 2));
    let n = 1;
    script.steady('ex_nb_on', (request, response) => reading('ex_nb_on', 'workflow_running', Math.min(50, Math.floor(n++ / 3)))(request, response));
    const { url } = await start(script);
    const stop = new AbortController();
    const retries: unknown[] = [];
    const options = { transport: 'websocket' as const, webSocketImpl: WebSocket, retryDelayMs: 20, onRetry: (error: unknown) => retries.push(error) };
    const on: ExecutionUpdate[] = [];
    const going = (async () => {
      for await (const update of watchExecution(url, 'Bearer token-a', 'ex_nb_on', { ...options, signal: stop.signal })) on.push(update);
    })();
    await waitFor(() => on.length >= 1, 'the first update');
    const refused = (async () => {
      for await (const _ of watchExecution(url, 'Bearer token-a', 'ex_nb_refused', options)) void _;
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    const done: ExecutionUpdate[] = [];
    for await (const update of watchExecution(url, 'Bearer token-a', 'ex_nb_done', options)) done.push(update);
    expect(((await refused) as WatchError).code).toBe('FORBIDDEN');
    expect(done.at(-1)).toMatchObject({ isFinal: true });
    const count = on.length;
    await waitFor(() => on.length >= count + 2, 'more updates for the neighbour');
    expect(retries).toEqual([]);
    const ids = on.flatMap((update) => update.newEvents.map((edge) => edge.node.id));
    expect(new Set(ids).size).toBe(ids.length);
    stop.abort();
    await going;
    await waitFor(() => live().pollers === 0 && live().subscriptions === 0, 'nothing live');
  });
});

describe.each(['sse', 'ws'] as const)('live12 a token revoked mid-watch over %s', (transport) => {
  it("ends that token's watches only; a new watch with it is refused without a call while UPSTREAM_REFUSED_TOKEN_MS runs", async () => {
    const script = new Script();
    let revoked = false;
    for (const id of ['ex_r1', 'ex_r2']) {
      script.steady(id, (request, response) =>
        (revoked && request.headers.authorization === 'Bearer token-a' ? status(401) : reading(id, 'workflow_running', 1))(request, response),
      );
    }
    const { url } = await start(script, { UPSTREAM_REFUSED_TOKEN_MS: '60000' });
    const a1 = new Recorder(client(transport, url, 'Bearer token-a'), { id: 'ex_r1' }, WATCH);
    const a2 = new Recorder(client(transport, url, 'Bearer token-a'), { id: 'ex_r2' }, WATCH);
    const b1 = new Recorder(client(transport, url, 'Bearer token-b'), { id: 'ex_r1' }, WATCH);
    await Promise.all([a1.received(1), a2.received(1), b1.received(1)]);
    revoked = true;
    await a1.end();
    await a2.end();
    expect(a1.errorCodes).toEqual(['UNAUTHENTICATED']);
    expect(a2.errorCodes).toEqual(['UNAUTHENTICATED']);
    const polledForB = () => script.seen.get('ex_r1')!.filter((seen) => seen.authorization === 'Bearer token-b').length;
    const before = polledForB();
    await waitFor(() => polledForB() >= before + 3, "b's watch polled on");
    expect(b1.ended).toBe(false);
    const calls = script.calls('ex_r2');
    const again = new Recorder(client(transport, url, 'Bearer token-a'), { id: 'ex_r2' }, WATCH);
    await again.end();
    expect(again.errorCodes).toEqual(['UNAUTHENTICATED']);
    expect(script.calls('ex_r2')).toBe(calls);
    await waitFor(() => live().pollers === 1, 'only b polling');
    b1.stop();
  });
});
