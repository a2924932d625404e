/**
 * A frontend's own document through codegen as README "From a frontend in another repository" configures it
 * (the config of codegen.ts), then sent with graphql-request to a gateway on loopback: every answer must be what
 * the generated types promise. The types follow the schema and the document (a field is `T | null` only where the
 * schema makes it nullable, optional only under @skip/@include, an enum a union of the schema's values), so each
 * answer is walked against those same rules: no null where a type says non-null, no enum value the union lacks, a
 * field under a directive present exactly when the directive keeps it, no key the document did not ask for.
 */
import { generate } from '@graphql-codegen/cli';
import { GraphQLClient } from 'graphql-request';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  parse,
  typeFromAST,
  valueFromAST,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type SelectionSetNode,
  type SelectionNode,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import codegenConfig from '../codegen.js';
import { AUTH, Harness, LANES } from './support/harness.js';

const root = new URL('..', import.meta.url).pathname;
const schema = buildSchema(readFileSync(join(root, 'schema/schema.graphql'), 'utf8'));

const DOCUMENT = `
fragment EventBits on ExecutionEvent {
  createdAt
  level
  msg: message
  execution { id status }
}

fragment ExecBits on Execution {
  id
  status
  isTerminal
  finishedAt
}

query UserPage($id: ID!, $first: Int = 3, $withEvents: Boolean = true, $skipReason: Boolean!, $order: EventOrder = DESC, $levels: [String!]) {
  run: execution(id: $id) {
    ...ExecBits
    reason: statusReason @skip(if: $skipReason)
    events(first: $first, order: $order, filter: { levels: $levels }) @include(if: $withEvents) {
      totalCount
      pageInfo { startCursor endCursor hasNextPage hasPreviousPage }
      edges { cursor node { ...EventBits id } }
      nodes { id }
    }
    ... on Execution @include(if: $withEvents) { rawStatus }
    ... @skip(if: $skipReason) { statusAgain: status }
  }
  other: executions(ids: [$id, "ex_missing", "ex_demo_long"]) { ...ExecBits }
}
`;

const document: DocumentNode = parse(DOCUMENT);
const fragments = Object.fromEntries(
  document.definitions.filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION).map((fragment) => [fragment.name.value, fragment]),
);
const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION)!;

/** The variables as the gateway reads them: the sent ones, else each definition's default. */
function effective(variables: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (name in variables) values[name] = variables[name];
    else if (definition.defaultValue) values[name] = valueFromAST(definition.defaultValue, typeFromAST(schema, definition.type) as GraphQLInputType);
  }
  return values;
}

function kept(selection: SelectionNode, variables: Record<string, unknown>): boolean {
  for (const directive of selection.directives ?? []) {
    const argument = directive.arguments?.find((each) => each.name.value === 'if');
    const value = argument ? valueFromAST(argument.value, schema.getDirective(directive.name.value)!.args[0]!.type, variables) : undefined;
    if (directive.name.value === 'skip' && value === true) return false;
    if (directive.name.value === 'include' && value !== true) return false;
  }
  return true;
}

/** Response key → (field type, sub-selections), merged over fragments the way GraphQL collects fields. */
function collect(selectionSet: SelectionSetNode, type: GraphQLObjectType, variables: Record<string, unknown>, into = new Map<string, { type: GraphQLOutputType; sets: SelectionSetNode[] }>()) {
  for (const selection of selectionSet.selections) {
    if (!kept(selection, variables)) continue;
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      const entry = into.get(key) ?? { type: type.getFields()[selection.name.value]!.type, sets: [] };
      if (selection.selectionSet) entry.sets.push(selection.selectionSet);
      into.set(key, entry);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet, type, variables, into);
    else collect(fragments[selection.name.value]!.selectionSet, type, variables, into);
  }
  return into;
}

