/**
 * A negative integer past -2^53 (`-9007199254740993`) sent for an ID, an Int or a string is refused naming the bound
 * on its own side: it was told it "got an integer past 2^53", the other side's, while the number it was read as
 * (-9007199254740992) was negative. On both lanes, with no upstream call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, codes, Harness, LANES } from './support/harness.js';

const FIRST = 'query ($first: Int) { execution(id: "ex_demo_1") { events(first: $first) { totalCount } } }';
const BY_ID = 'query ($id: ID!) { execution(id: $id) { id } }';
const FILTERED = 'query ($f: ExecutionEventFilter) { execution(id: "ex_demo_1") { events(filter: $f) { totalCount } } }';
const READ = 'which JSON readers round (it was read as -9007199254740992)';

describe.each(LANES)('a negative integer past -2^53 (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    ['an Int', FIRST, '{"first":-9007199254740993}', `Variable "$first" got an integer past -2^53, ${READ}: an Int holds whole numbers from -2147483648 to 2147483647 only.`],
    ['an ID', BY_ID, '{"id":-9007199254740993}', `Variable "$id" got an integer past -2^53, ${READ}: an ID cannot hold it exactly; send the id as a string.`],
    ['a String in a list', FILTERED, '{"f":{"nodeIds":[-9007199254740993]}}', `Variable "$f" got an integer past -2^53 at "f.nodeIds[0]", ${READ}: String takes no number: send a string.`],
  ])('%s: a 400 BAD_REQUEST naming the bound on its side', async (_name, query, variables, message) => {
    const before = harness.upstream.requests.length;
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: `{"query":${JSON.stringify(query)},"variables":${variables}}`,
    });
    const body = (await response.json()) as ExecutionResult;
    expect(response.status).toBe(400);
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    expect(body.errors![0]!.message).toBe(message);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('keeps 2^53 for a positive one', async () => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: `{"query":${JSON.stringify(FIRST)},"variables":{"first":9007199254740993}}`,
    });
    expect(((await response.json()) as ExecutionResult).errors![0]!.message).toMatch(/^Variable "\$first" got an integer past 2\^53, /);
  });
});
