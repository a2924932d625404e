/**
 * The tolerant reader end to end: "random changes to a valid envelope (fields
 * removed, set to null, or given another JSON type; events duplicated,
 * reordered, without ids or timestamps): the gateway never throws, never
 * crashes and never answers UPSTREAM_BAD_RESPONSE while execution.id is the
 * requested id; id and status always come through."
 *
 * Each generated body is served by the fake upstream (a `body` fault) and read
 * through the gateway over HTTP, with a query selecting every Execution field
 * and a page of events with every ExecutionEvent field. The answer is checked
 * against the body itself: every field is the value sent (as text, JSON or an
 * instant), or null because nothing was sent, or null with an UNREADABLE_VALUE
 * warning at its path; event ids and executionIds replaced by the gateway carry
 * a REPLACED_VALUE warning; and no warning is there without its reason.
 *
 * The few bodies the gateway cannot serve (src/upstream/envelope.ts) are still
 * refused with UPSTREAM_BAD_RESPONSE: unit cases below, and a few changes that
 * reach the envelope's spine (data, data.execution, its id).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { KNOWN_EXECUTION_STATUSES } from '../src/domain/execution-status.js';
import { decodeEventCursor } from '../src/domain/event-cursor.js';
import { readEnvelopeHead, readExecution, upstreamRequestIdOf } from '../src/upstream/envelope.js';
import { Harness, LANES, codes, type GraphQLResponse } from './support/harness.js';
import { EVENT_TEXT, EXECUTION_JSON, EXECUTION_TEXT, EXECUTION_TIMES } from './support/upstream-fields.js';

const NUM_RUNS = 150;
/**
 * How long the property through the gateway may run, each lane: it stops there, passing on what it ran, however
 * many of NUM_RUNS that was. A machine running other test files beside it serves each body many times
 * slower than an idle one, and the runs, not the test's timeout, are what give way.
 */
const TIME_BUDGET_MS = 12_000;
/** Fewer runs than this within TIME_BUDGET_MS proves too little: the test fails rather than pass on a handful. */
const MIN_RUNS = 20;
const ID = 'ex_env_prop';
const STATUSES: readonly string[] = [...KNOWN_EXECUTION_STATUSES, 'UNKNOWN'];
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const QUERY = `
  query Everything($id: ID!) {
    execution(id: $id) {
      id status rawStatus isTerminal
      ${EXECUTION_TEXT.join(' ')}
      ${EXECUTION_JSON.join(' ')}
      ${EXECUTION_TIMES.join(' ')}
      events(first: 100) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges {
          cursor
          node { id executionId createdAt data ${EVENT_TEXT.join(' ')} execution { id } }
        }
      }
    }
  }
`;

type Json = unknown;
type Path = Array<string | number>;
type Doc = Record<string, Json>;

// ---------------------------------------------------------------- the body and its changes

/** A valid envelope, as upstream sends it: every field filled in, four events. */
function validEnvelope(): Doc {
  const { execution, events } = makeExecution({ id: ID, status: 'workflow_failed', eventCount: 4 });
  return JSON.parse(JSON.stringify({ code: 200, message: 'ok', requestId: 'req_1', data: { execution, events, message: 'ok' } })) as Doc;
}

const isObject = (value: unknown): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

function jsonType(value: Json): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Every path to a value under `prefix` (the prefix itself included). */
function pathsUnder(value: Json, prefix: Path): Path[] {
  if (value === null || typeof value !== 'object') return [prefix];
  const children = Array.isArray(value)
    ? value.map((child, i) => pathsUnder(child, [...prefix, i]))
    : Object.entries(value).map(([key, child]) => pathsUnder(child, [...prefix, key]));
  return [prefix, ...children.flat()];
}

function at(doc: Json, path: Path): Json {
  let value = doc;
  for (const key of path) value = isObject(value) || Array.isArray(value) ? (value as Record<string | number, Json>)[key] : undefined;
  return value;
}

const REMOVE = Symbol('remove');

