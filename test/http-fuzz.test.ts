/**
 * The HTTP edge and the request pipeline under random requests, on a real
 * gateway of each lane with the fake upstream (raw sockets: the bytes go as
 * generated, nothing fixes them up on the way). fast-check makes methods,
 * targets (absolute-form, odd percent-escapes, raw non-ASCII bytes, repeated
 * parameters), protocol versions, media types in any case with parameters,
 * Accept with q-values, every framing (Content-Length right, short or twice;
 * chunked in one chunk or many, with extensions and a trailer; a body that
 * never comes whole; Transfer-Encoding node or the edge refuses), Authorization spellings, Origin, Expect, duplicate
 * and obs-text header lines, and bodies of every shape GraphQL-over-HTTP clients
 * get wrong (wrong types for each parameter, batches, forms, multipart, GraphQL
 * text, ISO-8859-1, past the size limit), sent whole or in pieces, alone or
 * pipelined two or three on one connection. For each, the project's rule holds:
 *
 * - an answer comes, with `x-request-id` and `Cache-Control: no-store`, and never
 *   a 5xx (but `501` for a Transfer-Encoding coding before `chunked` or a method node does not know, and `505`
 *   for another major version of HTTP, README "Error codes");
 * - an answer of 400 or more is a GraphQL error body (JSON, or the event stream
 *   or multipart the client asked for), but a HEAD's and a 404 off /graphql;
 *   every error carries `extensions.code`, none `INTERNAL_SERVER_ERROR`;
 * - both lanes answer the same statuses, codes and headers (media type, CORS,
 *   Allow, Vary, an error's length), and write the same access lines, each
 *   with the status its client got;
 * - the gateway logs no stack and nothing at `error`, and stays up.
 *
 * Bounded: FUZZ_RUNS cases per profile (120 unless set), each sent to both lanes
 * at once; FUZZ_ENV (JSON) adds gateway settings, e.g. `{"TRUSTED_DOCUMENTS":"only"}`.
 */
import { METHODS as NODE_METHODS } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { Harness, type LaneName } from './support/harness.js';

/** Cases per profile (edge, pipeline, pipelined): FUZZ_RUNS, 120 unless set. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 120);

// ---------------------------------------------------------------- generators

/** Random case, as clients and proxies spell names: `Content-Type`, `content-type`, `CONTENT-TYPE`. */
const caseOf = (text: string) =>
  fc.constantFrom<(t: string) => string>(
    (t) => t,
    (t) => t.toUpperCase(),
    (t) => t.toLowerCase(),
    (t) => t.replace(/(^|[-/])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase()),
  ).map((spell) => spell(text));

/** `arbitrary` in `percent` of cases, else undefined. */
const sometimes = <T,>(percent: number, arbitrary: fc.Arbitrary<T>) =>
  fc.oneof({ weight: percent, arbitrary }, { weight: 100 - percent, arbitrary: fc.constant(undefined) });

const DOCUMENTS = [
  '{ __typename }',
  '{ execution(id: "ex_demo_4") { id status } }',
  'query Q($id: ID!) { execution(id: $id) { id status isTerminal } }',
  'query A { __typename } query B { execution(id: "ex_demo_1") { id } }',
  '{ executions(ids: ["ex_demo_1", "ex_demo_2"]) { id status } }',
  '{ execution(id: "bad id!") { id } }',
  '{ execution(id: "ex_missing") { id } }',
  '{ execution(id: "ex_demo_3") { events(first: 2) { edges { cursor node { id } } } } }',
  '{ execution(id: "ex_demo_3") { events(first: 500) { totalCount } } }',
  '{ execution(id: "ex_demo_3") { events(after: "nope") { totalCount } } }',
  'mutation { x }',
  'subscription { executionUpdates(id: "ex_demo_6") { isFinal } }',
  'subscription S($id: ID!) { executionUpdates(id: $id) { isFinal } }',
  '{ nope }',
  '{',
  '',
  ' ',
  'fragment F on Query { __typename }',
  '{ __schema { queryType { name } } }',
  '{ a: __typename b: __typename c: __typename }',
  '{ execution(id: "ex_demo_4") { id @skip(if: true) status @include(if: $x) } }',
  'query ($n: Int) { execution(id: "ex_demo_4") { events(first: $n) { totalCount } } }',
  '{ ' + 'a: __typename '.repeat(40) + '}',
  '{'.repeat(300) + '}'.repeat(300),
  '"\\u0000" { __typename }',
  '{ __typename } # ünïcödé ✓',
  'query Q { __typename } query Q { __typename }',
];

