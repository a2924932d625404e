/**
 * README's probe table said `/health` answers 200 "while the process lives, draining or not", and `/ready` 503 "from
 * the first moment of a drain". Both hold only until the listener closes (step 2 of the drain, after
 * SHUTDOWN_UNREADY_MS): from then on, while requests in flight still have up to SHUTDOWN_GRACE_MS, the process lives
 * and a probe's new connection is refused, as every other. A liveness probe set to fail on a refusal sees the
 * process as dead for the rest of the drain. The table now says so.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { Harness } from './support/harness.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

const refusal = (url: string) =>
  fetch(url).then(
    (answer) => `answered ${answer.status}`,
    (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
  );

it('a probe is refused once the listener closed, while the process still drains, and README says so', async () => {
  const harness = await Harness.start();
  try {
    harness.upstream.setFault('ex_demo_4', { kind: 'hang' });
    const stuck = harness.query('{ execution(id: "ex_demo_4") { id } }').catch(() => undefined);
    await expect.poll(() => harness.upstream.requestsFor('ex_demo_4').length).toBe(1);
    const drained = harness.instance.drain({ unreadyMs: 0, graceMs: 3_000 });
    // The listener closes right after the unready period; the stuck query holds the drain for its grace.
    await expect.poll(() => refusal(`${harness.origin}/health`), { timeout: 2_000 }).toBe('ECONNREFUSED');
    expect(await refusal(`${harness.origin}/ready`)).toBe('ECONNREFUSED');
    await drained;
    await stuck;
  } finally {
    await harness.close();
  }

  const row = (path: string) => README.split('\n').find((line) => line.startsWith(`| \`${path}\` |`)) ?? '';
  expect(row('/health')).not.toContain('while the process lives, draining or not |');
  expect(row('/health')).toContain('until the listener closes');
  expect(README).toMatch(/\| `\/ready` \| `503` before that, and from the first moment of a drain until the listener closes/);
}, 20_000);
