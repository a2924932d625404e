/**
 * `npm run schema:check`: the schema the code builds (printed as
 * schema/schema.graphql is) against the committed baseline,
 * schema/baseline.graphql. Prints the changes as a changelog entry (Markdown)
 * and exits 1 on a breaking change not declared in schema/breaking-changes.json,
 * or on a declaration that no longer occurs (./schema-changes.ts; README
 * "Schema checks").
 */
import { readFileSync } from 'node:fs';
import { printSchemaFile } from '../src/schema/print.js';
import { changelog, checkSchema, problems, readDeclarations, SchemaCheckError } from './schema-changes.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

let declarations;
try {
  declarations = readDeclarations(read('schema/breaking-changes.json'));
} catch (error) {
  if (!(error instanceof SchemaCheckError)) throw error;
  process.stderr.write(`schema:check: ${error.message}\n`);
  process.exit(1);
}
const check = await checkSchema(read('schema/baseline.graphql'), printSchemaFile(), declarations);
process.stdout.write(changelog(check));
const found = problems(check);
for (const line of found) process.stderr.write(`schema:check: ${line}\n`);
process.exitCode = found.length ? 1 : 0;
