/** Writes schema/schema.graphql from the code; `npm run generate` runs it before codegen. */
import { writeFileSync } from 'node:fs';
import { printSchemaFile } from '../src/schema/print.js';

writeFileSync(new URL('../schema/schema.graphql', import.meta.url), printSchemaFile());