/** Sets (or removes) the value at a path that exists in `doc`, in place. */
function put(doc: Doc, path: Path, value: Json | typeof REMOVE): void {
  const parent = at(doc, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path[path.length - 1]!;
  if (value !== REMOVE) parent[key] = value;
  else if (Array.isArray(parent)) parent.splice(key as number, 1);
  else delete parent[key];
}

const SPINE = new Set([JSON.stringify(['data']), JSON.stringify(['data', 'execution']), JSON.stringify(['data', 'execution', 'id'])]);

/** Where a change may land: inside the execution, inside the events, anywhere but the spine, or anywhere at all. */
function candidates(doc: Doc, scope: Scope): Path[] {
  switch (scope) {
    case 'execution':
      return pathsUnder(at(doc, ['data', 'execution']), ['data', 'execution']).filter((path) => !SPINE.has(JSON.stringify(path)));
    case 'events':
      return isObject(doc.data) && 'events' in doc.data ? pathsUnder(doc.data.events, ['data', 'events']) : [];
    case 'envelope':
      return pathsUnder(doc, []).filter((path) => path.length > 0 && !SPINE.has(JSON.stringify(path)));
    case 'spine':
      return pathsUnder(doc, []).filter((path) => path.length > 0);
  }
}

/** A value of every JSON type; a change picks one of another type than the value it replaces. */
const OTHER_TYPES: readonly Json[] = ['text', '', 'ex_other', 42, 0, -1, 1.5, true, false, {}, { nested: [1, 'two', null] }, [], [1, 'x', null]];

/**
 * Values that sit near the edges of what the fields read: timestamps in other
 * spellings and impossible ones, epoch seconds and milliseconds in and out of range, status
 * spellings, odd text and numbers. Never put in `code` (an error code there is
 * an upstream error, tested in upstream-errors.test.ts).
 */
const ODD_VALUES: readonly Json[] = [
  '2026-03-01T12:00:00+02:00',
  '2026-03-01T12:00:00+0530',
  '2026-03-01t12:00:00z',
  '2026-03-01 12:00:00Z',
  '2026-03-01T12:00:00.123456789Z',
  '2026-03-01T12:00:00Z',
  '2026-03-01',
  '2024-02-29T00:00:00.000Z',
  '2026-02-30T12:00:00Z',
  '2026-03-01T24:00:00Z',
  '2026-03-01T12:00:00',
  '2016-12-31T23:59:60Z',
  '2026-03-01T12:00:60.000Z',
  '2026-02-29T12:00:00.000Z',
  '2026-13-01T00:00:00.000Z',
  '2026-03-01T12:00:00.000Z ',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:30:00+01:00',
  '0000-01-01T00:30:00+01:00',
  '9999-12-31T23:59:59.999-01:00',
  1772366400000,
  1772366400,
  1772366400.25,
  '1772366400',
  -62135596800000,
  -62135596800001,
  -62167219200000,
  -62167219200001,
  253402300800000,
  8.64e15,
  8.64e15 + 1,
  1e21,
  'WORKFLOW_RUNNING',
  'Workflow_Failed',
  'workflow_exploded',
  ' workflow_running',
  '',
  ' ',
  'ünïcödé ✓',
  '\u0000',
  3.14,
  -0,
];

type Scope = 'execution' | 'events' | 'envelope' | 'spine';
const scopeArb = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Scope>('execution') },
  { weight: 4, arbitrary: fc.constant<Scope>('events') },
  { weight: 2, arbitrary: fc.constant<Scope>('envelope') },
  { weight: 1, arbitrary: fc.constant<Scope>('spine') },
);

const changeArb = fc.oneof(
  fc.record({ op: fc.constantFrom('remove' as const, 'null' as const), scope: scopeArb, pick: fc.nat() }),
  fc.record({ op: fc.constant('retype' as const), scope: scopeArb, pick: fc.nat(), choice: fc.nat() }),
  fc.record({ op: fc.constant('odd' as const), scope: scopeArb, pick: fc.nat(), value: fc.constantFrom(...ODD_VALUES) }),
  fc.record({ op: fc.constant('duplicate' as const), from: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('move' as const), from: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('reverse' as const) }),
  fc.record({ op: fc.constant('no-id' as const), which: fc.nat(), how: fc.constantFrom<Json>(REMOVE, null, '', {}, [], false, 7) }),
  fc.record({ op: fc.constant('no-time' as const), which: fc.nat(), how: fc.constantFrom<Json>(REMOVE, null, 'yesterday', '2026-02-29T00:00:00Z', {}, 1772366400000, '2026-03-01') }),
  fc.record({ op: fc.constant('not-an-object' as const), which: fc.nat(), value: fc.constantFrom<Json>(null, 7, 'event', [], true) }),
);
type Change = typeof changeArb extends fc.Arbitrary<infer T> ? T : never;