const document = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...DOCUMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });

/** A JSON value of the wrong kind where an object or string belongs. */
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 20 }),
  fc.constant('{"id":"ex_demo_1"}'),
  fc.constant('not json'),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({}),
  fc.constant({ id: 'ex_demo_8' }),
  fc.constant({ id: 12 }),
  fc.constant({ id: null }),
  fc.constant({ n: 'x' }),
  fc.constant({ n: 1e300 }),
  fc.constant({ id: 'ex_demo_8', big: 'x'.repeat(30_000) }),
  fc.constant({ __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } }),
  fc.constant({ persistedQuery: { version: 1, sha256Hash: 'abc' } }),
  fc.constant({ persistedQuery: { version: 1, sha256Hash: 'ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38' } }),
  fc.constant({ persistedQuery: null }),
  fc.constant({ persistedQuery: { version: 1, sha256Hash: 'fcf763e4aad2f803ed00bf8115443a200ba1145eacb7e63236bd33f0e9cca228' } }),
  fc.constant({ persistedQuery: { version: 2, sha256Hash: 'fcf763e4aad2f803ed00bf8115443a200ba1145eacb7e63236bd33f0e9cca228' } }),
  fc.constant({ persistedQuery: { sha256Hash: ['fcf763e4aad2f803ed00bf8115443a200ba1145eacb7e63236bd33f0e9cca228'] } }),
  fc.constant({ persistedQuery: 'x' }),
  fc.anything({ maxDepth: 2, maxKeys: 3 }),
);

/** One GraphQL-over-HTTP params object, its fields right, wrong or missing. */
const params: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    query: fc.oneof({ weight: 6, arbitrary: document }, { weight: 1, arbitrary: oddValue }),
    variables: fc.oneof({ weight: 2, arbitrary: fc.constantFrom<unknown>({ id: 'ex_demo_7' }, { id: 'ex_demo_6' }, { n: 3 }) }, { weight: 2, arbitrary: oddValue }),
    operationName: fc.oneof(fc.constantFrom<unknown>('Q', 'A', 'B', 'S', 'Nope', '', null), oddValue),
    extensions: oddValue,
    documentId: fc.constantFrom<unknown>('abc', 12, null, 'fcf763e4aad2f803ed00bf8115443a200ba1145eacb7e63236bd33f0e9cca228', 'sha256:fcf763e4aad2f803ed00bf8115443a200ba1145eacb7e63236bd33f0e9cca228'),
  },
  { requiredKeys: [] },
);

/** A request a client meant well: a document with the variables and operation name it needs. */
const goodParams: fc.Arbitrary<Record<string, unknown>> = fc.constantFrom(
  { query: '{ __typename }' },
  { query: '{ execution(id: "ex_demo_4") { id status } }' },
  { query: 'query Q($id: ID!) { execution(id: $id) { id status isTerminal } }', variables: { id: 'ex_demo_2' }, operationName: 'Q' },
  { query: 'query A { __typename } query B { execution(id: "ex_demo_1") { id } }', operationName: 'B' },
  { query: '{ executions(ids: ["ex_demo_1", "ex_missing", "bad id!"]) { id status } }' },
  { query: 'subscription S($id: ID!) { executionUpdates(id: $id) { isFinal } }', variables: { id: 'ex_demo_6' } },
  { query: 'query ($n: Int) { execution(id: "ex_demo_4") { events(first: $n) { totalCount } } }', variables: { n: 101 } },
  { query: '{ execution(id: "ex_demo_3") { events(first: 2) { edges { cursor node { id } } } } }', extensions: {} },
);

/** Percent-escapes as clients get them wrong: truncated, not hex, not UTF-8, NUL, `+`. */
const oddEscape = fc.constantFrom('%', '%2', '%zz', '%C3%28', '%FF', '%00', '+', '%2B', '%E9', '%u00e9', '%%', '&', '=', '#', '\u00e9', '\u00c3\u00a9', '|', '{', '"', '\\', '^', '`', '%2e%2e', '?', ';');

function formOf(fields: Record<string, unknown>, mangle: string[]): string {
  const parts = Object.entries(fields).map(([name, value]) => `${name}=${encodeURIComponent(typeof value === 'string' ? value : JSON.stringify(value) ?? 'undefined')}`);
  return [...parts, ...mangle].join('&');
}

