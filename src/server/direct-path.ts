/**
 * The direct path: POST /graphql with a JSON body (what the typed client and
 * every frontend send) answered straight from node:http, without building
 * fetch-API Request, Headers and Response objects for it. Skipping that adapter
 * layer saves about a tenth of a status poll's CPU (README "Performance").
 *
 * Yoga still runs the operation: `yoga.getResultForParams` is Yoga's own
 * pipeline from parameters to result (parameter checks, every envelop plugin
 * with the parse and validation caches, Armor's limits, error masking, the
 * context). A document Yoga has accepted before runs as a prepared operation
 * instead (./prepared-operations.ts), which skips that pipeline and keeps its
 * answers. This file adds only what Yoga's HTTP layer does around it, with
 * Yoga's and whatwg-node's own exported functions where they exist: the status
 * and body (`processRegularResult`), CORS headers, the request id.
 * test/direct-path.test.ts sends one corpus of requests both ways and asserts
 * that the answers match.
 *
 * Everything else (GET, GraphiQL, other content types or Accept headers, a body
 * that is not a JSON object, parameters Yoga refuses) is replayed to Yoga whole,
 * so it answers exactly as it always did; nothing has reached upstream by then.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { processRegularResult, type FetchAPI } from 'graphql-yoga';
import { requestIdOf, type IncomingRequest } from '../context.js';
import type { Gateway } from '../gateway.js';
import type { Logger } from '../logger.js';
import { corsHeaders } from './cors.js';
import { withStableErrorCodes } from './error-codes.js';

type RegularMediaType = 'application/graphql-response+json' | 'application/json';
const REGULAR_MEDIA_TYPES: readonly RegularMediaType[] = ['application/graphql-response+json', 'application/json'];

/** Content types Yoga reads as a JSON body, narrowed to the ones clients actually send. */
const JSON_CONTENT_TYPE = /^application\/json(?:; ?charset=(?:utf-8|UTF-8))?$/;

/**
 * The media type Yoga would answer a non-streaming result with, or null when the
 * Accept header asks for something else (a stream, or nothing Yoga serves).
 * Mirrors graphql-yoga's result-processor/accept.js and use-result-processor.js,
 * which are not exported: entries are walked last to first and the last match
 * wins, so the first acceptable entry decides; only utf-8 is acceptable.
 */
export function regularMediaType(accept: string | undefined): RegularMediaType | null {
  const key = accept ?? '';
  const known = negotiated.get(key);
  if (known !== undefined) return known;
  const chosen = negotiate(accept);
  // Clients send a handful of distinct Accept headers; a hostile stream of new ones only evicts.
  if (negotiated.size >= 64) negotiated.clear();
  negotiated.set(key, chosen);
  return chosen;
}

const negotiated = new Map<string, RegularMediaType | null>();

function negotiate(accept: string | undefined): RegularMediaType | null {
  const entries = (accept || '*/*').replace(/\s/g, '').toLowerCase().split(',').reverse();
  let chosen: RegularMediaType | null = null;
  for (const entry of entries) {
    const [type = '', ...params] = entry.split(';');
    const charset = params.find((param) => param.includes('charset=')) ?? 'charset=utf-8';
    if (charset !== 'charset=utf-8') continue;
    const [group, subtype] = type.split('/');
    for (const candidate of REGULAR_MEDIA_TYPES) {
      const [candidateGroup, candidateSubtype] = candidate.split('/');
      if ((group === '*' || group === candidateGroup) && (subtype === '*' || subtype === candidateSubtype)) chosen = candidate;
    }
  }
  return chosen;
}

/** The media type to answer with when the direct path takes this request; null sends it to Yoga. */
export function directMediaType(request: IncomingMessage, endpoint: string): RegularMediaType | null {
  if (request.method !== 'POST' || request.url !== endpoint) return null;
  const contentType = request.headers['content-type'];
  if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) return null;
  return regularMediaType(request.headers.accept);
}

/** node's IncomingMessage seen the way the context and Yoga's plugins read a request. */
class NodeRequest implements IncomingRequest {
  readonly method = 'POST';
  readonly headers: IncomingRequest['headers'];
  #signal: AbortSignal | undefined;

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly response: ServerResponse,
  ) {
    const raw = incoming.headers;
    const get = (name: string): string | null => {
      const value = raw[name.toLowerCase()];
      if (value === undefined) return null;
      return Array.isArray(value) ? value.join(', ') : value;
    };
    this.headers = { get, has: (name) => get(name) !== null };
  }

  get url(): string {
    return `http://${this.incoming.headers.host ?? 'localhost'}${this.incoming.url ?? '/'}`;
  }

  /** The response closing before it was sent means the client left. */
  onClientGone(listener: () => void): () => void {
    const response = this.response;
    const onClose = () => {
      if (!response.writableFinished) listener();
    };
    if (response.destroyed) {
      onClose();
      return () => {};
    }
    response.once('close', onClose);
    return () => response.off('close', onClose);
  }

  /** Made only if something asks for it: the context uses onClientGone, which costs less. */
  get signal(): AbortSignal {
    if (!this.#signal) {
      const controller = new AbortController();
      this.onClientGone(() => controller.abort(new DOMException('The client went away.', 'AbortError')));
      this.#signal = controller.signal;
    }
    return this.#signal;
  }
}

