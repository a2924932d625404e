/**
 * The caches Yoga's parser step keeps (parserAndValidationCache): parsed
 * documents, and the parse errors of texts that failed, both keyed by the
 * operation's text. They are bounded by the heap they hold, not by a count
 * alone: a document's AST keeps a Token and a Location per token, and what is
 * kept beside it lives as long as it does: validation results
 * (./validation-cache.ts), selection facts, and graphql-jit's code for each
 * operation compiled from it, whose size the fast lane estimates
 * (src/fast-lane/compiled-execution.ts) and which is compiled only when it fits
 * (README "What a cached document holds", `npm run bench:documents`).
 */
import type { DocumentNode, Token } from 'graphql';
import { LRUCache } from 'lru-cache';

/** Heap a cached document holds per token of its text: AST, validation results (README "What a cached document holds"). */
export const HEAP_BYTES_PER_TOKEN = 400;

/** What a cached parse error holds besides its text: the error and its formatted stack. */
export const PARSE_ERROR_BYTES = 2_048;

/** Entries per cache at most, whatever their size: lookups stay cheap. */
export const MAX_ENTRIES = 1_024;

/** Share of the bound the parse errors may take: a client can make any number of them, and they serve no one twice. */
export const ERROR_SHARE = 0.25;

/** Bytes V8 stores `text` in: one per character while every character is below U+0100, else two. */
export function textBytes(text: string): number {
  return /[^\u0000-\u00ff]/.test(text) ? 2 * text.length : text.length;
}

/**
 * Estimated heap of one cached document, in bytes: its text (the key, which
 * the AST's source shares) and HEAP_BYTES_PER_TOKEN for each token, comments
 * included. Counted once, when the document is cached; the walks are as long
 * as the parse. A document parsed without locations (the gateway parses none)
 * counts its text only.
 */
export function documentBytes(document: DocumentNode, text: string): number {
  let tokens = 0;
  for (let token: Token | null | undefined = document.loc?.startToken; token; token = token.next) tokens++;
  return Math.max(1, textBytes(text) + HEAP_BYTES_PER_TOKEN * tokens);
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
   * Whether code of `bytes` compiled from `document` may be kept: true when the
   * cache holds the document and the two fit its share, and then the code is
   * counted against the document's entry. False leaves the entry as it was;
   * the operation then runs uncompiled.
   */
  chargeCompiled(document: DocumentNode, bytes: number): boolean;
}

/**
 * Yoga's `documentCache` and `errorCache`, holding about `maxBytes` of heap
 * together: documents with their compiled code up to 1 - ERROR_SHARE of it
 * (the documents' share), parse errors the rest. An entry larger than its
 * cache's share is not kept (parsed again each time). `maxBytes` 0 caches
 * nothing.
 */
export function createDocumentCaches(maxBytes: number): DocumentCaches {
  // lru-cache refuses a maxSize of 0; a bound of 1 byte holds nothing, as no entry is that small.
  const documentsBound = Math.max(1, Math.floor(maxBytes * (1 - ERROR_SHARE)));
  const errorsBound = Math.max(1, Math.floor(maxBytes * ERROR_SHARE));
  const documentCache = new LRUCache<string, DocumentNode>({ max: MAX_ENTRIES, maxSize: documentsBound, sizeCalculation: (document, text) => documentBytes(document, text) });
  return {
    documentCache,
    errorCache: new ParseErrors({ max: MAX_ENTRIES, maxSize: errorsBound, sizeCalculation: (_error, text) => textBytes(text) + PARSE_ERROR_BYTES }),
    chargeCompiled(document, bytes) {
      // The cache's key is the text Yoga parsed, which the AST's source holds.
      const text = document.loc?.source.body;
      if (text === undefined || documentCache.peek(text) !== document) return false;
      const size = (documentCache.info(text)?.size ?? documentBytes(document, text)) + bytes;
      if (size > documentsBound) return false;
      // lru-cache recounts an entry's size only when its value changes: the same document goes in again.
      documentCache.delete(text);
      documentCache.set(text, document, { size });
      return true;
    },
  };
}
