/**
 * An answer whose status the executions API's contract does not name (a redirect, a 410, an envelope's 422) is
 * UPSTREAM_BAD_RESPONSE for the client, and was nothing at all in the log: an UPSTREAM_URL that upstream redirects
 * (http to https, another host) failed every call with no line saying where it pointed. It is logged now as a body
 * that breaks the contract is (README "Upstream faults"), with where a redirect pointed, never its query (a signed
 * URL's secret may sit there) nor the caller's token.
 */
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureLog, type CapturedLog } from './support/captured-log.js';
import { codes } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

const TOKEN = 'Bearer secret-token-of-the-caller';
const MESSAGE = 'upstream answered with a body that breaks its contract';

describe('a status the contract does not name', () => {
  let gateway: BehindScripted;
  let url: string;
  let log: CapturedLog;
  let answer: { status: number; headers: Record<string, string>; body: string };
  let asked = 0;

  beforeAll(async () => {
    log = captureLog('info');
    gateway = await gatewayBehindScripted((_request, response) => {
      asked++;
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body);
    }, { UPSTREAM_TIMEOUT_MS: '5000' }, log.logger);
    url = gateway.url;
  });
  afterAll(() => gateway.close());
  beforeEach(() => {
    asked = 0;
  });

  async function ask(id: string): Promise<ExecutionResult> {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: TOKEN },
      body: JSON.stringify({ query: 'query($id: ID!) { execution(id: $id) { id } }', variables: { id } }),
    });
    return (await response.json()) as ExecutionResult;
  }

  const linesFor = (id: string) => log.lines.filter((line) => line.msg === MESSAGE && line.executionId === id);

  it('logs a redirect with where it pointed, its query left out, and follows it nowhere', async () => {
    answer = { status: 301, headers: { location: 'https://elsewhere.example/v1/executions/ex_moved?sig=signed-secret' }, body: '' };
    const result = await ask('ex_moved');
    expect(codes(result)).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(result.errors![0]!.extensions).toMatchObject({ upstreamStatus: 301 });
    expect(asked).toBe(1);
    const lines = linesFor('ex_moved');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, upstreamStatus: 301 });
    expect(lines[0]!.why).toBe(
      "HTTP 301, a status the executions API's contract does not name, a redirect (never followed) to https://elsewhere.example/v1/executions/ex_moved, another origin (is UPSTREAM_URL the one to call?)",
    );
    expect(log.raw()).not.toContain('signed-secret');
    expect(log.raw()).not.toContain('secret-token-of-the-caller');
  });

  it('logs another status, and an envelope code, with upstream\'s request id', async () => {
    answer = { status: 410, headers: { 'x-request-id': 'req-gone' }, body: '{"code":410,"message":"gone"}' };
    expect(codes(await ask('ex_gone'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(linesFor('ex_gone')).toEqual([expect.objectContaining({ upstreamStatus: 410, upstreamRequestId: 'req-gone', why: "HTTP 410, a status the executions API's contract does not name" })]);

    answer = { status: 200, headers: {}, body: '{"code":422,"message":"unprocessable","requestId":"req-422"}' };
    expect(codes(await ask('ex_unprocessable'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(linesFor('ex_unprocessable')).toEqual([
      expect.objectContaining({ upstreamStatus: 200, upstreamRequestId: 'req-422', why: "envelope code 422, a status the executions API's contract does not name" }),
    ]);
  });
});
