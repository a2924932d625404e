/**
 * One pipeline: every request, on every lane and transport, meets every hook
 * of every plugin registered on the gateway. A probe plugin with each
 * per-request hook Yoga and envelop define counts what fires; the same requests
 * go through each lane over every transport (POST JSON, GET,
 * `application/graphql`, Server-Sent Events by POST and by GET, and WebSocket
 * with graphql-ws), and the counts must be equal across lanes, and equal to the
 * number of requests for every hook that a request of that kind reaches.
 *
 * Every transport added later joins the table of transports below.
 */
import { createClient, type Client } from 'graphql-ws';
import type { ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

type Counts = Record<string, number>;

/** Every per-request hook, with the hooks the envelop ones return and every step Yoga, envelop and @whatwg-node/server instrument. */
function probe(counts: Counts): Plugin {
  const hit = (name: string) => {
    counts[name] = (counts[name] ?? 0) + 1;
  };
  return {
    onRequest: () => hit('onRequest'),
    onRequestParse: () => {
      hit('onRequestParse');
      return { onRequestParseDone: () => hit('onRequestParseDone') };
    },
    onParams: () => hit('onParams'),
    onEnveloped: () => hit('onEnveloped'),
    onContextBuilding: () => {
      hit('onContextBuilding');
      return () => hit('onContextBuildingDone');
    },
    onParse: () => {
      hit('onParse');
      return () => hit('onParseDone');
    },
    onValidate: () => {
      hit('onValidate');
      return () => hit('onValidateDone');
    },
    onExecute: () => {
      hit('onExecute');
      return {
        onExecuteDone: () => {
          hit('onExecuteDone');
          // Called only for a streamed result (incremental delivery), which this schema has none of.
          return { onNext: () => hit('onExecuteDone.onNext'), onEnd: () => hit('onExecuteDone.onEnd') };
        },
      };
    },
    onSubscribe: () => {
      hit('onSubscribe');
      return {
        onSubscribeResult: () => {
          hit('onSubscribeResult');
          return { onNext: () => hit('onSubscribeResult.onNext'), onEnd: () => hit('onSubscribeResult.onEnd') };
        },
        onSubscribeError: () => hit('onSubscribeError'),
      };
    },
    onExecutionResult: () => hit('onExecutionResult'),
    onResultProcess: () => hit('onResultProcess'),
    onResponse: () => hit('onResponse'),
    instrumentation: {
      request: (_payload, wrapped) => {
        hit('instrumentation.request');
        return wrapped();
      },
      requestParse: (_payload, wrapped) => {
        hit('instrumentation.requestParse');
        return wrapped();
      },
      operation: (_payload, wrapped) => {
        hit('instrumentation.operation');
        return wrapped();
      },
      init: (_payload, wrapped) => {
        hit('instrumentation.init');
        return wrapped();
      },
      parse: (_payload, wrapped) => {
        hit('instrumentation.parse');
        return wrapped();
      },
      validate: (_payload, wrapped) => {
        hit('instrumentation.validate');
        return wrapped();
      },
      context: (_payload, wrapped) => {
        hit('instrumentation.context');
        return wrapped();
      },
      execute: (_payload, wrapped) => {
        hit('instrumentation.execute');
        return wrapped();
      },
      subscribe: (_payload, wrapped) => {
        hit('instrumentation.subscribe');
        return wrapped();
      },
      resultProcess: (_payload, wrapped) => {
        hit('instrumentation.resultProcess');
        return wrapped();
      },
    },
  };
}

const N = 5;
const STATUS = 'query Status($id: ID!) { execution(id: $id) { id status } }';
const INLINE_STATUS = '{ execution(id: "ex_demo_4") { id status } }';
const INVALID = '{ execution(id: "ex_demo_4") { id nope } }';
/** ex_demo_6 is terminal: one update, then the stream completes. */
const WATCH_TERMINAL = 'subscription { executionUpdates(id: "ex_demo_6") { isFinal } }';

/** Hooks a query that executes reaches once each; a refused one stops after validation. */
const EXECUTED = [
  'onRequest',
  'onRequestParse',
  'onRequestParseDone',
  'onParams',
  'onEnveloped',
  'onParse',
  'onParseDone',
  'onValidate',
  'onValidateDone',
  'onContextBuilding',
  'onContextBuildingDone',
  'onExecute',
  'onExecuteDone',
  'onExecutionResult',
  'onResultProcess',
  'onResponse',
  'instrumentation.request',
  'instrumentation.requestParse',
  'instrumentation.operation',
  'instrumentation.init',
  'instrumentation.parse',
  'instrumentation.validate',
  'instrumentation.context',
  'instrumentation.execute',
  'instrumentation.resultProcess',
];
const REFUSED = EXECUTED.filter((hook) => !/Context|Execute|execute|context/.test(hook));
/** A subscription meets the subscribe hooks where a query meets the execute ones, and each of its results (one here) meets onNext. */
const SUBSCRIBED = [
  ...EXECUTED.filter((hook) => !/Execute|execute/.test(hook)),
  'onSubscribe',
  'onSubscribeResult',
  'onSubscribeResult.onNext',
  'onSubscribeResult.onEnd',
  'instrumentation.subscribe',
];

type Kind = 'executes' | 'refused' | 'subscription';

interface Case {
  title: string;
  query: string;
  variables?: Record<string, unknown>;
  kind: Kind;
  expected: string[];
}

const CASES: Case[] = [
  { title: 'an operation that executes', query: STATUS, variables: { id: 'ex_demo_4' }, kind: 'executes', expected: EXECUTED },
  { title: 'an operation that executes, without variables', query: INLINE_STATUS, kind: 'executes', expected: EXECUTED },
  { title: 'an operation refused by validation', query: INVALID, kind: 'refused', expected: REFUSED },
  { title: 'a subscription on a terminal execution (one update, then complete)', query: WATCH_TERMINAL, kind: 'subscription', expected: SUBSCRIBED },
];

/** What one request of a case must answer, whatever carried it. */
function checkResult(kase: Case, result: ExecutionResult, where: string): void {
  if (kase.kind === 'refused') {
    expect(result.data, where).toBeUndefined();
    expect(result.errors?.map((error) => error.extensions?.code), where).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  } else if (kase.kind === 'subscription') {
    expect(result, where).toEqual({ data: { executionUpdates: { isFinal: true } } });
  } else {
    expect(result.errors, where).toBeUndefined();
    expect(result.data, where).toEqual({ execution: { id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' } });
  }
}

/** An event stream's events, in order (comments left out). */
function parseEventStream(text: string): Array<{ event: string; data: string }> {
  const events: Array<{ event: string; data: string }> = [];
  for (const block of text.split('\n\n')) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trim());
    }
    if (event !== undefined || data.length > 0) events.push({ event: event ?? 'message', data: data.join('\n') });
  }
  return events;
}

interface Transport {
  name: string;
  /** Whether the transport carries this case (subscriptions need a streaming one; `application/graphql` has no variables). */
  carries(kase: Case): boolean;
  /** Sends the case `n` times to a lane, one after the other, checking each answer. */
  send(harness: Harness, kase: Case, n: number): Promise<void>;
}

const HTTP_HEADERS = { authorization: AUTH, accept: 'application/graphql-response+json' };

/** A plain HTTP request per case: each one answered as a whole, with this status. */
function httpTransport(name: string, carries: (kase: Case) => boolean, request: (kase: Case) => { path: string; init: RequestInit }): Transport {
  return {
    name,
    carries,
    async send(harness, kase, n) {
      const { path, init } = request(kase);
      for (let i = 0; i < n; i++) {
        const response = await harness.fetch(path, init);
        const where = `${harness.lane} lane, ${name}, request ${i + 1}`;
        expect(response.status, where).toBe(kase.kind === 'refused' ? 400 : 200);
        checkResult(kase, (await response.json()) as ExecutionResult, where);
      }
    },
  };
}

/** Server-Sent Events: each request is one stream, read to its end: exactly one `next`, then `complete`. */
function sseTransport(name: string, request: (kase: Case) => { path: string; init: RequestInit }): Transport {
  return {
    name,
    carries: () => true,
    async send(harness, kase, n) {
      const { path, init } = request(kase);
      for (let i = 0; i < n; i++) {
        const response = await harness.fetch(path, init);
        const where = `${harness.lane} lane, ${name}, request ${i + 1}`;
        const text = await response.text();
        expect(response.status, `${where}: ${text}`).toBe(200);
        expect(response.headers.get('content-type'), where).toMatch(/^text\/event-stream/);
        const events = parseEventStream(text);
        expect(events.map((event) => event.event), `${where}: ${text}`).toEqual(['next', 'complete']);
        checkResult(kase, JSON.parse(events[0]!.data) as ExecutionResult, where);
      }
    },
  };
}

/** WebSocket (graphql-ws): one connection per lane and test, the operations one after the other on it. */
const WEBSOCKET: Transport = {
  name: 'WebSocket',
  carries: () => true,
  async send(harness, kase, n) {
    const client: Client = createClient({
      url: harness.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: AUTH },
      retryAttempts: 0,
      lazy: true,
    });
    try {
      for (let i = 0; i < n; i++) {
        const where = `${harness.lane} lane, WebSocket, operation ${i + 1}`;
        // Until the server sends `complete`; an `error` message (an operation refused before it ran) as its one result.
        const results = await resultsOverWebSocket(client, { query: kase.query, ...(kase.variables ? { variables: kase.variables } : {}) });
        expect(results, where).toHaveLength(1);
        checkResult(kase, results[0]!, where);
      }
    } finally {
      await client.dispose();
    }
  },
};