const queryString = fc
  .tuple(fc.oneof(params, goodParams), fc.array(oddEscape, { maxLength: 2 }), fc.boolean(), fc.constantFrom('', 'query=%7B__typename%7D', 'query=', 'variables=%7B%7D', 'query=a&query=b'))
  .map(([fields, mangle, repeat, extra]) => {
    let text = formOf(fields, mangle.map((escape) => `x${escape}=y${escape}`));
    if (repeat && text) text = `${text}&${text}`;
    return [text, extra].filter(Boolean).join('&');
  });

const PATHS = ['http://other.example:8080/graphql', 'https://gateway.test/graphql', 'HTTP://GATEWAY.TEST/graphql', 'http://gateway.test', 'http://[::1]/graphql', 'http://gateway.test/graphql?', '/graphql', '/graphql/', '/GraphQL', '/graphql//', '//graphql', '/%67raphql', '/graphql%2F', '/graphql;x', '/x/graphql', '/health', '/ready', '/metrics', '/', '*', 'http://gateway.test/graphql', '/graphql/../graphql', '/graphql%00'];

const target = fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.constant('/graphql') }, { weight: 2, arbitrary: fc.constantFrom(...PATHS) }), sometimes(50, queryString), sometimes(10, oddEscape)).map(([path, query, escape]) => {
  if (query === undefined) return path + (escape ?? '');
  return `${path}?${query}${escape ?? ''}`;
});

const METHODS = ['GET', 'GET', 'POST', 'POST', 'POST', 'POST', 'OPTIONS', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'get', 'FOO', 'PROPFIND', 'QUERY'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'application/json; charset="utf-8"',
  'application/json; charset=iso-8859-1',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=utf-8; charset=utf-8',
  'application/json; boundary=x',
  'application/json;',
  'application/json; charset',
  'application/json; =x',
  'application/graphql+json',
  'application/graphql-response+json',
  'application/graphql',
  'application/graphql; charset=us-ascii',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'multipart/form-data; boundary=B',
  'multipart/form-data',
  'multipart/mixed; boundary=B',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/octet-stream',
  '*/*',
  'application/*',
  'json',
  '',
  ';',
  ' application/json ',
];

const contentType = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...CONTENT_TYPES).chain(caseOf) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }).filter(headerSafe) });

const ACCEPTS = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json;q=0.9',
  'application/json;q=0.1, application/graphql-response+json',
  'application/json;q=0',
  '*/*',
  '*/*;q=0',
  '*/*;q=0.5, application/json;q=0',
  'text/event-stream',
  'text/event-stream;q=0.5, application/json',
  'multipart/mixed',
  'multipart/mixed;deferSpec=20220824, application/json',
  'multipart/mixed;deferSpec=20220824;q=0.9, application/graphql-response+json;q=1.0',
  'application/json; charset=utf-8',
  'application/json; charset="utf-8"',
  'application/json; charset=iso-8859-1',
  'application/json;q=2',
  'application/json;q=abc',
  'application/json;q=0.0001',
  'application/xml',
  'image/png, text/css',
  'text/*',
  'application/*;q=0.3',
  '',
  ',',
  ';q=1',
  'application/json, application/json;q=0',
];
const accept = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...ACCEPTS).chain(caseOf) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }).filter(headerSafe) });

const authorization = fc.constantFrom(
  `Bearer ${DEMO_TOKEN}`,
  `Bearer ${DEMO_TOKEN}`,
  `bearer ${DEMO_TOKEN}`,
  `BEARER  ${DEMO_TOKEN}`,
  `Bearer ${DEMO_TOKEN} `,
  'Bearer',
  'Bearer ',
  '',
  'Basic dXNlcjpwYXNz',
  'Bearer wrong-token',
  `Bearer ${'t'.repeat(3_000)}`,
  'Bearer é',
);

const origin = fc.constantFrom('https://app.example.com', 'https://App.Example.com/', 'null', 'http://evil.example', '', 'not a url');
const requestId = fc.constantFrom('abc-123', 'with space', 'a/b', 'x'.repeat(129), '', 'é');

/** A header value of any bytes a header may carry: tabs, obs-text (0x80-0xFF) and all. */
const anyHeaderValue = fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(9), fc.integer({ min: 0x80, max: 0xff })).map((code) => String.fromCharCode(code)), maxLength: 24 });

