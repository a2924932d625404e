/**
 * What the caches of parsed operations hold (src/pipeline/document-cache.ts,
 * DOCUMENT_CACHE_MAX_BYTES): for each kind of document below, a gateway,
 * compiled and on its own fake upstream, is sent one document 200 times, then
 * DOCUMENTS distinct documents of that kind (more than the caches' 1,024
 * entries), each once; its heap is read after full collections before and
 * after (bench/lib/heap-probe.mjs). The growth, over the documents the bound
 * lets the caches keep, is the heap one cached document holds, set against
 * what the bound counts it at: the document, and the operation compiled from it
 * when it executes.
 *
 *   npm run bench:documents                                  DOCUMENTS=1100  DOCUMENT_KINDS=poll,page
 *   BENCH_BASELINE=/tmp/gw-pre npm run bench:documents       another checkout too (bench/baseline.sh makes one)
 *   DOCUMENT_CACHE_MAX_BYTES=… npm run bench:documents      another bound (the gateways inherit it)
 *
 * Prints a Markdown table.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { getOperationAST, parse } from 'graphql';
import { request } from 'undici';
import { DEMO_TOKEN } from '../src/demo/demo-data.js';
import { readConfig } from '../src/config.js';
import { compiledBytes } from '../src/fast-lane/index.js';
import { documentBytes, ERROR_SHARE, MAX_ENTRIES, PARSE_ERROR_BYTES, textBytes } from '../src/pipeline/document-cache.js';
import { startGatewayProbed, startUpstream } from './lib/processes.js';
import { RUNNING_IDS, upstreamData } from './lib/scenarios.js';

const COUNT = Number(process.env.DOCUMENTS ?? 1_100);
const BASELINE = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE) : undefined;
const PROBE = new URL('./lib/heap-probe.mjs', import.meta.url).pathname;

const log = (message: string) => process.stderr.write(`[bench:documents] ${message}\n`);

const FIELDS = 'id status rawStatus isTerminal statusReason paymentStatus orderId externalRef runId workflowId createdAt updatedAt startedAt finishedAt';
const PAGE = 'events(first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id createdAt eventType level title message nodeId } } }';

interface Kind {
  key: string;
  title: string;
  /** The i-th distinct document of this kind. */
  text(i: number): string;
  /** Whether the text parses (else it lands in the parse-error cache). */
  parses: boolean;
  /** Whether it passes validation, so that its operation is compiled and counted too. */
  executes: boolean;
}

const KINDS: Kind[] = [
  { key: 'poll', title: 'status poll (S1)', parses: true, executes: true, text: (i) => `query Status${i}($id: ID!) { execution(id: $id) { id status updatedAt } }` },
  { key: 'page', title: 'execution page (S2)', parses: true, executes: true, text: (i) => `query Page${i}($id: ID!) { execution(id: $id) { ${FIELDS} requestPayload ${PAGE} } }` },
  {
    key: 'limits',
    title: '30 aliases of 15 fields and a page: at the alias limit, 1,423 of 2,000 tokens',
    parses: true,
    executes: true,
    text: (i) =>
      `query Wide${i}($id: ID!) { ${Array.from({ length: 30 }, (_, a) => `a${a}: execution(id: $id) { ${FIELDS} events(first: 1) { edges { cursor node { id createdAt eventType level title message nodeId } } } }`).join(' ')} }`,
  },
  {
    key: 'spread',
    title: 'the same 30 aliases, each spreading one fragment',
    parses: true,
    executes: true,
    text: (i) => `query Spread${i}($id: ID!) { ${Array.from({ length: 30 }, (_, a) => `a${a}: execution(id: $id) { ...F }`).join(' ')} } fragment F on Execution { ${FIELDS} events(first: 1) { edges { cursor node { id createdAt eventType level title message nodeId } } } }`,
  },
  { key: 'comment', title: 'status poll behind a 60,000-character comment', parses: true, executes: true, text: (i) => `# ${'x'.repeat(60_000)}\nquery Padded${i}($id: ID!) { execution(id: $id) { id status } }` },
  { key: 'invalid', title: 'validation failure (an unknown field)', parses: true, executes: false, text: (i) => `query Unknown${i}($id: ID!) { execution(id: $id) { id status nope${i} } }` },
  { key: 'syntax', title: 'parse failure, 60,000 characters', parses: false, executes: false, text: (i) => `query Broken${i}($id: ID!) { execution(id: $id) { id status } # ${'x'.repeat(60_000)}\n` },
];

