/**
 * The schema check behind `npm run schema:check` (./schema-check.ts): the
 * changes from the committed baseline (schema/baseline.graphql) to the schema
 * the code builds, as @graphql-inspector/core classifies them, with rules
 * of ours on top; which breaking changes are declared, with a reason, in
 * schema/breaking-changes.json; and the changelog entry that lists them.
 *
 * The check fails on a breaking change that is not declared (a declaration
 * names the change's type, path and message), on a
 * declaration that matches no breaking change any more (stale): left in
 * place, it would wave through the next such change at that path
 * without anyone giving a reason for it, and on a known document (the
 * operations frontends send, ./known-documents.ts) that no longer validates.
 */
import { ChangeType, CriticalityLevel, diff, type Change, type Rule } from '@graphql-inspector/core';
import { buildSchema, getNamedType, isEnumType, isInterfaceType, isIntrospectionType, isObjectType, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { checkDocuments, documentsTouching, type KnownDocument } from './known-documents.js';

/**
 * One declared breaking change: inspector's change type, path and message (as the failure message prints them),
 * and why it is accepted. The message names what changed into what (`changed type from 'ID' to 'ID!'`): without
 * it, a declaration of one type change at a path waved through any later one there (`ID` to `Int!`).
 */
export interface DeclaredChange {
  type: string;
  /** Absent only for a change inspector gives no path (schema root types). */
  path?: string;
  message: string;
  reason: string;
}

/** What the failure message's declaration holds for its reason, for the author to replace. */
const REASON_PLACEHOLDER = '…';

const DECLARATIONS = z.object({
  changes: z.array(
    z.strictObject({
      type: z.string().min(1),
      path: z.string().min(1).optional(),
      message: z.string().min(1, 'every declared change needs the message of the change it accepts, as schema:check prints it'),
      reason: z
        .string()
        .trim()
        .min(1, 'every declared change needs a reason')
        // The failure message's declaration ends in `"reason":"…"` for the author to fill in: copied as it is, it passed,
        // and the changelog said `declared: …` with no one having said why clients still work.
        .refine((reason) => !/^(?:…|\.{3})$/.test(reason), `the reason is still the placeholder ${REASON_PLACEHOLDER} of the failure message: replace it with why clients still work (it goes into the changelog)`),
    }),
  ),
});

/** Reads schema/breaking-changes.json; throws with what is wrong in it. */
export function readDeclarations(json: string): DeclaredChange[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new SchemaCheckError(`schema/breaking-changes.json is not JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  const parsed = DECLARATIONS.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SchemaCheckError(`schema/breaking-changes.json: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data.changes;
}

/** A declarations file the check cannot read: one line for the person who edited it, not a stack. */
export class SchemaCheckError extends Error {
  override name = 'SchemaCheckError';
}

/** Enums that reach clients in responses: the type of some field of an object or interface type. */
function outputEnums(schema: GraphQLSchema): Set<string> {
  const names = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || !(isObjectType(type) || isInterfaceType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isEnumType(named)) names.add(named.name);
    }
  }
  return names;
}

export const OUTPUT_ENUM_REASON =
  'A value added to an enum that responses carry reaches clients that switch over it exhaustively (frontends do over ExecutionStatus): their code has no branch for it.';

/**
 * A value added to an enum that responses carry is breaking, not merely
 * dangerous as inspector has it: frontends switch over ExecutionStatus (and
 * the other output enums) exhaustively, and a value they do not know breaks
 * them. A value added to an enum only inputs use (EventOrder) breaks no client.
 * A value of an enum that is new itself stays safe: no client knows the enum.
 */
export const outputEnumAdditionsBreak: Rule = ({ changes, newSchema }) => {
  const enums = newSchema ? outputEnums(newSchema) : new Set<string>();
  return changes.map((change) => {
    if (change.type !== ChangeType.EnumValueAdded) return change;
    const meta = change.meta as { enumName: string; addedToNewType: boolean };
    if (meta.addedToNewType || !enums.has(meta.enumName)) return change;
    return { ...change, criticality: { level: CriticalityLevel.Breaking, reason: OUTPUT_ENUM_REASON } };
  });
};

export const CHANGED_DEFAULT_REASON =
  'Every operation that leaves the argument or input field out, or passes a variable the client leaves unset, runs with the new default: its results change with no error and no change to its text.';

const DEFAULT_CHANGES = new Set<string>([ChangeType.FieldArgumentDefaultChanged, ChangeType.InputFieldDefaultValueChanged]);

