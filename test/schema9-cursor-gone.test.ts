/**
 * README "Paging through events", Cursors: what each cursor a page cannot use gets. A cursor naming an event
 * upstream's reading lacks is UPSTREAM_BAD_RESPONSE (ask again with it), never BAD_USER_INPUT, which tells a client
 * to throw the cursor away; the bullet said an event 'gone' was BAD_USER_INPUT, beside the bullet above it saying
 * the opposite.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { codes, Harness } from './support/harness.js';

const ID = 'ex_gone_1';
const OTHER = 'ex_gone_2';
const QUERY = 'query P($id: ID!, $after: String) { execution(id: $id) { events(first: 3, after: $after) { pageInfo { endCursor } } } }';

/** The README bullet on cursors, as one line. */
function cursorsBullet(): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('- **Cursors**');
  return readme.slice(start, readme.indexOf('\n- **', start + 1)).replace(/\s+/g, ' ');
}

describe('a cursor a page cannot use', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      upstream: { executions: [makeExecution({ id: ID, status: 'workflow_running', eventCount: 10 }), makeExecution({ id: OTHER, status: 'workflow_running', eventCount: 3 })] },
    });
  });
  afterAll(() => harness.close());

  it('gets the code README names for it', async () => {
    const cursor = async (id: string) => ((await harness.query<{ execution: { events: { pageInfo: { endCursor: string } } } }>(QUERY, { id })).data!.execution.events.pageInfo.endCursor);
    const kept = await cursor(ID);
    const others = await cursor(OTHER);
    // Upstream drops the events from the cursor's on.
    harness.upstream.put(makeExecution({ id: ID, status: 'workflow_running', eventCount: 2 }));
    const gone = await harness.query(QUERY, { id: ID, after: kept });
    const foreign = await harness.query(QUERY, { id: ID, after: others });
    const altered = await harness.query(QUERY, { id: ID, after: `${kept.slice(0, -2)}xx` });
    expect([codes(gone), codes(foreign), codes(altered)]).toEqual([['UPSTREAM_BAD_RESPONSE'], ['BAD_USER_INPUT'], ['BAD_USER_INPUT']]);

    const bullet = cursorsBullet();
    expect(bullet).toContain('A cursor from another execution or an altered one');
    expect(bullet).toMatch(/one naming an event upstream's reading lacks \([^)]*an event gone\) is `UPSTREAM_BAD_RESPONSE`/);
    expect(bullet).not.toMatch(/gone is `BAD_USER_INPUT`/);
  });
});
