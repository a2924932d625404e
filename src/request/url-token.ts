/**
 * The names of a URL's query parameters that look like a token (`token`, `access_token`, `authorization` …). The
 * gateway reads a token from the Authorization header and a WebSocket's connectionParams only, never from a URL,
 * which proxies, access logs and browser history keep: a client that put one there (`ws://…/graphql?token=…`, as
 * some servers read it) was told only that its token was missing. Names only, never values: the UNAUTHENTICATED
 * message quotes them (src/errors.ts `unauthenticated`).
 */

/** Parameter names other servers read a token from, in any case. */
const TOKEN_PARAM = /^(?:(?:access|auth|id|session)[_-]?token|token|authori[sz]ation|auth|jwt|bearer|api[_-]?key)$/i;

/** How many names the message quotes. */
const MAX_NAMES = 3;

/**
 * The token-like parameter names of `url`'s query (a request target, `/graphql?token=…`, or a whole URL), at most
 * MAX_NAMES, each once; empty when it has none. Read only for a request that named no caller.
 */
export function tokenParamsInUrl(url: string | undefined): string[] {
  const start = url?.indexOf('?') ?? -1;
  if (url === undefined || start === -1) return [];
  const end = url.indexOf('#', start);
  const names = new Set<string>();
  for (const name of new URLSearchParams(url.slice(start + 1, end === -1 ? undefined : end)).keys()) {
    if (TOKEN_PARAM.test(name)) names.add(name);
    if (names.size === MAX_NAMES) break;
  }
  return [...names];
}
