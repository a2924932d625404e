/**
 * A real token put in the placeholder's place with its angle brackets kept (`Bearer <eyJ…>`) was answered "its token
 * is the placeholder `<eyJ…>`": the token itself, echoed into an error message a frontend reports and logs, and advice
 * (put your own token in its place) that the caller had already followed. Only a placeholder's words are quoted now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

const ONE = 'query One($id: ID!) { execution(id: $id) { id } }';
const WHAT = 'The executions API did not accept the Authorization token';

describe('a real token kept in angle brackets', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it('is told to drop the brackets, and its value is never in the answer', async () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2VjcmV0LXNpZ25hdHVyZQ';
    harness.upstream.reset();
    const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: `Bearer <${token}>` });
    const error = response.errors![0]!;
    expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', upstreamStatus: 401 });
    expect(error.message).toBe(
      `${WHAT}: its token is written in angle brackets (\`<…>\`), which mark a placeholder in the examples and are no part of a token: send \`Authorization: Bearer <token>\` with your token alone, without the brackets.`,
    );
    expect(JSON.stringify(response)).not.toContain(token);
    expect(harness.upstream.requests).toHaveLength(1);
  });

  it('a letters-only secret in brackets is not quoted either', async () => {
    const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: 'Bearer <sEcReTaPiKeYvAlUe>' });
    expect(response.errors![0]!.message).not.toContain('sEcReTaPiKeYvAlUe');
  });

  it('still quotes a placeholder written in words', async () => {
    for (const placeholder of ['<your token>', '<token>', '<YOUR_JWT>', '<api-key-here>']) {
      const response = await harness.query(ONE, { id: 'ex_demo_1' }, { authorization: `Bearer ${placeholder}` });
      expect(response.errors![0]!.message, placeholder).toContain(`its token is the placeholder \`${placeholder}\``);
    }
  });
});
