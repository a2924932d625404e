/**
 * Every setting holds on every lane: each row below sets one setting (or
 * exercises one always-on protection), and its check runs for each transport
 * (POST JSON, GET, POST application/graphql; Server-Sent Events by POST and by
 * GET; WebSocket with graphql-ws), on a fresh document (a text the gateway has
 * not seen) and on a warm one (the same text again, served from the parse and
 * validation caches). The fast lane compiles a document only after
 * WARM_UP_RUNS runs (src/fast-lane/compiled-execution.ts), so both run on
 * graphql-js here; test/fast-lane.test.ts holds the compiled runs to the full
 * lane's bytes.
 *
 * Rows about HTTP itself (CSRF prevention, CORS headers) say so with
 * `httpOnly`, and run on the HTTP transports only, Server-Sent Events
 * included (an SSE answer is an HTTP response: its CSRF refusal and CORS
 * headers are those of any other). Over WebSocket they do not arise: an
 * operation sent on an open socket is no browser "simple" request and gets no
 * response headers; what CORS_ORIGINS means there, the upgrade's Origin check,
 * is held in test/websocket-edge.test.ts.
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_OFF_MESSAGES } from '../src/pipeline/graphiql.js';
import { AUTH, Harness, LANES } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

type Transport = 'POST JSON' | 'GET' | 'application/graphql' | 'SSE (POST)' | 'SSE (GET)' | 'WebSocket';
const TRANSPORTS: readonly Transport[] = ['POST JSON', 'GET', 'application/graphql', 'SSE (POST)', 'SSE (GET)', 'WebSocket'];
/** Transports whose answer is a stream of results: its one result is checked, not an HTTP status. */
const STREAMING: ReadonlySet<Transport> = new Set(['SSE (POST)', 'SSE (GET)', 'WebSocket']);

interface Answer {
  /** The HTTP status; null over WebSocket. */
  status: number | null;
  /** Whether the answer came as a stream (SSE, WebSocket): then `body` is its one result, and the status is the stream's, not the result's. */
  streamed: boolean;
  headers: Headers;
  text: string;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; locations?: Array<{ line: number; column: number }>; extensions?: Record<string, unknown> }> };
}

interface Row {
  /** What the row holds, as the test name says it. */
  title: string;
  env?: Record<string, string>;
  query: string;
  /** Request headers besides content type and Accept; Authorization is sent unless `authorization: null`. */
  headers?: Record<string, string>;
  authorization?: string | null;
  /** Set on rows about HTTP itself (SSE included), saying why the WebSocket transport does not run them. */
  httpOnly?: string;
  /** Sends `query` as it is, without the comment that makes each cell's text new (a row whose query is no document). */
  asIs?: true;
  check(answer: Answer, transport: Transport): void;
}

/** Makes the context fail with an internal error when asked: masking must hide it. */
const exploding: Plugin = {
  onContextBuilding({ context }) {
    const request = (context as { request?: Request }).request;
    if (request?.headers.get('x-test-explode')) throw new Error('secret internals: db password is hunter2');
  },
};

/** A 400 (or, streamed, one result) with no data, every error of `code`, the first matching `message`. */
const refusedWith = (code: string, message: RegExp) => (answer: Answer) => {
  if (!answer.streamed) expect(answer.status).toBe(400);
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors?.length).toBeGreaterThan(0);
  for (const error of answer.body.errors!) expect(error.extensions?.code).toBe(code);
  expect(answer.body.errors![0]!.message).toMatch(message);
};

const DEPTH_10 = '{ execution(id: "ex_demo_2") { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }';
const ALIASES_31 = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
/** 2,001 tokens in under 5 KB, so it fits in a GET's URL too. */
const TOKENS_2001 = `{ ${'a '.repeat(1_999)}}`;