function apply(doc: Doc, change: Change): void {
  const events = isObject(doc.data) && Array.isArray(doc.data.events) ? (doc.data.events as Json[]) : undefined;
  switch (change.op) {
    case 'remove':
    case 'null':
    case 'retype':
    case 'odd': {
      const paths = candidates(doc, change.scope).filter((path) => change.op !== 'odd' || path[0] !== 'code');
      if (paths.length === 0) return;
      const path = paths[change.pick % paths.length]!;
      if (path.length === 0) return;
      if (change.op === 'remove') return put(doc, path, REMOVE);
      if (change.op === 'null') return put(doc, path, null);
      if (change.op === 'odd') return put(doc, path, structuredClone(change.value));
      const others = OTHER_TYPES.filter((value) => jsonType(value) !== jsonType(at(doc, path)));
      const choice = 'choice' in change ? change.choice : 0;
      return put(doc, path, structuredClone(others[choice % others.length]));
    }
    case 'reverse':
      events?.reverse();
      return;
  }
  if (!events || events.length === 0) return;
  const which = (n: number) => n % events.length;
  switch (change.op) {
    case 'duplicate':
      events.splice(change.to % (events.length + 1), 0, structuredClone(events[which(change.from)]));
      return;
    case 'move': {
      const [moved] = events.splice(which(change.from), 1);
      events.splice(change.to % (events.length + 1), 0, moved);
      return;
    }
    case 'no-id':
    case 'no-time': {
      const event = events[which(change.which)];
      if (!isObject(event)) return;
      const key = change.op === 'no-id' ? 'id' : 'createdAt';
      if (change.how === REMOVE) delete event[key];
      else event[key] = structuredClone(change.how);
      return;
    }
    case 'not-an-object':
      events[which(change.which)] = change.value;
      return;
  }
}

const bodyArb = fc.array(changeArb, { minLength: 1, maxLength: 8 }).map((changes) => {
  const doc = validEnvelope();
  for (const change of changes) apply(doc, change);
  return doc;
});

// ---------------------------------------------------------------- what the answer must be

/** A field as text: strings as sent, numbers and booleans as their text; `undefined` when it cannot be text. */
function textOf(value: Json): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * The instant each timestamp the changes can put in a field names, canonical,
 * or undefined for one it does not name (the reference does not parse: every
 * spelling the generator uses is listed).
 */
