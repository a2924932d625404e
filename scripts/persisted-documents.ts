/**
 * A graphql-codegen plugin that writes the persisted-documents manifest
 * (schema/persisted-documents.json): every operation of schema/operations/,
 * as the document the typed client sends, under the sha256 of that text.
 *
 * The document is the operation followed by the fragments it uses, in the
 * order typed-document-node embeds them in `ExecutionStatusDocument` and the
 * rest, printed by graphql-js's `print`, which is what graphql-request sends
 * for a typed document. The client preset's `persistedDocuments` hashes its
 * own normalised print (sorted selections) instead, which no client of ours
 * sends, and it would replace the generated client; hence this small plugin.
 * test/trusted-documents.test.ts holds the manifest to the exported documents.
 */
import { documentHash } from '../src/pipeline/document-hash.js';
import { Kind, print, visit, type DefinitionNode, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';

const isOperation = (definition: DefinitionNode): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION;
const isFragment = (definition: DefinitionNode): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION;

/** Names of the fragments `root` spreads, directly or through other fragments. */
function fragmentsUsedBy(root: OperationDefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>): Set<string> {
  const used = new Set<string>();
  const walk = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (used.has(name)) return;
        used.add(name);
        const fragment = fragments.get(name);
        if (fragment) walk(fragment);
      },
    });
  walk(root);
  return used;
}

/** Each operation's document text, by operation name, in the order of the operation files. */
export function operationDocuments(documents: ReadonlyArray<{ document?: DocumentNode }>): Map<string, string> {
  const definitions = documents.flatMap((file) => file.document?.definitions ?? []);
  const fragments = definitions.filter(isFragment);
  const byName = new Map(fragments.map((fragment) => [fragment.name.value, fragment]));
  const texts = new Map<string, string>();
  for (const operation of definitions.filter(isOperation)) {
    if (!operation.name) throw new Error('Every operation in schema/operations/ needs a name: the typed client exports it as <Name>Document.');
    const used = fragmentsUsedBy(operation, byName);
    // Fragments in the order of the operation files, as typed-document-node appends them.
    const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...fragments.filter((fragment) => used.has(fragment.name.value))] };
    texts.set(operation.name.value, print(document));
  }
  return texts;
}

/** The manifest, `{ "<sha256 hex>": "<document>" }`, sorted by operation name so it diffs well. */
export function persistedDocuments(documents: ReadonlyArray<{ document?: DocumentNode }>): Record<string, string> {
  const texts = [...operationDocuments(documents)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(texts.map(([, text]) => [documentHash(text), text]));
}

/** graphql-codegen's plugin entry point. */
export function plugin(_schema: GraphQLSchema, documents: ReadonlyArray<{ document?: DocumentNode }>): string {
  return `${JSON.stringify(persistedDocuments(documents), null, 2)}\n`;
}
