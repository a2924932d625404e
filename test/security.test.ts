/**
 * The gateway's security promises, each proven by a test that fails when the
 * promise breaks: operation limits (GraphQL Armor), hidden field suggestions,
 * introspection switched off on every content type, request body limits, CSRF,
 * CORS, the request id on every answer, the HTTP edge's time limits, error
 * masking in production, no token in the logs, and callers kept apart.
 *
 * Every suite that talks to the gateway runs on both lanes (`LANES`): the
 * harness composes the gateway as production does and sends real HTTP to it.
 *
 * "Zero upstream calls" is asserted wherever the gateway must refuse before
 * doing any upstream work: the fake upstream records every request it gets.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { getIntrospectionQuery, Lexer, parse, Source, TokenKind, validate, type ExecutionResult } from 'graphql';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultOperationLimits, readConfig } from '../src/config.js';
import { DEMO_ORGANIZATION, demoExecutions, makeExecution } from '../src/demo/demo-data.js';
import { CSRF_HEADER_MISSING } from '../src/errors.js';
import { PREFLIGHT_MAX_AGE_S, REFUSED_ORIGINS_TOLD, REFUSED_ORIGINS_WINDOW_MS, refusedOriginLog } from '../src/pipeline/cors.js';
import { schema } from '../src/schema/index.js';
import { captureLog } from './support/captured-log.js';
import { AUTH, Harness, LANES, codes } from './support/harness.js';
import { rawExchange, resetBeforeRead } from './support/raw-http.js';

/** The operation limits as their settings default them (src/config.ts, OPERATION_MAX_*): the gateways here set none. */
const OPERATION_LIMITS = defaultOperationLimits();

const ONE = `query($id: ID!) { execution(id: $id) { id } }`;
/** The deepest useful query, with cursors at both levels as a Relay client writes it (README, src/pipeline/operation-limits.ts): depth 9. */
const DEEPEST_LEGIT = `{ execution(id: "ex_demo_2") { events { edges { node { execution { events { edges { cursor node { id } } } } } } } } }`;
/** One level deeper than that. */
const DEPTH_10 = `{ execution(id: "ex_demo_2") { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }`;

/** Tokens as GraphQL's lexer (and Armor's max-tokens parser) counts them: punctuation, names, values; not commas. */
function countTokens(source: string): number {
  const lexer = new Lexer(new Source(source));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

/** Depth of an operation as the gateway's second max-depth plugin counts it (introspection included, fragments flattened). */
function armorDepth(query: string): number {
  let depth = -1;
  const errors = validate(schema, parse(query), [
    maxDepthRule({ n: 1_000_000, ignoreIntrospection: false, flattenFragments: true, onAccept: [(_context, { n }) => (depth = n)] }),
  ]);
  expect(errors).toEqual([]);
  return depth;
}

/** `{ __schema { types { fields { type { ofType { … { name } } } } } } }` with `ofTypes` nested ofType levels: depth 5 + ofTypes. */
function nestedOfTypes(ofTypes: number): string {
  return `{ __schema { types { fields { type { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } } } }`;
}

/**
 * What answers a fragment bomb or a fragment cycle "quickly": 10 s, not 2, as a loaded machine stalls a request through
 * the in-process gateway past 2 s. What it guards grows without end (2^40 expansions, a cycle followed for ever).
 */
const QUICK_MS = 10_000;

const onlyError = (response: ExecutionResult) => {
  expect(response.errors).toHaveLength(1);
  return response.errors![0]!;
};

interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: () => ExecutionResult & { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  ms: number;
}

async function send(url: string, init: RequestInit & { duplex?: 'half' }): Promise<HttpAnswer> {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text), ms: performance.now() - started };
}

const postJson = (url: string, body: string, headers: Record<string, string> = {}) =>
  send(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH, ...headers },
    body,
  });

/** The data of a successful answer (responses may carry `extensions`, e.g. upstream cost). */
function dataOf(answer: HttpAnswer): unknown {
  const body = answer.json();
  expect(body.errors).toBeUndefined();
  return body.data;
}

/** A JSON body of exactly `bytes` bytes whose query is `{ __typename }` padded with ignored spaces. */
function bodyOfSize(bytes: number): string {
  const base = JSON.stringify({ query: '{ __typename }' });
  const padded = JSON.stringify({ query: `{ __typename }${' '.repeat(bytes - base.length)}` });
  expect(Buffer.byteLength(padded)).toBe(bytes);
  return padded;
}