/** Where `value` breaks what the generated type of `type` with `sets` below it says. */
function lies(value: unknown, type: GraphQLOutputType, sets: SelectionSetNode[], variables: Record<string, unknown>, path: string, nullable: (path: string) => boolean): string[] {
  if (value === null) return isNonNullType(type) && !nullable(path) ? [`${path}: null where the type says ${String(type)}`] : [];
  if (value === undefined) return [`${path}: missing`];
  const inner = getNullableType(type);
  if (isListType(inner)) {
    if (!Array.isArray(value)) return [`${path}: not a list`];
    return value.flatMap((item, index) => lies(item, inner.ofType, sets, variables, `${path}.${index}`, nullable));
  }
  const named = getNamedType(inner);
  if (isEnumType(named)) return named.getValue(String(value)) ? [] : [`${path}: ${String(value)} is no ${named.name} value`];
  if (!isObjectType(named)) return [];
  const fields = new Map<string, { type: GraphQLOutputType; sets: SelectionSetNode[] }>();
  for (const set of sets) collect(set, named, variables, fields);
  const object = value as Record<string, unknown>;
  const problems = Object.keys(object).filter((key) => !fields.has(key)).map((key) => `${path}.${key}: not asked for (or skipped)`);
  for (const [key, field] of fields) problems.push(...lies(object[key], field.type, field.sets, variables, `${path}.${key}`, nullable));
  return problems;
}

describe.each(LANES)('a frontend document through codegen and graphql-request (%s lane)', (lane) => {
  let harness: Harness;
  let folder: string;
  let generated: string;

  beforeAll(async () => {
    harness = await Harness.start({ lane });
    folder = mkdtempSync(join(tmpdir(), 'schema9-codegen-'));
    writeFileSync(join(folder, 'user.graphql'), DOCUMENT);
    const target = codegenConfig.generates['src/client/generated.ts'] as { config: Record<string, unknown> };
    const outputs = (await generate(
      {
        schema: join(root, 'schema/schema.graphql'),
        documents: join(folder, '*.graphql'),
        silent: true,
        generates: { [join(folder, 'generated.ts')]: { plugins: ['typescript-operations', 'typed-document-node'], config: target.config } },
      },
      false,
    )) as Array<{ content: string }>;
    generated = outputs[0]!.content;
  });
  afterAll(async () => {
    await harness.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('generates the optional keys and the unions the answers are checked against', () => {
    expect(generated).toContain('reason?: string | null');
    expect(generated).toMatch(/events\?: \{ totalCount: number/);
    expect(generated).toContain('rawStatus?: string | null');
    expect(generated).toContain('statusAgain?: ExecutionStatus');
    expect(generated).toContain("withEvents?: boolean | null | undefined;\n  skipReason: boolean;");
    const union = generated.slice(generated.indexOf('export type ExecutionStatus =')).split('\n\n')[0]!;
    const statuses = [...union.matchAll(/^\s+\| '([A-Z_]+)'/gm)].map((match) => match[1]);
    const status = schema.getType('ExecutionStatus');
    expect(isEnumType(status)).toBe(true);
    expect(statuses.sort()).toEqual(isEnumType(status) ? status.getValues().map((value) => value.name).sort() : []);
  });

  const IDS = ['ex_demo_1', 'ex_demo_2', 'ex_demo_3', 'ex_demo_4', 'ex_demo_5', 'ex_demo_6', 'ex_demo_7', 'ex_demo_8', 'ex_demo_long'];
  const VARIABLES: Array<Record<string, unknown>> = [
    { skipReason: true },
    { skipReason: false, withEvents: false },
    { skipReason: false, first: 0 },
    { skipReason: true, first: 100, order: 'ASC', levels: ['WARN', 'error'] },
    { skipReason: false, levels: [] },
  ];

  it('answers every id and variable set as the generated types say', async () => {
    const client = new GraphQLClient(harness.url, { headers: { authorization: AUTH }, errorPolicy: 'all' });
    for (const id of IDS) {
      for (const sent of VARIABLES) {
        const variables = { id, ...sent };
        const calls = harness.upstream.requests.length;
        const { data, errors } = await client.rawRequest<Record<string, unknown>>(DOCUMENT, variables);
        // ex_missing is the one failure, null in its nullable place.
        expect((errors ?? []).map((error) => [error.path, error.extensions?.code])).toEqual([[['other', 1], 'NOT_FOUND']]);
        const nullable = (path: string) => path === 'data.other.1';
        const problems = lies(data, schema.getQueryType()!, [operation.selectionSet], effective(variables), 'data', nullable);
        expect(problems, JSON.stringify(variables)).toEqual([]);
        // One call per distinct id, whatever the fragments and aliases select.
        expect(harness.upstream.requests.length - calls).toBe(new Set([id, 'ex_missing', 'ex_demo_long']).size);
      }
    }
  });
});
