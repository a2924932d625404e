/**
 * Envelopes written as raw JSON text, as no JSON.stringify writes them: members given twice (the last one JSON.parse
 * keeps is what upstream said), member names spelt with `\u` escapes, numbers past a double's range either way or
 * below its smallest (`1e400`, `-1e400`, `1e-400`), `-0`, integers past 2^53, strings holding escaped lone surrogates
 * and NULs, and any JSON value in any field of the execution and of its events. Whatever the text: an execution (the
 * one asked for) or a coded error, never a 500; each field served as README "When upstream data is odd" says for
 * the value JSON.parse reads; a value it cannot use is null (or UNKNOWN) with an UNREADABLE_VALUE note at its path, and
 * a value upstream left out or sent as null is null without one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../src/client-contract.js';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';
import { EVENT_TEXT, EXECUTION_JSON, EXECUTION_TEXT, EXECUTION_TIMES } from './support/upstream-fields.js';

const ID = 'ex_prop12_text';
const TIME_BUDGET_MS = Number(process.env.PROP12_BUDGET ?? 10_000);
const NUM_RUNS = Number(process.env.PROP12_RUNS ?? 150);
const CODES = new Set<string>(Object.values(ErrorCode));

let body = '';
let calls = 0;
const script = (_request: IncomingMessage, response: ServerResponse) => {
  calls++;
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(body);
};

// ---- raw JSON text ----

type Raw = { object: Array<[string, Raw]> } | { array: Raw[] } | { literal: string };

/** A member name as JSON text, some of its characters written as `\u` escapes (JSON.parse reads the same name). */
const nameText = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }).map((escaped) => `"${[...name].map((char, index) => (escaped[index] ? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}` : char)).join('')}"`);

function write(raw: Raw): string {
  if ('literal' in raw) return raw.literal;
  if ('array' in raw) return `[${raw.array.map(write).join(', ')}]`;
  return `{${raw.object.map(([name, value]) => `${name}:${write(value)}`).join(',')}}`;
}

const LITERALS = [
  'null', 'true', 'false', '0', '-0', '1', '-1.5', '1e400', '-1e400', '1e-400', '1E2', '12345678901234567890', '1772366400', '1772366400000', '"1772366400000"',
  '""', '" "', '"x"', '"\\ud800"', '"a\\u0000b"', '"\\/"', '"\\ud83d\\ude00"', '"WARN"', '"workflow_succeeded"', '" Workflow_Failed "', '"2026-03-01T12:00:00Z"',
  '"2026-03-01 12:00:00+0530"', '"Sun, 01 Mar 2026 12:00:00 GMT"', '"20260301T120000Z"', '"yesterday"', '"2026-02-30T00:00:00Z"', '"10000-01-01T00:00:00Z"',
];
const literalArb: fc.Arbitrary<Raw> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...LITERALS).map((literal) => ({ literal })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map((text) => ({ literal: JSON.stringify(text) })) },
);
const { value: valueArb } = fc.letrec<{ value: Raw }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: literalArb },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 3 }).map((array) => ({ array })) },
    { weight: 1, arbitrary: fc.array(fc.tuple(fc.constantFrom('"a"', '"b"', '"__proto__"', '"constructor"', '"toJSON"'), tie('value')), { maxLength: 3 }).map((object) => ({ object })) },
  ),
}));

/** Members of an object: each field given once or twice (an earlier value the later one replaces), in any order, names escaped. */
function membersArb(fields: readonly string[], extra: Array<[string, fc.Arbitrary<Raw>]> = []): fc.Arbitrary<Array<[string, Raw]>> {
  const one = (name: string, value: fc.Arbitrary<Raw>) =>
    fc.tuple(nameText(name), fc.option(valueArb, { nil: undefined }), value, fc.boolean()).map(([written, earlier, last]) => {
      const members: Array<[string, Raw]> = earlier === undefined ? [] : [[written, earlier]];
      members.push([written, last]);
      return members;
    });
  return fc
    .tuple(
      fc.subarray([...fields]).chain((chosen) => fc.tuple(...chosen.map((name) => one(name, valueArb)))),
      fc.tuple(...extra.map(([name, value]) => one(name, value))),
    )
    .chain(([fieldMembers, extraMembers]) => fc.shuffledSubarray([...fieldMembers, ...extraMembers], { minLength: fieldMembers.length + extraMembers.length }))
    .map((groups) => groups.flat());
}