/** A second field line for a header the gateway reads (node keeps the first of some, joins others), or one with odd bytes. */
const extraHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constantFrom('content-type', 'accept', 'authorization', 'origin', 'x-request-id', 'host', 'access-control-request-method', 'x-graphql-yoga-csrf', 'traceparent', 'tracestate', 'upgrade', 'transfer-encoding', 'content-encoding', 'accept-encoding', 'cookie', 'if-none-match', 'range', 'keep-alive', 'forwarded', 'x-forwarded-proto', 'x-http-method-override', 'te', 'trailer'), anyHeaderValue),
  fc.tuple(fc.constantFrom('content-type', 'accept'), fc.constantFrom(...CONTENT_TYPES, ...ACCEPTS)),
  fc.tuple(fc.constantFrom('content-encoding'), fc.constantFrom('gzip', 'br', 'deflate', 'identity', 'x')),
  fc.tuple(fc.constant('traceparent'), fc.constantFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-0-0-0', 'ff-' + 'f'.repeat(32) + '-' + 'f'.repeat(16) + '-ff')),
  fc.tuple(fc.constant('upgrade'), fc.constantFrom('h2c', 'websocket', 'foo')),
);

/** How the body is framed. */
type Framing = 'length' | 'short-length' | 'long-length' | 'unended-chunks' | 'none' | 'chunked' | 'chunked-many' | 'chunked-and-length' | 'gzip-chunked' | 'identity' | 'two-lengths' | 'chunked-odd-case' | 'length-spaces';
const framing = fc.oneof(
  { weight: 10, arbitrary: fc.constant<Framing>('length') },
  { weight: 2, arbitrary: fc.constantFrom<Framing>('chunked', 'chunked-many') },
  { weight: 1, arbitrary: fc.constantFrom<Framing>('long-length', 'unended-chunks', 'short-length', 'none', 'chunked-and-length', 'gzip-chunked', 'identity', 'two-lengths', 'chunked-odd-case', 'length-spaces') },
);

/** A request body, as bytes: JSON of the right or wrong shape, batches, GraphQL text, forms, multipart, garbage. */
const body: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 8, arbitrary: fc.oneof(params, goodParams).map((p) => Buffer.from(JSON.stringify(p))) },
  { weight: 1, arbitrary: fc.array(params, { maxLength: 3 }).map((batch) => Buffer.from(JSON.stringify(batch))) },
  { weight: 1, arbitrary: oddValue.map((value) => Buffer.from(JSON.stringify(value) ?? '')) },
  { weight: 1, arbitrary: document.map((text) => Buffer.from(text)) },
  { weight: 1, arbitrary: fc.tuple(params, fc.array(oddEscape, { maxLength: 2 })).map(([fields, mangle]) => Buffer.from(formOf(fields, mangle))) },
  {
    weight: 1,
    arbitrary: params.map((p) =>
      Buffer.from(`--B\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify(p)}\r\n--B\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--B--\r\n`),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      '{',
      '{"query":',
      'null',
      '[]',
      '{"query":"{ __typename }"}garbage',
      '\uFEFF{"query":"{ __typename }"}',
      '{"query":"{ __typename }","query":"{ nope }"}',
      '{"query":"\\ud800"}',
      '{"variables":' + '['.repeat(5_000) + ']'.repeat(5_000) + ',"query":"{ __typename }"}',
      '{"query":"{ __typename }","variables":{' + Array.from({ length: 2_000 }, (_, i) => `"v${i}":${i}`).join(',') + '}}',
    ).map((text) => Buffer.from(text)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)) },
  // Past MAX_REQUEST_BODY_BYTES (64 KiB), or just under it.
  { weight: 1, arbitrary: fc.constantFrom(65_536 - 40, 65_536 - 39, 70_000).map((size) => Buffer.from(`{"query":"{ __typename }","variables":{"x":"${'x'.repeat(size - 44)}"}}`)) },
  // ISO-8859-1 or UTF-8 text the charset may or may not say.
  { weight: 1, arbitrary: fc.constantFrom('é', '\u00ff', '€', '\ud83d\ude00').map((text) => Buffer.from(`{"query":"{ __typename } # ${text}","variables":{"x":"${text}"}}`, text === 'é' ? 'latin1' : 'utf8')) },
);

function headerSafe(value: string): boolean {
  return !/[\r\n\0]/.test(value);
}

interface Case {
  method: string;
  target: string;
  host: string | undefined;
  headers: Array<[string, string]>;
  body: Buffer | undefined;
  framing: Framing;
  /** How many writes the request's bytes are sent in. */
  pieces: number;
  /** The request line's protocol version. */
  version: string;
}

const optionalHeader = (name: string, value: fc.Arbitrary<string>, percent = 70) => sometimes(percent, fc.tuple(caseOf(name), value));

/**
 * A request. `edge`: anything (methods, paths, hosts, framings the edge refuses);
 * `pipeline`: a GET or POST to /graphql that passes the edge most of the time,
 * so the pipeline (parsing params, media types, operations) meets the oddities.
 */
