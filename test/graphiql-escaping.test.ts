/**
 * GraphiQL's page embeds its options as JSON inside `<script>` elements (render-graphiql's call to
 * `renderYogaGraphiQL`, and the gateway's own tab script in `<head>`): a value holding `</script>` closed the
 * element early and the rest ran as markup (a `<script>` of the value's choosing), and one holding `<!--` could
 * keep the page's own `</script>` from closing it. Each JSON text must come out with `<`, `>`, `&`, U+2028 and
 * U+2029 escaped as `\uXXXX`, and read back as the very options. The page is fetched over HTTP from the gateway
 * listening on loopback, as a browser asks for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { graphiqlOptions, renderGraphiQL, type GraphiQLSettings } from '../src/pipeline/graphiql.js';
import { createInstance, type GatewayInstance } from '../src/server/instance.js';
import { Harness } from './support/harness.js';

const HOSTILE = '</script><script>window.injected = 1</script><!--<script>';
const SETTINGS: GraphiQLSettings = {
  headers: { Authorization: `Bearer ${HOSTILE}`, 'X-Note': 'a & b > c \u2028 line \u2029 para </SCRIPT >' },
  exampleId: `<!-- ${HOSTILE}`,
};
/** What must never stand raw in a JSON text inside a script element. */
const UNSAFE = /[<>&\u2028\u2029]/;

let upstream: Harness;
let instance: GatewayInstance;
let page: string;

beforeAll(async () => {
  upstream = await Harness.start();
  instance = createInstance(upstream.config, { upstreamUrl: upstream.upstream.url, logger: createLogger('silent'), graphiql: SETTINGS });
  const port = await instance.listen(0, '127.0.0.1');
  const answer = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
  expect(answer.status).toBe(200);
  page = await answer.text();
}, 60_000);

afterAll(async () => {
  instance?.server.closeAllConnections();
  await instance?.close();
  await upstream?.close();
});

/** The text between the last `before` and the `after` that follows it. */
function between(text: string, before: string, after: string): string {
  const start = text.lastIndexOf(before);
  expect(start, `${before} in the page`).toBeGreaterThanOrEqual(0);
  const end = text.indexOf(after, start + before.length);
  expect(end, `${after} after ${before}`).toBeGreaterThan(start);
  return text.slice(start + before.length, end);
}

describe("GraphiQL's page with option values that hold markup", () => {
  it('holds none of them raw: as many `</script` and `<!--` as the page with plain values, so no value closes a script or opens a comment', async () => {
    const plain = (await renderGraphiQL(graphiqlOptions({}))).toString('utf8');
    const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;
    for (const pattern of [/<\/script/gi, /<!--/g, /<script/gi]) expect(count(page, pattern), String(pattern)).toBe(count(plain, pattern));
    expect(page).not.toContain('window.injected = 1</script>');
  });

  it("escapes render-graphiql's options and reads back as the very options", () => {
    const json = between(page, "window.document.querySelector('#root'),", ');\n').trim().replace(/,$/, '');
    expect(json).not.toMatch(UNSAFE);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(graphiqlOptions(SETTINGS))));
  });

  it("escapes the tab script's first tab, which reads back as that tab", () => {
    const head = page.slice(0, page.indexOf('</head>'));
    const json = between(head, 'state.tabs[state.activeTabIndex]) || ', ';\n');
    expect(json).not.toMatch(UNSAFE);
    const [tab] = graphiqlOptions(SETTINGS).defaultTabs!;
    expect(JSON.parse(json)).toEqual({ query: tab!.query, variables: tab!.variables, headers: tab!.headers });
  });
});
