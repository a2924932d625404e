/**
 * GraphiQL in a real headless browser (Debian's Chromium driven by
 * playwright-core) against the gateway on a real loopback port, on each lane
 * (the fast one, as deployed, and Yoga's own node adapter): the page loads
 * with nothing fetched from off the machine, a query typed into the editor runs
 * with the headers typed into the headers editor, the docs explorer shows
 * the schema's descriptions, and a subscription typed into the editor shows
 * the updates of an execution the test advances arriving, over Server-Sent
 * Events (Yoga's GraphiQL default), until the final one.
 *
 * Chromium is a hard requirement: without it these tests fail, never skip
 * (.ci/run installs it with apt-get).
 */
import { existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { isObjectType, parse, print } from 'graphql';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION, DEMO_TOKEN, makeEvents, makeExecution } from '../src/demo/demo-data.js';
import { createLogger } from '../src/logger.js';
import { EXAMPLE_QUERY, graphiqlOptions, renderGraphiQL, type GraphiQLSettings } from '../src/pipeline/graphiql.js';
import { schema } from '../src/schema/index.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { Harness, LANES } from './support/harness.js';
import { rawExchange } from './support/raw-http.js';

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
  // A Monaco editor just made visible may take its first keys before its model is ready (on a loaded
  // machine the headers editor kept only "{"): typed again until it holds the text, at most three times.
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.locator(editorSelector).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    // insertText types the text as one input (no auto-closed brackets or quotes doubled).
    await page.keyboard.insertText(text);
    if ((await editorText(page, editorSelector)) === text) return;
  }
}

const OPERATION_EDITOR = '.graphiql-query-editor .monaco-editor[data-uri$="operation.graphql"]';
const HEADERS_EDITOR = '.graphiql-editor-tool .monaco-editor[data-uri$="request-headers.json"]';
const RESULT = '.result-window';

const LIVE_ENV = { LIVE_POLL_PAYMENT_MS: '30', LIVE_POLL_WAITING_MS: '30', LIVE_POLL_ACTIVE_MS: '30', LIVE_POLL_JITTER_PERCENT: '0' };
/** The steps of the watched execution after `awaiting_payment` (each status once, so each update is told apart), with the events each appends. */
const LIVE_STEPS: ReadonlyArray<[status: string, events: number]> = [
  ['payment_confirmed', 1],
  ['workflow_queued', 1],
  ['workflow_running', 2],
  ['workflow_succeeded', 1],
];

/** Like the demo's `ex_demo_live`, advanced by the test: the new status, and `count` events appended. */
function advanceLive(id: string, status: string, count: number): void {
  const stored = harness.upstream.get(id)!;
  const now = Date.now();
  harness.upstream.put({
    execution: { ...stored.execution, status, updatedAt: new Date(now).toISOString(), ...(status === 'workflow_succeeded' ? { finishedAt: new Date(now).toISOString() } : {}) },
    events: [...stored.events, ...makeEvents(id, DEMO_ORGANIZATION, count, now - count * 1_000, stored.events.length + 1)],
  });
}

