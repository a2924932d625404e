/**
 * The operation limits as settings (OPERATION_MAX_*, src/config.ts; README "Operation limits"): each default refuses
 * what the constant it replaced refused, a lowered value refuses what the default served, a raised one serves what the
 * default refused, on both lanes, by POST and by GET, and over every transport; a gateway's cached documents are never
 * served under another gateway's limits; and `npm start` refuses a limit that would refuse the gateway's own operations.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultOperationLimits, readConfig } from '../src/config.js';
import { demoExecutions } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { ownOperationsRefusal } from '../src/pipeline/own-operations.js';
import { manifestRefusal } from '../src/pipeline/trusted-documents.js';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';
import { sendOver, TRANSPORTS } from './support/transports.js';

/** `{ __schema { types { fields { type { ofType { … { name } } } } } } }` with `ofTypes` nested ofType levels: depth 5 + ofTypes. */
const nestedOfTypes = (ofTypes: number) => `{ __schema { types { fields { type { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } } } }`;
const aliases = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: __typename`).join(' ')} }`;
const directives = (count: number) => `{ ${'__typename @include(if: true) '.repeat(count)}}`;
/** An events page of 100 (cost 1,764.5), `count` times under aliases. */
const pages = (count: number) => `{ ${Array.from({ length: count }, (_, i) => `p${i}: execution(id: "ex_demo_2") { events(first: 100) { nodes { id message level } } }`).join(' ')} }`;
/** A valid document of 23 + `levels` tokens. */
const levels = (count: number) => `{ execution(id: "ex_demo_2") { events(filter: { levels: [${'"a" '.repeat(count)}] }) { totalCount } } }`;

interface Limit {
  setting: string;
  /** What the default refuses, and the start of its refusal. */
  overDefault: { query: string; refusal: string };
  /** A lowered value, what the default serves and the lowered value refuses, and the start of its refusal. */
  lowered: { value: string; query: string; refusal: string };
  /** A raised value, which serves `overDefault`. */
  raised: string;
  code: 'GRAPHQL_VALIDATION_FAILED' | 'GRAPHQL_PARSE_FAILED';
  /** Whether `overDefault` fits a GET's URL and is served by GET once raised (2,000 tokens of a valid document do not fit 16 KiB). */
  raisedByGet: boolean;
}

const LIMITS: Limit[] = [
  {
    setting: 'OPERATION_MAX_DEPTH',
    overDefault: {
      query: '{ execution(id: "ex_demo_2") { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }',
      refusal: 'Query depth limit of 9 exceeded, found 10. Select less deeply nested fields',
    },
    lowered: {
      value: '6',
      query: '{ execution(id: "ex_demo_2") { events { edges { node { execution { events { totalCount } } } } } } }',
      refusal: 'Query depth limit of 6 exceeded, found 7. Select less deeply nested fields',
    },
    raised: '12',
    code: 'GRAPHQL_VALIDATION_FAILED',
    raisedByGet: true,
  },
  {
    setting: 'OPERATION_MAX_INTROSPECTION_DEPTH',
    overDefault: { query: nestedOfTypes(21), refusal: 'Query depth limit of 25 exceeded, found 26. Nest fewer `ofType` levels' },
    lowered: { value: '16', query: nestedOfTypes(12), refusal: 'Query depth limit of 16 exceeded, found 17. Nest fewer `ofType` levels' },
    raised: '30',
    code: 'GRAPHQL_VALIDATION_FAILED',
    raisedByGet: true,
  },
  {
    setting: 'OPERATION_MAX_ALIASES',
    overDefault: { query: aliases(31), refusal: 'Aliases limit of 30 exceeded, found 31. Use fewer aliases' },
    lowered: { value: '2', query: aliases(3), refusal: 'Aliases limit of 2 exceeded, found 3. Use fewer aliases' },
    raised: '40',
    code: 'GRAPHQL_VALIDATION_FAILED',
    raisedByGet: true,
  },
  {
    setting: 'OPERATION_MAX_DIRECTIVES',
    overDefault: { query: directives(21), refusal: 'Directives limit of 20 exceeded, found 21. Use fewer directives.' },
    lowered: { value: '2', query: directives(3), refusal: 'Directives limit of 2 exceeded, found 3. Use fewer directives.' },
    raised: '30',
    code: 'GRAPHQL_VALIDATION_FAILED',
    raisedByGet: true,
  },
  {
    setting: 'OPERATION_MAX_TOKENS',
    overDefault: { query: levels(2_000), refusal: 'Token limit of 2000 exceeded. Send a shorter document' },
    lowered: { value: '50', query: levels(40), refusal: 'Token limit of 50 exceeded. Send a shorter document' },
    raised: '3000',
    code: 'GRAPHQL_PARSE_FAILED',
    raisedByGet: false,
  },
  {
    setting: 'OPERATION_MAX_COST',
    overDefault: { query: pages(15), refusal: 'Query Cost limit of 25000 exceeded, found 26468. Ask for fewer events per page' },
    lowered: { value: '1000', query: pages(1), refusal: 'Query Cost limit of 1000 exceeded, found 1765. Ask for fewer events per page' },
    raised: '40000',
    code: 'GRAPHQL_VALIDATION_FAILED',
    raisedByGet: true,
  },
];

