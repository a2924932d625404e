/**
 * An optional variable sent under a near name (`{"After": cursor}` for `$after`, `{"fist": 5}` for `$first`) was
 * read as not given, as graphql-js reads any undeclared name: a frontend's "next page" got the first page again, with
 * no error, and an infinite list loaded page one for ever. Now it is refused as a misnamed required variable is
 * (newcomer5-misnamed-variables): BAD_REQUEST, 400, naming both names, before any upstream call, on both lanes and
 * by GET. Names that are not plainly the declared one are still JSON's to send and graphql-js's to ignore.
 */
import { createHash } from 'node:crypto';
import { parse, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { misnamedVariableError } from '../src/pipeline/misnamed-variables.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const PAGE = 'query($id: ID!, $first: Int = 2, $after: String){execution(id:$id){events(first:$first, after:$after){edges{cursor} pageInfo{endCursor}}}}';

describe.each(LANES)('an optional variable under a near name, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = async (query: string, variables: unknown) => {
    const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: (await response.json()) as ExecutionResult };
  };

  it('refuses a cursor sent as `After`, by POST and GET, with no upstream call', async () => {
    const before = harness.upstream.requestsFor('ex_demo_1').length;
    const message = 'Variable "$after" of type "String" was not provided: variables has `After`, which the operation does not declare; did you mean `$after`? Send it as `"after"` in variables.';
    const posted = await post(PAGE, { id: 'ex_demo_1', After: 'a-cursor' });
    expect(posted.status).toBe(400);
    expect(posted.body.errors).toMatchObject([{ message, extensions: { code: 'BAD_REQUEST' } }]);
    expect(posted.body.data).toBeUndefined();
    const got = await harness.fetch(`/graphql?${new URLSearchParams({ query: PAGE, variables: JSON.stringify({ id: 'ex_demo_1', After: 'a-cursor' }) })}`, { headers: { authorization: AUTH, accept: 'application/graphql-response+json' } });
    expect(got.status).toBe(400);
    expect(((await got.json()) as ExecutionResult).errors![0]!.message).toBe(message);
    expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(before);
  });

  it('refuses a page size a few letters off, a variable with a default included', async () => {
    const { status, body } = await post(PAGE, { id: 'ex_demo_1', fist: 5 });
    expect(status).toBe(400);
    expect(body.errors![0]!.message).toBe('Variable "$first" of type "Int" was not provided: variables has `fist`, which the operation does not declare; did you mean `$first`? Send it as `"first"` in variables.');
  });

  it('serves what is not plainly a misnaming: unrelated names, a short name a letter off, a variable given beside its near name, null included', async () => {
    for (const variables of [
      { id: 'ex_demo_1', page: 2, theme: 'dark' },
      { id: 'ex_demo_1', after: null, After: 'x' },
      { id: 'ex_demo_1', first: 1, fist: 5 },
    ]) {
      const { status, body } = await post(PAGE, variables);
      expect({ variables, status, errors: body.errors }).toEqual({ variables, status: 200, errors: undefined });
    }
    // `curs` beside an optional `$cur` may be another operation's, sent from one shared object: served.
    const { status, body } = await post('query($id: ID!, $cur: String){execution(id:$id){events(after:$cur, first:1){totalCount}}}', { id: 'ex_demo_1', curs: 'x' });
    expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
  });
});

describe('the cost of telling near names, with every optional variable compared', () => {
  // 150 optional variables missing against 100 undeclared names of about their length would be 61 million letter
  // pairs at 64 letters, on the event loop, for a request needing no token; one request's comparisons stop at a
  // budget (250,000 pairs), after which only another case of a name is told.
  // 64 letters each, any two far apart (distinct sha256 digests, a letter in front: a name starts with one).
  const name = (prefix: string, index: number) => `${prefix}${createHash('sha256').update(`${prefix}${index}`).digest('hex').slice(1)}`;
  const declared = Array.from({ length: 150 }, (_, index) => name('v', index));
  const document = parse(`query(${declared.map((each) => `$${each}: String`).join(', ')}) { __typename }`);
  const strays = Object.fromEntries(Array.from({ length: 99 }, (_, index) => [name('w', index), 'x']));

  it('stops comparing letter by letter once the budget is spent: a near name sent after 99 others goes untold', () => {
    const nearFirst = `${declared[0]!.slice(0, 63)}_`;
    expect(misnamedVariableError(document, undefined, { ...strays, [nearFirst]: 'x' })).toBeUndefined();
    // Alone, the same near name is told: the budget, not the name, kept it quiet above.
    expect(misnamedVariableError(document, undefined, { [nearFirst]: 'x' })?.errors?.[0]?.message).toContain(`did you mean \`$${declared[0]}\`?`);
  });

  it('still tells a name sent in another case past the budget', () => {
    const upper = declared[149]!.toUpperCase();
    expect(misnamedVariableError(document, undefined, { ...strays, [upper]: 'x' })?.errors?.[0]?.message).toContain(`did you mean \`$${declared[149]}\`?`);
  });
});
