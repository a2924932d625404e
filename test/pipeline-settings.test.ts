/**
 * Every setting holds on every lane: each row below sets one setting (or
 * exercises one always-on protection), and its check runs for each content
 * type (POST JSON, GET, POST application/graphql), on a fresh document (a text
 * the gateway has not seen) and on a warm one (the same text again, served
 * from the parse and validation caches and, on the fast lane, compiled).
 */
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES } from './support/harness.js';

type Transport = 'POST JSON' | 'GET' | 'application/graphql';
const TRANSPORTS: readonly Transport[] = ['POST JSON', 'GET', 'application/graphql'];

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

interface Row {
  /** What the row holds, as the test name says it. */
  title: string;
  env?: Record<string, string>;
  query: string;
  /** Request headers besides content type and Accept; Authorization is sent unless `authorization: null`. */
  headers?: Record<string, string>;
  authorization?: string | null;
  check(answer: Answer, transport: Transport): void;
}

/** Makes the context fail with an internal error when asked: masking must hide it. */
const exploding: Plugin = {
  onContextBuilding({ context }) {
    const request = (context as { request?: Request }).request;
    if (request?.headers.get('x-test-explode')) throw new Error('secret internals: db password is hunter2');
  },
};

/** A 400 with no data, every error of `code`, the first matching `message`. */
const refusedWith = (code: string, message: RegExp) => (answer: Answer) => {
  expect(answer.status).toBe(400);
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors?.length).toBeGreaterThan(0);
  for (const error of answer.body.errors!) expect(error.extensions?.code).toBe(code);
  expect(answer.body.errors![0]!.message).toMatch(message);
};

const DEPTH_9 = '{ execution(id: "ex_demo_2") { events { edges { node { execution { events { nodes { execution { id } } } } } } } } }';
const ALIASES_31 = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
/** 2,001 tokens in under 5 KB, so it fits in a GET's URL too. */
const TOKENS_2001 = `{ ${'a '.repeat(1_999)}}`;

const ROWS: Row[] = [
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
      expect(answer.status).toBe(200);
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
    query: '{ __typename }',
    check: (answer, transport) => {
      if (transport === 'GET') {
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
    headers: { origin: 'https://evil.example' },
    query: '{ __typename }',
    check: (answer) => {
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-expose-headers')).toBeNull();
      expect(answer.headers.get('vary')).toMatch(/\bOrigin\b/);
    },
  },
  {
    title: 'the depth limit (8) refuses depth 9',
    query: DEPTH_9,
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /^Query depth limit of 8 exceeded, found 9\.$/),
  },
  {
    title: 'the alias limit (30) counts __typename aliases too',
    query: ALIASES_31,
    check: refusedWith('GRAPHQL_VALIDATION_FAILED', /^Aliases limit of 30 exceeded, found 31\.$/),
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
      expect(answer.body.errors).toEqual([{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
      expect(answer.text).not.toMatch(/secret|hunter2|at .*\.ts:\d+/);
    },
  },
];

function send(harness: Harness, row: Row, transport: Transport, query: string): Promise<Response> {
  const headers: Record<string, string> = {
    accept: 'application/graphql-response+json',
    ...(row.authorization === null ? {} : { authorization: row.authorization ?? AUTH }),
    ...row.headers,
  };
  if (transport === 'GET') return harness.fetch(`/graphql?${new URLSearchParams({ query })}`, { headers });
  if (transport === 'POST JSON') {
    return harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  }
  return harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/graphql' }, body: query });
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? (JSON.parse(text) as Answer['body']) : {} };
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
        it(`${transport}, fresh and warm`, async () => {
          // A text this process has not seen: the first request parses and validates it.
          const query = `${row.query} # cell ${++cell}`;
          for (const round of ['fresh', 'warm'] as const) {
            const got = await answer(await send(harness, row, transport, query));
            try {
              row.check(got, transport);
            } catch (error) {
              throw new GraphQLError(`${round} document: ${(error as Error).message}\n${got.status} ${got.text.slice(0, 300)}`);
            }
          }
        });
      }
    });
  }
});
