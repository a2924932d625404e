/**
 * An attempt whose answer's head came and whose body stalled past UPSTREAM_TIMEOUT_MS is UPSTREAM_TIMEOUT with that
 * head's status (a489c83), and gateway_upstream_attempts_total counts it under the head's status class, as README
 * "Metrics" says; a timeout before any head stays `none`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

describe('gateway_upstream_attempts_total for a timed-out attempt', () => {
  let gateway: BehindScripted;
  let base: string;

  beforeAll(async () => {
    gateway = await gatewayBehindScripted(
      (request, response) => {
        // ex_head: a 200's head and half its body, then nothing; ex_none: nothing at all.
        if (request.url!.endsWith('/ex_none')) return;
        response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        response.write('{"code":200,');
      },
      { UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_ATTEMPTS: '1', METRICS: 'api' },
    );
    base = new URL(gateway.url).origin;
  });
  afterAll(() => gateway.close());

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
