/**
 * A Content-Type that is a list of media types (`application/json, text/plain`): no media type (RFC 9110 §8.3), and
 * what a proxy that joins repeated fields makes of two Content-Type lines. Two lines are a 400 because node reads the
 * first where a proxy in front may have read the other; joined into one line, the gateway read the first entry, as
 * JSON or as a form, where a filter in front may have judged the body by the last. It is a 415 like any other media
 * type the gateway does not read, on both lanes, before the body is read and with no upstream call. A comma inside a
 * quoted parameter value is no list; one after a quote never closed is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNSUPPORTED_MEDIA_TYPE } from '../src/errors.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const QUERY = '{ execution(id: "ex_demo_2") { id } }';
const JSON_BODY = JSON.stringify({ query: QUERY });
const FORM_BODY = new URLSearchParams({ query: QUERY }).toString();

describe.each(LANES)('a Content-Type listing several media types (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  it.each([
    ['application/json, text/plain', JSON_BODY],
    ['application/json,text/plain', JSON_BODY],
    ['application/json, application/x-www-form-urlencoded', JSON_BODY],
    ['application/x-www-form-urlencoded, application/json', FORM_BODY],
    ['application/graphql, application/json', QUERY],
    ['application/json; charset=utf-8, text/html', JSON_BODY],
    ['application/json,', JSON_BODY],
    // A quote never closed hides no comma from the pipeline, which reads up to the first one.
    ['application/json; profile="a, text/plain', JSON_BODY],
  ])('answers %j with 415 and BAD_REQUEST, upstream never asked', async (contentType, body) => {
    const before = harness.upstream.requests.length;
    const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': contentType, authorization: AUTH }, body });
    expect(response.status).toBe(415);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(await response.json()).toEqual({ errors: [{ message: UNSUPPORTED_MEDIA_TYPE, extensions: { code: 'BAD_REQUEST' } }] });
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('serves a JSON body whose Content-Type has a comma inside a quoted parameter value', async () => {
    const response = await harness.fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json; profile="a,b"', authorization: AUTH }, body: JSON_BODY });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ data: { execution: { id: 'ex_demo_2' } } });
  });
});