/**
 * A changed default (of an argument or an input field, added or removed
 * included) is breaking, not merely dangerous as inspector has it: the known
 * documents lean on defaults (ExecutionPage leaves `order` out), and a client
 * cannot see the change coming, since its operation still validates and only
 * its results differ.
 */
export const changedDefaultsBreak: Rule = ({ changes }) =>
  changes.map((change) =>
    DEFAULT_CHANGES.has(change.type) ? { ...change, criticality: { level: CriticalityLevel.Breaking, reason: CHANGED_DEFAULT_REASON } } : change,
  );

export const NON_NULL_OUTPUT_REASON =
  'Upstream\'s contract marks no field required: when upstream leaves the value out, the error of a non-null field nulls its parent, and clients that got the object with one null field lose all of it (README "When upstream data is odd").';

/** Whether `after` is `before` with non-null added at some level (`String` to `String!`, `[Execution]!` to `[Execution!]!`). */
const onlyMadeNonNull = (before: string, after: string) => before !== after && before.replaceAll('!', '') === after.replaceAll('!', '');

/**
 * An output field (or its list items) made non-null is breaking, not safe as
 * inspector has it: the gateway is a tolerant reader of an upstream that
 * guarantees nothing, and nullability says what it can promise. A field the
 * gateway always fills itself is declared so, with that reason.
 */
export const nonNullOutputsBreak: Rule = ({ changes }) =>
  changes.map((change) => {
    if (change.type !== ChangeType.FieldTypeChanged) return change;
    const meta = change.meta as { oldFieldType: string; newFieldType: string };
    // Inspector rates a field made nullable breaking already, for its own reason; the '!'-blind comparison alone took it for one made non-null.
    if (change.criticality.level !== CriticalityLevel.NonBreaking || !onlyMadeNonNull(meta.oldFieldType, meta.newFieldType)) return change;
    return { ...change, criticality: { level: CriticalityLevel.Breaking, reason: NON_NULL_OUTPUT_REASON } };
  });

export const SPECIFIED_BY_CHANGED_REASON =
  "The URL names the format the scalar's values are served and read in: clients or tools that pick a parser by it may read them differently, and no operation stops validating. Check that the format itself is unchanged (a moved page) or that clients follow.";

/** Inspector's rating of an argument changed on a directive it knows nothing about (its reason for the removal half). */
const DIRECTIVE_ARGUMENT_REASON = 'Changing an argument on a directive can change runtime behavior.';

/**
 * The change type of a directive argument given another value. Hand-written: inspector 8 has none (graphql-inspector#2888).
 */
export const DIRECTIVE_USAGE_ARGUMENT_CHANGED = 'DIRECTIVE_USAGE_ARGUMENT_CHANGED';

interface ArgumentAddedMeta {
  addedArgumentName: string;
  addedArgumentValue: string;
  oldArgumentValue: string | null;
  directiveName: string;
  parentTypeName: string | null;
  parentFieldName: string | null;
  parentArgumentName: string | null;
  parentEnumValueName: string | null;
}

const parentPath = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('.')));

/** Where a directive stands: `'JSON'` (a type), `'Query.d'` (a field, input field or enum value), `argument 'Query.d(id)'`. */
function directiveSite({ parentTypeName, parentFieldName, parentArgumentName, parentEnumValueName }: ArgumentAddedMeta): string {
  const member = parentFieldName ?? parentEnumValueName;
  if (member === null) return parentTypeName ? `'${parentTypeName}'` : 'the schema';
  return parentArgumentName ? `argument '${parentTypeName}.${member}(${parentArgumentName})'` : `'${parentTypeName}.${member}'`;
}

/**
 * A directive argument given another value (`@specifiedBy(url:)` pointing elsewhere, a `@deprecated` reason
 * reworded) is one change. Inspector 8 reports it as the argument removed (dangerous, as on a directive it knows
 * nothing about) and added again (safe): a changelog that read as if the URL were gone, under a reason that holds for
 * neither directive. One change of DIRECTIVE_USAGE_ARGUMENT_CHANGED takes the pair's place, at the same path, rated by
 * what the directive means: a scalar's specification URL dangerous (it names the values' format), a deprecation
 * reason safe (as inspector rates one), any other directive as inspector rates the removal half (dangerous).
 *
 * A deprecation reason set, reworded or taken back (`@deprecated(reason: "…")` to `@deprecated`, whose reason then
 * reads "No longer supported") is safe, as inspector rates it on a field or an enum value: there it says so by a
 * change of its own (FIELD_DEPRECATION_REASON_CHANGED …), and the argument's removal or addition beside it goes;
 * on an input field or an argument, where inspector 8 has no such change, the argument's stays, rated safe.
 */
