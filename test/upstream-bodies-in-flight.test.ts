/**
 * UPSTREAM_MAX_BYTES_IN_FLIGHT (src/upstream/body-budget.ts): the bytes of upstream bodies the process holds at
 * once. Without it, each of the bulkhead's 256 calls could hold a body of UPSTREAM_MAX_BODY_BYTES (128 MiB) at the
 * same moment. A body past the bound is refused with UPSTREAM_UNAVAILABLE and a retryAfterMs, given up unread,
 * unless no other body is held; every body is charged as soon as its size is known: a Content-Length, a gzip body
 * as it decodes, a chunked one once read. The upstream is a real HTTP server on loopback that holds one body
 * half-sent for as long as a test needs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { BodyBudget } from '../src/upstream/body-budget.js';
import { captureLog, type CapturedLog } from './support/captured-log.js';
import { AUTH, LANES } from './support/harness.js';

const KiB = 1024;
const BOUND = 64 * KiB;
const QUERY = 'query($id: ID!) { execution(id: $id) { id status } }';

/** A 200 envelope for `id` whose body is about `bytes` long (a long statusReason). */
function envelope(id: string, bytes: number): Buffer {
  const { execution, events } = makeExecution({ id, status: 'workflow_running', eventCount: 2 });
  const body = (statusReason: string) =>
    JSON.stringify({ code: 200, data: { execution: { ...execution, statusReason }, events, message: 'execution retrieved' }, message: 'success', requestId: `req-${id}` });
  return Buffer.from(body('x'.repeat(Math.max(0, bytes - body('').length))));
}

type Answer = (response: ServerResponse) => void;

/** Upstream: answers each id as the test scripts it, counting requests per id. */
class ScriptedUpstream {
  readonly calls = new Map<string, number>();
  readonly answers = new Map<string, Answer>();
  url = '';
  #server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const id = decodeURIComponent((request.url ?? '').split('/').pop() ?? '');
    this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
    const answer = this.answers.get(id);
    if (answer) answer(response);
    else response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":404,"data":null,"message":"execution not found","requestId":"req-404"}');
  });

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

const whole =
  (body: Buffer, headers: Record<string, string> = {}): Answer =>
  (response) =>
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length), ...headers }).end(body);

/** Sends the head and half the body, and the rest only once `release` is called. */
function held(body: Buffer): { answer: Answer; release(): void } {
  let rest: (() => void) | undefined;
  let released = false;
  return {
    answer(response) {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      response.write(body.subarray(0, body.length / 2));
      rest = () => response.end(body.subarray(body.length / 2));
      if (released) rest();
    },
    release() {
      released = true;
      rest?.();
    },
  };
}

