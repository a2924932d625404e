/**
 * Content-Encoding is a list (RFC 9110 §8.4), and a list may come as several lines, which mean the same as one line
 * joining them (§5.3). Only the first line was read: `identity` then `gzip` served a gzip body as corrupt and a plain
 * one as if it were not encoded. `identity` adds no coding; one coding left is read, stacked codings are not.
 *
 * One coding the gateway does not decode (`none`, as Yoga sends to stop compression; a charset such as `UTF-8`;
 * `binary`) on a body sent plain: read as sent, as Chromium reads a body whose coding it does not know ("Unknown
 * encoding type. Pass through raw response body."), with one warning for the operator. It was UPSTREAM_BAD_RESPONSE and
 * the execution lost, though the body was the documented JSON envelope ("Only an unusable body is an error"). A body in
 * a coding the gateway does not decode (`zstd`) is still refused, named in the warning.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES, codes } from './support/harness.js';

const ID = 'ex_coding_lines';
const QUERY = 'query($id: ID!) { execution(id: $id) { id status } }';
const WHOLE = `query($id: ID!) {
  execution(id: $id) { id status statusReason requestPayload events(first: 5) { totalCount nodes { id message } } }
}`;

function envelope(): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_running', eventCount: 2 });
  stored.execution.statusReason = 'Zahlung für Rechnung — 請求書';
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-coding"}`);
}

describe.each(LANES)('Content-Encoding given in several lines, as a list, or naming a coding the gateway does not decode (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const ask = async (body: Buffer, contentEncoding: string | string[] | undefined, query = QUERY) => {
    harness.upstream.setFault(ID, contentEncoding === undefined ? { kind: 'body', body } : { kind: 'body', body, headers: { 'content-encoding': contentEncoding } });
    const before = harness.upstream.requestsFor(ID).length;
    const response = await harness.query(query, { id: ID });
    return { response, asked: harness.upstream.requestsFor(ID).length - before };
  };
  /** What a client is served: not the answer's timings. */
  const served = ({ data, errors }: Awaited<ReturnType<typeof ask>>['response']) => ({ data, errors });

  // First, before the refusals below: a body that breaks the contract is logged at once only first of its kind in an
  // interval (src/telemetry/failure-log.ts), the rest counted, so a zstd line after them was never written.
  const codingLines = () => harness.logs.filter((line) => String(line.why ?? '').includes('Content-Encoding'));

  it('reads a plain body under one coding it does not know as the same body without one, with a warning', async () => {
    const plain = served((await ask(envelope(), undefined, WHOLE)).response);
    expect(plain.errors).toBeUndefined();
    const before = codingLines().length;
    for (const coding of ['none', 'UTF-8', 'binary', 'text']) expect(served((await ask(envelope(), coding, WHOLE)).response)).toEqual(plain);
    const lines = codingLines().slice(before);
    expect(lines[0]).toMatchObject({ level: 40, executionId: ID, upstreamStatus: 200 });
    expect(lines[0]!.why).toContain('Content-Encoding `none`');
  });

  it('still refuses a body in a coding it does not know, which read as sent is no JSON, naming its coding', async () => {
    const before = codingLines().length;
    const { response, asked } = await ask(brotliCompressSync(envelope()), 'zstd');
    expect(codes(response)).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(asked).toBe(1);
    expect(codingLines().slice(before).some((line) => String(line.why).includes('Content-Encoding `zstd`'))).toBe(true);
    // Stacked on a coding it does not know, one it decodes is refused as any stack is.
    expect(codes((await ask(envelope(), 'none, gzip')).response)).toEqual(['UPSTREAM_BAD_RESPONSE']);
  });

  it.each([
    ['identity then gzip, in two lines', ['identity', 'gzip'], gzipSync],
    ['gzip then identity, in two lines', ['gzip', 'identity'], gzipSync],
    ['identity, br in one line', 'identity, br', brotliCompressSync],
    ['identity in two lines', ['identity', 'identity'], (bytes: Buffer) => bytes],
  ] as const)('reads %s', async (_name, contentEncoding, encode) => {
    const { response, asked } = await ask(encode(envelope()), contentEncoding as string | string[]);
    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({ execution: { id: ID, status: 'WORKFLOW_RUNNING' } });
    expect(asked).toBe(1);
  });

  it.each([
    ['a plain body under identity then gzip', envelope(), ['identity', 'gzip']],
    ['stacked codings, gzip then br in two lines', brotliCompressSync(gzipSync(envelope())), ['gzip', 'br']],
    ['stacked codings in one line', brotliCompressSync(gzipSync(envelope())), 'gzip, br'],
  ] as const)('refuses %s as UPSTREAM_BAD_RESPONSE, asked once', async (_name, body, contentEncoding) => {
    const { response, asked } = await ask(body, contentEncoding as string | string[]);
    expect(response.data).toEqual({ execution: null });
    expect(codes(response)).toEqual(['UPSTREAM_BAD_RESPONSE']);
    expect(asked).toBe(1);
  });

});
