/**
 * The direct path (src/server/direct-path.ts) must answer exactly as Yoga does.
 * Every request below goes twice: over a real port, where POSTs of JSON take the
 * direct path, and through `yoga.fetch`, which is Yoga's own HTTP handling. The
 * status, the headers a client reads, the body and the upstream calls must be
 * the same. The server logs tell which path served a request: Yoga logs that it
 * parses the HTTP request; the direct path never does. Yoga's answer comes
 * first, so a document it accepted is a prepared operation by the time the port
 * sees it (src/server/prepared-operations.ts); the gateway counts those.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/errors.js';
import { createGateway } from '../src/gateway.js';
import { createLogger } from '../src/logger.js';
import { regularMediaType } from '../src/server/direct-path.js';
import { createHttpServer } from '../src/server/http-server.js';
import { AUTH, Harness } from './support/harness.js';

const STATUS = 'query Status($id: ID!) { execution(id: $id) { id status updatedAt } }';
const PAGE = `query Page($id: ID!, $after: String) {
  execution(id: $id) {
    id status isTerminal requestPayload
    events(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id level message } } }
  }
}`;
const MANY = 'query Many($ids: [ID!]!) { executions(ids: $ids) { id status } }';
const FAULTY_ID = 'ex_demo_2';

/** Headers a client or browser acts on; date and connection headers are the socket's, not the gateway's. */
const COMPARED_HEADERS = [
  'content-type',
  'x-request-id',
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-credentials',
  'vary',
  'allow',
  'accept',
];

interface Sent {
  body: string;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: string;
  upstreamCalls: number;
  servedByYoga: boolean;
  /** Run as a prepared operation, without Yoga's per-request pipeline. */
  prepared: boolean;
}

const json = (query: string, variables?: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ query, ...(variables ? { variables } : {}), ...extra });

/**
 * Upstream time and upstream's request counter differ from run to run; nothing
 * else may, down to the order of keys: the body is compared as text.
 */
function normalise(text: string): string {
  return text.replace(/"timeMs":\d+/g, '"timeMs":0').replace(/"upstreamRequestId":"[^"]*"/g, '"upstreamRequestId":""');
}