type Method = 'POST' | 'GET';

async function send(harness: Harness, method: Method, query: string): Promise<ExecutionResult & { status: number }> {
  const headers = { authorization: AUTH, accept: 'application/graphql-response+json' };
  const response =
    method === 'POST'
      ? await harness.fetch('/graphql', { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query }) })
      : await harness.fetch(`/graphql?${new URLSearchParams({ query })}`, { headers });
  return { ...((await response.json()) as ExecutionResult), status: response.status };
}

/** Refused by the limit, before any upstream call. */
async function expectRefused(harness: Harness, method: Method, query: string, code: string, refusal: string): Promise<void> {
  const calls = harness.upstream.requests.length;
  const answer = await send(harness, method, query);
  expect(answer.status).toBe(400);
  expect(answer.errors?.map((error) => error.extensions?.code)).toEqual([code]);
  expect(answer.errors![0]!.message.startsWith(refusal), answer.errors![0]!.message).toBe(true);
  expect(harness.upstream.requests.length).toBe(calls);
}

/** Served: no error, data. */
async function expectServed(harness: Harness, method: Method, query: string): Promise<void> {
  const answer = await send(harness, method, query);
  expect(answer.errors).toBeUndefined();
  expect(answer.status).toBe(200);
  expect(answer.data).toBeTruthy();
}