export const directiveArgumentChanges: Rule = ({ changes }) => {
  const isArgumentChange = (change: Change) => change.type === ChangeType.DirectiveUsageArgumentAdded || change.type === ChangeType.DirectiveUsageArgumentRemoved;
  const changed = new Map<string, Change>();
  for (const change of changes) {
    if (change.type === ChangeType.DirectiveUsageArgumentAdded && (change.meta as ArgumentAddedMeta).oldArgumentValue !== null && change.path) changed.set(change.path, change);
  }
  // Paths of inspector's own deprecation changes: `Query.d.@deprecated`, or the field itself (`Query.d`) for a reason removed.
  const deprecationSaid = new Set(changes.filter((change) => String(change.type).includes('DEPRECATION')).map((change) => change.path));
  return changes.flatMap((change): Change[] => {
    if (!isArgumentChange(change) || !change.path) return [change];
    const { directiveName } = change.meta as { directiveName: string };
    const directivePath = parentPath(change.path);
    if (directiveName === 'deprecated' && (deprecationSaid.has(directivePath) || deprecationSaid.has(parentPath(directivePath)))) return [];
    const added = changed.get(change.path);
    if (!added) return directiveName === 'deprecated' ? [{ ...change, criticality: { level: CriticalityLevel.NonBreaking } }] : [change];
    // The removal half goes; the addition half becomes the one change.
    if (change.type === ChangeType.DirectiveUsageArgumentRemoved) return [];
    const meta = added.meta as ArgumentAddedMeta;
    const criticality =
      directiveName === 'deprecated'
        ? { level: CriticalityLevel.NonBreaking }
        : directiveName === 'specifiedBy'
          ? { level: CriticalityLevel.Dangerous, reason: SPECIFIED_BY_CHANGED_REASON }
          : { level: CriticalityLevel.Dangerous, reason: DIRECTIVE_ARGUMENT_REASON };
    return [
      {
        type: DIRECTIVE_USAGE_ARGUMENT_CHANGED,
        path: added.path,
        message: `Argument '${meta.addedArgumentName}' of '@${meta.directiveName}' on ${directiveSite(meta)} changed from ${meta.oldArgumentValue} to ${meta.addedArgumentValue}`,
        criticality,
        meta: { ...meta, newArgumentValue: meta.addedArgumentValue },
      },
    ];
  });
};

export interface SchemaCheck {
  breaking: Change[];
  dangerous: Change[];
  safe: Change[];
  /** Breaking changes no declaration covers: the check fails. */
  undeclared: Change[];
  /** Declarations that match no breaking change: the check fails. */
  stale: DeclaredChange[];
  /** The reason given for each declared breaking change. */
  reasons: Map<Change, string>;
  /** Known documents the current schema does not validate, with graphql-js's messages: the check fails. */
  brokenDocuments: Map<KnownDocument, string[]>;
  /** Those of them the baseline did not validate either: not this change's doing, but no client can run them. */
  neverValid: Set<KnownDocument>;
  /** Known documents that read deprecated fields, with the messages: listed, not failed. */
  deprecatedUse: Map<KnownDocument, string[]>;
  /** The known documents each breaking change touches. */
  touching: Map<Change, KnownDocument[]>;
  /** How many known documents the check held the schema to. */
  documentCount: number;
  ok: boolean;
}

const matches = (declared: DeclaredChange, change: Change) =>
  declared.type === change.type && (declared.path ?? null) === (change.path ?? null) && declared.message === change.message;

/**
 * Compares `current` with `baseline`, both printed schemas (SDL), holds the
 * breaking changes to `declared` and validates `documents` against `current`.
 * Both sides are built from their text, so inspector compares like with like:
 * a schema built in code has no AST for directives such as `@specifiedBy`,
 * which would read as removed.
 */