const wanted = (process.env.DOCUMENT_KINDS ?? KINDS.map((kind) => kind.key).join(',')).split(',').map((key) => key.trim());
const unknown = wanted.filter((key) => !KINDS.some((kind) => kind.key === key));
if (unknown.length > 0 || !Number.isInteger(COUNT) || COUNT < 1) {
  log(unknown.length ? `unknown kind ${unknown.join(', ')} in DOCUMENT_KINDS; known: ${KINDS.map((kind) => kind.key).join(', ')}` : 'DOCUMENTS must be a positive integer');
  process.exit(1);
}

/** What the bound counts one document of `kind` at, in bytes (src/pipeline/document-cache.ts). */
function estimate(kind: Kind): number {
  const text = kind.text(0);
  if (!kind.parses) return textBytes(text) + PARSE_ERROR_BYTES;
  const document = parse(text);
  return documentBytes(document, text) + (kind.executes ? compiledBytes(document, getOperationAST(document)!) : 0);
}

/** How many of COUNT distinct documents the bound keeps. */
function held(kind: Kind, maxBytes: number): number {
  const share = Math.floor(maxBytes * (kind.parses ? 1 - ERROR_SHARE : ERROR_SHARE));
  return Math.min(COUNT, MAX_ENTRIES, Math.floor(share / estimate(kind)));
}

interface Measured {
  beforeMB: number;
  afterMB: number;
}

async function measure(upstreamUrl: string, kind: Kind, checkout?: string): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-documents-'));
  const file = path.join(dir, 'heap');
  const gateway = await startGatewayProbed(
    upstreamUrl,
    { METRICS: 'off', ACCESS_LOG: 'off', LOG_LEVEL: 'error', NODE_ENV: 'production', HEAP_PROBE_FILE: file },
    { compiled: true, nodeFlags: ['--expose-gc', '--import', PROBE], ...(checkout ? { checkout } : {}) },
  );
  const send = async (text: string) => {
    const response = await request(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_TOKEN}` },
      body: JSON.stringify({ query: text, variables: { id: RUNNING_IDS[0] } }),
    });
    await response.body.dump();
    if (response.statusCode >= 500) throw new Error(`gateway answered ${response.statusCode}`);
  };
  const heap = async () => {
    rmSync(file, { force: true });
    gateway.child.kill('SIGUSR2');
    for (let waited = 0; !existsSync(file); waited += 20) {
      if (waited > 30_000) throw new Error('no heap figure from the gateway within 30 s');
      await sleep(20);
    }
    const bytes = Number(readFileSync(file, 'utf8'));
    if (!(bytes > 0)) throw new Error(`no heap figure in ${file}`);
    return bytes / 1e6;
  };
  try {
    for (let i = 0; i < 200; i++) await send(kind.text(0));
    const beforeMB = await heap();
    for (let i = 1; i <= COUNT; i++) await send(kind.text(i));
    return { beforeMB, afterMB: await heap() };
  } finally {
    await gateway.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const maxBytes = readConfig(process.env).cache.documentMaxBytes;
const upstream = await startUpstream(upstreamData());
const rows: string[] = [];
try {
  for (const kind of KINDS.filter((each) => wanted.includes(each.key))) {
    const text = kind.text(0);
    const keeps = held(kind, maxBytes);
    const now = await measure(upstream.url, kind);
    const base = BASELINE ? await measure(upstream.url, kind, BASELINE) : undefined;
    const grown = now.afterMB - now.beforeMB;
    const perDocument = keeps > 0 ? (grown * 1e3) / keeps : NaN;
    log(`${kind.key}: ${grown.toFixed(1)} MB for ${keeps} documents kept${base ? `; baseline ${(base.afterMB - base.beforeMB).toFixed(1)} MB` : ''}`);
    rows.push(
      `| ${kind.title} | ${text.length.toLocaleString('en')} | ${(estimate(kind) / 1e3).toFixed(1)} | ${keeps.toLocaleString('en')} | ${grown.toFixed(1)} | ${perDocument.toFixed(1)} | ${(perDocument / (estimate(kind) / 1e3)).toFixed(2)} |` +
        (base ? ` ${(base.afterMB - base.beforeMB).toFixed(1)} |` : ''),
    );
  }
} finally {
  await upstream.stop();
}

console.log(`# What a cached document holds\n`);
console.log(`${COUNT.toLocaleString('en')} distinct documents of each kind, each once, after 200 of one; heap after 4 full collections, before and after. DOCUMENT_CACHE_MAX_BYTES ${maxBytes.toLocaleString('en')}. Node ${process.version}, ${os.cpus().length} cores.\n`);
console.log(`| document | characters | counted, KB | kept | heap grown, MB | heap per kept document, KB | heap ÷ counted |${BASELINE ? ' baseline heap grown, MB |' : ''}`);
console.log(`|---|---:|---:|---:|---:|---:|---:|${BASELINE ? '---:|' : ''}`);
for (const row of rows) console.log(row);