function requests(profile: 'edge' | 'pipeline'): fc.Arbitrary<Case> {
  const edge = profile === 'edge';
  const mostly = <T,>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) => (edge ? fc.oneof(usual, odd) : fc.oneof({ weight: 9, arbitrary: usual }, { weight: 1, arbitrary: odd }));
  const jsonTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/graphql-response+json').chain(caseOf);
  return fc
    .record({
      method: edge ? fc.constantFrom(...METHODS) : fc.constantFrom('GET', 'POST', 'POST'),
      target: edge ? target : fc.tuple(fc.constantFrom('/graphql', '/graphql', '/graphql/'), sometimes(70, queryString)).map(([path, query]) => (query === undefined ? path : `${path}?${query}`)),
      host: mostly(fc.constant<string | undefined>('gateway.test'), fc.constantFrom<string | undefined>('127.0.0.1:4000', undefined, '', 'bad host/')),
      contentType: optionalHeader('content-type', edge ? contentType : mostly(fc.constantFrom('application/json', 'application/json; charset=utf-8').chain(caseOf), contentType), edge ? 70 : 90),
      accept: optionalHeader('accept', edge ? accept : mostly(jsonTypes, accept), 70),
      authorization: optionalHeader('authorization', edge ? authorization : mostly(fc.constant(`Bearer ${DEMO_TOKEN}`), authorization), edge ? 70 : 90),
      origin: optionalHeader('origin', origin, 25),
      csrf: sometimes(30, fc.constant<[string, string]>(['x-graphql-yoga-csrf', '1'])),
      requestId: optionalHeader('x-request-id', requestId, 25),
      preflight: sometimes(edge ? 10 : 2, fc.constant<[string, string]>(['access-control-request-method', 'POST'])),
      extra1: sometimes(edge ? 25 : 10, extraHeader),
      extra2: sometimes(edge ? 10 : 5, extraHeader),
      expect: sometimes(edge ? 8 : 3, fc.tuple(fc.constant('expect'), fc.constantFrom('100-continue', '100-continue', 'nothing'))),
      body: sometimes(80, body),
      framing: edge ? framing : mostly(fc.constantFrom<Framing>('length', 'length', 'length', 'chunked'), framing),
      pieces: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 4 }) }),
      version: mostly(fc.constant('HTTP/1.1'), fc.constantFrom('HTTP/1.0', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'http/1.1')),
    })
    .map(({ method, target: t, host, body: b, framing: f, pieces, version, ...optional }) => ({
      pieces,
      version,
      method,
      target: t,
      host,
      headers: Object.values(optional).filter((header): header is [string, string] => header !== undefined),
      body: b,
      framing: f,
    }));
}

// ---------------------------------------------------------------- the wire

