/**
 * How much heap a cached execution holds per byte of the upstream body it was
 * read from: the factor behind the terminal cache's size accounting
 * (src/upstream/shared-executions.ts, README "Caching").
 *
 * For each body shape below it builds the body upstream would send (the
 * envelope around makeExecution's data, with payloads and event data of
 * various sizes and nesting), then holds N executions read from it exactly as
 * the gateway reads one (decodeBody, JSON.parse, readExecution) and measures
 * heapUsed after full collections, before and after: (after - before) / N /
 * body bytes. Each copy is decoded from the bytes again, so no string is shared
 * between copies. "+ index" also pages the events the way queries do (both
 * orders, a cursor, two filters), which builds the events index that rides on
 * a cached execution's events array (src/domain/event-pages.ts). "counted" is
 * what src/upstream/entry-bytes.ts counts for the execution, against what "+ index"
 * kept (the index's typed arrays, outside heapUsed, included).
 *
 *   npm run bench:heap          (node --expose-gc; re-executes itself with it when missing)
 *   HEAP_SHAPES=small,10mb-nested npm run bench:heap   (only these; adversarial-* shapes run only when named)
 *
 * Prints a Markdown table and writes bench/results/heap-factor.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { makeExecution, type StoredExecution } from '../src/demo/demo-data.js';
import type { Execution } from '../src/domain/execution.js';
import { decodeBody } from '../src/upstream/body-text.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { pageAsQueries, readAsGateway } from './lib/held-execution.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}
const collect = gc as () => void;

// ---------------------------------------------------------------------------
// Body shapes

const MB = 1_000_000;

/** The 200 envelope the fake upstream sends (src/demo/fake-upstream.ts), as bytes. */
function envelope(stored: StoredExecution): Buffer {
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-1"}`);
}

const finished = (id: string, eventCount: number) => makeExecution({ id, status: 'workflow_succeeded', eventCount });

/** Event data three to four levels deep, like bench/lib/scenarios.ts's many-callers set. */
function richEvents(stored: StoredExecution): StoredExecution {
  for (const event of stored.events) {
    const seq = Number(event.data?.seq ?? 0);
    event.data = {
      seq,
      node: { id: event.nodeId ?? 'workflow', kind: seq % 2 ? 'http' : 'transform', attempt: 1 + (seq % 7 === 0 ? 1 : 0) },
      detail: { durationMs: (seq * 37) % 1000, ok: event.eventType !== 'node.failed', metrics: { cpuMs: (seq * 13) % 200, memory: { rssMb: 120 + (seq % 50) } } },
      input: { request: { method: 'POST', url: `https://billing.internal/v2/invoices/inv_${seq}/steps/${seq}`, headers: { 'x-correlation-id': `${stored.execution.id}-${seq}` } } },
      output: event.eventType === 'node.completed' ? { response: { status: 200, body: { stepId: `step_${seq}`, result: { accepted: true, amount: { currency: 'EUR', value: seq * 100 } } } } } : null,
      tags: ['billing', 'invoice', `seq:${seq}`],
    };
  }
  return stored;
}

/** Invoice lines: objects three levels deep, strings and numbers, until the payload is about `bytes` long. */
function invoiceLines(bytes: number): unknown[] {
  const lines: unknown[] = [];
  let size = 0;
  for (let l = 0; size < bytes; l++) {
    const line = {
      sku: `sku_${l}`,
      description: `Seat licence, tier ${1 + (l % 3)}, line ${l}`,
      qty: 1 + (l % 5),
      unitPrice: { currency: 'EUR', value: 990 + ((l * 37) % 9000), formatted: `${((990 + ((l * 37) % 9000)) / 100).toFixed(2)} EUR` },
      tax: { rate: 0.2, jurisdiction: { country: 'DE', region: null }, amount: { currency: 'EUR', value: (l * 41) % 2000 } },
      metadata: { catalog: { version: 7, product: { family: 'licences', variant: `v${l % 9}` } }, flags: [l % 2 === 0, l % 3 === 0] },
    };
    size += JSON.stringify(line).length + 1;
    lines.push(line);
  }
  return lines;
}

