/**
 * GraphiQL served entirely by the gateway: @graphql-yoga/render-graphiql inlines
 * its scripts, styles and workers, so the page works offline and loads nothing
 * from a CDN (Yoga's default page does).
 */
import { hash } from 'node:crypto';
import { shouldRenderGraphiQL, type GraphiQLOptions, type Plugin } from 'graphql-yoga';
import type { SecurityConfig } from '../config.js';
import { errorBody, ErrorCode } from '../errors.js';
import { noteRefusal } from './request-errors.js';

export const EXAMPLE_QUERY = `# Fetch one execution with the first page of its events.
query ExecutionPage($id: ID!) {
  execution(id: $id) {
    id
    status
    isTerminal
    statusReason
    updatedAt
    events(first: 5) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { createdAt level eventType message }
    }
  }
}
`;

/** Where to explore the schema instead: each message said only why, and a developer at the page's URL had nothing to try next. */
const ELSEWHERE = 'Explore the API in the GraphiQL of a gateway that serves it (`npm start` runs one with demo data), or read schema/schema.graphql of the release.';

export const GRAPHIQL_OFF_MESSAGES = {
  trustedDocumentsOnly: `GraphiQL is not served with TRUSTED_DOCUMENTS=only: only persisted documents run here. ${ELSEWHERE}`,
  noIntrospection: `GraphiQL is not served with INTROSPECTION=false: without the schema it can neither complete nor check a query. ${ELSEWHERE}`,
} as const;

/** Why GraphiQL is not served under these settings, or undefined when it is. */
export function graphiqlOffMessage(security: Pick<SecurityConfig, 'trustedDocuments' | 'introspection'>): string | undefined {
  if (security.trustedDocuments === 'only') return GRAPHIQL_OFF_MESSAGES.trustedDocumentsOnly;
  // The page's editor and docs explorer live on introspection; serving it would only advertise tooling that cannot work.
  if (!security.introspection) return GRAPHIQL_OFF_MESSAGES.noIntrospection;
  return undefined;
}

/** Types the gateway answers an operation with, besides GraphiQL's page. */
const RESULT_TYPE = /^(?:application\/(?:graphql-response\+)?json|text\/event-stream|multipart\/mixed)\s*(?:;|$)/i;

/**
 * Whether a request asks for GraphiQL's page: a GET whose Accept prefers `text/html` to every type a result is
 * served as (JSON, SSE, multipart). The edge has put Accept in order of preference (src/server/media-types.ts);
 * wildcards decide nothing here. Yoga's own check (`shouldRenderGraphiQL`) takes any Accept that mentions
 * `text/html`, so `application/json, text/html;q=0.1` got the 9 MB page instead of its result.
 */
function prefersGraphiQL(request: Request): boolean {
  if (!shouldRenderGraphiQL(request)) return false;
  for (const entry of (request.headers.get('accept') ?? '').split(',')) {
    const type = entry.trim();
    if (/^text\/html\s*(?:;|$)/i.test(type)) return true;
    if (RESULT_TYPE.test(type)) return false;
  }
  return false;
}

/** Yoga's `graphiql` option: the page's options for a request that prefers it, false (serve the operation) for any other. */
export function graphiqlFor(options: GraphiQLOptions): (request: Request) => GraphiQLOptions | false {
  return (request) => (prefersGraphiQL(request) ? options : false);
}

/**
 * With GraphiQL off (Yoga's own page switched off too, ./gateway.ts), a browser asking for it gets a 404 that says
 * why, rather than Yoga's answer to a GET without a query.
 */
