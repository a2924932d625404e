/**
 * The open circuit's refusal says when to retry. A frontend got "The executions API is failing; the gateway
 * stops calling it for a few seconds to let it recover.", with no `retryAfterMs` and no time: it could only
 * guess, retry at once and be refused again. The gateway knows when its probe goes through, so the message
 * says it, rounded up to a tenth of a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoExecutions } from '../src/demo/demo-data.js';
import { Harness } from './support/harness.js';
import { CIRCUIT_OF_THREE } from './support/live.js';

const ONE = 'query($id: ID!) { execution(id: $id) { id } }';

describe('the open circuit says when to retry', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({
      upstream: { executions: demoExecutions() },
      env: { ...CIRCUIT_OF_THREE, UPSTREAM_BREAKER_HALF_OPEN_MS: '5000' },
    });
  });
  afterAll(() => harness.close());

  it('in its message, with no upstream call', async () => {
    for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3']) {
      harness.upstream.setFault(id, { kind: 'status', status: 500 });
      await harness.query(ONE, { id });
    }
    const calls = harness.upstream.requests.length;
    const refused = await harness.query(ONE, { id: 'ex_demo_4' });
    expect(refused.errors?.map((error) => error.extensions?.['code'])).toEqual(['UPSTREAM_UNAVAILABLE']);
    const message = refused.errors![0]!.message;
    const match = /^The executions API is failing; the gateway stops calling it for a few seconds to let it recover: retry in (\d+(?:\.\d)?) s \(`extensions\.retryAfterMs`\)\.$/.exec(message);
    expect(match, message).not.toBeNull();
    // Within the half-open pause, and not past it: a busy machine may have spent some of it already.
    expect(Number(match![1])).toBeGreaterThan(0);
    expect(Number(match![1])).toBeLessThanOrEqual(5);
    // The same time for a program, in ms: before, only the message said it.
    expect(refused.errors![0]!.extensions?.['retryAfterMs']).toBe(Math.round(Number(match![1]) * 1000));
    expect(harness.upstream.requests).toHaveLength(calls);
  });
});
