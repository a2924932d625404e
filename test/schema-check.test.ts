/**
 * `npm run schema:check` (scripts/schema-check.ts, scripts/schema-changes.ts):
 * the real baseline against schemas made from it with one change each, and
 * the real schema against the real baseline through the script itself.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kind, parse, parseType, print, visit, type ASTNode, type ASTVisitor, type EnumValueDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { KnownDocumentsError, readKnownDocuments, type KnownDocument } from '../scripts/known-documents.js';
import {
  CHANGED_DEFAULT_REASON,
  changelog,
  checkSchema,
  DIRECTIVE_USAGE_ARGUMENT_CHANGED,
  NON_NULL_OUTPUT_REASON,
  OUTPUT_ENUM_REASON,
  problems,
  readDeclarations,
  SchemaCheckError,
  SPECIFIED_BY_CHANGED_REASON,
  type DeclaredChange,
  type SchemaCheck,
} from '../scripts/schema-changes.js';
import { documentHash } from '../src/pipeline/document-hash.js';
import { defaultOperationLimits } from '../src/config.js';
import { Harness } from './support/harness.js';

/** The operation limits as their settings default them (src/config.ts, OPERATION_MAX_*): the gateways here set none. */
const OPERATION_LIMITS = defaultOperationLimits();

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

/** A frontend build's manifest of these documents, each under its sha256, as `schema:check` reads it. */
const manifestOf = (path: string, documents: Record<string, string>): KnownDocument[] =>
  readKnownDocuments(path, JSON.stringify(Object.fromEntries(Object.values(documents).map((text) => [documentHash(text), text]))));

/** Each document's findings by the name the test gave it. */
const byName = <T>(documents: Record<string, string>, found: Map<KnownDocument, T>): Map<string, T> => {
  const names = new Map(Object.entries(documents).map(([name, text]) => [documentHash(text), name]));
  return new Map([...found].map(([document, value]) => [names.get(document.key)!, value]));
};

/** What the typed client sends: the committed manifest, as the check reads it. */
const KNOWN = readKnownDocuments('schema/persisted-documents.json', read('schema/persisted-documents.json'));
const labelOf = (operation: string) => KNOWN.find((document) => document.label.endsWith(`(${operation})`))!.label;

const REMOVED_REASON = 'No frontend reads statusReason since 2.0; announced on 2026-02-01.';
const REMOVAL_MESSAGE = "Field 'statusReason' was removed from object type 'Execution'";
const removalDeclared: DeclaredChange[] = [{ type: 'FIELD_REMOVED', path: 'Execution.statusReason', message: REMOVAL_MESSAGE, reason: REMOVED_REASON }];

