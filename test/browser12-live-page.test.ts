/**
 * A page on another origin (CORS_ORIGINS lists it) in Chromium watching a running execution the way a frontend
 * developer writes it by hand on day one: `fetch` reading an event stream, and a `WebSocket` speaking
 * graphql-transport-ws. Updates arrive as upstream advances, the stream ends after `isFinal: true`, the answer's
 * `x-request-id` is readable from script, and a page closed mid-watch stops the gateway polling upstream.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ORGANIZATION, makeEvents, makeExecution } from '../src/demo/demo-data.js';
import { AUTH, Harness } from './support/harness.js';
import { liveEnv, waitFor, waitForAnswer } from './support/live.js';

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 90_000;
const WATCH = 'subscription Watch($id: ID!) { executionUpdates(id: $id) { isFinal execution { id status } newEvents { node { id } } } }';

let browser: Browser;
let pageServer: Server;
let pageOrigin: string;
let harness: Harness;
const consoleErrors: string[] = [];

beforeAll(async () => {
  pageServer = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>frontend</title>'));
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  harness = await Harness.start({ env: liveEnv({ CORS_ORIGINS: pageOrigin }) });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS, timeout: 45_000 });
}, TIMEOUT);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await harness?.close();
  await new Promise((resolve) => pageServer?.close(resolve));
});

async function openPage(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  await page.goto(`${pageOrigin}/`);
  return page;
}

/** A running execution of the demo caller, fresh for each test. */
function running(id: string): void {
  harness.upstream.put(makeExecution({ id, status: 'workflow_running', minute: 1, eventCount: 1 }));
}

function finish(id: string): void {
  const stored = harness.upstream.get(id)!;
  const now = Date.now();
  harness.upstream.put({
    execution: { ...stored.execution, status: 'workflow_succeeded', updatedAt: new Date(now).toISOString(), finishedAt: new Date(now).toISOString() },
    events: [...stored.events, ...makeEvents(id, DEMO_ORGANIZATION, 1, now - 1_000, stored.events.length + 1)],
  });
}

interface PageWatch {
  /** The updates' `isFinal` and status, in order. */
  updates: Array<{ isFinal: boolean; status: string }>;
  ended: boolean;
  requestId?: string | null;
  closeCode?: number;
}

declare global {
  interface Window {
    watch: PageWatch;
  }
}

/** Starts, in the page, a watch over fetch reading text/event-stream; its progress is in window.watch. */
function watchOverFetch(page: Page, id: string): Promise<void> {
  return page.evaluate(
    ([url, auth, query, id]) => {
      window.watch = { updates: [], ended: false };
      void (async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query, variables: { id } }),
        });
        window.watch.requestId = response.headers.get('x-request-id');
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffered += value;
          let end: number;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const event = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = event.split('\n').find((line) => line.startsWith('data: '));
            if (event.startsWith('event: next') && data) {
              const update = JSON.parse(data.slice(6)).data.executionUpdates;
              window.watch.updates.push({ isFinal: update.isFinal, status: update.execution.status });
            }
          }
        }
        window.watch.ended = true;
      })();
    },
    [harness.url, AUTH, WATCH, id] as const,
  );
}

/** Starts, in the page, a watch over a WebSocket speaking graphql-transport-ws; its progress is in window.watch. */
function watchOverWebSocket(page: Page, id: string): Promise<void> {
  return page.evaluate(
    ([url, auth, query, id]) => {
      window.watch = { updates: [], ended: false };
      const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
      socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: auth } }));
      socket.onmessage = (message) => {
        const parsed = JSON.parse(String(message.data));
        if (parsed.type === 'connection_ack') socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { id } } }));
        if (parsed.type === 'next') {
          const update = parsed.payload.data.executionUpdates;
          window.watch.updates.push({ isFinal: update.isFinal, status: update.execution.status });
        }
        if (parsed.type === 'complete') {
          window.watch.ended = true;
          socket.close(1000);
        }
      };
      socket.onclose = (event) => {
        window.watch.closeCode = event.code;
      };
    },
    [harness.url, AUTH, WATCH, id] as const,
  );
}

const readWatch = (page: Page) => page.evaluate(() => window.watch);

describe.each([
  ['fetch streaming text/event-stream', watchOverFetch],
  ['a WebSocket (graphql-transport-ws)', watchOverWebSocket],
] as const)('a page on another origin watching over %s', { timeout: TIMEOUT }, (transport, start) => {
  const slug = transport.startsWith('fetch') ? 'sse' : 'ws';

  it('gets the running update, then the final one as upstream finishes, and the stream ends', async () => {
    consoleErrors.length = 0;
    const id = `ex_browser12_${slug}_ends`;
    running(id);
    const page = await openPage();
    try {
      await start(page, id);
      await waitForAnswer(async () => (await readWatch(page)).updates.length >= 1, 'the first update in the page', 30_000);
      finish(id);
      await waitForAnswer(async () => (await readWatch(page)).ended, 'the end of the stream in the page', 30_000);
      const watch = await readWatch(page);
      expect(watch.updates[0]).toEqual({ isFinal: false, status: 'WORKFLOW_RUNNING' });
      expect(watch.updates.at(-1)).toEqual({ isFinal: true, status: 'WORKFLOW_SUCCEEDED' });
      expect(watch.updates.filter((update) => update.isFinal)).toHaveLength(1);
      if (slug === 'sse') expect(watch.requestId).toMatch(/^[0-9a-f-]{36}$/);
      // Polling stopped with the watch: no call for it after the final reading.
      const calls = harness.upstream.requestsFor(id).length;
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(harness.upstream.requestsFor(id)).toHaveLength(calls);
      expect(consoleErrors).toEqual([]);
    } finally {
      await page.context().close();
    }
  });

  it('stops polling upstream once the page that watched is closed', async () => {
    const id = `ex_browser12_${slug}_closed`;
    running(id);
    const page = await openPage();
    await start(page, id);
    await waitForAnswer(async () => (await readWatch(page)).updates.length >= 1, 'the first update in the page', 30_000);
    // Still polled while the page is open.
    const before = harness.upstream.requestsFor(id).length;
    await waitFor(() => harness.upstream.requestsFor(id).length > before + 2, 'polls while the page is open', 30_000);
    await page.context().close();
    // Within a generous while of the page closing, the calls stop growing.
    let last = -1;
    await waitForAnswer(async () => {
      const now = harness.upstream.requestsFor(id).length;
      const still = now === last;
      last = now;
      if (!still) await new Promise((resolve) => setTimeout(resolve, 500));
      return still;
    }, 'polling to stop after the page closed', 30_000);
    const settled = harness.upstream.requestsFor(id).length;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(harness.upstream.requestsFor(id)).toHaveLength(settled);
  });
});
