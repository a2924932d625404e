/**
 * The key of a persisted document: the lowercase hex sha256 of its exact UTF-8
 * text, as GraphQL over HTTP's persisted documents (`documentId=sha256:<hex>`)
 * and Apollo's `extensions.persistedQuery.sha256Hash` name it. One function for
 * the three places that need it: the manifest codegen writes
 * (scripts/persisted-documents.ts), the gateway's check of that manifest at
 * start (./trusted-documents.ts) and `schema:check`'s of a frontend's
 * (scripts/known-documents.ts). No other import, so the codegen plugin loads
 * nothing of the server.
 */
import { createHash } from 'node:crypto';

export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
