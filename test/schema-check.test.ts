/**
 * `npm run schema:check` (scripts/schema-check.ts, scripts/schema-changes.ts):
 * the real baseline against schemas made from it with one change each, and
 * the real schema against the real baseline through the script itself.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Kind, parse, print, visit, type ASTNode, type ASTVisitor, type EnumValueDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { changelog, checkSchema, OUTPUT_ENUM_REASON, problems, readDeclarations, SchemaCheckError, type DeclaredChange } from '../scripts/schema-changes.js';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const BASELINE = read('schema/baseline.graphql');

/** The baseline with `edit` applied to its AST, printed again. */
function edited(edit: ASTVisitor): string {
  const next = print(visit(parse(BASELINE), edit) as ASTNode);
  expect(next).not.toBe(print(parse(BASELINE)));
  return next;
}

const withoutField = (typeName: string, fieldName: string) =>
  edited({
    ObjectTypeDefinition(node) {
      if (node.name.value !== typeName) return undefined;
      return { ...node, fields: node.fields?.filter((field) => field.name.value !== fieldName) };
    },
  });

const withEnumValue = (enumName: string, value: string) =>
  edited({
    EnumTypeDefinition(node) {
      if (node.name.value !== enumName) return undefined;
      const added: EnumValueDefinitionNode = { kind: Kind.ENUM_VALUE_DEFINITION, name: { kind: Kind.NAME, value }, description: { kind: Kind.STRING, value: 'New.' } };
      return { ...node, values: [...(node.values ?? []), added] };
    },
  });

const REMOVED_REASON = 'No frontend reads statusReason since 2.0; announced on 2026-02-01.';
const removalDeclared: DeclaredChange[] = [{ type: 'FIELD_REMOVED', path: 'Execution.statusReason', reason: REMOVED_REASON }];

