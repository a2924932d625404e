/**
 * A fragment spread again at one level adds no field (graphql-js's collectFields enters it once), so the
 * gateway's own walks of a selection (the fields an `events` page hands out, its value fields counted against
 * the result's bound, the pages below an execution, a note's paths: src/schema/served.ts) must enter it once
 * too. Entered at every spread, fragments that each spread the next twice made each walk 2^levels visits,
 * run for every execution and every events page a request resolves: 13 levels (`...C1 ...C1`), an 870-byte
 * request the cost limit passes, held the event loop for 1 s where the same request without them took 80 ms.
 *
 * The walks are counted directly (every fragment looked up, through a counting `info.fragments`), and over
 * HTTP on both lanes the events bound and the result still hold through such spreads.
 */
import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { eventValueCopies, selectedFields, selectedPaths, selects } from '../src/schema/served.js';
import { codes, Harness, LANES } from './support/harness.js';

/** Fragments C0 … C<levels> on `type`, each spreading the next twice; the last selects `leaf`. */
function doubledSpreads(type: string, levels: number, leaf: string): string {
  const fragments: string[] = [];
  for (let level = 0; level < levels; level++) fragments.push(`fragment C${level} on ${type} { ...C${level + 1} ...C${level + 1} }`);
  fragments.push(`fragment C${levels} on ${type} { ${leaf} }`);
  return fragments.join('\n');
}

describe('walks of a selection enter each fragment once', () => {
  const LEVELS = 18;
  const document = parse(`query { execution(id: "x") { events { ...C0 } } }\n${doubledSpreads('ExecutionEventConnection', LEVELS, 'nodes { id message }')}`);
  const operation = document.definitions[0] as OperationDefinitionNode;
  const execution = operation.selectionSet.selections[0] as FieldNode;
  const events = execution.selectionSet!.selections[0] as FieldNode;
  const byName: Record<string, FragmentDefinitionNode> = Object.create(null);
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) byName[definition.name.value] = definition;
  let lookups = 0;
  const fragments = new Proxy(byName, {
    get(target, name: string) {
      lookups++;
      return target[name];
    },
  });
  const info = {
    fieldNodes: [events],
    fragments,
    variableValues: {},
    path: { prev: { prev: undefined, key: 'execution', typename: 'Query' }, key: 'events', typename: 'Execution' },
  } as unknown as GraphQLResolveInfo;
  /** At most each fragment once per group of fields walked together (a route's steps each walk anew). */
  const bound = 3 * (LEVELS + 1);

  it('selects finds a field behind the spreads, looking each fragment up once', () => {
    lookups = 0;
    expect(selects(info, new Set(['nodes']))).toBe(true);
    lookups = 0;
    expect(selects(info, new Set(['edges']))).toBe(false);
    expect(lookups).toBeLessThanOrEqual(bound);
  });

  it('eventValueCopies counts each value field once, however often its fragment is spread', () => {
    lookups = 0;
    expect(Object.fromEntries(eventValueCopies(info, [['edges', 'node'], ['nodes']]))).toEqual({ id: 1, message: 1 });
    expect(lookups).toBeLessThanOrEqual(bound);
  });

  it('selectedFields and selectedPaths name the field once', () => {
    lookups = 0;
    const nodes = selectedFields(info, 'nodes');
    expect(new Set(nodes).size).toBe(1);
    expect(lookups).toBeLessThanOrEqual(bound);
    lookups = 0;
    expect(selectedPaths(info, ['nodes', 0, 'message'])).toEqual([['execution', 'events', 'nodes', 0, 'message']]);
    expect(lookups).toBeLessThanOrEqual(bound);
  });
});

describe.each(LANES)('doubled fragment spreads over HTTP (%s lane)', (lane) => {
  let harness: Harness;
  const IDS = Array.from({ length: 21 }, (_, index) => `ex_spread_${index}`);

  beforeAll(async () => {
    harness = await Harness.start({ lane });
    for (const id of IDS) harness.upstream.put(makeExecution({ id, status: 'workflow_succeeded', eventCount: 100 }));
  });
  afterAll(() => harness.close());

  it('serves what the same selection without the spreads serves', async () => {
    const plain = await harness.query(`query($ids: [ID!]!, $n: Int) { executions(ids: $ids) { id events(first: $n) { totalCount nodes { id } } } }`, { ids: IDS.slice(0, 5), n: 3 });
    const spread = await harness.query(
      `query($ids: [ID!]!, $n: Int) { executions(ids: $ids) { id events(first: $n) { ...C0 } } }\n${doubledSpreads('ExecutionEventConnection', 10, 'totalCount nodes { id }')}`,
      { ids: IDS.slice(0, 5), n: 3 },
    );
    expect(plain.errors).toBeUndefined();
    expect(spread.errors).toBeUndefined();
    expect(spread.data).toEqual(plain.data);
  });

  it('counts the events a page hands out through the spreads toward the 2,000 a request may serve', async () => {
    // 21 pages of 100 events: the 21st passes 2,000 and fails its execution, as without the spreads.
    const response = await harness.query<{ executions: Array<{ id: string } | null> }>(
      `query($ids: [ID!]!, $n: Int) { executions(ids: $ids) { id events(first: $n) { ...C0 } } }\n${doubledSpreads('ExecutionEventConnection', 6, 'nodes { id }')}`,
      { ids: IDS, n: 100 },
    );
    expect(response.status).toBe(200);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.data!.executions.filter((each) => each === null)).toHaveLength(1);
  });
});