function restoreNodeEnv(previous: string | undefined): void {
  if (previous === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = previous;
}

describe('operation limits', () => {
  it('are the documented values', () => {
    expect(OPERATION_LIMITS).toMatchObject({ maxDepth: 9, maxAliases: 30, maxDirectives: 20, maxTokens: 2_000, maxCost: 25_000, maxIntrospectionDepth: 25 });
  });
});

describe.each(LANES)('operation limits (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  /** A rejection by an Armor validation rule: a 400 with a stable code, a message naming the limit, nothing executed. */
  async function expectRejected(query: string, message: RegExp, variables?: Record<string, unknown>) {
    const response = await harness.query(query, variables);
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    const error = onlyError(response);
    expect(error.message).toMatch(message);
    expect(error.extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
    expect(harness.upstream.requests).toHaveLength(0);
    return error;
  }

  describe('depth', () => {
    it('accepts the deepest legitimate query (depth 9) and answers it', async () => {
      expect(armorDepth(DEEPEST_LEGIT)).toBe(9);
      const response = await harness.query<{
        execution: { events: { edges: Array<{ node: { execution: { events: { edges: Array<{ cursor: string; node: unknown }> } } } }> } };
      }>(
        DEEPEST_LEGIT,
      );
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      const edges = response.data!.execution.events.edges;
      expect(edges.length).toBeGreaterThan(0);
      expect(edges[0]!.node.execution.events.edges[0]!.node).toEqual({ id: 'ev_ex_demo_2_1' });
      // The nested execution is the same one: served from the request's loader.
      expect(harness.upstream.requests).toHaveLength(1);
    });

    it('rejects depth 10 before any upstream call', async () => {
      expect(armorDepth(DEPTH_10)).toBe(10);
      await expectRejected(DEPTH_10, /^Query depth limit of 9 exceeded, found 10\. Select less deeply nested fields, or ask for the nested execution in a query of its own\.$/);
    });

    it('counts depth through fragments too (a fragment cannot hide a level)', async () => {
      const query = `{ execution(id: "ex_demo_2") { ...Deep } }
        fragment Deep on Execution { events { edges { node { ...Node } } } }
        fragment Node on ExecutionEvent { execution { events { edges { node { execution { id } } } } } }`;
      await expectRejected(query, /Query depth limit of 9 exceeded, found 10/);
    });
  });

  describe('aliases', () => {
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: execution(id: "ex_demo_1") { id }`).join(' ')} }`;

    it('accepts 30', async () => {
      const response = await harness.query<Record<string, { id: string }>>(aliased(30));
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      expect(Object.keys(response.data!)).toHaveLength(30);
      expect(response.data!.a29).toEqual({ id: 'ex_demo_1' });
    });

    it('rejects 31 before any upstream call', async () => {
      await expectRejected(aliased(31), /^Aliases limit of 30 exceeded, found 31\. Use fewer aliases: several executions at once are one `executions\(ids: \[…\]\)` field\.$/);
    });

    describe('of __typename (counted like any other alias)', () => {
      const typenames = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename`).join(' ')} }`;

      it('accepts 30', async () => {
        const response = await harness.query<Record<string, string>>(typenames(30));
        expect(response.status).toBe(200);
        expect(response.errors).toBeUndefined();
        expect(Object.keys(response.data!)).toHaveLength(30);
        expect(response.data!.t29).toBe('Query');
      });

      it('rejects 31 with GRAPHQL_VALIDATION_FAILED', async () => {
        await expectRejected(typenames(31), /^Aliases limit of 30 exceeded, found 31\. /);
      });
    });
  });

  describe('directives', () => {
    const directed = (n: number) => `{ execution(id: "ex_demo_1") { id ${'__typename @include(if: true) '.repeat(n)}} }`;

    it('accepts 20', async () => {
      const response = await harness.query(directed(20));
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ execution: { id: 'ex_demo_1', __typename: 'Execution' } });
    });

    it('rejects 21 before any upstream call', async () => {
      await expectRejected(directed(21), /^Directives limit of 20 exceeded, found 21\. Use fewer directives\.$/);
    });
  });

  describe('tokens', () => {
    // `{ executions ( ids : [ … ] ) { id } }` is 12 tokens plus one per id.
    const withIds = (n: number) => `{ executions(ids: [${Array.from({ length: n }, (_, i) => `"x${i}"`).join(' ')}]) { id } }`;

    it('parses exactly 2,000 tokens (the document then fails on its own merits, not on the token limit)', async () => {
      const query = withIds(1_988);
      expect(countTokens(query)).toBe(2_000);
      const response = await harness.query(query);
      // Past the parser: the resolver refuses more than 100 ids.
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.message).not.toMatch(/Token limit/);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('rejects 2,001 tokens as a parse error before any upstream call', async () => {
      const query = withIds(1_989);
      expect(countTokens(query)).toBe(2_001);
      const response = await harness.query(query);
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      const error = onlyError(response);
      // Armor's parser stops at the limit: no count, but what to change, as every other limit says.
      expect(error.message).toBe('Token limit of 2000 exceeded. Send a shorter document: fewer fields and aliases, and values as variables (a list of ids in `$ids` is one token).');
      expect(error.extensions).toEqual({ code: 'GRAPHQL_PARSE_FAILED' });
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('refuses 708 repeated fields, under the token limit, with a message that says what to change', async () => {
      // graphql-js gives up comparing overlapping fields past its work budget (about 700 in one selection set).
      const query = `{ ${'__typename '.repeat(708)}}`;
      expect(countTokens(query)).toBeLessThan(2_000);
      const error = await expectRejected(query, /too large to validate.*Select fewer fields/);
      expect(error.message).not.toBe('Validation aborted.');
      // A repeated request (the validation cache) answers the same.
      await expectRejected(query, /too large to validate/);
    });

    it('rejects a long query of repeated fields the same way', async () => {
      const response = await harness.query(`{ execution(id: "ex_demo_1") { ${'id '.repeat(3_000)}} }`);
      expect(response.status).toBe(400);
      expect(onlyError(response).message).toMatch(/Token limit of 2000 exceeded/);
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });

  describe('cost', () => {
    it('rejects a very costly query (pages of events of each event’s execution) before any upstream call', async () => {
      const query = `{ execution(id: "ex_demo_long") { events(first: 100) { nodes { execution { events(first: 100) { nodes { id message level } } } } } } }`;
      // Well inside the depth, alias and token limits: only cost rejects it.
      expect(armorDepth(query)).toBeLessThanOrEqual(OPERATION_LIMITS.maxDepth);
      expect(countTokens(query)).toBeLessThan(OPERATION_LIMITS.maxTokens);
      const error = await expectRejected(query, new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded, found [\\d.]+\\. Ask for fewer events per page \\(a smaller \`first\` or \`last\`\\), or fewer fields and nested pages under them\\.$`));
      const found = Number(/found ([\d.e+]+)\. /.exec(error.message)![1]);
      expect(found).toBeGreaterThan(OPERATION_LIMITS.maxCost);
    });

    // README "Operation limits": fragments count as if written inline. Two execution pages (`first: 100`) under
    // aliases, written with the typed client's fragments, were refused (found 26495.375) where the same inline passed.
    it('gives two and three aliased execution pages written with fragments the verdict it gives them inline, with a whole-number cost', async () => {
      const page = readFileSync(new URL('../schema/operations/execution-page.graphql', import.meta.url), 'utf8')
        .replace('($id: ID!, $first: Int = 20)', '($id: ID!)')
        .replace('events(first: $first)', 'events(first: 100)');
      const body = /execution\(id: \$id\) \{([\s\S]*?)\n  \}\n\}/.exec(page)![1]!;
      const fragments = page.slice(page.indexOf('fragment '));
      expect(body).toContain('...EventDetails');
      const selections = (name: string) => /\{([^{}]*)\}/.exec(fragments.slice(fragments.indexOf(`fragment ${name} `)))![1]!;
      const inlineBody = body.replace('...ExecutionDetails', selections('ExecutionDetails')).replace('...EventDetails', selections('EventDetails'));
      expect(inlineBody).not.toContain('...');
      const aliased = (copies: number, selection: string, withFragments: boolean) =>
        `query($id: ID!) {\n${Array.from({ length: copies }, (_, i) => `  p${i}: execution(id: $id) {${selection}\n  }`).join('\n')}\n}\n${withFragments ? fragments : ''}`;
      const two = [aliased(2, body, true), aliased(2, inlineBody, false)];
      for (const query of two) {
        harness.upstream.reset();
        const response = await harness.query<Record<string, { events: { edges: unknown[] } }>>(query, { id: 'ex_demo_long' });
        expect(response.errors).toBeUndefined();
        expect(response.data!.p1!.events.edges).toHaveLength(100);
      }
      const refusals: string[] = [];
      for (const query of [aliased(3, body, true), aliased(3, inlineBody, false)]) {
        harness.upstream.reset();
        refusals.push((await expectRejected(query, new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded, found \\d+\\. `), { id: 'ex_demo_long' })).message);
      }
      expect(refusals[0]).toBe(refusals[1]);
    });

    it('rejects a fragment bomb (2^40 expansions) quickly, before any upstream call', async () => {
      let fragments = 'fragment E0 on Execution { id }\n';
      for (let i = 1; i <= 40; i++) fragments += `fragment E${i} on Execution { ...E${i - 1} ...E${i - 1} }\n`;
      const started = performance.now();
      await expectRejected(`{ execution(id: "ex_demo_1") { ...E40 } }\n${fragments}`, new RegExp(`Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`));
      expect(performance.now() - started).toBeLessThan(QUICK_MS);
    });

    it('gives only graphql-js\'s error for a page size past 32 bits, not a cost of billions beside it', async () => {
      await expectRejected(`{ execution(id: "ex_demo_1") { events(first: 2147483648) { edges { cursor } } } }`, /^Int cannot represent non 32-bit signed integer value: 2147483648$/);
    });

    it('still refuses a fragment bomb quickly when it holds an Int past 32 bits (which holds the cost rule back)', async () => {
      let fragments = 'fragment E0 on Execution { id events(first: 2147483648) { totalCount } }\n';
      for (let i = 1; i <= 40; i++) fragments += `fragment E${i} on Execution { ...E${i - 1} ...E${i - 1} }\n`;
      const started = performance.now();
      const response = await harness.query(`{ execution(id: "ex_demo_1") { ...E40 } }\n${fragments}`);
      expect(response.status).toBe(400);
      expect(response.errors?.length).toBeGreaterThan(0);
      expect(response.errors?.every((error) => error.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
      expect(harness.upstream.requests).toHaveLength(0);
      expect(performance.now() - started).toBeLessThan(QUICK_MS);
    });

    it('accepts the operation README suggests for polling, `events(first: 100, after: …)`, written with a literal page size', async () => {
      // README "Paging through events": `events(first: 100, after: <last endCursor seen>)`. The same
      // operation with `first: $first` costs 92 (Armor cannot see variables), so a
      // literal 100 must not turn it into a rejected query (cost 8853.5 today).
      const document = readFileSync(new URL('../schema/operations/execution-events.graphql', import.meta.url), 'utf8');
      const literal = document.replace('events(first: $first,', 'events(first: 100,').replace(/\n\s*\$first: Int\n/, '\n');
      expect(literal).not.toBe(document);
      const viaVariable = await harness.query(document, { id: 'ex_demo_long', first: 100 });
      expect(viaVariable.errors).toBeUndefined();
      harness.upstream.reset();
      const response = await harness.query<{ execution: { events: { edges: unknown[] } } }>(literal, { id: 'ex_demo_long' });
      expect(response.errors).toBeUndefined();
      expect(response.data!.execution.events.edges).toHaveLength(100);
    });
  });

  describe('recursive fragments', () => {
    it.each([
      ['A spreads B, B spreads A', `{ ...A } fragment A on Query { execution(id: "ex_demo_1") { id } ...B } fragment B on Query { ...A }`, /Cannot spread fragment "A" within itself via "B"/],
      ['a fragment spreading itself', `{ ...A } fragment A on Query { execution(id: "ex_demo_1") { id } ...A }`, /Cannot spread fragment "A" within itself\./],
      [
        'a cycle through nested fields',
        `{ execution(id: "ex_demo_1") { ...E } } fragment E on Execution { id events { nodes { execution { ...E } } } }`,
        /Cannot spread fragment "E" within itself/,
      ],
    ])('%s: a validation error, not a crash or a hang; the next request is answered', async (_name, query, message) => {
      const started = performance.now();
      const response = await harness.query(query);
      expect(performance.now() - started).toBeLessThan(QUICK_MS);
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      expect(response.errors!.length).toBeGreaterThanOrEqual(1);
      expect(response.errors!.some((error) => message.test(error.message))).toBe(true);
      expect(response.errors!.every((error) => error.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
      expect(JSON.stringify(response.errors)).not.toMatch(/Maximum call stack|RangeError|Unexpected error/);
      expect(harness.upstream.requests).toHaveLength(0);

      const next = await harness.query(ONE, { id: 'ex_demo_1' });
      expect(next.errors).toBeUndefined();
      expect(next.data).toEqual({ execution: { id: 'ex_demo_1' } });
    });
  });

  describe('introspection depth', () => {
    it.each([
      ['graphql-js defaults', {}],
      [
        'every option GraphiQL may turn on',
        { descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true },
      ],
    ])('serves the full introspection query (%s) without a token or an upstream call', async (_name, options) => {
      const query = getIntrospectionQuery(options);
      const depth = armorDepth(query);
      console.info(`getIntrospectionQuery(${JSON.stringify(options)}) has depth ${depth}; the limit is ${OPERATION_LIMITS.maxIntrospectionDepth}`);
      expect(depth).toBeLessThanOrEqual(OPERATION_LIMITS.maxIntrospectionDepth);
      const response = await harness.query<{ __schema: { types: Array<{ name: string }> } }>(query, undefined, { authorization: null });
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
      expect(response.data!.__schema.types.map((type) => type.name)).toEqual(expect.arrayContaining(['Query', 'Execution', 'ExecutionEvent']));
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('accepts an introspection query exactly at the introspection depth limit', async () => {
      const limit = OPERATION_LIMITS.maxIntrospectionDepth;
      const query = nestedOfTypes(limit - 5);
      expect(armorDepth(query)).toBe(limit);
      const response = await harness.query(query, undefined, { authorization: null });
      expect(response.status).toBe(200);
      expect(response.errors).toBeUndefined();
    });

    it('rejects an introspection query nested one level deeper (ofType { ofType { … } })', async () => {
      const limit = OPERATION_LIMITS.maxIntrospectionDepth;
      const query = nestedOfTypes(limit - 4);
      expect(armorDepth(query)).toBe(limit + 1);
      // The advice is introspection's: the data fields' ("ask for the nested execution in a query of its own") does not apply.
      await expectRejected(query, new RegExp(`^Query depth limit of ${limit} exceeded, found ${limit + 1}\\. Nest fewer \`ofType\` levels: the standard introspection query \\(graphql-js, GraphiQL, codegen\\) is 15 deep and passes\\.$`));
    });

    it('rejects a much deeper one (50 levels)', async () => {
      await expectRejected(nestedOfTypes(45), /Query depth limit of \d+ exceeded, found 50/);
    });

    // `__type` is introspection as `__schema` is (INTROSPECTION=false refuses both), but Armor's `ignoreIntrospection`
    // knows only `__schema`: one type's fields with graphql-js's TypeRef fragment (depth 11, as in the standard
    // query) was refused by the data depth limit, "found 11 … ask for the nested execution in a query of its own",
    // and graphql-js's FullType fragment by the cost limit too, where the same fragments under `__schema` ran.
    it.each([
      ['TypeRef, as the standard query nests it', `{ __type(name: "Execution") { name fields { name type { ...TypeRef } } } } ${getIntrospectionQuery().slice(getIntrospectionQuery().indexOf('fragment TypeRef'))}`],
      ['FullType, the standard query\'s fragment for a type', `{ __type(name: "Execution") { ...FullType } } ${getIntrospectionQuery().slice(getIntrospectionQuery().indexOf('fragment FullType'))}`],
      ['in a fragment on Query', `{ ...OneType } fragment OneType on Query { __type(name: "ExecutionEvent") { ...FullType } } ${getIntrospectionQuery().slice(getIntrospectionQuery().indexOf('fragment FullType'))}`],
    ])('serves __type introspection under the introspection limits, as __schema\'s: %s', async (_name, query) => {
      expect(armorDepth(query)).toBeGreaterThan(OPERATION_LIMITS.maxDepth);
      expect(armorDepth(query)).toBeLessThanOrEqual(OPERATION_LIMITS.maxIntrospectionDepth);
      const response = await harness.query<{ __type: { name: string; fields: Array<{ name: string }> } }>(query, undefined, { authorization: null });
      expect(response.errors).toBeUndefined();
      expect(response.status).toBe(200);
      expect(response.data!.__type.fields.map((field) => field.name)).toContain('id');
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('rejects __type introspection nested past the introspection depth limit', async () => {
      const limit = OPERATION_LIMITS.maxIntrospectionDepth;
      const query = `{ __type(name: "Execution") { fields { type { ${'ofType { '.repeat(limit - 3)}name${' }'.repeat(limit - 3)} } } } }`;
      expect(armorDepth(query)).toBe(limit + 1);
      // The advice is introspection's: the data fields' ("ask for the nested execution in a query of its own") does not apply.
      await expectRejected(query, new RegExp(`^Query depth limit of ${limit} exceeded, found ${limit + 1}\\. Nest fewer \`ofType\` levels: the standard introspection query \\(graphql-js, GraphiQL, codegen\\) is 15 deep and passes\\.$`));
    });

    it('still holds data fields beside __type to the data depth limit', async () => {
      const query = `{ __type(name: "Query") { name } execution(id: "ex_demo_2") { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }`;
      await expectRejected(query, new RegExp(`^Query depth limit of ${OPERATION_LIMITS.maxDepth} exceeded, found 10\\. `));
    });
  });

  // The cost limit does not count introspection, so aliases were its multiplier: 30 aliases of
  // `__schema { types { ...FullType } }`, 4 KB within every other limit, answered 1.3 MB for up to 0.5 s of CPU, no token needed.
  describe('introspection aliases', () => {
    const fullType = getIntrospectionQuery().slice(getIntrospectionQuery().indexOf('fragment FullType'));
    it.each([
      ['`__schema` twice', `{ __schema { types { name } } again: __schema { types { ...FullType } } } ${fullType}`, /"again: __schema" asks for Query\.__schema under another name/],
      ['one list of `__Schema` twice', '{ __schema { types { name } again: types { name } } }', /"again: types" asks for __Schema\.types under another name/],
      ['a field of `__Type`, in a fragment', '{ __type(name: "Query") { ...T } } fragment T on __Type { f: fields { name } }', /"f: fields" asks for __Type\.fields under another name/],
    ])('refuses %s before any upstream call', async (_name, query, message) => {
      const error = await expectRejected(query, message);
      expect(error.message).toMatch(/^Introspection fields take no aliases: .* Ask for each introspection field once, under its own name\.$/);
    });

    it('refuses 30 aliases of `__schema`, each with its error', async () => {
      const query = `{ ${Array.from({ length: 30 }, (_, i) => `s${i}: __schema { types { ...FullType } }`).join(' ')} } ${fullType}`;
      const response = await harness.query(query, undefined, { authorization: null });
      expect(response.status).toBe(400);
      expect(response.data).toBeUndefined();
      expect(response.errors!.map((error) => error.extensions?.code)).toEqual(Array(30).fill('GRAPHQL_VALIDATION_FAILED'));
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('serves aliases of `__type`, each one type (Apollo Kotlin\'s pre-introspection query), and of `__typename`', async () => {
      const query = `query PreIntrospectionQuery {
        schema: __type(name: "__Schema") { fields { name } }
        type: __type(name: "__Type") { fields { name } }
        directive: __type(name: "__Directive") { fields { name args { name } } }
        field: __type(name: "__Field") { fields { name args { name } } }
        inputValue: __type(name: "__InputValue") { t: __typename fields { name } }
      }`;
      const response = await harness.query<Record<string, { fields: unknown[] }>>(query, undefined, { authorization: null });
      expect(response.errors).toBeUndefined();
      expect(Object.keys(response.data!)).toEqual(['schema', 'type', 'directive', 'field', 'inputValue']);
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });
});

describe.each(LANES)('field suggestions (%s lane)', (lane) => {
  const MISSPELLINGS: Array<[string, string, Record<string, unknown> | undefined, RegExp]> = [
    ['a misspelled field', `{ execution(id: "ex_demo_1") { statsu } }`, undefined, /Cannot query field "statsu" on type "Execution"/],
    ['a misspelled argument', `{ execution(idd: "ex_demo_1") { id } }`, undefined, /Unknown argument "idd"/],
    ['a misspelled type', `query($f: ExecutionEventFiltr) { __typename }`, undefined, /Unknown type "ExecutionEventFiltr"/],
    ['a misspelled enum value', `{ execution(id: "ex_demo_1") { events(order: ASCC) { totalCount } } }`, undefined, /"ASCC" does not exist in "EventOrder"/],
    [
      'a misspelled enum value in a variable',
      `query($o: EventOrder) { execution(id: "ex_demo_1") { events(order: $o) { totalCount } } }`,
      { o: 'ASCC' },
      /"ASCC" does not exist in "EventOrder"/,
    ],
    [
      'a misspelled input field in a variable',
      `query($f: ExecutionEventFilter) { execution(id: "ex_demo_1") { events(filter: $f) { totalCount } } }`,
      { f: { levells: ['warn'] } },
      /Field "levells" is not defined by type "ExecutionEventFilter"/,
    ],
  ];

  describe('with FIELD_SUGGESTIONS=false', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { FIELD_SUGGESTIONS: 'false' } });
    });
    afterAll(() => harness.close());
    beforeEach(() => harness.upstream.reset());

    it.each(MISSPELLINGS)('hides the suggestion for %s', async (_name, query, variables, message) => {
      const response = await harness.query(query, variables);
      expect(response.status).toBe(400);
      expect(response.errors!.some((error) => message.test(error.message))).toBe(true);
      const text = JSON.stringify(response.errors);
      expect(text).not.toMatch(/Did you mean/);
      // The names a suggestion would have revealed.
      expect(text).not.toMatch(/"status"|"id"\?|"ExecutionEventFilter"\?|"ASC"|"levels"/);
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });

  describe('with FIELD_SUGGESTIONS=true', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { FIELD_SUGGESTIONS: 'true' } });
    });
    afterAll(() => harness.close());

    it('suggests the field a misspelling was close to', async () => {
      const response = await harness.query(`{ execution(id: "ex_demo_1") { statsu } }`);
      expect(response.status).toBe(400);
      expect(onlyError(response).message).toBe('Cannot query field "statsu" on type "Execution". Did you mean "status"?');
    });
  });

  it.each([
    ['blocks them by default with NODE_ENV=production', { NODE_ENV: 'production' }, false],
    ['gives them by default otherwise', {}, true],
    // A misspelt field answered "Did you mean "execution" or "executions"?" to a gateway hiding its schema.
    ['blocks them by default with INTROSPECTION=false', { INTROSPECTION: 'false' }, false],
  ] as Array<[string, Record<string, string>, boolean]>)('%s (FIELD_SUGGESTIONS unset)', async (_name, env, suggests) => {
    const harness = await Harness.start({ lane, env });
    try {
      const response = await harness.query(`{ execution(id: "ex_demo_1") { statsu } }`);
      expect(response.status).toBe(400);
      const text = JSON.stringify(response.errors);
      expect(text).toMatch(/Cannot query field \\"statsu\\"/);
      if (suggests) expect(text).toMatch(/Did you mean \\"status\\"\?/);
      else expect(text).not.toMatch(/Did you mean/);
    } finally {
      await harness.close();
    }
  });
});

describe.each(LANES)('introspection switched off (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { INTROSPECTION: 'false' } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it.each([
    ['__schema', '{ __schema { queryType { name } } }'],
    ['__type', '{ __type(name: "Execution") { name fields { name } } }'],
    ['the full introspection query', getIntrospectionQuery()],
  ])('refuses %s', async (field, query) => {
    const response = await harness.query(query);
    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(codes(response).every((code) => code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(response.errors![0]!.message).toMatch(/introspection has been disabled/);
    if (field.startsWith('__')) expect(response.errors![0]!.message).toContain(`"${field}"`);
    expect(JSON.stringify(response)).not.toMatch(/ExecutionEvent|"Query"/);
  });

  describe('on every content type, on the first request and a repeated one', () => {
    const SCHEMA_QUERY = '{ __schema { queryType { name } } }';
    const ACCEPT = 'application/graphql-response+json';
    const REQUESTS: Array<[string, (each: Harness) => Promise<Response>]> = [
      [
        'POST application/json',
        (each) => each.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: ACCEPT }, body: JSON.stringify({ query: SCHEMA_QUERY }) }),
      ],
      ['GET', (each) => each.fetch(`/graphql?query=${encodeURIComponent(SCHEMA_QUERY)}`, { headers: { accept: ACCEPT, 'x-graphql-yoga-csrf': '1' } })],
      ['POST application/graphql', (each) => each.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/graphql', accept: ACCEPT }, body: SCHEMA_QUERY })],
    ];

    it.each(REQUESTS)('refuses { __schema { queryType { name } } } sent as %s', async (_name, request) => {
      // A gateway of its own, so the first request really is the first this document meets (no cached parse or validation).
      const fresh = await Harness.start({ lane, env: { INTROSPECTION: 'false' } });
      try {
        for (const attempt of ['first', 'repeated']) {
          const response = await request(fresh);
          const text = await response.text();
          expect(response.status, `${attempt} request: ${text}`).toBe(400);
          const body = JSON.parse(text) as ExecutionResult;
          expect(body.data).toBeUndefined();
          expect(body.errors!.length).toBeGreaterThanOrEqual(1);
          expect(codes(body).every((code) => code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
          expect(body.errors![0]!.message).toMatch(/introspection has been disabled.*"__schema"/);
          expect(text).not.toMatch(/"Query"|queryType"\s*:/);
        }
        expect(fresh.upstream.requests).toHaveLength(0);
      } finally {
        await fresh.close();
      }
    });
  });

  // graphql-js's rule reports every field whose type is an introspection type: the full introspection
  // query got 39 errors, most naming fields that are not what was refused ("kind", "queryType"), and
  // graphql-codegen pointed at the gateway printed each of them.
  it.each([
    ['the full introspection query', getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }), ['__schema']],
    ['__schema and __type side by side', '{ __schema { types { name fields { name type { name } } } } t: __type(name: "Query") { fields { name } } }', ['__schema', '__type']],
    ['__type in a fragment with one of its own', '{ ...OnQuery } fragment OnQuery on Query { __type(name: "Execution") { ...Described } } fragment Described on __Type { name fields { name type { kind } } }', ['__type']],
    // Each alias also got "Introspection fields take no aliases … Ask for each introspection field once": advice that cannot help.
    ['__schema and fields below it under aliases', '{ s: __schema { t: types { n: name } } ...OnQuery } fragment OnQuery on Query { again: __schema { d: directives { name } } }', ['__schema', '__schema']],
  ])('refuses %s with one error per __schema or __type, not one per field below it', async (_name, query, refused) => {
    const response = await harness.query(query, undefined, { authorization: null });
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(refused.map(() => 'GRAPHQL_VALIDATION_FAILED'));
    expect(response.errors!.map((error) => error.message)).toEqual(
      refused.map(
        (field) =>
          `GraphQL introspection has been disabled, but the requested query contained the field "${field}". Take the schema from schema/schema.graphql of the release this gateway runs, or introspect a gateway that serves it (INTROSPECTION=true).`,
      ),
    );
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('still answers normal queries and __typename', async () => {
    const response = await harness.query(`query($id: ID!) { __typename execution(id: $id) { id status __typename } }`, { id: 'ex_demo_1' });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ __typename: 'Query', execution: { id: 'ex_demo_1', status: 'AWAITING_PAYMENT', __typename: 'Execution' } });
    expect(harness.upstream.requests).toHaveLength(1);
  });
});

describe.each(LANES)('request body limit (%s lane)', (lane) => {
  const HUGE = JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1', padding: 'x'.repeat(1024 * 1024) } });

  function expect413(answer: HttpAnswer, limit: number) {
    expect(answer.status).toBe(413);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('x-request-id')).toBeTruthy();
    const body = answer.json();
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.message).toContain(`over ${limit} bytes`);
    expect(body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
  }

  describe('with MAX_REQUEST_BODY_BYTES=1024', () => {
    let harness: Harness;
    let url: string;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { MAX_REQUEST_BODY_BYTES: '1024' } });
      url = harness.url;
    });
    afterAll(() => harness.close());
    beforeEach(() => harness.upstream.reset());

    it('answers a 1 MB POST with 413 and a GraphQL-style JSON error, fast, with zero upstream calls', async () => {
      expect(Buffer.byteLength(HUGE)).toBeGreaterThan(1024 * 1024);
      const answer = await postJson(url, HUGE);
      expect413(answer, 1024);
      expect(answer.ms).toBeLessThan(1_000);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('answers 413 to a plain node:http client streaming the 1 MB body too', async () => {
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(HUGE) } }, (response) => {
          let text = '';
          response.on('data', (chunk: Buffer) => (text += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode!, text }));
        });
        request.on('error', reject);
        request.end(HUGE);
      });
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.text).errors[0].extensions.code).toBe('BAD_REQUEST');
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('accepts a body of exactly 1024 bytes and refuses 1025', async () => {
      const atLimit = await postJson(url, bodyOfSize(1024));
      expect(atLimit.status).toBe(200);
      expect(dataOf(atLimit)).toEqual({ __typename: 'Query' });
      expect413(await postJson(url, bodyOfSize(1025)), 1024);
    });

    /** `text` as a request body of unknown length: fetch sends it chunked, without Content-Length. */
    const streamed = (text: string) => {
      const body = new TextEncoder().encode(text);
      return new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(body);
          controller.close();
        },
      });
    };

    it('serves a chunked POST without content-length (a load balancer turning HTTP/2 into HTTP/1.1 sends one)', async () => {
      const body = streamed(JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }));
      const answer = await send(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body, duplex: 'half' });
      expect(answer.status).toBe(200);
      expect(dataOf(answer)).toEqual({ execution: { id: 'ex_demo_1' } });
    });

    it('answers 413 to a chunked POST past the limit, with zero upstream calls', async () => {
      const answer = await send(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: streamed(bodyOfSize(1025)), duplex: 'half' });
      expect413(answer, 1024);
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('keeps serving after refusing bodies', async () => {
      const answer = await postJson(url, JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }));
      expect(answer.status).toBe(200);
      expect(dataOf(answer)).toEqual({ execution: { id: 'ex_demo_1' } });
    });
  });

  describe('with the default limit (64 KiB)', () => {
    let harness: Harness;
    let url: string;
    beforeAll(async () => {
      harness = await Harness.start({ lane });
      url = harness.url;
    });
    afterAll(() => harness.close());
    beforeEach(() => harness.upstream.reset());

    it('answers a 1 MB POST with 413, fast, with zero upstream calls', async () => {
      const answer = await postJson(url, HUGE);
      expect413(answer, 64 * 1024);
      expect(answer.ms).toBeLessThan(1_000);
      expect(harness.upstream.requests).toHaveLength(0);
    });

    it('answers BAD_USER_INPUT (not 413) to a 10,000-character id in a normal-sized body, with zero upstream calls', async () => {
      const body = JSON.stringify({ query: ONE, variables: { id: 'a'.repeat(10_000) } });
      expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
      const answer = await postJson(url, body);
      expect(answer.status).toBe(200);
      const result = answer.json();
      expect(result.data).toEqual({ execution: null });
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      // The id is not echoed back.
      expect(answer.text).not.toContain('a'.repeat(100));
      expect(harness.upstream.requests).toHaveLength(0);
    });
  });
});

