/**
 * The gateway's URL as the typed client sends to it. graphql-request 7.4 parses
 * its endpoint with `new URL(endpoint)` before every request, with no base
 * (graffle-js/graffle#1493), so a relative endpoint, `/graphql` for a page
 * served beside the gateway or through a development server's proxy (Vite's
 * `server.proxy`), failed every request with `TypeError: Failed to construct
 * 'URL': Invalid URL`, although fetch, and so `watchExecution`, take it.
 * `watchExecution` in turn retries what fetch refuses: it checks its endpoint
 * first (`httpEndpoint`).
 */

/** What the endpoint is resolved against, as fetch resolves a request's URL: the page's base URL (a `<base href>` included), else a worker's location. */
function baseUrl(): string | undefined {
  // Read from globalThis: a Node script's project has no DOM library, so neither name is declared there.
  const scope = globalThis as { document?: { baseURI?: unknown }; location?: { href?: unknown } };
  const base = scope.document?.baseURI ?? scope.location?.href;
  return typeof base === 'string' ? base : undefined;
}

/**
 * `endpoint` as an absolute URL: resolved against the page's address in a browser (`/graphql` on
 * `https://app.example.com/runs/4` is `https://app.example.com/graphql`); as given where there is no
 * page (Node), and as given when it does not resolve, so graphql-request's own `Invalid URL` names it.
 */
export function absoluteEndpoint(endpoint: string): string {
  const base = baseUrl();
  if (base === undefined) return endpoint;
  try {
    return new URL(endpoint, base).href;
  } catch {
    return endpoint;
  }
}

/**
 * `endpoint` resolved as `absoluteEndpoint` does, when that is an http(s) URL; otherwise a TypeError saying
 * what to give. `watchExecution` takes a failed fetch for a dropped connection and subscribes again, so an
 * endpoint fetch can never use (`/graphql` in Node, `localhost:4000/graphql`, whose scheme is `localhost:`)
 * was retried for ever, told only to `onRetry` as a NetworkError.
 */
export function httpEndpoint(endpoint: string): string {
  const absolute = absoluteEndpoint(endpoint);
  let url: URL | undefined;
  try {
    url = new URL(absolute);
  } catch {
    url = undefined;
  }
  if (url && (url.username || url.password) && (url.protocol === 'http:' || url.protocol === 'https:')) {
    // fetch refuses such a URL (so a watch over Server-Sent Events retried it for ever), and `ws` sends it as a
    // Basic Authorization beside the token, which the gateway refuses: named without what stood before the `@`.
    url.username = '';
    url.password = '';
    throw new TypeError(`The gateway's endpoint ${JSON.stringify(url.href)} (credentials left out here) carries credentials before its host, which fetch refuses: give the URL without them, and the token as \`authorization\`.`);
  }
  if (url?.protocol === 'http:' || url?.protocol === 'https:') return absolute;
  throw new TypeError(
    `The gateway's endpoint ${JSON.stringify(endpoint)} is not an http(s) URL: give its whole /graphql URL (http://127.0.0.1:4000/graphql), or in a page a path relative to it (/graphql).`,
  );
}
