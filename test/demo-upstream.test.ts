/**
 * The demo upstream `npm start` runs without UPSTREAM_URL (src/demo/demo-upstream.ts),
 * over real loopback HTTP: it serves the demo data to the demo token, and keeps
 * nothing per request, so a demo left running under a polling dashboard does not grow.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { startDemoUpstream } from '../src/demo/demo-upstream.js';
import type { FakeUpstream } from '../src/demo/fake-upstream.js';

describe('the demo upstream of npm start', () => {
  let upstream: FakeUpstream | undefined;
  afterEach(async () => {
    await upstream?.close();
  });

  it('answers the demo executions and keeps no record of the requests', async () => {
    upstream = await startDemoUpstream(60_000);
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${upstream.url}/v1/executions/ex_demo_4`, { headers: { authorization: `Bearer ${DEMO_TOKEN}` } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { data: { execution: { id: string } } }).data.execution.id).toBe('ex_demo_4');
    }
    // About 700 bytes each, kept for the life of the process: 27.5 MB per 40,000 requests.
    expect(upstream.requests).toHaveLength(0);
  });
});
