/**
 * The caches Yoga's parser step keeps (parserAndValidationCache): parsed
 * documents, and the parse errors of texts that failed, both keyed by the
 * operation's text. They are bounded by the heap they hold, not by a count
 * alone: a document's AST keeps a Token and a Location per token, and what is
 * kept beside it lives as long as it does: validation results
 * (./validation-cache.ts), selection facts, and graphql-jit's code for each
 * operation compiled from it (src/fast-lane/compiled-execution.ts), whose
 * size follows the selection with every fragment spread in place, not the
 * text. So a document is counted when it is cached, and counted again for each
 * operation compiled from it (README "What a cached document holds", `npm run
 * bench:documents`).
 */
import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode, type Token } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Heap a cached document holds per token of its text: AST, validation results (README "What a cached document holds"). */
export const HEAP_BYTES_PER_TOKEN = 400;

/** Heap graphql-jit's code for one operation holds: this much, and COMPILED_BYTES_PER_FIELD per field it resolves. */
export const COMPILED_BYTES = 10_000;
export const COMPILED_BYTES_PER_FIELD = 550;

/** What a cached parse error holds besides its text: the error and its formatted stack. */
export const PARSE_ERROR_BYTES = 2_048;

/** Entries per cache at most, whatever their size: lookups stay cheap. */
export const MAX_ENTRIES = 1_024;

/** Share of the bound the parse errors may take: a client can make any number of them, and they serve no one twice. */
export const ERROR_SHARE = 0.25;

/**
 * Estimated heap of one cached document, in bytes: its text (the key, which
 * the AST's source shares) and HEAP_BYTES_PER_TOKEN for each token, comments
 * included. Counted once, when the document is cached; the token walk is as
 * long as the parse.
 */
export function documentBytes(document: DocumentNode, text: string): number {
  let tokens = 0;
  for (let token: Token | null | undefined = document.loc?.startToken; token; token = token.next) tokens++;
  return Math.max(1, text.length + HEAP_BYTES_PER_TOKEN * tokens);
}

/**
 * Estimated heap of graphql-jit's code for `operation`, in bytes: it compiles
 * each field once per place it is resolved, so a fragment counts each time it
 * is spread. Fragments that do not exist or spread themselves are not
 * followed (validation refuses such documents before anything compiles).
 */
export function compiledBytes(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const fields = (selectionSet: SelectionSetNode | undefined, spreading: ReadonlySet<string>): number => {
    let count = 0;
    for (const selection of selectionSet?.selections ?? []) {
      if (selection.kind === Kind.FIELD) count += 1 + fields(selection.selectionSet, spreading);
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += fields(selection.selectionSet, spreading);
      else if (!spreading.has(selection.name.value)) count += fields(fragments.get(selection.name.value)?.selectionSet, new Set([...spreading, selection.name.value]));
    }
    return count;
  };
  return COMPILED_BYTES + COMPILED_BYTES_PER_FIELD * fields(operation.selectionSet, new Set());
}

/**
 * An error cache that formats each error's stack as it is cached. Until its
 * stack is read, an Error keeps V8's record of every frame it was made in,
 * with each frame's function and receiver: for a parse error, the parser
 * with its lexer and tokens.
 */
class ParseErrors extends LRUCache<string, Error> {
  override set(text: string, error: Error, options?: LRUCache.SetOptions<string, Error, unknown>): this {
    void error.stack;
    return super.set(text, error, options);
  }
}

export interface DocumentCaches {
  /** Yoga's `documentCache`. */
  documentCache: LRUCache<string, DocumentNode>;
  /** Yoga's `errorCache`. */
  errorCache: LRUCache<string, Error>;
  /**
   * Counts `operation`'s compiled code against `document`'s entry, which may
   * then leave the cache (and the code with it, kept only while the document
   * is). Nothing for a document the cache does not hold.
   */
  compiled(document: DocumentNode, operation: OperationDefinitionNode): void;
}

/**
 * Yoga's `documentCache` and `errorCache`, holding about `maxBytes` of heap
 * together: documents with their compiled code up to three quarters of it,
 * parse errors the rest. An entry larger than its cache's share is not kept
 * (parsed again each time). `maxBytes` 0 caches nothing.
 */
export function documentCaches(maxBytes: number): DocumentCaches {
  // lru-cache refuses a maxSize of 0; a bound of 1 byte holds nothing, as no entry is that small.
  const documentsBound = Math.max(1, Math.floor(maxBytes * (1 - ERROR_SHARE)));
  const errorsBound = Math.max(1, Math.floor(maxBytes * ERROR_SHARE));
  const documentCache = new LRUCache<string, DocumentNode>({ max: MAX_ENTRIES, maxSize: documentsBound, sizeCalculation: (document, text) => documentBytes(document, text) });
  return {
    documentCache,
    errorCache: new ParseErrors({ max: MAX_ENTRIES, maxSize: errorsBound, sizeCalculation: (_error, text) => text.length + PARSE_ERROR_BYTES }),
    compiled(document, operation) {
      // The cache's key is the text Yoga parsed, which the AST's source holds.
      const text = document.loc?.source.body;
      if (text === undefined || documentCache.peek(text) !== document) return;
      const size = documentCache.info(text)?.size ?? documentBytes(document, text);
      // lru-cache recounts an entry's size only when its value changes: the same document goes in again.
      documentCache.delete(text);
      documentCache.set(text, document, { size: size + compiledBytes(document, operation) });
    },
  };
}
