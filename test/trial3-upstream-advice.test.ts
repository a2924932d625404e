/**
 * An upstream failure tells a frontend what to do next, not only what happened. The messages said
 * "The executions API failed (HTTP 500).", "…did not answer within 300 ms.", "…did not accept the
 * Authorization token.", "No execution with this id is visible to this token.": a page could not tell
 * from them whether to retry, sign in again, or check the id, and a body upstream got wrong gave no hint
 * that upstream's team, with its request id, is who can fix it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import type { Fault } from '../src/demo/fake-upstream.js';
import { Harness } from './support/harness.js';

const MANY = 'query($ids: [ID!]!) { executions(ids: $ids) { id status } }';

describe('upstream failures say what to do next', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ upstream: { executions: demoExecutions() }, env: { UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_ATTEMPTS: '2' } });
  });
  afterAll(() => harness.close());

  const cases: Array<[string, Fault | undefined, string, string]> = [
    ['a 500', { kind: 'status', status: 500 }, 'UPSTREAM_UNAVAILABLE', 'The executions API failed (HTTP 500); retry shortly.'],
    ['a 503', { kind: 'status', status: 503 }, 'UPSTREAM_UNAVAILABLE', 'The executions API failed (HTTP 503); retry shortly.'],
    ['an attempt past UPSTREAM_TIMEOUT_MS', { kind: 'hang' }, 'UPSTREAM_TIMEOUT', 'The executions API did not answer within 300 ms; retry shortly.'],
    ['a connection closed without an answer', { kind: 'reset' }, 'UPSTREAM_UNAVAILABLE', 'The executions API could not be reached; retry shortly.'],
    ['a body that is no JSON', { kind: 'body', body: 'not json' }, 'UPSTREAM_BAD_RESPONSE', "The executions API answered with a body the gateway cannot read; retry shortly, and if it persists tell the gateway's operators, whose log says why."],
    ['a status the contract does not name', { kind: 'status', status: 418 }, 'UPSTREAM_BAD_RESPONSE', "The executions API answered with unexpected HTTP 418; if it persists, tell the gateway's operators, whose log says more."],
    ['a 400', { kind: 'status', status: 400 }, 'BAD_USER_INPUT', 'The executions API rejected the request as invalid; check the execution id.'],
    ['a 401', { kind: 'status', status: 401 }, 'UNAUTHENTICATED', 'The executions API did not accept the Authorization token: send a valid, unexpired token (sign in again for a new one).'],
    ['a 403', { kind: 'status', status: 403 }, 'FORBIDDEN', 'The token is valid but has no access to executions: use a token that is allowed to read executions.'],
    ['a 404', undefined, 'NOT_FOUND', 'No execution with this id is visible to this token: check the id, or use a token of the organization that owns the execution.'],
  ];

  it.each(cases)('%s, on its item of executions(ids), beside a sibling served', async (_name, fault, code, message) => {
    harness.upstream.reset();
    const failing = fault ? 'ex_demo_2' : 'ex_missing';
    if (fault) harness.upstream.setFault(failing, fault);
    const response = await harness.query(MANY, { ids: ['ex_demo_1', failing] });
    expect(response.data).toEqual({ executions: [{ id: 'ex_demo_1', status: 'AWAITING_PAYMENT' }, null] });
    expect(response.errors?.map((error) => [error.path, error.extensions?.['code'], error.message])).toEqual([[['executions', 1], code, message]]);
    // Retried once (UPSTREAM_MAX_ATTEMPTS=2) where asking again may help; asked once where it cannot.
    const retried = code === 'UPSTREAM_UNAVAILABLE' && message !== 'The executions API failed (HTTP 500); retry shortly.';
    expect(harness.upstream.requestsFor(failing)).toHaveLength(retried ? 2 : 1);
  });
});
