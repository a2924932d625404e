/**
 * A 400 that is no JSON envelope is whatever answers at UPSTREAM_URL refusing the request, not the executions API
 * refusing an id: nginx answers an http:// UPSTREAM_URL that names its HTTPS port so ("400 The plain HTTP request was
 * sent to HTTPS port"). Every query was BAD_USER_INPUT, "check the execution id", and the log said nothing. It is still
 * BAD_USER_INPUT to the client, and one bounded warning tells the operator to check UPSTREAM_URL, as a 404 page does
 * (test/upstream-404-page.test.ts). The contract's own 400 logs nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

const ONE = 'query($id: ID!) { execution(id: $id) { id } }';
const WARNING = 'upstream answered with a body that breaks its contract';
const NGINX = '<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

describe('a 400 that is no envelope', () => {
  // One gateway per case: a second failure of the same kind within the interval is counted, not logged again.
  let harness: Harness;
  beforeEach(async () => {
    harness = await Harness.start();
  });
  afterEach(() => harness.close());

  it("nginx's page for plain HTTP sent to its HTTPS port: BAD_USER_INPUT to the client, and a warning naming UPSTREAM_URL", async () => {
    harness.upstream.setFault('ex_demo_1', { kind: 'status', status: 400, body: NGINX, headers: { 'content-type': 'text/html' } });
    const logged = harness.logs.length;
    const response = await harness.query(ONE, { id: 'ex_demo_1' });
    expect(response.data).toEqual({ execution: null });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(harness.upstream.requests).toHaveLength(1);
    expect(harness.logs.slice(logged).filter((line) => line.msg === WARNING)).toEqual([
      expect.objectContaining({
        level: 40,
        executionId: 'ex_demo_1',
        upstreamStatus: 400,
        why: `HTTP 400 whose body is no JSON envelope, answered as BAD_USER_INPUT; if every call is refused so, check UPSTREAM_URL: its scheme (an http:// URL naming an HTTPS port gets such a 400 from nginx), host and port (this call went to ${harness.upstream.url}/v1/executions/ex_demo_1)`,
      }),
    ]);
  });

  it("the contract's own 400 (its envelope) logs nothing", async () => {
    harness.upstream.setFault('ex_demo_1', { kind: 'status', status: 400, body: JSON.stringify({ code: 400, message: 'invalid id', requestId: 'up-400' }), headers: { 'content-type': 'application/json' } });
    const logged = harness.logs.length;
    const response = await harness.query(ONE, { id: 'ex_demo_1' });
    expect(response.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(harness.logs.slice(logged).filter((line) => line.msg === WARNING)).toEqual([]);
  });
});
