/**
 * The typed client (src/client) as a frontend runs it: bundled for the browser
 * by esbuild, loaded by a page on one loopback origin, calling the gateway on
 * another (so every request is cross-origin, allowed by `CORS_ORIGINS` as the
 * README tells frontends to), in Debian's Chromium driven by playwright-core.
 * There fetch streams, TextDecoder, the native WebSocket, CORS preflights, the
 * window's `online` event and AbortSignal are the browser's own, and Node's
 * globals (`Buffer`, `process`) are absent.
 *
 * The page's server also passes `/graphql` on to the gateway, as a development
 * server's proxy does, for the relative URL the README allows, and can go
 * silent on a connection or hold a WebSocket handshake, as a network can.
 *
 * Each test asserts what the page got and what the fake upstream saw (calls,
 * the Authorization they carried). One browser for the whole file. Requests are
 * recorded, never routed: with routing on, playwright answers CORS preflights
 * itself, allowing everything, and the gateway's answers would go untested.
 *
 * Chromium is a hard requirement, as for test/graphiql.test.ts: without it
 * these tests fail, never skip (.ci/run installs it with apt-get).
 */
import { existsSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { build, type Metafile } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUTH, Harness } from './support/harness.js';
import { advance, allStopped, expectPollingStopsAfter, liveEnv, putExecution, sleep, TOKENS, tokensSeen, waitFor } from './support/live.js';

const CHROMIUM = '/usr/bin/chromium';
/** A host name that is not `localhost` and resolves to the loopback: a page there is served over plain http from no secure context. */
const INSECURE_HOST = 'insecure.test';
/** Another such host name, whose origin CORS_ORIGINS does not list. */
const REFUSED_HOST = 'refused.test';
const CHROMIUM_ARGS = [`--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1, MAP ${REFUSED_HOST} 127.0.0.1`, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Waits inside the page; below the test timeout so a miss reports what was missing. */
const WAIT = 15_000;

/** The client bundled for a browser, as a frontend's bundler makes it. */
let bundle: { code: string; metafile: Metafile; warnings: string[] };
/** Serves the page and the bundle: the frontend's origin. */
let pageServer: Server;
let pageOrigin: string;
/** The same page server under INSECURE_HOST. */
let insecureOrigin: string;
let harness: Harness;
/** Every WebSocket upgrade the gateway took, to drop them under a watch. */
const upgrades: Duplex[] = [];
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
/** Uncaught errors of the page, and requests that would have left the machine: none, ever. */
const uncaught: string[] = [];
/** The page's console errors (a failed request logs one) in the current test. */
const pageErrors: string[] = [];

const PAGE = `<!doctype html><meta charset="utf-8"><title>frontend</title>
<script type="module">
  import * as client from '/client.js';
  window.gatewayClient = client;
  window.ready = true;
</script>`;

/** The entry a frontend would write: everything src/client exports. */
const ENTRY = `export * from './src/client/index.ts';`;

async function bundleClient(): Promise<typeof bundle> {
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: process.cwd(), loader: 'ts', sourcefile: 'frontend-entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, metafile: result.metafile, warnings: result.warnings.map((warning) => warning.text) };
}

/**
 * The page server's `/graphql`, passed to the gateway as a development server's proxy does (Vite's
 * `server.proxy` without `changeOrigin`): headers as the browser sent them, the page's Host included.
 */
function proxyRequest(request: IncomingMessage, response: import('node:http').ServerResponse): void {
  const gateway = new URL(harness.url);
  const forwarded = httpRequest({ host: gateway.hostname, port: gateway.port, method: request.method, path: request.url, headers: request.headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    const pair = { muted: false };
    proxiedSockets.push(pair);
    answer.on('data', (chunk: Buffer) => {
      if (!pair.muted) response.write(chunk);
    });
    answer.on('end', () => response.end());
  });
  forwarded.on('error', () => response.destroy());
  response.on('close', () => forwarded.destroy());
  request.pipe(forwarded);
}

/** The answers and WebSockets the page server passed on from the gateway: set `muted` to drop what the gateway sends on one. */
const proxiedSockets: Array<{ muted: boolean }> = [];

/** While set, the page server answers no WebSocket upgrade, and keeps each in `heldUpgrades`. */
let holdUpgrades = false;
const heldUpgrades: Duplex[] = [];

/** A WebSocket upgrade to the page's `/graphql`, passed to the gateway byte for byte. */
function proxyUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (holdUpgrades) {
    // A proxy holding the handshake: no answer at all.
    heldUpgrades.push(socket);
    socket.on('error', () => undefined);
    return;
  }
  const gateway = new URL(harness.url);
  const upstream = connect(Number(gateway.port), gateway.hostname, () => {
    const lines = [`${request.method} ${request.url} HTTP/1.1`];
    for (let i = 0; i < request.rawHeaders.length; i += 2) lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    upstream.write(head);
    socket.pipe(upstream);
    const pair = { muted: false };
    proxiedSockets.push(pair);
    // What the gateway sends, unless muted: a connection that went silent without closing (a laptop that slept).
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.muted) socket.write(chunk);
    });
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
}

