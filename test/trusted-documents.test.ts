/**
 * Trusted documents (TRUSTED_DOCUMENTS, src/pipeline/trusted-documents.ts).
 *
 * The manifest first: it holds exactly the documents the typed client sends,
 * each under the sha256 of the text graphql-request prints for it (its
 * freshness against schema/operations/ is held by test/schema.test.ts with
 * the rest of codegen's outputs).
 *
 * Then the modes, as a table: each row is a request (a text, a hash in
 * either of its wire forms, or both) and what it must get in `only` or
 * `allow` mode; each row runs on both lanes, over every transport that can
 * carry it (POST JSON, GET, POST form, `application/graphql`, Server-Sent Events by POST
 * and by GET, WebSocket with the token in connectionParams), for a query and
 * for the `executionUpdates` subscription, fresh and then warm (the same
 * request again, after the fast lane has cached what it could). Answers must
 * be the same on both lanes; a refused request must cost no upstream call and
 * never reach the parser.
 */
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getIntrospectionQuery, print, type ExecutionResult } from 'graphql';
import { ClientError } from 'graphql-request';
import { createClient, type SubscribePayload } from 'graphql-ws';
import type { Plugin } from 'graphql-yoga';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as generated from '../src/client/generated.js';
import { createGatewayClient, ExecutionStatusDocument, ExecutionUpdatesDocument, watchExecution } from '../src/client/index.js';
import { ConfigError, defaultOperationLimits } from '../src/config.js';
import { GRAPHIQL_OFF_MESSAGES } from '../src/pipeline/graphiql.js';
import { readManifest } from '../src/pipeline/trusted-documents.js';
import { AUTH, Harness, LANES, type LaneName } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The typed documents the client exports, as graphql-request sends them: printed by graphql-js. */
const typedDocuments = Object.entries(generated)
  .filter(([name]) => name.endsWith('Document'))
  .map(([name, document]) => ({ name, text: print(document as typeof ExecutionStatusDocument) }));

describe('the persisted-documents manifest', () => {
  it('holds every typed document under the sha256 of the exact text graphql-request sends, and nothing else', () => {
    const manifest = JSON.parse(readFileSync(new URL('../schema/persisted-documents.json', import.meta.url), 'utf8')) as Record<string, string>;
    expect(typedDocuments.map((each) => each.name).sort()).toEqual([
      'ExecutionEventsDocument',
      'ExecutionPageDocument',
      'ExecutionStatusDocument',
      'ExecutionUpdatesDocument',
      'ExecutionsDocument',
    ]);
    expect(manifest).toEqual(Object.fromEntries(typedDocuments.map(({ text }) => [sha256(text), text])));
    expect(readManifest({ introspection: false, limits: defaultOperationLimits() })).toEqual(new Map(Object.entries(manifest)));
  });

  it.each([
    [
      'a key that is not its document\'s hash',
      { ['0'.repeat(64)]: 'query X { __typename }', [sha256('query Y { __typename }')]: 'query Y { __typename }' },
      new RegExp(`: 1 of its 2 keys is not the sha256 of the document filed under it: "${'0'.repeat(64)}", whose document's sha256 is ${sha256('query X { __typename }')}: `),
    ],
    ['a key that holds a line break', { 'a\nb': 'query X { __typename }' }, /: 1 of its 1 keys is not the sha256 of the document filed under it: "a\\nb", /],
    ['a document that does not parse', { [sha256('query X {')]: 'query X {' }, new RegExp(`the document under ${sha256('query X {')} is refused on every request: Syntax Error`)],
    ['a document the schema does not have', { [sha256('query X { nope }')]: 'query X { nope }' }, /is refused on every request: Cannot query field "nope"/],
    ['no document', {}, /holds no document/],
    ['a document that is no text', { [sha256('42')]: 42 }, /is not a persisted-documents manifest \(\{ "<sha256>": "<document>" \}\)/],
  ])('refuses to start on a manifest with %s, in one line', (_name, manifest, message) => {
    const file = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'persisted-documents.json');
    writeFileSync(file, JSON.stringify(manifest));
    expect(() => readManifest({ introspection: true, limits: defaultOperationLimits() }, pathToFileURL(file))).toThrow(ConfigError);
    expect(() => readManifest({ introspection: true, limits: defaultOperationLimits() }, pathToFileURL(file))).toThrow(message);
    expect(() => readManifest({ introspection: true, limits: defaultOperationLimits() }, pathToFileURL(file))).toThrow(/^[^\n]*run npm run generate\.$/);
  });

  it('refuses to start on a manifest that is no JSON, saying to write it again (a missing one: newuser7-deploy-manifest)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'persisted-documents.json');
    writeFileSync(file, '{"cut": ');
    expect(() => readManifest({ introspection: true, limits: defaultOperationLimits() }, pathToFileURL(file))).toThrow(/^TRUSTED_DOCUMENTS needs the persisted-documents manifest \S+: [^\n]*JSON[^\n]*: run npm run generate\.$/);
  });
});

/**
 * Start-up holds the manifest's documents to every rule a request is validated with, under the settings the gateway
 * runs with. With graphql-js's own rules alone, a mutation (the schema has none) or 41 `__typename` aliases (the limit
 * is 30) passed, and the gateway started with documents every request naming them found refused.
 */