describe('schema check', () => {
  it('fails on a removed field that is not declared, and says how to declare it', async () => {
    const check = await checkSchema(BASELINE, withoutField('Execution', 'statusReason'), []);
    expect(check.ok).toBe(false);
    expect(check.undeclared.map((change) => [change.type, change.path])).toEqual([['FIELD_REMOVED', 'Execution.statusReason']]);
    expect(problems(check)).toEqual([
      'Breaking change not declared: FIELD_REMOVED at Execution.statusReason: Field \'statusReason\' was removed from object type \'Execution\'. Undo it, or declare it in schema/breaking-changes.json as {"type":"FIELD_REMOVED","path":"Execution.statusReason","message":"Field \'statusReason\' was removed from object type \'Execution\'","reason":"…"}.',
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
    const check = await checkSchema(BASELINE, current, [...removalDeclared, { type: 'FIELD_TYPE_CHANGED', path: 'ExecutionStatus.WORKFLOW_PAUSED', message: "Enum value 'WORKFLOW_PAUSED' was added to enum 'ExecutionStatus'", reason: 'Wrong type.' }]);
    expect(check.ok).toBe(false);
    expect(check.undeclared.map((change) => change.path)).toEqual(['ExecutionStatus.WORKFLOW_PAUSED']);
    expect(check.stale.map((declared) => declared.type)).toEqual(['FIELD_TYPE_CHANGED']);
  });

  it('covers with a declared type change only that change: the same field changed into another type is undeclared', async () => {
    const retyped = (type: string) =>
      edited({
        ObjectTypeDefinition(node) {
          if (node.name.value !== 'ExecutionEvent') return undefined;
          return { ...node, fields: node.fields?.map((field) => (field.name.value === 'executionId' ? { ...field, type: parseType(type) } : field)) };
        },
      });
    const declared = readDeclarations(read('schema/breaking-changes.json')).filter((each) => each.path === 'ExecutionEvent.executionId');
    expect(declared.map((each) => each.message)).toEqual(["Field 'ExecutionEvent.executionId' changed type from 'ID' to 'ID!'"]);
    expect((await checkSchema(BASELINE, retyped('ID!'), declared)).ok).toBe(true);
    // The committed declaration waved these through, with its reason for another change.
    for (const type of ['Int!', '[ID!]!']) {
      const check = await checkSchema(BASELINE, retyped(type), declared);
      expect(check.ok, type).toBe(false);
      expect(check.undeclared.map((change) => change.message), type).toEqual([`Field 'ExecutionEvent.executionId' changed type from 'ID' to '${type}'`]);
      expect(check.stale, type).toEqual(declared);
    }
  });

  it('fails on a declaration that no longer occurs (stale)', async () => {
    const check = await checkSchema(BASELINE, BASELINE, removalDeclared);
    expect(check.ok).toBe(false);
    expect(check.stale).toEqual(removalDeclared);
    expect(problems(check)).toEqual([
      "Stale declaration in schema/breaking-changes.json: no breaking change FIELD_REMOVED at Execution.statusReason (Field 'statusReason' was removed from object type 'Execution') any more; remove it.",
    ]);
  });

  it('counts a value added to ExecutionStatus as breaking: frontends switch over it exhaustively', async () => {
    const check = await checkSchema(BASELINE, withEnumValue('ExecutionStatus', 'WORKFLOW_PAUSED'), []);
    expect(check.ok).toBe(false);
    expect(check.undeclared.map((change) => [change.type, change.path, change.criticality.reason])).toEqual([
      ['ENUM_VALUE_ADDED', 'ExecutionStatus.WORKFLOW_PAUSED', OUTPUT_ENUM_REASON],
    ]);
    const declared = await checkSchema(BASELINE, withEnumValue('ExecutionStatus', 'WORKFLOW_PAUSED'), [
      { type: 'ENUM_VALUE_ADDED', path: 'ExecutionStatus.WORKFLOW_PAUSED', message: "Enum value 'WORKFLOW_PAUSED' was added to enum 'ExecutionStatus'", reason: 'Frontends 3.4+ handle it; older ones show UNKNOWN.' },
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

  // A default is what every operation that leaves the argument out runs with: `order: EventOrder = DESC`
  // turned ExecutionPage's `events(first: $first)` newest first, with no error and no change to its
  // text, and the check passed it (inspector has a changed default as dangerous only).
  it('counts a changed default of an argument or an input field as breaking, naming the documents that may rely on it', async () => {
    const argument = await checkSchema(BASELINE, BASELINE.replace('order: EventOrder = ASC', 'order: EventOrder = DESC'), [], KNOWN);
    expect(argument.ok).toBe(false);
    expect(argument.undeclared.map((change) => [change.type, change.path, change.criticality.reason])).toEqual([
      ['FIELD_ARGUMENT_DEFAULT_CHANGED', 'Execution.events.order', CHANGED_DEFAULT_REASON],
    ]);
    expect(argument.touching.get(argument.undeclared[0]!)!.map((document) => document.label)).toEqual(
      expect.arrayContaining([labelOf('query ExecutionPage'), labelOf('query ExecutionEvents')]),
    );
    expect(problems(argument)).toEqual([
      'Breaking change not declared: FIELD_ARGUMENT_DEFAULT_CHANGED at Execution.events.order: Default value for argument \'order\' on field \'Execution.events\' changed from \'"ASC"\' to \'"DESC"\'. Undo it, or declare it in schema/breaking-changes.json as {"type":"FIELD_ARGUMENT_DEFAULT_CHANGED","path":"Execution.events.order","message":"Default value for argument \'order\' on field \'Execution.events\' changed from \'\\"ASC\\"\' to \'\\"DESC\\"\'","reason":"…"}.',
    ]);

    const inputField = await checkSchema(BASELINE, BASELINE.replace('  levels: [String!]\n', '  levels: [String!] = ["error"]\n'), [], KNOWN);
    expect(inputField.undeclared.map((change) => [change.type, change.path])).toEqual([['INPUT_FIELD_DEFAULT_VALUE_CHANGED', 'ExecutionEventFilter.levels']]);
    expect(inputField.touching.get(inputField.undeclared[0]!)!.map((document) => document.label)).toEqual(
      expect.arrayContaining([labelOf('query ExecutionEvents'), labelOf('subscription ExecutionUpdates')]),
    );

    const declared = await checkSchema(BASELINE, BASELINE.replace('order: EventOrder = ASC', 'order: EventOrder = DESC'), [
      { type: 'FIELD_ARGUMENT_DEFAULT_CHANGED', path: 'Execution.events.order', message: `Default value for argument 'order' on field 'Execution.events' changed from '"ASC"' to '"DESC"'`, reason: 'Every frontend passes `order` since 3.2.' },
    ], KNOWN);
    expect(declared.ok).toBe(true);
  });

  // Upstream's contract marks no field required (README "When upstream data is odd"): `createdAt: DateTime!`
  // passed as safe, yet an execution upstream sent without `createdAt` would then be null with an error,
  // where clients got it with one null field; `[Execution!]!` would lose every sibling of one failing id.
  it('counts an output field or list item made non-null as breaking: a value upstream leaves out would fail its parent', async () => {
    const field = await checkSchema(BASELINE, BASELINE.replace('  createdAt: DateTime\n\n  """\n  The execution\'s event log', '  createdAt: DateTime!\n\n  """\n  The execution\'s event log'), [], KNOWN);
    expect(field.ok).toBe(false);
    expect(field.undeclared.map((change) => [change.type, change.path, change.criticality.reason])).toEqual([['FIELD_TYPE_CHANGED', 'Execution.createdAt', NON_NULL_OUTPUT_REASON]]);
    const items = await checkSchema(BASELINE, BASELINE.replace('): [Execution]!', '): [Execution!]!'), [], KNOWN);
    expect(items.undeclared.map((change) => [change.type, change.path])).toEqual([['FIELD_TYPE_CHANGED', 'Query.executions']]);
    expect(items.touching.get(items.undeclared[0]!)!.map((document) => document.label)).toEqual([labelOf('query Executions')]);
    // Input types made non-null break as inspector has it; an output made nullable, too.
    const nullable = await checkSchema(BASELINE, BASELINE.replace('  isTerminal: Boolean!', '  isTerminal: Boolean'), []);
    expect(nullable.undeclared.map((change) => change.path)).toEqual(['Execution.isTerminal']);
    // With inspector's reason: the '!'-blind comparison took a field made nullable (or a list made nullable as its
    // items were made non-null) for one made non-null, and the changelog blamed upstream's missing values.
    for (const check of [nullable, await checkSchema(BASELINE, BASELINE.replace('): [Execution]!', '): [Execution!]'), [])]) {
      expect(check.undeclared).toHaveLength(1);
      expect(check.undeclared[0]!.criticality.reason).not.toBe(NON_NULL_OUTPUT_REASON);
    }
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

  // A new URL for JSON's specification (ECMA moved its page) read as the URL removed, dangerous for a reason about
  // runtime behaviour, and a URL added, safe: two lines for one change, neither with its rating.
  it('reports a changed @specifiedBy URL as one change, dangerous for what the URL names', async () => {
    const JSON_URL = 'http://www.ecma-international.org/publications/files/ECMA-ST/ECMA-404.pdf';
    const NEW_URL = 'https://ecma-international.org/publications-and-standards/standards/ecma-404/';
    expect(BASELINE).toContain(`scalar JSON @specifiedBy(url: "${JSON_URL}")`);
    const check = await checkSchema(BASELINE, BASELINE.replace(JSON_URL, NEW_URL), []);
    expect(check.ok).toBe(true);
    expect([...check.breaking, ...check.dangerous, ...check.safe].map((change) => [change.type, change.path, change.criticality.level, change.criticality.reason])).toEqual([
      [DIRECTIVE_USAGE_ARGUMENT_CHANGED, 'JSON.@specifiedBy.url', 'DANGEROUS', SPECIFIED_BY_CHANGED_REASON],
    ]);
    expect(changelog(check)).toBe(
      `## Schema changes\n\n### Dangerous\n\n- \`JSON.@specifiedBy.url\` Argument 'url' of '@specifiedBy' on 'JSON' changed from "${JSON_URL}" to "${NEW_URL}" (${SPECIFIED_BY_CHANGED_REASON})\n`,
    );
  });

  it('reports any other directive argument given another value as one change; a deprecation reason changed or taken back is safe', async () => {
    const deprecated = (schema: string, reason: (which: string) => string) =>
      schema
        .replace('  rawStatus: String\n', `  rawStatus: String @deprecated${reason('field')}\n`)
        .replace('  order: EventOrder = ASC', `  order: EventOrder = ASC @deprecated${reason('argument')}`)
        .replace('  levels: [String!]\n', `  levels: [String!] @deprecated${reason('input field')}\n`)
        .replace('  WORKFLOW_FAILED\n', `  WORKFLOW_FAILED @deprecated${reason('enum value')}\n`);
    const before = deprecated(BASELINE, (which) => `(reason: "Old ${which} reason.")`);
    const outline = (check: SchemaCheck) => [...check.breaking, ...check.dangerous, ...check.safe].map((change) => [change.type, change.path, change.criticality.level]);
    const reworded = await checkSchema(before, deprecated(BASELINE, (which) => `(reason: "New ${which} reason.")`), []);
    expect(outline(reworded).sort()).toEqual(
      [
        // Inspector's own changes, where it has one; the argument's removal and addition beside them are gone.
        ['FIELD_DEPRECATION_REASON_CHANGED', 'Execution.rawStatus.@deprecated', 'NON_BREAKING'],
        ['ENUM_VALUE_DEPRECATION_REASON_CHANGED', 'ExecutionStatus.WORKFLOW_FAILED.@deprecated', 'NON_BREAKING'],
        [DIRECTIVE_USAGE_ARGUMENT_CHANGED, 'Execution.events.order.@deprecated.reason', 'NON_BREAKING'],
        [DIRECTIVE_USAGE_ARGUMENT_CHANGED, 'ExecutionEventFilter.levels.@deprecated.reason', 'NON_BREAKING'],
      ].sort(),
    );
    expect(changelog(reworded)).toContain(`- \`ExecutionEventFilter.levels.@deprecated.reason\` Argument 'reason' of '@deprecated' on 'ExecutionEventFilter.levels' changed from "Old input field reason." to "New input field reason."`);
    // Taken back, the reason reads "No longer supported": no removal rated dangerous for it.
    const reset = await checkSchema(before, deprecated(BASELINE, () => ''), []);
    expect(reset.dangerous).toEqual([]);
    expect(outline(reset).filter(([type]) => String(type).startsWith('DIRECTIVE_USAGE_ARGUMENT')).sort()).toEqual(
      [
        ['DIRECTIVE_USAGE_ARGUMENT_REMOVED', 'Execution.events.order.@deprecated.reason', 'NON_BREAKING'],
        ['DIRECTIVE_USAGE_ARGUMENT_REMOVED', 'ExecutionEventFilter.levels.@deprecated.reason', 'NON_BREAKING'],
      ].sort(),
    );
    // A directive the check knows nothing about: one change, dangerous as inspector rates an argument's removal.
    const custom = (value: number) => `directive @cost(weight: Int) on FIELD_DEFINITION\n\n${BASELINE.replace('  rawStatus: String\n', `  rawStatus: String @cost(weight: ${value})\n`)}`;
    const weighed = await checkSchema(custom(1), custom(2), []);
    expect(outline(weighed)).toEqual([[DIRECTIVE_USAGE_ARGUMENT_CHANGED, 'Execution.rawStatus.@cost.weight', 'DANGEROUS']]);
    expect(weighed.dangerous[0]!.message).toBe("Argument 'weight' of '@cost' on 'Execution.rawStatus' changed from 1 to 2");
  });

  it('passes the baseline against itself with an empty changelog', async () => {
    const check = await checkSchema(BASELINE, BASELINE, []);
    expect(check.ok).toBe(true);
    expect(changelog(check)).toBe('## Schema changes\n\nNo changes from the baseline (schema/baseline.graphql).\n');
  });

  it('refuses a declaration without a reason', () => {
    expect(() => readDeclarations(JSON.stringify({ changes: [{ type: 'FIELD_REMOVED', path: 'Execution.id', message: "Field 'id' was removed from object type 'Execution'", reason: ' ' }] }))).toThrow(/reason/);
    // Without the message, a declaration would cover whatever change of its type comes next at its path.
    expect(() => readDeclarations(JSON.stringify({ changes: [{ type: 'FIELD_REMOVED', path: 'Execution.id', reason: 'Gone.' }] }))).toThrow(/message/);
    // What schema:check prints as one line and exit 1, not as a stack.
    for (const bad of ['not json', '{"changes": [{"type": "FIELD_REMOVED", "path": "Execution.id"}]}', '{"changes": [{"type": "FIELD_REMOVED", "path": "Execution.id", "reason": "   "}]}']) {
      expect(() => readDeclarations(bad)).toThrow(SchemaCheckError);
      expect(() => readDeclarations(bad)).toThrow(/^schema\/breaking-changes\.json[^\n]*$/);
    }
    // The committed declarations read (each with its reason).
    expect(() => readDeclarations(read('schema/breaking-changes.json'))).not.toThrow();
  });

  // The check read the SDL only: a declared removal passed although the typed client's own
  // ExecutionPage and ExecutionUpdates documents select the field, and would be refused.
  it('fails on a known document the change breaks, declared or not, and names it', async () => {
    const check = await checkSchema(BASELINE, withoutField('Execution', 'statusReason'), removalDeclared, KNOWN);
    expect(check.ok).toBe(false);
    expect([...check.brokenDocuments.keys()].map((document) => document.label).sort()).toEqual([labelOf('query ExecutionPage'), labelOf('subscription ExecutionUpdates')].sort());
    const page = problems(check).find((line) => line.includes('ExecutionPage'));
    expect(page).toBe(
      `Known document no longer validates: ${labelOf('query ExecutionPage')}: Cannot query field "statusReason" on type "Execution". Clients sending it would get GRAPHQL_VALIDATION_FAILED: undo the change or, once no deployed client sends that document, change the operation (schema/operations/, npm run generate) or stop passing its manifest.`,
    );
    expect(problems(check)).toHaveLength(2);
    expect(changelog(check)).toContain(`(declared: ${REMOVED_REASON}; touches ${labelOf('query ExecutionPage')}, ${labelOf('subscription ExecutionUpdates')})`);
    expect(changelog(check)).toContain(`### Known documents that do not validate\n\n- ${labelOf('query ExecutionPage')}: Cannot query field "statusReason" on type "Execution".`);
  });

  it('says which known documents a breaking change touches, and when it touches none', async () => {
    const unused = await checkSchema(BASELINE, withoutField('ExecutionEventConnection', 'nodes'), [{ type: 'FIELD_REMOVED', path: 'ExecutionEventConnection.nodes', message: "Field 'nodes' was removed from object type 'ExecutionEventConnection'", reason: 'Unused.' }], KNOWN);
    expect(unused.ok).toBe(true);
    expect(changelog(unused)).toContain("Field 'nodes' was removed from object type 'ExecutionEventConnection' (declared: Unused.; touches no known document)");
    // A value added to an enum: every document reading a field of that enum is touched, though none names the value.
    const status = await checkSchema(BASELINE, withEnumValue('ExecutionStatus', 'WORKFLOW_PAUSED'), [], KNOWN);
    expect(status.brokenDocuments.size).toBe(0);
    const touched = status.touching.get(status.undeclared[0]!)!.map((document) => document.label).sort();
    expect(touched).toEqual(['query Executions', 'query ExecutionEvents', 'query ExecutionPage', 'query ExecutionStatus', 'subscription ExecutionUpdates'].map(labelOf).sort());
    // A required argument added to a field: every document selecting the field is touched, and broken.
    const argument = edited({
      FieldDefinition(node) {
        if (node.name.value !== 'executions') return undefined;
        return { ...node, arguments: [...(node.arguments ?? []), { kind: Kind.INPUT_VALUE_DEFINITION, name: { kind: Kind.NAME, value: 'tenant' }, type: { kind: Kind.NON_NULL_TYPE, type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } } } }] };
      },
    });
    const required = await checkSchema(BASELINE, argument, [], KNOWN);
    expect(required.undeclared.map((change) => [change.type, change.path])).toEqual([['FIELD_ARGUMENT_ADDED', 'Query.executions.tenant']]);
    expect(required.touching.get(required.undeclared[0]!)!.map((document) => document.label)).toEqual([labelOf('query Executions')]);
    expect([...required.brokenDocuments.keys()].map((document) => document.label)).toEqual([labelOf('query Executions')]);
  });

  it('lists known documents that read a deprecated field without failing', async () => {
    const current = edited({
      FieldDefinition(node) {
        if (node.name.value !== 'rawStatus') return undefined;
        const reason = { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'reason' }, value: { kind: Kind.STRING, value: 'Read status.' } } as const;
        return { ...node, directives: [{ kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'deprecated' }, arguments: [reason] }] };
      },
    });
    const check = await checkSchema(BASELINE, current, [], KNOWN);
    expect(check.ok).toBe(true);
    expect([...check.deprecatedUse.keys()].map((document) => document.label).sort()).toEqual(['query ExecutionPage', 'query ExecutionStatus', 'subscription ExecutionUpdates'].map(labelOf).sort());
    expect(changelog(check)).toContain(
      `### Known documents reading deprecated fields\n\n- ${labelOf('query ExecutionPage')}: The field 'Execution.rawStatus' is deprecated. Read status.\n`,
    );
  });

  it('reads each document on its own: two manifests may each define a fragment of the same name', async () => {
    const fragment = (field: string) => `query Mini($id: ID!) { execution(id: $id) { ...Bits } } fragment Bits on Execution { ${field} }`;
    const documents = [
      ...manifestOf('web.json', { a: fragment('status') }),
      ...manifestOf('mobile.json', { b: fragment('isTerminal') }),
    ];
    const check = await checkSchema(BASELINE, BASELINE, [], documents);
    expect(check.ok).toBe(true);
    expect(check.brokenDocuments.size).toBe(0);
    const broken = await checkSchema(BASELINE, withoutField('Execution', 'isTerminal'), [{ type: 'FIELD_REMOVED', path: 'Execution.isTerminal', message: "Field 'isTerminal' was removed from object type 'Execution'", reason: 'Gone.' }], documents);
    expect([...broken.brokenDocuments.keys()].map((document) => document.label)).toEqual([`mobile.json#${documentHash(fragment('isTerminal')).slice(0, 12)} (query Mini)`]);
  });

  it('tells a document that never validated apart from one the change broke', async () => {
    const text = '{ execution(id: "x") { nope } }';
    const documents = manifestOf('old.json', { c: text });
    const check = await checkSchema(BASELINE, BASELINE, [], documents);
    expect(check.ok).toBe(false);
    expect(problems(check)).toEqual([
      `Known document does not validate, against the baseline either: old.json#${documentHash(text).slice(0, 12)} (query (anonymous)): Cannot query field "nope" on type "Execution". Is it an operation of this API? Fix it or stop passing its manifest.`,
    ]);
  });

  // inspector's validate threw (a stack, no check) on the first three, and passed the mutation the gateway refuses.
  it('holds odd documents to what the gateway does with them, without throwing', async () => {
    const odd = {
      unclosed: 'query Cut { execution(id: "x") { id ',
      unknownFragment: 'query Spread { execution(id: "x") { ...Missing } }',
      dotsInString: 'query Dots { execution(id: "...abc") { id } }',
      mutation: 'mutation Nope { execution(id: "x") { id } }',
    };
    const check = await checkSchema(BASELINE, BASELINE, [], manifestOf('odd.json', odd));
    const broken = byName(odd, check.brokenDocuments);
    expect(broken.get('unclosed')).toEqual(['Syntax Error: Expected Name, found <EOF>.']);
    expect(broken.get('unknownFragment')).toEqual(['Unknown fragment "Missing".']);
    expect(broken.has('dotsInString')).toBe(false);
    expect(broken.get('mutation')?.join(' ')).toMatch(/mutation/i);
    expect(check.neverValid.size).toBe(3);
  });

  // A deployed frontend's documents past the operation limits passed the check (exit 0), though the
  // gateway refuses every one of them: the check validated with graphql-js's rules only.
  it('holds known documents to the operation limits the gateway refuses requests by', async () => {
    const pastLimits = {
      depth: 'query Deep($id: ID!) { execution(id: $id) { events { edges { node { execution { events { edges { node { execution { id } } } } } } } } } }',
      aliases: `query Many { ${Array.from({ length: OPERATION_LIMITS.maxAliases + 1 }, (_, i) => `a${i}: executions(ids: []) { id }`).join(' ')} }`,
      cost: 'query Costly($id: ID!) { execution(id: $id) { events(first: 100) { edges { node { execution { events(first: 100) { nodes { id } } } } } } } }',
      directives: `query Marked($id: ID!) { execution(id: $id) { ${'id @include(if: true) '.repeat(OPERATION_LIMITS.maxDirectives + 1)}} }`,
      tokens: `query Long { executions(ids: [${Array.from({ length: OPERATION_LIMITS.maxTokens }, (_, i) => `"ex_${i}"`).join(', ')}]) { id } }`,
    };
    const harness = await Harness.start();
    try {
      for (const [name, query] of Object.entries(pastLimits)) {
        const response = await harness.query(query, { id: 'ex_demo_1' });
        expect(response.status, name).toBe(400);
        expect(response.errors!.map((error) => error.extensions?.code), name).toEqual([name === 'tokens' ? 'GRAPHQL_PARSE_FAILED' : 'GRAPHQL_VALIDATION_FAILED']);
      }
      expect(harness.upstream.requests).toHaveLength(0);
    } finally {
      await harness.close();
    }
    const check = await checkSchema(BASELINE, BASELINE, [], manifestOf('web.json', pastLimits));
    expect(check.ok).toBe(false);
    const broken = new Map([...byName(pastLimits, check.brokenDocuments)].map(([name, messages]) => [name, messages.join(' ')]));
    expect(broken.get('depth')).toMatch(new RegExp(`^Query depth limit of ${OPERATION_LIMITS.maxDepth} exceeded, found 10\\. `));
    expect(broken.get('aliases')).toMatch(new RegExp(`^Aliases limit of ${OPERATION_LIMITS.maxAliases} exceeded, found ${OPERATION_LIMITS.maxAliases + 1}\\. `));
    expect(broken.get('cost')).toMatch(new RegExp(`^Query Cost limit of ${OPERATION_LIMITS.maxCost} exceeded`));
    expect(broken.get('directives')).toMatch(new RegExp(`^Directives limit of ${OPERATION_LIMITS.maxDirectives} exceeded`));
    expect(broken.get('tokens')).toMatch(new RegExp(`^Token limit of ${OPERATION_LIMITS.maxTokens} exceeded\\. Send a shorter document`));
    // Within the limits, the typed client's documents still pass.
    expect((await checkSchema(BASELINE, BASELINE, [], KNOWN)).ok).toBe(true);
  });

  it('refuses a manifest that is not one, in one line', () => {
    for (const bad of ['not json', '[]', '{"a": 1}']) {
      expect(() => readKnownDocuments('web.json', bad)).toThrow(KnownDocumentsError);
      expect(() => readKnownDocuments('web.json', bad)).toThrow(/^web\.json [^\n]*$/);
    }
  });

  // A frontend's tooling keys its manifest its own way, and the gateway never looks a hash up in it: only its texts are checked.
  it('reads a frontend manifest whatever its keys; holds the gateway\'s own to sha256 keys, in one line', () => {
    const text = 'query Status($id: ID!) { execution(id: $id) { status } }';
    const hash = documentHash(text);
    for (const key of ['Status', `sha256:${hash}`, hash.toUpperCase(), 'a'.repeat(40)]) {
      expect(readKnownDocuments('web.json', JSON.stringify({ [key]: text }))).toEqual([{ manifest: 'web.json', key, text, label: `web.json#${key.slice(0, 12)} (query Status)` }]);
    }
    expect(readKnownDocuments('schema/persisted-documents.json', JSON.stringify({ [hash]: text }), { gatewayManifest: true })).toHaveLength(1);
    const wrong = { [hash]: text, 'Other\nschema:check: all good': 'query Other { __typename }', [`sha256:${hash}`]: text };
    expect(() => readKnownDocuments('schema/persisted-documents.json', JSON.stringify(wrong), { gatewayManifest: true })).toThrow(
      new KnownDocumentsError(
        `schema/persisted-documents.json: 2 of its 3 keys are not the sha256 of the document filed under it: "Other\\nschema:check: all good", whose document's sha256 is ${documentHash('query Other { __typename }')}: run npm run generate`,
      ),
    );
  });

  it('npm run schema:check -- <manifest> holds the schema to a deployed frontend\'s documents too, and exits 1 on one it breaks, 2 on one it cannot read', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'schema-check-'));
    const manifest = join(directory, 'web-3.3.json');
    const old = 'query Old { execution(id: "x") { retiredField } }';
    writeFileSync(manifest, JSON.stringify({ [documentHash(old)]: old }));
    const failed = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts', manifest], { cwd: new URL('..', import.meta.url) }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toBe(
      `schema:check: Known document does not validate, against the baseline either: ${manifest}#${documentHash(old).slice(0, 12)} (query Old): Cannot query field "retiredField" on type "Execution". Is it an operation of this API? Fix it or stop passing its manifest.\n`,
    );
    const missing = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts', join(directory, 'absent.json')], { cwd: new URL('..', import.meta.url) }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    // 2, not 1: the check could not run, which a CI step tells from a change that breaks clients.
    expect(missing?.code).toBe(2);
    // Its own files too: a declarations file moved away was a stack and exit 1, a change that breaks clients.
    const scratch = mkdtempSync(join(tmpdir(), 'schema-check-copy-'));
    for (const path of ['scripts', 'src', 'schema', 'package.json', 'tsconfig.json']) cpSync(new URL(`../${path}`, import.meta.url), join(scratch, path), { recursive: true });
    symlinkSync(new URL('../node_modules', import.meta.url), join(scratch, 'node_modules'));
    rmSync(join(scratch, 'schema/breaking-changes.json'));
    const unread = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts'], { cwd: scratch }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(unread?.code).toBe(2);
    expect(unread?.stderr).toMatch(/^schema:check: cannot read schema\/breaking-changes\.json: ENOENT[^\n]*\n$/);
    // A baseline edited by hand: one line naming it and exit 2, not a stack; several SDL errors in that one line.
    cpSync(new URL('../schema/breaking-changes.json', import.meta.url), join(scratch, 'schema/breaking-changes.json'));
    for (const [baseline, reason] of [
      [`<<<<<<< HEAD\n${BASELINE}=======\n`, /^schema:check: schema\/baseline\.graphql is no schema: Syntax Error: Unexpected character: "<"\.\n$/],
      [`${BASELINE}\ntype Gone { a: Missing b: AlsoMissing }\n`, /^schema:check: schema\/baseline\.graphql is no schema: Unknown type "Missing"\. Unknown type "AlsoMissing"\.\n$/],
    ] as const) {
      writeFileSync(join(scratch, 'schema/baseline.graphql'), baseline);
      const unbuilt = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts'], { cwd: scratch }).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      );
      expect(unbuilt?.code).toBe(2);
      expect(unbuilt?.stderr).toMatch(reason);
    }
    expect(missing?.stderr).toMatch(/^schema:check: cannot read the manifest [^\n]*absent\.json: ENOENT[^\n]*\n$/);
    // Keyed as another tool keys it: its documents checked all the same, and they pass.
    const prefixed = join(directory, 'prefixed.json');
    const current = 'query Current($id: ID!) { execution(id: $id) { status } }';
    writeFileSync(prefixed, JSON.stringify({ [`sha256:${documentHash(current)}`]: current }));
    const passed = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts', prefixed], { cwd: new URL('..', import.meta.url) });
    expect(passed.stderr).toBe('');
  }, 60_000);

  it('npm run schema:check -- <relative manifest> reads it from where npm was run, not from the package root, and names where it looked', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'schema-check-relative-'));
    const current = 'query Current($id: ID!) { execution(id: $id) { status } }';
    writeFileSync(join(directory, 'web.json'), JSON.stringify({ [documentHash(current)]: current }));
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const npm = (manifest: string) =>
      promisify(execFile)('npm', ['run', '--silent', 'schema:check', '--', manifest], { cwd: src }).then(
        (run) => ({ code: 0, stderr: run.stderr }),
        (error: { code: number; stderr: string }) => error,
      );
    const passed = await npm(relative(src, join(directory, 'web.json')));
    expect(passed.stderr).toBe('');
    expect(passed.code).toBe(0);
    const missing = await npm(relative(src, join(directory, 'absent.json')));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`schema:check: cannot read the manifest ${join(directory, 'absent.json')}: ENOENT`);
    rmSync(directory, { recursive: true });
  }, 60_000);

  it('npm run schema:check passes the schema the code builds against the committed baseline', async () => {
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts'], { cwd: new URL('..', import.meta.url) });
    expect(run.stdout).toMatch(/^## Schema changes\n\n/);
    // Exit 0 (execFile rejects otherwise), and no breaking change left undeclared.
    expect(run.stdout).not.toContain('not declared');
    expect(run.stderr).toBe('');
  }, 60_000);
});
