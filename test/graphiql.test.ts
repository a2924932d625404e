/**
 * GraphiQL in a real headless browser (Debian's Chromium driven by
 * playwright-core) against the gateway on a real loopback port, on each lane
 * (the fast one, as deployed, and Yoga's own node adapter): the page loads
 * with nothing fetched from off the machine, a query typed into the editor runs
 * with the headers typed into the headers editor, and the docs explorer shows
 * the schema's descriptions.
 *
 * Chromium is a hard requirement: without it these tests fail, never skip
 * (.ci/run installs it with apt-get).
 */
import { existsSync } from 'node:fs';
import { isObjectType, parse, print } from 'graphql';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { schema } from '../src/schema/index.js';
import { Harness, LANES } from './support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TIMEOUT = 60_000;
/** Waits inside the page; below the test timeout so a miss reports what was missing. */
const WAIT = 45_000;

/** The gateway of the lane under test, and its /graphql URL. */
let harness: Harness;
let url: string;
let browser: Promise<Browser> | undefined;

/**
 * Launches Chromium once, on first use, so that a missing browser fails every
 * test with this message (a failing beforeAll would only mark them skipped).
 */
function launchBrowser(): Promise<Browser> {
  browser ??= existsSync(CHROMIUM)
    ? chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: WAIT })
    : Promise.reject(
        new Error(
          `The GraphiQL browser tests need Debian's Chromium at ${CHROMIUM}, and it is not there. ` +
            'Install it with `apt-get install chromium` (.ci/run does). These tests fail rather than skip without it.',
        ),
      );
  return browser;
}

afterAll(async () => {
  await (await browser?.catch(() => undefined))?.close();
});

