/**
 * Writes a Response from Yoga's pipeline to node's ServerResponse. A body Yoga
 * made as a string (every GraphQL result, error bodies) or a Buffer (GraphiQL's
 * page, shared by every view) goes out with one `writeHead` and one `end`;
 * @whatwg-node/server's `sendNodeResponse` writes headers, body and end
 * separately. Anything else (an event stream) goes through `sendNodeResponse`
 * as it is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import { forbidsContentLength } from '../server/raw-http.js';

/** @whatwg-node/node-fetch's Response keeps a string or Buffer body as it was given. */
interface PonyfillBody {
  bodyType?: string;
  bodyInit?: unknown;
}

export function writeResponse(response: Response, outgoing: ServerResponse, incoming: IncomingMessage): void | Promise<void> {
  if (outgoing.destroyed || outgoing.writableEnded) return;
  const { bodyType, bodyInit } = response as unknown as PonyfillBody;
  const bytes = bodyType === 'Buffer' && Buffer.isBuffer(bodyInit) ? bodyInit : null;
  if (bodyType !== 'String' && !bytes && response.body !== null) return sendNodeResponse(response, outgoing, incoming, true) as void | Promise<void>;
  const text = bytes ?? (typeof bodyInit === 'string' ? bodyInit : '');
  const headers: Record<string, string | number | string[]> = {};
  // Lowercased: plugins set names in any case (whatwg-node's CORS answers with `Content-Length`), and a name sent twice is refused by clients.
  response.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const cookies = response.headers.getSetCookie?.();
  if (cookies?.length) headers['set-cookie'] = cookies;
  // The length of what is sent, whatever a plugin left in the headers; none where a body is not allowed (RFC 9110 §8.6).
  if (forbidsContentLength(response.status)) delete headers['content-length'];
  else headers['content-length'] = Buffer.byteLength(text);
  outgoing.writeHead(response.status, response.statusText || undefined, headers);
  outgoing.end(text);
}
