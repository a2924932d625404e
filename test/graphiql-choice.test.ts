/**
 * Which requests get GraphiQL's page (src/pipeline/graphiql.ts `prefersGraphiQL`): a GET whose Accept prefers
 * `text/html` to every type a result is served as, each type read without regard to case and as a whole type
 * (`application/json-seq` is not `application/json`); and with GraphiQL off, which requests get its 404 (its route,
 * with or without the trailing slash, by a GET that prefers the page) and which are served as ever. The cases
 * test/request-guards.test.ts has (q-values, a wildcard) are not repeated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHIQL_OFF_MESSAGES } from '../src/pipeline/graphiql.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const TYPENAME = `/graphql?query=${encodeURIComponent('{ __typename }')}`;

describe.each(LANES)("GraphiQL's page or the result (%s lane)", (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    ['application/graphql-response+json, text/html', 'application/graphql-response+json'],
    ['multipart/mixed, text/html', 'multipart/mixed'],
    ['APPLICATION/JSON, text/html', 'application/json'],
    ['TEXT/HTML, application/json, text/html;q=0.1', 'text/html'],
    ['application/json-seq, text/html', 'text/html'],
    ['text/html-fragment, application/json, text/html;q=0.1', 'application/json'],
    ['application/xhtml+xml, text/html', 'text/html'],
  ])('answers a GET with Accept: %s as %s', async (accept, mediaType) => {
    const response = await harness.fetch(TYPENAME, { headers: { accept, authorization: AUTH } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')?.split(';')[0]).toBe(mediaType);
    const text = await response.text();
    if (mediaType === 'text/html') expect(text.trimStart()).toMatch(/^<!doctype html>/i);
    else expect(text).toContain('"__typename":"Query"');
  });
});

describe.each(LANES)('GraphiQL off (%s lane)', (lane) => {
  let harness: Harness;
  const browser = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  beforeAll(async () => {
    harness = await Harness.start({ lane, env: { INTROSPECTION: 'false' } });
  });
  afterAll(() => harness.close());

  it('answers its route with a trailing slash as without: 404 saying why', async () => {
    const response = await harness.fetch('/graphql/', { headers: browser });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ errors: [{ message: GRAPHIQL_OFF_MESSAGES.noIntrospection, extensions: { code: 'BAD_REQUEST' } }] });
  });

  it("leaves other paths to their own answers: a browser's /health is the health check", async () => {
    const response = await harness.fetch('/health', { headers: browser });
    expect(response.status).toBe(200);
  });

  it('serves a POST whose Accept prefers text/html as any POST: a POST never gets the page, nor its 404', async () => {
    const response = await harness.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/html, application/json', authorization: AUTH },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { __typename: 'Query' } });
  });
});