/**
 * English text whose every note carries one typographic character (a dash,
 * curly quotes): V8 stores such a string with two bytes per character, so its
 * ASCII costs twice its UTF-8 size.
 */
function typographicNotes(bytes: number): string[] {
  const sentence = 'Customer confirmed the invoice by phone; retry the capture tomorrow morning. ';
  const perNote = `${sentence.repeat(Math.ceil(2_000 / sentence.length))}— “ok”`;
  return Array.from({ length: Math.ceil(bytes / Buffer.byteLength(perNote)) }, (_, i) => `${i}: ${perNote}`);
}

/** Free text with accents, CJK and emoji (two-byte strings on the heap), in 2 KB notes. */
function multibyteNotes(bytes: number): string[] {
  const sentence = 'Zahlung für Rechnung prüfen — 請求書の支払いを確認 ✅ naïve café € ';
  const perNote = sentence.repeat(Math.ceil(2_000 / Buffer.byteLength(sentence)));
  return Array.from({ length: Math.ceil(bytes / Buffer.byteLength(perNote)) }, (_, i) => `${i}: ${perNote}`);
}

interface Shape {
  key: string;
  about: string;
  body: () => Buffer;
  /** Copies held at once. */
  copies: number;
  /** Shapes no upstream sends: measured only when named in HEAP_SHAPES, never in the range. */
  adversarial?: boolean;
}

const SHAPES: Shape[] = [
  { key: 'tiny', about: 'makeExecution, no events (queued)', copies: 4_000, body: () => envelope(makeExecution({ id: 'ex_tiny_1', status: 'workflow_queued', eventCount: 0 })) },
  { key: 'small', about: 'makeExecution, 5 events', copies: 4_000, body: () => envelope(finished('ex_small_1', 5)) },
  { key: 'small-45', about: 'makeExecution, 45 events', copies: 1_000, body: () => envelope(finished('ex_small_2', 45)) },
  {
    key: 'small-nested',
    about: '45 events with nested event data, invoice payload of 4 lines',
    copies: 1_000,
    body: () => {
      const stored = richEvents(finished('ex_nested_1', 45));
      stored.execution.requestPayload = { invoice: { id: 'inv_1', lines: invoiceLines(2_000) }, customer: { id: 'cus_1', email: 'billing@customer.example' } };
      return envelope(stored);
    },
  },
  { key: '1k-events', about: 'makeExecution, 1,000 events (the demo\'s long execution)', copies: 100, body: () => envelope(finished('ex_1k_1', 1_000)) },
  { key: '1k-events-nested', about: '1,000 events with nested event data', copies: 60, body: () => envelope(richEvents(finished('ex_1k_2', 1_000))) },
  { key: '10k-events', about: 'makeExecution, 10,000 events', copies: 10, body: () => envelope(finished('ex_10k_1', 10_000)) },
  {
    key: '10mb-string',
    about: '10 MB requestPayload: one ASCII string (a blob)',
    copies: 8,
    body: () => {
      const stored = finished('ex_blob_1', 5);
      stored.execution.requestPayload = { blob: 'x'.repeat(10 * MB) };
      return envelope(stored);
    },
  },
  {
    key: '10mb-nested',
    about: '10 MB requestPayload: ~33,000 invoice lines, objects 3 levels deep',
    copies: 6,
    body: () => {
      const stored = finished('ex_lines_1', 5);
      stored.execution.requestPayload = { invoice: { id: 'inv_big', lines: invoiceLines(10 * MB) } };
      return envelope(stored);
    },
  },
  {
    key: '10mb-multibyte',
    about: '10 MB responsePayload: 2 KB notes with accents, CJK and emoji',
    copies: 6,
    body: () => {
      const stored = finished('ex_notes_1', 5);
      stored.execution.responsePayload = { notes: multibyteNotes(10 * MB) };
      return envelope(stored);
    },
  },
  {
    key: '10mb-typographic',
    about: '10 MB responsePayload: 2 KB English notes, each with a dash and curly quotes',
    copies: 6,
    body: () => {
      const stored = finished('ex_text_1', 5);
      stored.execution.responsePayload = { notes: typographicNotes(10 * MB) };
      return envelope(stored);
    },
  },
  {
    key: '10mb-numbers',
    about: '10 MB responsePayload: metric series of floats and small integers',
    copies: 6,
    body: () => {
      const stored = finished('ex_series_1', 5);
      const points = Math.round((10 * MB) / 12);
      stored.execution.responsePayload = {
        latencyMs: Array.from({ length: points }, (_, i) => Math.round(Math.abs(Math.sin(i)) * 1e6) / 1e3),
        statusCodes: Array.from({ length: points }, (_, i) => (i % 17 === 0 ? 503 : 200)),
      };
      return envelope(stored);
    },
  },
  {
    key: '10mb-events',
    about: '~9,000 events of nested data plus 5 MB of invoice lines',
    copies: 6,
    body: () => {
      const stored = richEvents(makeExecution({ id: 'ex_mix_1', status: 'workflow_failed', eventCount: 9_000 }));
      stored.execution.requestPayload = { invoice: { id: 'inv_mix', lines: invoiceLines(5 * MB) } };
      return envelope(stored);
    },
  },
  // Not realistic: the worst heap per byte JSON allows, for the record (HEAP_SHAPES=... to run them).
  {
    key: 'adversarial-digits',
    about: 'not realistic: 10 MB of one-digit integers, `[0,1,2,…]`',
    copies: 4,
    adversarial: true,
    body: () => {
      const stored = finished('ex_worst_1', 5);
      stored.execution.responsePayload = { values: Array.from({ length: (10 * MB) / 2 }, (_, i) => i % 10) };
      return envelope(stored);
    },
  },
  {
    key: 'adversarial-empty',
    about: 'not realistic: 10 MB of empty objects, `[{},{},…]`',
    copies: 2,
    adversarial: true,
    body: () => {
      const stored = finished('ex_worst_2', 5);
      stored.execution.responsePayload = { values: Array.from({ length: (10 * MB) / 3 }, () => ({})) };
      return envelope(stored);
    },
  },
  {
    key: 'adversarial-empty-events',
    about: 'not realistic: 3,000,000 events `{}` (9 MB)',
    copies: 1,
    adversarial: true,
    body: () => eventsOf('ex_worst_3', '{}', 3_000_000),
  },
  {
    key: 'adversarial-short-events',
    about: 'not realistic: 100,000 events of three short fields',
    copies: 10,
    adversarial: true,
    body: () => eventsOf('ex_worst_4', '{"a":1,"b":"x","c":true}', 100_000),
  },
];

