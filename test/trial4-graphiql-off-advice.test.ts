/**
 * A developer who opens a production gateway's URL in a browser, where GraphiQL is off (TRUSTED_DOCUMENTS=only or
 * INTROSPECTION=false), got a 404 saying only why ("GraphiQL is not served with …"), with nothing to try next. The
 * message now says where to explore the API instead. Both lanes; no upstream call.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Harness, LANES, type LaneName } from './support/harness.js';

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const ELSEWHERE = 'Explore the API in the GraphiQL of a gateway that serves it (`npm start` runs one with demo data), or read schema/schema.graphql of the release.';

describe.each(LANES)('GraphiQL turned off (%s lane)', (lane: LaneName) => {
  const harnesses: Harness[] = [];
  afterAll(() => Promise.all(harnesses.map((harness) => harness.close())));

  const page = async (env: Record<string, string>) => {
    const harness = await Harness.start({ lane, env });
    harnesses.push(harness);
    const response = await harness.fetch('/graphql', { headers: BROWSER });
    expect(response.status).toBe(404);
    expect(harness.upstream.requests).toHaveLength(0);
    return ((await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> }).errors;
  };

  it('by TRUSTED_DOCUMENTS=only, says where to explore the API', async () => {
    expect(await page({ TRUSTED_DOCUMENTS: 'only' })).toEqual([
      { message: `GraphiQL is not served with TRUSTED_DOCUMENTS=only: only persisted documents run here. ${ELSEWHERE}`, extensions: { code: 'BAD_REQUEST' } },
    ]);
  });

  it('by INTROSPECTION=false, says where to explore the API', async () => {
    expect(await page({ INTROSPECTION: 'false' })).toEqual([
      { message: `GraphiQL is not served with INTROSPECTION=false: without the schema it can neither complete nor check a query. ${ELSEWHERE}`, extensions: { code: 'BAD_REQUEST' } },
    ]);
  });
});