/** The bytes of a case's request; `connection: close` so that the answer ends with the connection. */
function bytesOf(c: Case, close = true): Buffer {
  const lines = [`${c.method} ${c.target} ${c.version}`];
  if (c.host !== undefined) lines.push(`Host: ${c.host}`);
  for (const [name, value] of c.headers) lines.push(`${name}: ${value}`);
  if (close) lines.push('Connection: close');
  const payload = c.body ?? Buffer.alloc(0);
  const chunked = () => Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
  // Chunks of 1, 7, 100 … bytes, with chunk extensions, and a trailer field (RFC 9112 §7.1).
  const manyChunks = () => {
    const parts: Buffer[] = [];
    for (let at = 0, size = 1; at < payload.length; at += size, size = size * 7 + 3) {
      const piece = payload.subarray(at, at + size);
      parts.push(Buffer.from(`${piece.length.toString(16)}${size % 2 ? ';ext=1' : ''}\r\n`), piece, Buffer.from('\r\n'));
    }
    return Buffer.concat([...parts, Buffer.from('0\r\nx-trailer: 1\r\n\r\n')]);
  };
  let sent: Buffer = payload;
  if (c.body === undefined && c.framing !== 'chunked' && c.framing !== 'chunked-many') sent = Buffer.alloc(0);
  else if (c.framing === 'length') lines.push(`Content-Length: ${payload.length}`);
  else if (c.framing === 'length-spaces') lines.push(`content-length:   ${payload.length}  `);
  else if (c.framing === 'long-length') lines.push(`Content-Length: ${payload.length + 5}`);
  else if (c.framing === 'unended-chunks') {
    lines.push('Transfer-Encoding: chunked');
    sent = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n')]);
  } else if (c.framing === 'short-length') lines.push(`Content-Length: ${Math.floor(payload.length / 2)}`);
  else if (c.framing === 'two-lengths') lines.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length}`);
  else if (c.framing === 'chunked-many') {
    lines.push('Transfer-Encoding: chunked');
    sent = manyChunks();
  } else if (c.framing === 'chunked' || c.framing === 'chunked-odd-case') {
    lines.push(`Transfer-Encoding: ${c.framing === 'chunked' ? 'chunked' : 'Chunked'}`);
    sent = chunked();
  } else if (c.framing === 'chunked-and-length') {
    lines.push('Transfer-Encoding: chunked', `Content-Length: ${payload.length}`);
    sent = chunked();
  } else if (c.framing === 'gzip-chunked') {
    lines.push('Transfer-Encoding: gzip, chunked');
    sent = chunked();
  } else if (c.framing === 'identity') lines.push('Transfer-Encoding: identity');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), sent]);
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/**
 * Everything the gateway sends back until it closes the connection (at most
 * `giveUpMs`). `pieces` > 1 writes the bytes in that many parts, 5 ms apart, as
 * a slow client or a proxy's buffers hand them over.
 */
function exchange(url: string, bytes: Buffer, pieces = 1, giveUpMs = 8_000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.setTimeout(giveUpMs, () => socket.destroy());
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    const size = Math.ceil(bytes.length / pieces);
    const write = (at: number) => {
      if (at >= bytes.length || socket.destroyed) return;
      socket.write(bytes.subarray(at, at + size));
      setTimeout(() => write(at + size), 5);
    };
    write(0);
  });
}

/**
 * The answers in `raw`, in order, each body de-chunked; `bodiless[i]` when the
 * i-th request was a HEAD (its answer has headers but no body).
 */
function parseAll(raw: string, bodiless: boolean[] = []): Answer[] {
  const answers: Answer[] = [];
  let rest = raw;
  for (let index = 0; rest.length > 0; index++) {
    // Skip interim answers (100 Continue).
    while (/^HTTP\/1\.[01] 1\d\d /.test(rest)) rest = rest.slice(rest.indexOf('\r\n\r\n') + 4);
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) break;
    const status = Number(match[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    let payload = rest.slice(end + 4);
    let body = '';
    if (bodiless[index] || status === 204 || status === 304) {
      rest = payload;
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      for (;;) {
        const lineEnd = payload.indexOf('\r\n');
        if (lineEnd === -1) {
          payload = '';
          break;
        }
        const size = parseInt(payload.slice(0, lineEnd), 16);
        if (!(size > 0)) {
          payload = payload.slice(payload.indexOf('\r\n\r\n', lineEnd) + 4);
          break;
        }
        body += payload.slice(lineEnd + 2, lineEnd + 2 + size);
        payload = payload.slice(lineEnd + 2 + size + 2);
      }
      rest = payload;
    } else if (headers['content-length'] !== undefined) {
      body = payload.slice(0, Number(headers['content-length']));
      rest = payload.slice(Number(headers['content-length']));
    } else {
      body = payload;
      rest = '';
    }
    answers.push({ status, headers, body: Buffer.from(body, 'latin1').toString('utf8'), raw });
  }
  return answers;
}

interface GraphQLErrorShape {
  message?: unknown;
  extensions?: { code?: unknown };
}

/**
 * The GraphQL errors an answer carries, however it is served: JSON, an event
 * stream's `next` events, multipart/mixed parts. undefined when the body holds
 * no GraphQL result at all.
 */
function errorsOf(answer: Answer): GraphQLErrorShape[] | undefined {
  const type = answer.headers['content-type'] ?? '';
  const results: unknown[] = [];
  if (type.startsWith('text/event-stream')) {
    for (const line of answer.body.split('\n')) if (line.startsWith('data:') && line.length > 5) results.push(JSON.parse(line.slice(5)));
  } else if (type.startsWith('multipart/mixed')) {
    for (const part of answer.body.split(/\r\n--[^\r\n]*/)) {
      const at = part.indexOf('\r\n\r\n');
      if (at !== -1 && part.slice(at + 4).trim()) results.push(JSON.parse(part.slice(at + 4)));
    }
  } else if (/json/.test(type)) {
    results.push(JSON.parse(answer.body));
  } else return undefined;
  const errors: GraphQLErrorShape[] = [];
  for (const result of results) {
    const list = Array.isArray(result) ? result : [result];
    for (const one of list as Array<{ errors?: GraphQLErrorShape[]; payload?: { errors?: GraphQLErrorShape[] } }>) errors.push(...(one?.errors ?? []), ...(one?.payload?.errors ?? []));
  }
  return errors;
}

// ---------------------------------------------------------------- the property

/** CORS on, so its headers are compared; time limits short, so a body that never ends costs a second, not 30 s. */
const SETTINGS = { CORS_ORIGINS: 'https://app.example.com', UPSTREAM_EXTENSIONS: 'false', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '1000' };

const harnesses = {} as Record<LaneName, Harness>;
let cases = 0;
const statuses = new Map<number, number>();

beforeAll(async () => {
  for (const lane of ['fast', 'full'] as const) harnesses[lane] = await Harness.start({ lane, env: { ...SETTINGS, ...(process.env.FUZZ_ENV ? (JSON.parse(process.env.FUZZ_ENV) as Record<string, string>) : {}) } });
});

afterAll(async () => {
  for (const harness of Object.values(harnesses)) await harness.close();
  // eslint-disable-next-line no-console
  if (process.env.FUZZ_DEBUG) console.log(`http-fuzz: ${cases} cases on each lane; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
});