/** A finished execution whose events are `count` copies of `event`, as JSON text. */
function eventsOf(id: string, event: string, count: number): Buffer {
  const stored = finished(id, 0);
  const data = `{"events":[${new Array<string>(count).fill(event).join(',')}],"execution":${JSON.stringify(stored.execution)},"message":"execution retrieved"}`;
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-1"}`);
}

// ---------------------------------------------------------------------------
// Measuring

function heapAfterFullGc(): number {
  for (let i = 0; i < 4; i++) collect();
  return process.memoryUsage().heapUsed;
}

const read = readAsGateway;
const serve = (execution: Execution) => pageAsQueries(execution, { typeFilter: true });

/** Heap, and with `buffers` the typed arrays' memory outside it, kept per copy. */
function retainedPerCopy(bytes: Buffer, id: string, copies: number, served: boolean, buffers = false): number {
  const kept = () => heapAfterFullGc() + (buffers ? process.memoryUsage().arrayBuffers : 0);
  const before = kept();
  const held: Execution[] = [];
  for (let i = 0; i < copies; i++) {
    const execution = read(bytes, id);
    if (served) serve(execution);
    held.push(execution);
  }
  const after = kept();
  if (held.length !== copies) throw new Error('unreachable');
  return (after - before) / copies;
}

interface Row {
  shape: string;
  adversarial: boolean;
  about: string;
  bodyBytes: number;
  events: number;
  copies: number;
  parsedBytesPerCopy: number;
  parsedPerBodyByte: number;
  servedBytesPerCopy: number;
  servedPerBodyByte: number;
  /** Served, with the index's typed arrays (outside heapUsed). */
  servedWithBuffersPerCopy: number;
  /** What entryBytes counts for it, and that over servedWithBuffersPerCopy. */
  countedBytes: number;
  countedPerKept: number;
}