export async function checkSchema(
  baseline: string,
  current: string,
  declared: readonly DeclaredChange[],
  documents: readonly KnownDocument[] = [],
): Promise<SchemaCheck> {
  const [before, after] = [buildSchema(baseline), buildSchema(current)];
  const changes = await diff(before, after, [directiveArgumentChanges, outputEnumAdditionsBreak, changedDefaultsBreak, nonNullOutputsBreak]);
  const of = (level: CriticalityLevel) => changes.filter((change) => change.criticality.level === level);
  const breaking = of(CriticalityLevel.Breaking);
  const reasons = new Map<Change, string>();
  for (const change of breaking) {
    const declaration = declared.find((each) => matches(each, change));
    if (declaration) reasons.set(change, declaration.reason);
  }
  const undeclared = breaking.filter((change) => !reasons.has(change));
  const stale = declared.filter((each) => !breaking.some((change) => matches(each, change)));
  const findings = checkDocuments(after, documents);
  const touches = documentsTouching(before, documents);
  return {
    breaking,
    dangerous: of(CriticalityLevel.Dangerous),
    safe: of(CriticalityLevel.NonBreaking),
    undeclared,
    stale,
    reasons,
    brokenDocuments: findings.broken,
    neverValid: new Set(checkDocuments(before, [...findings.broken.keys()]).broken.keys()),
    deprecatedUse: findings.deprecated,
    touching: new Map(breaking.map((change) => [change, touches(change.path)])),
    documentCount: documents.length,
    ok: undeclared.length === 0 && stale.length === 0 && findings.broken.size === 0,
  };
}

const where = (change: Change) => (change.path ? `\`${change.path}\` ` : '');

/** Which known documents a breaking change touches, when the check was given any. */
function touched(check: SchemaCheck, change: Change): string {
  if (check.documentCount === 0) return '';
  const documents = check.touching.get(change) ?? [];
  return documents.length ? `; touches ${documents.map((document) => document.label).join(', ')}` : '; touches no known document';
}

/**
 * The changes as a Markdown changelog entry: Breaking, Dangerous and Safe
 * sections with inspector's messages, then the known documents that no longer
 * validate and those that read deprecated fields.
 */
export function changelog(check: SchemaCheck): string {
  const sections: string[] = [];
  const breaking = check.breaking.map((change) => {
    const reason = check.reasons.get(change);
    const note = reason ? ` (declared: ${reason}${touched(check, change)})` : ` (**not declared**: ${change.criticality.reason ?? 'breaks existing clients'}${touched(check, change)})`;
    return `- ${where(change)}${change.message}${note}`;
  });
  if (breaking.length) sections.push(['### Breaking', '', ...breaking].join('\n'));
  const dangerous = check.dangerous.map((change) => `- ${where(change)}${change.message}${change.criticality.reason ? ` (${change.criticality.reason})` : ''}`);
  if (dangerous.length) sections.push(['### Dangerous', '', ...dangerous].join('\n'));
  const safe = check.safe.map((change) => `- ${where(change)}${change.message}`);
  if (safe.length) sections.push(['### Safe', '', ...safe].join('\n'));
  if (!sections.length) sections.push('No changes from the baseline (schema/baseline.graphql).');
  const broken = [...check.brokenDocuments].map(([document, messages]) => `- ${document.label}: ${messages.join(' ')}`);
  if (broken.length) sections.push(['### Known documents that do not validate', '', ...broken].join('\n'));
  const deprecated = [...check.deprecatedUse].map(([document, messages]) => `- ${document.label}: ${messages.join(' ')}`);
  if (deprecated.length) sections.push(['### Known documents reading deprecated fields', '', ...deprecated].join('\n'));
  return `## Schema changes\n\n${sections.join('\n\n')}\n`;
}

/** Why the check failed, one line per problem; empty when it passed. */
export function problems(check: SchemaCheck): string[] {
  return [
    ...check.undeclared.map(
      (change) =>
        `Breaking change not declared: ${change.type} at ${change.path ?? '(no path)'}: ${change.message}. Undo it, or declare it in schema/breaking-changes.json as ${JSON.stringify({ type: change.type, ...(change.path ? { path: change.path } : {}), message: change.message, reason: REASON_PLACEHOLDER })}.`,
    ),
    ...check.stale.map(
      (declared) =>
        `Stale declaration in schema/breaking-changes.json: no breaking change ${declared.type} at ${declared.path ?? '(no path)'} (${declared.message}) any more; remove it.`,
    ),
    ...[...check.brokenDocuments].map(([document, messages]) =>
      check.neverValid.has(document)
        ? `Known document does not validate, against the baseline either: ${document.label}: ${messages.join(' ')} Is it an operation of this API? Fix it or stop passing its manifest.`
        : `Known document no longer validates: ${document.label}: ${messages.join(' ')} Clients sending it would get GRAPHQL_VALIDATION_FAILED: undo the change or, once no deployed client sends that document, change the operation (schema/operations/, npm run generate) or stop passing its manifest.`,
    ),
  ];
}