describe.each(LANES)('operation limits as settings, %s lane', (lane: LaneName) => {
  let upstream: FakeUpstream;
  let defaults: Harness;
  const lowered = new Map<string, Harness>();
  const raised = new Map<string, Harness>();
  const start = (env: Record<string, string> = {}) => Harness.start({ lane, sharedUpstream: upstream, env });

  beforeAll(async () => {
    upstream = await FakeUpstream.start({ executions: demoExecutions() });
    defaults = await start();
    for (const limit of LIMITS) {
      lowered.set(limit.setting, await start({ [limit.setting]: limit.lowered.value }));
      raised.set(limit.setting, await start({ [limit.setting]: limit.raised }));
    }
  });
  afterAll(async () => {
    for (const harness of [defaults, ...lowered.values(), ...raised.values()]) await harness?.close();
    await upstream?.close();
  });

  describe.each(LIMITS)('$setting', (limit) => {
    it.each<Method>(['POST', 'GET'])('by %s: the default refuses what it refused before, a lowered value what the default served', async (method) => {
      expect(defaultOperationLimits()).toEqual({ maxDepth: 9, maxIntrospectionDepth: 25, maxAliases: 30, maxDirectives: 20, maxTokens: 2_000, maxCost: 25_000 });
      await expectRefused(defaults, method, limit.overDefault.query, limit.code, limit.overDefault.refusal);
      await expectServed(defaults, method, limit.lowered.query);
      await expectRefused(lowered.get(limit.setting)!, method, limit.lowered.query, limit.code, limit.lowered.refusal);
    });

    it.each<Method>(['POST', 'GET'])('by %s: a raised value serves what the default refused', async (method) => {
      if (method === 'GET' && !limit.raisedByGet) return;
      await expectServed(raised.get(limit.setting)!, method, limit.overDefault.query);
    });
  });

  it.each(TRANSPORTS)('holds %s to the lowered value', async (transport) => {
    const { results } = await sendOver(lowered.get('OPERATION_MAX_ALIASES')!, transport, aliases(3));
    expect(results).toHaveLength(1);
    expect(results[0]!.errors?.map((error) => [error.extensions?.code, error.message.slice(0, 40)])).toEqual([['GRAPHQL_VALIDATION_FAILED', 'Aliases limit of 2 exceeded, found 3. Us']]);
    // The same document within the default, over the same transport.
    expect((await sendOver(defaults, transport, aliases(3))).results.map(({ data, errors }) => ({ data, errors }))).toEqual([{ data: { a0: 'Query', a1: 'Query', a2: 'Query' }, errors: undefined }]);
  });

  // Each gateway parses, validates and compiles into caches of its own: one gateway's valid document (compiled once
  // warm) is never another's, nor its refusal.
  it('never serves a document cached under one gateway\'s limits under another\'s, either way round', async () => {
    const [loose, strict] = [await start(), await start({ OPERATION_MAX_ALIASES: '2', OPERATION_MAX_COST: '1000' })];
    try {
      for (const query of [aliases(3), pages(1)]) {
        for (let i = 0; i < 40; i++) await expectServed(loose, 'POST', query);
        await expectRefused(strict, 'POST', query, 'GRAPHQL_VALIDATION_FAILED', query === pages(1) ? 'Query Cost limit of 1000' : 'Aliases limit of 2');
        await expectServed(loose, 'GET', query);
      }
      const other = aliases(4);
      for (let i = 0; i < 3; i++) await expectRefused(strict, 'POST', other, 'GRAPHQL_VALIDATION_FAILED', 'Aliases limit of 2 exceeded, found 4.');
      await expectServed(loose, 'POST', other);
      await expectRefused(strict, 'GET', other, 'GRAPHQL_VALIDATION_FAILED', 'Aliases limit of 2 exceeded, found 4.');
    } finally {
      await loose.close();
      await strict.close();
    }
  });

  // A persisted document the limits would refuse is refused on every request: the gateway is not made.
  it('holds the persisted documents to the limits as set', async () => {
    await expect(start({ TRUSTED_DOCUMENTS: 'allow', OPERATION_MAX_COST: '100' })).rejects.toThrow(/is refused on every request: Query Cost limit of 100 exceeded, found 144\./);
    const allowed = await start({ TRUSTED_DOCUMENTS: 'allow', OPERATION_MAX_ALIASES: '0' });
    try {
      const { results } = await sendOver(allowed, 'POST JSON', aliases(1));
      expect(results[0]!.errors?.[0]?.message).toMatch(/^Aliases limit of 0 exceeded, found 1\./);
    } finally {
      await allowed.close();
    }
  });
});