describe.each(LANES)('the manifest check at start-up, held to what requests get (%s lane)', (lane) => {
  const aliases = (count: number) => `query Aliases { ${Array.from({ length: count }, (_, i) => `a${i}: __typename`).join(' ')} }`;
  const manifestFile = (text: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'manifest-')), 'persisted-documents.json');
    writeFileSync(file, JSON.stringify({ [STATUS_HASH]: STATUS_TEXT, [sha256(text)]: text }));
    return pathToFileURL(file);
  };

  it.each([
    ['a mutation (the schema has none)', 'mutation { x }', {}, 'GRAPHQL_VALIDATION_FAILED'],
    ['41 __typename aliases (the limit is 30)', aliases(41), {}, 'GRAPHQL_VALIDATION_FAILED'],
    ['a subscription of __typename', 'subscription { __typename }', {}, 'GRAPHQL_VALIDATION_FAILED'],
    ['more tokens than the limit', `{ ${'__typename '.repeat(2_000)}}`, {}, 'GRAPHQL_PARSE_FAILED'],
    ['introspection, with INTROSPECTION=false', '{ __schema { queryType { name } } }', { INTROSPECTION: 'false' }, 'GRAPHQL_VALIDATION_FAILED'],
  ] as Array<[string, string, Record<string, string>, string]>)('refuses %s, naming its hash and the error each request for it gets', async (_name, text, env, code) => {
    const harness = await Harness.start({ lane, env });
    try {
      const answer = await harness.query(text);
      expect(answer.errors?.map((error) => error.extensions?.code)[0]).toBe(code);
      const file = manifestFile(text);
      expect(() => readManifest({ ...harness.config.security, limits: harness.config.operations }, file)).toThrow(ConfigError);
      expect(() => readManifest({ ...harness.config.security, limits: harness.config.operations }, file)).toThrow(`: the document under ${sha256(text)} is refused on every request: ${answer.errors![0]!.message}: run npm run generate.`);
    } finally {
      await harness.close();
    }
  });

  it.each([
    ['30 __typename aliases (the limit)', aliases(30), {}],
    ['introspection, with INTROSPECTION=true', '{ __schema { queryType { name } } }', { INTROSPECTION: 'true' }],
  ] as Array<[string, string, Record<string, string>]>)('takes %s, which requests run', async (_name, text, env) => {
    const harness = await Harness.start({ lane, env });
    try {
      const answer = await harness.query(text);
      expect(answer.errors).toBeUndefined();
      expect(readManifest({ ...harness.config.security, limits: harness.config.operations }, manifestFile(text)).get(sha256(text))).toBe(text);
    } finally {
      await harness.close();
    }
  });
});

const STATUS_TEXT = print(ExecutionStatusDocument);
const STATUS_HASH = sha256(STATUS_TEXT);
const UPDATES_TEXT = print(ExecutionUpdatesDocument);
const UPDATES_HASH = sha256(UPDATES_TEXT);
const UNKNOWN_HASH = sha256('query Unknown { __typename }');

type Kind = 'query' | 'subscription';

/** What one request carries; any of text and hash, in either wire form. */
interface Send {
  query?: string;
  variables?: Record<string, unknown>;
  /** Sent as `extensions.persistedQuery`, of `version` (1 unless given). */
  sha256Hash?: string;
  version?: unknown;
  /** Sent as `documentId`: a string, or anything JSON carries (a malformed one). */
  documentId?: unknown;
}