const viaBody = (accept: string) => (kase: Case) => ({
  path: '/graphql',
  init: { method: 'POST', headers: { authorization: AUTH, accept, 'content-type': 'application/json' }, body: JSON.stringify({ query: kase.query, variables: kase.variables }) },
});
const viaSearch = (accept: string) => (kase: Case) => ({
  path: `/graphql?${new URLSearchParams({ query: kase.query, ...(kase.variables ? { variables: JSON.stringify(kase.variables) } : {}) })}`,
  init: { method: 'GET', headers: { authorization: AUTH, accept } },
});
const notSubscription = (kase: Case) => kase.kind !== 'subscription';

/**
 * Every transport a request can take: the three HTTP content types, answered
 * whole (`application/graphql` has no way to send variables, so only for an
 * operation without them; none of them carries a subscription), and the
 * streaming ones, which carry queries (one `next`, then `complete`) and
 * subscriptions alike.
 */
const TRANSPORTS: Transport[] = [
  httpTransport('POST JSON', notSubscription, viaBody(HTTP_HEADERS.accept)),
  httpTransport('GET', notSubscription, viaSearch(HTTP_HEADERS.accept)),
  httpTransport(
    'application/graphql',
    (kase) => notSubscription(kase) && !kase.variables,
    (kase) => ({ path: '/graphql', init: { method: 'POST', headers: { ...HTTP_HEADERS, 'content-type': 'application/graphql' }, body: kase.query } }),
  ),
  sseTransport('Server-Sent Events (POST)', viaBody('text/event-stream')),
  sseTransport('Server-Sent Events (GET)', viaSearch('text/event-stream')),
  WEBSOCKET,
];

