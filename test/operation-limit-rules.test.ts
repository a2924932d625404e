/**
 * The operation limits as validation rules (src/pipeline/operation-limits.ts), on a schema of their own: the
 * cost rule stays quiet beside graphql-js's "Int cannot represent" for a literal past 32 bits in an Int
 * position (argument, list item, variable default, before or after the operation), and only there: a Float
 * takes such a literal, and that document is still held to the cost limit. On the gateway's own schema, a
 * selection costs the same whether written inline or spread over fragments, as Relay and Apollo clients
 * colocate them with their components (test/fragment-cost.test.ts proves it exactly).
 */
import { readFileSync } from 'node:fs';
import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { defaultOperationLimits } from '../src/config.js';
import { operationCosts, operationLimitRules } from '../src/pipeline/operation-limits.js';
import { schema as gatewaySchema } from '../src/schema/index.js';

/** The operation limits as their settings default them (src/config.ts, OPERATION_MAX_*): the gateways here set none. */
const OPERATION_LIMITS = defaultOperationLimits();
const OPERATION_LIMIT_RULES = operationLimitRules(OPERATION_LIMITS);

const schema = buildSchema(`
  type Query { items(first: Int, weight: Float, sizes: [Int!]): [Item!]! }
  type Item { a: Int, b: Int, c: Int }
`);

function messages(source: string): string[] {
  return validate(schema, parse(source), [...specifiedRules, ...OPERATION_LIMIT_RULES]).map((error) => error.message);
}

