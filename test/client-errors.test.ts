/**
 * README "Typed client": the errors a failed request carries, read through
 * `gatewayErrors` with their codes typed (graphql-request's ClientError types
 * them as GraphQLError with `unknown` extensions), over HTTP to a real gateway
 * and fake upstream on each lane; and nothing for what is no gateway answer
 * (a network failure, an abort, a body that is not GraphQL). And `requestResult`
 * aborted by a page that no longer needs it (its options form takes a signal).
 */
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ClientError } from 'graphql-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, ErrorCode, ExecutionsDocument, ExecutionStatusDocument, gatewayErrors, type GatewayError } from '../src/client/index.js';
import { AUTH, Harness, LANES } from './support/harness.js';

/** What `promise` rejected with (undefined when it resolved). */
function thrownBy(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
}

describe.each(LANES)('gatewayErrors (%s lane)', (lane) => {
  let harness: Harness;

  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(async () => {
    await harness.close();
  });

  it('types the errors of a result `request` threw for: one failing id of executions(ids), with its path', async () => {
    const client = createGatewayClient(harness.url, AUTH);
    const thrown = await thrownBy(client.request(ExecutionsDocument, { ids: ['ex_demo_1', 'ex_missing'] }));
    expect(thrown).toBeInstanceOf(ClientError);
    const errors: readonly GatewayError[] = gatewayErrors(thrown);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: ['executions', 1], extensions: { code: ErrorCode.NOT_FOUND, upstreamStatus: 404 } });
  });

  it('types retryAfterMs, the pause upstream asked for, which the message tells the caller to wait', async () => {
    // A gateway of its own: the caller stays paused for the 45 s asked for.
    const paused = await Harness.start({ lane });
    // Longer than the gateway waits (UPSTREAM_RETRY_AFTER_CAP_MS, 2 s): not retried, passed on.
    paused.upstream.setFault('ex_demo_3', { kind: 'status', status: 429, headers: { 'retry-after': '45' } });
    try {
      const thrown = await thrownBy(createGatewayClient(paused.url, AUTH).request(ExecutionStatusDocument, { id: 'ex_demo_3' }));
      const [unavailable] = gatewayErrors(thrown);
      expect(unavailable?.extensions?.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
      const waitMs: number | undefined = unavailable?.extensions?.retryAfterMs;
      expect(waitMs).toBe(45_000);
      expect(unavailable?.message).toContain('extensions.retryAfterMs');
    } finally {
      await paused.close();
    }
  });

  it('types the errors of a request refused as a whole: a variable of the wrong type (400), a path not served (404), no token', async () => {
    const client = createGatewayClient(harness.url, AUTH);
    const invalid = await thrownBy(client.requestResult(ExecutionsDocument, { ids: [{ not: 'an id' }] } as never));
    expect((invalid as ClientError).response.status).toBe(400);
    expect(gatewayErrors(invalid).map((error) => error.extensions?.code)).toEqual([ErrorCode.BAD_REQUEST]);

    const elsewhere = await thrownBy(createGatewayClient(new URL('/nowhere', harness.url).href, AUTH).request(ExecutionStatusDocument, { id: 'ex_demo_1' }));
    expect((elsewhere as ClientError).response.status).toBe(404);
    expect(gatewayErrors(elsewhere).map((error) => error.extensions?.code)).toEqual([ErrorCode.BAD_REQUEST]);

    const anonymous = await thrownBy(createGatewayClient(harness.url).request(ExecutionStatusDocument, { id: 'ex_demo_1' }));
    expect(gatewayErrors(anonymous).map((error) => error.extensions?.code)).toEqual([ErrorCode.UNAUTHENTICATED]);
  });

  it('is empty for what is no gateway answer: a refused connection, an abort, a proxy\'s page, no error at all', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    closed.close();
    await once(closed, 'close');
    const unreachable = await thrownBy(createGatewayClient(`http://127.0.0.1:${port}/graphql`, AUTH).request(ExecutionStatusDocument, { id: 'ex_demo_1' }));
    expect(unreachable).toBeInstanceOf(Error);
    expect(gatewayErrors(unreachable)).toEqual([]);

    const aborted = await thrownBy(
      createGatewayClient(harness.url, AUTH).request({ document: ExecutionStatusDocument, variables: { id: 'ex_demo_1' }, signal: AbortSignal.abort() }),
    );
    expect((aborted as Error).name).toBe('AbortError');
    expect(gatewayErrors(aborted)).toEqual([]);

    // A proxy in front answering for a gateway it cannot reach: graphql-request throws a ClientError with no GraphQL errors.
    const proxy = createServer((_request, response) => response.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>'));
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    try {
      const page = await thrownBy(createGatewayClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`, AUTH).request(ExecutionStatusDocument, { id: 'ex_demo_1' }));
      expect(page).toBeInstanceOf(ClientError);
      expect((page as ClientError).response.status).toBe(502);
      expect(gatewayErrors(page)).toEqual([]);
    } finally {
      proxy.close();
    }

    expect(gatewayErrors(undefined)).toEqual([]);
    expect(gatewayErrors(new Error('anything'))).toEqual([]);
  });

  it('requestResult takes its arguments as one object, and a signal that aborts it while upstream has not answered', async () => {
    const client = createGatewayClient(harness.url, AUTH);
    const whole = await client.requestResult({ document: ExecutionsDocument, variables: { ids: ['ex_demo_1', 'ex_missing'] } });
    expect(whole.data?.executions.map((row) => row?.id ?? null)).toEqual(['ex_demo_1', null]);
    expect(whole.errors.map((error) => error.extensions?.code)).toEqual([ErrorCode.NOT_FOUND]);

    harness.upstream.setFault('ex_demo_2', { kind: 'hang' });
    try {
      const leaving = new AbortController();
      const pending = thrownBy(client.requestResult({ document: ExecutionStatusDocument, variables: { id: 'ex_demo_2' }, signal: leaving.signal }));
      await expect.poll(() => harness.upstream.requestsFor('ex_demo_2').length).toBe(1);
      const abortedAt = performance.now();
      leaving.abort();
      const aborted = await pending;
      expect((aborted as Error).name).toBe('AbortError');
      expect(performance.now() - abortedAt).toBeLessThan(1_000);
      expect(gatewayErrors(aborted)).toEqual([]);
    } finally {
      harness.upstream.setFault('ex_demo_2', undefined);
    }
  });
});
