/**
 * The caches Yoga's parser step keeps (parserAndValidationCache): parsed
 * documents, and the parse errors of texts that failed, both keyed by the
 * operation's text. They are bounded by the heap they hold, not by a count
 * alone: a document's AST keeps a Token and a Location per token, and the
 * validation results (./validation-cache.ts), compiled code (src/fast-lane/)
 * and selection facts kept beside it live as long as it does, so 1,024
 * distinct documents within the operation limits could hold most of a
 * gigabyte (README "What a cached document holds", `npm run bench:documents`).
 */
import type { DocumentNode, Token } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Heap a cached document holds per token of its text, from `npm run bench:documents` (README "What a cached document holds"). */
export const HEAP_BYTES_PER_TOKEN = 640;

/** What a cached parse error holds besides its text: the error and its formatted stack. */
export const PARSE_ERROR_BYTES = 2_048;

/** Entries per cache at most, whatever their size: lookups stay cheap. */
export const MAX_ENTRIES = 1_024;

/** Share of the bound the parse errors may take: a client can make any number of them, and they serve no one twice. */
export const ERROR_SHARE = 0.25;

/**
 * Estimated heap of one cached document, in bytes: its text (the key, which
 * the AST's source shares) and HEAP_BYTES_PER_TOKEN for each token. Counted
 * once, when the document is cached; the token walk is as long as the parse.
 */
export function documentBytes(document: DocumentNode, text: string): number {
  let tokens = 0;
  for (let token: Token | null | undefined = document.loc?.startToken; token; token = token.next) tokens++;
  return Math.max(1, text.length + HEAP_BYTES_PER_TOKEN * tokens);
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

/**
 * Yoga's `documentCache` and `errorCache`, holding about `maxBytes` of heap
 * together: documents up to three quarters of it, parse errors the rest. An
 * entry larger than its cache's share is not cached (parsed again each time).
 * `maxBytes` 0 caches nothing.
 */
export function documentCaches(maxBytes: number): { documentCache: LRUCache<string, DocumentNode>; errorCache: LRUCache<string, Error> } {
  // lru-cache refuses a maxSize of 0; a bound of 1 byte holds nothing, as no entry is that small.
  const documentsBound = Math.max(1, Math.floor(maxBytes * (1 - ERROR_SHARE)));
  const errorsBound = Math.max(1, Math.floor(maxBytes * ERROR_SHARE));
  return {
    documentCache: new LRUCache<string, DocumentNode>({ max: MAX_ENTRIES, maxSize: documentsBound, sizeCalculation: (document, text) => documentBytes(document, text) }),
    errorCache: new ParseErrors({ max: MAX_ENTRIES, maxSize: errorsBound, sizeCalculation: (_error, text) => text.length + PARSE_ERROR_BYTES }),
  };
}
