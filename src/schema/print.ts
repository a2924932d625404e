import { printSchema } from 'graphql';
import { schema } from './index.js';

/** The committed form of the schema: sorted, with descriptions, newline-terminated. */
export function printSchemaFile(): string {
  return `${printSchema(schema)}\n`;
}
