import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import {
  buildClientSchema,
  getIntrospectionQuery,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  printSchema,
  type IntrospectionQuery,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../codegen.js';
import { makeExecution } from '../src/demo/demo-data.js';
import { encodeEventCursor } from '../src/domain/event-cursor.js';
import { schema } from '../src/schema/index.js';
import { printSchemaFile } from '../src/schema/print.js';
import { Harness, LANES } from './support/harness.js';
import { sendOver, type TransportName } from './support/transports.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('schema artifacts', () => {
  it('schema/schema.graphql is what the code builds (run `npm run generate` after a schema change)', () => {
    expect(read('schema/schema.graphql')).toBe(printSchemaFile());
  });

  it('the generated client is fresh (run `npm run generate`)', async () => {
    const outputs = (await generate({ ...codegenConfig, silent: true }, false)) as Array<{ filename: string; content: string }>;
    expect(outputs.length).toBeGreaterThan(0);
    for (const output of outputs) expect(read(output.filename), output.filename).toBe(output.content);
  });

  it('describes every type, field, argument, input field and enum value', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          for (const arg of field.args) if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) if (!field.description) missing.push(`${type.name}.${field.name}`);
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) if (!value.description) missing.push(`${type.name}.${value.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('keeps the public contract names', () => {
    const query = schema.getQueryType()!.getFields();
    expect(String(query.execution!.type)).toBe('Execution');
    expect(query.execution!.args.map((arg) => `${arg.name}: ${String(arg.type)}`)).toEqual(['id: ID!']);
    expect(String(query.executions!.type)).toBe('[Execution]!');
    expect(query.executions!.args.map((arg) => `${arg.name}: ${String(arg.type)}`)).toEqual(['ids: [ID!]!']);
    const events = schema.getType('Execution');
    expect(isObjectType(events) && String(events.getFields().events!.type)).toBe('ExecutionEventConnection!');
  });

  // The description lists a watch's errors, and a frontend handles what it names: the refusals
  // of its arguments (BAD_USER_INPUT, before any upstream call, or once the execution's list
  // shows that `eventsAfter` names no event of it) were missing from it.
  it('names in executionUpdates\' descriptions the code a watch gets for arguments it cannot take', async () => {
    const harness = await Harness.start({
      upstream: {
        executions: [
          makeExecution({ id: 'ex_other', status: 'workflow_running', eventCount: 2 }),
          makeExecution({ id: 'ex_watched', status: 'workflow_running', eventCount: 2 }),
          makeExecution({ id: 'ex_done', status: 'workflow_succeeded', eventCount: 2 }),
        ],
      },
    });
    try {
      const page = await harness.query<{ execution: { events: { pageInfo: { endCursor: string } } } }>('{ execution(id: "ex_other") { events(first: 1) { pageInfo { endCursor } } } }');
      const otherCursor = page.data!.execution.events.pageInfo.endCursor;
      // A cursor of an event the finished execution's whole list does not hold.
      const goneCursor = encodeEventCursor('ex_done', 'ev_gone', 0);
      const field = schema.getSubscriptionType()!.getFields().executionUpdates!;
      const described = (name: string) => `${field.description} ${field.args.find((arg) => arg.name === name)?.description ?? ''}`;
      const cases: Array<[arg: string, subscription: string, code: string]> = [
        ['id', 'executionUpdates(id: "not an id!")', 'BAD_USER_INPUT'],
        ['eventsAfter', `executionUpdates(id: "ex_watched", eventsAfter: "${otherCursor}")`, 'BAD_USER_INPUT'],
        ['eventsAfter', 'executionUpdates(id: "ex_watched", eventsAfter: "altered")', 'BAD_USER_INPUT'],
        ['eventsAfter', `executionUpdates(id: "ex_done", eventsAfter: "${goneCursor}")`, 'BAD_USER_INPUT'],
      ];
      for (const [arg, subscription, code] of cases) {
        const { results } = await sendOver(harness, 'SSE (POST)', `subscription { ${subscription} { isFinal } }`);
        const codes = results.flatMap((result) => (result.errors ?? []).map((error) => error.extensions?.code));
        expect(codes, subscription).toContain(code);
        expect(described(arg), `${subscription}: ${code}`).toContain(`\`${code}\``);
      }
      // The arguments say it where the other fields' do (Query.execution(id), Execution.events(after)).
      expect(field.args.find((arg) => arg.name === 'id')?.description).toContain('`BAD_USER_INPUT`');
      expect(field.args.find((arg) => arg.name === 'eventsAfter')?.description).toContain('`BAD_USER_INPUT`');
    } finally {
      await harness.close();
    }
  });
});

// Schema tools (GraphiQL's docs, graphql-codegen and registries pointed at the URL) read the schema the
// gateway serves, not the one the code prints: both must be the committed SDL.
describe.each(LANES)('the schema introspection serves (%s lane)', (lane) => {
  const FULL = getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true });
  const TOOL_TRANSPORTS: readonly TransportName[] = ['POST JSON', 'GET', 'application/graphql'];

  it.each(TOOL_TRANSPORTS)('prints as schema/schema.graphql from the full introspection query, and without @specifiedBy from the default one, sent as %s', async (transport) => {
    const harness = await Harness.start({ lane });
    try {
      const printed = async (query: string) => {
        const { results } = await sendOver(harness, transport, query);
        expect(results).toHaveLength(1);
        expect(results[0]!.errors).toBeUndefined();
        return `${printSchema(buildClientSchema(results[0]!.data as unknown as IntrospectionQuery))}\n`;
      };
      const committed = read('schema/schema.graphql');
      expect(await printed(FULL)).toBe(committed);
      expect(committed).toMatch(/^"""\nWorkflow executions and their events, [^"]+\n"""\nschema \{/);
      // The default query asks for neither specifiedByURL nor the schema's description, without which the schema
      // block (root types of the usual names) is not printed; everything else is the same.
      const withoutSchemaBlock = committed.replace(/^"""\n[^"]+\n"""\nschema \{[^}]*\}\n\n/, '');
      expect(withoutSchemaBlock).not.toBe(committed);
      expect(await printed(getIntrospectionQuery())).toBe(withoutSchemaBlock.replace(/ @specifiedBy\(url: "[^"]*"\)/g, ''));
      expect(harness.upstream.requests).toHaveLength(0);
    } finally {
      await harness.close();
    }
  });
});
