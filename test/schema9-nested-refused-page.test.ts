/**
 * README "Paging through events": a page its arguments alone refuse is refused before the execution is fetched when
 * selected right on it; one under an event's `execution` is refused at its page, after the one call, and still nulls
 * the execution (every field between is non-null). README said every such page was refused with no upstream call.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, Harness } from './support/harness.js';

describe('a refused page under an event’s execution', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it('costs the execution’s one call and nulls it, as README says', async () => {
    const response = await harness.query('{ execution(id: "ex_demo_7") { id events(first: 1) { nodes { execution { events(first: 101) { totalCount } } } } } }');
    expect(response.data).toEqual({ execution: null });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.path).toEqual(['execution', 'events', 'nodes', 0, 'execution', 'events']);
    expect(harness.upstream.requestsFor('ex_demo_7')).toHaveLength(1);

    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain("One selected further down, under an event's `execution`, is refused at its page after the execution's one call, and nulls the execution all the same");
  });
});
