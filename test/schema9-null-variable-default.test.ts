/**
 * A variable with a default, sent as null, where a non-null argument takes it: validation lets it through (the
 * default makes the use allowed) and graphql-js refuses the null as the field runs. Generated types let a client
 * send it (`withEvents?: boolean | null` for `$withEvents: Boolean = true`), and the message said only
 * 'Argument "if" of non-null type "Boolean!" must not be null.' (or, inside a list or input object written around it,
 * 'Argument "ids" has invalid value [$a, "ex_demo_2"].'): it now names the variable, the cause and the fix.
 */
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AUTH, codes, Harness, LANES } from './support/harness.js';
import { resultsOverWebSocket } from './support/transports.js';

describe.each(LANES)('%s lane', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    {
      what: "a directive's `if`",
      query: 'query Page($id: ID!, $withEvents: Boolean = true) { execution(id: $id) { id events(first: 2) @include(if: $withEvents) { totalCount } } }',
      variables: { id: 'ex_demo_7', withEvents: null },
      path: ['execution'],
      message:
        'Argument "if" of non-null type "Boolean!" must not be null: variable `$withEvents` was sent as null, and a null sent replaces the variable\'s default. Send a value of type `Boolean`, or leave `withEvents` out of `variables` to use its default.',
    },
    {
      what: "a field's argument",
      query: 'query Status($id: ID = "ex_demo_7") { execution(id: $id) { id } }',
      variables: { id: null },
      path: ['execution'],
      message:
        'Argument "id" of non-null type "ID!" must not be null: variable `$id` was sent as null, and a null sent replaces the variable\'s default. Send a value of type `ID`, or leave `id` out of `variables` to use its default.',
    },
    {
      what: 'a list argument',
      query: 'query Many($ids: [ID!] = ["ex_demo_7"]) { executions(ids: $ids) { id } }',
      variables: { ids: null },
      path: ['executions'],
      message:
        'Argument "ids" of non-null type "[ID!]!" must not be null: variable `$ids` was sent as null, and a null sent replaces the variable\'s default. Send a value of type `[ID!]`, or leave `ids` out of `variables` to use its default.',
    },
    {
      what: 'an item of a list written around it',
      query: 'query Many($a: ID = "ex_demo_1") { executions(ids: [$a, "ex_demo_2"]) { id } }',
      variables: { a: null },
      path: ['executions'],
      message:
        'Argument "ids" has invalid value [$a, "ex_demo_2"]: its variable `$a` was sent as null where no null is taken, and a null sent replaces the variable\'s default. Send a value, or leave it out of `variables` to use its default.',
    },
    {
      what: 'a field of an input object written around it',
      query: 'query Page($level: String = "warn", $type: String = "log") { execution(id: "ex_demo_7") { id events(filter: { levels: [$level], eventTypes: [$type] }) { totalCount } } }',
      variables: { type: null },
      path: ['execution'],
      message:
        'Argument "filter" has invalid value {levels: [$level], eventTypes: [$type]}: one of its variables (`$level`, `$type`) was sent as null where no null is taken, and a null sent replaces the variable\'s default. Send a value, or leave it out of `variables` to use its default.',
    },
  ])('names the variable sent as null, for $what', async ({ query, variables, path, message }) => {
    const response = await harness.query(query, variables);
    expect(response.status).toBe(200);
    expect(codes(response)).toEqual(['BAD_REQUEST']);
    expect(response.errors![0]!.message).toBe(message);
    expect(response.errors![0]!.path).toEqual(path);
    // Left out, the default applies and the same document is served.
    const { [Object.keys(variables).at(-1)!]: _sent, ...rest } = variables as Record<string, unknown>;
    const served = await harness.query(query, rest);
    expect(served.errors).toBeUndefined();
  });

  it('says the same over a WebSocket', async () => {
    const client = createClient({ url: harness.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: AUTH }, retryAttempts: 0 });
    try {
      const results = await resultsOverWebSocket(client, {
        query: 'query Page($withEvents: Boolean = true) { execution(id: "ex_demo_7") { id events(first: 1) @include(if: $withEvents) { totalCount } } }',
        variables: { withEvents: null },
      });
      expect(results.map((result) => result.errors?.map((error) => [error.extensions?.code, error.message]))).toEqual([
        [['BAD_REQUEST', 'Argument "if" of non-null type "Boolean!" must not be null: variable `$withEvents` was sent as null, and a null sent replaces the variable\'s default. Send a value of type `Boolean`, or leave `withEvents` out of `variables` to use its default.']],
      ]);
    } finally {
      await client.dispose();
    }
  });

  it('keeps the advice when the written value is long', async () => {
    const written = Array.from({ length: 60 }, (_, i) => `"ex_demo_${i}"`).join(', ');
    const response = await harness.query(`query Many($a: ID = "ex_demo_1") { executions(ids: [${written}, $a]) { id } }`, { a: null });
    expect(codes(response)).toEqual(['BAD_REQUEST']);
    const { message } = response.errors![0]!;
    expect(message.length).toBeLessThanOrEqual(500);
    expect(message).toMatch(/^Argument "ids" has invalid value \["ex_demo_0", .*…: its variable `\$a` was sent as null where no null is taken, .* leave it out of `variables` to use its default\.$/);
  });
});
