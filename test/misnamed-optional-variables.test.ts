/**
 * An optional variable sent under another spelling (`{"EventsAfter": cursor}` or `{"events_after": cursor}` for
 * `$eventsAfter`) was read as not given, as graphql-js reads any undeclared name: a frontend's "next page" got the
 * first page again, with no error, and an infinite list loaded page one for ever. Now it is refused as a misnamed
 * required variable is (newcomer5-misnamed-variables): BAD_REQUEST, 400, naming both names, before any upstream call,
 * on both lanes and by GET. Names a letter off are still graphql-js's to ignore: they may be another operation's,
 * sent from one shared variables object.
 */
import { createHash } from 'node:crypto';
import { parse, type ExecutionResult } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { misnamedVariableError } from '../src/pipeline/misnamed-variables.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const PAGE = 'query($id: ID!, $first: Int = 2, $eventsAfter: String){execution(id:$id){events(first:$first, after:$eventsAfter){edges{cursor} pageInfo{endCursor}}}}';

describe.each(LANES)('an optional variable under another spelling, %s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = async (query: string, variables: unknown) => {
    const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: AUTH }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: (await response.json()) as ExecutionResult };
  };

  it('refuses a cursor sent as `EventsAfter`, by POST and GET, with no upstream call', async () => {
    const before = harness.upstream.requestsFor('ex_demo_1').length;
    const message = 'Variable "$eventsAfter" of type "String" was not provided: variables has `EventsAfter`, which the operation does not declare; did you mean `$eventsAfter`? Send it as `"eventsAfter"` in variables.';
    const posted = await post(PAGE, { id: 'ex_demo_1', EventsAfter: 'a-cursor' });
    expect(posted.status).toBe(400);
    expect(posted.body.errors).toMatchObject([{ message, extensions: { code: 'BAD_REQUEST' } }]);
    expect(posted.body.data).toBeUndefined();
    const got = await harness.fetch(`/graphql?${new URLSearchParams({ query: PAGE, variables: JSON.stringify({ id: 'ex_demo_1', EventsAfter: 'a-cursor' }) })}`, { headers: { authorization: AUTH, accept: 'application/graphql-response+json' } });
    expect(got.status).toBe(400);
    expect(((await got.json()) as ExecutionResult).errors![0]!.message).toBe(message);
    expect(harness.upstream.requestsFor('ex_demo_1')).toHaveLength(before);
  });

  it('refuses one in snake case, and a variable with a default', async () => {
    const snake = await post(PAGE, { id: 'ex_demo_1', events_after: 'a-cursor' });
    expect(snake.status).toBe(400);
    expect(snake.body.errors![0]!.message).toContain('variables has `events_after`, which the operation does not declare; did you mean `$eventsAfter`?');
    const { status, body } = await post(PAGE, { id: 'ex_demo_1', First: 5 });
    expect(status).toBe(400);
    expect(body.errors![0]!.message).toBe('Variable "$first" of type "Int" was not provided: variables has `First`, which the operation does not declare; did you mean `$first`? Send it as `"first"` in variables.');
  });

  it('serves what may be another operation\'s: unrelated names, names a letter off, a variable given beside its other spelling, null included', async () => {
    for (const variables of [
      { id: 'ex_demo_1', page: 2, theme: 'dark' },
      { id: 'ex_demo_1', eventsAfter: null, EventsAfter: 'x' },
      { id: 'ex_demo_1', fist: 5 },
      { id: 'ex_demo_1', eventAfter: 'x' },
    ]) {
      const { status, body } = await post(PAGE, variables);
      expect({ variables, status, errors: body.errors }).toEqual({ variables, status: 200, errors: undefined });
    }
    // The typed client's ExecutionEvents beside a variables object shared with other operations (the review's case).
    const { status, body } = await post('query($id: ID!, $last: Int, $order: EventOrder){execution(id:$id){events(last:$last, order:$order){totalCount}}}', { id: 'ex_demo_1', list: ['a'], orders: 1 });
    expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
  });
});

describe('the cost of telling near names', () => {
  // A required variable missing is compared letter by letter with every undeclared name: 100 names of about its
  // length at 64 letters are 400,000 letter pairs, on the event loop, for a request needing no token; one request's
  // comparisons stop at a budget (250,000 pairs), after which only another spelling of a name is told.
  // 64 letters each, any two far apart (distinct sha256 digests, a letter in front: a name starts with one).
  const name = (prefix: string, index: number) => `${prefix}${createHash('sha256').update(`${prefix}${index}`).digest('hex').slice(1)}`;
  const declared = Array.from({ length: 150 }, (_, index) => name('v', index));
  const document = parse(`query(${declared.map((each) => `$${each}: String!`).join(', ')}) { __typename }`);
  const strays = Object.fromEntries(Array.from({ length: 99 }, (_, index) => [name('w', index), 'x']));

  it('stops comparing letter by letter once the budget is spent: a near name sent after 99 others goes untold', () => {
    const nearFirst = `${declared[0]!.slice(0, 63)}0`;
    expect(misnamedVariableError(document, undefined, { ...strays, [nearFirst]: 'x' })?.errors?.[0]?.message).not.toContain('did you mean');
    // Alone, the same near name is told: the budget, not the name, kept it quiet above.
    expect(misnamedVariableError(document, undefined, { [nearFirst]: 'x' })?.errors?.[0]?.message).toContain(`did you mean \`$${declared[0]}\`?`);
  });

  it('still tells a name sent in another case past the budget', () => {
    const upper = declared[0]!.toUpperCase();
    expect(misnamedVariableError(document, undefined, { ...strays, [upper]: 'x' })?.errors?.[0]?.message).toContain(`did you mean \`$${declared[0]}\`?`);
  });
});
