/**
 * The node:http server in front of Yoga. It refuses oversized request bodies
 * with 413 before a byte of them is buffered (queries are small; Yoga itself
 * has no body limit), and bodies of unknown length with 411. POSTs of JSON to
 * the GraphQL endpoint take the direct path (./direct-path.ts); the rest goes
 * to Yoga as it is.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Gateway } from '../gateway.js';
import type { Logger } from '../logger.js';
import { createDirectPath, directMediaType } from './direct-path.js';

export interface HttpServerOptions {
  maxRequestBodyBytes: number;
  logger: Logger;
}

function refuse(response: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_REQUEST', http: { status } } }] });
  // Closing the connection stops the client from streaming the rest of the body at us.
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
}

export function createHttpServer(yoga: Gateway, options: HttpServerOptions): Server {
  const direct = createDirectPath(yoga, options.logger);
  const endpoint = yoga.graphqlEndpoint;
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const declared = request.headers['content-length'];
    const hasBody = declared !== undefined || request.headers['transfer-encoding'] !== undefined;
    if (hasBody) {
      if (declared === undefined) {
        return refuse(response, 411, 'Send the request body with a Content-Length header.');
      }
      if (Number(declared) > options.maxRequestBodyBytes) {
        return refuse(response, 413, `Request body over ${options.maxRequestBodyBytes} bytes; GraphQL requests to this API are small.`);
      }
    }
    const mediaType = directMediaType(request, endpoint);
    if (mediaType) return direct(request, response, mediaType);
    void yoga(request, response);
  });
}