/** What one lane answered, reduced to what both lanes must agree on. */
interface Outcome {
  status: number | 'no answer';
  codes: unknown[];
  /** Response headers whose value both lanes must agree on. */
  headers: Record<string, string | undefined>;
}

const COMPARED_HEADERS = ['content-type', 'cache-control', 'allow', 'accept', 'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers', 'access-control-allow-methods', 'access-control-allow-headers', 'access-control-max-age', 'vary', 'content-length'];

/**
 * Sends `sent` (one request, or several on one connection, the last closing it)
 * to one lane and checks each answer by the rules; what both lanes must agree on, per answer.
 */
async function check(sent: Case[], lane: LaneName, harness: Harness): Promise<{ answers: Outcome[]; access: unknown[]; continues: number }> {
  const logged = harness.rawLogs.length;
  const lines = harness.logs.length;
  const bytes = Buffer.concat(sent.map((c, index) => bytesOf(c, index === sent.length - 1)));
  const where = `${lane} lane, ${JSON.stringify(bytes.toString('latin1').slice(0, 800))}`;
  const raw = await exchange(harness.url, bytes, sent[0]!.pieces);
  const answers = parseAll(raw, sent.map((c) => c.method === 'HEAD'));
  if (answers.length === 0) throw new Error(`no answer: got ${JSON.stringify(raw.slice(0, 200))} for ${where}`);
  // A request after one the gateway could not read (its body left unframed) is no request: its answer may be a 400.
  const outcomes = answers.map((answer, index) => {
    const c = sent[Math.min(index, sent.length - 1)]!;
    const status = answer.status;
    // README "Error codes": 501 for a Transfer-Encoding with a coding before chunked, or for a method node does not know;
    // 505 for another major version of HTTP.
    const te = sent.some((one) => one.framing === 'gzip-chunked' || one.headers.some(([name]) => name.toLowerCase() === 'transfer-encoding'));
    const unknownMethod = sent.some((one) => !NODE_METHODS.includes(one.method));
    const otherVersion = sent.some((one) => /^HTTP\/[2-9]\./.test(one.version));
    // What a body's length left out (`short-length`, or `none`: no length at all) starts the next request line, so the
    // next request's method is one node does not know (`falseGET`).
    const leftover = sent.some((one) => one.framing === 'short-length' || one.framing === 'none');
    const documented = (status === 501 && (te || unknownMethod || leftover)) || (status === 505 && otherVersion);
    expect(status >= 500 && !documented, `status ${status} (answer ${index + 1}) for ${where}: ${answer.body.slice(0, 300)}`).toBe(false);
    expect(answer.headers['x-request-id'], `no x-request-id (answer ${index + 1}) for ${where}`).toBeTruthy();
    expect(answer.headers['cache-control'], `no Cache-Control: no-store (answer ${index + 1}) for ${where}`).toMatch(/^no-store\b/);
    const graphql = /^(?:http:\/\/gateway\.test)?\/graphql\/?(?:\?|$)/.test(c.target) || index >= sent.length;
    const head = c.method === 'HEAD' && index < sent.length;
    let errors: GraphQLErrorShape[] | undefined;
    try {
      // A HEAD answer has no body (RFC 9110 §9.3.2), whatever its headers say.
      errors = head ? [] : errorsOf(answer);
    } catch (error) {
      throw new Error(`unreadable ${answer.headers['content-type']} body (${String(error)}) (answer ${index + 1}) for ${where}: ${answer.body.slice(0, 300)}`);
    }
    if (status >= 400 && !head && (graphql || status !== 404)) {
      expect(errors, `status ${status} without a GraphQL error body (answer ${index + 1}) for ${where}: ${answer.raw.slice(0, 400)}`).toBeDefined();
      expect(errors!.length, `status ${status} with no errors (answer ${index + 1}) for ${where}: ${answer.body.slice(0, 300)}`).toBeGreaterThan(0);
    }
    const codes = (errors ?? []).map((error) => error.extensions?.code);
    for (const code of codes) expect(typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR', `code ${String(code)} (answer ${index + 1}) for ${where}: ${answer.body.slice(0, 300)}`).toBe(true);
    // Content-Length varies with nothing but the body; kept for error answers, whose bodies are the same on both lanes.
    const headers = Object.fromEntries(COMPARED_HEADERS.map((name) => [name, answer.headers[name]]));
    if (status < 400 || /event-stream|multipart/.test(headers['content-type'] ?? '')) delete headers['content-length'];
    return { status, codes, headers };
  });
  // Let the access log and any late error line land.
  await new Promise((resolve) => setTimeout(resolve, 10));
  const log = harness.rawLogs.slice(logged);
  // README "Access log": one line per request the pipeline answered, with the status and request id the client got.
  const access = harness.logs.slice(lines).filter((line) => line.component === 'access');
  for (const line of access) {
    // Several requests on one connection may send the same id: only an id answered once names its answer.
    const [answered, ...more] = answers.filter((answer) => answer.headers['x-request-id'] === line.requestId);
    // README "Access log": a request whose body never arrived whole (a 408, or malformed chunks: the edge's 400) is
    // logged as the pipeline answered it without its body.
    const cut = answered && (answered.status === 408 || answered.body.includes('Malformed HTTP request.'));
    if (answered && more.length === 0 && !cut) expect(line.status, `access log status for ${where}`).toBe(answered.status);
  }
  expect(/\n\s+at |"stack"/.test(log), `a stack in the log for ${where}: ${log.slice(0, 600)}`).toBe(false);
  expect(/"level":(?:50|60)/.test(log), `an error logged for ${where}: ${log.slice(0, 600)}`).toBe(false);
  return { answers: outcomes, continues: raw.split('HTTP/1.1 100 Continue').length - 1, access: access.map(({ status, errorCodes, transport, operationName, operationType }) => JSON.stringify({ status, errorCodes, transport, operationName, operationType })).sort() };
}

describe('HTTP fuzz: random requests against both lanes', () => {
  const profiles = {
    edge: requests('edge').map((c) => [c]),
    pipeline: requests('pipeline').map((c) => [c]),
    // Two or three requests on one kept-alive connection, written at once: HTTP/1.1 answers them in order.
    pipelined: fc.array(fc.oneof(requests('pipeline'), requests('edge')), { minLength: 2, maxLength: 3 }),
  };
  it.each(['edge', 'pipeline', 'pipelined'] as const)(`answers ${RUNS} random requests (%s) by the rules, the same on both lanes`, { timeout: 120_000 }, async (profile) => {
    await fc.assert(
      fc.asyncProperty(profiles[profile], async (sent) => {
        cases++;
        const [fast, full] = await Promise.all([check(sent, 'fast', harnesses.fast), check(sent, 'full', harnesses.full)]);
        for (const { status } of fast.answers) if (typeof status === 'number') statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // A body that never comes whole: the fast lane decides once it is in (a 408 at the time limit), Yoga's lane may
        // refuse from the headers first (a media type it does not parse, 415). Each lane's answer still keeps the rules.
        if (sent.some((c) => c.framing === 'long-length' || c.framing === 'unended-chunks')) return;
        expect(full, `lanes differ: fast ${JSON.stringify(fast)}, full ${JSON.stringify(full)} for ${JSON.stringify(sent.map((c) => bytesOf(c).toString('latin1').slice(0, 400)))}`).toEqual(fast);
      }),
      { numRuns: RUNS },
    );
    // Still up and serving on both lanes.
    for (const harness of Object.values(harnesses)) expect((await harness.fetch('/health')).status).toBe(200);
  });

  it('reached the pipeline and the edge alike: results and each common refusal were among the answers', () => {
    // Generators drifting so that every request is refused at the edge would pass the rules above and test nothing.
    for (const status of [200, 400, 404, 405, 406, 415]) expect(statuses.get(status) ?? 0, `answers with status ${status}`).toBeGreaterThan(0);
  });
});
