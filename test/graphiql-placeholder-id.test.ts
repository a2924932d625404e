/**
 * GraphiQL outside the demo opened with the demo's `{"id": "ex_demo_4"}` in its variables: run as it opened (the token
 * filled in), a real upstream answered NOT_FOUND, which said nothing of where that id came from. It now opens with a
 * placeholder, refused before any upstream call with a message saying to put an id in its place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_QUERY, graphiqlOptions } from '../src/pipeline/graphiql.js';
import { Harness } from './support/harness.js';

describe("GraphiQL's example id outside the demo", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  it('is a placeholder, and the demo keeps its own id', () => {
    expect(JSON.parse(graphiqlOptions({}).defaultTabs![0]!.variables!)).toEqual({ id: '<execution id>' });
    expect(JSON.parse(graphiqlOptions({ exampleId: 'ex_demo_4' }).defaultTabs![0]!.variables!)).toEqual({ id: 'ex_demo_4' });
  });

  it('run as GraphiQL opened, is told to put an id in its place, before any upstream call', async () => {
    harness.upstream.reset();
    const variables = JSON.parse(graphiqlOptions({}).defaultTabs![0]!.variables!) as Record<string, unknown>;
    const response = await harness.query(EXAMPLE_QUERY, variables);
    expect(response.data?.execution ?? null).toBeNull();
    expect(response.errors![0]!.message).toBe('Execution id "<execution id>" is a placeholder: put the id of the execution to read in its place (ids are 1-64 characters of letters, digits, "_" and "-" (allowed pattern ^[A-Za-z0-9_-]{1,64}$)).');
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(harness.upstream.requests).toHaveLength(0);
  });

  it('an id that only holds angle brackets keeps the pattern\'s refusal', async () => {
    for (const id of ['<abc', 'a<b>', '<a><b>']) {
      const response = await harness.query('query One($id: ID!) { execution(id: $id) { id } }', { id });
      expect(response.errors![0]!.message, id).toBe(`Invalid execution id ${JSON.stringify(id)}: ids are 1-64 characters of letters, digits, "_" and "-" (allowed pattern ^[A-Za-z0-9_-]{1,64}$).`);
    }
  });
});
