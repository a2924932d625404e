/**
 * With GraphiQL off (INTROSPECTION=false, TRUSTED_DOCUMENTS=only) a browser asking
 * for it gets a 404 whose body is a BAD_REQUEST error saying why. Its access line
 * names that code, as every other refusal's does (an unknown path's 404, a CSRF
 * 403): it used to say `errorCodes: []`, so ACCESS_LOG=errors logged a 404 that
 * named no error, and a search of the log by code never found it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, LANES } from './support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function accessLine(h: Harness, from: number): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const line = h.logs.slice(from).find((each) => each.component === 'access');
    if (line) return line;
    if (Date.now() > deadline) throw new Error('no access line');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(LANES)('GraphiQL off, %s lane', (lane) => {
  it.each<Record<string, string>>([{ INTROSPECTION: 'false' }, { TRUSTED_DOCUMENTS: 'only' }])('the 404 for its page is logged with the code its body carries (%o)', async (env) => {
    harness = await Harness.start({ lane, env });
    const from = harness.logs.length;
    const response = await harness.fetch('/graphql', { headers: { accept: 'text/html' } });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
    const line = await accessLine(harness, from);
    expect(line).toMatchObject({ status: 404, path: '/graphql', errorCodes: ['BAD_REQUEST'] });
  });
});
