/**
 * A `Content-Encoding` that names no coding the gateway decodes (`none`, as Yoga sends to stop compression; a charset
 * such as `UTF-8`; `binary`) on a body sent plain: read as sent, as Chromium reads a body whose coding it does not know
 * ("Unknown encoding type. Pass through raw response body."), with one warning for the operator. It was
 * UPSTREAM_BAD_RESPONSE and the execution lost, though the body was the documented JSON envelope ("Only an unusable
 * body is an error"). A body in a coding the gateway does not decode (`zstd`) is still refused, named in the warning.
 * Over HTTP: the fake upstream sends the very bytes.
 */
import { brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES, codes } from './support/harness.js';

const ID = 'ex_tolerant11_coding_1';
const QUERY = `query($id: ID!) {
  execution(id: $id) { id status statusReason requestPayload events(first: 5) { totalCount nodes { id message } } }
}`;

function envelopeBytes(): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_failed', eventCount: 3 });
  stored.execution.statusReason = 'Zahlung für Rechnung — 請求書';
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-coding"}`);
}

describe.each(LANES)('a Content-Encoding the gateway does not decode (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  async function answerFor(body: Buffer, encoding?: string) {
    harness.upstream.setFault(ID, encoding ? { kind: 'body', body, headers: { 'content-encoding': encoding } } : { kind: 'body', body });
    const { data, errors } = await harness.query(QUERY, { id: ID });
    return { data, errors };
  }

  const bytes = envelopeBytes();
  const codingLines = () => harness.logs.filter((line) => String(line.why ?? '').includes('Content-Encoding'));

  it('serves a plain body under a coding it does not know as the same body without one, with a warning', async () => {
    const plain = await answerFor(bytes);
    expect(plain.errors).toBeUndefined();
    for (const coding of ['none', 'UTF-8', 'binary', 'text']) {
      expect(await answerFor(bytes, coding)).toEqual(plain);
    }
    const lines = codingLines();
    expect(lines[0]).toMatchObject({ level: 40, executionId: ID, upstreamStatus: 200 });
    expect(lines[0]!.why).toContain('Content-Encoding `none`');
  });

  it('still refuses a body that, read as sent, is no JSON, naming its coding', async () => {
    const before = codingLines().length;
    expect(codes(await answerFor(brotliCompressSync(bytes), 'zstd'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(codingLines().slice(before).some((line) => String(line.why).includes('Content-Encoding `zstd`'))).toBe(true);
    // Codings stacked on one body stay refused (README "Upstream faults").
    expect(codes(await answerFor(bytes, 'none, gzip'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
  });
});
