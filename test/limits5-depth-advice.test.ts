/**
 * A data query past the depth limits gets one depth refusal, the data fields' (src/pipeline/operation-limits.ts
 * `whenAskingIntrospection`): the introspection depth limit counted it too, and told a query without introspection to
 * "nest fewer `ofType` levels"; with both depths set to one value, the same refusal came twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, LANES, type LaneName } from './support/harness.js';

/** `{ execution { events { edges { node { execution { … id } } } } } }`: depth 2 + 4 × `levels`. */
const deep = (levels: number) => `{ execution(id: "ex_demo_2") { ${'events { edges { node { execution { '.repeat(levels)}id${' } } } }'.repeat(levels)} } }`;
const nestedOfTypes = (ofTypes: number) => `{ __schema { types { fields { type { ${'ofType { '.repeat(ofTypes)}name${' }'.repeat(ofTypes)} } } } } }`;

describe.each(LANES)('depth refusals, %s lane', (lane: LaneName) => {
  let defaults: Harness;
  let equal: Harness;
  beforeAll(async () => {
    defaults = await Harness.start({ lane });
    equal = await Harness.start({ lane, env: { OPERATION_MAX_DEPTH: '9', OPERATION_MAX_INTROSPECTION_DEPTH: '9', INTROSPECTION: 'false' } });
  });
  afterAll(async () => {
    await defaults?.close();
    await equal?.close();
  });

  it('refuses a data query past both depth limits once, with the data fields\' advice', async () => {
    const answer = await defaults.query(deep(7));
    expect(answer.status).toBe(400);
    const depth = (answer.errors ?? []).filter((error) => error.message.startsWith('Query depth limit'));
    expect(depth.map((error) => error.message)).toEqual([
      'Query depth limit of 9 exceeded, found 30. Select less deeply nested fields, or ask for the nested execution in a query of its own.',
    ]);
    expect(JSON.stringify(answer.errors)).not.toContain('ofType');
    expect(defaults.upstream.requests).toHaveLength(0);
  });

  it('refuses a data query once when both depths are set to one value', async () => {
    const answer = await equal.query(deep(2));
    expect(answer.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      ['GRAPHQL_VALIDATION_FAILED', 'Query depth limit of 9 exceeded, found 10. Select less deeply nested fields, or ask for the nested execution in a query of its own.'],
    ]);
    expect(equal.upstream.requests).toHaveLength(0);
  });

  // Refused whatever its depth: "nest fewer `ofType` levels … the standard introspection query passes" was advice that cannot help.
  it('refuses introspection past its depth with INTROSPECTION=false for being introspection alone', async () => {
    const answer = await equal.query(nestedOfTypes(21), undefined, { authorization: null });
    expect(answer.errors?.map((error) => [error.extensions?.code, error.message])).toEqual([
      [
        'GRAPHQL_VALIDATION_FAILED',
        'GraphQL introspection has been disabled, but the requested query contained the field "__schema". Take the schema from schema/schema.graphql of the release this gateway runs, or introspect a gateway that serves it (INTROSPECTION=true).',
      ],
    ]);
  });

  it('still holds introspection to its own depth, a fragment\'s included', async () => {
    const answer = await defaults.query(nestedOfTypes(21), undefined, { authorization: null });
    expect(answer.errors?.map((error) => error.message)).toEqual([
      'Query depth limit of 25 exceeded, found 26. Nest fewer `ofType` levels: the standard introspection query (graphql-js, GraphiQL, codegen) is 15 deep and passes.',
    ]);
    const inFragment = await defaults.query(`{ ...F } fragment F on Query { __type(name: "Query") { fields { type { ${'ofType { '.repeat(22)}name${' }'.repeat(22)} } } } }`, undefined, { authorization: null });
    expect(inFragment.errors?.map((error) => error.message)).toEqual([expect.stringMatching(/^Query depth limit of 25 exceeded, found 26\. Nest fewer `ofType` levels/)]);
  });
});
