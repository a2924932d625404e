/**
 * A JSON integer past 2^53 sent where a string is taken (a String, a DateTime, an enum, at any depth of an input
 * object or list) is refused naming the number as it was read, and saying so, where it is, as for an ID or an
 * Int: graphql-js told the client that sent 9007199254740993 it 'got invalid value 9007199254740992 at
 * "f.eventTypes[0]"', a value it never sent. On both lanes, with no upstream call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import { AUTH, codes, Harness, LANES } from './support/harness.js';

const QUERY = 'query ($f: ExecutionEventFilter, $o: EventOrder) { execution(id: "ex_demo_1") { events(filter: $f, order: $o) { totalCount } } }';
const READ = 'which JSON readers round (it was read as 9007199254740992)';

describe.each(LANES)('an integer past 2^53 where a string is taken (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const post = (variablesJson: string) => harness.postVariablesText(QUERY, variablesJson, AUTH);

  it.each([
    ['a list item of a String list', '{"f":{"eventTypes":["step",9007199254740993]}}', `Variable "$f" got an integer past 2^53 at "f.eventTypes[1]", ${READ}: String takes no number: send a string.`],
    ['a String list given one value', '{"f":{"levels":9007199254740993}}', `Variable "$f" got an integer past 2^53 at "f.levels", ${READ}: String takes no number: send a string.`],
    ['a DateTime', '{"f":{"createdAfter":9007199254740993}}', `Variable "$f" got an integer past 2^53 at "f.createdAfter", ${READ}: DateTime takes no number: send a string.`],
    ['an enum', '{"o":9007199254740993}', `Variable "$o" got an integer past 2^53, ${READ}: EventOrder takes no number: send a string.`],
  ])('%s: a 400 BAD_REQUEST naming the number as read', async (_name, variables, message) => {
    const before = harness.upstream.requests.length;
    const response = await post(variables);
    const body = (await response.json()) as ExecutionResult;
    expect(response.status).toBe(400);
    expect(codes(body)).toEqual(['BAD_REQUEST']);
    expect(body.errors![0]!.message).toBe(message);
    expect(harness.upstream.requests.length).toBe(before);
  });

  it('leaves a number JSON reads exactly to graphql-js, which names it as sent', async () => {
    const response = await post('{"f":{"eventTypes":[12]}}');
    expect(response.status).toBe(400);
    expect(((await response.json()) as ExecutionResult).errors![0]!.message).toBe(
      'Variable "$f" got invalid value 12 at "f.eventTypes[0]"; String cannot represent a non string value: 12',
    );
  });
});