/** Hooks whose count changed since `before`, by how much. */
function delta(counts: Counts, before: Counts): Counts {
  return Object.fromEntries(
    Object.entries(counts)
      .map(([hook, count]) => [hook, count - (before[hook] ?? 0)] as const)
      .filter(([, count]) => count > 0),
  );
}

/**
 * Waits (at most 10 s) until each hook in `expected` counted at least `n` more than `before`: a stream's last hooks
 * (onEnd, onResponse) may run after its client saw the end, on a loaded machine well past settled's quiet 20 ms.
 * Returns without failing on a miss: the comparison after says which hook fell short.
 */
async function reached(counts: Counts, before: Counts, expected: readonly string[], n: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (expected.some((hook) => (counts[hook] ?? 0) - (before[hook] ?? 0) < n) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits (briefly) until the counts stop moving: a hook firing more often than expected is counted too. */
async function settled(counts: Counts): Promise<Counts> {
  let last = JSON.stringify(counts);
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = JSON.stringify(counts);
    if (now === last && i >= 2) break;
    last = now;
  }
  return { ...counts };
}

describe('every hook of every plugin fires on every lane and transport', () => {
  const counts: Record<LaneName, Counts> = { fast: {}, full: {} };
  const harnesses: Partial<Record<LaneName, Harness>> = {};

  beforeAll(async () => {
    for (const lane of LANES) harnesses[lane] = await Harness.start({ lane, plugins: [probe(counts[lane])] });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness?.close();
  });

  it('the table covers every streaming transport with a subscription', () => {
    const carried = TRANSPORTS.filter((transport) => transport.carries(CASES.find((kase) => kase.kind === 'subscription')!)).map((transport) => transport.name);
    expect(carried).toEqual(['Server-Sent Events (POST)', 'Server-Sent Events (GET)', 'WebSocket']);
  });

  for (const kase of CASES) {
    for (const transport of TRANSPORTS.filter((each) => each.carries(kase))) {
      it(`${kase.title}, ${transport.name}: ${N} requests fire each hook ${N} times on both lanes`, async () => {
        const seen: Partial<Record<LaneName, Counts>> = {};
        for (const lane of LANES) {
          const before = await settled(counts[lane]);
          await transport.send(harnesses[lane]!, kase, N);
          await reached(counts[lane], before, kase.expected, N);
          seen[lane] = delta(await settled(counts[lane]), before);
        }
        expect(seen.fast, 'the fast lane against the full lane').toEqual(seen.full);
        expect(seen.fast).toEqual(Object.fromEntries(kase.expected.map((hook) => [hook, N])));
      });
    }
  }
});
