/**
 * Events connection benchmark (issue: events pagination). For executions with
 * 1,000, 10,000 and 100,000 events it measures, in the same run:
 *   - upstream: the bare REST fetch of the execution, body read and JSON-parsed;
 *   - first20:  `events(first: 20)` through the gateway;
 *   - lastErr20: `events(last: 20, filter: {levels: ["error"]})` through the gateway;
 * and reports each gateway latency as a ratio to the upstream fetch.
 * Upstream and gateway run in their own processes; this one only drives.
 *
 *   npm run bench:events            (SAMPLES=30 by default)
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { sampleLatency, type LatencySummary } from './lib/measure.js';
import { startGateway, startUpstream } from './lib/processes.js';

const SIZES = [1_000, 10_000, 100_000];
const SAMPLES = Number(process.env.SAMPLES ?? 30);
const authorization = `Bearer ${DEMO_TOKEN}`;

const upstream = await startUpstream(SIZES.map((eventCount) => ({ id: `ex_events_${eventCount}`, status: 'workflow_running', eventCount })));
const gateway = await startGateway(upstream.url, 4100 + Math.floor(Math.random() * 800));

const graphql = (query: string) => ({
  method: 'POST' as const,
  path: '/graphql',
  headers: { 'content-type': 'application/json', authorization },
  body: JSON.stringify({ query }),
  parse: true,
});

interface Row {
  events: number;
  upstream: LatencySummary;
  first20: LatencySummary;
  lastErr20: LatencySummary;
}

const rows: Row[] = [];
try {
  for (const size of SIZES) {
    const id = `ex_events_${size}`;
    const samples = size >= 100_000 ? Math.max(5, Math.floor(SAMPLES / 3)) : SAMPLES;
    const warmup = Math.max(2, Math.floor(samples / 5));
    const upstreamLatency = await sampleLatency(
      upstream.url,
      { method: 'GET', path: `/v1/executions/${id}`, headers: { authorization }, parse: true },
      samples,
      warmup,
    );
    const gatewayOrigin = new URL(gateway.url).origin;
    const first20 = await sampleLatency(
      gatewayOrigin,
      graphql(`{ execution(id: "${id}") { events(first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id createdAt level message } } } } }`),
      samples,
      warmup,
    );
    const lastErr20 = await sampleLatency(
      gatewayOrigin,
      graphql(`{ execution(id: "${id}") { events(last: 20, filter: { levels: ["error"] }) { totalCount pageInfo { hasPreviousPage startCursor } edges { cursor node { id createdAt level message } } } } }`),
      samples,
      warmup,
    );
    rows.push({ events: size, upstream: upstreamLatency, first20, lastErr20 });
  }
} finally {
  await gateway.stop();
  await upstream.stop();
}

const ms = (value: number) => value.toFixed(1);
const ratio = (a: number, b: number) => (a / b).toFixed(2);
const lines = [
  `Events connection latency, sequential requests, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
  '',
  '| events | upstream fetch+parse p50 / p99 (ms) | first: 20 p50 / p99 (ms) | ratio p50 | last: 20 + filter p50 / p99 (ms) | ratio p50 |',
  '|---:|---:|---:|---:|---:|---:|',
  ...rows.map(
    (row) =>
      `| ${row.events.toLocaleString('en-US')} | ${ms(row.upstream.p50)} / ${ms(row.upstream.p99)} | ${ms(row.first20.p50)} / ${ms(row.first20.p99)} | ${ratio(row.first20.p50, row.upstream.p50)} | ${ms(row.lastErr20.p50)} / ${ms(row.lastErr20.p99)} | ${ratio(row.lastErr20.p50, row.upstream.p50)} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/events.json', import.meta.url), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`);
process.exit(0);
