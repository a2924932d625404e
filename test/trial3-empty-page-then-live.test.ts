/**
 * README "A page, then live" for an execution with no events yet. Its recipe (start the watch with the
 * page's `endCursor`) has nothing to pass there: `endCursor` is null, and a watch given null starts where
 * upstream's list ends as it subscribes, so an event appended between the page and the watch never came,
 * on the page opened as a run starts, the usual case. The README now says to watch first and read the
 * page after the first update; this proves the gap, and that the recipe closes it, with the typed client.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient, ExecutionEventsDocument, watchExecution, type ExecutionUpdate } from '../src/client/index.js';
import { makeEvents, makeExecution, DEMO_ORGANIZATION } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';
import { liveEnv } from './support/live.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ID = 'ex_new_1';

describe('a page with no events, then live (README "A page, then live")', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: liveEnv() });
  });
  afterAll(() => harness.close());

  /** Upstream appends the event numbered `seq`, as a running workflow does. */
  const append = (seq: number) => harness.upstream.appendEvents(ID, makeEvents(ID, DEMO_ORGANIZATION, 1, Date.now(), seq));

  it('says what to do when the page has no cursor to give', () => {
    expect(README).toContain('A page with no events (a run that has logged\n  nothing yet');
    expect(README).toContain('watch first\n  and read the page once the first update has come');
  });

  it('the page-first recipe misses an event appended meanwhile; watching first does not', async () => {
    harness.upstream.put(makeExecution({ id: ID, status: 'workflow_running', eventCount: 0 }));
    const client = createGatewayClient(harness.url, AUTH);

    // Page first: nothing to pass to the watch.
    const page = await client.request(ExecutionEventsDocument, { id: ID, last: 20 });
    expect(page.execution?.events.edges).toEqual([]);
    expect(page.execution?.events.pageInfo.endCursor).toBeNull();
    append(1);
    const late = watchExecution(harness.url, AUTH, ID, { eventsAfter: page.execution?.events.pageInfo.endCursor })[Symbol.asyncIterator]();
    const first = (await late.next()).value as ExecutionUpdate;
    expect(first.newEvents).toEqual([]);
    await late.return?.(undefined);

    // Watch first, then the page: every event, once each by cursor.
    const shown = new Map<string, string>();
    const watch = watchExecution(harness.url, AUTH, ID)[Symbol.asyncIterator]();
    const opened = (await watch.next()).value as ExecutionUpdate;
    append(2);
    const read = await client.request(ExecutionEventsDocument, { id: ID, last: 20 });
    for (const { cursor, node } of read.execution!.events.edges) shown.set(cursor, node.id);
    for (const { cursor, node } of opened.newEvents) shown.set(cursor, node.id);
    append(3);
    while (shown.size < 3) {
      const update = (await watch.next()).value as ExecutionUpdate;
      for (const { cursor, node } of update.newEvents) shown.set(cursor, node.id);
    }
    await watch.return?.(undefined);
    expect([...shown.values()].sort()).toEqual([`ev_${ID}_1`, `ev_${ID}_2`, `ev_${ID}_3`]);
  });
});
