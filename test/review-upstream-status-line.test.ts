/**
 * A status code below 100 is no HTTP status (RFC 9110 §15: 100 to 599), so a status line carrying one is
 * malformed, as README "Error codes" says of UPSTREAM_BAD_RESPONSE: "an answer undici cannot parse (a malformed
 * status line, …; not retried)". llhttp takes any three digits, and undici 7.30 trips an assertion of its own on
 * such a code, which the gateway read as a network failure: UPSTREAM_UNAVAILABLE, asked three times, and
 * counted against upstream's circuit. Written to the socket as is: node's own server cannot send it.
 */
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, LANES, codes } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

describe.each(LANES)('a status code below 100 from upstream (%s lane)', (lane) => {
  let gateway: BehindScripted;
  let url: string;
  let answer = '';
  let asked = 0;

  beforeAll(async () => {
    gateway = await gatewayBehindScripted(
      (request) => {
        asked++;
        request.socket.end(answer);
      },
      { FAST_LANE: String(lane === 'fast'), UPSTREAM_TIMEOUT_MS: '2000' },
    );
    url = gateway.url;
  });
  afterAll(() => gateway.close());

  it.each([
    ['099', 'HTTP/1.1 099 Odd\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}'],
    ['000', 'HTTP/1.1 000 Odd\r\ncontent-length: 0\r\n\r\n'],
  ])('is UPSTREAM_BAD_RESPONSE, asked once (%s)', async (_status, raw) => {
    answer = raw;
    const before = asked;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: 'query($id: ID!) { execution(id: $id) { id } }', variables: { id: 'ex_demo_1' } }),
    });
    const result = (await response.json()) as ExecutionResult;
    expect(result.data).toEqual({ execution: null });
    expect(codes(result)).toEqual(['UPSTREAM_BAD_RESPONSE']);
    // The same bytes again would fail the same: not retried.
    expect(asked - before).toBe(1);
  });
});