/** True for URLs that stay on this machine: loopback hosts, or blob:/data: made in the page. */
function staysLocal(raw: string): boolean {
  const parsed = new URL(raw);
  if (parsed.protocol === 'blob:' || parsed.protocol === 'data:') return true;
  return ['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol) && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
}

interface Session {
  page: Page;
  /** Every request the page made, in order. */
  requests: Request[];
  /** Requests that would have left the machine; aborted, and recorded to fail the test. */
  blocked: string[];
  /** Uncaught errors thrown in the page. */
  pageErrors: string[];
  /** URLs of the web workers the page started. */
  workers: string[];
}

/**
 * Runs `body` against a fresh browser context (fresh storage, so no GraphiQL tab
 * state leaks between tests). On failure a screenshot is left in /tmp.
 */
async function withGraphiQL(name: string, body: (session: Session) => Promise<void>): Promise<void> {
  const context = await (await launchBrowser()).newContext({ viewport: { width: 1400, height: 900 } });
  const session: Session = { page: await context.newPage(), requests: [], blocked: [], pageErrors: [], workers: [] };
  session.page.setDefaultTimeout(WAIT);
  session.page.on('request', (request) => session.requests.push(request));
  session.page.on('pageerror', (error) => session.pageErrors.push(String(error)));
  session.page.on('worker', (worker) => session.workers.push(worker.url()));
  // Nothing may reach the network beyond the loopback: abort it, and remember it.
  // (With routing on, Chromium no longer reports blob: fetches as requests; the
  // workers made from blobs are recorded through the 'worker' event instead.)
  await context.route(
    (target) => !staysLocal(target.href),
    (route) => {
      session.blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  try {
    await body(session);
  } catch (error) {
    const screenshot = `/tmp/graphiql-${name}.png`;
    await session.page.screenshot({ path: screenshot }).catch(() => undefined);
    if (error instanceof Error) error.message += `\n(screenshot of the page: ${screenshot})`;
    throw error;
  } finally {
    await context.close();
  }
}

/** Opens /graphql as a browser does and waits until GraphiQL has rendered and introspected the schema. */
async function openGraphiQL(page: Page) {
  const introspection = page.waitForResponse(
    (response) => response.request().method() === 'POST' && response.url() === url && (response.request().postData() ?? '').includes('__schema'),
  );
  const document = await page.goto(url);
  const introspected = await introspection;
  // The operation editor (Monaco) is mounted and shows the example operation.
  await page.locator('.graphiql-query-editor .monaco-editor[data-uri$="operation.graphql"] .view-lines').filter({ hasText: 'ExecutionPage' }).waitFor();
  return { document: document!, introspected };
}

/** The text Monaco renders for an editor, with its non-breaking spaces made plain. */
async function editorText(page: Page, selector: string): Promise<string> {
  return (await page.locator(`${selector} .view-lines`).innerText()).replace(/\u00a0/g, ' ');
}

/** Replaces the whole content of a Monaco editor by typing into it. */
async function typeInto(page: Page, editorSelector: string, text: string): Promise<void> {
  await page.locator(editorSelector).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText types the text as one input (no auto-closed brackets or quotes doubled).
  await page.keyboard.insertText(text);
}

const OPERATION_EDITOR = '.graphiql-query-editor .monaco-editor[data-uri$="operation.graphql"]';
const HEADERS_EDITOR = '.graphiql-editor-tool .monaco-editor[data-uri$="request-headers.json"]';
const RESULT = '.result-window';

describe.each(LANES)('GraphiQL served by the gateway (%s lane)', { timeout: TIMEOUT }, (lane) => {
  beforeAll(async () => {
    harness = await Harness.start({ lane });
    url = harness.url;
  }, TIMEOUT);
  afterAll(() => harness?.close());

  it('renders the editor from /graphql with every request staying on the machine', async () => {
    await withGraphiQL(`offline-${lane}`, async ({ page, requests, blocked, pageErrors, workers }) => {
      const { document, introspected } = await openGraphiQL(page);
      expect(document.status()).toBe(200);
      expect(document.headers()['content-type']).toMatch(/^text\/html/);
      expect(document.request().headers().accept).toMatch(/text\/html/);
      expect(introspected.status()).toBe(200);
      await expect(page.title()).resolves.toBe('execution-gateway');
      expect(await editorText(page, OPERATION_EDITOR)).toContain('query ExecutionPage($id: ID!) {');
      await expect(page.locator('.graphiql-execute-button').isVisible()).resolves.toBe(true);
      // Let late loads (workers, fonts, icons) happen before judging the list.
      await page.waitForLoadState('networkidle');

      const urls = requests.map((request) => request.url());
      const offMachine = urls.filter((requested) => !staysLocal(requested));
      expect(offMachine, `requests that left the machine:\n${offMachine.join('\n')}`).toEqual([]);
      expect(blocked).toEqual([]);
      // The list is not vacuous: the page itself and its introspection, both from the gateway.
      expect(urls[0]).toBe(url);
      expect(requests.filter((request) => request.method() === 'POST' && request.url() === url).length).toBeGreaterThanOrEqual(1);
      // Monaco's workers come from blobs the page makes out of its inlined code.
      expect(workers.length).toBeGreaterThanOrEqual(1);
      expect(workers.filter((worker) => !worker.startsWith('blob:'))).toEqual([]);
      expect(pageErrors).toEqual([]);
    });
  });

  it('runs a typed query with the typed Authorization header and shows the demo execution', async () => {
    await withGraphiQL(`run-query-${lane}`, async ({ page, pageErrors }) => {
      await openGraphiQL(page);
      const query = 'query Probe { execution(id: "ex_demo_4") { id status rawStatus isTerminal } }';
      await typeInto(page, OPERATION_EDITOR, query);
      expect(await editorText(page, OPERATION_EDITOR)).toBe(query);

      await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
      await page.locator(HEADERS_EDITOR).waitFor({ state: 'visible' });
      const headers = `{"Authorization": "Bearer ${DEMO_TOKEN}"}`;
      await typeInto(page, HEADERS_EDITOR, headers);
      expect(await editorText(page, HEADERS_EDITOR)).toBe(headers);

      harness.upstream.reset();
      const sent = page.waitForRequest(
        (request) => request.method() === 'POST' && request.url() === url && (request.postData() ?? '').includes('ex_demo_4'),
      );
      await page.getByRole('button', { name: /^Execute query/ }).click();
      const request = await sent;
      await page.locator(RESULT).filter({ hasText: 'WORKFLOW_RUNNING' }).waitFor();

      expect(JSON.parse(await editorText(page, RESULT))).toEqual({
        data: { execution: { id: 'ex_demo_4', status: 'WORKFLOW_RUNNING', rawStatus: 'workflow_running', isTerminal: false } },
        extensions: { upstream: { calls: 1, cacheHits: 0, sharedCalls: 0, timeMs: expect.any(Number) } },
      });
      expect((await request.allHeaders()).authorization).toBe(`Bearer ${DEMO_TOKEN}`);
      const body = JSON.parse(request.postData()!) as { query: string; operationName: string };
      expect(body.operationName).toBe('Probe');
      expect(print(parse(body.query))).toBe(print(parse(query)));
      // Exactly one upstream call, carrying exactly the header typed into the editor.
      expect(harness.upstream.requests).toHaveLength(1);
      const upstreamCalls = harness.upstream.requestsFor('ex_demo_4');
      expect(upstreamCalls).toHaveLength(1);
      expect(upstreamCalls[0]!.headers.authorization).toBe(`Bearer ${DEMO_TOKEN}`);
      expect(pageErrors).toEqual([]);
    });
  });

  it('shows the Execution type and its description in the docs explorer', async () => {
    const executionType = schema.getType('Execution');
    if (!isObjectType(executionType)) throw new Error('the schema has no Execution object type');
    const description = executionType.description ?? '';
    expect(description.length).toBeGreaterThan(20);

    await withGraphiQL(`docs-${lane}`, async ({ page, pageErrors }) => {
      await openGraphiQL(page);
      await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
      const explorer = page.locator('.graphiql-doc-explorer');
      await explorer.waitFor({ state: 'visible' });
      await explorer.locator('a.graphiql-doc-explorer-type-name', { hasText: /^Execution$/ }).first().click();
      await explorer.locator('.graphiql-doc-explorer-title', { hasText: /^Execution$/ }).waitFor();

      const shown = explorer.locator('.graphiql-doc-explorer-content > .graphiql-markdown-description').first();
      // GraphiQL renders the description as Markdown: `code` spans lose their backticks.
      expect((await shown.innerText()).trim()).toBe(description.replaceAll('`', ''));
      // Its fields are listed too, typed as the schema says.
      const fieldNames = await explorer.locator('a.graphiql-doc-explorer-field-name').allInnerTexts();
      expect(fieldNames).toEqual(expect.arrayContaining(['id', 'status', 'rawStatus', 'isTerminal', 'events']));
      expect(fieldNames).toHaveLength(Object.keys(executionType.getFields()).length);
      const statusItem = explorer.locator('.graphiql-doc-explorer-item', { has: page.locator('a.graphiql-doc-explorer-field-name', { hasText: /^status$/ }) });
      await expect(statusItem.locator('a.graphiql-doc-explorer-type-name').innerText()).resolves.toBe('ExecutionStatus');
      expect(pageErrors).toEqual([]);
    });
  });
});
