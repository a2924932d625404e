/**
 * Whether a GET asks for a mutation, read from its URL as Yoga's GET parser reads it (`query`, and
 * `operationName` when not empty). GraphQL over HTTP answers that with 405 and `Allow: POST`, which Yoga
 * decides once it has parsed the document; the edge decides Accept before that, so a GET of a mutation
 * that also took no type the gateway sends got 406, where RFC 9110's order checks the method first.
 * Asked only when the edge is about to refuse the Accept: a served request's document is parsed once,
 * by the pipeline. A document that does not parse, or passes the token limit, names no operation here,
 * and keeps its 406; with TRUSTED_DOCUMENTS=only the edge does not ask (./http-edge.ts).
 */
import type { IncomingMessage } from 'node:http';
import { getOperationAST, parse, type DocumentNode } from 'graphql';

/** `maxTokens`: OPERATION_MAX_TOKENS, past which the pipeline would not parse the document either. */
export function asksMutationByGet(request: IncomingMessage, maxTokens: number): boolean {
  const target = request.url ?? '';
  const at = target.indexOf('?');
  if (request.method !== 'GET' || at === -1) return false;
  const params = new URLSearchParams(target.slice(at + 1));
  const query = params.get('query');
  if (!query) return false;
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true, maxTokens });
  } catch {
    return false;
  }
  return getOperationAST(document, params.get('operationName') || undefined)?.operation === 'mutation';
}
