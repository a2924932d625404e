/**
 * README "Example" answers as it says, run after run. Its answer showed `calls: 1, cacheHits: 0` as what the
 * query gets, but `ex_demo_7` is finished: run again (as a reader does, trying it in GraphiQL), it came from
 * the cache with `calls: 0, cacheHits: 1`, which the README did not say, so the second run looked wrong.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { Harness } from './support/harness.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const EXAMPLE = README.slice(README.indexOf('## Example'), README.indexOf('### Several executions at once'));

/** The text of the fenced block of `language` in `text`, after `after`. */
function fenced(text: string, language: string, after = 0): string {
  const start = text.indexOf('```' + language + '\n', after);
  expect(start).toBeGreaterThanOrEqual(0);
  const body = start + language.length + 4;
  return text.slice(body, text.indexOf('```', body));
}

/** What a run reports upstream, without its time, which varies from run to run. */
const cost = (extensions: unknown) => {
  const { timeMs: _timeMs, ...rest } = (extensions as { upstream: Record<string, unknown> }).upstream;
  return rest;
};

describe('README "Example"', () => {
  let harness: Harness;
  beforeAll(async () => {
    // The settings `npm start` runs with: the cache of finished executions on, for its default 60 s.
    harness = await Harness.start({ upstream: { executions: demoExecutions() }, env: { TERMINAL_CACHE_TTL_MS: '60000' } });
  });
  afterAll(() => harness.close());

  it('answers as shown the first time, and from the cache, as it says, the next', async () => {
    const query = fenced(EXAMPLE, 'graphql');
    const shown = JSON.parse(fenced(EXAMPLE, 'json')) as { data: unknown; extensions: unknown };
    const first = await harness.query(query, { id: 'ex_demo_7' });
    expect(first.data).toEqual(shown.data);
    expect(cost(first.extensions)).toEqual(cost(shown.extensions));
    const second = await harness.query(query, { id: 'ex_demo_7' });
    expect(second.data).toEqual(shown.data);
    const told = /same request is served from the cache, `("upstream": \{[^`]*\})`/.exec(EXAMPLE);
    expect(told, 'README "Example" says what a second run reports').not.toBeNull();
    expect(cost(second.extensions)).toEqual(cost(JSON.parse(`{${told![1]}}`)));
    expect(harness.upstream.requestsFor('ex_demo_7')).toHaveLength(1);
  });
});
