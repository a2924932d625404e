/**
 * A request error answered as an event stream is a 200 whose one `next` event holds the coded errors
 * (src/pipeline/event-stream.ts, useEventStreamErrorStatus). graphql-sse's client, which the README recommends for
 * watching, takes any other status for a network error: a subscription with a variable of the wrong type was asked
 * 6 times over about 40 s and then failed with "Server responded with 400" and no code, where graphql-ws got the
 * coded error at once. Driven with graphql-sse's own client, on both lanes; the access line and the metrics say the
 * status the client got.
 */
import type { ExecutionResult } from 'graphql';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, Harness, LANES, codes } from './support/harness.js';

const WATCH = 'subscription($x: String) { executionUpdates(id: "ex_demo_7", eventsAfter: $x) { isFinal } }';

describe.each(LANES)('request errors over SSE (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { METRICS: 'api' } });
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    harness.upstream.reset();
    harness.logs.length = 0;
  });

  const accessLines = () => harness.logs.filter((line) => line.component === 'access');

  it("reaches graphql-sse's client as the coded error at once, in one request", async () => {
    const client = createClient({ url: harness.url, headers: { authorization: AUTH }, retryAttempts: 5, retry: () => new Promise((resolve) => setTimeout(resolve, 50)) });
    const results: ExecutionResult[] = [];
    const started = Date.now();
    try {
      for await (const result of client.iterate({ query: WATCH, variables: { x: 5 } })) results.push(result as ExecutionResult);
    } finally {
      client.dispose();
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(results).toHaveLength(1);
    expect(codes(results[0]!)).toEqual(['BAD_REQUEST']);
    expect(results[0]!.errors![0]!.message).toMatch(/^Variable "\$x" got invalid value 5/);
    // 10 s, not expect.poll's 1 s: the line is written as the stream closes, in this process, which a loaded machine stalls.
    await expect.poll(() => accessLines().length, { timeout: 10_000 }).toBe(1);
    expect(accessLines()[0]).toMatchObject({ status: 200, errorCodes: ['BAD_REQUEST'], transport: 'sse' });
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it.each([
    ['a variable of the wrong type', { query: WATCH, variables: { x: 5 } }, 'BAD_REQUEST'],
    ['a missing required variable', { query: 'subscription($id: ID!) { executionUpdates(id: $id) { isFinal } }' }, 'BAD_REQUEST'],
    ['an operationName that names no operation', { query: WATCH, operationName: 'Nope' }, 'OPERATION_RESOLUTION_FAILURE'],
    ['a query with a variable of the wrong type', { query: 'query($id: ID!) { execution(id: $id) { id } }', variables: { id: { no: 1 } } }, 'BAD_REQUEST'],
  ])('answers %s 200 with the errors in the one next event, and counts it as 200', async (_name, body, code) => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toBe('no-store, no-transform');
    const events = [...text.matchAll(/^event: ?(.*)$/gm)].map((match) => match[1]);
    expect(events).toEqual(['next', 'complete']);
    const data = JSON.parse(/^data: ?(.*)$/m.exec(text)![1]!) as ExecutionResult;
    expect(codes(data)).toEqual([code]);
    await expect.poll(() => accessLines().length, { timeout: 10_000 }).toBe(1);
    expect(accessLines()[0]).toMatchObject({ status: 200, errorCodes: [code], transport: 'sse' });
    const metrics = await (await harness.fetch('/metrics')).text();
    expect(metrics).not.toMatch(/gateway_http_responses_total\{[^}]*statusCode="400"[^}]*transport="sse"/);
  });

  it('keeps the 400 of the same request answered as JSON', async () => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: 'query($id: ID!) { execution(id: $id) { id } }', variables: { id: { no: 1 } } }),
    });
    expect(response.status).toBe(400);
    expect(codes((await response.json()) as ExecutionResult)).toEqual(['BAD_REQUEST']);
  });
});
