/**
 * What the gateway checks before it calls upstream, and what it sends when it
 * does: the caller's Authorization header as is, nothing without one, ids that
 * cannot address anything but `/v1/executions/<id>`, and at most 100 ids. Also
 * how it reads the HTTP request itself: media types in any case, Accept by
 * preference, and every malformed request answered with a 4xx, a body and a
 * code, never a 500. Every suite runs on both lanes.
 */
import { gzipSync } from 'node:zlib';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoExecutions, makeExecution } from '../src/demo/demo-data.js';
import { FORM_WITHOUT_QUERY } from '../src/errors.js';
import { useStableErrorCodes } from '../src/pipeline/error-codes.js';
import { AUTH, Harness, LANES, codes } from './support/harness.js';

const ONE = `query($id: ID!) { execution(id: $id) { id } }`;
const MANY = `query($ids: [ID!]!) { executions(ids: $ids) { id } }`;
const BULK_IDS = Array.from({ length: 101 }, (_, i) => `ex_bulk_${i}`);

describe.each(LANES)('request guards (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      upstream: {
        executions: [
          ...demoExecutions(),
          ...BULK_IDS.map((id) => makeExecution({ id, status: 'workflow_succeeded' })),
          makeExecution({ id: 'A-b_9', status: 'workflow_running' }),
          makeExecution({ id: '3f2b8c1e-9d4a-4e7b-8f00-1a2b3c4d5e6f', status: 'workflow_running' }),
        ],
      },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  describe('Authorization', () => {
    it.each([
      ['Bearer demo-token', 'Bearer demo-token', null],
      // The scheme in any case and any spaces after it (RFC 9110 §11.1, RFC 6750 §2.1): upstream's documented form,
      // which an upstream that reads only that one accepts (src/upstream/caller.ts).
      ['bearer demo-token', 'Bearer demo-token', null],
      ['BEARER \tdemo-token', 'Bearer demo-token', null],
      ['Bearer Demo-Token', 'Bearer Demo-Token', 'UNAUTHENTICATED'],
      ['Basic dXNlcjpwYXNz', 'Basic dXNlcjpwYXNz', 'UNAUTHENTICATED'],
      ['Bearer abc.DEF-ghi_jkl~+/=', 'Bearer abc.DEF-ghi_jkl~+/=', 'UNAUTHENTICATED'],
    ])('forwards %j to upstream as %j, the token exactly as sent', async (authorization, forwarded, code) => {
      const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization });
      expect(harness.upstream.requests).toHaveLength(1);
      expect(harness.upstream.requests[0]!.headers.authorization).toBe(forwarded);
      if (code === null) {
        expect(response.errors).toBeUndefined();
        expect(response.data).toEqual({ execution: { id: 'ex_demo_1' } });
      } else {
        // Upstream refused the token; the gateway reports upstream's 401, it does not judge the token itself.
        expect(response.data).toEqual({ execution: null });
        expect(response.errors![0]!.extensions).toMatchObject({ code, upstreamStatus: 401 });
      }
    });

    it('forwards the header on every upstream call of an executions(ids:) fan-out', async () => {
      const ids = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3'];
      const response = await harness.query(MANY, { ids });
      expect(response.errors).toBeUndefined();
      expect(harness.upstream.requests).toHaveLength(3);
      expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH, AUTH, AUTH]);
    });

    it('keeps concurrent callers apart: each upstream call carries its own caller’s token', async () => {
      harness.upstream.latencyMs = 50;
      const [good, bad] = await Promise.all([
        harness.query(ONE, { id: 'ex_demo_1' }, { authorization: AUTH }),
        harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'Bearer someone-else' }),
      ]);
      expect(good.errors).toBeUndefined();
      expect(good.data).toEqual({ execution: { id: 'ex_demo_1' } });
      expect(bad.data).toEqual({ execution: null });
      expect(codes(bad)).toEqual(['UNAUTHENTICATED']);
      expect(harness.upstream.requests.map((request) => request.headers.authorization).sort()).toEqual([AUTH, 'Bearer someone-else'].sort());
    });

    it.each([
      ['no Authorization header', {}],
      ['an empty Authorization header', { headers: { authorization: '' } }],
    ])('answers UNAUTHENTICATED with zero upstream calls for execution(id:) with %s', async (_name, options) => {
      const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: null, ...options });
      expect(response.data).toEqual({ execution: null });
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.path).toEqual(['execution']);
      // Not upstream's answer: no upstreamStatus, no upstreamRequestId.
      expect(response.errors![0]!.extensions).toEqual({ code: 'UNAUTHENTICATED' });
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('treats a blank Authorization header sent over HTTP as none (zero upstream calls)', async () => {
      // Over a real socket, as clients send it: HTTP strips the blanks, leaving an empty value.
      const response = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: '   ' },
        body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
      });
      const body = (await response.json()) as { data: unknown; errors: Array<{ extensions: unknown }> };
      expect(body.data).toEqual({ execution: null });
      expect(body.errors.map((error) => error.extensions)).toEqual([{ code: 'UNAUTHENTICATED' }]);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('answers UNAUTHENTICATED for each id of executions(ids:) with zero upstream calls when there is no header', async () => {
      const response = await harness.query(MANY, { ids: ['ex_demo_1', 'ex_demo_2'] }, { authorization: null });
      expect(response.data).toEqual({ executions: [null, null] });
      expect(codes(response)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
      expect(response.errors!.map((error) => error.path)).toEqual([
        ['executions', 0],
        ['executions', 1],
      ]);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['{ __schema { queryType { name } } }', { __schema: { queryType: { name: 'Query' } } }],
      ['{ __type(name: "Execution") { name kind } }', { __type: { name: 'Execution', kind: 'OBJECT' } }],
      ['{ __typename }', { __typename: 'Query' }],
    ])('serves introspection %s without a token and without calling upstream', async (query, data) => {
      const response = await harness.query(query, undefined, { authorization: null });
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual(data);
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });

  describe('execution ids', () => {
    const HOSTILE: Array<[string, string]> = [
      ['a slash', '/'],
      ['a path with a slash', 'ex_demo_1/events'],
      ['a dot-dot segment', '..'],
      ['a dot segment', '.'],
      ['a traversal to a sibling', '../ex_demo_2'],
      ['a traversal inside an id', 'ex_demo_1/../ex_demo_2'],
      ['an encoded slash', '%2F'],
      ['an encoded lowercase slash', 'a%2fb'],
      ['an encoded dot-dot', '%2e%2e'],
      ['an upper-case encoded dot-dot', '%2E%2E'],
      ['a double-encoded slash', '%252F'],
      ['a single space', ' '],
      ['an inner space', 'ex demo'],
      ['a trailing space', 'ex_demo_1 '],
      ['a leading space', ' ex_demo_1'],
      ['a query string', 'a?x=1'],
      ['a fragment', 'a#f'],
      ['the empty string', ''],
      ['65 characters', 'a'.repeat(65)],
      ['a trailing newline', 'ex_demo_1\n'],
      ['a CRLF header injection', 'ex_demo_1\r\nx-injected: 1'],
      ['a NUL byte', 'ex\u0000demo'],
      ['an encoded NUL', 'ex%00'],
      ['a tab', 'ex\tdemo'],
      ['a backslash', 'ex\\demo'],
      ['a semicolon', 'a;b'],
      ['an ampersand', 'a&b=1'],
      ['a plus', 'a+b'],
      ['a percent sign', '%'],
      ['a non-ASCII letter', 'ex_démo'],
      ['a full-width letter', 'ｅｘ_1'],
      ['a zero-width space', 'ex\u200bdemo'],
      ['a Kelvin sign (case-folds to k)', 'ex_\u212a'],
      ['an absolute URL', 'http://evil.example/x'],
      ['a scheme-relative URL', '//evil.example'],
    ];

    describe.each(HOSTILE)('%s', (_name, id) => {
      it('is BAD_USER_INPUT in execution(id:) with zero upstream calls', async () => {
        const response = await harness.query(ONE, { id });
        expect(response.data).toEqual({ execution: null });
        expect(response.errors).toHaveLength(1);
        expect(response.errors![0]!.path).toEqual(['execution']);
        expect(response.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT' });
        expect(harness.upstream.requests).toHaveLength(0);
      });

      it('is BAD_USER_INPUT in executions(ids:) with zero upstream calls', async () => {
        const response = await harness.query(MANY, { ids: [id] });
        expect(response.data).toEqual({ executions: [null] });
        expect(codes(response)).toEqual(['BAD_USER_INPUT']);
        expect(response.errors![0]!.path).toEqual(['executions', 0]);
        expect(harness.upstream.requests).toHaveLength(0);
      });

      it('fails alone among good ids, which are fetched at their exact paths only', async () => {
        const response = await harness.query(MANY, { ids: ['ex_demo_1', id, 'ex_demo_2'] });
        expect(response.data).toEqual({ executions: [{ id: 'ex_demo_1' }, null, { id: 'ex_demo_2' }] });
        expect(codes(response)).toEqual(['BAD_USER_INPUT']);
        expect(response.errors![0]!.path).toEqual(['executions', 1]);
        expect(harness.upstream.requests.map((request) => request.path).sort()).toEqual([
          '/v1/executions/ex_demo_1',
          '/v1/executions/ex_demo_2',
        ]);
      });
    });

    it('rejects a hostile id written as a literal in the query too', async () => {
      const response = await harness.query(`{ execution(id: "../ex_demo_2") { id } }`);
      expect(response.data).toEqual({ execution: null });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['ex_demo_1', true],
      ['3f2b8c1e-9d4a-4e7b-8f00-1a2b3c4d5e6f', true],
      ['A-b_9', true],
      ['-', false],
      ['_', false],
      ['0', false],
      ['a'.repeat(64), false],
      ['Z'.repeat(63) + '9', false],
    ])('sends accepted id %s to exactly /v1/executions/<id>', async (id, stored) => {
      const response = await harness.query(ONE, { id });
      expect(harness.upstream.requests).toHaveLength(1);
      expect(harness.upstream.requests[0]!.path).toBe(`/v1/executions/${id}`);
      expect(harness.upstream.requests[0]!.method).toBe('GET');
      if (stored) {
        expect(response.errors).toBeUndefined();
        expect(response.data).toEqual({ execution: { id } });
      } else {
        // Accepted by the gateway, unknown to upstream: upstream's own 404, not a gateway refusal.
        expect(response.data).toEqual({ execution: null });
        expect(response.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 404 });
      }
    });

    it('accepts an integer variable for an ID and sends its decimal form', async () => {
      await harness.query(ONE, { id: 42 });
      expect(harness.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/42']);
    });
  });

  describe('how many ids', () => {
    it('accepts 100 ids and fetches each once, in order', async () => {
      const ids = BULK_IDS.slice(0, 100);
      const response = await harness.query<{ executions: Array<{ id: string } | null> }>(MANY, { ids });
      expect(response.errors).toBeUndefined();
      expect(response.data!.executions.map((execution) => execution?.id)).toEqual(ids);
      expect(harness.upstream.requests).toHaveLength(100);
      expect(new Set(harness.upstream.requests.map((request) => request.path))).toEqual(new Set(ids.map((id) => `/v1/executions/${id}`)));
    });

    it('refuses 101 ids with BAD_USER_INPUT and zero upstream calls', async () => {
      const response = await harness.query(MANY, { ids: BULK_IDS });
      expect(BULK_IDS).toHaveLength(101);
      expect(response.data).toBeNull();
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.path).toEqual(['executions']);
      expect(response.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT' });
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('counts ids as sent: 101 copies of one id are refused too', async () => {
      const response = await harness.query(MANY, { ids: Array.from({ length: 101 }, () => 'ex_demo_1') });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('refuses 101 ids before checking them: no per-id errors, no upstream calls', async () => {
      const response = await harness.query(MANY, { ids: [...BULK_IDS.slice(0, 100), '../x'] });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.path).toEqual(['executions']);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('tells an id past 1024 characters what the default pattern allows, not only the length bound', async () => {
      const response = await harness.query(ONE, { id: 'x'.repeat(10_240) });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0]?.message).toContain('it is 10240 characters long; ids are 1-64 characters');
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('answers an empty list for no ids without calling upstream', async () => {
      const response = await harness.query(MANY, { ids: [] });
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ executions: [] });
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });

  describe('with a permissive EXECUTION_ID_PATTERN, the path stays one encoded segment', () => {
    // Operators may widen the allow-list; the dot-segment check and the encoding must still hold.
    let permissive: Harness;
    beforeAll(async () => {
      permissive = await Harness.start({ lane, env: { EXECUTION_ID_PATTERN: '^[\\s\\S]{1,64}$' } });
    });
    afterAll(() => permissive.close());
    beforeEach(() => permissive.upstream.reset());

    it.each(['.', '..'])('still refuses the dot segment %j with zero upstream calls', async (id) => {
      const response = await permissive.query(ONE, { id });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(permissive.upstream.requests).toHaveLength(0);
    });

    it('refuses an id holding half a surrogate pair with BAD_USER_INPUT and zero upstream calls, by query, batch and watch', async () => {
      // JSON can carry a lone surrogate ("\ud800"); no URL can: it was INTERNAL_SERVER_ERROR, and a watch's outage notice.
      const response = await permissive.query(ONE, { id: 'ex\ud800' });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors?.[0]?.message).toBe('Invalid execution id "ex\\ud800": it holds half of a UTF-16 surrogate pair, which is no character.');
      const batch = await permissive.query('query($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids: ['ex_demo_1', '\udc00ex'] });
      expect(codes(batch)).toEqual(['BAD_USER_INPUT']);
      expect(batch.errors?.[0]?.path).toEqual(['executions', 1]);
      const watch = await permissive.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
        body: JSON.stringify({ query: 'subscription($id: ID!) { executionUpdates(id: $id) { isFinal } }', variables: { id: 'ex\ud800' } }),
      });
      const events = await watch.text();
      expect(events).toContain('"code":"BAD_USER_INPUT"');
      expect(events).toMatch(/event: complete/);
      expect(permissive.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_demo_1']);
    });

    it('still refuses the empty id with zero upstream calls', async () => {
      const response = await permissive.query(ONE, { id: '' });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(permissive.upstream.requests).toHaveLength(0);
    });

    it('refuses an id over 1024 characters with zero upstream calls, and sends one of 1024', async () => {
      // The pattern bounds no length: the gateway's own bound keeps the path segment sane.
      const open = await Harness.start({ lane, env: { EXECUTION_ID_PATTERN: '^[\\s\\S]+$' } });
      try {
        const refused = await open.query(ONE, { id: 'x'.repeat(1025) });
        expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
        expect(refused.errors?.[0]?.message).toContain('it is 1025 characters long; ids are at most 1024 characters.');
        expect(open.upstream.requests).toHaveLength(0);
        await open.query(ONE, { id: 'x'.repeat(1024) });
        expect(open.upstream.requests.map((request) => request.path)).toEqual([`/v1/executions/${'x'.repeat(1024)}`]);
      } finally {
        await open.close();
      }
    });

    it.each(['/', '../ex_demo_2', 'a?x=1', 'a#f', '%2F', '%2e%2e', 'a b', 'a.b', '...'])(
      'sends %j percent-encoded as the single last segment of /v1/executions/',
      async (id) => {
        await permissive.query(ONE, { id });
        expect(permissive.upstream.requests.map((request) => request.path)).toEqual([`/v1/executions/${encodeURIComponent(id)}`]);
        expect(permissive.upstream.requests[0]!.path).toMatch(/^\/v1\/executions\/[^/?#]+$/);
      },
    );
  });

  /** A raw request over HTTP, with the answer's text kept to assert on what is not in it. */
  async function send(path: string, init: RequestInit) {
    const response = await harness.fetch(path, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
  }

  describe('a document whose operation cannot be picked: OPERATION_RESOLUTION_FAILURE that names its operations', () => {
    const TWO = 'query First { __typename } query Second { __typename }';
    const ANONYMOUS_BESIDE = (listed: string) =>
      `The document holds an operation without a name beside others (${listed}): an anonymous operation must be the only one of its document. Name each operation and send \`operationName\` naming the one to run, or send that operation alone.`;
    const json = (body: Record<string, unknown>) =>
      send('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: AUTH }, body: JSON.stringify(body) });

    it.each([
      ['several operations and no operationName (POST)', () => json({ query: TWO }), 'The document holds several operations (First, Second): send `operationName` naming the one to run.'],
      [
        'several operations and no operationName (GET)',
        () => send(`/graphql?query=${encodeURIComponent(TWO)}`, { headers: { accept: 'application/json', authorization: AUTH } }),
        'The document holds several operations (First, Second): send `operationName` naming the one to run.',
      ],
      [
        'an operationName naming none of them',
        () => json({ query: TWO, operationName: 'Third' }),
        "`operationName` names none of the document's operations (First, Second): send one of these names, or none for a document of one operation.",
      ],
      ['an operationName that is no string', () => json({ query: TWO, operationName: 7 }), "`operationName` must be a string naming one of the document's operations (First, Second)."],
      ['fragments only', () => json({ query: 'fragment F on Query { __typename }' }), 'The document holds no operation, only fragments: add the query or subscription to run.'],
      // No operationName can pick an anonymous operation, nor make the document valid (GraphQL's Lone Anonymous
      // Operation rule): "send `operationName` naming the one to run" sent the caller round in circles.
      ['an anonymous operation beside a named one', () => json({ query: '{ __typename } query Second { __typename }' }), ANONYMOUS_BESIDE('(anonymous), Second')],
      ['two anonymous operations', () => json({ query: '{ __typename } { __typename }' }), ANONYMOUS_BESIDE('(anonymous), (anonymous)')],
      ['an anonymous operation and an operationName naming none', () => json({ query: '{ __typename } query Second { __typename }', operationName: 'Third' }), ANONYMOUS_BESIDE('(anonymous), Second')],
      // Neither names an operation: "names an operation, but…" was wrong for both.
      ['a lone anonymous operation and an empty operationName', () => json({ query: '{ __typename }', operationName: '' }), '`operationName` is empty, which names no operation: leave it out, or send the name of the one to run ((anonymous)).'],
      ['a lone anonymous operation and an operationName that is no string', () => json({ query: '{ __typename }', operationName: 7 }), "`operationName` must be a string naming one of the document's operations ((anonymous))."],
      ['two operations and an empty operationName', () => json({ query: TWO, operationName: '' }), '`operationName` is empty, which names no operation: leave it out, or send the name of the one to run (First, Second).'],
      [
        'a lone anonymous operation and an operationName naming none',
        () => json({ query: '{ __typename }', operationName: 'Third' }),
        "`operationName` names an operation, but the document's only operation has no name: leave `operationName` out, or name the operation (`query Name { … }`).",
      ],
    ] as Array<[string, () => ReturnType<typeof send>, string]>)('%s: 400 and what to send', async (_name, request, message) => {
      const answer = await request();
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([{ message, extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } }]);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('lists at most 10 names, and how many there are', async () => {
      const query = Array.from({ length: 12 }, (_, i) => `query Op${i} { __typename }`).join(' ');
      const answer = await json({ query });
      expect(answer.body.errors![0]!.message).toBe(
        'The document holds several operations (Op0, Op1, Op2, Op3, Op4, Op5, Op6, Op7, Op8, Op9, … (12 in all)): send `operationName` naming the one to run.',
      );
    });
  });

  describe('malformed requests: a 4xx with a body and a code, never a 500', () => {
    /** Text in a malformed body that must not come back. */
    const MARKER = 'client_body_marker_5e1f';
    /** Cut off inside the query string: JSON up to there, then nothing. */
    const NOT_JSON = `{"query": "{ execution(id: \\"ex_demo_1\\") { id } } # ${MARKER}`;

    it.each(['application/graphql-response+json', 'application/json', '*/*'])(
      'answers a POST body that is not JSON with 400 BAD_REQUEST under Accept: %s, without repeating the body',
      async (accept) => {
        const answer = await send('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept, authorization: AUTH }, body: NOT_JSON });
        expect(answer.status).toBe(400);
        expect(answer.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
        expect(answer.body.data).toBeUndefined();
        expect(answer.body.errors).toHaveLength(1);
        // The code and nothing else: no `originalError`, no `http`.
        expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
        for (const echoed of [MARKER, 'ex_demo_1', 'originalError', 'stack']) expect(answer.text).not.toContain(echoed);
        expect(harness.upstream.requests).toHaveLength(0);
      },
    );

    // `curl -d '{"query": …}'` without `-H 'content-type: application/json'` sends a form: its one
    // field is the whole JSON text, so there is no `query` field, and "Must provide query string."
    // told a caller who had sent one nothing about what to change.
    it.each([
      ['JSON sent as a form (curl -d without a Content-Type)', JSON.stringify({ query: '{ execution(id: "ex_demo_1") { id } }' })],
      ['an empty form', ''],
    ])('answers %s with 400 BAD_REQUEST saying the body was read as a form and to send application/json', async (_name, body) => {
      const answer = await send('/graphql', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: AUTH }, body });
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.body.errors![0]!.message).toBe(FORM_WITHOUT_QUERY);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('still runs a form that carries a query, and still answers a GET without one "Must provide query string."', async () => {
      const form = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: AUTH },
        body: `query=${encodeURIComponent('{ execution(id: "ex_demo_1") { id } }')}`,
      });
      expect(form.body).toMatchObject({ data: { execution: { id: 'ex_demo_1' } } });
      const get = await send('/graphql?variables=%7B%7D', { method: 'GET', headers: { accept: 'application/json', authorization: AUTH } });
      expect(get.status).toBe(400);
      expect(get.body.errors![0]!.message).toBe('Must provide query string.');
    });

    it('answers a form whose `query` field is empty "Must provide query string.", as GET and JSON do: the field is there', async () => {
      const headers = { accept: 'application/json', authorization: AUTH };
      const answers = [
        await send('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=' }),
        await send('/graphql?query=', { method: 'GET', headers }),
        await send('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query: '' }) }),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(400);
        expect(answer.body.errors).toEqual([{ message: 'Must provide query string.', extensions: { code: 'BAD_REQUEST' } }]);
      }
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['an unsupported media type', 415, '/graphql', { method: 'POST', headers: { 'content-type': 'application/xml', authorization: AUTH }, body: '<query/>' }],
      [
        'an Accept the gateway cannot answer',
        406,
        '/graphql',
        { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/html', authorization: AUTH }, body: JSON.stringify({ query: '{ __typename }' }) },
      ],
      ['a path other than /graphql', 404, '/graphq', { method: 'GET', headers: { authorization: AUTH } }],
      // Yoga alone would serve GraphQL at each of these: any URL ending in /graphql.
      ['a path that ends in /graphql', 404, '/x/graphql', { method: 'GET', headers: { authorization: AUTH } }],
      ['a query string that ends in /graphql', 404, '/nope?to=/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['a CORS preflight to another path', 404, '/nope', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } }],
      ['a method other than GET and POST', 405, '/graphql', { method: 'PUT', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query: '{ __typename }' }) }],
      ['a mutation over GET', 405, `/graphql?query=${encodeURIComponent('mutation { __typename }')}`, { method: 'GET', headers: { authorization: AUTH } }],
    ] as Array<[string, number, string, RequestInit]>)('answers %s with %i and a GraphQL error body with a code (Yoga sends none for 404, 406, 415)', async (_name, status, path, init) => {
      const answer = await send(path, init);
      expect(answer.status).toBe(status);
      if (status === 405) expect(answer.body.errors![0]!.message).toMatch(answer.headers.get('allow') === 'POST' ? /from a POST request/ : /supports GET and POST/);
      if (status === 404) expect(answer.body.errors![0]!.message).toBe('Not found: GraphQL is served at /graphql.');
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors![0]!.message).not.toBe('');
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['an Accept it cannot answer', 'image/png'],
      ['two types it cannot answer', 'application/xml, text/plain'],
    ])('answers a mutation over GET with %s with 405 and Allow: POST, not 406: the method is checked first (RFC 9110)', async (_name, accept) => {
      const path = `/graphql?query=${encodeURIComponent('query Q { __typename } mutation M { __typename }')}&operationName=M`;
      const answer = await send(path, { method: 'GET', headers: { accept, authorization: AUTH } });
      expect(answer.status).toBe(405);
      expect(answer.headers.get('allow')).toBe('POST');
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      // What the pipeline answers the same GET that takes JSON: one refusal, whatever the Accept.
      const accepted = await send(path, { method: 'GET', headers: { accept: 'application/json', authorization: AUTH } });
      expect(accepted.status).toBe(405);
      expect(accepted.headers.get('allow')).toBe('POST');
      expect(answer.body).toEqual(accepted.body);
      expect(answer.body.errors![0]).toEqual({ message: 'Can only perform a mutation operation from a POST request.', extensions: { code: 'BAD_REQUEST' } });
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('reads an empty operationName as none, as Yoga does: a GET of a document\'s only mutation is 405 with any Accept', async () => {
      const path = `/graphql?query=${encodeURIComponent('mutation M { __typename }')}&operationName=`;
      for (const accept of ['image/png', 'application/json']) {
        const answer = await send(path, { method: 'GET', headers: { accept, authorization: AUTH } });
        expect(answer.status).toBe(405);
        expect(answer.headers.get('allow')).toBe('POST');
      }
    });

    it('answers a POST whose URL names a mutation with 406 when it cannot answer the Accept: the method allows mutations', async () => {
      const answer = await send(`/graphql?query=${encodeURIComponent('mutation { __typename }')}`, {
        method: 'POST',
        headers: { accept: 'image/png', 'content-type': 'application/json', authorization: AUTH },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(answer.status).toBe(406);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
    });

    it.each([
      ['a query', `query=${encodeURIComponent('{ __typename }')}`],
      ['the query of a document that also holds a mutation', `query=${encodeURIComponent('query Q { __typename } mutation M { __typename }')}&operationName=Q`],
      ['a document that does not parse', `query=${encodeURIComponent('mutation {')}`],
      ['a subscription', `query=${encodeURIComponent('subscription { executionUpdates(id: "ex_demo_1") { isFinal } }')}`],
      ['no query at all', 'operationName=M'],
      // Past the token limit the edge parses no further, as the pipeline would not: a document's size buys no parse.
      ['a mutation past the token limit', `query=mutation{${'a+'.repeat(2_001)}}`],
    ])('still answers a GET of %s with an Accept it cannot answer with 406', async (_name, search) => {
      const answer = await send(`/graphql?${search}`, { method: 'GET', headers: { accept: 'image/png', authorization: AUTH } });
      expect(answer.status).toBe(406);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
    });

    it('serves /graphql/ as /graphql, Accept negotiated the same', async () => {
      const answer = await send('/graphql/', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json;q=0.1, application/graphql-response+json', authorization: AUTH },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      expect(answer.body.data).toEqual({ __typename: 'Query' });
    });

    it('cuts a message quoting a huge variable value at 500 characters: the value does not come back whole', async () => {
      const huge = 'v'.repeat(20_000);
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
        body: JSON.stringify({ query: 'query($first: Int) { execution(id: "ex_demo_1") { events(first: $first) { totalCount } } }', variables: { first: huge } }),
      });
      expect(answer.status).toBe(400);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.body.errors![0]!.message).toMatch(/^Variable "\$first" got invalid value/);
      expect(answer.body.errors![0]!.message.length).toBeLessThanOrEqual(500);
      expect(answer.text.length).toBeLessThan(1_000);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['a JSON body without query', 'POST', '{}'],
      ['a JSON body whose query is null', 'POST', '{"query":null}'],
      ['a GET without query', 'GET', null],
    ])('answers %s with 400 BAD_REQUEST under Accept: application/json too (Yoga answers 200 there)', async (_name, method, body) => {
      const answer = await send('/graphql', {
        method,
        headers: { accept: 'application/json', authorization: AUTH, 'x-graphql-yoga-csrf': '1', ...(body === null ? {} : { 'content-type': 'application/json' }) },
        ...(body === null ? {} : { body }),
      });
      expect(answer.status).toBe(400);
      expect(answer.body.errors!.map((error) => error.extensions?.code)).toEqual(['BAD_REQUEST']);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it.each([
      ['variables', `variables=${encodeURIComponent('{id:')}`],
      ['extensions', `variables=${encodeURIComponent('{"id":"ex_demo_1"}')}&extensions=${encodeURIComponent('{id:')}`],
    ])('answers a GET whose %s is not JSON with 400 BAD_REQUEST, and logs no error and no stack', async (_name, parameters) => {
      const logged = harness.logs.length;
      const rawLogged = harness.rawLogs.length;
      const answer = await send(`/graphql?query=${encodeURIComponent(ONE)}&${parameters}`, { method: 'GET', headers: { authorization: AUTH } });
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.text).not.toMatch(/stack|originalError|SyntaxError/);
      expect(harness.upstream.requests).toHaveLength(0);
      // Anything logged for this request has been written by now; give a late line a turn anyway.
      await new Promise((resolve) => setImmediate(resolve));
      const lines = harness.logs.slice(logged);
      expect(lines.filter((line) => Number(line.level) >= 50)).toEqual([]);
      expect(harness.rawLogs.slice(rawLogged)).not.toContain('stack');
    });

    // Yoga read the first; a cache or a filter in front may read the last (parameter pollution).
    it.each([
      ['query', `query=${encodeURIComponent(ONE)}&query=${encodeURIComponent('{ __typename }')}&variables=${encodeURIComponent('{"id":"ex_demo_1"}')}`],
      ['variables', `query=${encodeURIComponent(ONE)}&variables=${encodeURIComponent('{"id":"ex_demo_1"}')}&variables=${encodeURIComponent('{"id":"ex_demo_2"}')}`],
      ['operationName', `query=${encodeURIComponent('query A { __typename } query B { __typename }')}&operationName=A&operationName=B`],
      ['extensions', `query=${encodeURIComponent('{ __typename }')}&extensions=%7B%7D&extensions=%7B%7D`],
      ['documentId', `documentId=sha256%3A${'a'.repeat(64)}&documentId=sha256%3A${'b'.repeat(64)}`],
      // Named for the repeat, not for the first value's JSON: the repeat is the client's mistake.
      ['variables', `query=${encodeURIComponent(ONE)}&variables=%7Bbad&variables=${encodeURIComponent('{"id":"ex_demo_2"}')}`],
      ['query', `%71uery=${encodeURIComponent(ONE)}&query=${encodeURIComponent('{ __typename }')}`],
    ])('answers a GET or a form that gives `%s` twice with 400 BAD_REQUEST naming it, with no upstream call', async (name, parameters) => {
      const sent: RequestInit[] = [
        { method: 'GET', headers: { accept: 'application/json', authorization: AUTH } },
        { method: 'POST', headers: { accept: 'application/json', authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf': '1' }, body: parameters },
      ];
      for (const init of sent) {
        const answer = await send(init.method === 'GET' ? `/graphql?${parameters}` : '/graphql', init);
        expect(answer.status, init.method).toBe(400);
        expect(answer.body.data).toBeUndefined();
        expect(answer.body.errors, init.method).toEqual([
          {
            message: `The parameter \`${name}\` is given more than once: send each of \`query\`, \`operationName\`, \`variables\`, \`extensions\`, \`documentId\` at most once.`,
            extensions: { code: 'BAD_REQUEST' },
          },
        ]);
      }
      expect(harness.upstream.requests).toHaveLength(0);
    });

    // JSON.parse keeps the last member of a name; a cache or a filter in front may read the first.
    it.each([
      ['query', `{"query":"{ execution(id: \\"ex_demo_1\\") { id } }","query":"{ __typename }"}`, 'application/json'],
      ['variables', `{"query":${JSON.stringify(ONE)},"variables":{"id":"ex_demo_1"},"variables":{"id":"ex_demo_2"}}`, 'application/json'],
      ['operationName', `{"query":"query A { __typename } query B { __typename }","operationName":"A","operationName":"B"}`, 'application/graphql+json'],
      ['extensions', `{"query":"{ __typename }","extensions":{},\n  "extensions" : {}}`, 'application/json; charset=utf-8'],
      ['documentId', `{"documentId":"sha256:${'a'.repeat(64)}","documentId":"sha256:${'b'.repeat(64)}"}`, 'application/json'],
      // The same name, escaped: JSON.parse reads both as `query`.
      ['query', `{"\\u0071uery":${JSON.stringify(ONE)},"query":"{ __typename }","variables":{"id":"ex_demo_1"}}`, 'application/json'],
      // With a byte order mark, read without it (README "Paths, methods and media types").
      ['query', `\ufeff{"query":"{ __typename }","query":"{ __typename }"}`, 'application/json'],
      ['x', `{"query":"{ __typename }","x":1,"x":1}`, 'application/json'],
    ])('answers a JSON body that gives `%s` twice with 400 BAD_REQUEST naming it, with no upstream call', async (name, body, contentType) => {
      const answer = await send('/graphql', { method: 'POST', headers: { accept: 'application/json', authorization: AUTH, 'content-type': contentType }, body });
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors).toEqual([
        { message: `The parameter \`${name}\` is given more than once in the JSON body: send each of its members at most once.`, extensions: { code: 'BAD_REQUEST' } },
      ]);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('serves a JSON body whose names repeat only in nested objects, or in strings', async () => {
      const body = `{"query":${JSON.stringify(`${ONE} # "query": "query":`)},"variables":{"id":"ex_demo_2","id":"ex_demo_1"},"extensions":{"a":{"b":1,"b":2}}}`;
      const answer = await send('/graphql', { method: 'POST', headers: { accept: 'application/json', authorization: AUTH, 'content-type': 'application/json' }, body });
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ execution: { id: 'ex_demo_1' } });
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('serves a GET whose other parameters repeat, and one that gives each GraphQL parameter once', async () => {
      const answer = await send(`/graphql?query=${encodeURIComponent(ONE)}&variables=${encodeURIComponent('{"id":"ex_demo_1"}')}&utm=a&utm=b`, {
        method: 'GET',
        headers: { accept: 'application/json', authorization: AUTH },
      });
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ execution: { id: 'ex_demo_1' } });
      expect(harness.upstream.requests).toHaveLength(1);
    });
  });

  describe('media types', () => {
    it.each([
      'Application/JSON',
      'APPLICATION/JSON; charset=utf-8',
      'application/json; Charset="UTF-8"',
      'application/json; charset=utf8',
      'application/json ; charset = utf-8',
      'application/json; charset=us-ascii',
      'application/json; charset=ISO-8859-1',
    ])('reads a body sent as %s (media type names are case-insensitive)', async (contentType) => {
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': contentType, accept: 'application/graphql-response+json', authorization: AUTH },
        body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
      });
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ execution: { id: 'ex_demo_1' } });
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it.each([
      ['application/json;q=0.5, application/graphql-response+json', 'application/graphql-response+json'],
      ['application/graphql-response+json;q=0.1, application/json', 'application/json'],
      ['text/html;q=0.9, application/graphql-response+json;q=0.8, application/json;q=0.7', 'application/graphql-response+json'],
      // Parameters Yoga does not read are no reason to refuse.
      ['application/json; version=2', 'application/json'],
      // A quoted charset is the same charset.
      ['application/graphql-response+json; charset="utf-8"', 'application/graphql-response+json'],
      ['application/json; charset="UTF-8";q=0.5, application/graphql-response+json;q="0.4"', 'application/json'],
      // An exclusion holds under a wildcard, which otherwise gets application/json as before.
      ['*/*, text/html;q=0', 'application/json'],
      ['*/*, application/json;q=0', 'application/graphql-response+json'],
      ['application/*;q=0.5, application/json;q=0', 'application/graphql-response+json'],
      ['*/*;q=0.1, application/graphql-response+json;q=0', 'application/json'],
      // An unreadable q-value is no exclusion: the entry counts as q=1.
      ['application/json;q=abc', 'application/json'],
      ['application/graphql-response+json;q=2, application/json;q=0.5', 'application/graphql-response+json'],
      // More than three decimals is no q-value (RFC 9110 §12.4.2): it counts as q=1 too.
      ['application/json;q=0.0001, application/graphql-response+json;q=0.5', 'application/json'],
      // Without q-values the order decides: the first entry the gateway sends, as Yoga reads it.
      ['*/*, application/graphql-response+json', 'application/json'],
      ['application/json, application/graphql-response+json', 'application/json'],
      ['application/graphql-response+json, application/json', 'application/graphql-response+json'],
    ])('honours q-values: Accept: %s is answered as %s', async (accept, mediaType) => {
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept, authorization: AUTH },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')?.split(';')[0]).toBe(mediaType);
      expect(answer.body.data).toEqual({ __typename: 'Query' });
    });

    // Yoga's own check took any Accept that mentions text/html: a client preferring JSON got the 9 MB page instead.
    it.each([
      ['application/json, text/html;q=0.1', 'application/json'],
      ['application/graphql-response+json, application/json;q=0.9, text/html;q=0.5', 'application/graphql-response+json'],
      ['text/event-stream, text/html;q=0.1', 'text/event-stream'],
      ['application/json, text/html', 'application/json'],
      ['text/html;q=0.5, application/json', 'application/json'],
      ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'text/html'],
      ['*/*;q=0.8, text/html', 'text/html'],
      ['text/html, application/json', 'text/html'],
    ])("answers a GET with an operation and Accept: %s as %s: GraphiQL's page only when it is preferred", async (accept, mediaType) => {
      const response = await harness.fetch(`/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept, authorization: AUTH } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')?.split(';')[0]).toBe(mediaType);
      const text = await response.text();
      if (mediaType === 'text/html') expect(text.trimStart()).toMatch(/^<!doctype html>/i);
      else expect(text).toContain('"__typename":"Query"');
    });

    it('answers Accept: multipart/mixed;deferSpec=20220824 (Apollo incremental delivery) as multipart/mixed', async () => {
      const response = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824', authorization: AUTH },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^multipart\/mixed/);
      expect(await response.text()).toContain('"__typename":"Query"');
    });

    it('answers a validation error as the preferred media type says: 400 for application/graphql-response+json, 200 for application/json', async () => {
      const invalid = (accept: string) =>
        send('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept, authorization: AUTH }, body: JSON.stringify({ query: '{ nope }' }) });
      const preferred = await invalid('application/json;q=0.5, application/graphql-response+json');
      expect(preferred.status).toBe(400);
      expect(preferred.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
      const legacy = await invalid('application/graphql-response+json;q=0.1, application/json');
      expect(legacy.status).toBe(200);
      expect(legacy.headers.get('content-type')).toMatch(/^application\/json/);
      for (const answer of [preferred, legacy]) expect(answer.body.errors!.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    });

    describe('a body declared ISO-8859-1 is read as its bytes say, not as UTF-8', () => {
      const LITERAL = `{ execution(id: "café") { id } }`;
      const form = (fields: Record<string, string>) =>
        Object.entries(fields)
          .map(([name, value]) => `${name}=${escape(value)}`)
          .join('&');
      it.each([
        ['application/json; charset=ISO-8859-1', JSON.stringify({ query: ONE, variables: { id: 'café' } })],
        ['application/json;charset="latin1"', JSON.stringify({ query: ONE, variables: { id: 'café' } })],
        ['application/graphql; charset=iso-8859-1', LITERAL],
        // Percent-escapes name ISO-8859-1 bytes: escape() writes é as %E9.
        ['application/x-www-form-urlencoded; charset=ISO-8859-1', form({ query: ONE, variables: JSON.stringify({ id: 'café' }) })],
        // A client that sends a raw byte over 0x7F in a form.
        ['application/x-www-form-urlencoded; charset=ISO-8859-1', `query=${encodeURIComponent(ONE)}&variables=${encodeURIComponent('{"id":"caf')}\u00e9${encodeURIComponent('"}')}`],
      ])('%s: %j', async (contentType, text) => {
        const answer = await send('/graphql', {
          method: 'POST',
          headers: { 'content-type': contentType, accept: 'application/json', authorization: AUTH, 'x-graphql-yoga-csrf': '1' },
          body: Buffer.from(text, 'latin1'),
        });
        expect(answer.status).toBe(200);
        expect(answer.body.errors![0]!.message).toContain('"café"');
        expect(answer.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
        expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
        expect(harness.upstream.requests).toHaveLength(0);
      });

      it('reads the same body declared UTF-8 as UTF-8', async () => {
        const answer = await send('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/json', authorization: AUTH },
          body: Buffer.from(JSON.stringify({ query: ONE, variables: { id: 'café' } }), 'utf8'),
        });
        expect(answer.body.errors![0]!.message).toContain('"café"');
      });
    });

    it.each(['application/json; charset="utf-16"', 'application/json; charset=shift_jis'])(
      'answers a body sent as %s with 415 and a code: bytes are read as UTF-8',
      async (contentType) => {
        const answer = await send('/graphql', {
          method: 'POST',
          headers: { 'content-type': contentType, accept: 'application/json', authorization: AUTH },
          body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
        });
        expect(answer.status).toBe(415);
        expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
        // Every charset the edge reads, so a Java client declaring ISO-8859-1 is not sent away.
        expect(answer.body.errors![0]!.message).toBe(
          'Unsupported media type: send application/json, application/graphql or application/x-www-form-urlencoded, with charset utf-8, us-ascii or iso-8859-1 (or none: UTF-8), or use GET.',
        );
        expect(harness.upstream.requests).toHaveLength(0);
      },
    );

    it.each([
      ['gzip', gzipSync(JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }))],
      // A coding said but not applied was served as if none was said.
      ['gzip', Buffer.from(JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }))],
      ['br', Buffer.from(JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }))],
    ])('answers a body with Content-Encoding: %s with 415 saying so, and Accept-Encoding: identity (RFC 9110 §15.5.16)', async (coding, body) => {
      // A gzipped body was read as it came: "POST body sent invalid JSON." said nothing of the coding.
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': coding, accept: 'application/json', authorization: AUTH },
        body,
      });
      expect(answer.status).toBe(415);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.body.errors![0]!.message).toContain('Content-Encoding');
      expect(answer.headers.get('accept-encoding')).toBe('identity');
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('answers a Content-Encoding with a long run of spaces in one coding as soon as any other', async () => {
      // `/^\s*(?:identity)?\s*$/` tried the second `\s*` from each space the first gave back: time in the square of the
      // run, on the event loop, for anyone who can send a header (node takes 15,000 spaces in one). CPU time, which other
      // processes on the machine do not add to; warmed up first.
      const request = (coding: string) =>
        send('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': coding, accept: 'application/json', authorization: AUTH },
          body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
        });
      await request('gzip');
      const cpu = process.cpuUsage();
      for (let i = 0; i < 4; i++) {
        const answer = await request(`identity,${' '.repeat(15_000)}x`);
        expect(answer.status).toBe(415);
        expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      }
      const { user, system } = process.cpuUsage(cpu);
      expect((user + system) / 1000, 'CPU ms for four answers').toBeLessThan(300);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('serves a body with Content-Encoding: identity, which is no coding at all', async () => {
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'identity', accept: 'application/json', authorization: AUTH },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      expect(answer.status).toBe(200);
      expect(answer.body.data).toEqual({ __typename: 'Query' });
    });

    it('answers an empty body labelled gzip as the empty body it is, not 415: there is nothing to decode', async () => {
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', accept: 'application/json', authorization: AUTH },
        body: '',
      });
      expect(answer.status).toBe(400);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.body.errors![0]!.message).not.toContain('Content-Encoding');
      expect(answer.headers.get('accept-encoding')).toBeNull();
      expect(harness.upstream.requests).toHaveLength(0);
    });

    // text/html is GraphiQL's page, which only a GET gets: a POST taking only it ran its operation, upstream calls
    // included (and was told to send its body, 100 Continue), for Yoga's 406 at the end.
    it.each(['application/xml', 'application/json; charset=iso-8859-1', 'text/html', 'application/xhtml+xml, text/html'])(
      'answers Accept: %s (nothing the gateway sends) with 406 before any work: no upstream call',
      async (accept) => {
        const answer = await send('/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept, authorization: AUTH },
          body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
        });
        expect(answer.status).toBe(406);
        expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
        // Decided before the operation is known: what a POST may be answered with (GraphiQL's page is for GET).
        expect(answer.body.errors![0]!.message).toBe('Not acceptable: accept application/json, application/graphql-response+json, text/event-stream or multipart/mixed (in UTF-8); a subscription, text/event-stream only (or a WebSocket to the same URL, subprotocol graphql-transport-ws).');
        // As Yoga's own 406 does: what would have been acceptable.
        expect(answer.headers.get('accept')).toBe(
          'application/json; charset=utf-8, application/graphql-response+json; charset=utf-8, text/event-stream; charset=utf-8, multipart/mixed; charset=utf-8',
        );
        expect(harness.upstream.requests).toHaveLength(0);
      },
    );

    it('answers 406 with a body, and calls nothing upstream, when every Accept entry has q=0', async () => {
      const answer = await send('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json;q=0, application/json; q=0', authorization: AUTH },
        body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
      });
      expect(answer.status).toBe(406);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });
});

describe('error messages sent', () => {
  /** The messages the stable-codes step sends for errors with these messages. */
  function sent(...messages: string[]): string[] {
    let out: ExecutionResult | undefined;
    const onResultProcess = useStableErrorCodes().onResultProcess as (payload: unknown) => void;
    onResultProcess({ result: { errors: messages.map((message) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } })) }, setResult: (next: ExecutionResult) => (out = next) });
    return (out?.errors ?? []).map((error) => error.message);
  }

  it('keeps a message of 500 characters whole and cuts one of 501 to 500, the last an ellipsis', () => {
    const [whole, cut] = sent('a'.repeat(500), 'b'.repeat(501));
    expect(whole).toBe('a'.repeat(500));
    expect(cut).toBe(`${'b'.repeat(499)}…`);
  });
});
