/**
 * `/health` and `/ready` (src/server/health.ts), on each lane: answered by the
 * HTTP edge before the pipeline (no plugin hook runs, no auth, no CORS, never
 * cached), GET and HEAD only; `/ready` in each state of an instance
 * (starting, ready, draining) and reporting an open upstream circuit without
 * failing on it.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createInstance } from '../src/server/instance.js';
import { codes, Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(harness: Harness, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await harness.fetch(path, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe.each(LANES)('%s lane', (lane) => {
  let harness: Harness;
  // Counts every request the pipeline sees: /health and /ready must not be among them.
  const seen: string[] = [];
  const probe: Plugin = {
    onRequest({ request }) {
      seen.push(new URL(request.url).pathname);
    },
  };

  beforeAll(async () => {
    harness = await Harness.start({ lane, plugins: [probe], env: { CORS_ORIGINS: '*' } });
  });
  afterAll(() => harness.close());

  it('/health answers 200 {"status":"ok"} and the build, not cached, with a request id, outside the pipeline', async () => {
    const answer = await get(harness, '/health', { headers: { origin: 'https://app.example' } });
    expect(answer.status).toBe(200);
    // Run from source: no dist/build-info.json, so the version of package.json and no commit.
    expect(JSON.parse(answer.text)).toEqual({ status: 'ok', version: PACKAGE_VERSION, commit: null });
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('x-request-id')).toMatch(/\S/);
    // No CORS: probes are not browsers, even with CORS_ORIGINS=*.
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(seen).toEqual([]);
  });

  it('/ready answers 200 with the upstream circuit once the instance listens', async () => {
    const answer = await get(harness, '/ready');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ status: 'ready', upstream: { circuit: 'closed' } });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    // A query string changes nothing (some probes add one).
    expect((await get(harness, '/ready?probe=1')).status).toBe(200);
    expect(seen).toEqual([]);
  });

  it.each([
    ['an empty Host (F5 monitors)', 'GET /health HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n'],
    ['no HTTP version (HTTP/0.9 form)', 'GET /health\r\n\r\n'],
    ["a cluster name no URL takes (Envoy's default)", 'GET /ready HTTP/1.1\r\nHost: outbound|4000||gw.default.svc.cluster.local\r\nConnection: close\r\n\r\n'],
  ])('answers a probe with %s', async (_name, bytes) => {
    // Its side ended once answered, not after a fixed 200 ms: a loaded machine answered past it, and node dropped the request.
    const { text } = await rawExchange(harness.url, bytes, { endAfterAnswers: 1 });
    expect(text).toMatch(/^HTTP\/1\.[01] 200 /);
    expect(text).toMatch(/"status":"(ok|ready)"/);
  });

  it('takes no Authorization and sends nothing upstream', async () => {
    const before = harness.upstream.requests.length;
    const answers = await Promise.all(['/health', '/ready'].map((path) => get(harness, path, { headers: { authorization: 'Bearer nope' } })));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it.each(['/health', '/ready'])('HEAD %s answers the same status and headers, without a body', async (path) => {
    const answer = await get(harness, path, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('');
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(Number(answer.headers.get('content-length'))).toBeGreaterThan(0);
  });

  it.each(['POST', 'PUT', 'DELETE', 'OPTIONS'])('%s is refused with 405 and Allow: GET, HEAD', async (method) => {
    for (const path of ['/health', '/ready']) {
      const answer = await get(harness, path, { method, ...(method === 'POST' || method === 'PUT' ? { body: '{}' } : {}) });
      expect(answer.status, `${method} ${path}`).toBe(405);
      expect(answer.headers.get('allow')).toBe('GET, HEAD');
      expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      if (method !== 'HEAD') expect((JSON.parse(answer.text) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
    }
    expect(seen).toEqual([]);
  });

  it('leaves the GraphQL path to the pipeline, and answers paths it does not serve with 404 itself', async () => {
    const response = await harness.query('{ execution(id: "ex_demo_4") { id } }');
    expect(response.data).toEqual({ execution: { id: 'ex_demo_4' } });
    // A probe of another convention is told where the probes are.
    for (const path of ['/healthz', '/livez', '/readyz', '/health/', '/ready/']) {
      const answer = await get(harness, path);
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.text), path).toEqual({
        errors: [{ message: 'Not found: liveness is served at /health, readiness at /ready. GraphQL is served at /graphql.', extensions: { code: 'BAD_REQUEST' } }],
      });
    }
    const other = await get(harness, '/ready/more');
    expect(other.status).toBe(404);
    expect(JSON.parse(other.text)).toEqual({ errors: [{ message: 'Not found: GraphQL is served at /graphql.', extensions: { code: 'BAD_REQUEST' } }] });
    expect(seen).toEqual(['/graphql']);
    seen.length = 0;
  });
});

describe('/ready by state', () => {
  it('answers 503 {"status":"starting"} before the instance counts as listening, /health 200', async () => {
    const config = readConfig({ LOG_LEVEL: 'silent' });
    const instance = createInstance(config, { upstreamUrl: 'http://127.0.0.1:9', logger: createLogger('silent') });
    // Listening by hand, not through instance.listen(): what the edge answers before the instance says it can serve.
    await new Promise<void>((resolve) => instance.server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(instance.server.address() as AddressInfo).port}`;
      const ready = await fetch(`${origin}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'starting', upstream: { circuit: 'closed' } });
      expect(ready.headers.get('cache-control')).toBe('no-store');
      expect((await fetch(`${origin}/health`)).status).toBe(200);
      instance.health.ready();
      expect((await fetch(`${origin}/ready`)).status).toBe(200);
    } finally {
      await instance.close();
    }
  });

  it.each(LANES)('answers 503 {"status":"draining"} from the first moment of a drain while the %s lane still serves queries', async (lane) => {
    const harness = await Harness.start({ lane });
    try {
      // Unready for 3 s, not 400 ms: the three requests below must all come within it, and on a loaded machine the
      // listener had closed before the second or third (ECONNREFUSED).
      const drained = harness.instance.drain({ unreadyMs: 3_000, graceMs: 2_000 });
      const ready = await get(harness, '/ready');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.text)).toEqual({ status: 'draining', upstream: { circuit: 'closed' } });
      expect(ready.headers.get('connection')).toBe('close');
      expect((await get(harness, '/health')).status).toBe(200);
      // Still serving during the unready period.
      expect((await harness.query('{ execution(id: "ex_demo_4") { id } }')).data).toEqual({ execution: { id: 'ex_demo_4' } });
      await drained;
      // Draining is for good: ready() does not bring it back.
      harness.instance.health.ready();
      expect(harness.instance.health.readiness).toBe('draining');
    } finally {
      await harness.close();
    }
  });

  it('reports an open circuit, with why, and stays ready (200) while upstream fails for everyone', async () => {
    const harness = await Harness.start({
      env: {
        UPSTREAM_BREAKER_THRESHOLD: '3',
        UPSTREAM_BREAKER_MIN_IDS: '3',
        UPSTREAM_BREAKER_MIN_CALLERS: '1',
        UPSTREAM_BREAKER_HALF_OPEN_MS: '60000',
        UPSTREAM_MAX_ATTEMPTS: '1',
      },
    });
    try {
      const failing = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3'];
      for (const id of failing) harness.upstream.setFault(id, { kind: 'status', status: 503 });
      for (const id of failing) expect(codes(await harness.query(`{ execution(id: "${id}") { id } }`))).toEqual(['UPSTREAM_UNAVAILABLE']);
      // The circuit is open for real: a healthy id now fails fast, with no upstream call.
      const calls = harness.upstream.requestsFor('ex_demo_4').length;
      expect(codes(await harness.query('{ execution(id: "ex_demo_4") { id } }'))).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(harness.upstream.requestsFor('ex_demo_4')).toHaveLength(calls);

      const ready = await get(harness, '/ready');
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.text)).toEqual({
        status: 'ready',
        upstream: { circuit: 'open', reason: expect.stringMatching(/^3 of 3 \(caller, id\) pairs failing/) },
      });
      // The reason carries counts, never a token.
      expect(ready.text).not.toContain('demo-token');
      expect((await get(harness, '/health')).status).toBe(200);
    } finally {
      await harness.close();
    }
  });

  it('a probe that cannot reach upstream opens the circuit again, and the reason says so rather than the first opening\'s', async () => {
    const harness = await Harness.start({
      env: {
        UPSTREAM_BREAKER_THRESHOLD: '3',
        UPSTREAM_BREAKER_MIN_IDS: '3',
        UPSTREAM_BREAKER_MIN_CALLERS: '1',
        UPSTREAM_BREAKER_HALF_OPEN_MS: '200',
        UPSTREAM_MAX_ATTEMPTS: '1',
      },
    });
    try {
      for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3']) harness.upstream.setFault(id, { kind: 'status', status: 503 });
      for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3']) await harness.query(`{ execution(id: "${id}") { id } }`);
      expect(JSON.parse((await get(harness, '/ready')).text).upstream.reason).toMatch(/^3 of 3 \(caller, id\) pairs failing/);
      await harness.upstream.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The probe: connection refused.
      expect(codes(await harness.query('{ execution(id: "ex_demo_4") { id } }'))).toEqual(['UPSTREAM_UNAVAILABLE']);
      const ready = JSON.parse((await get(harness, '/ready')).text) as { upstream: { circuit: string; reason: string } };
      expect(ready.upstream).toEqual({ circuit: 'open', reason: 'the half-open probe could not reach upstream' });
      const opened = harness.logs.filter((line) => line.msg === 'upstream circuit opened: failing fast');
      expect(opened.map((line) => line.why)).toEqual([expect.stringMatching(/^3 of 3/), 'the half-open probe could not reach upstream']);
    } finally {
      await harness.close();
    }
  });

  it('says half-open once the probe may go, with no call arriving to make cockatiel notice, and closed after it', async () => {
    const harness = await Harness.start({
      env: {
        UPSTREAM_BREAKER_THRESHOLD: '3',
        UPSTREAM_BREAKER_MIN_IDS: '3',
        UPSTREAM_BREAKER_MIN_CALLERS: '1',
        // 2 s, not 300 ms: the three failing queries and the /ready read that must still find the circuit open took
        // past 300 ms on a loaded machine, and it read half_open already.
        UPSTREAM_BREAKER_HALF_OPEN_MS: '2000',
        UPSTREAM_MAX_ATTEMPTS: '1',
      },
    });
    try {
      const failing = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3'];
      for (const id of failing) harness.upstream.setFault(id, { kind: 'status', status: 503 });
      for (const id of failing) expect(codes(await harness.query(`{ execution(id: "${id}") { id } }`))).toEqual(['UPSTREAM_UNAVAILABLE']);
      const open = JSON.parse((await get(harness, '/ready')).text) as { upstream: { circuit: string; reason: string } };
      expect(open.upstream.circuit).toBe('open');
      // No traffic at all past UPSTREAM_BREAKER_HALF_OPEN_MS: the next call is the probe, and /ready says so.
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      const probing = await get(harness, '/ready');
      expect(probing.status).toBe(200);
      expect(JSON.parse(probing.text)).toEqual({ status: 'ready', upstream: { circuit: 'half_open', reason: open.upstream.reason } });
      // The probe (a healthy id) closes it.
      expect(codes(await harness.query('{ execution(id: "ex_demo_4") { id } }'))).toEqual([]);
      expect(JSON.parse((await get(harness, '/ready')).text)).toEqual({ status: 'ready', upstream: { circuit: 'closed' } });
    } finally {
      await harness.close();
    }
  });
});