describe('the direct path answers like Yoga', () => {
  let harness: Harness;
  let url: string;

  beforeAll(async () => {
    harness = await Harness.start({ security: { corsOrigins: ['https://app.example', 'https://admin.example'] } });
    url = await harness.listen();
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    harness.upstream.reset();
    harness.upstream.setFault(FAULTY_ID, { kind: 'status', status: 404 });
  });

  const yogaParsing = () => harness.logs.filter((line) => line.msg?.includes('Parsing request to extract GraphQL parameters')).length;

  async function send(sent: Sent, via: 'port' | 'yoga'): Promise<Answer> {
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH, 'x-request-id': 'direct-path-test', ...sent.headers },
      body: sent.body,
    };
    const callsBefore = harness.upstream.requests.length;
    const parsedBefore = yogaParsing();
    const preparedBefore = harness.yoga.preparedStats().served;
    const response = via === 'port' ? await fetch(url, init) : await harness.yoga.fetch('http://127.0.0.1/graphql', init);
    const text = await response.text();
    return {
      status: response.status,
      headers: Object.fromEntries(COMPARED_HEADERS.map((name) => [name, response.headers.get(name)])),
      body: normalise(text),
      upstreamCalls: harness.upstream.requests.length - callsBefore,
      servedByYoga: yogaParsing() > parsedBefore,
      prepared: harness.yoga.preparedStats().served > preparedBefore,
    };
  }

  async function compare(sent: Sent): Promise<{ direct: Answer; yoga: Answer }> {
    const yoga = await send(sent, 'yoga');
    const direct = await send(sent, 'port');
    expect({ ...direct, servedByYoga: undefined, prepared: undefined }).toEqual({ ...yoga, servedByYoga: undefined, prepared: undefined });
    return { direct, yoga };
  }

  // Served by the direct path: valid POSTs of JSON, whatever their outcome.
  const direct: Array<[string, Sent]> = [
    ['a status poll', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'application/graphql-response+json' } }],
    ['a status poll accepting application/json', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'application/json' } }],
    ['a status poll with no Accept header', { body: json(STATUS, { id: 'ex_demo_4' }) }],
    ['a status poll accepting */*', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: '*/*' } }],
    ['the typed client’s Accept header', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'application/graphql-response+json, application/json' } }],
    ['Accept preferring application/json', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'application/json;q=0.9, application/graphql-response+json' } }],
    ['Accept with a stream first', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'text/event-stream, application/json' } }],
    ['a charset in the content type', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { 'content-type': 'application/json; charset=utf-8' } }],
    ['an events page with cursors and a payload', { body: json(PAGE, { id: 'ex_demo_long' }) }],
    ['a page after a cursor from another execution', { body: json(PAGE, { id: 'ex_demo_long', after: 'bm90LWEtY3Vyc29y' }) }],
    ['executions with one failing and one unknown id', { body: json(MANY, { ids: ['ex_demo_1', FAULTY_ID, 'ex_missing'] }) }],
    ['an upstream 404', { body: json(STATUS, { id: FAULTY_ID }) }],
    ['a hostile id', { body: json(STATUS, { id: '../admin' }) }],
    ['no Authorization header', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { authorization: '' } }],
    ['variables of the wrong type', { body: json(STATUS, { id: { nested: true } }), headers: { accept: 'application/graphql-response+json' } }],
    ['a missing required variable', { body: json(STATUS, {}), headers: { accept: 'application/graphql-response+json' } }],
    ['a missing variable, accepting application/json', { body: json(STATUS, {}), headers: { accept: 'application/json' } }],
    ['an unknown operation name', { body: json(STATUS, { id: 'ex_demo_4' }, { operationName: 'Nope' }) }],
    ['two operations and no operation name', { body: json(`${STATUS} query Other { __typename }`, { id: 'ex_demo_4' }) }],
    ['a syntax error', { body: json('{ execution(id: "ex_demo_4") { id ') }],
    ['an unknown field', { body: json('{ execution(id: "ex_demo_4") { id nope } }') }],
    ['a query past the depth limit', { body: json(`{ execution(id: "x") { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }`) }],
    ['a mutation the schema does not have', { body: json('mutation { cancel }') }],
    ['extensions in the request', { body: json(STATUS, { id: 'ex_demo_4' }, { extensions: { persistedQuery: null } }) }],
    ['an allowed origin', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { origin: 'https://admin.example' } }],
    ['an origin not on the list', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { origin: 'https://evil.example' } }],
    ['introspection', { body: json('{ __schema { queryType { name } } }') }],
  ];

  // The rest of the direct cases go through Yoga's pipeline: their documents never
  // passed validation, or graphql-js refuses their operation name or variables.
  const notPrepared = new Set([
    'variables of the wrong type',
    'a missing required variable',
    'a missing variable, accepting application/json',
    'an unknown operation name',
    'two operations and no operation name',
    'a syntax error',
    'an unknown field',
    'a query past the depth limit',
  ]);

  it.each(direct)('%s', async (name, sent) => {
    const { direct: answer, yoga } = await compare(sent);
    expect(answer.servedByYoga).toBe(false);
    expect(yoga.prepared).toBe(false);
    expect(answer.prepared).toBe(!notPrepared.has(name));
  });

  it('answers a document’s first request through Yoga’s pipeline and the next as a prepared operation, alike', async () => {
    // A text no other test sends, so nothing has prepared it yet.
    const sent = { body: json('query FirstSeen($id: ID!) { execution(id: $id) { id status updatedAt isTerminal } }', { id: 'ex_demo_1' }) };
    const first = await send(sent, 'port');
    const second = await send(sent, 'port');
    const viaYoga = await send(sent, 'yoga');
    expect([first.prepared, second.prepared, viaYoga.prepared]).toEqual([false, true, false]);
    expect([first.upstreamCalls, second.upstreamCalls, viaYoga.upstreamCalls]).toEqual([1, 1, 1]);
    const same = (answer: Answer) => ({ ...answer, servedByYoga: undefined, prepared: undefined });
    expect(same(second)).toEqual(same(first));
    expect(same(viaYoga)).toEqual(same(first));
  });

  // Handed to Yoga whole, after the direct path read the body or saw the headers.
  const replayed: Array<[string, Sent]> = [
    ['a body that is not JSON', { body: '{"query": ' }],
    ['a batch', { body: JSON.stringify([{ query: STATUS, variables: { id: 'ex_demo_4' } }]) }],
    ['a JSON string', { body: '"{ __typename }"' }],
    ['null', { body: 'null' }],
    ['an unknown parameter', { body: json(STATUS, { id: 'ex_demo_4' }, { foo: 1 }) }],
    ['a query that is not a string', { body: JSON.stringify({ query: 42 }) }],
    ['no query', { body: JSON.stringify({ variables: {} }) }],
    ['variables that are not an object', { body: JSON.stringify({ query: STATUS, variables: 'x' }) }],
  ];

  it.each(replayed)('%s', async (_name, sent) => {
    const { direct: answer } = await compare(sent);
    expect(answer.servedByYoga).toBe(true);
    expect(answer.upstreamCalls).toBe(0);
  });

  // Sent to Yoga by their headers alone, before a byte of the body is read.
  const routed: Array<[string, Sent]> = [
    ['a content type in capitals', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { 'content-type': 'Application/JSON' } }],
    ['text/plain without the CSRF header', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { 'content-type': 'text/plain', authorization: '' } }],
    ['text/plain with Authorization', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { 'content-type': 'text/plain' } }],
    // Yoga runs the operation and then answers 406: one upstream call on both paths.
    ['an Accept the gateway cannot serve', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'text/html' } }],
    ['a stream only', { body: json(STATUS, { id: 'ex_demo_4' }), headers: { accept: 'text/event-stream' } }],
  ];

  it.each(routed)('%s', async (_name, sent) => {
    await compare(sent);
  });

  it('makes exactly one upstream call per direct request, with the caller’s headers', async () => {
    const { direct: answer } = await compare({ body: json(STATUS, { id: 'ex_demo_4' }) });
    expect(answer.upstreamCalls).toBe(1);
    const [call] = harness.upstream.requests.slice(-1);
    expect(call?.headers.authorization).toBe(AUTH);
    expect(call?.headers['x-request-id']).toBe('direct-path-test');
  });

  it('answers upstream failures with their codes on both paths', async () => {
    const { direct: answer } = await compare({ body: json(STATUS, { id: FAULTY_ID }) });
    const body = JSON.parse(answer.body) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]?.extensions.code).toBe(ErrorCode.NOT_FOUND);
  });

  it('runs prepared operations compiled, and remakes a result with errors without calling upstream again', async () => {
    const before = harness.yoga.preparedStats();
    const { direct: ok } = await compare({ body: json(PAGE, { id: 'ex_demo_long' }) });
    const afterOk = harness.yoga.preparedStats();
    expect(ok.prepared).toBe(true);
    expect(afterOk.compiled - before.compiled).toBe(1);
    expect(afterOk.rerun).toBe(before.rerun);

    // One failing id among three: graphql-jit's result has an error, graphql-js makes it again from what was loaded.
    const { direct: failed } = await compare({ body: json(MANY, { ids: ['ex_demo_1', FAULTY_ID, 'ex_demo_3'] }) });
    const afterFailed = harness.yoga.preparedStats();
    expect(failed.prepared).toBe(true);
    expect(afterFailed.rerun - afterOk.rerun).toBe(1);
    expect(afterFailed.compiled).toBe(afterOk.compiled);
    expect(failed.upstreamCalls).toBe(3);
    expect(JSON.parse(failed.body)).toMatchObject({ errors: [{ path: ['executions', 1], locations: [{ line: 1, column: 28 }] }] });
  });

  it('runs on graphql-js alone a prepared document graphql-jit cannot compile', async () => {
    // graphql-jit refuses an operation type the schema lacks; graphql-js answers it with an error.
    const sent = { body: json('mutation Compile { cancel }') };
    await compare(sent);
    const before = harness.yoga.preparedStats();
    const { direct: answer } = await compare(sent);
    const after = harness.yoga.preparedStats();
    expect(answer.prepared).toBe(true);
    expect([after.compiled - before.compiled, after.rerun - before.rerun]).toEqual([0, 0]);
    expect(JSON.parse(answer.body)).toMatchObject({ data: null, errors: [{ message: expect.stringContaining('mutation') }] });
  });

  it('counts the events of a remade result once', async () => {
    // 1,100 events in 11 pages, under the 2,000 cap once and over it if counted twice, and one failing alias.
    const pages = Array.from({ length: 11 }, (_, i) => `p${i}: execution(id: "ex_demo_long") { events(first: $n) { edges { node { id } } } }`).join(' ');
    const sent = { body: json(`query Pages($n: Int!) { ${pages} bad: execution(id: "${FAULTY_ID}") { id } }`, { n: 100 }) };
    const before = harness.yoga.preparedStats();
    const { direct: answer } = await compare(sent);
    expect(harness.yoga.preparedStats().rerun - before.rerun).toBe(1);
    const body = JSON.parse(answer.body) as { errors: Array<{ path: string[]; extensions: { code: string } }> };
    expect(body.errors.map((error) => [error.path, error.extensions.code])).toEqual([[['bad'], ErrorCode.NOT_FOUND]]);
  });

  it('cancels upstream work when the client leaves mid-request', async () => {
    harness.upstream.setFault('ex_demo_5', { kind: 'hang' });
    const controller = new AbortController();
    const pending = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: json(STATUS, { id: 'ex_demo_5' }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await expect.poll(() => harness.upstream.requestsFor('ex_demo_5').length).toBe(1);
    controller.abort();
    await pending;
    // The hang would hold the upstream call for the client's 10 s timeout; only the
    // client leaving can end it this soon.
    await expect.poll(() => harness.upstream.inFlight, { timeout: 2_000 }).toBe(0);
    // The gateway stays up and serves the next request normally.
    const next = await send({ body: json(STATUS, { id: 'ex_demo_4' }) }, 'port');
    expect(next.status).toBe(200);
    expect(next.servedByYoga).toBe(false);
  });
});

