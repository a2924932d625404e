/**
 * `npm run schema:check [-- <manifest.json> …]`: the schema the code builds
 * (printed as schema/schema.graphql is) against the committed baseline,
 * schema/baseline.graphql, and against the known documents: those of
 * schema/persisted-documents.json (what the typed client sends) and of every
 * persisted-documents manifest named on the command line (those of frontend
 * builds still deployed). Prints the changes as a changelog entry (Markdown)
 * and exits 1 on a breaking change not declared in
 * schema/breaking-changes.json, on a declaration that no longer occurs, or on
 * a known document that no longer validates (./schema-changes.ts; README
 * "Schema checks"); 2 when the check could not run (a declarations file or a
 * manifest it cannot read), so a CI step can tell "the change breaks clients"
 * from "the check is set up wrong".
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema } from 'graphql';
import { printSchemaFile } from '../src/schema/print.js';
import { KnownDocumentsError, readKnownDocuments, type KnownDocument } from './known-documents.js';
import { changelog, checkSchema, problems, readDeclarations, SchemaCheckError } from './schema-changes.js';

/** Exit codes: the change was checked and fails; the check could not run. */
const FAILED = 1;
const CANNOT_CHECK = 2;

/** Ends the run with one line, for a file the person running the check wrote or named. */
function refuse(message: string): never {
  process.stderr.write(`schema:check: ${message}\n`);
  process.exit(CANNOT_CHECK);
}

/** A file of this repository the check reads; one it cannot read stops it (CANNOT_CHECK), as a manifest does. */
function read(path: string): string {
  try {
    return readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  } catch (error) {
    refuse(`cannot read ${path}: ${(error as Error).message}`);
  }
}

// Anything else that stops the check (a schema that does not build, a bug of its own) is no verdict on the change.
process.on('uncaughtException', (error) => {
  process.stderr.write(`schema:check: the check could not run: ${error.stack ?? String(error)}\n`);
  process.exit(CANNOT_CHECK);
});

let declarations;
const documents: KnownDocument[] = [];
try {
  declarations = readDeclarations(read('schema/breaking-changes.json'));
  documents.push(...readKnownDocuments('schema/persisted-documents.json', read('schema/persisted-documents.json'), { gatewayManifest: true }));
  for (const path of process.argv.slice(2)) {
    // npm runs scripts from the package root; INIT_CWD is where `npm run` was typed, which a relative path is relative to.
    const at = resolve(process.env.INIT_CWD || process.cwd(), path);
    let text: string;
    try {
      text = readFileSync(at, 'utf8');
    } catch (error) {
      // The resolved path: the one given may not be where it was looked for.
      throw new KnownDocumentsError(`cannot read the manifest ${at}: ${(error as Error).message}`);
    }
    documents.push(...readKnownDocuments(path, text));
  }
} catch (error) {
  if (!(error instanceof SchemaCheckError || error instanceof KnownDocumentsError)) throw error;
  refuse(error.message);
}
const baseline = read('schema/baseline.graphql');
try {
  buildSchema(baseline);
} catch (error) {
  // Edited by hand (a merge's conflict markers, a type removed): one line naming the file, as for any file the check
  // reads, not a stack; graphql-js joins several SDL errors with blank lines.
  refuse(`schema/baseline.graphql is no schema: ${(error as Error).message.replace(/\s*\n\s*/g, ' ')}`);
}
const check = await checkSchema(baseline, printSchemaFile(), declarations, documents);
process.stdout.write(changelog(check));
const found = problems(check);
for (const line of found) process.stderr.write(`schema:check: ${line}\n`);
process.exitCode = found.length ? FAILED : 0;
