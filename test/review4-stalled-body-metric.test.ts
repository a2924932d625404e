/**
 * An attempt whose answer's head came and whose body stalled past UPSTREAM_TIMEOUT_MS is UPSTREAM_TIMEOUT with that
 * head's status (c830387), and gateway_upstream_attempts_total counts it under the head's status class, as README
 * "Metrics" says; a timeout before any head stays `none`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { AUTH, TEST_ENV } from './support/harness.js';

describe('gateway_upstream_attempts_total for a timed-out attempt', () => {
  let upstream: Server;
  let instance: GatewayInstance;
  let base: string;

  beforeAll(async () => {
    upstream = createServer((request, response) => {
      // ex_head: a 200's head and half its body, then nothing; ex_none: nothing at all.
      if (request.url!.endsWith('/ex_none')) return;
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      response.write('{"code":200,');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const config = readConfig({ ...TEST_ENV, UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_ATTEMPTS: '1', METRICS: 'api' });
    instance = createInstance(config, { upstreamUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, logger: createLogger('silent') });
    base = `http://127.0.0.1:${await instance.listen(0, '127.0.0.1')}`;
  });
  afterAll(async () => {
    instance.server.closeAllConnections();
    await new Promise<void>((resolve) => instance.server.close(() => resolve()));
    await instance.close();
    upstream.closeAllConnections();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  it('is counted under the status class of a head that came, and `none` without one', async () => {
    for (const id of ['ex_head', 'ex_none']) {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: AUTH },
        body: JSON.stringify({ query: `{ execution(id: "${id}") { id } }` }),
      });
      const result = (await response.json()) as { errors?: Array<{ extensions?: { code?: string; upstreamStatus?: number } }> };
      expect(result.errors?.map((error) => [error.extensions?.code, error.extensions?.upstreamStatus])).toEqual([['UPSTREAM_TIMEOUT', id === 'ex_head' ? 200 : undefined]]);
    }
    const lines = (await (await fetch(`${base}/metrics`)).text()).split('\n').filter((line) => line.startsWith('gateway_upstream_attempts_total{'));
    expect(lines.filter((line) => line.includes('outcome="UPSTREAM_TIMEOUT"')).map((line) => /status="([^"]+)"/.exec(line)?.[1]).sort()).toEqual(['2xx', 'none']);
  });
});
