/**
 * Every upstream failure a client can meet says what to do next (README "Error codes"): before, a reset, a timeout,
 * a 5xx, a body that was no JSON or too large, a 400 or a status the contract does not name each said only what had
 * happened ("The executions API could not be reached.", "…failed (HTTP 503).", "…answered with unexpected HTTP 410."),
 * and a frontend could not tell whether to retry, change its request or report it. Each case is served by a real
 * upstream on loopback, and the rest of the response (the sibling execution) survives.
 */
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

const GOOD = 'ex_fine';
const body = (id: string) => JSON.stringify({ code: 200, data: { execution: { id, status: 'workflow_running' }, events: [] }, message: 'success', requestId: 'req-1' });

/** What upstream does for each id: answers `[status, body]`, or acts on the socket itself. */
const CASES: Record<string, { code: string; advice: RegExp; act: (respond: (status: number, text: string) => void, destroy: () => void) => void }> = {
  ex_reset: { code: 'UPSTREAM_UNAVAILABLE', advice: /; retry shortly\.$/, act: (_respond, destroy) => destroy() },
  ex_hang: { code: 'UPSTREAM_TIMEOUT', advice: /; retry shortly\.$/, act: () => undefined },
  ex_503: { code: 'UPSTREAM_UNAVAILABLE', advice: /^The executions API failed \(HTTP 503\); retry shortly\.$/, act: (respond) => respond(503, '{"code":503}') },
  ex_500: { code: 'UPSTREAM_UNAVAILABLE', advice: /^The executions API failed \(HTTP 500\); retry shortly\.$/, act: (respond) => respond(500, '{"code":500}') },
  ex_html: {
    code: 'UPSTREAM_BAD_RESPONSE',
    advice: /; retry shortly, and if it persists tell the gateway's operators, whose log says why\.$/,
    act: (respond) => respond(200, '<html><body>Down for maintenance</body></html>'),
  },
  ex_large: {
    code: 'UPSTREAM_BAD_RESPONSE',
    advice: /; asking again gets the same answer: tell the gateway's operators, whose log names the limit\.$/,
    act: (respond) => respond(200, body('ex_large').replace('"events":[]', `"events":[${'0,'.repeat(2_000)}0]`)),
  },
  ex_gone: { code: 'UPSTREAM_BAD_RESPONSE', advice: /^The executions API answered with unexpected HTTP 410; if it persists, tell the gateway's operators, whose log says more\.$/, act: (respond) => respond(410, '{"code":410}') },
  ex_invalid: { code: 'BAD_USER_INPUT', advice: /^The executions API rejected the request as invalid; check the execution id\.$/, act: (respond) => respond(400, '{"code":400}') },
};

describe('what an upstream failure tells the client to do', () => {
  let gateway: BehindScripted;
  let url: string;

  beforeAll(async () => {
    gateway = await gatewayBehindScripted((request, response) => {
      const id = decodeURIComponent(request.url!.split('/').pop()!);
      const respond = (status: number, text: string) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(text);
      };
      const act = CASES[id]?.act;
      if (act) act(respond, () => request.socket.destroy());
      else respond(200, body(id));
    }, { UPSTREAM_TIMEOUT_MS: '400', UPSTREAM_MAX_ATTEMPTS: '2', UPSTREAM_MAX_BODY_BYTES: '2000' });
    url = gateway.url;
  });
  afterAll(() => gateway.close());

  it.each(Object.keys(CASES))('%s: a stable code, a message saying what to do, its sibling served', async (id) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: 'query($ids: [ID!]!) { executions(ids: $ids) { id status } }', variables: { ids: [GOOD, id] } }),
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as ExecutionResult<{ executions: unknown[] }>;
    expect(result.data?.executions).toEqual([{ id: GOOD, status: 'WORKFLOW_RUNNING' }, null]);
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors!;
    expect(error!.path).toEqual(['executions', 1]);
    expect(error!.extensions?.code).toBe(CASES[id]!.code);
    expect(error!.message).toMatch(CASES[id]!.advice);
  });
});