// 10 s, not 5: a guard of a hang only, for a loopback answer through a gateway in this process, which a loaded machine stalls.
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('BodyBudget', () => {
  it('lets a lone body past the bound, refuses others past it, and gives every byte back', () => {
    const budget = new BodyBudget(100);
    const lone = budget.lease();
    expect(lone.grow(250)).toBe(true);
    const second = budget.lease();
    expect(second.grow(1)).toBe(false);
    expect(budget.charged).toBe(250);
    lone.release();
    lone.release();
    expect(budget.charged).toBe(0);
    expect(second.grow(60)).toBe(true);
    const third = budget.lease();
    expect(third.grow(40)).toBe(true);
    expect(third.grow(1)).toBe(false);
    // A lease still alone may grow however much: the second is not.
    expect(second.grow(1)).toBe(false);
    second.release();
    expect(third.grow(500)).toBe(true);
    third.release();
    expect(budget.charged).toBe(0);
  });

  it('holds its invariants over any sequence of grows and releases (property)', () => {
    type Step = { kind: 'grow'; lease: number; bytes: number } | { kind: 'release'; lease: number };
    const step = fc.oneof(
      fc.record({ kind: fc.constant('grow' as const), lease: fc.nat(4), bytes: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant('release' as const), lease: fc.nat(4) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.array(step as fc.Arbitrary<Step>, { maxLength: 60 }), (max, steps) => {
        const budget = new BodyBudget(max);
        const leases = Array.from({ length: 5 }, () => budget.lease());
        const released = leases.map(() => false);
        for (const each of steps) {
          const lease = leases[each.lease]!;
          if (each.kind === 'release') {
            lease.release();
            released[each.lease] = true;
            continue;
          }
          const before = budget.charged;
          const others = leases.filter((other, index) => other !== lease && !released[index] && other.bytes > 0).length;
          const granted = lease.grow(each.bytes);
          const expected = !released[each.lease] && (each.bytes === 0 || others === 0 || before + each.bytes <= max);
          expect(granted).toBe(expected);
          expect(budget.charged).toBe(before + (granted ? each.bytes : 0));
          // Past the bound only while one lease holds it all.
          if (budget.charged > max) expect(leases.filter((other) => other.bytes > 0)).toHaveLength(1);
          expect(budget.charged).toBe(leases.reduce((sum, other) => sum + other.bytes, 0));
        }
        for (const lease of leases) lease.release();
        expect(budget.charged).toBe(0);
      }),
    );
  });
});

describe.each(LANES)('UPSTREAM_MAX_BYTES_IN_FLIGHT (%s lane)', (lane) => {
  const upstream = new ScriptedUpstream();
  let log: CapturedLog;
  let instance: GatewayInstance;
  let url: string;

  beforeAll(async () => {
    await upstream.start();
    log = captureLog('info');
    const config = readConfig({
      FAST_LANE: String(lane === 'fast'),
      UPSTREAM_MAX_BYTES_IN_FLIGHT: String(BOUND),
      UPSTREAM_MAX_BODY_BYTES: String(1024 * KiB),
      UPSTREAM_BREAKER_THRESHOLD: '1000000',
      UPSTREAM_RETRY_BASE_DELAY_MS: '2',
      UPSTREAM_RETRY_MAX_DELAY_MS: '10',
      TERMINAL_CACHE_TTL_MS: '0',
    });
    instance = createInstance(config, { upstreamUrl: upstream.url, logger: log.logger });
    url = `http://127.0.0.1:${await instance.listen(0, '127.0.0.1')}/graphql`;
    // The caller proven first (an envelope read without a refusal of its token): an unproven caller has one call in
    // flight (README UPSTREAM_REFUSED_TOKEN_MS), so its second call would wait behind the held body, not meet the bound.
    upstream.answers.set('ex_proving', whole(envelope('ex_proving', KiB)));
    expect((await query('ex_proving')).data).toEqual({ execution: { id: 'ex_proving', status: 'WORKFLOW_RUNNING' } });
  });
  afterAll(async () => {
    await instance.close();
    await upstream.close();
  });
  beforeEach(() => {
    upstream.calls.clear();
    upstream.answers.clear();
    log.lines.length = 0;
  });

  async function query(id: string): Promise<ExecutionResult<{ execution: { id: string } | null }> & { status: number }> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: QUERY, variables: { id } }),
    });
    return { ...((await response.json()) as ExecutionResult<{ execution: { id: string } | null }>), status: response.status };
  }

  /** Starts a query for `id` whose body upstream holds half-sent, and waits until the gateway has charged it. */
  async function holding(id: string, bytes: number) {
    const body = envelope(id, bytes);
    const slow = held(body);
    upstream.answers.set(id, slow.answer);
    const answered = query(id);
    await until(() => instance.client.bodies.charged >= body.length, `${id}'s body is charged`);
    return { answered, release: slow.release };
  }

  function expectRefused(response: Awaited<ReturnType<typeof query>>): void {
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ execution: null });
    expect(response.errors).toHaveLength(1);
    const [error] = response.errors!;
    expect(error!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(error!.message).toMatch(/temporary/);
    const retryAfterMs = error!.extensions!.retryAfterMs as number;
    expect(retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(retryAfterMs).toBeLessThan(2000);
  }

  it('refuses a body that would pass the bound while another is held, asks upstream once, and serves it once the other is parsed', async () => {
    const refusedBefore = instance.client.refusals.bodies_in_flight;
    const first = await holding('ex_big_a', 40 * KiB);
    upstream.answers.set('ex_big_b', whole(envelope('ex_big_b', 40 * KiB)));
    expectRefused(await query('ex_big_b'));
    // Upstream answered once: the refusal is no failure to retry.
    expect(upstream.calls.get('ex_big_b')).toBe(1);
    expect(instance.client.refusals.bodies_in_flight).toBe(refusedBefore + 1);
    // What fits beside the held body is served.
    upstream.answers.set('ex_small', whole(envelope('ex_small', 4 * KiB)));
    expect((await query('ex_small')).data).toEqual({ execution: { id: 'ex_small', status: 'WORKFLOW_RUNNING' } });
    first.release();
    expect((await first.answered).data).toEqual({ execution: { id: 'ex_big_a', status: 'WORKFLOW_RUNNING' } });
    expect(instance.client.bodies.charged).toBe(0);
    expect((await query('ex_big_b')).data).toEqual({ execution: { id: 'ex_big_b', status: 'WORKFLOW_RUNNING' } });
    expect(upstream.calls.get('ex_big_b')).toBe(2);
    // One line for the operator, naming the setting; never the client's token.
    const lines = log.lines.filter((line) => typeof line.msg === 'string' && line.msg.includes('UPSTREAM_MAX_BYTES_IN_FLIGHT'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, executionId: 'ex_big_b' });
    expect(log.raw()).not.toContain(AUTH.slice('Bearer '.length));
  });

  it('serves a lone body larger than the bound', async () => {
    upstream.answers.set('ex_huge', whole(envelope('ex_huge', 3 * BOUND)));
    expect((await query('ex_huge')).data).toEqual({ execution: { id: 'ex_huge', status: 'WORKFLOW_RUNNING' } });
    expect(instance.client.bodies.charged).toBe(0);
  });

  it('charges a gzip body as it decodes, not by its compressed length', async () => {
    const first = await holding('ex_big_a', 40 * KiB);
    const body = envelope('ex_zipped', 40 * KiB);
    const zipped = gzipSync(body);
    expect(zipped.length).toBeLessThan(4 * KiB);
    upstream.answers.set('ex_zipped', whole(zipped, { 'content-encoding': 'gzip' }));
    expectRefused(await query('ex_zipped'));
    first.release();
    await first.answered;
    expect((await query('ex_zipped')).data).toEqual({ execution: { id: 'ex_zipped', status: 'WORKFLOW_RUNNING' } });
  });

  it('charges a body without a length (chunked) once it is read', async () => {
    const first = await holding('ex_big_a', 40 * KiB);
    const body = envelope('ex_chunked', 40 * KiB);
    upstream.answers.set('ex_chunked', (response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write(body.subarray(0, 1000));
      response.end(body.subarray(1000));
    });
    expectRefused(await query('ex_chunked'));
    first.release();
    await first.answered;
    expect(instance.client.bodies.charged).toBe(0);
  });

  it("keeps an error status's meaning when its body does not fit", async () => {
    const first = await holding('ex_big_a', 40 * KiB);
    const notFound = Buffer.from(JSON.stringify({ code: 404, data: null, message: 'execution not found '.repeat(2000), requestId: 'req-404' }));
    upstream.answers.set('ex_gone', (response) => response.writeHead(404, { 'content-type': 'application/json', 'content-length': String(notFound.length) }).end(notFound));
    const response = await query('ex_gone');
    expect(response.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    first.release();
    await first.answered;
  });
});
