/**
 * The CORS policy, decided per request: an origin on the list (or any, with
 * '*') gets CORS headers; any other origin gets none at all. Yoga's default
 * would answer `null`, which browsers match for sandboxed iframes and file:
 * pages. Yoga applies it on its path; the direct path applies the same function
 * through @whatwg-node/server's own header builder, so both answer alike.
 */
import { getCORSHeadersByRequestAndOptions, type CORSOptions } from '@whatwg-node/server';
import type { IncomingRequest } from '../context.js';

export type CorsPolicy = (request: IncomingRequest) => CORSOptions;

export function corsPolicy(allowedOrigins: readonly string[]): CorsPolicy {
  const any = allowedOrigins.includes('*');
  const options: CORSOptions = { origin: any ? '*' : [...allowedOrigins], methods: ['GET', 'POST'], credentials: false };
  return (request) => {
    const origin = request.headers.get('origin');
    return origin !== null && (any || allowedOrigins.includes(origin)) ? options : false;
  };
}

/** The CORS response headers for one request on the direct path (none when not allowed). */
export function corsHeaders(policy: CorsPolicy, request: IncomingRequest): Record<string, string> | null {
  // The builder only reads request.headers.get, which IncomingRequest has.
  return getCORSHeadersByRequestAndOptions(request as unknown as Request, policy(request));
}
