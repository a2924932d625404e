/**
 * GraphiQL, as the gateway serves it, run by a developer who cleared the headers editor (no token yet). A query is
 * sent as a JSON POST and is told `UNAUTHENTICATED`; a subscription is sent as a GET event stream, a request a
 * browser makes without a preflight, and was refused by CSRF prevention instead (`403`, BAD_REQUEST, naming a
 * header GraphiQL's user never sees), before the missing token could be told. GraphiQL is the gateway's own page on
 * its own origin: it sends the CSRF header with every request, so both operations say what is missing.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness } from './support/harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 90_000;
const OPERATION_EDITOR = '.graphiql-query-editor .monaco-editor[data-uri$="operation.graphql"]';
const HEADERS_EDITOR = '.graphiql-editor-tool .monaco-editor[data-uri$="request-headers.json"]';
const RESULT = '.result-window';

let browser: Browser;
let harness: Harness;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`These tests need Debian's Chromium at ${CHROMIUM} (apt-get install chromium).`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 45_000 });
  harness = await Harness.start();
}, TIMEOUT);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await harness?.close();
});

/** The text Monaco shows for an editor, its non-breaking spaces made plain. */
async function editorText(page: Page, selector: string): Promise<string> {
  return (await page.locator(`${selector} .view-lines`).innerText()).replace(/\u00a0/g, ' ');
}

/** Replaces an editor's content; typed again (up to three times) while a just-shown editor drops its first keys. */
async function typeInto(page: Page, selector: string, text: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    await page.locator(selector).click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText(text);
    if ((await editorText(page, selector)) === text) return;
  }
}

/** Runs `operation` in a fresh GraphiQL with an empty headers editor; the result pane's codes and the page's console errors. */
async function runWithoutToken(operation: string): Promise<{ codes: string[]; shown: string; consoleErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  try {
    const page = await context.newPage();
    page.setDefaultTimeout(45_000);
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));
    await page.goto(harness.url);
    await page.locator(`${OPERATION_EDITOR} .view-lines`).filter({ hasText: 'ExecutionPage' }).waitFor();
    await typeInto(page, OPERATION_EDITOR, operation);
    await page.locator('.graphiql-editor-tools button[data-name="headers"]').click();
    await page.locator(HEADERS_EDITOR).waitFor({ state: 'visible' });
    await typeInto(page, HEADERS_EDITOR, '{}');
    expect(await editorText(page, HEADERS_EDITOR)).toBe('{}');
    await page.getByRole('button', { name: /^Execute query/ }).click();
    // Monaco wraps long messages over lines, so the pane is read for its codes, each short enough to stay on one.
    await page.locator(RESULT).filter({ hasText: '"code"' }).waitFor();
    const shown = await editorText(page, RESULT);
    return { codes: [...shown.matchAll(/"code": "([A-Z_]+)"/g)].map((match) => match[1]!), shown, consoleErrors };
  } finally {
    await context.close();
  }
}

describe('GraphiQL run with no token in its headers editor', { timeout: TIMEOUT }, () => {
  it('tells a query UNAUTHENTICATED, with no upstream call', async () => {
    harness.upstream.reset();
    const { codes, consoleErrors } = await runWithoutToken('query Probe { execution(id: "ex_demo_4") { id status } }');
    expect(codes).toEqual(['UNAUTHENTICATED']);
    expect(harness.upstream.requests).toHaveLength(0);
    expect(consoleErrors).toEqual([]);
  });

  it('tells a subscription UNAUTHENTICATED too, not the CSRF refusal of a header GraphiQL never showed', async () => {
    harness.upstream.reset();
    const { codes, shown, consoleErrors } = await runWithoutToken('subscription Watch { executionUpdates(id: "ex_demo_4") { isFinal } }');
    expect(codes).toEqual(['UNAUTHENTICATED']);
    expect(shown).toContain('Missing Authorization');
    expect(shown).not.toContain('CSRF');
    expect(harness.upstream.requests).toHaveLength(0);
    // A 403 for the stream shows in the console as a failed load.
    expect(consoleErrors).toEqual([]);
  });
});
