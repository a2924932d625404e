/**
 * The CORS policy, decided per request: an origin on the list (or any, with
 * '*') gets CORS headers, `x-request-id` among the headers it may read; any
 * other origin gets none at all (Yoga's default would answer `null`, which
 * browsers match for sandboxed iframes and file: pages). Whenever the answer
 * depends on the request's Origin, the response says so with `Vary: Origin`, so
 * a shared cache never serves one origin's answer to another.
 */
import type { Plugin } from 'graphql-yoga';
import { corsOrigin } from '../config.js';
import { OncePerWindow } from '../telemetry/once-per-window.js';

/** The options Yoga's `cors` takes, as whatwg-node's CORS plugin reads them. */
interface CorsOptions {
  origin: string[];
  methods: string[];
  credentials: boolean;
  exposedHeaders: string[];
  /** Seconds a browser may reuse a preflight's answer. */
  maxAge: number;
}

/**
 * Every browser request here preflights (it carries Authorization), and without
 * Access-Control-Max-Age Chromium reuses an answer for 5 s only: a page polling
 * less often paid two round trips a request. Ten minutes bounds how long a
 * browser keeps an answer after CORS_ORIGINS drops its origin.
 */
export const PREFLIGHT_MAX_AGE_S = 600;

export type CorsPolicy = (request: Request) => CorsOptions | false;

/** Distinct refused origins told of per window: enough for every dev server and app, never a log flood. */
export const REFUSED_ORIGINS_TOLD = 20;
/**
 * The window (ms) after which refused origins are told of again. Per process, 20 made-up origins from any
 * client used the cap up for good, and the dev server's origin that came next was never told of.
 */
export const REFUSED_ORIGINS_WINDOW_MS = 600_000;
/** The most of an Origin a log line carries: any client may send one of any length. */
const LOGGED_ORIGIN_CHARS = 200;

export function corsPolicy(allowedOrigins: readonly string[], onRefusedPreflight: (origin: string) => void): CorsPolicy {
  const any = allowedOrigins.includes('*');
  const options: CorsOptions = { origin: [...allowedOrigins], methods: ['GET', 'POST'], credentials: false, exposedHeaders: ['x-request-id'], maxAge: PREFLIGHT_MAX_AGE_S };
  return (request) => {
    const origin = request.headers.get('origin');
    if (origin !== null && (any || allowedOrigins.includes(origin))) return options;
    // Browsers preflight only cross-origin requests: this one's page will see a bare "Failed to fetch".
    if (origin !== null && request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) onRefusedPreflight(origin);
    return false;
  };
}

/**
 * Warns once per origin (at most REFUSED_ORIGINS_TOLD in REFUSED_ORIGINS_WINDOW_MS) that a browser page
 * there was refused: its page sees only an opaque CORS failure, and the
 * gateway's answer (a 204 with no CORS header) logged nothing wrong, so a
 * frontend on its dev server (http://localhost:5173) had nothing to go on.
 * One per process, for preflights and WebSocket upgrades (../server/websocket.ts)
 * alike: a page refused both ways is told of once.
 */
export function refusedOriginLog(
  allowedOrigins: readonly string[],
  warn: (fields: Record<string, unknown>, message: string) => void,
  now: () => number = () => performance.now(),
): (origin: string) => void {
  const told = new OncePerWindow(REFUSED_ORIGINS_WINDOW_MS, REFUSED_ORIGINS_TOLD, now);
  const setting = allowedOrigins.length === 0 ? 'CORS_ORIGINS is unset' : 'it is not in CORS_ORIGINS';
  return (origin) => {
    const shown = origin.slice(0, LOGGED_ORIGIN_CHARS);
    if (!told.first(shown)) return;
    // `null` (a file: page, a sandboxed frame) or an extension's origin: CORS_ORIGINS refuses it at start-up, and
    // allowing `null` would let in every sandboxed frame, so the advice is another origin, not this one.
    if (corsOrigin(origin) === undefined) {
      const where = origin === 'null' ? 'null (a file: page or a sandboxed frame)' : shown;
      warn(
        { origin: shown },
        `CORS: refused a browser page at ${where}, an origin CORS_ORIGINS cannot allow (it lists http and https origins only); serve the page from an http(s) origin and add that to CORS_ORIGINS`,
      );
      return;
    }
    warn({ origin: shown }, `CORS: refused a browser page at ${shown} (${setting}); add the origin to CORS_ORIGINS to let it call the gateway`);
  };
}

/** Adds `Vary: Origin` to every response when CORS is open to a list of origins (the answer depends on Origin). */
export function useVaryOrigin(allowedOrigins: readonly string[]): Plugin {
  if (allowedOrigins.length === 0) return {};
  return {
    onResponse({ response }) {
      const vary = response.headers.get('vary');
      if (!vary) response.headers.set('vary', 'Origin');
      else if (!/(^|,)\s*origin\s*(,|$)/i.test(vary)) response.headers.set('vary', `${vary}, Origin`);
    },
  };
}

/**
 * The CORS headers of an answer the HTTP edge gives itself (405, 408, 413, 406),
 * the same ones the pipeline's answers carry, so a browser at an allowed
 * origin can read why its request was refused.
 */
export function corsHeaders(allowedOrigins: readonly string[], origin: string | undefined): Record<string, string> {
  if (allowedOrigins.length === 0) return {};
  if (origin === undefined || !(allowedOrigins.includes('*') || allowedOrigins.includes(origin))) return { vary: 'Origin' };
  return { 'access-control-allow-origin': origin, 'access-control-expose-headers': 'x-request-id', vary: 'Origin' };
}