describe.each(LANES)('Expect: 100-continue (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { MAX_REQUEST_BODY_BYTES: '1024' } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  const typename = JSON.stringify({ query: '{ __typename }' });
  /** Sends `head`, then the body once 100 Continue arrives; what came back until the server answered or closed. */
  function expectContinue(head: string, body: string): Promise<string> {
    const { hostname, port } = new URL(harness.url);
    return new Promise((resolve) => {
      const socket = connect(Number(port), hostname);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
        else if (/\r\n\r\n[\s\S]*\}$/.test(text)) socket.destroy();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
      // 10 s of silence, not 3: a passing run never waits it (the answer ends the exchange), and a loaded machine can stall past 3 s.
      socket.setTimeout(10_000, () => socket.destroy());
      socket.write(`${head}Host: 127.0.0.1\r\nExpect: 100-continue\r\n\r\n`);
    });
  }

  it.each([
    ['a body over the limit', 413, 'POST /graphql HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n'],
    ['a path the gateway does not serve', 404, `POST /nope HTTP/1.1\r\ncontent-type: application/json\r\ncontent-length: ${typename.length}\r\n`],
    ['an Accept it cannot meet', 406, `POST /graphql HTTP/1.1\r\ncontent-type: application/json\r\naccept: text/xml\r\ncontent-length: ${typename.length}\r\n`],
  ])('refuses %s with %i and no 100 Continue: the client is never told to send the body', async (_name, status, head) => {
    const text = await expectContinue(head, typename);
    expect(text.split('\r\n')[0], text.slice(0, 200)).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
    expect(text).not.toContain('100 Continue');
    expect(text.toLowerCase()).toContain('connection: close');
  });

  it.each([
    ['CSRF prevention refuses (a text body, no CSRF header, no Authorization)', 403, 'text/plain', ''],
    ['no request parser reads (the pipeline\'s 415)', 415, 'application/xml', 'x-graphql-yoga-csrf: 1\r\n'],
    ['no request parser reads, multipart (uploads are off)', 415, 'multipart/form-data; boundary=x', 'x-graphql-yoga-csrf: 1\r\n'],
    // A field sent empty is none to the pipeline's Headers: the edge counted it as sent, and asked for a body refused unread.
    ['CSRF prevention refuses (a form, Authorization sent empty)', 403, 'application/x-www-form-urlencoded', 'authorization: \r\n'],
    ['CSRF prevention refuses (a form, the CSRF header sent empty)', 403, 'application/x-www-form-urlencoded', 'x-graphql-yoga-csrf: \r\n'],
  ])('answers a POST %s with %i from the pipeline and no 100 Continue, and closes the connection', async (_name, status, contentType, extra) => {
    const logged = harness.logs.length;
    const text = await expectContinue(`POST /graphql HTTP/1.1\r\ncontent-type: ${contentType}\r\n${extra}x-request-id: no-continue\r\ncontent-length: ${typename.length}\r\n`, typename);
    expect(text.split('\r\n')[0], text.slice(0, 200)).toBe(`HTTP/1.1 ${status} ${STATUS_CODES[status]}`);
    expect(text).not.toContain('100 Continue');
    expect(text.toLowerCase()).toContain('connection: close');
    expect(text.toLowerCase()).toContain('x-request-id: no-continue');
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as ExecutionResult;
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    if (status === 403) expect(body.errors![0]!.message).toBe(CSRF_HEADER_MISSING);
    // The pipeline's own answer, as without Expect: its access line says so.
    await vi.waitFor(() => expect(harness.logs.slice(logged).filter((line) => line.component === 'access').map((line) => line.status)).toEqual([status]));
  });

  it('answers a GET, whose body nothing reads, without 100 Continue', async () => {
    const text = await expectContinue(`GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nx-graphql-yoga-csrf: 1\r\naccept: application/json\r\ncontent-length: 2\r\n`, '{}');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n'), text.slice(0, 200)).toBe(true);
    expect(text).not.toContain('100 Continue');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ data: { __typename: 'Query' } });
  });

  it('keeps the connection of a request without a body that expects 100-continue: nothing is left unread', async () => {
    const get = (extra: string) => `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n${extra}\r\n`;
    const { text } = await rawExchange(harness.url, `${get('Expect: 100-continue\r\n')}${get('Connection: close\r\n')}`, { giveUpMs: 10_000 });
    expect([...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => match[1]), text.slice(0, 300)).toEqual(['100', '200', '200']);
  });

  it.each([
    ['application/json; charset=UTF-8', '', true],
    ['Application/JSON', '', true],
    ['application/graphql+json', '', true],
    // A list of media types is no media type: the edge's 415 (test/attacker11-content-type-list.test.ts).
    ['application/json, text/plain', '', false],
    ['application/x-www-form-urlencoded', 'x-graphql-yoga-csrf: 1\r\n', true],
    // CSRF prevention lets it through (Authorization), and no request parser reads it: the pipeline's 415.
    ['text/plain;charset=utf-8', `authorization: ${AUTH}\r\n`, false],
  ])('sends 100 Continue exactly when the pipeline reads the body: %s', async (contentType, extra, continues) => {
    const body = contentType.includes('form') ? `query=${encodeURIComponent('{ __typename }')}` : typename;
    const text = await expectContinue(`POST /graphql HTTP/1.1\r\ncontent-type: ${contentType}\r\naccept: application/json\r\n${extra}content-length: ${body.length}\r\n`, body);
    if (!continues) {
      expect(text.startsWith('HTTP/1.1 415 Unsupported Media Type\r\n'), text.slice(0, 200)).toBe(true);
      expect(text).not.toContain('100 Continue');
      return;
    }
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text.slice(0, 200)).toBe(true);
    expect(JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4))).toMatchObject({ data: { __typename: 'Query' } });
  });

  it('sends 100 Continue to a request it takes, then serves it', async () => {
    const text = await expectContinue(`POST /graphql HTTP/1.1\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${typename.length}\r\n`, typename);
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n'), text.slice(0, 200)).toBe(true);
    expect(JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4))).toMatchObject({ data: { __typename: 'Query' } });
  });
});

