/**
 * The key of a persisted document: the lowercase hex sha256 of its exact UTF-8
 * text, as GraphQL over HTTP's persisted documents (`documentId=sha256:<hex>`)
 * and Apollo's `extensions.persistedQuery.sha256Hash` name it. One place for
 * the three that need it: the manifest codegen writes
 * (scripts/persisted-documents.ts), the gateway's check of that manifest at
 * start (./trusted-documents.ts) and `schema:check`'s (scripts/known-documents.ts).
 * No other import, so the codegen plugin loads nothing of the server.
 */
import { createHash } from 'node:crypto';

export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Why a manifest's keys (`[key, document]` pairs) are not the gateway's, or undefined when each is its document's
 * `documentHash`: how many are not, and the first, its key as JSON so the message stays one line whatever the key
 * holds, with the hash it should be. A client sending a document's hash would not find one filed under another key.
 */
export function manifestKeysProblem(documents: Iterable<readonly [key: string, document: string]>): string | undefined {
  let total = 0;
  let wrong = 0;
  let first = '';
  for (const [key, document] of documents) {
    total++;
    const hash = documentHash(document);
    if (key === hash) continue;
    if (wrong++ === 0) first = `${JSON.stringify(key.slice(0, 80))}, whose document's sha256 is ${hash}`;
  }
  return wrong === 0 ? undefined : `${wrong} of its ${total} keys ${wrong === 1 ? 'is' : 'are'} not the sha256 of the document filed under it: ${first}`;
}