const ROWS: Row[] = [
  {
    title: 'a subscription whose root field is conditional is refused in validation (the spec\'s rule, which graphql-js 16 lacks)',
    query: 'subscription { executionUpdates(id: "ex_demo_1") @skip(if: true) { isFinal } }',
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /must not use `@skip` or `@include`/),
  },
  {
    title: 'a mutation is refused in validation, the schema having no mutation type (the spec\'s rule, which graphql-js 16 lacks); by GET it is a 405',
    query: 'mutation { __typename }',
    check: (answer, transport) => {
      if (transport === 'GET' || transport === 'SSE (GET)') {
        expect(answer.status).toBe(405);
        expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      } else {
        refusedWith('GRAPHQL_VALIDATION_FAILED', /^The mutation operation is not supported by the schema\.$/)(answer);
        // Located at the operation, as graphql-js 17's rule locates it: an editor marks the word `mutation`.
        expect(answer.body.errors![0]!.locations).toEqual([{ line: 1, column: 1 }]);
      }
    },
  },
  {
    title: 'an empty query is no query: BAD_REQUEST "Must provide query string." (a JSON body\'s "" was a parse error)',
    query: '',
    asIs: true,
    check: refusedWith('BAD_REQUEST', /^Must provide query string\.$/),
  },
  {
    title: 'INTROSPECTION=false refuses introspection',
    env: { INTROSPECTION: 'false' },
    query: '{ __schema { queryType { name } } }',
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /introspection/i),
  },
  {
    title: 'INTROSPECTION=true (the default) serves it',
    query: '{ __schema { queryType { name } } }',
    check: (answer) => {
      if (!answer.streamed) expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    },
  },
  {
    title: 'FIELD_SUGGESTIONS=false hides "Did you mean"',
    env: { FIELD_SUGGESTIONS: 'false' },
    query: '{ executon(id: "ex_demo_4") { id } }',
    check: (answer) => {
      refusedWith('GRAPHQL_VALIDATION_FAILED', /Cannot query field "executon"/)(answer);
      expect(answer.text).not.toMatch(/Did you mean/);
    },
  },
  {
    title: 'FIELD_SUGGESTIONS=true gives them',
    env: { FIELD_SUGGESTIONS: 'true' },
    query: '{ executon(id: "ex_demo_4") { id } }',
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /Did you mean "execution"/),
  },
  {
    title: 'CSRF prevention refuses a simple GET without the CSRF header; preflighted content types pass',
    authorization: null,
    httpOnly: 'CSRF prevention guards browsers\' "simple" HTTP requests; an operation on an open WebSocket is none',
    // A GET event stream (what EventSource sends) is as simple as a plain GET.
    query: '{ __typename }',
    check: (answer, transport) => {
      if (transport === 'GET' || transport === 'SSE (GET)') {
        expect(answer.status).toBe(403);
        expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      } else {
        expect(answer.status).toBe(200);
        expect(answer.body.data).toEqual({ __typename: 'Query' });
      }
    },
  },
  {
    title: 'CSRF prevention lets a GET with the CSRF header through',
    authorization: null,
    httpOnly: 'the CSRF header matters to HTTP requests only (as above)',
    headers: { 'x-graphql-yoga-csrf': '1' },
    query: '{ __typename }',
    check: (answer) => {
      expect(answer.status).toBe(200);
      expect(answer.body.data).toEqual({ __typename: 'Query' });
    },
  },
  {
    title: 'CORS_ORIGINS allows a listed origin, exposes x-request-id and varies by Origin',
    env: { CORS_ORIGINS: 'https://app.example,https://admin.example' },
    httpOnly: 'CORS headers are HTTP response headers; a WebSocket operation has none (the upgrade checks Origin instead: test/websocket-edge.test.ts)',
    headers: { origin: 'https://app.example' },
    query: '{ __typename }',
    check: (answer) => {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(answer.headers.get('access-control-expose-headers')).toBe('x-request-id');
      expect(answer.headers.get('vary')).toMatch(/\bOrigin\b/);
      expect(answer.headers.get('x-request-id')).toBeTruthy();
    },
  },
  {
    title: 'CORS_ORIGINS gives another origin no CORS headers, and still varies by Origin',
    env: { CORS_ORIGINS: 'https://app.example,https://admin.example' },
    httpOnly: 'as above: CORS headers are HTTP response headers',
    headers: { origin: 'https://evil.example' },
    query: '{ __typename }',
    check: (answer) => {
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-expose-headers')).toBeNull();
      expect(answer.headers.get('vary')).toMatch(/\bOrigin\b/);
    },
  },
  {
    title: 'the depth limit (9) refuses depth 10',
    query: DEPTH_10,
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /^Query depth limit of 9 exceeded, found 10\. Select less deeply nested fields/),
  },
  {
    title: 'the alias limit (30) counts __typename aliases too',
    query: ALIASES_31,
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /^Aliases limit of 30 exceeded, found 31\. Use fewer aliases/),
  },
  {
    title: 'the token limit (2,000) refuses 2,001 tokens',
    query: TOKENS_2001,
    check: refusedWith('GRAPHQL_PARSE_FAILED', /Token limit of 2000 exceeded/),
  },
  {
    title: 'error masking hides an unexpected error: no message, no stack, a code',
    headers: { 'x-test-explode': '1' },
    query: '{ __typename }',
    check: (answer) => {
      expect(answer.body.data ?? undefined).toBeUndefined();
      expect(answer.body.errors).toEqual([{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(answer.text).not.toMatch(/secret|hunter2|at .*\.ts:\d+/);
    },
  },
];

function requestHeaders(row: Row): Record<string, string> {
  return { ...(row.authorization === null ? {} : { authorization: row.authorization ?? AUTH }), ...row.headers };
}

function send(harness: Harness, row: Row, transport: Exclude<Transport, 'WebSocket'>, query: string): Promise<Response> {
  const accept = transport.startsWith('SSE') ? 'text/event-stream' : 'application/graphql-response+json';
  const headers: Record<string, string> = { accept, ...requestHeaders(row) };
  if (transport === 'GET' || transport === 'SSE (GET)') return harness.fetch(`/graphql?${new URLSearchParams({ query })}`, { headers });
  if (transport === 'application/graphql') {
    return harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/graphql' }, body: query });
  }
  return harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, streamed: false, headers: response.headers, text, body: text ? (JSON.parse(text) as Answer['body']) : {} };
}

/**
 * An SSE answer: an event stream of exactly one `next` and a `complete`; the
 * answer is that one result. (Its status is Yoga's: 200, or the status of an
 * error raised before execution, e.g. 500 for a masked one.)
 */
async function streamedAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  expect(response.headers.get('content-type'), `${response.status} ${text}`).toMatch(/^text\/event-stream/);
  const events: Array<{ event: string; data: string }> = [];
  for (const block of text.split('\n\n')) {
    const event = /^event: ?(.*)$/m.exec(block)?.[1];
    const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((match) => match[1]).join('\n');
    if (event !== undefined) events.push({ event, data });
  }
  expect(events.map((each) => each.event), text).toEqual(['next', 'complete']);
  return { status: response.status, streamed: true, headers: response.headers, text: events[0]!.data, body: JSON.parse(events[0]!.data) as Answer['body'] };
}