const wanted = process.env.HEAP_SHAPES?.split(',').map((key) => key.trim());
const rows: Row[] = [];
for (const shape of SHAPES) {
  if (wanted ? !wanted.includes(shape.key) : shape.adversarial) continue;
  const bytes = shape.body();
  const probe = read(bytes, idOf(bytes));
  const id = probe.id;
  // Once unmeasured, so code and hidden classes are warm.
  retainedPerCopy(bytes, id, Math.min(shape.copies, 3), true);
  const parsed = retainedPerCopy(bytes, id, shape.copies, false);
  const served = retainedPerCopy(bytes, id, shape.copies, true);
  const servedWithBuffers = retainedPerCopy(bytes, id, shape.copies, true, true);
  const counted = entryBytes(probe);
  const row: Row = {
    shape: shape.key,
    adversarial: shape.adversarial === true,
    about: shape.about,
    bodyBytes: bytes.length,
    events: probe.events.length,
    copies: shape.copies,
    parsedBytesPerCopy: Math.round(parsed),
    parsedPerBodyByte: round(parsed / bytes.length),
    servedBytesPerCopy: Math.round(served),
    servedPerBodyByte: round(served / bytes.length),
    servedWithBuffersPerCopy: Math.round(servedWithBuffers),
    countedBytes: counted,
    countedPerKept: round(counted / servedWithBuffers),
  };
  rows.push(row);
  process.stderr.write(`[heap-factor] ${row.shape}: ${row.bodyBytes} B body, ×${row.parsedPerBodyByte} parsed, ×${row.servedPerBodyByte} served, counted ×${row.countedPerKept} of what it keeps\n`);
}

function idOf(bytes: Buffer): string {
  const json = JSON.parse(decodeBody(bytes, 'application/json').text) as { data: { execution: { id: string } } };
  return json.data.execution.id;
}

function round(value: number): number {
  return Number(value.toFixed(2));
}

// ---------------------------------------------------------------------------
// Report

const realistic = rows.filter((row) => !row.adversarial);
const ratios = realistic.flatMap((row) => [row.parsedPerBodyByte, row.servedPerBodyByte]);
const large = realistic.filter((row) => row.bodyBytes >= 100_000).flatMap((row) => [row.parsedPerBodyByte, row.servedPerBodyByte]);
const report = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}`,
  method: 'heapUsed after 4 × gc(), before and after holding N executions read from distinct decodes of the body; (after - before) / N / body bytes',
  /** Over the realistic shapes measured (adversarial ones never count). */
  range: ratios.length ? { min: Math.min(...ratios), max: Math.max(...ratios) } : null,
  rangeBodiesOver100kB: large.length ? { min: Math.min(...large), max: Math.max(...large) } : null,
  rows,
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/heap-factor.json', import.meta.url), `${JSON.stringify(report, null, 2)}\n`);

const kb = (bytes: number) => (bytes >= 10_000 ? `${Math.round(bytes / 1000).toLocaleString('en-US')} kB` : `${bytes.toLocaleString('en-US')} B`);
process.stdout.write(
  [
    `## Heap per body byte (${report.cpus}, Node ${process.version}, V8 ${process.versions.v8})`,
    '',
    '| shape | body | events | copies | heap per copy, parsed | ÷ body | + index | ÷ body | + its buffers | counted | ÷ kept |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (row) =>
        `| ${row.shape}: ${row.about} | ${kb(row.bodyBytes)} | ${row.events.toLocaleString('en-US')} | ${row.copies} | ${kb(row.parsedBytesPerCopy)} | ${row.parsedPerBodyByte} | ${kb(row.servedBytesPerCopy)} | ${row.servedPerBodyByte} | ${kb(row.servedWithBuffersPerCopy)} | ${kb(row.countedBytes)} | ${row.countedPerKept} |`,
    ),
    '',
    `Range over realistic shapes: ${report.range ? `${report.range.min} – ${report.range.max}` : '—'} heap bytes per body byte${report.rangeBodiesOver100kB ? ` (bodies over 100 kB: ${report.rangeBodiesOver100kB.min} – ${report.rangeBodiesOver100kB.max})` : ''}.`,
    'Full figures: bench/results/heap-factor.json',
    '',
  ].join('\n'),
);
