/**
 * Known documents: the operations frontends send, read from persisted-documents
 * manifests (`{ "<sha256>": "<document>" }`, the format `npm run generate`
 * writes to schema/persisted-documents.json). The schema check
 * (./schema-changes.ts) holds a changed schema to them: a document that no
 * longer validates fails the check whatever schema/breaking-changes.json
 * declares, since every client still sending it would get
 * GRAPHQL_VALIDATION_FAILED; and each breaking change names the documents it
 * touches, so a declaration can say who is affected.
 *
 * Validation is the gateway's own (src/pipeline/spec-rules.ts: graphql-js's
 * rules as the current spec has them, and src/pipeline/operation-limits.ts:
 * depth, aliases, directives, cost and, as each document is parsed, tokens, at their
 * default values); deprecated
 * fields are found with @graphql-inspector/core's `findDeprecatedUsages`.
 * Not inspector's `validate`: it resolves fragment spreads by a regular
 * expression over the printed text and throws (a stack, no check) on a
 * document that does not parse, that spreads a fragment it does not define, or
 * that merely holds `...name` in a string argument. What a document touches is
 * read here with graphql-js's TypeInfo: inspector's `coverage` counts hits per
 * field but not which document made them.
 */
import { findDeprecatedUsages } from '@graphql-inspector/core/utils/graphql';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  Kind,
  parse,
  Source,
  TypeInfo,
  validate,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { manifestKeysProblem } from '../src/pipeline/document-hash.js';
import { defaultOperationLimits } from '../src/config.js';
import { parseWithinLimits, requestRules } from '../src/pipeline/operation-limits.js';

/**
 * The operation limits as their settings default them (OPERATION_MAX_*): a deployment's own values are its
 * environment's, which the check does not know; one that lowers them is refused at start when they would refuse the
 * gateway's own operations (src/pipeline/own-operations.ts).
 */
const GATEWAY_LIMITS = defaultOperationLimits();

/** What the gateway validates a request with, introspection's switch aside (it depends on configuration, not on the schema). */
const GATEWAY_RULES = requestRules({ introspection: true, limits: GATEWAY_LIMITS });

/** One document of one manifest. `label` names it in messages: the manifest, the first 12 characters of its key, its operations. */
export interface KnownDocument {
  manifest: string;
  /** Its key in the manifest: its sha256 in the gateway's own, whatever a frontend's tooling wrote in another. */
  key: string;
  text: string;
  label: string;
}

/** A manifest that cannot be read: one line for the person who passed it, not a stack. */
export class KnownDocumentsError extends Error {
  override name = 'KnownDocumentsError';
}

function operationNames(text: string): string[] {
  try {
    return parse(text).definitions.flatMap((definition) =>
      definition.kind === Kind.OPERATION_DEFINITION ? [`${definition.operation} ${definition.name?.value ?? '(anonymous)'}`] : [],
    );
  } catch {
    return [];
  }
}

/** The `format` of the manifest Apollo Client's tooling writes (@apollo/generate-persisted-query-manifest, Apollo Kotlin). */
const APOLLO_FORMAT = 'apollo-persisted-query-manifest';

/**
 * The `[id, body]` of each operation of an Apollo persisted query manifest (`{ format, version: 1, operations: [{ id,
 * body, name, type }] }`), the manifest a frontend on Apollo Client deploys; undefined for any other JSON. Refused with
 * `schema:check`'s own line when it says it is one and is not readable as one. Without it, the manifest a frontend on
 * Apollo ships was "not a persisted-documents manifest", and its documents could not be held to the schema.
 */
function apolloManifestEntries(manifest: string, value: unknown): Array<[string, string]> | undefined {
  if (typeof value !== 'object' || value === null || (value as { format?: unknown }).format !== APOLLO_FORMAT) return undefined;
  const { version, operations } = value as { version?: unknown; operations?: unknown };
  if (version !== 1) throw new KnownDocumentsError(`${manifest} is an Apollo persisted query manifest of version ${JSON.stringify(version)}: only version 1 is read`);
  if (!Array.isArray(operations)) throw new KnownDocumentsError(`${manifest} is an Apollo persisted query manifest without an operations list`);
  return operations.map((operation: unknown, index) => {
    const { id, body } = (typeof operation === 'object' && operation !== null ? operation : {}) as { id?: unknown; body?: unknown };
    if (typeof id !== 'string' || typeof body !== 'string') {
      throw new KnownDocumentsError(`${manifest}: operations[${index}] of this Apollo persisted query manifest has no "id" and "body" strings`);
    }
    return [id, body];
  });
}

/**
 * The documents of one manifest, given its path (for messages) and its text.
 * Throws KnownDocumentsError when the text is not a JSON object of strings, nor (for a frontend's manifest) an Apollo
 * persisted query manifest, whose operations are read by their `id` and `body`.
 *
 * A frontend's manifest may key its documents as its tooling does (`sha256:`
 * prefixes, sha1, Relay's md5): the gateway never looks a hash up in it, only
 * in its own, so only the texts are checked. `gatewayManifest`: this is the
 * gateway's own manifest (schema/persisted-documents.json), whose keys must be
 * each document's sha256 (src/pipeline/document-hash.ts), as the gateway
 * refuses it at start otherwise.
 */
