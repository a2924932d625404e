/**
 * What compiling an operation with graphql-jit costs, set against what it
 * saves (src/fast-lane/compiled-execution.ts, WARM_UP_RUNS and
 * MAX_COMPILED_FIELDS):
 *
 * 1. `compileQuery` alone, in this process, for documents from a status poll
 *    to the 30-alias document of the security review: median ms of ROUNDS,
 *    each on a fresh parse, against the fields it resolves with fragments
 *    expanded (expandedFields), and ms per field.
 * 2. A gateway in this process (fast lane, on a fake upstream, terminal
 *    executions served from the terminal cache): the same operation's execute
 *    step compiled, and on graphql-js (the same text with
 *    `__typename @include(if: true)`, which the fast lane never compiles),
 *    sent REQUESTS times each, interleaved; median ms of the execute step
 *    (timed by a plugin after the compiled execution's) and of the whole
 *    request. `saved` is what one compiled run saves, `compile ÷ saved` the
 *    compiled runs that repay one compile, `compile ÷ graphql-js execute` how
 *    many graphql-js runs one compile costs. A document past
 *    MAX_COMPILED_FIELDS is never compiled by the gateway: its row has the
 *    compile alone.
 *
 *   npx tsx bench/compile-cost.ts              ROUNDS=15 REQUESTS=300
 *
 * The machine is shared and noisy: read ratios within one run.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { getOperationAST, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Plugin } from 'graphql-yoga';
import { readConfig } from '../src/config.js';
import { demoExecutions, DEMO_TOKEN } from '../src/demo/demo-data.js';
import { FakeUpstream } from '../src/demo/fake-upstream.js';
import { expandedFields, MAX_COMPILED_FIELDS, WARM_UP_RUNS } from '../src/fast-lane/compiled-execution.js';
import { createLogger } from '../src/logger.js';
import { schema } from '../src/schema/index.js';
import { createInstance } from '../src/server/instance.js';

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const REQUESTS = Number(process.env.REQUESTS ?? 300);

const EXECUTION = 'id status rawStatus isTerminal statusReason paymentStatus checkoutSessionId orderId externalRef idempotencyKey createdAt updatedAt startedAt finishedAt';
const EVENT = 'id createdAt eventType level title message nodeId';
const DETAILS = 'id status rawStatus isTerminal statusReason paymentStatus checkoutSessionId orderId externalRef idempotencyKey initiatedById initiatedByType organizationId runId workflowId sourceEntityId sourceEntityType sourceSystem clientSafeMetadata requestPayload responsePayload createdAt updatedAt startedAt';
const EXECUTION_PAGE = readFileSync(new URL('../schema/operations/execution-page.graphql', import.meta.url), 'utf8');

/** The security review's document with `aliases` aliases: fragment E selects every field and a page whose nodes spread X. */
function review(aliases: number): (name: string) => string {
  return (name) =>
    `query ${name}($id: ID!) { ${Array.from({ length: aliases }, (_, i) => `a${i}: execution(id: $id) { ...E }`).join(' ')} }
fragment E on Execution { ${EXECUTION} events(first: 1) { totalCount edges { cursor node { ${EVENT} execution { ...X } } } } }
fragment X on Execution { ${EXECUTION} }`;
}

const DOCUMENTS: [title: string, text: (name: string) => string, requests: number][] = [
  ['status poll (S1)', (name) => `query ${name}($id: ID!) { execution(id: $id) { id status rawStatus isTerminal updatedAt } }`, REQUESTS],
  ['executions, 3 ids', (name) => `query ${name}($ids: [ID!]!) { executions(ids: $ids) { id status isTerminal updatedAt } }`, REQUESTS],
  ['execution page (S2), first: 20', (name) => `query ${name}($id: ID!) { execution(id: $id) { ${EXECUTION} requestPayload events(first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${EVENT} } } } } }`, REQUESTS],
  ['execution page, schema/operations (fragments)', (name) => EXECUTION_PAGE.replace('query ExecutionPage', `query ${name}`), REQUESTS],
  ['4 aliases of a 24-field fragment (at MAX_COMPILED_FIELDS)', (name) => `query ${name}($id: ID!) { ${Array.from({ length: 4 }, (_, i) => `a${i}: execution(id: $id) { ...F }`).join(' ')} } fragment F on Execution { ${DETAILS} }`, REQUESTS],
  ['review document, 1 alias', review(1), REQUESTS],
  ['review document, 2 aliases', review(2), REQUESTS],
  ['review document, 5 aliases', review(5), Math.ceil(REQUESTS / 3)],
  ['review document, 30 aliases', review(30), Math.ceil(REQUESTS / 10)],
];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