const EXECUTION_FIELDS = ['status', ...EXECUTION_TEXT, ...EXECUTION_JSON, ...EXECUTION_TIMES];
const EVENT_FIELDS = ['id', 'executionId', 'createdAt', 'data', ...EVENT_TEXT];

const idArb: fc.Arbitrary<Raw> = fc.oneof({ weight: 8, arbitrary: fc.constant({ literal: JSON.stringify(ID) }) }, { weight: 1, arbitrary: literalArb });
const executionArb: fc.Arbitrary<Raw> = membersArb(EXECUTION_FIELDS, [['id', idArb]]).map((object) => ({ object }));
const eventArb: fc.Arbitrary<Raw> = fc.oneof({ weight: 6, arbitrary: membersArb(EVENT_FIELDS).map((object) => ({ object })) }, { weight: 1, arbitrary: literalArb });
const eventsArb: fc.Arbitrary<Raw> = fc.oneof({ weight: 8, arbitrary: fc.array(eventArb, { maxLength: 4 }).map((array) => ({ array })) }, { weight: 1, arbitrary: literalArb });
const dataArb: fc.Arbitrary<Raw> = membersArb([], [['execution', executionArb], ['events', eventsArb]]).map((object) => ({ object }));
const envelopeArb: fc.Arbitrary<Raw> = membersArb([], [
  ['code', fc.constantFrom('200', '"200"', '0', 'null', '201').map((literal) => ({ literal }))],
  ['data', dataArb],
  ['message', fc.constant({ literal: '"success"' })],
  ['requestId', literalArb],
]).map((object) => ({ object }));

// ---- what must be served ----

type Json = unknown;
const isObject = (value: Json): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);
/** Readable as text: strings as sent, finite numbers and booleans as their text; `undefined` when it cannot be text. */
function textOf(value: Json): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? '-0' : String(value)) : undefined;
  if (typeof value === 'boolean') return String(value);
  return undefined;
}
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Warning {
  path: Array<string | number>;
  code: string;
}

const EVENT_SELECTION = `cursor node { ${EVENT_FIELDS.filter((field) => field !== 'data').join(' ')} data }`;
const QUERY = `query($id: ID!) { execution(id: $id) { id status rawStatus ${[...EXECUTION_TEXT, ...EXECUTION_JSON, ...EXECUTION_TIMES].join(' ')}
  events(first: 100) { totalCount edges { ${EVENT_SELECTION} } } } }`;

async function ask(url: string) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: AUTH }, body: JSON.stringify({ query: QUERY, variables: { id: ID } }) });
  const text = await response.text();
  return { status: response.status, text, body: JSON.parse(text) as { data?: { execution: Record<string, Json> | null } | null; errors?: Array<{ message: string; extensions?: { code?: string } }>; extensions?: { warnings?: Warning[] } } };
}

/** The value a text field serves, given what JSON.parse read, and whether a note must say it was nulled. */
function expectText(served: Json, sent: Json, path: Array<string | number>, warnings: Warning[]) {
  const text = textOf(sent);
  const noted = warnings.some((warning) => JSON.stringify(warning.path) === JSON.stringify(path));
  expect({ path, served, noted }).toEqual({ path, served: text ?? null, noted: text === undefined });
}

function expectJson(served: Json, sent: Json, path: Array<string | number>, warnings: Warning[]) {
  const noted = warnings.some((warning) => JSON.stringify(warning.path) === JSON.stringify(path));
  const unreadable = typeof sent === 'number' && !Number.isFinite(sent);
  const expected = sent === undefined || unreadable ? null : JSON.parse(JSON.stringify(sent));
  expect({ path, served, noted }).toEqual({ path, served: expected, noted: unreadable });
}

function expectTime(served: Json, sent: Json, path: Array<string | number>, warnings: Warning[]) {
  const noted = warnings.some((warning) => JSON.stringify(warning.path) === JSON.stringify(path));
  if (served !== null) {
    expect(served, JSON.stringify(path)).toMatch(CANONICAL);
    expect(noted, JSON.stringify(path)).toBe(false);
  } else expect({ path, noted }).toEqual({ path, noted: sent !== undefined && sent !== null });
}

