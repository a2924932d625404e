import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../codegen.js';
import { schema } from '../src/schema/index.js';
import { printSchemaFile } from '../src/schema/print.js';

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
});