const INSTANTS = new Map<string, string | undefined>([
  ['2026-03-01T12:00:00+02:00', '2026-03-01T10:00:00.000Z'],
  ['2026-03-01T12:00:00+0530', '2026-03-01T06:30:00.000Z'],
  ['2026-03-01t12:00:00z', '2026-03-01T12:00:00.000Z'],
  ['2026-03-01 12:00:00Z', '2026-03-01T12:00:00.000Z'],
  ['2026-03-01T12:00:00.123456789Z', '2026-03-01T12:00:00.123Z'],
  ['2026-03-01T12:00:00Z', '2026-03-01T12:00:00.000Z'],
  ['2026-03-01', '2026-03-01T00:00:00.000Z'],
  ['2024-02-29T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
  // A leap second is a time RFC 3339 allows; it reads as the next second.
  ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00.000Z'],
  ['2026-02-30T12:00:00Z', undefined],
  ['2026-02-29T00:00:00Z', undefined],
  ['2026-03-01T24:00:00Z', undefined],
  // A time of day without an offset is UTC, as upstream documents every timestamp.
  ['2026-03-01T12:00:00', '2026-03-01T12:00:00.000Z'],
  ['2026-03-01T12:00:60.000Z', '2026-03-01T12:01:00.000Z'],
  ['2026-02-29T12:00:00.000Z', undefined],
  ['2026-13-01T00:00:00.000Z', undefined],
  ['2026-03-01T12:00:00.000Z ', '2026-03-01T12:00:00.000Z'],
  // Years 0000–9999 are served (0000 is a year); an instant outside them cannot be a DateTime.
  ['0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
  ['0001-01-01T00:30:00+01:00', '0000-12-31T23:30:00.000Z'],
  ['0000-01-01T00:30:00+01:00', undefined],
  ['9999-12-31T23:59:59.999-01:00', undefined],
]);

/** What a DateTime field serves for a value: canonical text, null for nothing sent, undefined when unreadable. */
function instantOf(value: Json): string | null | undefined {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && /^-?\d{9,}(\.\d+)?$/.test(value)) return instantOf(Number(value));
  if (typeof value === 'number') {
    // Epoch seconds below 10^11 in magnitude, else epoch milliseconds; fractions of a millisecond cut; only years 0000–9999.
    const ms = Math.abs(value) < 1e11 ? value * 1000 : value;
    if (Math.abs(ms) > 8.64e15) return undefined;
    const date = new Date(Math.trunc(ms));
    const year = date.getUTCFullYear();
    return year >= 0 && year <= 9999 ? date.toISOString() : undefined;
  }
  if (typeof value !== 'string') return undefined;
  if (INSTANTS.has(value)) return INSTANTS.get(value);
  // The canonical values of the valid envelope.
  if (CANONICAL.test(value) && !Number.isNaN(Date.parse(value)) && new Date(value).toISOString() === value) return value;
  // Every other text the changes put anywhere (statuses, ids, words) is no timestamp.
  expect(value, 'a timestamp the reference does not know').not.toMatch(/^\d{4}-/);
  return undefined;
}

function eventIdOf(entry: Json, position: number): string {
  if (isObject(entry)) {
    if (typeof entry.id === 'string' && entry.id !== '') return entry.id;
    if (typeof entry.id === 'number') return String(entry.id);
  }
  return `#${position}`;
}

interface Warning {
  path: Path;
  code: string;
  message: string;
}

/** The spine the gateway needs: an execution object whose id is the one asked for (the changes put no number there that reads as it). */
function usable(doc: Doc): boolean {
  return isObject(doc.data) && isObject(doc.data.execution) && doc.data.execution.id === ID;
}

const key = (code: string, path: Path) => `${code} ${JSON.stringify(path)}`;

/**
 * Checks one served answer against the body it came from, and returns the
 * warnings the body calls for (code and path), to compare with those served.
 */
function expectServed(doc: Doc, execution: Record<string, Json>): string[] {
  const expected: string[] = [];
  const source = (doc.data as Doc).execution as Doc;

  // A field read as text, an instant or JSON: the value, or null (with a warning when something unreadable was sent).
  const text = (value: Json, served: Json, path: Path) => {
    const read = textOf(value);
    if (read === undefined) {
      expected.push(key('UNREADABLE_VALUE', path));
      expect(served, JSON.stringify(path)).toBeNull();
    } else expect(served, JSON.stringify(path)).toBe(read);
  };
  const instant = (value: Json, served: Json, path: Path) => {
    const read = instantOf(value);
    if (read === undefined) {
      expected.push(key('UNREADABLE_VALUE', path));
      expect(served, JSON.stringify(path)).toBeNull();
    } else expect(served, JSON.stringify(path)).toBe(read);
  };
  const json = (value: Json, served: Json, path: Path) => expect(served, JSON.stringify(path)).toEqual(value === undefined ? null : value);

  expect(execution.id).toBe(ID);
  const rawStatus = textOf(source.status);
  // In any case, and with whitespace around it (src/domain/execution-status.ts).
  const status =
    typeof rawStatus === 'string'
      ? ((KNOWN_EXECUTION_STATUSES as readonly string[]).find((known) => known.toLowerCase() === rawStatus.toLowerCase().trim()) ?? 'UNKNOWN')
      : 'UNKNOWN';
  expect(STATUSES).toContain(execution.status);
  expect(execution.status).toBe(status);
  expect(execution.isTerminal).toBe(['WORKFLOW_SUCCEEDED', 'WORKFLOW_FAILED', 'WORKFLOW_CANCELLED'].includes(status));
  text(source.status, execution.rawStatus, ['execution', 'rawStatus']);
  // A status that is no text is UNKNOWN with a note of its own, so UNKNOWN alone is a status the schema does not know yet.
  if (rawStatus === undefined) expected.push(key('UNREADABLE_VALUE', ['execution', 'status']));
  for (const name of EXECUTION_TEXT) text(source[name], execution[name], ['execution', name]);
  for (const name of EXECUTION_JSON) json(source[name], execution[name], ['execution', name]);
  for (const name of EXECUTION_TIMES) instant(source[name], execution[name], ['execution', name]);

  const connection = execution.events as { totalCount: number; edges: Array<{ cursor: string; node: Record<string, Json> }> };
  const events = (doc.data as Doc).events;
  if (!Array.isArray(events)) {
    // Absent, null or anything else that is no list is no events, with a warning: upstream's contract always has a list.
    expected.push(key('UNREADABLE_VALUE', ['execution', 'events']));
    expect(connection.totalCount).toBe(0);
    expect(connection.edges).toEqual([]);
    return expected;
  }
  expect(connection.totalCount).toBe(events.length);
  expect(connection.edges).toHaveLength(Math.min(100, events.length));
  const ids = events.map(eventIdOf);
  const positions: number[] = [];
  for (const [i, { cursor, node }] of connection.edges.entries()) {
    // The cursor names the occurrence of an id; the occurrence names the entry.
    const named = decodeEventCursor(cursor);
    expect(named?.executionId).toBe(ID);
    const position = ids.flatMap((id, p) => (id === named?.eventId ? [p] : []))[named?.occurrence ?? -1];
    expect(position, `edge ${i} names an event upstream sent`).toBeDefined();
    positions.push(position!);
    const entry = events[position!];
    const fields: Doc = isObject(entry) ? entry : {};
    const path = (name: string): Path => ['execution', 'events', 'edges', i, 'node', name];
    // An entry that is not an object is noted once, at the event.
    if (!isObject(entry)) expected.push(key('UNREADABLE_VALUE', ['execution', 'events', 'edges', i, 'node']));

    expect(node.id).toBe(ids[position!]);
    const upstreamId = (typeof fields.id === 'string' && fields.id !== '') || typeof fields.id === 'number';
    if (!upstreamId) expected.push(key('REPLACED_VALUE', path('id')));
    expect(node.executionId).toBe(ID);
    if (fields.executionId !== undefined && fields.executionId !== null && textOf(fields.executionId) !== ID) expected.push(key('REPLACED_VALUE', path('executionId')));
    expect(node.execution).toEqual({ id: ID });
    instant(fields.createdAt, node.createdAt, path('createdAt'));
    json(fields.data, node.data, path('data'));
    for (const name of EVENT_TEXT) text(fields[name], node[name], path(name));
  }
  // Every event once.
  expect(new Set(positions).size).toBe(positions.length);
  return expected;
}

/** Warnings are well-formed, and each one is at a field that shows why: null when unreadable, served otherwise. */
function expectWarningsWellFormed(warnings: Warning[], data: Record<string, Json>): void {
  for (const warning of warnings) {
    expect(Array.isArray(warning.path), JSON.stringify(warning)).toBe(true);
    for (const step of warning.path) expect(['string', 'number']).toContain(typeof step);
    expect(['UNREADABLE_VALUE', 'REPLACED_VALUE']).toContain(warning.code);
    expect(typeof warning.message).toBe('string');
    expect(warning.message.length).toBeGreaterThan(0);
    const served = at(data, warning.path);
    if (warning.code === 'REPLACED_VALUE') expect(typeof served, JSON.stringify(warning)).toBe('string');
    else if (JSON.stringify(warning.path) === JSON.stringify(['execution', 'status'])) expect(served).toBe('UNKNOWN');
    else if (JSON.stringify(warning.path) === JSON.stringify(['execution', 'events'])) {
      // `events` is non-null: a list it cannot read is served as an empty connection.
      expect(served).toMatchObject({ totalCount: 0, edges: [] });
    } else if (warning.path.at(-1) === 'node') {
      // An entry that is not an object is served as an event without fields: its id is derived, the rest null.
      expect(served, JSON.stringify(warning)).toMatchObject({ id: expect.stringMatching(/^#\d+$/), level: null, createdAt: null });
    } else expect(served, JSON.stringify(warning)).toBeNull();
  }
}

// ---------------------------------------------------------------- properties

describe('the envelope reader refuses only what it cannot serve (unit)', () => {
  const valid = () => validEnvelope();
  it.each<[string, (doc: Doc) => Json]>([
    ['a JSON value that is not an object', () => [valid()]],
    ['JSON null', () => null],
    ['no data', (doc) => ({ ...doc, data: undefined })],
    ['data that is not an object', (doc) => ({ ...doc, data: 'data' })],
    ['no data.execution object', (doc) => ({ ...doc, data: { ...(doc.data as Doc), execution: undefined } })],
    ['a data.execution that is a list', (doc) => ({ ...doc, data: { ...(doc.data as Doc), execution: [(doc.data as Doc).execution] } })],
    ['a number as execution.id that is another id', (doc) => ({ ...doc, data: { ...(doc.data as Doc), execution: { ...((doc.data as Doc).execution as Doc), id: 7 } } })],
    ['an object as execution.id', (doc) => ({ ...doc, data: { ...(doc.data as Doc), execution: { ...((doc.data as Doc).execution as Doc), id: { id: ID } } } })],
    ['an execution without id', (doc) => ({ ...doc, data: { ...(doc.data as Doc), execution: { ...((doc.data as Doc).execution as Doc), id: undefined } } })],
    ["another execution's id", (doc) => ({ ...doc, data: { ...(doc.data as Doc), execution: { ...((doc.data as Doc).execution as Doc), id: 'ex_other' } } })],
  ])('refuses %s', (_name, change) => {
    const json = JSON.parse(JSON.stringify(change(valid())) ?? 'null') as Json;
    const read = readExecution(json, ID, 100);
    expect(read).toEqual({ unusable: expect.any(String) });
  });

  it('serves anything else, keeping the execution and events as sent', () => {
    const doc = valid();
    const data = doc.data as Doc;
    expect(readExecution(doc, ID, 123)).toEqual({ id: ID, source: data.execution, events: data.events, bodyBytes: 123 });
    expect(readExecution({ data: { execution: { id: ID } } }, ID, 1)).toEqual({ id: ID, source: { id: ID }, events: [], eventsAbsent: true, bodyBytes: 1 });
    expect(readExecution({ data: { execution: { id: ID }, events: null } }, ID, 1)).toEqual({ id: ID, source: { id: ID }, events: [], eventsAbsent: true, bodyBytes: 1 });
    expect(readExecution({ data: { execution: { id: ID }, events: { 0: {} } } }, ID, 1)).toEqual({ id: ID, source: { id: ID }, events: [], eventsUnreadable: true, bodyBytes: 1 });
  });

  it('reads an integer execution.id as its text while a double holds it exactly: 12345 is execution "12345"', () => {
    expect(readExecution({ data: { execution: { id: 12345 }, events: [] } }, '12345', 1)).toEqual({ id: '12345', source: { id: 12345 }, events: [], bodyBytes: 1 });
    expect(readExecution({ data: { execution: { id: -0 }, events: [] } }, '-0', 1)).toMatchObject({ id: '-0' });
    // Another id still, however close: 12345 is not "012345", and 1e21 is written "1e+21".
    expect(readExecution({ data: { execution: { id: 12345 }, events: [] } }, '012345', 1)).toEqual({ unusable: expect.any(String) });
    expect(readExecution({ data: { execution: { id: 1e21 }, events: [] } }, '1000000000000000000000', 1)).toEqual({ unusable: expect.any(String) });
    // Past 2^53 JSON.parse has rounded it already: 9007199254740993 reads as 9007199254740992, another execution.
    expect(readExecution(JSON.parse('{"data":{"execution":{"id":9007199254740993},"events":[]}}') as Json, '9007199254740992', 1)).toEqual({ unusable: expect.any(String) });
    expect(readExecution({ data: { execution: { id: 1.5 }, events: [] } }, '1.5', 1)).toEqual({ unusable: expect.any(String) });
  });
});

describe("the envelope's head (unit)", () => {
  // Repeated in every note (up to 100) and on every error: a 6 MB requestId made a 600 MB answer, and a 500.
  it('keeps a requestId of any text as its first 256 characters, never half a surrogate pair, and none when empty', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 600, unit: 'binary' }), fc.string({ minLength: 250, maxLength: 300, unit: 'grapheme' })), (text) => {
        const kept = upstreamRequestIdOf(text);
        if (text === '') return void expect(kept).toBeUndefined();
        expect(text.startsWith(kept!)).toBe(true);
        if (text.length <= 256) return void expect(kept).toBe(text);
        expect([255, 256]).toContain(kept!.length);
        const last = kept!.charCodeAt(kept!.length - 1);
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
      }),
      { numRuns: 500 },
    );
    expect(upstreamRequestIdOf('x'.repeat(1_000_000))).toBe('x'.repeat(256));
    expect(upstreamRequestIdOf(`${'a'.repeat(255)}😀b`)).toBe('a'.repeat(255));
    expect(readEnvelopeHead({ code: 503, requestId: '' })).toEqual({ errorStatus: 503 });
  });

  it.each<[unknown, number | undefined]>([
    [399, undefined],
    [400, 400],
    [599, 599],
    [600, undefined],
    [404.5, undefined],
    ['404', 404],
    ['599', 599],
    ['600', undefined],
    [' 404', undefined],
    [40401, undefined],
    [200, undefined],
    [0, undefined],
  ])('reads an envelope code of %j as the error status %s (an integer from 400 to 599, or one as text)', (code, errorStatus) => {
    expect(readEnvelopeHead({ code }).errorStatus).toBe(errorStatus);
  });
});