function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    return Promise.reject(
      new Error(`The browser client tests need Debian's Chromium at ${CHROMIUM}, and it is not there. Install it with \`apt-get install chromium\` (.ci/run does). These tests fail rather than skip without it.`),
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: WAIT });
}

beforeAll(async () => {
  bundle = await bundleClient();
  pageServer = createServer((request, response) => {
    if (request.url?.startsWith('/graphql')) {
      proxyRequest(request, response);
    } else if (request.url === '/client.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle.code);
    } else {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    }
  });
  pageServer.on('upgrade', proxyUpgrade);
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  const pagePort = (pageServer.address() as AddressInfo).port;
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  insecureOrigin = `http://${INSECURE_HOST}:${pagePort}`;
  // As the README tells a frontend on another origin: CORS_ORIGINS names the page's origin.
  harness = await Harness.start({ env: liveEnv({ CORS_ORIGINS: `${pageOrigin},${insecureOrigin}`, TRUSTED_DOCUMENTS: 'allow' }), upstream: { tokens: TOKENS } });
  harness.instance.server.on('upgrade', (_request, socket: Duplex) => upgrades.push(socket));
  browser = await launchBrowser();
  context = await browser.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (error) => uncaught.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  // Nothing may leave the machine. Recorded rather than routed: with routing on, playwright answers CORS preflights
  // itself (allowing everything), and the gateway's own answers to them would go untested.
  context.on('request', (request) => {
    if (!['127.0.0.1', 'localhost', INSECURE_HOST, REFUSED_HOST].includes(new URL(request.url()).hostname)) uncaught.push(`left the machine: ${request.url()}`);
  });
  await page.goto(`${pageOrigin}/`);
  await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
}, 60_000);

beforeEach(() => {
  pageErrors.length = 0;
});

afterEach(async () => {
  expect(uncaught, 'uncaught errors in the page').toEqual([]);
  for (const token of ['demo-token', 'not-a-token', 'token-a', 'token-b']) expect(harness.rawLogs, 'tokens in the gateway\'s logs').not.toContain(token);
  // Any watch a failed test left running in the page.
  await page?.evaluate(() => {
    for (const stop of (window as unknown as { stops?: AbortController[] }).stops ?? []) stop.abort();
  });
});

afterAll(async () => {
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await harness?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

/** What a watch in the page got, as the page records it (see `startWatch`). */
interface PageWatch {
  updates: Array<{ status: string; isFinal: boolean; cursor: string; events: string[] }>;
  retries: Array<{ name: string; message: string; attempt: number }>;
  done: boolean;
  error: { name: string; code?: unknown; message: string } | null;
}

/**
 * Starts `watchExecution` in the page, recording into `window.watches[key]`: each update's status,
 * cursor and new event ids, each retry, and how it ended. `transport` as the option; its
 * AbortController is `window.controllers[key]`.
 */
async function startWatch(
  key: string,
  id: string,
  transport: 'sse' | 'websocket',
  {
    auth = AUTH,
    headers,
    headersForm = 'record',
    url = harness.url,
    idleTimeoutMs,
  }: { auth?: string; headers?: Record<string, string>; headersForm?: HeadersForm; url?: string; idleTimeoutMs?: number } = {},
): Promise<void> {
  await page.evaluate(
    ({ key, id, transport, url, auth, headers: given, headersForm, idleTimeoutMs }) => {
      // Made in the page: a Headers cannot cross page.evaluate.
      const headers = !given ? undefined : headersForm === 'Headers' ? new Headers(given) : headersForm === 'pairs' ? Object.entries(given) : given;
      const scope = window as unknown as {
        gatewayClient: typeof import('../src/client/index.js');
        watches?: Record<string, unknown>;
        controllers?: Record<string, AbortController>;
        stops?: AbortController[];
      };
      const record = { updates: [] as unknown[], retries: [] as unknown[], done: false, error: null as unknown };
      const controller = new AbortController();
      (scope.watches ??= {})[key] = record;
      (scope.controllers ??= {})[key] = controller;
      (scope.stops ??= []).push(controller);
      void (async () => {
        try {
          const updates = scope.gatewayClient.watchExecution(url, auth, id, {
            transport,
            signal: controller.signal,
            retryDelayMs: 50,
            ...(headers ? { headers } : {}),
            ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
            onRetry: (error, attempt) => record.retries.push({ name: (error as Error)?.name, message: (error as Error)?.message, attempt }),
          });
          for await (const update of updates) {
            record.updates.push({ status: update.execution.status, isFinal: update.isFinal, cursor: update.cursor, events: update.newEvents.map((edge) => edge.node.id) });
          }
        } catch (error) {
          record.error = { name: (error as Error).name, code: (error as { code?: unknown }).code, message: (error as Error).message };
        } finally {
          record.done = true;
        }
      })();
    },
    { key, id, transport, url, auth, headers, headersForm, idleTimeoutMs },
  );
}

/** The forms fetch takes headers in, each of which `watchExecution` takes too. */
type HeadersForm = 'record' | 'Headers' | 'pairs';

function watchState(key: string): Promise<PageWatch> {
  return page.evaluate((key) => (window as unknown as { watches: Record<string, PageWatch> }).watches[key]!, key);
}

/** Waits until the page's watch `key` satisfies `condition`; fails with what it had. */
async function waitForWatch(key: string, condition: (watch: PageWatch) => boolean, what: string, timeoutMs = WAIT): Promise<PageWatch> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const state = await watchState(key);
    if (condition(state)) return state;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}; the page's watch: ${JSON.stringify(state)}; page errors: ${JSON.stringify([...uncaught, ...pageErrors])}`);
    await sleep(20);
  }
}

