/**
 * A 404 that is no JSON envelope (a router's page for a path that does not exist, as an UPSTREAM_URL with a wrong
 * prefix gets for every call) is still NOT_FOUND to the client, and one bounded warning tells the operator to check
 * UPSTREAM_URL: every query was NOT_FOUND and nothing in the log said why. The contract's own 404 logs nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

const ONE = 'query($id: ID!) { execution(id: $id) { id } }';
const WARNING = 'upstream answered with a body that breaks its contract';

describe('a 404 that is no envelope', () => {
  // One gateway per case: a second failure of the same kind within the interval is counted, not logged again
  // (src/telemetry/failure-log.ts).
  let harness: Harness;
  beforeEach(async () => {
    harness = await Harness.start();
  });
  afterEach(() => harness.close());

  it.each([
    ['an HTML page', '<html><body>Cannot GET /wrongprefix/v1/executions/ex_demo_1</body></html>', 'text/html'],
    ['plain text', 'Not Found', 'text/plain'],
    ['an empty body', '', 'text/plain'],
  ])('%s: NOT_FOUND to the client, and a warning naming UPSTREAM_URL and where the call went', async (_name, body, type) => {
    harness.upstream.setFault('ex_demo_1', { kind: 'status', status: 404, body, headers: { 'content-type': type } });
    const logged = harness.logs.length;
    const response = await harness.query(ONE, { id: 'ex_demo_1' });
    expect(response.data).toEqual({ execution: null });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
    const lines = harness.logs.slice(logged).filter((line) => line.msg === WARNING);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        executionId: 'ex_demo_1',
        upstreamStatus: 404,
        why: `HTTP 404 whose body is no JSON envelope, answered as NOT_FOUND; if every execution is not found, check UPSTREAM_URL (this call went to ${harness.upstream.url}/v1/executions/ex_demo_1)`,
      }),
    ]);
  });

  it("the contract's own 404 (its envelope) logs nothing", async () => {
    const logged = harness.logs.length;
    const response = await harness.query(ONE, { id: 'ex_missing' });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(harness.logs.slice(logged).filter((line) => line.msg === WARNING)).toEqual([]);
  });
});