describe('envelopes written as raw JSON text', () => {
  let gateway: BehindScripted;
  beforeAll(async () => {
    gateway = await gatewayBehindScripted(script);
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('serve the execution JSON.parse reads, each unusable value null with its note, or a coded error; never a 500', async () => {
    // Past the budget a run passes unrun: fast-check's interruptAfterTimeLimit would abandon the run in flight.
    const deadline = performance.now() + TIME_BUDGET_MS;
    let runs = 0;
    await fc.assert(
      fc
        .asyncProperty(envelopeArb, async (raw) => {
          if (performance.now() > deadline) return;
          runs++;
          body = write(raw);
          calls = 0;
          const parsed = JSON.parse(body) as Json;
          const answer = await ask(gateway.url);
          expect(answer.status).toBe(200);
          expect(answer.text).not.toMatch(/INTERNAL_SERVER_ERROR|Unexpected error|\n\s+at /);
          expect(calls).toBe(1);
          const data = isObject(parsed) && isObject(parsed.data) ? parsed.data : undefined;
          const source = data && isObject(data.execution) ? data.execution : undefined;
          const id = source ? source.id : undefined;
          const servable = source !== undefined && (id === ID);
          if (!servable) {
            expect(answer.body.data?.execution ?? null).toBeNull();
            expect(answer.body.errors?.map((error) => error.extensions?.code)).toEqual(['UPSTREAM_BAD_RESPONSE']);
            for (const error of answer.body.errors ?? []) expect(CODES.has(String(error.extensions?.code))).toBe(true);
            return;
          }
          expect(answer.body.errors, JSON.stringify(answer.body.errors)).toBeUndefined();
          const execution = answer.body.data!.execution!;
          const warnings = answer.body.extensions?.warnings ?? [];
          for (const warning of warnings) expect(['UNREADABLE_VALUE', 'REPLACED_VALUE']).toContain(warning.code);
          expect(execution.id).toBe(ID);
          for (const field of EXECUTION_TEXT) expectText(execution[field], source[field], ['execution', field], warnings);
          for (const field of EXECUTION_JSON) expectJson(execution[field], source[field], ['execution', field], warnings);
          for (const field of EXECUTION_TIMES) expectTime(execution[field], source[field], ['execution', field], warnings);
          const rawStatus = textOf(source.status);
          expect(execution.rawStatus).toBe(rawStatus ?? null);
          if (rawStatus === undefined) {
            expect(execution.status).toBe('UNKNOWN');
            expect(warnings.some((warning) => warning.path.join('/') === 'execution/status')).toBe(true);
          }
          const events = Array.isArray(data!.events) ? (data!.events as Json[]) : [];
          const edges = (execution.events as { totalCount: number; edges: Array<{ cursor: string; node: Record<string, Json> }> }).edges;
          expect(edges).toHaveLength(events.length);
          expect(new Set(edges.map((edge) => edge.cursor)).size).toBe(edges.length);
          const listNoted = warnings.some((warning) => warning.path.join('/') === 'execution/events');
          expect(listNoted).toBe(!Array.isArray(data!.events));
          // Ordered by createdAt: an event's place in the page need not be its place in the list; found by its id.
          const byPosition = new Map<number, Record<string, Json>>();
          edges.forEach((edge, index) => {
            const node = edge.node;
            const derived = /^#(\d+)$/.exec(String(node.id));
            const position = derived && !isObject(events[Number(derived[1])]) ? Number(derived[1]) : undefined;
            if (position !== undefined) byPosition.set(position, node);
            else {
              // Ids may repeat: any event with that id whose fields match will do, so only text fields of unique ids are checked.
              const matches = events.flatMap((event, at) => (isObject(event) && (textOf(event.id) ?? `#${at}`) === node.id ? [at] : []));
              if (matches.length === 1) byPosition.set(matches[0]!, node);
            }
            expect(node.executionId).toBe(ID);
            void index;
          });
          for (const [position, node] of byPosition) {
            const event = events[position];
            const index = edges.findIndex((edge) => edge.node === node);
            const path = ['execution', 'events', 'edges', index, 'node'];
            if (!isObject(event)) {
              expect(warnings.some((warning) => warning.path.join('/') === path.join('/'))).toBe(true);
              continue;
            }
            for (const field of EVENT_TEXT) expectText(node[field], event[field], [...path, field], warnings);
            expectJson(node.data, event.data, [...path, 'data'], warnings);
            expectTime(node.createdAt, event.createdAt, [...path, 'createdAt'], warnings);
          }
        }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBeGreaterThanOrEqual(20);
  });
});