describe.each(LANES)('GraphiQL served by the gateway (%s lane)', { timeout: TIMEOUT }, (lane) => {
  beforeAll(async () => {
    // Live pollers every few tens of milliseconds without jitter, so each step of an execution shows within a poll or two.
    harness = await Harness.start({ lane, env: LIVE_ENV });
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
      // The typed token stays in the editor only: any script of this origin could read localStorage for good.
      await page.waitForTimeout(1_000);
      const stored = await page.evaluate(() => Object.entries(localStorage).filter(([, value]) => value.includes('demo-token')).map(([key]) => key));
      expect(stored).toEqual([]);
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
  it('runs a subscription and shows the updates arriving over time, until isFinal: true', async () => {
    const id = `ex_graphiql_live_${lane}`;
    harness.upstream.put(makeExecution({ id, status: 'awaiting_payment', eventCount: 1, minute: 40 }));
    await withGraphiQL(`subscription-${lane}`, async ({ page, pageErrors }) => {
      await openGraphiQL(page);
      // A small selection of short values, so the whole result fits in the pane unwrapped (Monaco renders only the lines in view).
      const subscription = `subscription Watch { executionUpdates(id: "${id}") { isFinal endReason execution { status } newEvents { node { eventType } } } }`;
      await typeInto(page, OPERATION_EDITOR, subscription);
      await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
      await page.locator(HEADERS_EDITOR).waitFor({ state: 'visible' });
      await typeInto(page, HEADERS_EDITOR, `{"Authorization": "Bearer ${DEMO_TOKEN}"}`);

      harness.upstream.reset();
      // Yoga's GraphiQL sends a subscription as a GET event stream (a fetch, so it carries the typed headers).
      const sent = page.waitForRequest((request) => {
        const requested = new URL(request.url());
        const operation = request.method() === 'GET' ? (requested.searchParams.get('query') ?? '') : (request.postData() ?? '');
        return `${requested.origin}${requested.pathname}` === url && operation.includes('executionUpdates');
      });
      await page.getByRole('button', { name: /^Execute query/ }).click();
      const request = await sent;
      // Over Server-Sent Events, with the typed header.
      const headers = await request.allHeaders();
      expect(headers.accept).toMatch(/text\/event-stream/);
      expect(headers.authorization).toBe(`Bearer ${DEMO_TOKEN}`);

      /** Waits until the result pane shows `status`, and returns the result it shows then. */
      const shown = async (status: string) => {
        await page.locator(RESULT).filter({ hasText: `"${status}"` }).waitFor();
        return JSON.parse(await editorText(page, RESULT)) as { data: { executionUpdates: { isFinal: boolean; endReason: string | null; execution: { status: string }; newEvents: Array<{ node: { eventType: string } }> } } };
      };

      const first = await shown('AWAITING_PAYMENT');
      expect(first.data.executionUpdates).toEqual({ isFinal: false, endReason: null, execution: { status: 'AWAITING_PAYMENT' }, newEvents: [] });
      // While the watch runs, the execute button is the stop button.
      await page.getByRole('button', { name: /^Stop query/ }).waitFor();

      const timeline = [first.data.executionUpdates];
      for (const [status, count] of LIVE_STEPS) {
        // The pane still shows the previous update: nothing arrives before upstream changes.
        expect(await editorText(page, RESULT)).not.toContain(`"${status.toUpperCase()}"`);
        const before = harness.upstream.get(id)!.events.length;
        advanceLive(id, status, count);
        const update = (await shown(status.toUpperCase())).data.executionUpdates;
        timeline.push(update);
        expect(update.execution.status).toBe(status.toUpperCase());
        // The events appended by this step, and only those.
        expect(update.newEvents.map((edge) => edge.node.eventType)).toEqual(
          harness.upstream.get(id)!.events.slice(before).map((event) => event.eventType),
        );
        expect(update.newEvents).toHaveLength(count);
      }

      expect(timeline.map((update) => update.execution.status)).toEqual(['AWAITING_PAYMENT', ...LIVE_STEPS.map(([status]) => status.toUpperCase())]);
      expect(timeline.map((update) => update.isFinal)).toEqual([false, false, false, false, true]);
      expect(timeline.at(-1)).toMatchObject({ isFinal: true, endReason: 'EXECUTION_ENDED', execution: { status: 'WORKFLOW_SUCCEEDED' } });
      await page.locator(RESULT).filter({ hasText: '"isFinal": true' }).waitFor();
      // The stream completed: the button runs operations again.
      await page.getByRole('button', { name: /^Execute query/ }).waitFor();
      // Upstream saw the typed token on every poll.
      expect(harness.upstream.requestsFor(id).length).toBeGreaterThanOrEqual(LIVE_STEPS.length + 1);
      for (const call of harness.upstream.requestsFor(id)) expect(call.headers.authorization).toBe(`Bearer ${DEMO_TOKEN}`);
      expect(pageErrors).toEqual([]);
    });
  });
});

/** GraphiQL as `npm start` serves it with the demo upstream (src/server/process.ts): the demo token in its headers. */
const DEMO_GRAPHIQL: GraphiQLSettings = { headers: { Authorization: `Bearer ${DEMO_TOKEN}` }, exampleId: 'ex_demo_4' };
const DEMO_HEADERS = { Authorization: `Bearer ${DEMO_TOKEN}` };
const EXAMPLE_VARIABLES = { id: 'ex_demo_4' };
const VARIABLES_EDITOR = '.graphiql-editor-tool .monaco-editor[data-uri$="variables.json"]';

/** A JSON editor's text as a value; an empty editor (or tab field) is null. */
function jsonValue(text: string | null | undefined): unknown {
  return text?.trim() ? JSON.parse(text) : null;
}

/** The tabs GraphiQL shows, by title, and which one is active. */
async function shownTabs(page: Page): Promise<{ titles: string[]; active: string }> {
  const tabs = page.getByRole('tablist', { name: 'Select active operation' }).getByRole('tab');
  return { titles: await tabs.allInnerTexts(), active: await tabs.and(page.locator('[aria-selected="true"]')).innerText() };
}

interface StoredTab {
  title: string;
  query: string | null;
  variables: string | null;
  headers: string | null;
}

/** The tabs GraphiQL keeps in localStorage (`graphiql:tabState`), with their JSON fields parsed. */
async function storedTabs(page: Page) {
  const raw = await page.evaluate(() => localStorage.getItem('graphiql:tabState'));
  if (raw === null) return null;
  const state = JSON.parse(raw) as { activeTabIndex: number; tabs: StoredTab[] };
  return {
    active: state.activeTabIndex,
    tabs: state.tabs.map((tab) => ({ title: tab.title, query: tab.query, variables: jsonValue(tab.variables), headers: jsonValue(tab.headers) })),
  };
}

/**
 * The value in the variables or headers editor of the active tab, or its text
 * while that is no JSON: Monaco renders the lines of a newly shown editor over
 * a few frames, so callers poll.
 */
async function toolEditorValue(page: Page, tool: 'variables' | 'headers'): Promise<unknown> {
  const selector = tool === 'variables' ? VARIABLES_EDITOR : HEADERS_EDITOR;
  await page.locator(`.graphiql-editor-tools button[data-name="${tool}"]`).click();
  await page.locator(selector).waitFor({ state: 'visible' });
  const text = await editorText(page, selector);
  try {
    return jsonValue(text);
  } catch {
    return text;
  }
}

/**
 * Makes the tab titled `title` active from the keyboard: after a reload under
 * request interception, GraphiQL's drag-to-reorder tab strip can leave a tab
 * shifted over its neighbour, so a pointer click may end on the strip instead.
 */
async function selectTab(page: Page, title: string): Promise<void> {
  await page.locator('.graphiql-tab-button', { hasText: new RegExp(`^${title}$`) }).focus();
  await page.keyboard.press('Enter');
}

/** Loads or reloads the page (`navigate`) and waits until GraphiQL has introspected and mounted its operation editor. */
async function loadGraphiQL(page: Page, endpoint: string, navigate: () => Promise<unknown>): Promise<void> {
  const introspected = page.waitForResponse(
    (response) => response.request().method() === 'POST' && response.url() === endpoint && (response.request().postData() ?? '').includes('__schema'),
  );
  await navigate();
  await introspected;
  await page.locator(OPERATION_EDITOR).waitFor();
}

/** Clicks Run; resolves with the request GraphiQL sent for `operationName` and the gateway's answer. */
async function runActiveTab(page: Page, endpoint: string, operationName: string) {
  const answered = page.waitForResponse((response) => {
    const request = response.request();
    if (request.method() !== 'POST' || response.url() !== endpoint) return false;
    return (JSON.parse(request.postData() ?? '{}') as { operationName?: string }).operationName === operationName;
  });
  await page.getByRole('button', { name: /^Execute query/ }).click();
  const response = await answered;
  const body = (await response.json()) as { data?: { execution: Record<string, unknown> }; errors?: unknown[] };
  const request = response.request();
  return { body, authorization: (await request.allHeaders()).authorization, sent: JSON.parse(request.postData()!) as { variables?: unknown } };
}

/**
 * GraphiQL's tabs over reloads (issue 14), against a gateway configured as the
 * demo serves it: a fresh profile opens one tab holding the example with its
 * variables and the demo token, and a reload neither adds a tab nor changes
 * which one is active, whether the tabs are the example or the user's own.
 * Each visit is a real load or reload in the same browser profile, so
 * GraphiQL reads back what it stored in localStorage.
 */
describe.each(LANES)('GraphiQL tabs across reloads, as the demo serves it (%s lane)', { timeout: TIMEOUT }, (lane) => {
  let upstreamHarness: Harness;
  let demo: GatewayInstance;
  let demoUrl: string;

  beforeAll(async () => {
    upstreamHarness = await Harness.start({ lane });
    // The harness's gateway has no GraphiQL settings; this one has the demo's, on the harness's upstream and configuration (so its lane).
    demo = createInstance(upstreamHarness.config, { upstreamUrl: upstreamHarness.upstream.url, logger: createLogger('silent'), graphiql: DEMO_GRAPHIQL });
    demoUrl = `http://127.0.0.1:${await demo.listen(0, '127.0.0.1')}/graphql`;
  }, TIMEOUT);
  afterAll(async () => {
    demo?.server.closeAllConnections();
    await demo?.close();
    await upstreamHarness?.close();
  });

  it('opens exactly one tab, the example with its variables and the demo token, runs it, and reloads to the same single tab', async () => {
    await withGraphiQL(`example-tab-${lane}`, async ({ page, pageErrors }) => {
      for (const visit of ['first load', 'reload', 'second reload']) {
        await loadGraphiQL(page, demoUrl, () => (visit === 'first load' ? page.goto(demoUrl) : page.reload()));
        expect(await shownTabs(page), visit).toEqual({ titles: ['ExecutionPage'], active: 'ExecutionPage' });
        // GraphiQL stores its tabs shortly after it starts.
        await expect.poll(() => storedTabs(page), { timeout: WAIT, message: visit }).toEqual({
          active: 0,
          // Headers are never stored (shouldPersistHeaders: false): the editor gets the demo token from the page's defaults.
          tabs: [{ title: 'ExecutionPage', query: EXAMPLE_QUERY, variables: EXAMPLE_VARIABLES, headers: null }],
        });
        expect(await editorText(page, OPERATION_EDITOR), visit).toContain('query ExecutionPage($id: ID!) {');
        await expect.poll(() => toolEditorValue(page, 'variables'), { timeout: WAIT, message: visit }).toEqual(EXAMPLE_VARIABLES);
        await expect.poll(() => toolEditorValue(page, 'headers'), { timeout: WAIT, message: visit }).toEqual(DEMO_HEADERS);

        upstreamHarness.upstream.reset();
        const { body, authorization, sent } = await runActiveTab(page, demoUrl, 'ExecutionPage');
        expect(sent.variables, visit).toEqual(EXAMPLE_VARIABLES);
        expect(authorization, visit).toBe(`Bearer ${DEMO_TOKEN}`);
        expect(body.errors, visit).toBeUndefined();
        expect(body.data?.execution, visit).toMatchObject({ id: 'ex_demo_4', status: 'WORKFLOW_RUNNING', isTerminal: false });
        await page.locator(RESULT).filter({ hasText: '"WORKFLOW_RUNNING"' }).waitFor();
        // One upstream call per run, with the demo token.
        expect(upstreamHarness.upstream.requests, visit).toHaveLength(1);
        expect(upstreamHarness.upstream.requestsFor('ex_demo_4')[0]?.headers.authorization, visit).toBe(`Bearer ${DEMO_TOKEN}`);
      }
      expect(pageErrors).toEqual([]);
    });
  });

  it("keeps the user's tabs with their contents and the active one across reloads, adding none", async () => {
    const mine = 'query Mine($id: ID!) { execution(id: $id) { id status } }';
    const other = 'query Other { execution(id: "ex_demo_2") { id rawStatus } }';
    // The example tab with only its query edited (its variables and headers stay), then a new tab with the demo token as today.
    // As stored: headers never are (shouldPersistHeaders: false); each tab's editor shows the page's default headers.
    const userTabs = [
      { title: 'Mine', query: mine, variables: EXAMPLE_VARIABLES, headers: null },
      { title: 'Other', query: other, variables: null, headers: null },
    ];
    await withGraphiQL(`user-tabs-${lane}`, async ({ page, pageErrors }) => {
      await loadGraphiQL(page, demoUrl, () => page.goto(demoUrl));
      await typeInto(page, OPERATION_EDITOR, mine);
      // GraphiQL stores an edit into its tab after a short debounce; move on only once it has.
      await expect.poll(() => shownTabs(page), { timeout: WAIT }).toEqual({ titles: ['Mine'], active: 'Mine' });
      await page.getByRole('button', { name: 'New tab' }).click();
      await expect.poll(() => shownTabs(page), { timeout: WAIT }).toEqual({ titles: ['Mine', '<untitled>'], active: '<untitled>' });
      await expect.poll(() => toolEditorValue(page, 'headers'), { timeout: WAIT }).toEqual(DEMO_HEADERS);
      await typeInto(page, OPERATION_EDITOR, other);
      // Reload only once this edit is stored too.
      await expect.poll(() => storedTabs(page), { timeout: WAIT }).toEqual({ active: 1, tabs: userTabs });

      await loadGraphiQL(page, demoUrl, () => page.reload());
      expect(await shownTabs(page)).toEqual({ titles: ['Mine', 'Other'], active: 'Other' });
      expect(await storedTabs(page)).toEqual({ active: 1, tabs: userTabs });
      expect(await editorText(page, OPERATION_EDITOR)).toBe(other);
      await expect.poll(() => toolEditorValue(page, 'headers'), { timeout: WAIT }).toEqual(DEMO_HEADERS);
      upstreamHarness.upstream.reset();
      const second = await runActiveTab(page, demoUrl, 'Other');
      expect(second.authorization).toBe(`Bearer ${DEMO_TOKEN}`);
      expect(second.body.data?.execution).toEqual({ id: 'ex_demo_2', rawStatus: upstreamHarness.upstream.get('ex_demo_2')!.execution.status });
      expect(upstreamHarness.upstream.requests).toHaveLength(1);
      // As a user would, switch tabs once the answer is shown (GraphiQL puts it into the tab that was active).
      await page.locator(RESULT).filter({ hasText: '"ex_demo_2"' }).waitFor();

      // Back to the first tab; a reload keeps it the active one.
      await selectTab(page, 'Mine');
      await expect.poll(() => shownTabs(page), { timeout: WAIT }).toEqual({ titles: ['Mine', 'Other'], active: 'Mine' });
      // Yoga mirrors the active operation into the address (debounced), and a reload opens what the address holds: wait for it.
      await expect.poll(() => new URL(page.url()).searchParams.get('query'), { timeout: WAIT }).toBe(mine);
      await expect.poll(() => storedTabs(page), { timeout: WAIT }).toEqual({ active: 0, tabs: userTabs });
      await loadGraphiQL(page, demoUrl, () => page.reload());
      expect(await shownTabs(page)).toEqual({ titles: ['Mine', 'Other'], active: 'Mine' });
      expect(await storedTabs(page)).toEqual({ active: 0, tabs: userTabs });
      expect(await editorText(page, OPERATION_EDITOR)).toBe(mine);
      await expect.poll(() => toolEditorValue(page, 'variables'), { timeout: WAIT }).toEqual(EXAMPLE_VARIABLES);
      await expect.poll(() => toolEditorValue(page, 'headers'), { timeout: WAIT }).toEqual(DEMO_HEADERS);
      upstreamHarness.upstream.reset();
      const first = await runActiveTab(page, demoUrl, 'Mine');
      expect(first.sent.variables).toEqual(EXAMPLE_VARIABLES);
      expect(first.authorization).toBe(`Bearer ${DEMO_TOKEN}`);
      expect(first.body.data?.execution).toEqual({ id: 'ex_demo_4', status: 'WORKFLOW_RUNNING' });
      expect(upstreamHarness.upstream.requests).toHaveLength(1);
      expect(pageErrors).toEqual([]);
    });
  });
});

describe('the GraphiQL page', () => {
  it('is rendered once for its options and then served as it is (it inlines 9 MB)', async () => {
    const first = renderGraphiQL({ ...graphiqlOptions({}), endpoint: '/graphql' });
    // Yoga hands each request a fresh options object, equal to the last.
    const again = renderGraphiQL({ ...graphiqlOptions({}), endpoint: '/graphql' });
    expect(again).toBe(first);
    const page = await first;
    expect(page.length).toBeGreaterThan(1_000_000);
    expect(String(page)).toContain("localStorage.setItem('graphiql:' + key, tab[key])");
    // Other options: a page of their own.
    expect(renderGraphiQL({ ...graphiqlOptions({ exampleId: 'ex_demo_1' }), endpoint: '/graphql' })).not.toBe(first);
  });

  it('keeps the pages of 4 sets of options, dropping the first kept for a fifth', async () => {
    const options = (n: number) => ({ ...graphiqlOptions({ exampleId: `ex_kept_${n}` }), endpoint: '/graphql' });
    const first = renderGraphiQL(options(0));
    const others = [1, 2, 3].map((n) => renderGraphiQL(options(n)));
    expect(renderGraphiQL(options(0))).toBe(first);
    others.push(renderGraphiQL(options(4)));
    expect(renderGraphiQL(options(0))).not.toBe(first);
    await Promise.all([first, ...others]);
  });

  it("writes the first tab into its script with `<` and `>` escaped, so no value closes the script element", async () => {
    const query = '# </script><script>alert(1)</script>';
    const page = String(await renderGraphiQL({ title: 'escaped', defaultTabs: [{ query, variables: '{}', headers: '{}' }] }));
    // Compared as booleans: a failing match would print the 9 MB page.
    expect(page.includes('"# \\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"')).toBe(true);
  });

  it('renders options without tabs as the bare page, with no tab script', async () => {
    const page = String(await renderGraphiQL({ title: 'no tabs' }));
    expect(/^\s*<!doctype html>/i.test(page)).toBe(true);
    expect(page.includes("localStorage.setItem('graphiql:' + key, tab[key])")).toBe(false);
  });

  it("prefills every new tab's headers and never keeps them in the browser's storage, where any script of the origin reads them", () => {
    const options = graphiqlOptions({ headers: { Authorization: 'Bearer demo' } });
    expect(options.shouldPersistHeaders).toBe(false);
    expect(JSON.parse(options.defaultHeaders!)).toEqual({ Authorization: 'Bearer demo' });
  });

  // Served as a string, each view encoded a copy of its own, kept while the client did not read:
  // 100 such views took the process from 335 to 2670 MiB.
  it.each(LANES)('is one set of bytes shared by every view, also by clients that do not read it (%s lane)', { timeout: TIMEOUT }, async (lane) => {
    const served = await Harness.start({ lane });
    const clients: Socket[] = [];
    try {
      const accepted: Socket[] = [];
      served.instance.server.on('connection', (socket: Socket) => accepted.push(socket));
      const { hostname, port } = new URL(served.url);
      const get = `GET /graphql HTTP/1.1\r\nhost: gateway.test\r\naccept: text/html\r\n\r\n`;
      // One view read whole first: the page is rendered, and its bytes held, before the count starts.
      const page = await rawExchange(served.url, get.replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n'));
      expect(page.text.length).toBeGreaterThan(1_000_000);
      const before = process.memoryUsage().arrayBuffers;
      const VIEWS = 20;
      for (let i = 0; i < VIEWS; i++) {
        const socket = connect(Number(port), hostname, () => socket.write(get));
        socket.pause();
        socket.on('error', () => undefined);
        clients.push(socket);
      }
      // Every view answered: the gateway wrote into each socket more than the kernel took.
      await expect.poll(() => accepted.filter((socket) => socket.writableLength > 0).length, { timeout: WAIT, interval: 50 }).toBe(VIEWS);
      const grown = process.memoryUsage().arrayBuffers - before;
      // Under two pages for twenty views: none of them holds a copy.
      expect(grown, `${(grown / 1048576).toFixed(0)} MiB more for ${VIEWS} views`).toBeLessThan(2 * page.text.length);
    } finally {
      for (const socket of clients) socket.destroy();
      await served.close();
    }
  });
});
