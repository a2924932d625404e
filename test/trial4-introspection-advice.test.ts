/**
 * With INTROSPECTION=false, a frontend whose codegen points at the gateway's URL (README "From a frontend in another
 * repository" offers it) was refused with graphql-js's words alone, "GraphQL introspection has been disabled, but the
 * requested query contained the field "__schema".", and nothing said where the schema was. Each refusal now says, as
 * TRUSTED_DOCUMENTS=only's does: schema/schema.graphql of the release, or a gateway with INTROSPECTION=true.
 */
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, Harness, LANES } from './support/harness.js';

const ADVICE = 'Take the schema from schema/schema.graphql of the release this gateway runs, or introspect a gateway that serves it (INTROSPECTION=true).';

describe.each(LANES)('introspection refused (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { INTROSPECTION: 'false' } });
  });
  afterAll(() => harness.close());

  it('says where the schema is, once per __schema or __type, at its place in the document', async () => {
    harness.upstream.reset();
    const response = await harness.query(getIntrospectionQuery(), undefined, { authorization: null });
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(response.errors![0]!.message).toBe(`GraphQL introspection has been disabled, but the requested query contained the field "__schema". ${ADVICE}`);
    expect(response.errors![0]!.locations).toEqual([{ line: 3, column: 7 }]);
    const typeAsked = await harness.query('{ __type(name: "Execution") { name } }', undefined, { authorization: null });
    expect(typeAsked.errors!.map((error) => error.message)).toEqual([`GraphQL introspection has been disabled, but the requested query contained the field "__type". ${ADVICE}`]);
    expect(harness.upstream.requests).toHaveLength(0);
  });
});