/** The row's request over HTTP, `rounds` times one after the other: each warm one finds what the fresh one left in the caches. */
async function overHttp(harness: Harness, row: Row, transport: Exclude<Transport, 'WebSocket'>, query: string, rounds: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let round = 0; round < rounds; round++) {
    const response = await send(harness, row, transport, query);
    answers.push(STREAMING.has(transport) ? await streamedAnswer(response) : await answer(response));
  }
  return answers;
}

/**
 * The row's request over graphql-ws, fresh then warm on one connection: the
 * row's headers travel on the upgrade (as a browser's cookies or a script's
 * headers would), the token in `connectionParams`. Each operation must give
 * exactly one result, then complete.
 */
async function overWebSocket(harness: Harness, row: Row, query: string, rounds: number): Promise<Answer[]> {
  const { authorization, ...upgradeHeaders } = requestHeaders(row);
  class WithHeaders extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: upgradeHeaders });
    }
  }
  const client = createClient({
    url: harness.url.replace(/^http/, 'ws'),
    webSocketImpl: WithHeaders,
    connectionParams: authorization ? { authorization } : {},
    retryAttempts: 0,
  });
  try {
    const answers: Answer[] = [];
    for (let round = 0; round < rounds; round++) {
      const results = await resultsOverWebSocket(client, { query });
      expect(results, `round ${round + 1}: ${JSON.stringify(results)}`).toHaveLength(1);
      const text = JSON.stringify(results[0]);
      answers.push({ status: null, streamed: true, headers: new Headers(), text, body: results[0] as Answer['body'] });
    }
    return answers;
  } finally {
    await client.dispose();
  }
}

describe.each(LANES)('every setting holds on the %s lane', (lane) => {
  let cell = 0;
  for (const row of ROWS) {
    describe(row.title, () => {
      let harness: Harness;
      beforeAll(async () => {
        harness = await Harness.start({ lane, plugins: [exploding], ...(row.env ? { env: row.env } : {}) });
      });
      afterAll(() => harness.close());

      for (const transport of TRANSPORTS) {
        if (row.httpOnly && transport === 'WebSocket') continue;
        it(`${transport}, fresh and warm`, async () => {
          // A text this process has not seen: the first request parses and validates it.
          const query = row.asIs ? row.query : `${row.query} # cell ${++cell}`;
          const rounds = ['fresh', 'warm'] as const;
          const answers = transport === 'WebSocket' ? await overWebSocket(harness, row, query, rounds.length) : await overHttp(harness, row, transport, query, rounds.length);
          answers.forEach((got, i) => {
            try {
              row.check(got, transport);
            } catch (error) {
              throw new GraphQLError(`${rounds[i]} document: ${(error as Error).message}\n${got.status ?? 'WebSocket'} ${got.text.slice(0, 300)}`);
            }
          });
        });
      }
    });
  }
});

// GraphiQL's page is no operation, so the table above cannot carry it: with introspection off its editor and docs
// explorer have nothing to work from, and serving it only advertised the schema tooling.
describe.each(LANES)('INTROSPECTION=false on the %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { INTROSPECTION: 'false' } });
  });
  afterAll(() => harness.close());

  it('does not serve GraphiQL: its route answers 404 with a GraphQL error saying why', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    for (const path of ['/graphql', `/graphql?${new URLSearchParams({ query: '{ __typename }' })}`]) {
      const response = await harness.fetch(path, { headers: browser });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ errors: [{ message: GRAPHIQL_OFF_MESSAGES.noIntrospection, extensions: { code: 'BAD_REQUEST' } }] });
    }
    expect(harness.upstream.requests).toHaveLength(0);
    // Operations still run.
    const query = await harness.query('{ __typename }');
    expect(query.status).toBe(200);
    expect(query.data).toEqual({ __typename: 'Query' });
  });
});
