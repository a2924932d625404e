/**
 * A status that answers by itself (401, 403, 404) keeps its code when its body is still arriving at the attempt's
 * deadline, as it does when its body is too large or cut (README "Error codes"): only upstream's request id would
 * have come from the body, and the header gives it. Before, a 401 whose body stalled was UPSTREAM_TIMEOUT ("retry
 * shortly"), so a client retried with the token upstream had refused instead of renewing it, and a 404's stalled
 * body was a timeout held against upstream's circuit.
 */
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

// 5 s, not 500 ms: the deadline is also the served sibling's, whose answer a loaded machine's stall of half a second
// timed out (timers are run before the socket is read), as designed. The cases run side by side: the file waits it once.
const TIMEOUT_MS = 5_000;

describe('a refusal whose body never ends', () => {
  let gateway: BehindScripted;
  let url: string;
  const asked = new Map<string, number>();

  beforeAll(async () => {
    gateway = await gatewayBehindScripted((request, response) => {
      const id = request.url!.split('/').pop()!;
      asked.set(id, (asked.get(id) ?? 0) + 1);
      if (id === 'ex_fine') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code: 200, data: { execution: { id, status: 'workflow_running' }, events: [] } }));
        return;
      }
      const status = Number(id.slice('ex_'.length));
      // Half an envelope, then nothing: the head is all that comes before the deadline.
      const framing = status === 404 ? { 'content-length': '100' } : { 'transfer-encoding': 'chunked' };
      response.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-${status}`, ...framing });
      response.write(`{"code":${status},`);
    }, { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) });
    url = gateway.url;
  });
  afterAll(() => gateway.close());

  it.concurrent.each([
    [401, 'UNAUTHENTICATED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
  ])('%s keeps its code, asked once, its sibling served', async (status, code) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: 'query($ids: [ID!]!) { executions(ids: $ids) { id status } }', variables: { ids: ['ex_fine', `ex_${status}`] } }),
    });
    const result = (await response.json()) as ExecutionResult<{ executions: unknown[] }>;
    expect(result.data?.executions).toEqual([{ id: 'ex_fine', status: 'WORKFLOW_RUNNING' }, null]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors![0]!.path).toEqual(['executions', 1]);
    expect(result.errors![0]!.extensions).toMatchObject({ code, upstreamStatus: status, upstreamRequestId: `req-${status}` });
    expect(asked.get(`ex_${status}`)).toBe(1);
  });
});