let unique = 0;
function compileMs(text: (name: string) => string): { fields: number; ms: number } {
  let fields = 0;
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `Op${unique++}`;
    const document = parse(text(name));
    fields = expandedFields(document, getOperationAST(document, name)!);
    const start = performance.now();
    const made = compileQuery(schema, document, name);
    times.push(performance.now() - start);
    if (!isCompiledQuery(made)) throw new Error(`did not compile: ${JSON.stringify(made)}`);
  }
  return { fields, ms: median(times) };
}

/** Times the execute step as run: registered after the gateway's plugins, it wraps the execute function they chose. */
function executeTimer(): { plugin: Plugin; last: () => number } {
  let took = 0;
  return {
    last: () => took,
    plugin: {
      onExecute({ executeFn, setExecuteFn }) {
        setExecuteFn(((args: Parameters<typeof executeFn>[0]) => {
          const start = performance.now();
          const result = executeFn(args) as unknown;
          const done = (value: unknown) => ((took = performance.now() - start), value);
          return result instanceof Promise ? result.then(done) : done(result);
        }) as typeof executeFn);
      },
    },
  };
}

const log = (line: string) => process.stderr.write(`[compile-cost] ${line}\n`);

const upstream = await FakeUpstream.start({ executions: demoExecutions() });
const timer = executeTimer();
const instance = createInstance(readConfig({ LOG_LEVEL: 'silent', ACCESS_LOG: 'off', METRICS: 'off', FAST_LANE: 'true' }), {
  upstreamUrl: upstream.url,
  logger: createLogger('silent'),
  plugins: [timer.plugin],
});
const port = await instance.listen(0, '127.0.0.1');
const url = `http://127.0.0.1:${port}/graphql`;

async function send(query: string): Promise<{ executeMs: number; requestMs: number }> {
  const start = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKEN}` },
    body: JSON.stringify({ query, variables: { id: 'ex_demo_6', ids: ['ex_demo_6', 'ex_demo_7', 'ex_demo_8'] } }),
  });
  const body = (await response.json()) as { errors?: unknown };
  const requestMs = performance.now() - start;
  if (body.errors) throw new Error(`errors: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return { executeMs: timer.last(), requestMs };
}

/** The same text with a field under @include, which the fast lane runs on graphql-js. */
const onGraphqlJs = (text: string) => text.replace(/\)\s*\{\s/, ') { __typename @include(if: true) ');

console.log('| document | expanded fields | compile ms | compile µs per field | execute ms, compiled | execute ms, graphql-js | saved per run, ms | compile ÷ saved | compile ÷ graphql-js execute | request ms, compiled | request ms, graphql-js |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
try {
  for (const [title, text, requests] of DOCUMENTS) {
    const compiled = compileMs(text);
    const fast = text('Compiled');
    const slow = onGraphqlJs(text('GraphqlJs'));
    // Past the warm-up, so that `fast` runs compiled; the terminal cache holds the executions.
    for (let i = 0; i <= WARM_UP_RUNS + 2; i++) await Promise.all([send(fast), send(slow)]);
    const runs = { fast: [] as number[], slow: [] as number[], fastRequest: [] as number[], slowRequest: [] as number[] };
    for (let i = 0; i < requests; i++) {
      const a = await send(fast);
      const b = await send(slow);
      runs.fast.push(a.executeMs);
      runs.fastRequest.push(a.requestMs);
      runs.slow.push(b.executeMs);
      runs.slowRequest.push(b.requestMs);
    }
    const [fastMs, slowMs] = [median(runs.fast), median(runs.slow)];
    if (compiled.fields > MAX_COMPILED_FIELDS) {
      // Past the bound the gateway never compiles it: both run on graphql-js.
      console.log(`| ${[title, compiled.fields, compiled.ms.toFixed(2), ((compiled.ms * 1000) / compiled.fields).toFixed(0), 'not compiled', slowMs.toFixed(3), '', '', (compiled.ms / slowMs).toFixed(1), '', median(runs.slowRequest).toFixed(2)].join(' | ')} |`);
      continue;
    }
    const row = [title, compiled.fields, compiled.ms.toFixed(2), ((compiled.ms * 1000) / compiled.fields).toFixed(0), fastMs.toFixed(3), slowMs.toFixed(3), (slowMs - fastMs).toFixed(3), slowMs > fastMs ? (compiled.ms / (slowMs - fastMs)).toFixed(0) : 'never', (compiled.ms / slowMs).toFixed(1), median(runs.fastRequest).toFixed(2), median(runs.slowRequest).toFixed(2)];
    console.log(`| ${row.join(' | ')} |`);
    log(`${title} done`);
  }
} finally {
  await instance.close();
  await upstream.close();
}
