/**
 * One pipeline: every request, on every lane and content type, meets every
 * hook of every plugin registered on the gateway. A probe plugin with each
 * per-request hook Yoga and envelop define counts what fires; the same requests
 * go through each lane as POST JSON, GET and `application/graphql`, and the
 * counts must be equal, and equal to the number of requests for every hook that
 * a request of that kind reaches.
 *
 * Every transport added later joins the table of requests below.
 */
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';

type Counts = Record<string, number>;

/** Every per-request hook, with the hooks the envelop ones return. */
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
      return { onExecuteDone: () => hit('onExecuteDone') };
    },
    onSubscribe: () => {
      hit('onSubscribe');
      return { onSubscribeResult: () => hit('onSubscribeResult') };
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

interface Sent {
  path: string;
  init: RequestInit;
}

/**
 * One request of each content type (the transports): POST JSON, GET, and POST
 * application/graphql (which has no way to send variables, so only for an
 * operation without them).
 */
function requests(query: string, variables?: Record<string, unknown>): Record<string, Sent> {
  const headers = { authorization: AUTH, accept: 'application/graphql-response+json' };
  const search = new URLSearchParams({ query, ...(variables ? { variables: JSON.stringify(variables) } : {}) });
  return {
    'POST JSON': { path: '/graphql', init: { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) } },
    GET: { path: `/graphql?${search}`, init: { method: 'GET', headers } },
    ...(variables
      ? {}
      : { 'application/graphql': { path: '/graphql', init: { method: 'POST', headers: { ...headers, 'content-type': 'application/graphql' }, body: query } } }),
  };
}

/** Hooks a request that executes reaches once each; a refused one stops after validation. */
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
  'instrumentation.parse',
  'instrumentation.validate',
  'instrumentation.context',
  'instrumentation.execute',
  'instrumentation.resultProcess',
];
const REFUSED = EXECUTED.filter((hook) => !/Context|Execute|execute|context/.test(hook));

describe('every hook of every plugin fires on every lane and content type', () => {
  const counts: Record<LaneName, Counts> = { fast: {}, full: {} };
  const harnesses: Partial<Record<LaneName, Harness>> = {};

  beforeAll(async () => {
    for (const lane of LANES) harnesses[lane] = await Harness.start({ lane, plugins: [probe(counts[lane])] });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness?.close();
  });

  const cases: Array<[string, string, Record<string, unknown> | undefined, string[], number]> = [
    ['an operation that executes', STATUS, { id: 'ex_demo_4' }, EXECUTED, 200],
    ['an operation that executes, without variables', INLINE_STATUS, undefined, EXECUTED, 200],
    ['an operation refused by validation', INVALID, undefined, REFUSED, 400],
  ];

  for (const [title, query, variables, expected, status] of cases) {
    for (const [transport, sent] of Object.entries(requests(query, variables))) {
      it(`${title}, ${transport}: ${N} requests fire each hook ${N} times on both lanes`, async () => {
        const seen: Partial<Record<LaneName, Counts>> = {};
        for (const lane of LANES) {
          const harness = harnesses[lane]!;
          const before = { ...counts[lane] };
          for (let i = 0; i < N; i++) {
            const response = await harness.fetch(sent.path, sent.init);
            await response.text();
            expect(response.status, `${lane} lane`).toBe(status);
          }
          seen[lane] = Object.fromEntries(
            Object.entries(counts[lane])
              .map(([hook, count]) => [hook, count - (before[hook] ?? 0)] as const)
              .filter(([, count]) => count > 0),
          );
        }
        expect(seen.fast).toEqual(seen.full);
        expect(seen.fast).toEqual(Object.fromEntries(expected.map((hook) => [hook, N])));
      });
    }
  }
});
