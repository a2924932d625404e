/**
 * Any `id` argument, under an EXECUTION_ID_PATTERN that allows any character, either reaches upstream as exactly one
 * percent-encoded path segment (`/v1/executions/<encodeURIComponent(id)>`, what the scripted upstream saw) and is
 * served as that execution, or is refused with BAD_USER_INPUT and no call: empty, over 1,024 characters, `.`/`..`,
 * or holding half a surrogate pair (README "Configuration", `EXECUTION_ID_PATTERN`). Never a 500, never another
 * path, never two calls for one id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withinTime } from './support/timed-property.js';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';
import { nextEvents } from './support/transports.js';

const PREFIX = '/v1/executions/';
const TIME_BUDGET_MS = 8_000;

/** Raw request targets upstream received, in order. */
let seen: string[] = [];
const script = (request: IncomingMessage, response: ServerResponse) => {
  const target = request.url ?? '';
  seen.push(target);
  let id: string | undefined;
  try {
    id = target.startsWith(PREFIX) ? decodeURIComponent(target.slice(PREFIX.length)) : undefined;
  } catch {
    id = undefined;
  }
  if (id === undefined) {
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 404, message: 'no such path' }));
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ code: 200, data: { execution: { id, status: 'workflow_succeeded' }, events: [] } }));
};

/** Characters that mean something in a URL, or to a path normaliser, or nothing at all. */
const TRICKY = ['/', '.', '..', '%', '%2F', '%2e', '?', '#', '&', '=', ';', ':', '@', '+', ' ', '\\', '\u0000', '\n', '\t', '\ud800', '\udc00', '\ud83d\ude00', 'é', 'ß', '\u202e', '\ufeff', '~', "'", '*', '(', ')', '!', 'a', 'Z', '0', '_', '-'];
const idArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...TRICKY), maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '%2F', '..%2F..', 'a/../b', '?x=1', '#f', '\u0000', '\ud800', 'ex_1\udc00') },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1020, max: 1028 }), fc.constantFrom('a', '/', 'é', '\ud83d\ude00')).map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length)) },
);

function refusedWithoutCall(id: string): boolean {
  return id === '' || id.length > 1024 || id === '.' || id === '..' || /\p{Cs}/u.test(id);
}

async function ask(url: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: unknown[]; extensions?: { code?: string } }> } };
}

/** `withinTime` with this file's budget, at least 20 runs, each with a fresh record of upstream calls. */
const within = <T>(arb: fc.Arbitrary<T>, predicate: (value: T) => Promise<void>, numRuns = 300) =>
  withinTime(arb, predicate, { numRuns, budgetMs: TIME_BUDGET_MS, minRuns: 20, beforeRun: () => (seen = []) });

describe('any id argument, under a pattern that allows any character', () => {
  let gateway: BehindScripted;
  beforeAll(async () => {
    gateway = await gatewayBehindScripted(script, { EXECUTION_ID_PATTERN: '^[\\s\\S]+$' });
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('execution(id): one call to exactly one encoded segment, served as that id, or BAD_USER_INPUT with no call', async () => {
    await within(idArb, async (id) => {
      const result = await ask(gateway.url, 'query($id: ID!) { execution(id: $id) { id status } }', { id });
      expect(result.status).toBe(200);
      expect(result.text).not.toMatch(/INTERNAL_SERVER_ERROR|Unexpected error|\n\s+at /);
      if (refusedWithoutCall(id)) {
        expect(seen).toEqual([]);
        expect(result.body.errors?.map((error) => error.extensions?.code)).toEqual(['BAD_USER_INPUT']);
        expect(result.body.data).toEqual({ execution: null });
        return;
      }
      expect(seen).toEqual([`${PREFIX}${encodeURIComponent(id)}`]);
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data).toEqual({ execution: { id, status: 'WORKFLOW_SUCCEEDED' } });
    });
  });

  it('executionUpdates(id) over SSE: one call to exactly one encoded segment and a final update of that id, or BAD_USER_INPUT with no call', async () => {
    await within(
      idArb,
      async (id) => {
        const response = await fetch(gateway.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: AUTH },
          body: JSON.stringify({ query: 'subscription($id: ID!) { executionUpdates(id: $id) { isFinal execution { id } } }', variables: { id } }),
        });
        const text = await response.text();
        expect(response.status).toBe(200);
        expect(text).not.toMatch(/INTERNAL_SERVER_ERROR|Unexpected error|\n\s+at /);
        const results = nextEvents(text);
        if (refusedWithoutCall(id)) {
          expect(seen).toEqual([]);
          expect(results.map((result) => result.errors?.map((error) => error.extensions?.code))).toEqual([['BAD_USER_INPUT']]);
          return;
        }
        expect(seen).toEqual([`${PREFIX}${encodeURIComponent(id)}`]);
        expect(results).toEqual([{ data: { executionUpdates: { isFinal: true, execution: { id } } } }]);
      },
      150,
    );
  });

  it('executions(ids): each allowed id once, at its own segment, in the order of ids; each refused one BAD_USER_INPUT at its place', async () => {
    await within(fc.array(idArb, { minLength: 1, maxLength: 6 }), async (ids) => {
      const result = await ask(gateway.url, 'query($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids });
      expect(result.status).toBe(200);
      expect(result.text).not.toMatch(/INTERNAL_SERVER_ERROR|Unexpected error|\n\s+at /);
      const allowed = [...new Set(ids.filter((id) => !refusedWithoutCall(id)))];
      expect([...seen].sort()).toEqual(allowed.map((id) => `${PREFIX}${encodeURIComponent(id)}`).sort());
      const items = (result.body.data as { executions: Array<{ id: string } | null> }).executions;
      expect(items).toEqual(ids.map((id) => (refusedWithoutCall(id) ? null : { id })));
      const refusedAt = ids.flatMap((id, index) => (refusedWithoutCall(id) ? [index] : []));
      expect((result.body.errors ?? []).map((error) => [error.path, error.extensions?.code])).toEqual(refusedAt.map((index) => [['executions', index], 'BAD_USER_INPUT']));
    });
  });
});
