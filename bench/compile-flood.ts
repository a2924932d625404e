/**
 * The security review's scenario (README "Measured choices in the code"):
 * FLOODERS clients, without a token, each sending the 30-alias document with a
 * new operation name every time, while one caller polls an execution's status
 * with its token, one request after the other, for SECONDS. Prints the
 * caller's latencies and the flooders' request count, for this checkout and,
 * with BENCH_BASELINE, another one (sources under tsx, both).
 *
 *   npx tsx bench/compile-flood.ts          FLOODERS=3 SECONDS=15 BENCH_BASELINE=/tmp/gw-pre
 */
import path from 'node:path';
import { request } from 'undici';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { freePort } from './lib/ports.js';
import { startGateway, startUpstream } from './lib/processes.js';
import { RUNNING_IDS, upstreamData } from './lib/scenarios.js';

const FLOODERS = Number(process.env.FLOODERS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 15);
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;

const DETAILS = 'id status rawStatus isTerminal statusReason paymentStatus checkoutSessionId orderId externalRef idempotencyKey initiatedById initiatedByType organizationId runId workflowId sourceEntityId sourceEntityType sourceSystem clientSafeMetadata requestPayload responsePayload createdAt updatedAt startedAt finishedAt';
const flood = (name: string) =>
  `query ${name}($id: ID!) { ${Array.from({ length: 30 }, (_, i) => `a${i}: execution(id: $id) { ...E }`).join(' ')} }
fragment E on Execution { ${DETAILS} events(first: 1) { edges { node { id eventType level title execution { ...X } } } } }
fragment X on Execution { ${DETAILS} }`;
const POLL = 'query ExecutionStatus($id: ID!) { execution(id: $id) { id status rawStatus isTerminal updatedAt } }';

async function post(url: string, query: string, authorization?: string): Promise<number> {
  const start = performance.now();
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ query, variables: { id: RUNNING_IDS[0] } }),
  });
  await response.body.dump();
  return performance.now() - start;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function measure(upstreamUrl: string, checkout?: string): Promise<string> {
  const gateway = await startGateway(upstreamUrl, await freePort(), { ACCESS_LOG: 'off', METRICS: 'off' }, checkout ? { checkout } : {});
  try {
    for (let i = 0; i < 200; i++) await post(gateway.url, POLL, `Bearer ${DEMO_TOKEN}`);
    const end = Date.now() + SECONDS * 1000;
    let flooded = 0;
    const flooders = Array.from({ length: FLOODERS }, async () => {
      while (Date.now() < end) {
        await post(gateway.url, flood(`F${Math.random().toString(36).slice(2)}`));
        flooded++;
      }
    });
    const polls: number[] = [];
    while (Date.now() < end) polls.push(await post(gateway.url, POLL, `Bearer ${DEMO_TOKEN}`));
    await Promise.all(flooders);
    polls.sort((a, b) => a - b);
    return `${polls.length} polls, p50 ${quantile(polls, 0.5).toFixed(1)} ms, p95 ${quantile(polls, 0.95).toFixed(1)} ms, max ${polls.at(-1)!.toFixed(1)} ms; ${flooded} flood requests (${(flooded / SECONDS).toFixed(1)}/s)`;
  } finally {
    await gateway.stop();
  }
}

const upstream = await startUpstream(upstreamData());
try {
  console.log(`this checkout: ${await measure(upstream.url)}`);
  if (BASELINE) console.log(`${BASELINE}: ${await measure(upstream.url, BASELINE)}`);
} finally {
  await upstream.stop();
}