describe.each(LANES)('random changes to a valid envelope, through the gateway (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  async function serve(body: string): Promise<GraphQLResponse<{ execution: Record<string, Json> | null }>> {
    harness.upstream.setFault(ID, { kind: 'body', body });
    return harness.query<{ execution: Record<string, Json> | null }>(QUERY, { id: ID });
  }

  it.each<[string, string]>([
    ['not JSON', '{"code":200,"data":'],
    ['no data.execution object', JSON.stringify({ code: 200, data: { events: [] } })],
    ['a numeric execution.id naming another execution', JSON.stringify({ code: 200, data: { execution: { id: 7, status: 'workflow_running' }, events: [] } })],
    ['an execution.id that is an object', JSON.stringify({ code: 200, data: { execution: { id: { id: ID }, status: 'workflow_running' }, events: [] } })],
    ["another execution's id", JSON.stringify({ code: 200, data: { execution: { id: 'ex_other', status: 'workflow_running' }, events: [] } })],
  ])('answers UPSTREAM_BAD_RESPONSE for a body with %s', async (_name, body) => {
    const response = await serve(body);
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ execution: null });
    expect(codes(response)).toEqual(['UPSTREAM_BAD_RESPONSE']);
  });

  it('serves an execution whose id upstream wrote as a number, when that number is the id asked for', async () => {
    harness.upstream.setFault('12345', { kind: 'body', body: JSON.stringify({ code: 200, data: { execution: { id: 12345, status: 'workflow_running' }, events: [] } }) });
    const response = await harness.query<{ execution: Record<string, Json> | null }>('{ execution(id: "12345") { id status } }');
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ execution: { id: '12345', status: 'WORKFLOW_RUNNING' } });
  });

  it('never throws, never crashes, never answers UPSTREAM_BAD_RESPONSE while execution.id is the requested id; id and status always come through', async () => {
    const logsBefore = harness.logs.length;
    let runs = 0;
    let served = 0;
    await fc.assert(
      fc.asyncProperty(bodyArb, async (changed) => {
        runs++;
        const body = JSON.stringify(changed);
        // The body as the gateway reads it (-0 is 0 on the wire).
        const doc = JSON.parse(body) as Doc;
        const response = await serve(body);
        expect(response.status).toBe(200);
        if (!usable(doc)) {
          // A change reached the spine: that body is still refused, as before.
          expect(response.data).toEqual({ execution: null });
          expect(codes(response)).toEqual(['UPSTREAM_BAD_RESPONSE']);
          return;
        }
        served++;
        expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
        const execution = response.data?.execution;
        expect(execution).toBeTruthy();
        const expected = expectServed(doc, execution!);
        const warnings = (response.extensions?.warnings as Warning[] | undefined) ?? [];
        expectWarningsWellFormed(warnings, response.data as Record<string, Json>);
        expect(warnings.map((warning) => key(warning.code, warning.path)).sort()).toEqual(expected.sort());
      }),
      { numRuns: NUM_RUNS, interruptAfterTimeLimit: TIME_BUDGET_MS },
    );
    expect(runs).toBeGreaterThanOrEqual(MIN_RUNS);
    // Most bodies keep their spine; the property is about them.
    expect(served).toBeGreaterThan(runs / 2);
    // Nothing the gateway logged on the way was an error (pino: 50 and up), and it still serves.
    expect(harness.logs.slice(logsBefore).filter((line) => Number(line.level) >= 50)).toEqual([]);
    harness.upstream.setFault(ID, undefined);
    const demo = await harness.query<{ execution: { id: string } }>('{ execution(id: "ex_demo_1") { id } }');
    expect(demo.data).toEqual({ execution: { id: 'ex_demo_1' } });
  });
});
