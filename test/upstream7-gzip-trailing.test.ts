/**
 * A gzip body whose complete member is followed by stray bytes (a proxy's newline, padding, junk) is read as that
 * member, as browsers read it (Chromium's GzipSourceStream ignores extra bytes "to match the behavior of other
 * browsers"; curl writes the member out, then complains), with one warning line for the operator. It was
 * UPSTREAM_BAD_RESPONSE and the execution lost. A member that is itself cut short or corrupt is still refused, and so
 * is a second member that starts and does not decode.
 *
 * A `deflate` body whose complete stream is followed by stray bytes is read the same way (Chromium ignores bytes after
 * the end of a deflate stream as after a gzip member). It hung instead: node's inflater ends at the stream's end
 * without taking the rest, so the gateway's deflate reader waited for ever on a write that was never taken. The client
 * got UPSTREAM_TIMEOUT only when its request's budget ran out (the attempt's deadline no longer watches a body already
 * received), and the call never left the bulkhead: with one slot, every later call of the process was refused.
 *
 * Over HTTP: the fake upstream sends the very bytes.
 */
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, codes } from './support/harness.js';

const ID = 'ex_gzip_tail_1';
const OTHER = 'ex_gzip_tail_2';
const QUERY = `query($id: ID!) {
  execution(id: $id) { id status statusReason requestPayload events(first: 5) { totalCount nodes { id message } } }
}`;

function envelopeBytes(id: string): Buffer {
  const stored = makeExecution({ id, status: 'workflow_failed', eventCount: 3 });
  stored.execution.statusReason = 'Zahlung für Rechnung — 請求書';
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-tail"}`);
}

let harness: Harness;
beforeAll(async () => {
  // One bulkhead slot and no queue: a call that never leaves it refuses every later one. A budget far above what a
  // body of a few KB takes to decode, and far below the test's timeout: a hang is a failed assertion, not a stuck suite.
  harness = await Harness.start({ env: { UPSTREAM_MAX_CONCURRENT: '1', UPSTREAM_QUEUE: '0', REQUEST_BUDGET_MS: '5000' } });
});
afterAll(() => harness.close());

async function answerFor(id: string, body: Buffer, encoding?: string) {
  harness.upstream.setFault(id, encoding ? { kind: 'body', body, headers: { 'content-encoding': encoding } } : { kind: 'body', body });
  const { data, errors } = await harness.query(QUERY, { id });
  return { data, errors };
}

const bytes = envelopeBytes(ID);
/** The warnings for bodies of `coding` read with bytes after their end dropped. */
const trailingLines = (coding: 'gzip' | 'deflate') => harness.logs.filter((line) => String(line.why ?? '').startsWith(`${coding} body followed by`));

describe('a gzip body with bytes after its complete member', () => {
  const member = gzipSync(bytes);

  it('serves the member and drops the rest, with a warning naming how many bytes were dropped', async () => {
    const plain = await answerFor(ID, bytes);
    expect(plain.errors).toBeUndefined();
    const tails = [Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('<html>proxy</html>'), Buffer.from([0x1f]), Buffer.from([0x1f, 0x8b, 1, 2]), Buffer.alloc(3)];
    for (const tail of tails) {
      expect(await answerFor(ID, Buffer.concat([member, tail]), 'gzip')).toEqual(plain);
    }
    // Two members, then junk: both members are the body.
    const half = bytes.length >> 1;
    expect(await answerFor(ID, Buffer.concat([gzipSync(bytes.subarray(0, half)), gzipSync(bytes.subarray(half)), Buffer.from('junk')]), 'x-gzip')).toEqual(plain);
    const lines = trailingLines('gzip');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 40, executionId: ID, upstreamStatus: 200 });
    expect(lines[0]!.why).toContain('followed by 1 bytes');
  });

  it('still refuses a member that is cut short, corrupt, or followed by a second member that does not decode', async () => {
    const corrupt = Buffer.from(member);
    corrupt[corrupt.length - 6]! ^= 1; // in the CRC-32
    const secondCut = gzipSync(bytes).subarray(0, 40);
    for (const body of [member.subarray(0, member.length - 4), Buffer.concat([member.subarray(0, member.length >> 1), Buffer.from('\n')]), Buffer.concat([corrupt, Buffer.from('\n')]), Buffer.concat([member, secondCut])]) {
      expect(codes(await answerFor(ID, body, 'gzip'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    }
  });
});

describe('a deflate body with bytes after its complete stream', () => {
  it('serves the stream and drops the rest, zlib-wrapped or raw, with a warning; the next call still goes upstream', async () => {
    const plain = await answerFor(ID, bytes);
    expect(plain.errors).toBeUndefined();
    for (const tail of [Buffer.from('\r\n'), Buffer.from('\n'), Buffer.from('<html>proxy</html>'), Buffer.alloc(3)]) {
      expect(await answerFor(ID, Buffer.concat([deflateSync(bytes), tail]), 'deflate')).toEqual(plain);
      expect(await answerFor(ID, Buffer.concat([deflateRawSync(bytes), tail]), 'deflate')).toEqual(plain);
    }
    const lines = trailingLines('deflate');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 40, executionId: ID, upstreamStatus: 200 });
    expect(lines[0]!.why).toContain('deflate body followed by 2 bytes');
    // The one bulkhead slot was given back each time.
    const before = harness.upstream.requestsFor(OTHER).length;
    const other = await answerFor(OTHER, envelopeBytes(OTHER));
    expect(other.errors).toBeUndefined();
    expect(harness.upstream.requestsFor(OTHER).length).toBe(before + 1);
  }, 30_000);

  it('still refuses deflate data cut short or corrupt, and br with stray bytes reads as before', async () => {
    const wrapped = deflateSync(bytes);
    const broken = Buffer.from(wrapped);
    broken[broken.length - 1]! ^= 1;
    for (const body of [wrapped.subarray(0, wrapped.length >> 1), Buffer.concat([broken, Buffer.from('\r\n')])]) {
      expect(codes(await answerFor(ID, body, 'deflate'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    }
    const plain = await answerFor(ID, bytes);
    expect(await answerFor(ID, Buffer.concat([brotliCompressSync(bytes), Buffer.from('\r\n')]), 'br')).toEqual(plain);
  }, 30_000);
});