/** A manifest document, by kind: what it runs on, and what running it answers. */
const MANIFEST: Record<Kind, { text: string; hash: string; variables: Record<string, unknown>; check(result: ExecutionResult): void }> = {
  query: {
    text: STATUS_TEXT,
    hash: STATUS_HASH,
    variables: { id: 'ex_demo_4' },
    check: (result) => expect(result).toMatchObject({ data: { execution: { id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' } } }),
  },
  subscription: {
    text: UPDATES_TEXT,
    hash: UPDATES_HASH,
    // ex_demo_6 is terminal: one final update, then the stream completes.
    variables: { id: 'ex_demo_6' },
    check: (result) => expect(result).toMatchObject({ data: { executionUpdates: { isFinal: true, execution: { status: 'WORKFLOW_SUCCEEDED' } } } }),
  },
};

/** An ad-hoc text of each kind (made unique per cell, so its first round is a document the process has not seen). */
const AD_HOC: Record<Kind, string> = {
  query: '{ execution(id: "ex_demo_4") { id status } }',
  subscription: 'subscription { executionUpdates(id: "ex_demo_6") { isFinal } }',
};

type Outcome = 'runs' | 'PERSISTED_QUERY_NOT_IN_LIST' | 'PERSISTED_QUERY_NOT_FOUND' | 'BAD_REQUEST';

interface Row {
  title: string;
  modes: Array<'only' | 'allow'>;
  /** What the row's request is in each mode. */
  outcome: Partial<Record<'only' | 'allow', Outcome>>;
  /** The request, for a kind and a text unique to the cell. */
  send(kind: Kind, unique: string): Send;
  /** What an executed request answers (default: the manifest document's check). */
  check?(kind: Kind, result: ExecutionResult): void;
}

const adHoc = (kind: Kind, unique: string) => `${AD_HOC[kind]} ${unique}`;

const ROWS: Row[] = [
  {
    title: 'a text not in the manifest',
    modes: ['only', 'allow'],
    outcome: { only: 'PERSISTED_QUERY_NOT_IN_LIST', allow: 'runs' },
    send: (kind, unique) => ({ query: adHoc(kind, unique) }),
    check: (kind, result) =>
      expect(result).toEqual(kind === 'query' ? { data: { execution: { id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' } } } : { data: { executionUpdates: { isFinal: true } } }),
  },
  {
    title: 'introspection',
    modes: ['only'],
    outcome: { only: 'PERSISTED_QUERY_NOT_IN_LIST' },
    send: (kind, unique) => ({ query: `${kind === 'subscription' ? 'subscription ' : ''}{ __schema { queryType { name } } } ${unique}` }),
  },
  {
    title: 'a manifest document by extensions.persistedQuery.sha256Hash',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document by documentId sha256:<hex>',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ documentId: `sha256:${MANIFEST[kind].hash}`, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document by documentId as bare hex',
    modes: ['only'],
    outcome: { only: 'runs' },
    send: (kind) => ({ documentId: MANIFEST[kind].hash, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document as its exact text (what the typed client sends)',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ query: MANIFEST[kind].text, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document\'s text with a comment added (the same operation, another document)',
    modes: ['only'],
    outcome: { only: 'PERSISTED_QUERY_NOT_IN_LIST' },
    send: (kind, unique) => ({ query: `${MANIFEST[kind].text}\n${unique}`, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a hash that is in no manifest',
    modes: ['only', 'allow'],
    outcome: { only: 'PERSISTED_QUERY_NOT_FOUND', allow: 'PERSISTED_QUERY_NOT_FOUND' },
    send: (kind) => ({ sha256Hash: UNKNOWN_HASH, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a documentId that is in no manifest',
    modes: ['only', 'allow'],
    outcome: { only: 'PERSISTED_QUERY_NOT_FOUND', allow: 'PERSISTED_QUERY_NOT_FOUND' },
    send: (kind) => ({ documentId: `sha256:${UNKNOWN_HASH}`, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a text not in the manifest, sent with a manifest document\'s hash',
    modes: ['only'],
    outcome: { only: 'PERSISTED_QUERY_NOT_IN_LIST' },
    send: (kind, unique) => ({ query: adHoc(kind, unique), sha256Hash: MANIFEST[kind].hash, documentId: `sha256:${MANIFEST[kind].hash}` }),
  },
  {
    title: 'a documentId and a sha256Hash naming the same document',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash, documentId: `sha256:${MANIFEST[kind].hash}`, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a documentId and a sha256Hash naming different documents',
    modes: ['only', 'allow'],
    outcome: { only: 'BAD_REQUEST', allow: 'BAD_REQUEST' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash, documentId: `sha256:${UNKNOWN_HASH}`, variables: MANIFEST[kind].variables }),
  },
  // Hex digits name the same bytes in either case (src/pipeline/trusted-documents.ts manifestKey).
  {
    title: 'a manifest document by extensions.persistedQuery.sha256Hash in upper-case hex',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash.toUpperCase(), variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document by documentId sha256:<HEX> in upper case',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ documentId: `sha256:${MANIFEST[kind].hash.toUpperCase()}`, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a documentId in upper-case hex and a sha256Hash in lower case naming the same document',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash, documentId: MANIFEST[kind].hash.toUpperCase(), variables: MANIFEST[kind].variables }),
  },
  // Only version 1 of Apollo's automatic persisted queries exists.
  {
    title: 'a manifest document by extensions.persistedQuery of version 2',
    modes: ['only', 'allow'],
    outcome: { only: 'BAD_REQUEST', allow: 'BAD_REQUEST' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash, version: 2, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document by extensions.persistedQuery of version "1" (a string)',
    modes: ['only', 'allow'],
    outcome: { only: 'BAD_REQUEST', allow: 'BAD_REQUEST' },
    send: (kind) => ({ sha256Hash: MANIFEST[kind].hash, version: '1', variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a manifest document\'s text with its hash of version 2 (the text wins)',
    modes: ['only', 'allow'],
    outcome: { only: 'runs', allow: 'runs' },
    send: (kind) => ({ query: MANIFEST[kind].text, sha256Hash: MANIFEST[kind].hash, version: 2, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a documentId that is a number',
    modes: ['only', 'allow'],
    outcome: { only: 'BAD_REQUEST', allow: 'BAD_REQUEST' },
    send: (kind) => ({ documentId: 42, variables: MANIFEST[kind].variables }),
  },
  {
    title: 'a documentId that is an object, with a manifest document\'s text',
    modes: ['only', 'allow'],
    outcome: { only: 'BAD_REQUEST', allow: 'BAD_REQUEST' },
    send: (kind) => ({ query: MANIFEST[kind].text, documentId: { sha256: MANIFEST[kind].hash }, variables: MANIFEST[kind].variables }),
  },
];

type Transport = 'POST JSON' | 'GET' | 'POST form' | 'application/graphql' | 'SSE (POST)' | 'SSE (GET)' | 'WebSocket';
const TRANSPORTS: readonly Transport[] = ['POST JSON', 'GET', 'POST form', 'application/graphql', 'SSE (POST)', 'SSE (GET)', 'WebSocket'];
const STREAMING: ReadonlySet<Transport> = new Set(['SSE (POST)', 'SSE (GET)', 'WebSocket']);
const JSON_CARRIERS: ReadonlySet<Transport> = new Set(['POST JSON', 'SSE (POST)', 'WebSocket']);

/** Whether a transport can carry a request: subscriptions need a stream; `application/graphql` carries a text and nothing else. */
function carries(transport: Transport, kind: Kind, send: Send): boolean {
  if (kind === 'subscription' && !STREAMING.has(transport)) return false;
  if (transport === 'application/graphql') return send.query !== undefined && !send.variables && !send.sha256Hash && !send.documentId;
  // A query string or a form carries strings only.
  if (send.documentId !== undefined && typeof send.documentId !== 'string') return JSON_CARRIERS.has(transport);
  return true;
}

interface Answer {
  /** HTTP status; null over WebSocket. */
  status: number | null;
  result: ExecutionResult;
}

const extensionsOf = (send: Send) => (send.sha256Hash ? { persistedQuery: { version: send.version ?? 1, sha256Hash: send.sha256Hash } } : undefined);

function jsonBody(send: Send): string {
  return JSON.stringify({ query: send.query, documentId: send.documentId, variables: send.variables, extensions: extensionsOf(send) });
}

function searchOf(send: Send): string {
  const params = new URLSearchParams();
  if (send.query !== undefined) params.set('query', send.query);
  if (send.documentId !== undefined) params.set('documentId', String(send.documentId));
  if (send.variables) params.set('variables', JSON.stringify(send.variables));
  const extensions = extensionsOf(send);
  if (extensions) params.set('extensions', JSON.stringify(extensions));
  return params.toString();
}

/** An event stream's one result: exactly one `next`, then `complete`. */
function streamed(text: string): ExecutionResult {
  const events: Array<{ event: string; data: string }> = [];
  for (const block of text.split('\n\n')) {
    const event = /^event: ?(.*)$/m.exec(block)?.[1];
    const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((match) => match[1]).join('\n');
    if (event !== undefined) events.push({ event, data });
  }
  expect(events.map((each) => each.event), text).toEqual(['next', 'complete']);
  return JSON.parse(events[0]!.data) as ExecutionResult;
}

async function overHttp(harness: Harness, transport: Exclude<Transport, 'WebSocket'>, send: Send): Promise<Answer> {
  const accept = transport.startsWith('SSE') ? 'text/event-stream' : 'application/graphql-response+json';
  const headers: Record<string, string> = { authorization: AUTH, accept };
  let response: Response;
  if (transport === 'GET' || transport === 'SSE (GET)') {
    response = await harness.fetch(`/graphql?${searchOf(send)}`, { headers });
  } else if (transport === 'POST form') {
    // The GET parameters as a form body: Yoga's form parser, like its GET parser, keeps only the standard four.
    response = await harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: searchOf(send) });
  } else if (transport === 'application/graphql') {
    response = await harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/graphql' }, body: send.query! });
  } else {
    response = await harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: jsonBody(send) });
  }
  const text = await response.text();
  if (STREAMING.has(transport)) {
    expect(response.headers.get('content-type'), `${response.status} ${text}`).toMatch(/^text\/event-stream/);
    return { status: response.status, result: streamed(text) };
  }
  return { status: response.status, result: JSON.parse(text) as ExecutionResult };
}

/** graphql-ws requires a `query` string: a request by hash sends an empty one, as persisted-query clients over graphql-ws do. */
async function overWebSocket(harness: Harness, send: Send): Promise<Answer> {
  const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
  try {
    const payload = {
      query: send.query ?? '',
      ...(send.variables ? { variables: send.variables } : {}),
      ...(extensionsOf(send) ? { extensions: extensionsOf(send) } : {}),
      ...(send.documentId ? { documentId: send.documentId } : {}),
    } as SubscribePayload;
    const results = await resultsOverWebSocket(client, payload);
    expect(results, JSON.stringify(results)).toHaveLength(1);
    return { status: null, result: results[0]! };
  } finally {
    await client.dispose();
  }
}

const sendOver = (harness: Harness, transport: Transport, send: Send) => (transport === 'WebSocket' ? overWebSocket(harness, send) : overHttp(harness, transport, send));

/** What reached each hook of the plugins after the gateway's own: the parameters they saw, and whether the parser ran. */
class Probe {
  readonly queries: Array<string | undefined> = [];
  parses = 0;
  readonly plugin: Plugin = {
    onParams: ({ params }) => {
      this.queries.push(params.query);
    },
    onParse: () => {
      this.parses++;
    },
  };
}

function checkAnswer(row: Row, outcome: Outcome, kind: Kind, transport: Transport, answer: Answer): void {
  if (outcome === 'runs') {
    expect(answer.result.errors).toBeUndefined();
    if (row.check) row.check(kind, answer.result);
    else MANIFEST[kind].check(answer.result);
    if (!STREAMING.has(transport)) expect(answer.status).toBe(200);
    return;
  }
  expect(answer.result.data).toBeUndefined();
  expect(answer.result.errors?.map((error) => error.extensions?.code)).toEqual([outcome]);
  // A refusal answered as an event stream is a 200 with the error in its one `next` event (src/pipeline/event-stream.ts).
  if (answer.status !== null) expect(answer.status).toBe(STREAMING.has(transport) ? 200 : 400);
}

type Mode = 'only' | 'allow';
const MODES: readonly Mode[] = ['only', 'allow'];

describe('TRUSTED_DOCUMENTS on every lane and transport, fresh and warm', () => {
  const harnesses = {} as Record<Mode, Record<LaneName, Harness>>;
  const probes = {} as Record<Mode, Record<LaneName, Probe>>;
  let cell = 0;

  beforeAll(async () => {
    for (const mode of MODES) {
      harnesses[mode] = {} as Record<LaneName, Harness>;
      probes[mode] = {} as Record<LaneName, Probe>;
      for (const lane of LANES) {
        const probe = new Probe();
        probes[mode][lane] = probe;
        harnesses[mode][lane] = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: mode, UPSTREAM_EXTENSIONS: 'false' }, plugins: [probe.plugin] });
      }
    }
  });
  afterAll(async () => {
    for (const mode of MODES) for (const lane of LANES) await harnesses[mode]?.[lane]?.close();
  });

  for (const mode of MODES) {
    for (const row of ROWS.filter((each) => each.modes.includes(mode))) {
      const outcome = row.outcome[mode]!;
      for (const kind of ['query', 'subscription'] as const) {
        for (const transport of TRANSPORTS.filter((each) => carries(each, kind, row.send(kind, '')))) {
          it(`${mode}: ${row.title} (${kind}, ${transport}) ${outcome === 'runs' ? 'runs' : `is ${outcome}`}, on both lanes alike`, async () => {
            const unique = `# cell ${++cell}`;
            const send = row.send(kind, unique);
            const answers: Partial<Record<LaneName, Answer[]>> = {};
            for (const lane of LANES) {
              const harness = harnesses[mode][lane];
              const probe = probes[mode][lane];
              answers[lane] = [];
              for (const round of ['fresh', 'warm']) {
                const where = `${lane} lane, ${round}`;
                const calls = harness.upstream.requests.length;
                const parses = probe.parses;
                const seen = probe.queries.length;
                const answer = await sendOver(harness, transport, send);
                try {
                  checkAnswer(row, outcome, kind, transport, answer);
                } catch (error) {
                  throw new Error(`${where}: ${(error as Error).message}\n${answer.status ?? 'WebSocket'} ${JSON.stringify(answer.result).slice(0, 400)}`);
                }
                const upstreamCalls = harness.upstream.requests.length - calls;
                if (outcome === 'runs') {
                  expect(upstreamCalls, where).toBeGreaterThan(0);
                  if (kind === 'query') expect(upstreamCalls, where).toBe(1);
                  // Later plugins see the document that runs: the manifest's text when a hash named it.
                  expect(probe.queries.slice(seen), where).toEqual([send.query ?? MANIFEST[kind].text]);
                } else {
                  expect(upstreamCalls, `${where}: upstream calls`).toBe(0);
                  expect(probe.parses - parses, `${where}: a refused document reached the parser`).toBe(0);
                  expect(probe.queries.slice(seen), `${where}: a refused request reached later plugins`).toEqual([]);
                }
                answers[lane]!.push(answer);
              }
            }
            expect(answers.fast, 'the fast lane against the full lane').toEqual(answers.full);
          });
        }
      }
    }
  }

  it.each(LANES)('only: a mutation by GET accepting no type the gateway makes gets the 406 of any text, not the 405 of a mutation it would read (%s lane)', async (lane) => {
    const harness = harnesses.only[lane];
    const calls = harness.upstream.requests.length;
    const answer = await harness.fetch(`/graphql?query=${encodeURIComponent('mutation Sneak { __typename }')}`, { headers: { accept: 'image/png' } });
    expect(answer.status).toBe(406);
    expect(answer.headers.get('allow')).toBeNull();
    expect(((await answer.json()) as { errors: Array<{ extensions: { code: string } }> }).errors.map((error) => error.extensions.code)).toEqual(['BAD_REQUEST']);
    expect(harness.upstream.requests).toHaveLength(calls);
  });

  it.each(LANES)('allow: a text sent with a hash runs, and does not teach the gateway that hash (%s lane)', async (lane) => {
    const harness = harnesses.allow[lane];
    const hash = sha256(`query Learned${lane} { __typename }`);
    const taught = await overHttp(harness, 'POST JSON', { query: `query Learned${lane} { __typename }`, sha256Hash: hash });
    expect(taught.result).toEqual({ data: { __typename: 'Query' } });
    const asked = await overHttp(harness, 'POST JSON', { sha256Hash: hash });
    expect(asked.status).toBe(400);
    expect(asked.result.errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });

  it.each(LANES)('allow and only: a request with neither a text nor a hash is BAD_REQUEST (%s lane)', async (lane) => {
    for (const mode of MODES) {
      const answer = await overHttp(harnesses[mode][lane], 'POST JSON', { variables: { id: 'ex_demo_4' } });
      expect(answer.status, mode).toBe(400);
      expect(answer.result.errors?.map((error) => error.extensions?.code), mode).toEqual(['BAD_REQUEST']);
    }
  });

  it.each(LANES)('allow and only: an empty text beside a hash is no text, and the hash names the document, by POST JSON, GET and form (%s lane)', async (lane) => {
    for (const mode of MODES) {
      for (const transport of ['POST JSON', 'GET', 'POST form'] as const) {
        const answer = await overHttp(harnesses[mode][lane], transport, { query: '', documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } });
        expect(answer.result.errors, `${mode} ${transport}`).toBeUndefined();
        expect(answer.result.data, `${mode} ${transport}`).toMatchObject({ execution: { id: 'ex_demo_4' } });
      }
    }
  });

  it.each(LANES)("allow and only: a documentId of null beside a text is absent, as JSON's way of leaving it out (%s lane)", async (lane) => {
    for (const mode of MODES) {
      const answer = await overHttp(harnesses[mode][lane], 'POST JSON', { query: STATUS_TEXT, documentId: null, variables: { id: 'ex_demo_4' } });
      expect(answer.result.errors, mode).toBeUndefined();
      expect(answer.result.data, mode).toMatchObject({ execution: { id: 'ex_demo_4' } });
    }
  });

  it.each(LANES)("only: a manifest document's text runs as sent, character for character; with a space more it is a text not in the list (%s lane)", async (lane) => {
    for (const query of [`${STATUS_TEXT} `, ` ${STATUS_TEXT}`, STATUS_TEXT.replace('\n', '\r\n')]) {
      const answer = await overHttp(harnesses.only[lane], 'POST JSON', { query, variables: { id: 'ex_demo_4' } });
      expect(answer.result.errors?.map((error) => error.extensions?.code), JSON.stringify(query)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    }
  });

  it.each(LANES)('only: the refusals are the documented errors, word for word (%s lane)', async (lane) => {
    const harness = harnesses.only[lane];
    const text = await overHttp(harness, 'POST JSON', { query: '{ __typename }' });
    expect(text.result.errors).toEqual([
      {
        message:
          'Only persisted documents run here (TRUSTED_DOCUMENTS=only): send the sha256 of a document of the gateway\'s manifest as `extensions.persistedQuery.sha256Hash` or `documentId`, or that document\'s exact text. A new operation runs once it is in the manifest of the release deployed (schema/persisted-documents.json, written by `npm run generate` from schema/operations/).',
        extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' },
      },
    ]);
    const hash = await overHttp(harness, 'POST JSON', { sha256Hash: UNKNOWN_HASH });
    expect(hash.result.errors).toEqual([{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', advice: expect.stringContaining('with TRUSTED_DOCUMENTS=only nothing else runs') } }]);
  });

  // Codegen and schema registries print the message: the general one told them to send a hash they cannot have.
  it.each(LANES)('only: introspection is refused with the same code, and a message saying where the schema is (%s lane)', async (lane) => {
    const harness = harnesses.only[lane];
    const upstreamBefore = harness.upstream.requests.length;
    for (const query of [getIntrospectionQuery(), '{ __type(name: "Execution") { name } }']) {
      for (const transport of ['POST JSON', 'GET'] as const) {
        const answer = await overHttp(harness, transport, { query });
        expect(answer.status, transport).toBe(400);
        expect(answer.result.errors, transport).toEqual([
          {
            message:
              'Only persisted documents run here (TRUSTED_DOCUMENTS=only), and introspection is none of them: take the schema from schema/schema.graphql of the release this gateway runs, or introspect a gateway that serves it (TRUSTED_DOCUMENTS=allow or off, with INTROSPECTION=true).',
            extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST' },
          },
        ]);
      }
    }
    expect(harness.upstream.requests).toHaveLength(upstreamBefore);
  });

  // No manifest holds a mutation (the schema has none): by GET it is text not in the list like any other. The edge's
  // 405 for a GET of a mutation read that text, which `only` never reads, and answered it 405 where the same GET
  // taking JSON got PERSISTED_QUERY_NOT_IN_LIST.
  it.each(LANES)('only: a GET of a mutation whose Accept is refused gets the answer of any text not in the list (%s lane)', async (lane) => {
    const harness = harnesses.only[lane];
    const get = (query: string, accept: string) => harness.fetch(`/graphql?${new URLSearchParams({ query })}`, { headers: { accept, authorization: AUTH } });
    const mutation = await get('mutation { __typename }', 'image/png');
    const query = await get('{ __typename }', 'image/png');
    expect(mutation.status).toBe(query.status);
    expect(mutation.headers.get('allow')).toBeNull();
    expect(await mutation.json()).toEqual(await query.json());
    const accepted = await get('mutation { __typename }', 'application/json');
    expect(accepted.status).toBe(400);
    expect(((await accepted.json()) as ExecutionResult).errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
  });

  it.each(LANES)('only: GraphiQL is not served: its route answers 404 saying why (%s lane)', async (lane) => {
    const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
    const response = await harnesses.only[lane].fetch('/graphql', { headers: browser });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(await response.json()).toEqual({ errors: [{ message: GRAPHIQL_OFF_MESSAGES.trustedDocumentsOnly, extensions: { code: 'BAD_REQUEST' } }] });
    const calls = harnesses.only[lane].upstream.requests.length;
    // With a query string too (GraphiQL takes its query from the URL).
    const withQuery = await harnesses.only[lane].fetch(`/graphql?${new URLSearchParams({ query: '{ __typename }' })}`, { headers: browser });
    expect(withQuery.status).toBe(404);
    expect(harnesses.only[lane].upstream.requests.length).toBe(calls);
    // allow keeps GraphiQL.
    const allowed = await harnesses.allow[lane].fetch('/graphql', { headers: browser });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('content-type')).toMatch(/^text\/html/);
    await allowed.text();
  });

  it.each(LANES)('only: the typed client works unchanged: graphql-request sends the printed document, which is in the manifest (%s lane)', async (lane) => {
    const harness = harnesses.only[lane];
    const client = createGatewayClient(harness.url, AUTH);
    const { execution } = await client.request(ExecutionStatusDocument, { id: 'ex_demo_7' });
    expect(execution).toMatchObject({ id: 'ex_demo_7', status: 'WORKFLOW_FAILED', isTerminal: true });
    const refused = await client.request('{ __typename }').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).response.errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_IN_LIST']);
    const updates = [];
    for await (const update of watchExecution(harness.url, AUTH, 'ex_demo_8')) updates.push(update);
    expect(updates.map((update) => [update.isFinal, update.execution.status])).toEqual([[true, 'WORKFLOW_CANCELLED']]);
  });
});

describe('TRUSTED_DOCUMENTS=off (the default)', () => {
  it.each(LANES)('runs text and knows no hashes (%s lane)', async (lane) => {
    const harness = await Harness.start({ lane });
    try {
      expect(harness.config.security.trustedDocuments).toBe('off');
      const text = await harness.query('{ __schema { queryType { name } } }');
      expect(text.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const hash = await overHttp(harness, 'POST JSON', { sha256Hash: STATUS_HASH, variables: { id: 'ex_demo_4' } });
      expect(hash.status).toBe(400);
      expect(hash.result.errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
      expect(harness.upstream.requests).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });

  it.each(LANES)('tells a request sending only a hash that persisted documents are off, on every form of it (%s lane)', async (lane) => {
    const harness = await Harness.start({ lane });
    try {
      const sends: Array<[Exclude<Transport, 'WebSocket'>, Send]> = [
        ['POST JSON', { documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } }],
        ['GET', { documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } }],
        ['POST form', { documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } }],
        ['POST JSON', { sha256Hash: STATUS_HASH, variables: { id: 'ex_demo_4' } }],
        ['GET', { sha256Hash: STATUS_HASH, variables: { id: 'ex_demo_4' } }],
        ['POST form', { sha256Hash: STATUS_HASH, variables: { id: 'ex_demo_4' } }],
        // An empty text is no text: the hash is all that was sent.
        ['POST JSON', { query: '', documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } }],
        ['GET', { query: '', documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } }],
      ];
      for (const [transport, send] of sends) {
        const answer = await overHttp(harness, transport, send);
        expect(answer.status, `${transport} ${JSON.stringify(send)}`).toBe(400);
        expect(answer.result.errors, `${transport} ${JSON.stringify(send)}`).toEqual([
          {
            // Apollo's code and message: Apollo Client's link falls back to the text on either, urql's exchange on the message alone.
            message: 'PersistedQueryNotSupported',
            extensions: { code: 'PERSISTED_QUERY_NOT_SUPPORTED', advice: expect.stringContaining("send the document's text as `query`") },
          },
        ]);
      }
      // A text with a stray hash is not refused for the hash: GET ignores it, as before.
      const text = await overHttp(harness, 'GET', { query: print(ExecutionStatusDocument), documentId: `sha256:${STATUS_HASH}`, variables: { id: 'ex_demo_4' } });
      expect(text.result.errors).toBeUndefined();
      expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(1);
    } finally {
      await harness.close();
    }
  });

  it.each(LANES)('refuses a documentId that is not a string as BAD_REQUEST when persisted documents are off, with a text or without (%s lane)', async (lane) => {
    const harness = await Harness.start({ lane });
    try {
      for (const send of [{ documentId: 42, variables: { id: 'ex_demo_4' } }, { query: print(ExecutionStatusDocument), documentId: ['sha256', STATUS_HASH], variables: { id: 'ex_demo_4' } }]) {
        const answer = await overHttp(harness, 'POST JSON', send);
        expect(answer.status, JSON.stringify(send.documentId)).toBe(400);
        expect(answer.result.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_REQUEST']);
        expect(answer.result.errors?.[0]?.message).toContain('`documentId` must be a string');
      }
      expect(harness.upstream.requests).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });

  // Apollo Client's and urql's persisted-query links send a hash alone first, and the text only on
  // PERSISTED_QUERY_NOT_FOUND or PERSISTED_QUERY_NOT_SUPPORTED: answered BAD_REQUEST, a frontend with
  // automatic persisted queries on failed every operation against the default gateway.
  it.each(LANES)("lets Apollo Client's persisted-query link fall back to the text, once, when persisted documents are off (%s lane)", async (lane) => {
    const harness = await Harness.start({ lane });
    try {
      const bodies: Array<{ query?: string; extensions?: unknown }> = [];
      const recording: typeof fetch = (input, init) => {
        bodies.push(JSON.parse(String(init?.body)) as { query?: string });
        return fetch(input, init);
      };
      const link = new PersistedQueryLink({ sha256 }).concat(new HttpLink({ uri: harness.url, headers: { authorization: AUTH }, fetch: recording }));
      const client = new ApolloClient({ link, cache: new InMemoryCache() });
      for (const id of ['ex_demo_4', 'ex_demo_5']) {
        const { data, error } = await client.query({ query: ExecutionStatusDocument, variables: { id }, fetchPolicy: 'network-only' });
        expect(error).toBeUndefined();
        expect(data?.execution?.id).toBe(id);
      }
      // The hash alone, refused; then texts alone: the link stopped sending hashes.
      expect(bodies.map((body) => [typeof body.query, Boolean((body.extensions as { persistedQuery?: unknown } | undefined)?.persistedQuery)])).toEqual([
        ['undefined', true],
        ['string', false],
        ['string', false],
      ]);
      expect(harness.upstream.requests.map((request) => request.path)).toEqual(['/v1/executions/ex_demo_4', '/v1/executions/ex_demo_5']);
    } finally {
      await harness.close();
    }
  });

  // A text wins over a hash sent with it, in every mode (README "Trusted documents"): a JSON
  // body's `documentId` was left for Yoga, which refused it as an unexpected parameter (400),
  // while the same request by GET, or with the hash in `extensions`, ran the text.
  it.each(LANES)('runs a text sent with a hash in either form, on every transport that carries both (%s lane)', async (lane) => {
    const harness = await Harness.start({ lane });
    try {
      for (const kind of ['query', 'subscription'] as const) {
        const { text, hash, variables } = MANIFEST[kind];
        for (const transport of TRANSPORTS) {
          for (const send of [{ query: text, variables, documentId: `sha256:${hash}` }, { query: text, variables, sha256Hash: hash }, { query: text, variables, documentId: hash, sha256Hash: hash }]) {
            if (!carries(transport, kind, send)) continue;
            const answer = await sendOver(harness, transport, send);
            const what = `${kind} over ${transport}: ${JSON.stringify({ ...send, query: '…' })}`;
            expect(answer.result.errors, what).toBeUndefined();
            MANIFEST[kind].check(answer.result);
            if (answer.status !== null) expect(answer.status, what).toBe(200);
          }
        }
      }
    } finally {
      await harness.close();
    }
  });
});

/**
 * A GET's parameters are read as URLSearchParams reads them, names decoded, as Yoga's GET parser reads
 * `query`: `document%49d=` is `documentId=`. The hook looked for the literal text `documentId=`, so the same
 * request with its name percent-encoded (as any encoder may write it) lost its hash, and Yoga answered
 * "Must provide a query string" (400 BAD_REQUEST) instead of running the document, or, with persisted
 * documents off, saying so.
 */
describe.each(LANES)("a GET's documentId with its name percent-encoded (%s lane)", (lane) => {
  const variables = encodeURIComponent(JSON.stringify({ id: 'ex_demo_4' }));
  const get = (harness: Harness, search: string) => harness.fetch(`/graphql?${search}&variables=${variables}`, { headers: { authorization: AUTH, accept: 'application/graphql-response+json' } });

  for (const name of ['document%49d', '%64ocumentId', 'documentI%64']) {
    it(`runs the persisted document it names: ${name}=sha256:<hash> (TRUSTED_DOCUMENTS=allow)`, async () => {
      const harness = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: 'allow' } });
      try {
        const response = await get(harness, `${name}=sha256%3A${STATUS_HASH}`);
        const result = (await response.json()) as ExecutionResult;
        expect(result.errors).toBeUndefined();
        expect(response.status).toBe(200);
        MANIFEST.query.check(result);
        expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(1);
        expect(harness.upstream.requestsFor('ex_demo_4')[0]!.headers.authorization).toBe(AUTH);
      } finally {
        await harness.close();
      }
    });
  }

  it('is told persisted documents are off (TRUSTED_DOCUMENTS=off), with no upstream call', async () => {
    const harness = await Harness.start({ lane });
    try {
      const response = await get(harness, `document%49d=sha256:${STATUS_HASH}`);
      expect(response.status).toBe(400);
      expect(((await response.json()) as ExecutionResult).errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
      expect(harness.upstream.requests).toEqual([]);
    } finally {
      await harness.close();
    }
  });
});

/**
 * `extensions` that are no object are Yoga's BAD_REQUEST however the document is named. Yoga checks them only after
 * the hook that turns a hash into the `persistedQuery` extension, which spread them into an object: a document named
 * by its hash (or, with `only`, by its exact text) ran, 200 with data, where the same text in `off` or `allow` was
 * refused.
 */
describe.each(LANES)('extensions that are no object (%s lane)', (lane) => {
  const harnesses = {} as Record<'off' | Mode, Harness>;
  beforeAll(async () => {
    for (const mode of ['off', ...MODES] as const) harnesses[mode] = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: mode } });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness.close();
  });

  const variables = { id: 'ex_demo_4' };
  const VALUES: Array<[unknown, string]> = [
    [[], 'array'],
    ['x', 'string'],
    [5, 'number'],
    [true, 'boolean'],
  ];
  const NAMED: Array<[string, { query?: string; documentId?: string }]> = [
    ['documentId sha256:<hex>', { documentId: `sha256:${STATUS_HASH}` }],
    ['documentId as bare hex', { documentId: STATUS_HASH }],
    ["the manifest document's exact text", { query: STATUS_TEXT }],
    ['a text not in the manifest', { query: '{ execution(id: "ex_demo_4") { id } }' }],
  ];

  async function send(harness: Harness, method: 'POST JSON' | 'GET' | 'POST form', named: { query?: string; documentId?: string }, extensions: unknown): Promise<Answer> {
    const headers: Record<string, string> = { authorization: AUTH, accept: 'application/graphql-response+json' };
    let response: Response;
    if (method === 'POST JSON') {
      response = await harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ ...named, variables, extensions }) });
    } else {
      const search = new URLSearchParams({ ...named, variables: JSON.stringify(variables), extensions: JSON.stringify(extensions) }).toString();
      response =
        method === 'GET'
          ? await harness.fetch(`/graphql?${search}`, { headers })
          : await harness.fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: search });
    }
    return { status: response.status, result: (await response.json()) as ExecutionResult };
  }

  for (const method of ['POST JSON', 'GET', 'POST form'] as const) {
    it(`are BAD_REQUEST in Yoga's words in every mode, by ${method}, whether the document is named by hash or by text`, async () => {
      for (const mode of [...MODES, 'off'] as const) {
        const harness = harnesses[mode];
        for (const [extensions, type] of VALUES) {
          for (const [how, named] of NAMED) {
            const what = `${mode}, ${how}, extensions ${JSON.stringify(extensions)}`;
            const answer = await send(harness, method, named, extensions);
            expect(answer.result, what).toEqual({ errors: [{ message: `Expected "extensions" param to be empty or an object, but given ${type}.`, extensions: { code: 'BAD_REQUEST' } }] });
            expect(answer.status, what).toBe(400);
          }
        }
        expect(harness.upstream.requests, mode).toEqual([]);
      }
    });
  }

  it('leaves extensions of null or an object to run the document named by hash, by POST JSON, GET and form', async () => {
    for (const mode of MODES) {
      for (const method of ['POST JSON', 'GET', 'POST form'] as const) {
        for (const extensions of [null, {}, { trace: true }]) {
          const answer = await send(harnesses[mode], method, { documentId: `sha256:${STATUS_HASH}` }, extensions);
          expect(answer.result.errors, `${mode} ${method} ${JSON.stringify(extensions)}`).toBeUndefined();
          MANIFEST.query.check(answer.result);
        }
      }
    }
  });
});

/**
 * A `persistedQuery` extension of a version other than 1 named its document by hash, and was answered "Must provide a
 * query string, or the hash of a persisted document …", as though no hash had been sent: the answer says which
 * version is read, by every method, in every mode that reads hashes.
 */
describe.each(LANES)('persisted queries of another version than 1 (%s lane)', (lane) => {
  const harnesses = {} as Record<'off' | Mode, Harness>;
  beforeAll(async () => {
    for (const mode of ['off', ...MODES] as const) harnesses[mode] = await Harness.start({ lane, env: { TRUSTED_DOCUMENTS: mode } });
  });
  afterAll(async () => {
    for (const harness of Object.values(harnesses)) await harness.close();
  });
  const UNSUPPORTED = {
    message:
      "Unsupported persisted query version: send `extensions.persistedQuery.version` as 1, the only version of automatic persisted queries (Apollo's protocol), or the hash as `documentId`.",
    extensions: { code: 'BAD_REQUEST' },
  };

  it('are BAD_REQUEST saying only version 1 is read, by POST JSON, GET and form, with no upstream call', async () => {
    for (const mode of MODES) {
      for (const persistedQuery of [{ version: 2, sha256Hash: STATUS_HASH }, { version: 0, sha256Hash: STATUS_HASH }, { sha256Hash: STATUS_HASH }, { version: 2 }]) {
        for (const transport of ['POST JSON', 'GET', 'POST form'] as const) {
          const what = `${mode} ${transport} ${JSON.stringify(persistedQuery)}`;
          const search = new URLSearchParams({ variables: JSON.stringify({ id: 'ex_demo_4' }), extensions: JSON.stringify({ persistedQuery }) }).toString();
          const headers = { authorization: AUTH, accept: 'application/graphql-response+json' };
          const response =
            transport === 'POST JSON'
              ? await harnesses[mode].fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ variables: { id: 'ex_demo_4' }, extensions: { persistedQuery } }) })
              : transport === 'GET'
                ? await harnesses[mode].fetch(`/graphql?${search}`, { headers })
                : await harnesses[mode].fetch('/graphql', { method: 'POST', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: search });
          expect(await response.json(), what).toEqual({ errors: [UNSUPPORTED] });
          expect(response.status, what).toBe(400);
        }
      }
      expect(harnesses[mode].upstream.requests, mode).toEqual([]);
    }
  });

  it('are told persisted documents are off with TRUSTED_DOCUMENTS=off, as version 1 is (Apollo Server asks in that order)', async () => {
    const answer = await overHttp(harnesses.off, 'POST JSON', { sha256Hash: STATUS_HASH, version: 2, variables: { id: 'ex_demo_4' } });
    expect(answer.status).toBe(400);
    expect(answer.result.errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_SUPPORTED']);
  });
});
