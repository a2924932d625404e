/**
 * Upstream read from a lagging replica: the first page's reading had 10 events, the second page's reading (another
 * replica, behind) has 6, so the event the first page's endCursor names is not in it. The client's cursor is good: it
 * was BAD_USER_INPUT "…no longer has. Start again without a cursor.", which sent a client back to the first page over
 * upstream's lag. It is now UPSTREAM_BAD_RESPONSE (without `retryable: false`), saying to ask again with the same cursor,
 * and asked again once the replica caught up, the same cursor pages on with no event missed or repeated.
 * Over HTTP: a scripted upstream answering each call from the replica the test picks, one call per page.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

const ID = 'ex_lag_1';
const QUERY = `query($id: ID!, $after: String) {
  execution(id: $id) { id events(first: 4, after: $after) { edges { cursor node { id } } pageInfo { endCursor hasNextPage } } }
}`;

const full = makeExecution({ id: ID, status: 'workflow_running', eventCount: 10 });
const behind = { execution: full.execution, events: full.events.slice(0, 3) };

describe('paging through a lagging upstream replica', () => {
  let gateway: BehindScripted;
  let replica = full;
  let calls = 0;
  beforeAll(async () => {
    gateway = await gatewayBehindScripted((_request: IncomingMessage, response: ServerResponse) => {
      calls++;
      response.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `up-lag-${calls}` });
      response.end(JSON.stringify({ code: 200, data: { events: replica.events, execution: replica.execution, message: 'ok' }, message: 'success', requestId: `up-lag-${calls}` }));
    });
  });
  afterAll(() => gateway.close());

  async function page(after?: string) {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query: QUERY, variables: { id: ID, after } }) });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      data: { execution: { events: { edges: Array<{ node: { id: string } }>; pageInfo: { endCursor: string } } } | null };
      errors?: Array<{ message: string; path: string[]; extensions: Record<string, unknown> }>;
    };
  }

  it('tells the client to ask again with the same cursor, which then pages on', async () => {
    replica = full;
    const first = await page();
    expect(first.errors).toBeUndefined();
    const cursor = first.data.execution!.events.pageInfo.endCursor;

    replica = behind;
    const before = calls;
    const lagging = await page(cursor);
    expect(calls - before).toBe(1);
    expect(lagging.data).toEqual({ execution: null });
    expect(lagging.errors).toHaveLength(1);
    expect(lagging.errors![0]!.path).toEqual(['execution', 'events']);
    expect(lagging.errors![0]!.extensions).toEqual({ code: 'UPSTREAM_BAD_RESPONSE', upstreamRequestId: `up-lag-${calls}` });
    expect(lagging.errors![0]!.message).toContain(`event "${full.events[3]!.id}"`);
    expect(lagging.errors![0]!.message).toContain('ask again shortly with the same cursor');

    replica = full;
    const again = await page(cursor);
    expect(again.errors).toBeUndefined();
    expect(again.data.execution!.events.edges.map((edge) => edge.node.id)).toEqual(full.events.slice(4, 8).map((event) => event.id));
  });
});
