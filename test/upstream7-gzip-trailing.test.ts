/**
 * A gzip body whose complete member is followed by stray bytes (a proxy's newline, padding, junk) is read as that
 * member, as browsers read it (Chromium's GzipSourceStream ignores extra bytes "to match the behavior of other
 * browsers"; curl writes the member out, then complains), with one warning line for the operator. It was
 * UPSTREAM_BAD_RESPONSE and the execution lost. A member that is itself cut short or corrupt is still refused, and so
 * is a second member that starts and does not decode. Over HTTP: the fake upstream sends the very bytes.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, codes } from './support/harness.js';

const ID = 'ex_gzip_tail_1';
const QUERY = `query($id: ID!) {
  execution(id: $id) { id status statusReason events(first: 5) { totalCount nodes { id message } } }
}`;

function envelopeBytes(): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_failed', eventCount: 3 });
  stored.execution.statusReason = 'Zahlung für Rechnung — 請求書';
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-gzip-tail"}`);
}

describe('a gzip body with bytes after its complete member', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start();
  });
  afterAll(() => harness.close());

  const bytes = envelopeBytes();
  const member = gzipSync(bytes);

  async function answerFor(body: Buffer, encoding?: string) {
    harness.upstream.setFault(ID, encoding ? { kind: 'body', body, headers: { 'content-encoding': encoding } } : { kind: 'body', body });
    const { data, errors } = await harness.query(QUERY, { id: ID });
    return { data, errors };
  }

  const trailingLines = () => harness.logs.filter((line) => String(line.why ?? '').startsWith('gzip body followed by'));

  it('serves the member and drops the rest, with a warning naming how many bytes were dropped', async () => {
    const plain = await answerFor(bytes);
    expect(plain.errors).toBeUndefined();
    const tails = [Buffer.from('\n'), Buffer.from('\r\n'), Buffer.from('<html>proxy</html>'), Buffer.from([0x1f]), Buffer.from([0x1f, 0x8b, 1, 2]), Buffer.alloc(3)];
    for (const tail of tails) {
      expect(await answerFor(Buffer.concat([member, tail]), 'gzip')).toEqual(plain);
    }
    // Two members, then junk: both members are the body.
    const half = bytes.length >> 1;
    expect(await answerFor(Buffer.concat([gzipSync(bytes.subarray(0, half)), gzipSync(bytes.subarray(half)), Buffer.from('junk')]), 'x-gzip')).toEqual(plain);
    const lines = trailingLines();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 40, executionId: ID, upstreamStatus: 200 });
    expect(lines[0]!.why).toContain('followed by 1 bytes');
  });

  it('still refuses a member that is cut short, corrupt, or followed by a second member that does not decode', async () => {
    const corrupt = Buffer.from(member);
    corrupt[corrupt.length - 6]! ^= 1; // in the CRC-32
    const secondCut = gzipSync(bytes).subarray(0, 40);
    for (const body of [member.subarray(0, member.length - 4), Buffer.concat([member.subarray(0, member.length >> 1), Buffer.from('\n')]), Buffer.concat([corrupt, Buffer.from('\n')]), Buffer.concat([member, secondCut])]) {
      expect(codes(await answerFor(body, 'gzip'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    }
  });
});