export function useNoGraphiQL(message: string): Plugin {
  let endpoint = '';
  return {
    onYogaInit({ yoga }) {
      endpoint = yoga.graphqlEndpoint;
    },
    onRequest({ request, url, fetchAPI, endResponse }) {
      if (!prefersGraphiQL(request) || (url.pathname !== endpoint && url.pathname !== `${endpoint}/`)) return;
      // Its body comes from no GraphQL result: the access line learns its code here (it said `errorCodes: []`).
      noteRefusal(request, ErrorCode.BAD_REQUEST);
      endResponse(
        new fetchAPI.Response(errorBody(ErrorCode.BAD_REQUEST, message), {
          status: 404,
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      );
    },
  };
}

export interface GraphiQLSettings {
  /** Headers prefilled in the editor, e.g. the demo token. */
  headers?: Record<string, string>;
  /** The id prefilled in EXAMPLE_QUERY's variables (the demo's); else `EXAMPLE_ID_PLACEHOLDER`. */
  exampleId?: string;
}

/**
 * The id prefilled outside the demo, a placeholder as the token beside it is: the demo's `ex_demo_4`, run as GraphiQL
 * opened against a real upstream, was `NOT_FOUND`, which says nothing of where the id came from. Refused before any
 * upstream call with a message saying to put an id in its place (src/upstream/execution-path.ts).
 */
export const EXAMPLE_ID_PLACEHOLDER = '<execution id>';

export function graphiqlOptions(settings: GraphiQLSettings): GraphiQLOptions {
  const variables = JSON.stringify({ id: settings.exampleId ?? EXAMPLE_ID_PLACEHOLDER }, null, 2);
  const headers = JSON.stringify(settings.headers ?? { Authorization: 'Bearer <your token>' }, null, 2);
  return {
    title: 'execution-gateway',
    defaultQuery: EXAMPLE_QUERY,
    // Used only while the browser has no tabs stored: a fresh profile gets one tab, the example.
    defaultTabs: [{ query: EXAMPLE_QUERY, variables, headers }],
    // The headers of each tab the user opens.
    defaultHeaders: headers,
    // A token typed into the headers editor is not written to localStorage, where any script of the
    // gateway's origin could read it for good (Yoga's page turns GraphiQL's own default, false, to true).
    shouldPersistHeaders: false,
    // Sent beside the headers typed in: GraphiQL sends a subscription as a GET event stream, a request CSRF prevention
    // refuses without Authorization or this header, so a watch run with no token yet got a 403 naming a header the
    // page never showed, where a query got UNAUTHENTICATED. The page is the gateway's own, on its own origin.
    additionalHeaders: { 'x-graphql-yoga-csrf': 'graphiql' },
    // No `variables`, `headers` or `query`: Yoga hands them to GraphiQL as initial
    // values, which open a tab of their own on every load where no stored tab holds
    // exactly them. The editors get the tab's contents from openTabScript instead.
  };
}

/** Characters a JSON text inside a `<script>` element must not hold raw, and their JSON escapes. */
const IN_SCRIPT: Readonly<Record<string, string>> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * `json` (a JSON text) made safe to place inside a `<script>` element, and the same value to JSON.parse or to
 * JavaScript: `</script>` in a value closed the element and what followed ran as markup, `<!--` (then `<script`)
 * kept the page's own `</script>` from closing it, and U+2028/2029 end a line in scripts older engines parse.
 * Those characters stand only inside JSON strings, where `\uXXXX` means the same character. `&` and `>` too, as
 * the usual rule has it (no entity or `-->` can form).
 */
export function jsonInScript(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (character) => IN_SCRIPT[character]!);
}

/**
 * A script for the page's <head>: before GraphiQL starts, it writes the contents
 * of the tab GraphiQL should open (the active stored tab, else the first default
 * tab) under the keys GraphiQL fills its editors from at start.
 */
// By hand because no option can: GraphiQL 5.2 adds a tab unless those keys match a stored tab, yet writes them only on edits (graphql/graphiql#4476; #3392).
function openTabScript(firstTab: NonNullable<GraphiQLOptions['defaultTabs']>[number]): string {
  // Escaped so that no value can close the script element or open a comment in it.
  const fallback = jsonInScript(JSON.stringify({ query: firstTab.query ?? null, variables: firstTab.variables ?? null, headers: firstTab.headers ?? null }));
  return `(() => {
  try {
    const state = JSON.parse(localStorage.getItem('graphiql:tabState') ?? 'null');
    const tab = (Array.isArray(state?.tabs) && state.tabs[state.activeTabIndex]) || ${fallback};
    for (const key of ['query', 'variables', 'headers']) {
      if (typeof tab[key] === 'string') localStorage.setItem('graphiql:' + key, tab[key]);
      else localStorage.removeItem('graphiql:' + key);
    }
  } catch {
    // Storage blocked or unreadable: GraphiQL then starts from its defaults by itself.
  }
})();`;
}

/** Pages rendered, by their options (Yoga hands a fresh but equal options object to each request). */
const rendered = new Map<string, Promise<Buffer<ArrayBuffer>>>();
/** The entity tag of each page rendered by now, by its options: read when a browser revalidates. */
const etags = new Map<string, string>();

/** Distinct option sets kept: the gateway has one; a bound in case a plugin makes options per request. */
const RENDERED_KEPT = 4;

/**
 * The page for `options`, rendered once into bytes and then served as they
 * are: the page inlines 9 MB of JavaScript. Rendered per view, it cost a
 * string and its concatenations each time; kept as a string, each view still
 * encoded its own 9 MB copy (node prepends the head to a string body, and
 * copies what a slow socket has not taken), held for as long as the client
 * did not read. A Buffer is written to every socket as it is, shared
 * (docs/performance.md "Memory held for clients that do not read"). The bundle is loaded on the first
 * GraphiQL view, not at start-up, so the gateway starts fast and API-only
 * processes never load it.
 */
export function renderGraphiQL(options: GraphiQLOptions): Promise<Buffer<ArrayBuffer>> {
  const key = JSON.stringify(options);
  let page = rendered.get(key);
  if (!page) {
    if (rendered.size >= RENDERED_KEPT) {
      const oldest = rendered.keys().next().value!;
      rendered.delete(oldest);
      etags.delete(oldest);
    }
    page = render(options).then((bytes) => {
      // Of the bytes: every replica of one release, with the same settings, tags its page alike.
      etags.set(key, `"${hash('sha256', bytes, 'base64url').slice(0, 27)}"`);
      return bytes;
    });
    // A failed render is not kept: the next view tries again.
    page.catch(() => rendered.delete(key));
    rendered.set(key, page);
  }
  return page;
}

async function render(options: GraphiQLOptions): Promise<Buffer<ArrayBuffer>> {
  const { renderGraphiQL: renderPage } = await import('@graphql-yoga/render-graphiql');
  const page = scriptSafeOptions(renderPage(options), options);
  const firstTab = options.defaultTabs?.[0];
  if (!firstTab) return Buffer.from(page);
  const headEnd = page.indexOf('</head>');
  if (headEnd < 0) throw new Error('render-graphiql returned a page without </head>; the tab script has nowhere to go');
  // In <head>, so it runs before the body's script starts GraphiQL.
  return Buffer.from(`${page.slice(0, headEnd)}<script>${openTabScript(firstTab)}</script>${page.slice(headEnd)}`);
}

/**
 * render-graphiql places `JSON.stringify(options)` in its script as it is: the one copy of that text in the page
 * is replaced with its escaped form (jsonInScript). By hand, since the package has no option to escape it and
 * exports no template to fill; a page where the text is not found once is refused rather than served unescaped.
 */
function scriptSafeOptions(page: string, options: GraphiQLOptions): string {
  const embedded = JSON.stringify(options);
  const at = page.indexOf(embedded);
  if (at < 0 || page.indexOf(embedded, at + 1) >= 0) throw new Error("render-graphiql's page does not hold its options' JSON exactly once; it cannot be escaped");
  return `${page.slice(0, at)}${jsonInScript(embedded)}${page.slice(at + embedded.length)}`;
}

/** The Cache-Control of GraphiQL's page: a browser keeps it and asks each time whether it is still current. */
const GRAPHIQL_CACHE_CONTROL = 'no-cache';

/**
 * Whether `If-None-Match` matches `etag` (RFC 9110 §13.1.2: `*`, or a list of entity tags compared weakly, so
 * `W/"x"` matches `"x"`).
 */
function noneMatchHolds(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** Sent with the page (and its 304s): no framing by any site, no sniffing its type. */
const PAGE_HEADERS: ReadonlyArray<[string, string]> = [
  ['content-security-policy', "frame-ancestors 'none'"],
  ['x-frame-options', 'DENY'],
  ['x-content-type-options', 'nosniff'],
];

/**
 * GraphiQL's page is the same bytes for every view (9 MB, every asset inlined): it goes out with an ETag and
 * `Cache-Control: no-cache` in place of the `no-store` of every other answer (./cache-control.ts), so a browser
 * keeps it and asks each time whether it is current; a view whose `If-None-Match` matches gets `304` with the
 * page's headers and no body. The page holds no caller's data: the headers it prefills are the demo's (demo data)
 * or a placeholder. After useNoStore, whose `no-store` it replaces on the page alone. The page also goes out
 * with PAGE_HEADERS.
 */
export function useGraphiQLRevalidation(options: GraphiQLOptions): Plugin {
  // The key Yoga's renderer is called with: it hands over a copy of these options, keys in the same order.
  const key = JSON.stringify(options);
  return {
    onResponse({ request, response, setResponse, fetchAPI }) {
      // The page answers a GET only: every POST, most of the traffic, is passed over on its method.
      if (request.method !== 'GET' || response.status !== 200 || !response.headers.get('content-type')?.startsWith('text/html')) return;
      response.headers.set('cache-control', GRAPHIQL_CACHE_CONTROL);
      // A page that sends the user's token with each click is never to be framed by another site (clickjacking), nor
      // read as anything but HTML. Its own scripts are inline, so the policy names frame ancestors only.
      for (const [name, value] of PAGE_HEADERS) response.headers.set(name, value);
      // A browser's cache keys the page by its URL, which also answers operations: Accept decides which it gets.
      response.headers.append('vary', 'Accept');
      const etag = etags.get(key);
      if (etag === undefined) return;
      response.headers.set('etag', etag);
      const ifNoneMatch = request.headers.get('if-none-match');
      if (ifNoneMatch === null || !noneMatchHolds(ifNoneMatch, etag)) return;
      // The headers the page would have had (RFC 9110 §15.4.5): the request id, Vary, CORS, its caching.
      const headers = new fetchAPI.Headers(response.headers);
      headers.delete('content-type');
      headers.delete('content-length');
      // The page's body is a shared Buffer (renderGraphiQL): dropping this response copies nothing.
      setResponse(new fetchAPI.Response(null, { status: 304, headers }));
    },
  };
}