/** What processRegularResult builds, kept as plain data instead of a fetch Response. */
class CapturedResponse {
  constructor(
    readonly body: string | null,
    readonly init: { status?: number; headers?: Record<string, string> },
  ) {}
}
// processRegularResult only ever calls `new fetchAPI.Response(body, init)`.
const CAPTURE = { Response: CapturedResponse } as unknown as FetchAPI;

/** The whole request body, or null when the client goes away before sending it. */
function readAll(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    // After 'end' these settle nothing; before it, the client is gone.
    request.once('error', () => resolve(null));
    request.once('close', () => resolve(null));
  });
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export type DirectPath = (request: IncomingMessage, response: ServerResponse, mediaType: RegularMediaType) => void;

export function createDirectPath(yoga: Gateway, logger: Logger): DirectPath {
  // Read once: Yoga is a Proxy whose property reads bind a new function each time.
  const { runPrepared, getResultForParams, corsPolicy } = yoga;
  /** Hands a request whose body is already read to Yoga, and copies its answer out. */
  async function replay(request: NodeRequest, incoming: IncomingMessage, response: ServerResponse, body: Buffer): Promise<void> {
    const headers = new Headers();
    for (let i = 0; i < incoming.rawHeaders.length; i += 2) headers.append(incoming.rawHeaders[i]!, incoming.rawHeaders[i + 1]!);
    const answer = await yoga.fetch(request.url, { method: 'POST', headers, body, signal: request.signal });
    const payload = Buffer.from(await answer.arrayBuffer());
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => (out[name] = value));
    response.writeHead(answer.status, out);
    response.end(payload);
  }

  async function serve(incoming: IncomingMessage, response: ServerResponse, mediaType: RegularMediaType): Promise<void> {
    const body = await readAll(incoming);
    if (body === null) return;
    const request = new NodeRequest(incoming, response);

    let params: unknown;
    try {
      params = JSON.parse(body.toString('utf8'));
    } catch {
      return replay(request, incoming, response, body);
    }
    if (!isJsonObject(params)) return replay(request, incoming, response, body);

    // A document Yoga accepted before runs as a prepared operation (./prepared-operations.ts).
    let result: Awaited<ReturnType<Gateway['getResultForParams']>> = await runPrepared(params, request);
    if (result === undefined) {
      try {
        // Yoga's plugins read only method, url, headers and signal of the request.
        result = await getResultForParams({ params, request: request as unknown as Request }, {});
      } catch {
        // Only Yoga's parameter checks throw here (operation errors come back as
        // results), and they run before anything else: replaying costs no upstream call.
        return replay(request, incoming, response, body);
      }
    }
    if (result === undefined) throw new Error('Yoga returned no result for the request');

    const coded = 'errors' in result ? withStableErrorCodes(result) : result;
    const processed = processRegularResult(coded, CAPTURE, mediaType) as unknown as CapturedResponse;
    const headers: Record<string, string | number> = {};
    const resultHeaders = processed.init.headers ?? {};
    for (const name in resultHeaders) headers[name.toLowerCase()] = String(resultHeaders[name]);
    const cors = corsHeaders(corsPolicy, request);
    if (cors) for (const name in cors) headers[name.toLowerCase()] = cors[name]!;
    headers['x-request-id'] = requestIdOf(request);
    const payload = processed.body ?? '';
    headers['content-length'] = Buffer.byteLength(payload);
    response.writeHead(processed.init.status ?? 200, headers);
    response.end(payload);
  }

  return (incoming, response, mediaType) => {
    serve(incoming, response, mediaType).catch((error: unknown) => {
      if (response.destroyed) return;
      logger.error({ err: error instanceof Error ? { name: error.name, message: error.message } : String(error) }, 'direct path failed');
      if (response.headersSent) {
        response.destroy();
        return;
      }
      const payload = JSON.stringify({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      response.writeHead(500, { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': Buffer.byteLength(payload) });
      response.end(payload);
    });
  };
}
