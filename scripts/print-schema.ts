/** Writes schema/schema.graphql and the README's settings tables from the code; `npm run generate` runs it before codegen. */
import { readFileSync, writeFileSync } from 'node:fs';
import { printSchemaFile } from '../src/schema/print.js';
import { withSettingsTables } from './settings-table.js';

writeFileSync(new URL('../schema/schema.graphql', import.meta.url), printSchemaFile());
const readme = new URL('../README.md', import.meta.url);
writeFileSync(readme, withSettingsTables(readFileSync(readme, 'utf8')));
