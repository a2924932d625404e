/**
 * A page asked for with a cursor, read where upstream sent no list of events (`events` absent, null, or no list):
 * the cursor is the client's own and good, and the next reading (such a reading is never cached) holds its event.
 * Before, it was BAD_USER_INPUT, "…which execution "ex_…" no longer has. Start again without a cursor.": the client
 * was blamed for upstream's partial answer and told to drop its place. Now UPSTREAM_BAD_RESPONSE, saying to ask
 * again with the same cursor, which then works; the other executions of the response are served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { encodeEventCursor } from '../src/domain/event-cursor.js';
import { Harness, LANES } from './support/harness.js';

const ID = 'ex_demo_1';
const SIBLING = 'ex_demo_2';

function envelope(events: unknown, omitEvents = false): string {
  const { execution } = makeExecution({ id: ID, status: 'workflow_running', eventCount: 0 });
  const data: Record<string, unknown> = { execution, message: 'execution retrieved' };
  if (!omitEvents) data.events = events;
  return JSON.stringify({ code: 200, data, message: 'success', requestId: 'req-unlisted' });
}

describe.each(LANES)('a cursor where upstream sent no list of events (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(async () => {
    await harness.close();
  });

  const page = (argument: 'after' | 'before', cursor: string) =>
    harness.query<{ a: { events: { edges: Array<{ node: { id: string } }> } } | null; b: { id: string } | null }>(
      `query($a: ID!, $b: ID!, $cursor: String) { a: execution(id: $a) { events(${argument}: $cursor) { edges { node { id } } } } b: execution(id: $b) { id } }`,
      { a: ID, b: SIBLING, cursor },
    );

  it.each([
    ['absent', envelope(undefined, true), 'after'],
    ['null', envelope(null), 'before'],
    ['an object', envelope({ items: [] }), 'after'],
  ] as const)('events %s: UPSTREAM_BAD_RESPONSE saying to keep the cursor; asked again, it pages', async (_what, body, argument) => {
    const events = makeExecution({ id: ID, status: 'workflow_running', eventCount: 5 }).events;
    const cursor = encodeEventCursor(ID, events[1]!.id, 0);
    harness.upstream.setFault(ID, { kind: 'body', body, headers: { 'content-type': 'application/json', 'x-request-id': 'req-unlisted' } }, 1);
    const refused = await page(argument, cursor);
    expect(refused.data).toEqual({ a: null, b: { id: SIBLING } });
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors![0]!.path).toEqual(['a', 'events']);
    expect(refused.errors![0]!.extensions).toEqual({ code: 'UPSTREAM_BAD_RESPONSE', upstreamRequestId: 'req-unlisted' });
    expect(refused.errors![0]!.message).toBe(
      `The executions API answered without a readable list of this execution's events, so the event \`${argument}\` names cannot be found: ask again shortly with the same cursor, which stays valid.`,
    );

    // Upstream lists the events again: the same cursor pages from its event.
    const served = await page(argument, cursor);
    expect(served.errors).toBeUndefined();
    expect(served.data!.a!.events.edges.length).toBeGreaterThan(0);
  });
});
