/**
 * Whether a request that expects 100-continue is told to send its body.
 *
 * RFC 9110 §10.1.1: `100 Continue` asks the client to send the body; a server
 * that will not read it may send the final status instead, and the client then
 * need not send it at all. The edge sends its own refusals (405, 413, 415 …)
 * without a 100 already; this decides for what the pipeline will answer
 * without reading the body, from the request's headers alone:
 *
 * - a GET: nothing reads its body (Yoga's GET parser takes the URL);
 * - anything but a POST to the GraphQL path (a CORS preflight, `/metrics`);
 * - a POST CSRF prevention refuses (403): its own check, run on the headers
 *   (src/pipeline/csrf-prevention.ts);
 * - a POST in a media type no request parser reads (415; ./media-types.ts).
 *
 * Such a request is handed to its lane as it is, body unread, and answered by
 * the pipeline as any other (its error body, headers, access line); node closes
 * the connection after that answer, since no 100 went out and the body may be on
 * its way. A request without a body (which should not expect 100-continue at
 * all) still gets its 100, so its connection is kept. A request the pipeline
 * refuses later (a trusted document, say) is refused only once its body has
 * been read: that refusal depends on the body.
 */
import type { IncomingMessage } from 'node:http';
import { csrfRefuses } from '../pipeline/csrf-prevention.js';
import { pipelineParses } from './media-types.js';

/** True when the pipeline will read the body of `request` (a POST to the GraphQL path, `graphql`), so a 100 Continue is due. */
export function bodyWillBeRead(request: IncomingMessage, graphql: boolean): boolean {
  return graphql && request.method === 'POST' && pipelineParses(request.headers['content-type']) && !csrfRefuses(request.headers);
}