const COST = new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`);
const INT = /^(?:Variable "\$n" of type "Int" has invalid default value: )?Int cannot represent non 32-bit signed integer value: 3000000000/;

describe('the cost limit beside an Int past 32 bits', () => {
  it('counts a costly page as ever', () => {
    expect(messages('{ items(first: 100000) { a b c } }')).toEqual([expect.stringMatching(COST)]);
  });

  it.each([
    ['as the page size', '{ items(first: 3000000000) { a b c } }'],
    ['in a list of Ints', '{ items(first: 100000, sizes: [1, 3000000000]) { a b c } }'],
    ['in another operation after the costly one', 'query { items(first: 100000) { ...F } } fragment F on Item { a b c } query Other { items(first: 3000000000) { a } }'],
  ])('gives graphql-js\'s error alone for one %s', (_where, source) => {
    const found = messages(source).filter((message) => !/must be named|anonymous operation/i.test(message));
    expect(found).toEqual([expect.stringMatching(INT)]);
  });

  // -2147483648 was read as past 32 bits (its absolute value is): graphql-js took the document, and its cost error was dropped.
  it.each(['2147483647', '-2147483648'])('counts a costly page beside %s, an Int graphql-js takes', (int) => {
    expect(messages(`{ items(first: 100000, sizes: [${int}]) { a b c } }`)).toEqual([expect.stringMatching(COST)]);
    expect(messages(`query($n: Int = ${int}) { items(first: 100000, sizes: [$n]) { a b c } }`)).toEqual([expect.stringMatching(COST)]);
  });

  it.each(['2147483648', '-2147483649'])('gives graphql-js\'s error alone beside %s, just past 32 bits', (int) => {
    expect(messages(`{ items(first: 100000, sizes: [${int}]) { a b c } }`)).toEqual([`Int cannot represent non 32-bit signed integer value: ${int}`]);
  });

  it('holds a Float argument past 32 bits to the cost limit: a Float takes it', () => {
    expect(messages('{ items(first: 100000, weight: 3000000000) { a b c } }')).toEqual([expect.stringMatching(COST)]);
  });
});

/** Messages of the gateway's schema's rules and the operation limits for `source`. */
function gatewayMessages(source: string): string[] {
  return validate(gatewaySchema, parse(source), [...specifiedRules, ...OPERATION_LIMIT_RULES]).map((error) => error.message);
}

/** An execution page (a cost of 6,681 at `first: 100`), inline or as one fragment per component. */
const EXECUTION_FIELDS = 'id status rawStatus isTerminal statusReason paymentStatus orderId externalRef runId workflowId createdAt updatedAt startedAt finishedAt requestPayload';
const EVENT_FIELDS = 'id createdAt eventType level title message nodeId';
const inlinePage = (first: number) =>
  `{ execution(id: "e") { ${EXECUTION_FIELDS} events(first: ${first}) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${EVENT_FIELDS} } } } } }`;
const fragmentPage = (first: number) =>
  [
    '{ ...Screen }',
    'fragment Screen on Query { execution(id: "e") { ...Header ...Timeline } }',
    `fragment Header on Execution { ${EXECUTION_FIELDS} }`,
    `fragment Timeline on Execution { events(first: ${first}) { ...TimelineConnection } }`,
    'fragment TimelineConnection on ExecutionEventConnection { totalCount pageInfo { ...Paging } edges { ...TimelineEdge } }',
    'fragment Paging on PageInfo { hasNextPage endCursor }',
    'fragment TimelineEdge on ExecutionEventEdge { cursor node { ...TimelineEvent } }',
    `fragment TimelineEvent on ExecutionEvent { ${EVENT_FIELDS} }`,
  ].join('\n');

describe('the cost of fragments', () => {
  it("costs the README's figure for the execution page at `first: 100` (10,408.25), serves two of them under aliases and refuses three", () => {
    const page = readFileSync(new URL('../schema/operations/execution-page.graphql', import.meta.url), 'utf8')
      .replace('($id: ID!, $first: Int = 20)', '($id: ID!)')
      .replace('events(first: $first)', 'events(first: 100)');
    expect(gatewayMessages(page)).toEqual([]);
    expect(operationCosts(gatewaySchema, parse(page))).toEqual([10_408.25]);
    const aliased = (copies: number) =>
      page.replace(/execution\(id: \$id\) \{([\s\S]*?)\n  \}\n\}/, (_whole, body: string) =>
        `${Array.from({ length: copies }, (_, i) => `p${i}: execution(id: $id) {${body}\n  }`).join('\n  ')}\n}`);
    expect(aliased(3)).toContain('p2: execution');
    expect(gatewayMessages(aliased(2))).toEqual([]);
    // 31,224.75, rounded up: a cost in a message is a whole number.
    expect(gatewayMessages(aliased(3))).toEqual([expect.stringMatching(new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded, found 31225\\. `))]);
  });

  it('serves the 100-event execution page spread over one fragment per component, as it serves it inline', () => {
    expect(gatewayMessages(inlinePage(100))).toEqual([]);
    expect(gatewayMessages(fragmentPage(100))).toEqual([]);
  });

  it('serves a chain of sixteen fragments that select only __typename (each level multiplied the cost by 1.5 again before)', () => {
    let source = '{ ...F0 }\n';
    for (let i = 0; i < 16; i++) source += `fragment F${i} on Query { ${i < 15 ? `...F${i + 1}` : '__typename'} }\n`;
    expect(gatewayMessages(source)).toEqual([]);
  });

  it('refuses a costly selection spread over fragments as it refuses it inline: fragments open no way around the limit', () => {
    const nested = (inner: string) => `{ execution(id: "e") { events(first: 100) { nodes { execution { events(first: 100) { nodes { ${inner} } } } } } } }`;
    expect(gatewayMessages(nested('id message level'))).toEqual([expect.stringMatching(new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`))]);
    const spread = `{ ...Outer }
      fragment Outer on Query { execution(id: "e") { events(first: 100) { nodes { ...Inner } } } }
      fragment Inner on ExecutionEvent { execution { events(first: 100) { nodes { ...Leaf } } } }
      fragment Leaf on ExecutionEvent { id message level }`;
    expect(gatewayMessages(spread)).toEqual([expect.stringMatching(new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`))]);
  });

  it('still counts a fragment each time it is spread (ten 100-event pages of one fragment)', () => {
    const many = Array.from({ length: 10 }, (_, i) => `p${i}: execution(id: "e${i}") { ...Page }`).join(' ');
    const source = `{ ${many} } fragment Page on Execution { events(first: 100) { nodes { ${EVENT_FIELDS} } } }`;
    expect(gatewayMessages(source)).toEqual([expect.stringMatching(new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`))]);
  });
});
