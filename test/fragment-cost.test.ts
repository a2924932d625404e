/**
 * README "Operation limits" promises that fragments count as if written inline. Measured with the rule the
 * gateway runs (`operationCosts`, src/pipeline/operation-limits.ts): a document written with fragments (nested,
 * reused under several aliases, inline, spread at different depths) costs exactly what the same document with
 * every fragment inlined costs, and a property does the same over generated selections. `inlined` is the
 * reference: it splices each fragment's selections where it is spread, as a client writing the page by hand would.
 */
import { readFileSync } from 'node:fs';
import { costLimitRule } from '@escape.tech/graphql-armor-cost-limit';
import fc from 'fast-check';
import { Kind, parse, print, validate, visit, type DocumentNode, type FragmentDefinitionNode, type SelectionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { operationCosts } from '../src/pipeline/operation-limits.js';
import { schema } from '../src/schema/index.js';

/** `document` with every fragment spread and inline fragment replaced by the selections it holds, and no fragment definitions. */
function inlined(document: DocumentNode): DocumentNode {
  const definitions = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) definitions.set(definition.name.value, definition);
  const done = new Map<string, readonly SelectionNode[]>();
  // Selections with no fragment left in them (visit leaves children first, so nested ones are flat already).
  const flatten = (selections: readonly SelectionNode[]): SelectionNode[] =>
    selections.flatMap((selection) =>
      selection.kind === Kind.FIELD ? [selection] : selection.kind === Kind.INLINE_FRAGMENT ? flatten(selection.selectionSet.selections) : fragment(selection.name.value),
    );
  const fragment = (name: string): readonly SelectionNode[] => {
    let selections = done.get(name);
    if (!selections) {
      const definition = definitions.get(name);
      if (!definition) throw Error(`no fragment ${name}`);
      selections = flatten(visit(definition, { SelectionSet: { leave: (set) => ({ ...set, selections: flatten(set.selections) }) } }).selectionSet.selections);
      done.set(name, selections);
    }
    return selections;
  };
  const operations = document.definitions.filter((definition) => definition.kind !== Kind.FRAGMENT_DEFINITION);
  return visit({ ...document, definitions: operations }, { SelectionSet: { leave: (set) => ({ ...set, selections: flatten(set.selections) }) } });
}

const cost = (source: string | DocumentNode) => operationCosts(schema, typeof source === 'string' ? parse(source) : source);

/** What GraphQL Armor's own cost rule (the gateway's before) counts: the same as the gateway's for a document without fragments. */
function armorCost(source: string): number[] {
  const costs: number[] = [];
  validate(schema, parse(source), [costLimitRule({ maxCost: Infinity, ignoreIntrospection: true, flattenFragments: true, onAccept: [(_context, { n }) => void costs.push(n)] })]);
  return costs;
}

/** Expects `source` (with fragments) to cost what it costs inlined, and returns that cost. */
function sameAsInline(source: string): number {
  const document = parse(source);
  const flat = inlined(document);
  expect(print(flat)).not.toMatch(/\.\.\./);
  const [withFragments] = cost(document);
  expect(withFragments).toBe(cost(flat)[0]);
  return withFragments!;
}

const PAGE = readFileSync(new URL('../schema/operations/execution-page.graphql', import.meta.url), 'utf8')
  .replace('($id: ID!, $first: Int = 20)', '($id: ID!)')
  .replace('events(first: $first)', 'events(first: 100)');
/** The execution page with `first: 100` under `copies` aliases, written with the operation's own fragments. */
function pages(copies: number): string {
  const body = /execution\(id: \$id\) \{([\s\S]*?)\n  \}\n\}/.exec(PAGE)![1]!;
  const aliased = Array.from({ length: copies }, (_, i) => `  p${i}: execution(id: $id) {${body}\n  }`).join('\n');
  return PAGE.replace(/  execution\(id: \$id\) \{[\s\S]*?\n  \}\n\}/, `${aliased}\n}`);
}

