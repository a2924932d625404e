/**
 * The access line's `upstreamRequestIds` are cut at 128 characters on a character's boundary: an envelope `requestId`
 * (upstream's JSON, so any text) with an emoji where the cut fell was logged with half of it, `\ud83d`, which log
 * pipelines that read strict UTF-8 turn into U+FFFD or refuse, and which matches no id in upstream's own logs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUTH, Harness } from './support/harness.js';

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

async function accessLineAfter(from: number): Promise<Record<string, unknown>> {
  const deadline = performance.now() + 3_000;
  for (;;) {
    const line = harness.logs.slice(from).find((each) => each.component === 'access');
    if (line || performance.now() > deadline) return line ?? {};
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it.each([127, 128])('keeps whole characters of an id cut at 128 (padding %i)', async (padding) => {
  const requestId = `${'x'.repeat(padding)}${'😀'.repeat(20)}`;
  // No x-request-id header: the envelope's requestId names the response.
  harness.upstream.setFault('ex_demo_1', { kind: 'status', status: 404, body: JSON.stringify({ code: 404, message: 'not found', requestId }), headers: { 'x-request-id': '' } });
  const from = harness.logs.length;
  const response = await harness.fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: AUTH },
    body: JSON.stringify({ query: '{ execution(id: "ex_demo_1") { id } }' }),
  });
  const body = (await response.json()) as { errors: Array<{ extensions: Record<string, unknown> }> };
  expect(body.errors[0]!.extensions).toMatchObject({ code: 'NOT_FOUND', upstreamRequestId: requestId });
  const [logged] = (await accessLineAfter(from)).upstreamRequestIds as string[];
  expect(/\p{Cs}/u.test(logged!)).toBe(false);
  expect(requestId.startsWith(logged!)).toBe(true);
  expect(logged!.length).toBeGreaterThanOrEqual(127);
  expect(harness.upstream.requestsFor('ex_demo_1').length).toBeGreaterThanOrEqual(1);
});
