/**
 * An `events` page its arguments alone refuse (a size out of range, an altered cursor, another execution's cursor)
 * below a watch's `execution` is refused as the same page below a query's `execution` is: before any upstream call,
 * with the same BAD_USER_INPUT and message, on the root field (`["executionUpdates"]` as the query's is
 * `["execution"]`), errors only, then complete. It was refused only once the watch's first update ran, on
 * `["executionUpdates", "execution", "events"]`, after an upstream call and a poller started for it.
 */
import type { ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';
import { liveEnv, putExecution, TOKENS } from './support/live.js';
import { sendOver, STREAMING, type TransportName } from './support/transports.js';

/** A cursor of ex_demo_4's events, as a query hands it out: another execution's cursor for every other id here. */
async function cursorOfAnother(harness: Harness): Promise<string> {
  const { data } = await harness.query<{ execution: { events: { edges: Array<{ cursor: string }> } } }>('{ execution(id: "ex_demo_4") { events(first: 1) { edges { cursor } } } }');
  return data!.execution.events.edges[0]!.cursor;
}

describe.each(LANES)('a refused events page below a watch, %s lane', (lane) => {
  let harness: Harness;
  let pages: Array<[string, string]>;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: liveEnv(), upstream: { tokens: TOKENS } });
    const another = await cursorOfAnother(harness);
    pages = [
      ['a size out of range', 'first: 1000'],
      ['a negative size', 'last: -1'],
      ['an altered cursor', 'after: "not-a-cursor"'],
      ["another execution's cursor", `after: "${another}"`],
    ];
  });
  afterAll(() => harness.close());

  describe.each(STREAMING)('over %s', (transport) => {
    it('is refused as the query refuses it: the same error, on the root field, with no upstream call', async () => {
      for (const [index, [what, args]] of pages.entries()) {
        const id = `ex_page_${transport.replace(/\W/g, '')}_${index}`;
        putExecution(harness.upstream, id, 'workflow_running');
        const selection = `execution { status events(${args}) { totalCount } }`;
        const query = await sendOver(harness, 'POST JSON', `{ ${selection.replace('execution {', `execution(id: "${id}") {`)} }`);
        const [queryError] = query.results[0]!.errors!;
        expect(queryError, what).toMatchObject({ path: ['execution'], extensions: { code: 'BAD_USER_INPUT' } });
        const watched = await sendOver(harness, transport as TransportName, `subscription { executionUpdates(id: "${id}") { cursor ${selection} } }`);
        expect(watched.results, `${what}: ${JSON.stringify(watched.results)}`).toHaveLength(1);
        const [result] = watched.results as ExecutionResult[];
        expect(Object.keys(result!), what).toEqual(['errors']);
        expect(result!.errors, what).toEqual([{ message: queryError!.message, locations: [{ line: 1, column: 16 }], path: ['executionUpdates'], extensions: queryError!.extensions }]);
        expect(harness.upstream.requestsFor(id), what).toEqual([]);
      }
    });
  });
});
