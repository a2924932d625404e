/**
 * Over HTTP, any envelope reads the same whatever coding upstream sent it in and however the bytes were split on the
 * wire: plain, under a `Content-Encoding` the gateway does not decode (`none`, `utf-8`: read as sent), gzip (`x-gzip`
 * too), deflate zlib-wrapped or raw, or br, each followed by stray bytes a proxy may add (a CRLF, padding; for gzip none
 * that begins a member), in chunks cut anywhere. Each answer equals the one for the same envelope sent plain in one
 * piece, well within the request's budget: a deflate stream with bytes after it hung until the budget ran out, and
 * `none` lost the execution. Every call is answered before the next is sent, and upstream is asked once per query.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { AUTH } from './support/harness.js';
import { gatewayBehindScripted, type BehindScripted } from './support/scripted-upstream.js';

const ID = 'ex_tolerant11_codings_1';
const QUERY = `query($id: ID!) {
  execution(id: $id) { id status statusReason requestPayload events(first: 3) { totalCount edges { cursor node { id message data } } } }
}`;
/** How long the property may run: it stops there, passing on what it ran (a loaded machine serves fewer). */
const TIME_BUDGET_MS = 10_000;

type Coding = 'plain' | 'none' | 'utf-8' | 'gzip' | 'x-gzip' | 'deflate' | 'raw deflate' | 'br';
const asSent = (bytes: Buffer) => bytes;
const ENCODE: Record<Coding, (bytes: Buffer) => Buffer> = {
  plain: asSent,
  none: asSent,
  'utf-8': asSent,
  gzip: gzipSync,
  'x-gzip': gzipSync,
  deflate: deflateSync,
  'raw deflate': deflateRawSync,
  br: brotliCompressSync,
};
const HEADER: Record<Coding, string | undefined> = {
  plain: undefined,
  none: 'none',
  'utf-8': 'UTF-8',
  gzip: 'gzip',
  'x-gzip': 'x-gzip',
  deflate: 'deflate',
  'raw deflate': 'deflate',
  br: 'br',
};

function envelopeBytes(reason: string, payload: unknown): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_failed', eventCount: 3 });
  stored.execution.statusReason = reason;
  Object.assign(stored.execution, { requestPayload: payload });
  return Buffer.from(JSON.stringify({ code: 200, data: { execution: stored.execution, events: stored.events }, requestId: 'up-codings' }));
}

interface Answer {
  headers: Record<string, string>;
  parts: Buffer[];
}
let answer: Answer = { headers: {}, parts: [] };
let calls = 0;

/** Writes each part on its own turn of the event loop, so the gateway reads them as they come. */
function script(_request: IncomingMessage, response: ServerResponse): void {
  calls++;
  const { headers, parts } = answer;
  response.writeHead(200, { 'content-type': 'application/json', ...headers });
  let next = 0;
  const write = () => {
    if (next === parts.length) return void response.end();
    response.write(parts[next++]);
    setImmediate(write);
  };
  write();
}

/** `bytes` cut at `cuts` (positions, any order, repeats and out-of-range ones dropped). */
function cut(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((position) => position % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) parts.push(bytes.subarray(from, to));
    from = to;
  }
  return parts;
}

describe('an envelope in any coding the gateway reads, cut anywhere on the wire, with stray bytes after compressed data', () => {
  let gateway: BehindScripted;
  beforeAll(async () => {
    // A budget far above what these bodies take, far below the test's timeout: a hang fails an assertion.
    gateway = await gatewayBehindScripted(script, { REQUEST_BUDGET_MS: '5000', UPSTREAM_MAX_ATTEMPTS: '1' });
  });
  afterAll(() => gateway.close());

  async function ask(headers: Record<string, string>, parts: Buffer[]): Promise<unknown> {
    answer = { headers, parts };
    const before = calls;
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: AUTH },
      body: JSON.stringify({ query: QUERY, variables: { id: ID } }),
    });
    expect(response.status).toBe(200);
    expect(calls - before).toBe(1);
    const { data, errors } = (await response.json()) as { data?: unknown; errors?: unknown };
    return { data, errors };
  }

  it('serves each as the same envelope sent plain in one piece', async () => {
    // Stray bytes after compressed data: a CRLF, NULs, a proxy's text; none begins a gzip member (0x1f).
    const tail = fc.oneof(fc.constant(Buffer.alloc(0)), fc.constant(Buffer.from('\r\n')), fc.uint8Array({ minLength: 1, maxLength: 16 }).filter((bytes) => bytes[0] !== 0x1f).map((bytes) => Buffer.from(bytes)));
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
        fc.constantFrom<Coding>('plain', 'none', 'utf-8', 'gzip', 'x-gzip', 'deflate', 'raw deflate', 'br'),
        tail,
        fc.array(fc.nat(), { maxLength: 6 }),
        async (reason, payload, coding, stray, cuts) => {
          const bytes = envelopeBytes(reason, payload);
          const plain = (await ask({}, [bytes])) as { errors?: unknown };
          expect(plain.errors).toBeUndefined();
          // Plain text takes only whitespace after it, as JSON does.
          const after = ENCODE[coding] === asSent ? Buffer.from('\r\n') : stray;
          const header = HEADER[coding];
          const sent = await ask(header === undefined ? {} : { 'content-encoding': header }, cut(Buffer.concat([ENCODE[coding](bytes), after]), cuts));
          expect(sent).toEqual(plain);
        },
      ),
      { numRuns: 150, interruptAfterTimeLimit: TIME_BUDGET_MS },
    );
  }, 60_000);
});
