/**
 * A missing required variable beside names the operation does not declare is told which sent name it may have
 * meant (src/pipeline/misnamed-variables.ts), by an edit distance whose cost is the product of the two names'
 * lengths, on the event loop. Names have no length limit, and one request needs no token: a 60 KB body declaring a
 * name of 12,000 characters and sending three of about that length held the process for 16 to 20 seconds, every other
 * request waiting behind it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, Harness, LANES } from './support/harness.js';

const long = (letter: string, length: number) => letter.repeat(length);

describe.each(LANES)('a misnamed variable of thousands of characters, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (body: unknown, authorization?: string) =>
    harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(authorization ? { authorization } : {}) },
      body: JSON.stringify(body),
    });

  it('is refused at once, without a token and without an upstream call, while another request is served beside it', async () => {
    const declared = long('a', 12_000);
    const variables = Object.fromEntries([0, 1, 2].map((index) => [`${long('b', 11_999)}${index}`, 'ex_demo_1']));
    const started = performance.now();
    const [refused, served] = await Promise.all([
      post({ query: `query($${declared}: ID!) { execution(id: $${declared}) { id } }`, variables }),
      post({ query: 'query($id: ID!) { execution(id: $id) { id } }', variables: { id: 'ex_demo_1' } }, AUTH),
    ]);
    const ms = performance.now() - started;
    expect(refused.status).toBe(400);
    const body = (await refused.json()) as ExecutionResult;
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toEqual({ code: 'BAD_REQUEST' });
    // The message is cut at 500 characters, inside the declared name it quotes first.
    expect(body.errors![0]!.message).toMatch(/^Variable "\$a+…$/);
    expect(served.status).toBe(200);
    expect(await served.json()).toMatchObject({ data: { execution: { id: 'ex_demo_1' } } });
    expect(harness.upstream.requests.map((request) => request.headers.authorization)).toEqual([AUTH]);
    // 16 to 20 s before; well under a second now. The bound leaves room for a busy machine.
    expect(ms).toBeLessThan(5_000);
  });

  it('still tells a name past the compared length sent in another case, and a short one a letter off', async () => {
    const declared = long('a', 100);
    const inCase = (await (await post({ query: `query($${declared}: ID!) { execution(id: $${declared}) { id } }`, variables: { [declared.toUpperCase()]: 'x' } })).json()) as ExecutionResult;
    expect(inCase.errors![0]!.message).toMatch(/variables has "A{40}…", which the operation does not declare; did you mean/);
    const typo = (await (await post({ query: 'query($eventsAfter: String!) { execution(id: "ex_demo_1") { events(after: $eventsAfter) { totalCount } } }', variables: { eventAfter: 'x' } })).json()) as ExecutionResult;
    expect(typo.errors![0]!.message).toContain('variables has `eventAfter`, which the operation does not declare; did you mean `$eventsAfter`?');
  });
});