describe('prepared operations mask unexpected errors as Yoga does', () => {
  it('answers "Unexpected error." on both paths, and logs each once', async () => {
    const lines: Array<{ msg?: string; err?: { message?: string } }> = [];
    const logger = createLogger('error', { write: (line: string) => lines.push(JSON.parse(line)) });
    // A bug in the client, not an upstream failure: it must never reach the caller.
    const failingClient = {
      getExecution: async () => {
        throw new TypeError('secret detail of a bug');
      },
    };
    const yoga = createGateway({ client: failingClient as never, logger, concurrencyPerRequest: 10 });
    const server = createHttpServer(yoga, { maxRequestBodyBytes: 4096, logger });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const init = () => ({
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: AUTH },
        body: json(STATUS, { id: 'ex_demo_1' }),
      });
      const viaYoga = await yoga.fetch('http://127.0.0.1/graphql', init());
      const yogaText = await viaYoga.text();
      const viaPort = await fetch(`http://127.0.0.1:${port}/graphql`, init());
      const portText = await viaPort.text();

      expect(yoga.preparedStats().served).toBe(1);
      expect(viaPort.status).toBe(viaYoga.status);
      expect(normalise(portText)).toBe(normalise(yogaText));
      const body = JSON.parse(portText) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect(body.errors.map((error) => [error.message, error.extensions.code])).toEqual([['Unexpected error.', 'INTERNAL_SERVER_ERROR']]);
      expect(portText).not.toContain('secret');
      expect(lines.filter((line) => line.err?.message === 'secret detail of a bug')).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});

describe('regularMediaType picks what Yoga picks', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it.each([
    undefined,
    '',
    '*/*',
    'application/*',
    'application/json',
    'application/graphql-response+json',
    'application/graphql-response+json, application/json',
    'application/json, application/graphql-response+json',
    'application/json;charset=utf-8',
    'application/json; charset=iso-8859-1',
    'application/json; charset=iso-8859-1, application/graphql-response+json',
    'text/event-stream',
    'multipart/mixed',
    'multipart/mixed, application/json',
    'text/html',
    'text/html, */*;q=0.8',
    'APPLICATION/JSON',
  ])('Accept: %s', async (accept) => {
    const response = await harness.yoga.fetch('http://127.0.0.1/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(accept === undefined ? {} : { accept }) },
      body: json('{ __typename }'),
    });
    const contentType = response.headers.get('content-type') ?? '';
    await response.text();
    const yogaChoice = /^application\/(graphql-response\+)?json/.test(contentType) ? contentType.split(';')[0] : null;
    expect(regularMediaType(accept)).toBe(yogaChoice);
  });
});