describe('the limits at start-up', () => {
  const check = (env: Record<string, string>) => {
    try {
      readConfig(env, { limits: ownOperationsRefusal });
      return [];
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as Error).message.split('\n');
    }
  };

  it('refuses a limit that would refuse one of the typed client\'s operations, naming the setting and the least it takes', () => {
    expect(check({ OPERATION_MAX_DEPTH: '5' })).toEqual([
      "OPERATION_MAX_DEPTH=5 would refuse the typed client's ExecutionEvents operation (schema/operations/) on every request (it takes 6): set OPERATION_MAX_DEPTH to at least 6.",
    ]);
    expect(check({ OPERATION_MAX_COST: '100', INTROSPECTION: 'false' })).toEqual([
      "OPERATION_MAX_COST=100 would refuse the typed client's ExecutionPage operation (schema/operations/) on every request (it takes 144): set OPERATION_MAX_COST to at least 144.",
    ]);
    // What they take exactly is taken.
    expect(check({ OPERATION_MAX_DEPTH: '6', OPERATION_MAX_COST: '144', OPERATION_MAX_TOKENS: '184', OPERATION_MAX_ALIASES: '0', OPERATION_MAX_DIRECTIVES: '0' })).toEqual([]);
  });

  it('refuses one that would refuse the standard introspection query while INTROSPECTION is on, and takes it when off', () => {
    expect(check({ OPERATION_MAX_INTROSPECTION_DEPTH: '14', OPERATION_MAX_TOKENS: '150' })).toEqual([
      "OPERATION_MAX_INTROSPECTION_DEPTH=14 would refuse the standard introspection query (graphql-js's, as GraphiQL and codegen send it) on every request (it takes 15): set OPERATION_MAX_INTROSPECTION_DEPTH to at least 15, or set INTROSPECTION=false.",
      "OPERATION_MAX_TOKENS=150 would refuse the standard introspection query (graphql-js's, as GraphiQL and codegen send it) on every request (it takes 184): set OPERATION_MAX_TOKENS to at least 184, or set INTROSPECTION=false.",
    ]);
    expect(check({ OPERATION_MAX_INTROSPECTION_DEPTH: '14', OPERATION_MAX_TOKENS: '150', INTROSPECTION: 'false' })).toEqual([]);
    // TRUSTED_DOCUMENTS=only refuses introspection before any limit counts it (INTROSPECTION left at its default).
    expect(check({ OPERATION_MAX_INTROSPECTION_DEPTH: '14', OPERATION_MAX_TOKENS: '150', TRUSTED_DOCUMENTS: 'only' })).toEqual([]);
    expect(check({ OPERATION_MAX_TOKENS: '150', TRUSTED_DOCUMENTS: 'allow' })).toHaveLength(1);
  });

  it('says so once with TRUSTED_DOCUMENTS, whose manifest holds the same documents', () => {
    let lines: string[] = [];
    try {
      readConfig({ TRUSTED_DOCUMENTS: 'allow', OPERATION_MAX_DEPTH: '5' }, { limits: ownOperationsRefusal, manifest: manifestRefusal });
    } catch (error) {
      lines = (error as Error).message.split('\n');
    }
    expect(lines).toEqual([
      "OPERATION_MAX_DEPTH=5 would refuse the typed client's ExecutionEvents operation (schema/operations/) on every request (it takes 6): set OPERATION_MAX_DEPTH to at least 6.",
    ]);
  });

  it('refuses a data depth above the depth of any operation, whichever is set', () => {
    expect(check({ OPERATION_MAX_DEPTH: '30' })).toEqual([
      'OPERATION_MAX_DEPTH=30 is above OPERATION_MAX_INTROSPECTION_DEPTH=25 (its default): an operation that asks for introspection is held to the second over all its fields, data fields included. Lower OPERATION_MAX_DEPTH or raise OPERATION_MAX_INTROSPECTION_DEPTH.',
    ]);
    // Beside it, the standard introspection query's own refusal (it takes 15).
    expect(check({ OPERATION_MAX_INTROSPECTION_DEPTH: '8' })).toContain(
      'OPERATION_MAX_DEPTH=9 (its default) is above OPERATION_MAX_INTROSPECTION_DEPTH=8: an operation that asks for introspection is held to the second over all its fields, data fields included. Lower OPERATION_MAX_DEPTH or raise OPERATION_MAX_INTROSPECTION_DEPTH.',
    );
  });

  it('does not hold the data depth to the introspection depth with INTROSPECTION=false, where no request is held to the second', () => {
    // Refused before: a deployment that turned introspection off and its depth down was told to raise a limit never applied.
    expect(check({ OPERATION_MAX_INTROSPECTION_DEPTH: '5', INTROSPECTION: 'false' })).toEqual([]);
  });

  it('measures the manifest it is given, and checks nothing of one it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'limits5-'));
    try {
      const file = join(dir, 'persisted-documents.json');
      writeFileSync(file, JSON.stringify({ a: 'query Deep { execution(id: "x") { events { edges { node { execution { id } } } } } }' }));
      const limits = { ...defaultOperationLimits(), maxDepth: 5 };
      expect(ownOperationsRefusal({ introspection: false, limits }, pathToFileURL(file))).toBe(
        "OPERATION_MAX_DEPTH=5 would refuse the typed client's Deep operation (schema/operations/) on every request (it takes 6): set OPERATION_MAX_DEPTH to at least 6.",
      );
      expect(ownOperationsRefusal({ introspection: false, limits }, pathToFileURL(join(dir, 'absent.json')))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('src/main.ts exits 1 with the line, before it listens', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH, OPERATION_MAX_DEPTH: '5', PORT: '0', METRICS: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let out = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // A gateway that came up instead would serve until killed: it is, once the test has seen enough (past tsx's start,
    // 10-40 s on a loaded 2-core CI machine: killed sooner, a slow start read as no exit code).
    const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    const code = await new Promise((resolve) => child.once('close', resolve)).finally(() => clearTimeout(killer));
    expect(code).toBe(1);
    expect(err.split('\n')).toEqual([
      "execution-gateway: OPERATION_MAX_DEPTH=5 would refuse the typed client's ExecutionEvents operation (schema/operations/) on every request (it takes 6): set OPERATION_MAX_DEPTH to at least 6.",
      '',
    ]);
    expect(out).not.toMatch(/serving/);
  }, 60_000);
});