describe.each(LANES)('CSRF prevention (%s lane)', (lane) => {
  let harness: Harness;
  let url: string;
  const typename = () => `${url}?query=${encodeURIComponent('{__typename}')}`;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
    url = harness.url;
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  it('refuses a "simple" GET (no content-type, no Authorization, no CSRF header) with 403', async () => {
    const answer = await send(typename(), { method: 'GET' });
    expect(answer.status).toBe(403);
    expect(answer.json().data).toBeUndefined();
    // Yoga's "Required CSRF header(s) not present" named neither the header nor what else would do:
    // `curl '…/graphql?query=…'` (no Authorization) is the first request many try.
    expect(answer.json().errors![0]!.message).toBe(CSRF_HEADER_MISSING);
    expect(answer.json().errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
  });

  it('refuses a simple GET that would read data, with zero upstream calls', async () => {
    const answer = await send(`${url}?query=${encodeURIComponent('{ execution(id: "ex_demo_1") { id } }')}`, { method: 'GET' });
    expect(answer.status).toBe(403);
    expect(answer.text).not.toContain('ex_demo_1');
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('answers the same GET with x-graphql-yoga-csrf: 1', async () => {
    const answer = await send(typename(), { method: 'GET', headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(answer.status).toBe(200);
    expect(dataOf(answer)).toEqual({ __typename: 'Query' });
  });

  it('answers the same GET with an Authorization header (a browser preflights it)', async () => {
    const answer = await send(`${url}?query=${encodeURIComponent('{ execution(id: "ex_demo_1") { id } }')}`, { method: 'GET', headers: { authorization: AUTH } });
    expect(answer.status).toBe(200);
    expect(dataOf(answer)).toEqual({ execution: { id: 'ex_demo_1' } });
  });

  it.each(['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'refuses a POST with content-type %s (a form can send it cross-site), with zero upstream calls',
    async (contentType) => {
      const answer = await send(url, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify({ query: '{ execution(id: "ex_demo_1") { id } __typename }' }),
      });
      expect(answer.status).toBe(403);
      expect(answer.json().data).toBeUndefined();
      expect(harness.upstream.requests).toHaveLength(0);
    },
  );

  it('answers a normal JSON POST', async () => {
    const answer = await postJson(url, JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }));
    expect(answer.status).toBe(200);
    expect(dataOf(answer)).toEqual({ execution: { id: 'ex_demo_1' } });
  });
});

describe.each(LANES)('CORS (%s lane)', (lane) => {
  const preflight = (url: string, origin: string) =>
    send(url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
  /** The headers a browser lets the page read, lowercased. */
  const exposed = (answer: HttpAnswer) => (answer.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
  const corsHeaders = (answer: HttpAnswer) => [...answer.headers.keys()].filter((name) => name.startsWith('access-control-'));
  const varies = (answer: HttpAnswer) => (answer.headers.get('vary') ?? '').split(/\s*,\s*/).some((each) => each.toLowerCase() === 'origin');
  /** Whether a browser at `origin` may read the response. */
  const allows = (answer: HttpAnswer, origin: string) => {
    const allowed = answer.headers.get('access-control-allow-origin');
    return allowed === origin || allowed === '*';
  };

  describe('by default (no origins configured)', () => {
    let harness: Harness;
    let url: string;
    beforeAll(async () => {
      harness = await Harness.start({ lane });
      url = harness.url;
    });
    afterAll(() => harness.close());

    it('gives a preflight from https://evil.example no access-control-allow-origin', async () => {
      const answer = await preflight(url, 'https://evil.example');
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('warns once per origin whose preflight it refused, naming the origin and CORS_ORIGINS', async () => {
      const refusals = () => harness.logs.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('CORS: refused'));
      const before = refusals().length;
      await preflight(url, 'http://localhost:5173');
      await preflight(url, 'http://localhost:5173');
      // A cross-origin request the browser sends without a preflight is no sign the page was refused.
      await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'http://localhost:5174' });
      const told = refusals().slice(before);
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ level: 40, origin: 'http://localhost:5173' });
      expect(told[0]!.msg).toBe('CORS: refused a browser page at http://localhost:5173 (CORS_ORIGINS is unset); add the origin to CORS_ORIGINS to let it call the gateway');
    });

    it('tells of no OPTIONS request that is no preflight (no Access-Control-Request-Method), and of at most 200 characters of an origin', async () => {
      const refusals = () => harness.logs.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('CORS: refused'));
      const before = refusals().length;
      await send(url, { method: 'OPTIONS', headers: { origin: 'http://localhost:5175' } });
      expect(refusals().slice(before)).toEqual([]);
      const long = `http://${'a'.repeat(1000)}.example`;
      await preflight(url, long);
      const told = refusals().slice(before);
      expect(told).toHaveLength(1);
      expect(told[0]!['origin']).toBe(long.slice(0, 200));
      expect(told[0]!.msg).not.toContain(long.slice(0, 201));
    });

    it('tells of at most REFUSED_ORIGINS_TOLD origins per window, so made-up origins never silence the next window', () => {
      let clock = 0;
      const told: unknown[] = [];
      const tell = refusedOriginLog([], (fields) => told.push(fields.origin), () => clock);
      for (let i = 0; i < REFUSED_ORIGINS_TOLD + 5; i++) tell(`http://made-up-${i}.example`);
      tell('http://localhost:5173');
      expect(told).toHaveLength(REFUSED_ORIGINS_TOLD);
      clock += REFUSED_ORIGINS_WINDOW_MS;
      tell('http://localhost:5173');
      tell('http://localhost:5173');
      expect(told.slice(REFUSED_ORIGINS_TOLD)).toEqual(['http://localhost:5173']);
    });

    // `Origin: null` (a file: page, a sandboxed frame) and an extension's origin are no entry CORS_ORIGINS takes: told to
    // add them, an operator got a start-up refusal ("must be a comma-separated list of origins …"), or was led to open
    // the gateway to every sandboxed frame.
    it.each([
      ['null', 'null (a file: page or a sandboxed frame)'],
      ['chrome-extension://abcdefghijklmnop', 'chrome-extension://abcdefghijklmnop'],
    ])('warns of a refused preflight from %s without telling to add it to CORS_ORIGINS, which cannot hold it', async (origin, shown) => {
      const refusals = () => harness.logs.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('CORS: refused'));
      const before = refusals().length;
      const answer = await preflight(url, origin);
      expect(corsHeaders(answer)).toEqual([]);
      const told = refusals().slice(before);
      expect(told).toHaveLength(1);
      expect(told[0]).toMatchObject({ level: 40, origin });
      expect(told[0]!.msg).toBe(
        `CORS: refused a browser page at ${shown}, an origin CORS_ORIGINS cannot allow (it lists http and https origins only); serve the page from an http(s) origin and add that to CORS_ORIGINS`,
      );
      expect(() => readConfig({ CORS_ORIGINS: origin })).toThrow(/CORS_ORIGINS/);
    });

    it('varies on nothing: with no origin allowed, no answer depends on Origin (POST, preflight, the edge\'s 413)', async () => {
      for (const answer of [
        await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'https://evil.example' }),
        await preflight(url, 'https://evil.example'),
        await postJson(url, 'x'.repeat(70 * 1024), { origin: 'https://evil.example' }),
      ]) {
        expect(varies(answer), String(answer.status)).toBe(false);
      }
    });

    it('gives a cross-origin POST no access-control-allow-origin either', async () => {
      const answer = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'https://evil.example' });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('with CORS_ORIGINS=https://app.example', () => {
    let harness: Harness;
    let url: string;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { CORS_ORIGINS: 'https://app.example' } });
      url = harness.url;
    });
    afterAll(() => harness.close());

    it('allows https://app.example, with the Authorization header and POST, without credentials', async () => {
      const answer = await preflight(url, 'https://app.example');
      expect(answer.status).toBeLessThan(300);
      expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example');
      // GET and POST only: the methods GraphQL over HTTP uses.
      expect(answer.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect(answer.headers.get('access-control-allow-credentials')).toBeNull();
      // Without it Chromium preflights again after 5 s.
      expect(answer.headers.get('access-control-max-age')).toBe(String(PREFLIGHT_MAX_AGE_S));
      const post = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'https://app.example' });
      expect(allows(post, 'https://app.example')).toBe(true);
    });

    it('does not allow https://evil.example', async () => {
      const answer = await preflight(url, 'https://evil.example');
      expect(allows(answer, 'https://evil.example')).toBe(false);
      const post = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'https://evil.example' });
      expect(allows(post, 'https://evil.example')).toBe(false);
    });

    it('lets https://app.example read the x-request-id of a response', async () => {
      const post = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'https://app.example' });
      expect(post.status).toBe(200);
      expect(post.headers.get('x-request-id')).toBeTruthy();
      expect(exposed(post)).toContain('x-request-id');
    });

    it('gives a disallowed origin no CORS header at all', async () => {
      for (const answer of [
        await preflight(url, 'https://evil.example'),
        await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'https://evil.example' }),
      ]) {
        expect(corsHeaders(answer)).toEqual([]);
      }
    });

    it('varies on Origin in every answer: allowed, disallowed and no origin, preflight, success and error', async () => {
      const typename = JSON.stringify({ query: '{ __typename }' });
      const answers = {
        'allowed preflight': await preflight(url, 'https://app.example'),
        'disallowed preflight': await preflight(url, 'https://evil.example'),
        'allowed POST': await postJson(url, typename, { origin: 'https://app.example' }),
        'disallowed POST': await postJson(url, typename, { origin: 'https://evil.example' }),
        'POST without Origin': await postJson(url, typename),
        'disallowed POST refused by validation': await postJson(url, JSON.stringify({ query: '{ nope }' }), { origin: 'https://evil.example' }),
      };
      for (const [name, answer] of Object.entries(answers)) expect(varies(answer), name).toBe(true);
    });

    it('gives the edge\'s own refusals (413, 406) the same CORS headers, so an allowed page can read why', async () => {
      const big = 'x'.repeat(70 * 1024);
      const refusals = {
        413: await postJson(url, big, { origin: 'https://app.example' }),
        406: await send(url, { method: 'POST', headers: { origin: 'https://app.example', accept: 'application/json;q=0', 'content-type': 'application/json' }, body: '{}' }),
      };
      for (const [status, answer] of Object.entries(refusals)) {
        expect(answer.status, status).toBe(Number(status));
        expect(allows(answer, 'https://app.example'), status).toBe(true);
        expect(exposed(answer), status).toContain('x-request-id');
        expect(varies(answer), status).toBe(true);
      }
      const disallowed = await postJson(url, big, { origin: 'https://evil.example' });
      expect(disallowed.status).toBe(413);
      expect(corsHeaders(disallowed)).toEqual([]);
      expect(varies(disallowed)).toBe(true);
    });
  });

  describe('with CORS_ORIGINS=*', () => {
    let harness: Harness;
    let url: string;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { CORS_ORIGINS: '*' } });
      url = harness.url;
    });
    afterAll(() => harness.close());

    it('allows any origin, without credentials, to read answers and their x-request-id, the edge\'s refusals too; refuses no preflight', async () => {
      for (const origin of ['https://app.example', 'http://localhost:5173']) {
        const answer = await preflight(url, origin);
        expect(answer.status, origin).toBeLessThan(300);
        expect(allows(answer, origin), origin).toBe(true);
        expect(answer.headers.get('access-control-allow-credentials'), origin).toBeNull();
        const post = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin });
        expect(allows(post, origin), origin).toBe(true);
        expect(exposed(post), origin).toContain('x-request-id');
        const refused = await postJson(url, 'x'.repeat(70 * 1024), { origin });
        expect(refused.status, origin).toBe(413);
        expect(allows(refused, origin), origin).toBe(true);
        expect(exposed(refused), origin).toContain('x-request-id');
      }
      expect(harness.logs.filter((line) => typeof line.msg === 'string' && line.msg.startsWith('CORS: refused'))).toEqual([]);
    });
  });

  describe('with two origins', () => {
    let harness: Harness;
    let url: string;
    beforeAll(async () => {
      harness = await Harness.start({ lane, env: { CORS_ORIGINS: 'https://app.example,https://admin.example' } });
      url = harness.url;
    });
    afterAll(() => harness.close());

    it('allows each configured origin and varies on Origin', async () => {
      for (const origin of ['https://app.example', 'https://admin.example']) {
        const answer = await preflight(url, origin);
        expect(allows(answer, origin)).toBe(true);
        expect(answer.headers.get('vary')).toMatch(/Origin/);
        const post = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin });
        expect(allows(post, origin)).toBe(true);
        expect(exposed(post)).toContain('x-request-id');
        // Once: Yoga's CORS already varies on Origin here, and a second one adds nothing.
        expect(post.headers.get('vary')?.match(/origin/gi), origin).toHaveLength(1);
      }
    });

    it('does not allow https://evil.example, and still varies on Origin', async () => {
      const answer = await preflight(url, 'https://evil.example');
      expect(allows(answer, 'https://evil.example')).toBe(false);
      expect(corsHeaders(answer)).toEqual([]);
      expect(varies(answer)).toBe(true);
    });

    it('does not allow the opaque origin "null" (sandboxed iframes, file: pages)', async () => {
      // Yoga answers an unlisted origin with `access-control-allow-origin: null`,
      // which a browser whose origin serializes as "null" treats as a match.
      const answer = await preflight(url, 'null');
      expect(allows(answer, 'null')).toBe(false);
      const post = await postJson(url, JSON.stringify({ query: '{ __typename }' }), { origin: 'null' });
      expect(allows(post, 'null')).toBe(false);
    });
  });
});

