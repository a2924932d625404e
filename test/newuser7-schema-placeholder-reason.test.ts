/**
 * `npm run schema:check` on an undeclared breaking change prints the declaration to add, its reason a placeholder
 * (`"reason":"…"`) for the author to fill in. Copied as it is into schema/breaking-changes.json, it passed: the
 * change went through with `declared: …` in the changelog and nobody had said why clients still work.
 */
import { readFileSync } from 'node:fs';
import { parse, print, visit, type ASTNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkSchema, problems, readDeclarations, SchemaCheckError } from '../scripts/schema-changes.js';

const BASELINE = readFileSync(new URL('../schema/baseline.graphql', import.meta.url), 'utf8');

/** The baseline without `Execution.statusReason`: a breaking change nobody declared yet. */
const WITHOUT_STATUS_REASON = print(
  visit(parse(BASELINE), {
    ObjectTypeDefinition(node) {
      if (node.name.value !== 'Execution') return undefined;
      return { ...node, fields: node.fields?.filter((field) => field.name.value !== 'statusReason') };
    },
  }) as ASTNode,
);

/** The declaration the failure line tells the author to add, as it prints it. */
async function suggestedDeclaration(): Promise<Record<string, string>> {
  // statusReason is selected by known documents: leave them out, so the only problem is the undeclared change.
  const check = await checkSchema(BASELINE, WITHOUT_STATUS_REASON, [], []);
  const line = problems(check).find((each) => each.startsWith('Breaking change not declared: FIELD_REMOVED at Execution.statusReason'));
  expect(line).toBeDefined();
  return JSON.parse(line!.slice(line!.indexOf(' as {') + 4, -1)) as Record<string, string>;
}

describe('schema:check declarations', () => {
  it('refuses the failure message\'s declaration copied with its placeholder reason, saying to replace it', async () => {
    const declaration = await suggestedDeclaration();
    expect(declaration.reason).toBe('…');
    const copied = JSON.stringify({ changes: [declaration] });
    expect(() => readDeclarations(copied)).toThrow(SchemaCheckError);
    expect(() => readDeclarations(copied)).toThrow(
      'schema/breaking-changes.json: changes.0.reason: the reason is still the placeholder … of the failure message: replace it with why clients still work (it goes into the changelog)',
    );
    // Three dots, as an editor without the ellipsis writes it, are no reason either.
    expect(() => readDeclarations(JSON.stringify({ changes: [{ ...declaration, reason: ' ... ' }] }))).toThrow(/placeholder/);
  });

  it('takes the same declaration once its reason is written, and the change passes', async () => {
    const declaration = await suggestedDeclaration();
    const declared = readDeclarations(JSON.stringify({ changes: [{ ...declaration, reason: 'No frontend reads statusReason since 2.0 … announced on 2026-02-01.' }] }));
    const check = await checkSchema(BASELINE, WITHOUT_STATUS_REASON, declared, []);
    expect(problems(check)).toEqual([]);
  });
});
