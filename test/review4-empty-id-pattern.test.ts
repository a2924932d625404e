/**
 * An empty execution id under an EXECUTION_ID_PATTERN of the operator's: the message gives the pattern, not the
 * default's example `ex_acme_7`, which that pattern refuses too (a frontend that sent it got "Invalid execution id").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

const PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

describe('an empty execution id under a configured EXECUTION_ID_PATTERN', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ env: { EXECUTION_ID_PATTERN: PATTERN } });
  });
  afterAll(() => harness.close());

  it('says what an id looks like under that pattern, with no example it refuses', async () => {
    const response = await harness.query('query($id: ID!) { execution(id: $id) { id } }', { id: '' });
    expect(response.errors?.map((error) => [error.extensions?.['code'], error.message])).toEqual([
      [
        'BAD_USER_INPUT',
        `Execution id must not be empty: pass the id of the execution to read, one matching the allowed pattern ${PATTERN} (an id not known yet, such as a route parameter still loading, is no reason to send the request).`,
      ],
    ]);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