describe('schema check', () => {
  it('fails on a removed field that is not declared, and says how to declare it', async () => {
    const check = await checkSchema(BASELINE, withoutField('Execution', 'statusReason'), []);
    expect(check.ok).toBe(false);
    expect(check.undeclared.map((change) => [change.type, change.path])).toEqual([['FIELD_REMOVED', 'Execution.statusReason']]);
    expect(problems(check)).toEqual([
      'Breaking change not declared: FIELD_REMOVED at Execution.statusReason: Field \'statusReason\' was removed from object type \'Execution\'. Undo it, or declare it in schema/breaking-changes.json as {"type":"FIELD_REMOVED","path":"Execution.statusReason","reason":"…"}.',
    ]);
    expect(changelog(check)).toContain('### Breaking\n\n- `Execution.statusReason` Field \'statusReason\' was removed from object type \'Execution\' (**not declared**');
  });

  it('passes a declared removal, and the changelog gives its reason', async () => {
    const check = await checkSchema(BASELINE, withoutField('Execution', 'statusReason'), removalDeclared);
    expect(check.ok).toBe(true);
    expect(problems(check)).toEqual([]);
    expect(changelog(check)).toBe(
      `## Schema changes\n\n### Breaking\n\n- \`Execution.statusReason\` Field 'statusReason' was removed from object type 'Execution' (declared: ${REMOVED_REASON})\n`,
    );
  });

  it('covers with a declaration only the change of its type at its path', async () => {
    const current = print(
      visit(parse(withoutField('Execution', 'statusReason')), {
        EnumTypeDefinition(node) {
          if (node.name.value !== 'ExecutionStatus') return undefined;
          const added: EnumValueDefinitionNode = { kind: Kind.ENUM_VALUE_DEFINITION, name: { kind: Kind.NAME, value: 'WORKFLOW_PAUSED' } };
          return { ...node, values: [...(node.values ?? []), added] };
        },
      }),
    );
    const check = await checkSchema(BASELINE, current, [...removalDeclared, { type: 'FIELD_TYPE_CHANGED', path: 'ExecutionStatus.WORKFLOW_PAUSED', reason: 'Wrong type.' }]);
    expect(check.ok).toBe(false);
    expect(check.undeclared.map((change) => change.path)).toEqual(['ExecutionStatus.WORKFLOW_PAUSED']);
    expect(check.stale.map((declared) => declared.type)).toEqual(['FIELD_TYPE_CHANGED']);
  });

  it('fails on a declaration that no longer occurs (stale)', async () => {
    const check = await checkSchema(BASELINE, BASELINE, removalDeclared);
    expect(check.ok).toBe(false);
    expect(check.stale).toEqual(removalDeclared);
    expect(problems(check)).toEqual([
      'Stale declaration in schema/breaking-changes.json: no breaking change FIELD_REMOVED at Execution.statusReason any more; remove it.',
    ]);
  });

  it('counts a value added to ExecutionStatus as breaking: frontends switch over it exhaustively', async () => {
    const check = await checkSchema(BASELINE, withEnumValue('ExecutionStatus', 'WORKFLOW_PAUSED'), []);
    expect(check.ok).toBe(false);
    expect(check.undeclared.map((change) => [change.type, change.path, change.criticality.reason])).toEqual([
      ['ENUM_VALUE_ADDED', 'ExecutionStatus.WORKFLOW_PAUSED', OUTPUT_ENUM_REASON],
    ]);
    const declared = await checkSchema(BASELINE, withEnumValue('ExecutionStatus', 'WORKFLOW_PAUSED'), [
      { type: 'ENUM_VALUE_ADDED', path: 'ExecutionStatus.WORKFLOW_PAUSED', reason: 'Frontends 3.4+ handle it; older ones show UNKNOWN.' },
    ]);
    expect(declared.ok).toBe(true);
  });

  it('counts a value added to any enum responses carry as breaking, and one added to an input-only enum as dangerous', async () => {
    const output = await checkSchema(BASELINE, withEnumValue('ExecutionUpdateEnd', 'CALLER_LEFT'), []);
    expect(output.undeclared.map((change) => change.path)).toEqual(['ExecutionUpdateEnd.CALLER_LEFT']);
    const input = await checkSchema(BASELINE, withEnumValue('EventOrder', 'RANDOM'), []);
    expect(input.ok).toBe(true);
    expect(input.dangerous.map((change) => [change.type, change.path])).toEqual([['ENUM_VALUE_ADDED', 'EventOrder.RANDOM']]);
    expect(changelog(input)).toMatch(/^## Schema changes\n\n### Dangerous\n\n- `EventOrder\.RANDOM` Enum value 'RANDOM' was added to enum 'EventOrder'/);
  });

  it('passes a description change, listed as safe', async () => {
    const current = edited({
      FieldDefinition(node) {
        if (node.name.value !== 'isTerminal') return undefined;
        return { ...node, description: { kind: Kind.STRING, value: 'True once the execution can change no more.', block: true } };
      },
    });
    const check = await checkSchema(BASELINE, current, []);
    expect(check.ok).toBe(true);
    expect(check.breaking).toEqual([]);
    expect(check.safe.map((change) => [change.type, change.path])).toEqual([['FIELD_DESCRIPTION_CHANGED', 'Execution.isTerminal']]);
    expect(changelog(check)).toMatch(/^## Schema changes\n\n### Safe\n\n- `Execution\.isTerminal` Field 'Execution\.isTerminal' description changed from /);
  });

  it('passes the baseline against itself with an empty changelog', async () => {
    const check = await checkSchema(BASELINE, BASELINE, []);
    expect(check.ok).toBe(true);
    expect(changelog(check)).toBe('## Schema changes\n\nNo changes from the baseline (schema/baseline.graphql).\n');
  });

  it('refuses a declaration without a reason', () => {
    expect(() => readDeclarations(JSON.stringify({ changes: [{ type: 'FIELD_REMOVED', path: 'Execution.id', reason: ' ' }] }))).toThrow(/reason/);
    // What schema:check prints as one line and exit 1, not as a stack.
    for (const bad of ['not json', '{"changes": [{"type": "FIELD_REMOVED", "path": "Execution.id"}]}', '{"changes": [{"type": "FIELD_REMOVED", "path": "Execution.id", "reason": "   "}]}']) {
      expect(() => readDeclarations(bad)).toThrow(SchemaCheckError);
      expect(() => readDeclarations(bad)).toThrow(/^schema\/breaking-changes\.json[^\n]*$/);
    }
    expect(readDeclarations(read('schema/breaking-changes.json'))).toEqual([]);
  });

  it('npm run schema:check passes the schema the code builds against the committed baseline', async () => {
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts'], { cwd: new URL('..', import.meta.url) });
    expect(run.stdout).toMatch(/^## Schema changes\n\n/);
    // Exit 0 (execFile rejects otherwise), and no breaking change left undeclared.
    expect(run.stdout).not.toContain('not declared');
    expect(run.stderr).toBe('');
  }, 60_000);
});