/** The steps after `workflow_queued`, with the events each appends. */
const STEPS: ReadonlyArray<readonly [string, number]> = [
  ['workflow_running', 3],
  ['workflow_waiting', 2],
  ['workflow_succeeded', 1],
];

/**
 * Advances `id` through STEPS, each once the page's watch has seen an update more; `between(step)` runs
 * before each step (a drop of the connection, say). Returns the ids of the events appended.
 */
async function driveWatch(key: string, id: string, between: (step: number) => Promise<void> = async () => {}): Promise<string[]> {
  const appended: string[] = [];
  for (let step = 0; step < STEPS.length; step++) {
    await waitForWatch(key, (watch) => watch.updates.length > step, `update #${step + 1}`);
    await between(step);
    const [status, count] = STEPS[step]!;
    appended.push(...advance(harness.upstream, id, status, count));
  }
  return appended;
}

describe('the typed client in Chromium, on another origin than the gateway', () => {
  it('bundles for the browser with no Node-only import', () => {
    expect(bundle.warnings).toEqual([]);
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.filter((input) => input.startsWith('node:') || /(^|\/)node_modules\/(ws|undici)\//.test(input))).toEqual([]);
    expect(inputs.some((input) => input.endsWith('src/client/live.ts'))).toBe(true);
  });

  it('runs a typed query, and gatewayErrors reads NOT_FOUND from a ClientError; upstream sees the page\'s token', async () => {
    harness.upstream.reset();
    const result = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionStatusDocument, ExecutionsDocument, gatewayErrors } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        const client = createGatewayClient(url, auth);
        const { execution } = await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' });
        let caught: unknown;
        try {
          await client.request(ExecutionsDocument, { ids: ['ex_demo_2', 'ex_missing'] });
        } catch (error) {
          caught = error;
        }
        const whole = await client.requestResult(ExecutionsDocument, { ids: ['ex_demo_3', 'ex_missing'] });
        return {
          execution,
          caughtName: (caught as Error | undefined)?.name,
          errors: gatewayErrors(caught).map(({ path, extensions }) => ({ path, code: extensions?.code })),
          whole: { data: whole.data, codes: whole.errors.map((error) => error.extensions?.code), requestId: whole.headers.get('x-request-id') },
        };
      },
      { url: harness.url, auth: AUTH },
    );
    expect(result.execution).toMatchObject({ id: 'ex_demo_1', status: expect.any(String) });
    expect(result.caughtName).toBe('Error');
    expect(result.errors).toEqual([{ path: ['executions', 1], code: 'NOT_FOUND' }]);
    expect(result.whole.data?.executions).toEqual([expect.objectContaining({ id: 'ex_demo_3' }), null]);
    expect(result.whole.codes).toEqual(['NOT_FOUND']);
    // Exposed to the page by CORS, so a frontend can quote it.
    expect(result.whole.requestId).toEqual(expect.any(String));
    for (const id of ['ex_demo_1', 'ex_demo_2', 'ex_demo_3', 'ex_missing']) expect(tokensSeen(harness.upstream, id), id).toEqual([AUTH]);
    expect(harness.upstream.requestsFor('ex_missing')).toHaveLength(2);
    expect(pageErrors).toEqual([]);
  });

  it('sends persisted documents as hashes over GET, from a page', async () => {
    harness.upstream.reset();
    const result = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionStatusDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        const sent: string[] = [];
        const client = createGatewayClient(url, auth, {}, {
          method: 'GET',
          persistedDocuments: true,
          fetch: (input, init) => {
            sent.push(String(input));
            return fetch(input, init);
          },
        });
        const { execution } = await client.request(ExecutionStatusDocument, { id: 'ex_demo_4' });
        // A document the gateway's manifest lacks: its PERSISTED_QUERY_NOT_FOUND (a 400 the page must read across origins), then the text.
        const adHoc = await client.request<{ executions: Array<{ id: string } | null> }>('query AdHoc { executions(ids: ["ex_demo_8"]) { id } }');
        return { execution, adHoc, sent };
      },
      { url: harness.url, auth: AUTH },
    );
    expect(result.execution).toMatchObject({ id: 'ex_demo_4' });
    expect(result.adHoc).toEqual({ executions: [{ id: 'ex_demo_8' }] });
    expect(result.sent).toHaveLength(3);
    expect(result.sent[0]).toContain('documentId=sha256%3A');
    expect(result.sent[0]).not.toContain('query=');
    expect(result.sent[1]).toContain('documentId=sha256%3A');
    expect(result.sent[2]).toContain('query=');
    expect(harness.upstream.requestsFor('ex_demo_8')).toHaveLength(1);
    expect(tokensSeen(harness.upstream, 'ex_demo_4')).toEqual([AUTH]);
  });

  it('sends the text where the page has no Web Crypto (plain http, a host other than localhost), as the README says', async () => {
    harness.upstream.reset();
    const insecure = await context!.newPage();
    insecure.on('pageerror', (error) => uncaught.push(String(error)));
    try {
      await insecure.goto(`${insecureOrigin}/`);
      await insecure.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const result = await insecure.evaluate(
        async ({ url, auth }) => {
          const { createGatewayClient, ExecutionStatusDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
          const sent: string[] = [];
          const client = createGatewayClient(url, auth, {}, {
            method: 'GET',
            persistedDocuments: true,
            fetch: (input, init) => {
              sent.push(String(input));
              return fetch(input, init);
            },
          });
          const { execution } = await client.request(ExecutionStatusDocument, { id: 'ex_demo_6' });
          return { secure: window.isSecureContext, subtle: typeof crypto.subtle, execution, sent };
        },
        { url: harness.url, auth: AUTH },
      );
      expect(result).toMatchObject({ secure: false, subtle: 'undefined', execution: { id: 'ex_demo_6' } });
      expect(result.sent).toHaveLength(1);
      expect(result.sent[0]).toContain('query=');
      expect(result.sent[0]).not.toContain('documentId=');
      expect(tokensSeen(harness.upstream, 'ex_demo_6')).toEqual([AUTH]);
    } finally {
      await insecure.close();
    }
  });

  it('refuses a page whose origin CORS_ORIGINS does not list, and logs it once, as the README says: queries and WebSocket watches alike', async () => {
    harness.upstream.reset();
    const refusedOrigin = `http://${REFUSED_HOST}:${new URL(pageOrigin).port}`;
    const refused = await context!.newPage();
    refused.on('pageerror', (error) => uncaught.push(String(error)));
    try {
      await refused.goto(`${refusedOrigin}/`);
      await refused.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
      const result = await refused.evaluate(
        async ({ url, auth }) => {
          const { createGatewayClient, ExecutionStatusDocument, gatewayErrors, watchExecution } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
          let query: unknown;
          try {
            await createGatewayClient(url, auth).request(ExecutionStatusDocument, { id: 'ex_demo_7' });
          } catch (error) {
            query = { name: (error as Error).name, message: (error as Error).message, errors: gatewayErrors(error).length };
          }
          const retries: Array<{ name: string; message: string }> = [];
          const stop = new AbortController();
          const watch = (async () => {
            const updates: unknown[] = [];
            for await (const update of watchExecution(url, auth, 'ex_demo_7', {
              transport: 'websocket',
              signal: stop.signal,
              retryDelayMs: 50,
              onRetry: (error) => {
                retries.push({ name: (error as Error).name, message: (error as Error).message });
                if (retries.length === 2) stop.abort();
              },
            }))
              updates.push(update);
            return updates.length;
          })();
          return { query, updates: await watch, retries };
        },
        { url: harness.url, auth: AUTH },
      );
      expect(result.query).toEqual({ name: 'TypeError', message: 'Failed to fetch', errors: 0 });
      expect(result.updates).toBe(0);
      expect(result.retries).toEqual([
        { name: 'NetworkError', message: expect.stringContaining('The WebSocket to the gateway closed') },
        { name: 'NetworkError', message: expect.stringContaining('The WebSocket to the gateway closed') },
      ]);
      expect(harness.upstream.requestsFor('ex_demo_7')).toEqual([]);
      const told = harness.logs.filter((line) => line.msg?.startsWith('CORS: refused a browser page'));
      expect(told.map((line) => [line.origin, line.msg])).toEqual([[refusedOrigin, `CORS: refused a browser page at ${refusedOrigin} (it is not in CORS_ORIGINS); add the origin to CORS_ORIGINS to let it call the gateway`]]);
    } finally {
      await refused.close();
    }
  });

  it('reads why a GET past the 16 KiB head bound was refused, across origins (its preflight to the same URL answered)', async () => {
    harness.upstream.reset();
    const result = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionEventsDocument, gatewayErrors } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        const eventTypes = Array.from({ length: 1_000 }, (_, i) => `event-type-${i}`);
        try {
          await createGatewayClient(url, auth, {}, { method: 'GET' }).request(ExecutionEventsDocument, { id: 'ex_demo_1', filter: { eventTypes } });
          return { resolved: true };
        } catch (error) {
          const status = (error as { response?: { status?: number } }).response?.status;
          return { status, errors: gatewayErrors(error).map(({ message, extensions }) => ({ code: extensions?.code, message })) };
        }
      },
      { url: harness.url, auth: AUTH },
    );
    expect(result).toEqual({ status: 414, errors: [{ code: 'BAD_REQUEST', message: expect.stringContaining('POST') }] });
    expect(harness.upstream.requestsFor('ex_demo_1')).toEqual([]);
  });

  it('pages through events with cursors, one upstream call per page', async () => {
    harness.upstream.reset();
    const pages = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionEventsDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        const client = createGatewayClient(url, auth);
        const seen: Array<{ cursors: string[]; ids: string[]; hasNextPage: boolean; endCursor: string | null; totalCount: number }> = [];
        let after = null as string | null;
        for (let i = 0; i < 3; i++) {
          const variables = { id: 'ex_demo_long', first: 4, after };
          const result = await client.request(ExecutionEventsDocument, variables);
          const events = result.execution!.events;
          seen.push({
            cursors: events.edges.map((edge) => edge.cursor),
            ids: events.edges.map((edge) => edge.node.id),
            hasNextPage: events.pageInfo.hasNextPage,
            endCursor: events.pageInfo.endCursor,
            totalCount: events.totalCount,
          });
          after = events.pageInfo.endCursor;
        }
        return seen;
      },
      { url: harness.url, auth: AUTH },
    );
    expect(pages.map((each) => each.ids.length)).toEqual([4, 4, 4]);
    const ids = pages.flatMap((each) => each.ids);
    expect(new Set(ids).size).toBe(12);
    expect(new Set(pages.flatMap((each) => each.cursors)).size).toBe(12);
    for (const each of pages) {
      expect(each.hasNextPage).toBe(true);
      expect(each.endCursor).toBe(each.cursors.at(-1));
      expect(each.totalCount).toBe(1000);
    }
    expect(harness.upstream.requestsFor('ex_demo_long')).toHaveLength(3);
    expect(tokensSeen(harness.upstream, 'ex_demo_long')).toEqual([AUTH]);

    // The README's walk over every page forward ("Walking every page forward with the generated client").
    const walked = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionEventsDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        const client = createGatewayClient(url, auth);
        const ids: string[] = [];
        let after = null as string | null;
        do {
          const result: import('../src/client/index.js').ExecutionEventsQuery = await client.request(ExecutionEventsDocument, { id: 'ex_demo_long', first: 100, after });
          const page = result.execution!.events;
          for (const { node } of page.edges) ids.push(node.id);
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        return ids;
      },
      { url: harness.url, auth: AUTH },
    );
    expect(walked).toHaveLength(1000);
    expect(new Set(walked).size).toBe(1000);
    expect(harness.upstream.requestsFor('ex_demo_long')).toHaveLength(3 + 10);
  });

  describe.each(['sse', 'websocket'] as const)('watchExecution over %s', (transport) => {
    it('receives the updates as upstream advances the execution, ending on the final one', async () => {
      const id = `ex_browser_watch_${transport}`;
      putExecution(harness.upstream, id, 'workflow_queued', { eventCount: 2 });
      await startWatch(id, id, transport);
      const appended = await driveWatch(id, id);
      const watch = await waitForWatch(id, (each) => each.done, 'the watch to end');
      expect(watch.error).toBeNull();
      expect(watch.updates.map((update) => update.status)).toEqual(['WORKFLOW_QUEUED', 'WORKFLOW_RUNNING', 'WORKFLOW_WAITING', 'WORKFLOW_SUCCEEDED']);
      expect(watch.updates.map((update) => update.isFinal)).toEqual([false, false, false, true]);
      expect(watch.updates.flatMap((update) => update.events)).toEqual(appended);
      expect(watch.retries).toEqual([]);
      expect(tokensSeen(harness.upstream, id)).toEqual([AUTH]);
      await allStopped(harness);
      expect(pageErrors).toEqual([]);
    });

    it('resumes from its last cursor after the gateway drops the connection: no event missed or repeated', async () => {
      const id = `ex_browser_resume_${transport}`;
      putExecution(harness.upstream, id, 'workflow_queued', { eventCount: 2 });
      await startWatch(id, id, transport);
      const appended = await driveWatch(id, id, async (step) => {
        if (step !== 1) return;
        // Every connection of the gateway closed under the watch, events appended while it is away.
        if (transport === 'sse') harness.instance.server.closeAllConnections();
        else for (const socket of upgrades) socket.destroy();
        await waitForWatch(id, (watch) => watch.retries.length > 0, 'the retry after the drop');
      });
      const watch = await waitForWatch(id, (each) => each.done, 'the watch to end');
      expect(watch.error).toBeNull();
      expect(watch.retries.length).toBeGreaterThanOrEqual(1);
      expect(watch.retries[0]).toMatchObject({ name: 'NetworkError', attempt: 1 });
      expect(watch.updates.flatMap((update) => update.events)).toEqual(appended);
      expect(watch.updates.at(-1)).toMatchObject({ status: 'WORKFLOW_SUCCEEDED', isFinal: true });
      expect(tokensSeen(harness.upstream, id)).toEqual([AUTH]);
      await allStopped(harness);
    });

    it('ends with a WatchError naming the code the gateway refused it with: NOT_FOUND, UNAUTHENTICATED, BAD_USER_INPUT', async () => {
      harness.upstream.reset();
      await startWatch(`missing-${transport}`, 'ex_browser_missing', transport);
      await startWatch(`token-${transport}`, 'ex_demo_4', transport, { auth: 'Bearer not-a-token' });
      await startWatch(`id-${transport}`, 'not an id!', transport);
      const ended = await Promise.all([`missing-${transport}`, `token-${transport}`, `id-${transport}`].map((key) => waitForWatch(key, (watch) => watch.done, `${key} to end`)));
      expect(ended.map((watch) => [watch.error?.name, watch.error?.code])).toEqual([
        ['WatchError', 'NOT_FOUND'],
        ['WatchError', 'UNAUTHENTICATED'],
        ['WatchError', 'BAD_USER_INPUT'],
      ]);
      for (const watch of ended) {
        expect(watch.updates).toEqual([]);
        expect(watch.retries).toEqual([]);
      }
      expect(tokensSeen(harness.upstream, 'ex_browser_missing')).toEqual([AUTH]);
      expect(tokensSeen(harness.upstream, 'ex_demo_4')).toEqual(['Bearer not-a-token']);
      await allStopped(harness);
    });

    it('stops when its signal aborts, and upstream sees polling stop', async () => {
      const id = `ex_browser_abort_${transport}`;
      putExecution(harness.upstream, id, 'awaiting_payment');
      await startWatch(id, id, transport);
      await waitForWatch(id, (watch) => watch.updates.length > 0, 'the first update');
      await expectPollingStopsAfter(harness, [id], () =>
        page.evaluate((key) => (window as unknown as { controllers: Record<string, AbortController> }).controllers[key]!.abort(), id),
      );
      const watch = await waitForWatch(id, (each) => each.done, 'the watch to return');
      expect(watch.error).toBeNull();
      expect(watch.retries).toEqual([]);
      expect(tokensSeen(harness.upstream, id)).toEqual([AUTH]);
    });
  });

  // Given as a Headers, none of them was sent; as an array of pairs, they went out as headers named `0`, `1`, ….
  it.each([
    ['a record', 'record'],
    ['a Headers', 'Headers'],
    ['an array of pairs', 'pairs'],
  ] as const)('sends its extra headers, given as %s, over Server-Sent Events across origins (preflighted), the token upstream', async (_form, headersForm) => {
    const id = `ex_browser_headers_${headersForm}`;
    putExecution(harness.upstream, id, 'workflow_running');
    const seen: Array<string | undefined> = [];
    const listener = (request: { url?: string; headers: Record<string, unknown> }) => {
      if (request.url?.startsWith('/graphql')) seen.push(request.headers['x-request-id'] as string | undefined);
    };
    harness.instance.server.on('request', listener);
    try {
      await startWatch(id, id, 'sse', { headers: { 'x-request-id': 'page-req-1', authorization: 'Bearer ignored' }, headersForm });
      await waitForWatch(id, (watch) => watch.updates.length > 0, 'the first update');
      advance(harness.upstream, id, 'workflow_succeeded', 1);
      const watch = await waitForWatch(id, (each) => each.done, 'the watch to end');
      expect(watch.error).toBeNull();
      expect(seen).toContain('page-req-1');
      expect(tokensSeen(harness.upstream, id)).toEqual([AUTH]);
    } finally {
      harness.instance.server.off('request', listener);
    }
  });

  it('aborts a query whose signal the page aborts: an AbortError, no gateway errors', async () => {
    const result = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionsDocument, gatewayErrors } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        const controller = new AbortController();
        const pending = createGatewayClient(url, auth).requestResult({ document: ExecutionsDocument, variables: { ids: ['ex_demo_1'] }, signal: controller.signal });
        controller.abort();
        try {
          await pending;
          return { name: 'resolved', errors: -1 };
        } catch (error) {
          return { name: (error as Error).name, errors: gatewayErrors(error).length };
        }
      },
      { url: harness.url, auth: AUTH },
    );
    expect(result).toEqual({ name: 'AbortError', errors: 0 });
  });

  it('keeps each token on its own socket: two watches with different tokens over WebSocket, each read with its own', async () => {
    for (const [id, org] of [['ex_browser_token_a', 'org_a'], ['ex_browser_token_b', 'org_b']] as const) putExecution(harness.upstream, id, 'workflow_running', { organizationId: org });
    await startWatch('token-a', 'ex_browser_token_a', 'websocket', { auth: 'Bearer token-a' });
    await startWatch('token-b', 'ex_browser_token_b', 'websocket', { auth: 'Bearer token-b' });
    for (const key of ['token-a', 'token-b']) await waitForWatch(key, (watch) => watch.updates.length > 0, `${key}'s first update`);
    advance(harness.upstream, 'ex_browser_token_a', 'workflow_succeeded', 1);
    advance(harness.upstream, 'ex_browser_token_b', 'workflow_succeeded', 1);
    for (const key of ['token-a', 'token-b']) expect((await waitForWatch(key, (watch) => watch.done, `${key} to end`)).error).toBeNull();
    expect(tokensSeen(harness.upstream, 'ex_browser_token_a')).toEqual(['Bearer token-a']);
    expect(tokensSeen(harness.upstream, 'ex_browser_token_b')).toEqual(['Bearer token-b']);
  });

  it('takes a relative /graphql behind the page\'s own proxy, as the README says: queries, and watches over both transports', async () => {
    harness.upstream.reset();
    const execution = await page.evaluate(async (auth) => {
      const { createGatewayClient, ExecutionStatusDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
      return (await createGatewayClient('/graphql', auth).request(ExecutionStatusDocument, { id: 'ex_demo_5' })).execution;
    }, AUTH);
    expect(execution).toMatchObject({ id: 'ex_demo_5' });
    expect(tokensSeen(harness.upstream, 'ex_demo_5')).toEqual([AUTH]);
    for (const transport of ['sse', 'websocket'] as const) {
      const id = `ex_browser_proxied_${transport}`;
      putExecution(harness.upstream, id, 'workflow_running');
      await startWatch(id, id, transport, { url: '/graphql' });
      await waitForWatch(id, (watch) => watch.updates.length > 0, 'the first update');
      advance(harness.upstream, id, 'workflow_succeeded', 2);
      const watch = await waitForWatch(id, (each) => each.done, 'the watch to end');
      expect(watch.error).toBeNull();
      expect(watch.updates.at(-1)).toMatchObject({ status: 'WORKFLOW_SUCCEEDED', isFinal: true });
      expect(tokensSeen(harness.upstream, id)).toEqual([AUTH]);
    }
    await allStopped(harness);
  });

  it.each([
    ['websocket', "The gateway did not answer the socket's ping in time: the connection is taken as lost."],
    ['sse', 'No byte from the gateway for 1500 ms: the connection is taken as lost.'],
  ] as const)('drops a connection gone silent over %s within idleTimeoutMs, and resumes on a new one from its last cursor', async (transport, told) => {
    const id = `ex_browser_silent_${transport}`;
    putExecution(harness.upstream, id, 'workflow_running');
    await startWatch(id, id, transport, { url: '/graphql', idleTimeoutMs: 1_500 });
    await waitForWatch(id, (watch) => watch.updates.length > 0, 'the first update');
    for (const pair of proxiedSockets) pair.muted = true;
    const appended = advance(harness.upstream, id, 'workflow_waiting', 2);
    const retried = await waitForWatch(id, (watch) => watch.retries.length > 0, 'the retry after the connection went silent');
    expect(retried.retries[0]).toMatchObject({ name: transport === 'sse' ? 'Error' : 'NetworkError', message: told });
    await waitForWatch(id, (watch) => watch.updates.some((update) => update.status === 'WORKFLOW_WAITING'), 'the update sent while the socket was silent');
    appended.push(...advance(harness.upstream, id, 'workflow_succeeded', 1));
    const watch = await waitForWatch(id, (each) => each.done, 'the watch to end');
    expect(watch.error).toBeNull();
    expect(watch.updates.flatMap((update) => update.events)).toEqual(appended);
    await allStopped(harness);
  });

  it('ends at once a watch aborted while its WebSocket is still opening, and the page closes that socket', async () => {
    holdUpgrades = true;
    try {
      await startWatch('held', 'ex_demo_4', 'websocket', { url: '/graphql' });
      await waitFor(() => heldUpgrades.length === 1, 'the held upgrade');
      const [held] = heldUpgrades;
      await page.evaluate(() => (window as unknown as { controllers: Record<string, AbortController> }).controllers['held']!.abort());
      const watch = await waitForWatch('held', (each) => each.done, 'the aborted watch to return', 2_000);
      expect(watch).toMatchObject({ updates: [], retries: [], error: null });
      await waitFor(() => held!.destroyed || held!.readableEnded, 'the page to close the socket still opening', 5_000);
    } finally {
      holdUpgrades = false;
      for (const socket of heldUpgrades.splice(0)) socket.destroy();
    }
  });

  it('preflights once for many requests of the same kind (Access-Control-Max-Age)', async () => {
    const preflights: string[] = [];
    const listener = (request: IncomingMessage) => {
      if (request.method === 'OPTIONS') preflights.push(String(request.headers['access-control-request-headers']));
    };
    harness.instance.server.on('request', listener);
    try {
      await page.evaluate(
        async ({ url, auth }) => {
          const { createGatewayClient, ExecutionStatusDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
          // A header no other test sends, so no preflight the browser cached before covers these requests.
          const client = createGatewayClient(url, auth, { 'x-preflight-probe': '1' });
          for (let i = 0; i < 4; i++) await client.request(ExecutionStatusDocument, { id: 'ex_demo_1' });
        },
        { url: harness.url, auth: AUTH },
      );
    } finally {
      harness.instance.server.off('request', listener);
    }
    expect(preflights).toHaveLength(1);
    expect(preflights[0]).toContain('x-preflight-probe');
  });

  it('watches 8 executions at once over one WebSocket, a query beside them, where Server-Sent Events serve 6 (README "Typed client")', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `ex_browser_many_${i}`);
    for (const id of ids) putExecution(harness.upstream, id, 'workflow_running');

    // Over Server-Sent Events: the browser's 6 connections per host go to the first 6; the other 2 get no answer,
    // and are told why once their idleTimeoutMs passes.
    for (const [i, id] of ids.entries()) await startWatch(`sse-${id}`, id, 'sse', { idleTimeoutMs: i < 6 ? 0 : 1_000 });
    for (const id of ids.slice(0, 6)) await waitForWatch(`sse-${id}`, (watch) => watch.updates.length > 0, `${id}'s first update over SSE`);
    for (const id of ids.slice(6)) {
      const starved = await waitForWatch(`sse-${id}`, (watch) => watch.retries.length > 0, `${id}'s retry for want of a connection`);
      expect(starved.updates).toEqual([]);
      expect(starved.retries[0]!.message).toContain("transport: 'websocket'");
    }
    await page.evaluate(() => {
      for (const stop of (window as unknown as { stops: AbortController[] }).stops.splice(0)) stop.abort();
    });
    await allStopped(harness);

    const socketsBefore = upgrades.length;
    for (const id of ids) await startWatch(`ws-${id}`, id, 'websocket');
    for (const id of ids) await waitForWatch(`ws-${id}`, (watch) => watch.updates.length > 0, `${id}'s first update over the socket`);
    const execution = await page.evaluate(
      async ({ url, auth }) => {
        const { createGatewayClient, ExecutionStatusDocument } = (window as unknown as { gatewayClient: typeof import('../src/client/index.js') }).gatewayClient;
        return (await createGatewayClient(url, auth).request(ExecutionStatusDocument, { id: 'ex_demo_1' })).execution;
      },
      { url: harness.url, auth: AUTH },
    );
    expect(execution).toMatchObject({ id: 'ex_demo_1' });
    expect(upgrades.length - socketsBefore, 'sockets the 8 watches opened').toBe(1);
    for (const id of ids) advance(harness.upstream, id, 'workflow_succeeded', 1);
    for (const id of ids) {
      const watch = await waitForWatch(`ws-${id}`, (each) => each.done, `${id}'s watch to end`);
      expect(watch.error).toBeNull();
      expect(watch.updates.at(-1)).toMatchObject({ status: 'WORKFLOW_SUCCEEDED', isFinal: true });
      expect(tokensSeen(harness.upstream, id)).toEqual([AUTH]);
    }
    await allStopped(harness);
  });

  it("wakes a watch paused between attempts when the window fires 'online'", async () => {
    const id = 'ex_browser_online';
    putExecution(harness.upstream, id, 'workflow_running');
    // A pause drawn up to ~17 min: only the online event can end it in time.
    await page.evaluate(
      ({ id, url, auth }) => {
        const scope = window as unknown as { gatewayClient: typeof import('../src/client/index.js'); watches?: Record<string, unknown>; stops?: AbortController[] };
        const record = { updates: [] as unknown[], retries: [] as unknown[], done: false, error: null as unknown };
        const controller = new AbortController();
        (scope.watches ??= {})[id] = record;
        (scope.stops ??= []).push(controller);
        const random = Math.random;
        void (async () => {
          try {
            for await (const update of scope.gatewayClient.watchExecution(url, auth, id, {
              signal: controller.signal,
              retryDelayMs: 1_000_000,
              maxRetryDelayMs: 1_000_000,
              onRetry: (error, attempt, delayMs) => {
                record.retries.push({ name: (error as Error).name, message: String(delayMs), attempt });
                Math.random = random;
              },
            })) {
              record.updates.push({ status: update.execution.status, isFinal: update.isFinal, cursor: update.cursor, events: [] });
              // The next pause is drawn long.
              Math.random = () => 0.999;
            }
          } catch (error) {
            record.error = { name: (error as Error).name, message: (error as Error).message };
          } finally {
            Math.random = random;
            record.done = true;
          }
        })();
      },
      { id, url: harness.url, auth: AUTH },
    );
    await waitForWatch(id, (watch) => watch.updates.length === 1, 'the first update');
    harness.instance.server.closeAllConnections();
    const paused = await waitForWatch(id, (watch) => watch.retries.length === 1, 'the retry after the drop');
    expect(Number(paused.retries[0]!.message)).toBeGreaterThan(60_000);
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    const woken = await waitForWatch(id, (watch) => watch.updates.length >= 2, 'an update after the online event', 5_000);
    expect(woken.retries).toHaveLength(1);
    advance(harness.upstream, id, 'workflow_succeeded', 1);
    const watch = await waitForWatch(id, (each) => each.done, 'the watch to end');
    expect(watch.error).toBeNull();
    expect(watch.updates.at(-1)).toMatchObject({ status: 'WORKFLOW_SUCCEEDED', isFinal: true });
    await waitFor(() => harness.instance.live.counts.subscriptions === 0, 'the gateway to end the subscription');
  });
});