describe('a fragment costs what its selections cost written inline', () => {
  it('the execution page (schema/operations/execution-page.graphql) at `first: 100`: once, twice and three times under aliases', () => {
    const one = sameAsInline(PAGE);
    expect(one).toBe(10_408.25);
    expect(cost(inlined(parse(PAGE)))).toEqual(armorCost(print(inlined(parse(PAGE)))));
    expect(one).toBe(sameAsInline(pages(1)));
    // Each aliased copy costs what the first does: reuse of a fragment adds nothing of its own.
    expect(sameAsInline(pages(2))).toBe(2 * one);
    expect(sameAsInline(pages(3))).toBe(3 * one);
  });

  it('nested fragments, one per component, as Relay and Apollo clients write them, from the operation down', () => {
    sameAsInline(`{ ...Screen }
      fragment Screen on Query { execution(id: "e") { ...Header ...Timeline } }
      fragment Header on Execution { id status createdAt }
      fragment Timeline on Execution { events(first: 100) { ...Connection } }
      fragment Connection on ExecutionEventConnection { totalCount pageInfo { ...Paging } edges { ...Edge } }
      fragment Paging on PageInfo { hasNextPage endCursor }
      fragment Edge on ExecutionEventEdge { cursor node { ...Event } }
      fragment Event on ExecutionEvent { id title message }`);
  });

  it('inline fragments, with and without a type condition, nested in each other', () => {
    sameAsInline(`{ execution(id: "e") { ... on Execution { id ... { status events(first: 50) { ... on ExecutionEventConnection { nodes { id ... { level } } } } } } } }`);
  });

  it('one fragment spread at different depths: beside the fields of an execution and of an event\'s execution', () => {
    sameAsInline(`{ execution(id: "e") { ...Brief events(first: 10) { nodes { id execution { ...Brief } } } } }
      fragment Brief on Execution { id status events(first: 3) { totalCount nodes { id } } }`);
  });

  it('one fragment spread twice in one selection set, and a chain of fragments down to __typename', () => {
    sameAsInline(`{ execution(id: "e") { ...A ...A } } fragment A on Execution { id ...B } fragment B on Execution { status __typename }`);
    let chain = '{ ...F0 }\n';
    for (let i = 0; i < 16; i++) chain += `fragment F${i} on Query { ${i < 15 ? `...F${i + 1}` : '__typename'} }\n`;
    expect(sameAsInline(chain)).toBe(1);
  });

  it('a fragment that spreads itself (refused by graphql-js) adds nothing, and does not overflow the stack', () => {
    expect(cost('{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }')).toEqual([1]);
  });

  it('a selection of generated fields, split into fragments and inline fragments at random, costs what it costs inline', () => {
    interface Field { name: string; first?: number; children: Field[] }
    const field: fc.Memo<Field> = fc.memo((n) =>
      n <= 1
        ? fc.constantFrom('id', 'status', '__typename').map((name): Field => ({ name, children: [] }))
        : fc.oneof(
            fc.constantFrom('id', 'status').map((name): Field => ({ name, children: [] })),
            fc.record<Field>({ name: fc.constant('o'), first: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }), children: fc.array(field(n - 1), { minLength: 1, maxLength: 4 }) }),
          ),
    );
    // For each selection set: how its selections are written (plainly, in an inline fragment, in a named fragment).
    const ways = fc.array(fc.constantFrom('plain', 'inline', 'named'), { minLength: 64, maxLength: 64 });
    fc.assert(
      fc.property(fc.array(field(4), { minLength: 1, maxLength: 4 }), ways, (roots, how) => {
        let next = 0;
        const fragments: string[] = [];
        const plain = (fields: Field[]): string => fields.map((f) => (f.children.length ? `${f.name}${f.first === undefined ? '' : `(first: ${f.first})`} { ${plain(f.children)} }` : f.name)).join(' ');
        const written = (fields: Field[]): string => {
          const way = how[next++ % how.length];
          const inner = fields.map((f) => (f.children.length ? `${f.name}${f.first === undefined ? '' : `(first: ${f.first})`} { ${written(f.children)} }` : f.name)).join(' ');
          if (way === 'inline') return `... { ${inner} }`;
          if (way === 'named') {
            fragments.push(`fragment G${fragments.length} on T { ${inner} }`);
            return `...G${fragments.length - 1}`;
          }
          return inner;
        };
        const source = `{ ${written(roots)} }\n${fragments.join('\n')}`;
        expect(cost(source)).toEqual(cost(`{ ${plain(roots)} }`));
        // The model is Armor's: without fragments, the figures are the ones Armor's rule gave.
        expect(cost(`{ ${plain(roots)} }`)).toEqual(armorCost(`{ ${plain(roots)} }`));
      }),
      { numRuns: 300 },
    );
  });
});