/** A raw HTTP/1.1 answer split into its status, headers (lowercased names) and body. */
function parseRaw(text: string): { status: number; headers: Record<string, string>; body: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(LANES)('the request id on every answer (%s lane)', (lane) => {
  let harness: Harness;
  let url: string;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { MAX_REQUEST_BODY_BYTES: '1024', CORS_ORIGINS: 'https://app.example' } });
    url = harness.url;
  });
  afterAll(() => harness.close());

  const json = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
  const typename = JSON.stringify({ query: '{ __typename }' });
  const chunked = (text: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    });
  /** One request for each way the gateway answers: pipeline, Yoga's own refusals and the edge's. */
  const ANSWERS: Array<[string, number, (headers: Record<string, string>) => Promise<HttpAnswer>]> = [
    ['a success', 200, (headers) => send(url, { method: 'POST', headers: { ...json, ...headers }, body: typename })],
    ['a body that is not JSON', 400, (headers) => send(url, { method: 'POST', headers: { ...json, ...headers }, body: '{"query":' })],
    ['a validation error', 400, (headers) => send(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify({ query: '{ nope }' }) })],
    ['a GET without the CSRF header', 403, (headers) => send(`${url}?query=${encodeURIComponent('{ __typename }')}`, { method: 'GET', headers })],
    ['an unknown path', 404, (headers) => send(`${harness.origin}/nope`, { method: 'GET', headers })],
    ['an Accept with q=0 only', 406, (headers) => send(url, { method: 'POST', headers: { ...json, accept: 'application/json;q=0', ...headers }, body: typename })],
    ['a body of unknown length past the limit', 413, (headers) => send(url, { method: 'POST', headers: { ...json, ...headers }, body: chunked(bodyOfSize(2_048)), duplex: 'half' })],
    ['a body over the limit', 413, (headers) => send(url, { method: 'POST', headers: { ...json, ...headers }, body: bodyOfSize(2_048) })],
    ['an unsupported media type', 415, (headers) => send(url, { method: 'POST', headers: { 'content-type': 'application/xml', authorization: AUTH, ...headers }, body: '<q/>' })],
    [
      'a CORS preflight',
      204,
      (headers) => send(url, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', ...headers } }),
    ],
  ];

  it.each(ANSWERS)('on %s (%i): a new id, or the one the client sent', async (_name, status, request) => {
    const fresh = await request({});
    expect(fresh.status).toBe(status);
    expect(fresh.headers.get('x-request-id')).toMatch(UUID);
    const traced = await request({ 'x-request-id': `trace-${status}.1` });
    expect(traced.status).toBe(status);
    expect(traced.headers.get('x-request-id')).toBe(`trace-${status}.1`);
  });

  it.each([
    ['a missing Host header (HTTP/1.1)', 400, 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nx-graphql-yoga-csrf: 1\r\n'],
    ['a Host that is no host', 400, 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: [bad\r\nx-graphql-yoga-csrf: 1\r\n'],
    ['a Host with a port out of range', 400, 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x:99999999\r\nx-graphql-yoga-csrf: 1\r\n'],
    // Node keeps the first and drops the rest; a proxy in front may have routed by the other (RFC 9112 §3.2).
    ['two Host lines', 400, 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: internal.example\r\nx-graphql-yoga-csrf: 1\r\n'],
    ['two Host lines of one value', 400, 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nhost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n'],
    ['a Host with a space', 400, `POST /graphql HTTP/1.1\r\nHost: exa mple\r\ncontent-type: application/json\r\ncontent-length: ${typename.length}\r\n`],
    ['an Expect other than 100-continue', 417, 'GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: bogus\r\n'],
    // Node alone closes the socket without a word.
    ['a CONNECT', 405, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n'],
  ])('on %s: a %i with a JSON body, a code and the id the client sent', async (_name, status, head) => {
    const body = head.startsWith('POST') ? typename : '';
    const { text } = await rawExchange(url, `${head}x-request-id: edge-${status}\r\nconnection: close\r\n\r\n${body}`);
    const answer = parseRaw(text);
    expect(answer.status, text).toBe(status);
    expect(answer.headers['x-request-id']).toBe(`edge-${status}`);
    // RFC 9110 §6.6.1: an origin server MUST send Date on every 4xx, those written on the socket included.
    expect(Math.abs(Date.parse(answer.headers.date ?? '') - Date.now())).toBeLessThan(5_000);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(codes(JSON.parse(answer.body) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });

  it("on a request handed to the pipeline without the HTTP edge (the gateway's fetch): the one the client sent, or a new one", async () => {
    const ask = (headers: Record<string, string>) =>
      harness.instance.gateway.fetch(new Request(url, { method: 'POST', headers: { ...json, authorization: AUTH, ...headers }, body: typename }));
    const traced = await ask({ 'x-request-id': 'trace-fetch.1' });
    expect(traced.status).toBe(200);
    expect(traced.headers.get('x-request-id')).toBe('trace-fetch.1');
    expect((await ask({})).headers.get('x-request-id')).toMatch(UUID);
  });

  it('a client that sends a CONNECT and resets before the gateway reads it throws nothing in the gateway', async () => {
    // Node takes its 'error' listener off a CONNECT's socket: the 405's write met the reset with none, and threw.
    const uncaught = await resetBeforeRead(harness.instance.server, url, 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n');
    expect(uncaught).toEqual([]);
  });

  it('serves a request with an empty Host, as the node adapter does (the socket address stands in)', async () => {
    const { text } = await rawExchange(url, `POST /graphql HTTP/1.1\r\nHost:\r\ncontent-type: application/json\r\naccept: application/json\r\nconnection: close\r\ncontent-length: ${typename.length}\r\n\r\n${typename}`);
    const answer = parseRaw(text);
    expect(answer.status, text).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { __typename: 'Query' } });
  });

  it.each([
    ['GET', `GET http://api.example:8443/graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nconnection: close\r\n\r\n`],
    ['POST', `POST HTTP://api.example/graphql HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json\r\nconnection: close\r\ncontent-length: ${typename.length}\r\n\r\n${typename}`],
  ])('serves a %s whose target is in absolute-form, as RFC 9112 §3.2.2 requires of a server', async (_method, bytes) => {
    const { text } = await rawExchange(url, bytes);
    const answer = parseRaw(text);
    expect(answer.status, text.slice(0, 300)).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { __typename: 'Query' } });
  });

  it('answers an absolute-form target of a path it does not serve with 404, as its origin-form', async () => {
    const { text } = await rawExchange(url, 'GET http://api.example/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    expect(parseRaw(text).status).toBe(404);
  });

  it('serves a request without Host over HTTP/1.0, where none is required', async () => {
    const { text } = await rawExchange(url, `POST /graphql HTTP/1.0\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: ${typename.length}\r\n\r\n${typename}`);
    const answer = parseRaw(text);
    expect(answer.status, text).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ data: { __typename: 'Query' } });
  });

  it.each([
    // RFC 9112 §3: a target too long to parse is a 414, whatever the fields.
    ['a GET whose URL alone passes the header limit', 414, `GET /graphql?query=${'%7B__typename%7D'.repeat(1_500)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, /URL passes 16 KiB: .* by POST instead/],
    ['a header past the limit', 431, `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-padding: ${'p'.repeat(20_000)}\r\n\r\n`, /pass 16 KiB together/],
    ['a head past what the parser reads (64 KiB)', 431, `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-padding: ${'p'.repeat(70_000)}\r\n\r\n`, /pass 16 KiB together/],
  ] as const)('on %s: a %i with a JSON body that says so', async (_name, status, bytes, message) => {
    const { text } = await rawExchange(url, bytes);
    const answer = parseRaw(text);
    expect(answer.status, text.slice(0, 200)).toBe(status);
    expect(answer.headers['x-request-id']).toMatch(UUID);
    expect(answer.headers.connection).toBe('close');
    const body = JSON.parse(answer.body) as ExecutionResult;
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    expect(body.errors![0]!.message).toMatch(message);
  });

  it.each([
    ['a GET whose URL passes the header limit', 414, `/graphql?query=${'%7B__typename%7D'.repeat(1_500)}`, ''],
    ['a header past the limit', 431, '/graphql?query=%7B__typename%7D', `x-padding: ${'p'.repeat(20_000)}\r\n`],
  ])("on %s from a browser: the %i carries the id the client sent and the CORS headers its origin gets, so the page can read why", async (_name, status, target, padding) => {
    const { text } = await rawExchange(url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example\r\nX-Request-Id: long-get-1\r\n${padding}\r\n`);
    const answer = parseRaw(text);
    expect(answer.status, text.slice(0, 200)).toBe(status);
    expect(answer.headers['x-request-id']).toBe('long-get-1');
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(answer.headers['access-control-expose-headers']).toMatch(/x-request-id/i);
    expect(answer.headers.vary).toMatch(/origin/i);
    expect(codes(JSON.parse(answer.body) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });

  it("answers a browser's preflight to a URL past the header limit, so the request itself can get its readable 414", async () => {
    // A 414 to the preflight is an opaque network error to the page (Fetch §4.8), whatever its headers.
    const target = `/graphql?query=${'%7B__typename%7D'.repeat(1_500)}`;
    const { text } = await rawExchange(url, `OPTIONS ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: authorization\r\nConnection: close\r\n\r\n`);
    const answer = parseRaw(text);
    expect(answer.status, text.slice(0, 200)).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    const refused = parseRaw((await rawExchange(url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://app.example\r\nAuthorization: ${AUTH}\r\n\r\n`)).text);
    expect(refused.status).toBe(414);
    expect(refused.headers['access-control-allow-origin']).toBe('https://app.example');
  });

  it('keeps the bound where node drew it: a URL and fields of 16,383 bytes together are served, 16,384 refused', async () => {
    // Counted as node counts: the URL, each field name and each value.
    const head = (bytes: number) => {
      const target = '/graphql?query=%7B__typename%7D';
      const fixed = target.length + 'Host'.length + '127.0.0.1'.length + 'x-graphql-yoga-csrf'.length + 1 + 'Connection'.length + 'close'.length + 'x-p'.length;
      return `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nConnection: close\r\nx-p: ${'p'.repeat(bytes - fixed)}\r\n\r\n`;
    };
    expect(parseRaw((await rawExchange(url, head(16_383))).text).status).toBe(200);
    expect(parseRaw((await rawExchange(url, head(16_384))).text).status).toBe(431);
  });

  it('counts every field line as node did: 3,000 short fields (27 KB, past 16 KiB) are refused, not served with 2,000 dropped unseen', async () => {
    const fields = (count: number) => Array.from({ length: count }, (_, index) => `h${index}: vvvv\r\n`).join('');
    const many = parseRaw((await rawExchange(url, `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n${fields(3_000)}Connection: close\r\n\r\n`)).text);
    expect(many.status).toBe(431);
    expect(codes(JSON.parse(many.body) as ExecutionResult)).toEqual(['BAD_REQUEST']);
    // As many as node keeps (the Host, CSRF and Connection lines among them) are still served.
    const kept = parseRaw((await rawExchange(url, `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n${fields(997)}Connection: close\r\n\r\n`)).text);
    expect(kept.status).toBe(200);
  });

  it.each([
    ['malformed HTTP', 400, 'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nx-request-id: second\r\nNot A Header\r\n\r\n'],
    // Past what the parser reads: refused by node, before any handler (src/server/head-size.ts).
    ['a header past the limit', 431, `GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nx-request-id: second\r\nx-padding: ${'p'.repeat(70_000)}\r\n\r\n`],
  ] as const)('on %s after a request served on the same connection: a %i with a JSON body, not a bare close', async (_name, status, second) => {
    // The first request's answer is long sent when node refuses the second: its id must not be taken for the second's, nor stop the answer.
    const first = `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\nx-request-id: first\r\n\r\n`;
    const { text } = await rawExchange(url, first + second);
    const [served, refused] = text.split(/(?=HTTP\/1\.1 )/);
    expect(parseRaw(served!).status, text.slice(0, 300)).toBe(200);
    expect(parseRaw(served!).headers['x-request-id']).toBe('first');
    expect(refused, text.slice(0, 600)).toBeDefined();
    const answer = parseRaw(refused!);
    expect(answer.status).toBe(status);
    expect(answer.headers['x-request-id']).toMatch(UUID);
    expect(codes(JSON.parse(answer.body) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });

  it('on malformed HTTP: a 400 with a JSON body and an id, not a bare close', async () => {
    const { text } = await rawExchange(url, 'GET /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nNot A Header\r\n\r\n');
    const answer = parseRaw(text);
    expect(answer.status).toBe(400);
    expect(Math.abs(Date.parse(answer.headers.date ?? '') - Date.now())).toBeLessThan(5_000);
    expect(answer.headers['x-request-id']).toMatch(UUID);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(codes(JSON.parse(answer.body) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });
});

describe.each(LANES)('HTTP time limits (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    // The headers limit is left at its default (10 s): the edge bounds it by the whole-request one.
    harness = await Harness.start({ lane, env: { HTTP_REQUEST_TIMEOUT_MS: '500', CORS_ORIGINS: 'https://app.example' } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.upstream.reset());

  /**
   * A 408 of the 500 ms limit must come before this: 4.5 s, not 2, as the limit's timer and the socket share this
   * process, which a loaded machine stalls past a second. A 408 left to the headers' own limit (10 s) or node's
   * check of it (every 30 s) comes far later; the client waits 15 s, so a late one is seen and fails here.
   */
  const LATE_408_MS = 4_500;

  /** A 408 as the edge writes it: a GraphQL error body with a code, and a request id. */
  function expect408(text: string) {
    const answer = parseRaw(text);
    expect(answer.status, text).toBe(408);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['x-request-id']).toMatch(UUID);
    const body = JSON.parse(answer.body) as ExecutionResult;
    expect(body.data).toBeUndefined();
    expect(codes(body)).toEqual(['BAD_REQUEST']);
  }

  it('answers a client that sends headers with Content-Length: 5000 and then 26 bytes of body with 408 within about 2 s, not silence', async () => {
    const partial = '{"query":"{ __typename }",';
    expect(Buffer.byteLength(partial)).toBe(26);
    const { text, ms } = await rawExchange(
      harness.url,
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: ${AUTH}\r\nContent-Length: 5000\r\n\r\n${partial}`,
      { giveUpMs: 15_000 },
    );
    expect408(text);
    // Not before the limit, and not long after it.
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(LATE_408_MS);
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it("answers a late body's 408 with the request id the client sent and the CORS headers its origin gets", async () => {
    const { text } = await rawExchange(
      harness.url,
      'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nOrigin: https://app.example\r\nX-Request-Id: late-body-1\r\nContent-Length: 5000\r\n\r\n{',
    );
    const answer = parseRaw(text);
    expect(answer.status, text).toBe(408);
    expect(answer.headers['x-request-id']).toBe('late-body-1');
    expect(answer.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(answer.headers['access-control-expose-headers']).toMatch(/x-request-id/i);
    expect(answer.headers.vary).toMatch(/origin/i);
  });

  it('answers a client that never finishes its headers with 408 within about 2 s', async () => {
    const { text, ms } = await rawExchange(harness.url, 'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl', { giveUpMs: 15_000 });
    expect408(text);
    expect(ms).toBeGreaterThanOrEqual(450);
    expect(ms).toBeLessThan(LATE_408_MS);
  });

  it('answers a second request on a kept-alive connection that never finishes its headers with 408, not silence', async () => {
    const first = `GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: 127.0.0.1\r\nx-graphql-yoga-csrf: 1\r\n\r\n`;
    const { text } = await rawExchange(harness.url, `${first}POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl`);
    const [served, refused] = text.split(/(?=HTTP\/1\.1 )/);
    expect(parseRaw(served!).status, text.slice(0, 300)).toBe(200);
    expect(refused, text.slice(0, 600)).toBeDefined();
    expect408(refused!);
  });

  it('keeps serving other clients meanwhile and afterwards', async () => {
    const stalled = rawExchange(harness.url, 'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{');
    const during = await harness.query(`query($id: ID!) { execution(id: $id) { id } }`, { id: 'ex_demo_1' });
    expect(during.data).toEqual({ execution: { id: 'ex_demo_1' } });
    expect408((await stalled).text);
    const after = await harness.query(`{ __typename }`);
    expect(after.data).toEqual({ __typename: 'Query' });
  });
});

describe.each(LANES)('error masking in production conditions (%s lane)', (lane) => {
  const SECRET = 'secret internals at /src/x.ts';

  it.each([
    ['an Error', () => new Error(SECRET)],
    ['a TypeError', () => new TypeError(SECRET)],
    ['an Error with a cause and extra fields', () => Object.assign(new Error(SECRET, { cause: new Error(`cause: ${SECRET}`) }), { extensions: { leak: SECRET }, code: 'ESECRET' })],
  ])('answers "Unexpected error." and nothing else when the client throws %s', async (_name, thrown) => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    let text: string;
    let status: number;
    let logged = '';
    let lines: Array<Record<string, unknown>> = [];
    let requestId: string | null = null;
    let harness: Harness | undefined;
    try {
      harness = await Harness.start({ lane, env: { NODE_ENV: 'production' } });
      vi.spyOn(harness.instance.client, 'getExecution').mockImplementation(async () => {
        throw thrown();
      });
      const response = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
        body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
      });
      status = response.status;
      requestId = response.headers.get('x-request-id');
      text = await response.text();
      logged = harness.rawLogs;
      lines = harness.logs.filter((line) => JSON.stringify(line).includes(SECRET));
    } finally {
      vi.restoreAllMocks();
      restoreNodeEnv(previous);
      await harness?.close();
    }
    expect(process.env.NODE_ENV).toBe(previous);
    expect(status).toBe(200);
    const body = JSON.parse(text) as ExecutionResult;
    expect(body.data).toEqual({ execution: null });
    const error = onlyError(body);
    expect(error.message).toBe('Unexpected error.');
    expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(Object.keys(error).sort()).toEqual(['extensions', 'locations', 'message', 'path']);
    for (const leak of ['secret', '/src/x.ts', 'stack', 'originalError', 'cause', 'ESECRET', 'TypeError', '    at ']) expect(text).not.toContain(leak);
    // Logged, as an error the operator must see, without its stack (README "Error codes").
    expect(logged).toContain(SECRET);
    expect(logged).not.toContain('"stack"');
    expect(logged).not.toMatch(/\\n\s+at /);
    // Once, with the request it belongs to (Yoga's masking and error handler would each log it again, without it).
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, requestId, path: 'execution' });
  });

  it('logs every unexpected error of a result, each by its own name and path, and no error it expected', async () => {
    const harness = await Harness.start({ lane });
    const client = harness.instance.client;
    const getExecution = client.getExecution.bind(client);
    const broken = vi.spyOn(client, 'getExecution').mockImplementation(async (id, ...rest) => {
      if (id.startsWith('ex_broken')) throw new TypeError(`${SECRET} ${id}`);
      return getExecution(id, ...rest);
    });
    try {
      const response = await harness.query(`{ a: execution(id: "ex_broken_1") { id } b: execution(id: "ex_broken_2") { id } c: execution(id: "ex_missing") { id } }`);
      expect(codes(response).sort()).toEqual(['INTERNAL_SERVER_ERROR', 'INTERNAL_SERVER_ERROR', 'NOT_FOUND']);
      const unexpected = harness.logs.filter((line) => line.msg === 'operation failed unexpectedly; the client got "Unexpected error."');
      expect(unexpected.map((line) => line.path).sort()).toEqual(['a', 'b']);
      for (const line of unexpected) expect(line.err).toEqual({ name: 'TypeError', message: `${SECRET} ex_broken_${line.path === 'a' ? 1 : 2}` });
    } finally {
      broken.mockRestore();
      await harness.close();
    }
  });

  it("logs an unexpected error a gateway plugin put in the result, with its request's id and path: the error log runs after every plugin", async () => {
    // A plugin given to the gateway (createInstance's `plugins`) that replaces a result with a failure of its own.
    const replacing: Plugin = {
      onExecute: () => ({
        onExecuteDone({ setResult }) {
          setResult({ data: { execution: null }, errors: [createGraphQLError('wrapped', { originalError: new RangeError(`${SECRET} plugin`), path: ['execution'] })] });
        },
      }),
    };
    const harness = await Harness.start({ lane, plugins: [replacing] });
    try {
      const response = await harness.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH },
        body: JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }),
      });
      expect(codes((await response.json()) as ExecutionResult)).toEqual(['INTERNAL_SERVER_ERROR']);
      const failed = harness.logs.filter((line) => line.level === 50);
      expect(failed).toEqual([
        expect.objectContaining({
          msg: 'operation failed unexpectedly; the client got "Unexpected error."',
          requestId: response.headers.get('x-request-id'),
          path: 'execution',
          err: { name: 'RangeError', message: `${SECRET} plugin` },
        }),
      ]);
    } finally {
      await harness.close();
    }
  });
});

describe.each(LANES)('logs never contain a token (%s lane)', (lane) => {
  const TOKEN = 'tok-SECRET-9f8e7d';
  const SECRET_AUTH = `Bearer ${TOKEN}`;
  let harness: Harness;
  let url: string;
  beforeAll(async () => {
    harness = await Harness.start({
      lane,
      upstream: { tokens: { [TOKEN]: DEMO_ORGANIZATION } },
      // Short enough for the hang to time out quickly, long enough that nothing else does on a busy machine.
      env: { UPSTREAM_TIMEOUT_MS: '500', UPSTREAM_MAX_ATTEMPTS: '2', MAX_REQUEST_BODY_BYTES: '4096' },
    });
    url = harness.url;
  });
  afterAll(() => harness.close());

  it('after successes, upstream 401s, 500s, timeouts, bad bodies and refused requests', async () => {
    const echo = (status: number) => JSON.stringify({ code: status, message: `refused ${SECRET_AUTH} authorization: ${SECRET_AUTH}`, requestId: 'req-echo' });
    harness.upstream.setFault('ex_demo_2', { kind: 'status', status: 401, body: echo(401) });
    harness.upstream.setFault('ex_demo_3', { kind: 'status', status: 500, body: echo(500) });
    harness.upstream.setFault('ex_demo_4', { kind: 'hang' });
    harness.upstream.setFault('ex_demo_5', { kind: 'body', body: `<html>${SECRET_AUTH}</html>` });
    harness.upstream.setFault('ex_demo_6', { kind: 'status', status: 503, body: 'not json', headers: { 'content-type': 'text/plain' } });
    harness.upstream.setFault('ex_demo_7', { kind: 'reset' });

    const query = (id: string) => harness.query(ONE, { id }, { authorization: SECRET_AUTH });
    expect((await query('ex_demo_1')).data).toEqual({ execution: { id: 'ex_demo_1' } });
    expect(codes(await query('ex_demo_2'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await query('ex_demo_3'))).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(codes(await query('ex_demo_4'))).toEqual(['UPSTREAM_TIMEOUT']);
    expect(codes(await query('ex_demo_5'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(codes(await query('ex_demo_6'))).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(codes(await query('ex_demo_7'))).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(codes(await query('../etc/passwd'))).toEqual(['BAD_USER_INPUT']);
    // A token upstream does not know: upstream's own 401.
    expect(codes(await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: `${SECRET_AUTH}-revoked` }))).toEqual(['UNAUTHENTICATED']);

    // Refused by the gateway itself, over the real port, with the header set.
    expect((await postJson(url, '{"query": "{ __typename', { authorization: SECRET_AUTH })).status).toBe(400);
    expect((await postJson(url, JSON.stringify({ query: '{ execution(id: "ex_demo_1") { nope } }' }), { authorization: SECRET_AUTH })).status).toBe(400);
    expect((await postJson(url, 'x'.repeat(10_000), { authorization: SECRET_AUTH })).status).toBe(413);
    expect((await postJson(url, JSON.stringify({ query: DEPTH_10 }), { authorization: SECRET_AUTH })).status).toBe(400);
    expect((await postJson(url, JSON.stringify({ query: ONE, variables: { id: 'ex_demo_1' } }), { authorization: SECRET_AUTH })).status).toBe(200);

    // Something was logged, failures included.
    expect(harness.logs.length).toBeGreaterThan(0);
    expect(harness.logs.some((line) => line.msg === 'upstream call failed')).toBe(true);
    expect(harness.rawLogs).not.toContain(TOKEN);
    expect(harness.rawLogs).not.toContain(SECRET_AUTH);
    expect(harness.rawLogs).not.toContain('9f8e7d');
  });
});

describe('the logger', () => {
  const TOKEN = 'tok-SECRET-9f8e7d';
  const SECRET_AUTH = `Bearer ${TOKEN}`;

  it('redacts authorization and token fields whoever logs them', () => {
    const log = captureLog('debug');
    const { logger } = log;
    logger.info({ authorization: SECRET_AUTH, headers: { authorization: SECRET_AUTH }, token: TOKEN }, 'direct');
    logger.info({ request: { headers: { authorization: SECRET_AUTH } }, call: { authorization: SECRET_AUTH, token: TOKEN } }, 'nested');
    logger.child({ component: 'x' }).warn({ upstream: { authorization: SECRET_AUTH } }, 'child');
    expect(log.lines).toHaveLength(3);
    expect(log.raw()).toContain('[redacted]');
    expect(log.raw()).not.toContain(TOKEN);
  });
});

describe.each(LANES)('callers are kept apart (%s lane)', (lane) => {
  const TOKEN_A = 'tok-org-a-1111';
  const TOKEN_B = 'tok-org-b-2222';
  const AUTH_A = `Bearer ${TOKEN_A}`;
  const AUTH_B = `Bearer ${TOKEN_B}`;
  const QUERY = `query($id: ID!) { execution(id: $id) { id organizationId runId checkoutSessionId status } }`;
  const upstreamOptions = {
    tokens: { [TOKEN_A]: 'org_a', [TOKEN_B]: 'org_b' },
    executions: [
      ...demoExecutions(),
      makeExecution({ id: 'ex_iso_1', status: 'workflow_running', organizationId: 'org_a' }),
      // Terminal: the kind of execution the cross-request cache keeps.
      makeExecution({ id: 'ex_iso_2', status: 'workflow_succeeded', organizationId: 'org_a' }),
      makeExecution({ id: 'ex_iso_3', status: 'workflow_failed', organizationId: 'org_a' }),
    ],
  };
  const STATUS: Record<string, string> = { ex_iso_1: 'WORKFLOW_RUNNING', ex_iso_2: 'WORKFLOW_SUCCEEDED', ex_iso_3: 'WORKFLOW_FAILED' };

  type Answer = { text: string; body: ExecutionResult<{ execution: Record<string, unknown> | null }> };
  const ask = async (harness: Harness, authorization: string, requestId: string, id = 'ex_iso_1'): Promise<Answer> => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization, 'x-request-id': requestId },
      body: JSON.stringify({ query: QUERY, variables: { id } }),
    });
    const text = await response.text();
    return { text, body: JSON.parse(text) as Answer['body'] };
  };

  function expectOwnerView(answer: Answer, id = 'ex_iso_1') {
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data).toEqual({
      execution: { id, organizationId: 'org_a', runId: `run_${id}`, checkoutSessionId: `cs_${id}`, status: STATUS[id] },
    });
    expect(answer.text).not.toMatch(/NOT_FOUND|not found|"errors"/);
    expect(answer.text).not.toContain(TOKEN_B);
  }

  function expectOutsiderView(answer: Answer, id = 'ex_iso_1') {
    expect(answer.body.data).toEqual({ execution: null });
    expect(codes(answer.body)).toEqual(['NOT_FOUND']);
    expect(answer.body.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamStatus: 404 });
    for (const owned of ['org_a', `run_${id}`, `cs_${id}`, STATUS[id]!, TOKEN_A]) expect(answer.text).not.toContain(owned);
  }

  /** Every upstream call carries the token of the caller whose request id it carries. */
  function expectCallsMatchCallers(harness: Harness, callers: Map<string, string>) {
    for (const call of harness.upstream.requests) {
      const requestId = String(call.headers['x-request-id']);
      expect(callers.has(requestId)).toBe(true);
      expect(call.headers.authorization).toBe(callers.get(requestId));
    }
  }

  describe('without the cross-request cache', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, upstream: upstreamOptions });
    });
    afterAll(() => harness.close());
    beforeEach(() => {
      harness.upstream.reset();
      harness.upstream.latencyMs = 50;
    });

    it('two callers asking for the same execution at the same moment: two upstream calls, each with its own token', async () => {
      const [a, b] = await Promise.all([ask(harness, AUTH_A, 'caller-a'), ask(harness, AUTH_B, 'caller-b')]);
      expectOwnerView(a);
      expectOutsiderView(b);

      const calls = harness.upstream.requests;
      expect(calls).toHaveLength(2);
      // They overlapped: both were at upstream at once.
      expect(harness.upstream.maxInFlight).toBe(2);
      const byCaller = Object.fromEntries(calls.map((call) => [call.headers['x-request-id'], call.headers.authorization]));
      expect(byCaller).toEqual({ 'caller-a': AUTH_A, 'caller-b': AUTH_B });
      expect(calls.every((call) => call.path === '/v1/executions/ex_iso_1')).toBe(true);
    });

    it('20 interleaved concurrent requests alternating tokens: every A gets the data, every B NOT_FOUND', async () => {
      const callers = new Map(Array.from({ length: 20 }, (_, i) => [`caller-${i}`, i % 2 === 0 ? AUTH_A : AUTH_B] as const));
      const answers = await Promise.all([...callers].map(([requestId, authorization]) => ask(harness, authorization, requestId)));
      [...callers.values()].forEach((authorization, i) => (authorization === AUTH_A ? expectOwnerView(answers[i]!) : expectOutsiderView(answers[i]!)));

      // Concurrent requests of one caller may share an upstream call
      // (src/upstream/shared-executions.ts); requests of different callers never do.
      const calls = harness.upstream.requests;
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls.length).toBeLessThanOrEqual(20);
      expect(harness.upstream.maxInFlight).toBeGreaterThan(1);
      expectCallsMatchCallers(harness, callers);
      expect(calls.filter((call) => call.headers.authorization === AUTH_A).length).toBeGreaterThanOrEqual(1);
      expect(calls.filter((call) => call.headers.authorization === AUTH_B).length).toBeGreaterThanOrEqual(1);
    });

    it('20 interleaved requests, each started after the previous one reached upstream: 20 calls, each with its caller’s token', async () => {
      // Staggered so that no two requests of one caller are in flight together: no sharing is possible.
      harness.upstream.latencyMs = 0;
      const callers = new Map(Array.from({ length: 20 }, (_, i) => [`caller-${i}`, i % 2 === 0 ? AUTH_A : AUTH_B] as const));
      const answers: Answer[] = [];
      for (const [requestId, authorization] of callers) answers.push(await ask(harness, authorization, requestId));
      [...callers.values()].forEach((authorization, i) => (authorization === AUTH_A ? expectOwnerView(answers[i]!) : expectOutsiderView(answers[i]!)));
      expect(harness.upstream.requests).toHaveLength(20);
      expectCallsMatchCallers(harness, callers);
    });
  });

  describe('with the cross-request cache on (terminal executions kept 60 s, the production default)', () => {
    let harness: Harness;
    beforeAll(async () => {
      harness = await Harness.start({ lane, upstream: upstreamOptions, env: { TERMINAL_CACHE_TTL_MS: '60000' } });
    });
    afterAll(() => harness.close());
    beforeEach(() => harness.upstream.reset());

    it('never serves A’s cached execution to B', async () => {
      expectOwnerView(await ask(harness, AUTH_A, 'a-1', 'ex_iso_2'), 'ex_iso_2');
      expectOwnerView(await ask(harness, AUTH_A, 'a-2', 'ex_iso_2'), 'ex_iso_2');
      // The cache is on: A's second request did not reach upstream.
      expect(harness.upstream.requests.map((call) => call.headers['x-request-id'])).toEqual(['a-1']);

      expectOutsiderView(await ask(harness, AUTH_B, 'b-1', 'ex_iso_2'), 'ex_iso_2');
      expect(harness.upstream.requests.map((call) => [call.headers['x-request-id'], call.headers.authorization])).toEqual([
        ['a-1', AUTH_A],
        ['b-1', AUTH_B],
      ]);
    });

    it('never serves B’s NOT_FOUND to A', async () => {
      expectOutsiderView(await ask(harness, AUTH_B, 'b-1', 'ex_iso_3'), 'ex_iso_3');
      expectOutsiderView(await ask(harness, AUTH_B, 'b-2', 'ex_iso_3'), 'ex_iso_3');
      expectOwnerView(await ask(harness, AUTH_A, 'a-1', 'ex_iso_3'), 'ex_iso_3');
      expectCallsMatchCallers(harness, new Map([['b-1', AUTH_B], ['b-2', AUTH_B], ['a-1', AUTH_A]]));
    });

    it('keeps 20 interleaved concurrent callers apart while A’s execution is cached', async () => {
      harness.upstream.latencyMs = 50;
      const callers = new Map(Array.from({ length: 20 }, (_, i) => [`mix-${i}`, i % 2 === 0 ? AUTH_A : AUTH_B] as const));
      const answers = await Promise.all([...callers].map(([requestId, authorization]) => ask(harness, authorization, requestId, 'ex_iso_2')));
      [...callers.values()].forEach((authorization, i) =>
        authorization === AUTH_A ? expectOwnerView(answers[i]!, 'ex_iso_2') : expectOutsiderView(answers[i]!, 'ex_iso_2'),
      );
      expectCallsMatchCallers(harness, callers);
      // A was served from the cache filled by the first test; every call upstream saw was B's.
      expect(harness.upstream.requests.length).toBeGreaterThanOrEqual(1);
      expect(harness.upstream.requests.every((call) => call.headers.authorization === AUTH_B)).toBe(true);
    });
  });
});
