/**
 * What an execution counts against CACHE_MAX_BYTES and LIVE_MAX_HELD_BYTES
 * (src/upstream/entry-bytes.ts) against the heap it really keeps, read the way
 * the gateway reads one and paged the way queries page it (which builds the
 * events index it keeps). Counted from the body's bytes alone, a body of many
 * small events kept many times its count, and the bounds let a process run out
 * of heap well below them (README "Caching").
 */
import { describe, expect, it } from 'vitest';
import { pageAsQueries, readAsGateway } from '../bench/lib/held-execution.js';
import type { Execution } from '../src/domain/execution.js';
import { entryBytes } from '../src/upstream/entry-bytes.js';
import { heapAfterCollection } from './support/heap.js';

/** Upstream's 200 envelope around `count` copies of `event`. */
function body(event: string, count: number): Buffer {
  const events = new Array<string>(count).fill(event).join(',');
  return Buffer.from(`{"code":200,"data":{"events":[${events}],"execution":{"id":"ex_held","status":"workflow_succeeded"},"message":"execution retrieved"},"message":"success","requestId":"up-1"}`);
}

const read = (bytes: Buffer): Execution => readAsGateway(bytes, 'ex_held');

/** Heap (and typed arrays' buffers, outside heapUsed) kept per execution read from `bytes` and served. */
function keptPerCopy(bytes: Buffer, copies: number): number {
  pageAsQueries(read(bytes));
  const held = () => heapAfterCollection() + process.memoryUsage().arrayBuffers;
  const before = held();
  const kept = Array.from({ length: copies }, () => {
    const execution = read(bytes);
    pageAsQueries(execution);
    return execution;
  });
  const grown = held() - before;
  expect(kept).toHaveLength(copies);
  return grown / copies;
}

describe('the heap an execution counts', () => {
  it.each([
    ['empty events, `{}`', '{}'],
    ['events of three short fields', '{"a":1,"b":"x","c":true}'],
  ])('is at least what it keeps, and not three times it, for 100,000 %s', (_title, event) => {
    const bytes = body(event, 100_000);
    const kept = keptPerCopy(bytes, 5);
    const counted = entryBytes(read(bytes));
    expect(counted).toBeGreaterThanOrEqual(kept);
    expect(counted).toBeLessThan(3 * kept);
  });
});