export function readKnownDocuments(manifest: string, json: string, { gatewayManifest = false } = {}): KnownDocument[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new KnownDocumentsError(`${manifest} is not JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  const apollo = gatewayManifest ? undefined : apolloManifestEntries(manifest, value);
  if (!apollo && (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.values(value).every((each) => typeof each === 'string'))) {
    throw new KnownDocumentsError(
      `${manifest} is not a persisted-documents manifest ({ "<sha256>": "<document>" }${gatewayManifest ? '' : `, or Apollo's { "format": "${APOLLO_FORMAT}", "version": 1, "operations": [{ "id", "body", … }] }`})`,
    );
  }
  const entries = apollo ?? Object.entries(value as Record<string, string>);
  const keys = gatewayManifest ? manifestKeysProblem(entries) : undefined;
  if (keys) throw new KnownDocumentsError(`${manifest}: ${keys}: run npm run generate`);
  return entries.map(([key, text]) => ({
    manifest,
    key,
    text,
    label: `${manifest}#${key.slice(0, 12)} (${operationNames(text).join(', ') || 'no operation'})`,
  }));
}

/** What a document no longer passes, and which deprecated fields it still reads; messages are graphql-js's. */
export interface DocumentFindings {
  broken: Map<KnownDocument, string[]>;
  deprecated: Map<KnownDocument, string[]>;
}

/**
 * Validates every document against `schema` as the gateway validates a
 * request's, each on its own: a manifest's documents each carry their
 * fragments, and one frontend's `EventDetails` is not another's. A document
 * that does not parse is broken, with the syntax error as its message.
 */
export function checkDocuments(schema: GraphQLSchema, documents: readonly KnownDocument[]): DocumentFindings {
  const findings: DocumentFindings = { broken: new Map(), deprecated: new Map() };
  for (const document of documents) {
    let parsed: DocumentNode;
    try {
      parsed = parseWithinLimits(new Source(document.text, document.label), GATEWAY_LIMITS);
    } catch (error) {
      findings.broken.set(document, [(error as Error).message]);
      continue;
    }
    const errors = validate(schema, parsed, GATEWAY_RULES);
    if (errors.length) findings.broken.set(document, errors.map((error) => error.message));
    const deprecated = findDeprecatedUsages(schema, parsed);
    if (deprecated.length) findings.deprecated.set(document, deprecated.map((error) => error.message));
  }
  return findings;
}

/**
 * The schema coordinates a document uses, read against the schema it was
 * written for: each selected field (`Execution.status`), each argument given
 * (`Query.execution.id`), the named type of each field, argument and variable
 * (`ExecutionStatus`), and each input field given in a literal
 * (`ExecutionEventFilter.types`). Empty for a document that does not parse.
 */
function coordinatesOf(schema: GraphQLSchema, text: string): Set<string> {
  let document: DocumentNode;
  try {
    document = parse(text);
  } catch {
    return new Set();
  }
  const used = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  const useType = (type: Parameters<typeof getNamedType>[0] | null | undefined) => {
    const named = type ? getNamedType(type) : undefined;
    if (named) used.add(named.name);
  };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        if (!parent || !field) return;
        used.add(`${parent.name}.${field.name}`);
        useType(field.type);
      },
      Argument() {
        const parent = typeInfo.getParentType();
        const field = typeInfo.getFieldDef();
        const argument = typeInfo.getArgument();
        if (!parent || !field || !argument) return;
        used.add(`${parent.name}.${field.name}.${argument.name}`);
        useType(argument.type);
      },
      ObjectField(node) {
        const parent = typeInfo.getParentInputType();
        const named = parent ? getNamedType(parent) : undefined;
        if (named && isInputObjectType(named)) used.add(`${named.name}.${node.name.value}`);
      },
      VariableDefinition() {
        useType(typeInfo.getInputType());
      },
    }),
  );
  return used;
}

/**
 * The documents a change at `path` (inspector's path: `Type`, `Type.field`,
 * `Type.field.argument`, `Enum.VALUE`) touches: those that use that
 * coordinate, or whose path lies under a field they select (an argument
 * added to it), an enum they read or an input type they send (a value or
 * input field added to it). `schema` is the one the documents were written
 * for, where the coordinates a change removes still exist.
 */
export function documentsTouching(schema: GraphQLSchema, documents: readonly KnownDocument[]): (path: string | null | undefined) => KnownDocument[] {
  const used = documents.map((document) => ({ document, coordinates: coordinatesOf(schema, document.text) }));
  const widens = (coordinate: string) => {
    if (coordinate.includes('.')) return coordinate.split('.').length === 2;
    const type = schema.getType(coordinate);
    return isEnumType(type) || isInputObjectType(type);
  };
  return (path) => {
    if (!path) return [];
    return used
      .filter(({ coordinates }) => {
        if (coordinates.has(path)) return true;
        for (const coordinate of coordinates) if (path.startsWith(`${coordinate}.`) && widens(coordinate)) return true;
        return false;
      })
      .map(({ document }) => document);
  };
}
