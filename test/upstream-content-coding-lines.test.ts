/**
 * Content-Encoding is a list (RFC 9110 §8.4), and a list may come as several lines, which mean the same as one line
 * joining them (§5.3). Only the first line was read: `identity` then `gzip` served a gzip body as corrupt and a plain
 * one as if it were not encoded. `identity` adds no coding; one coding left is read, stacked codings are not.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES, codes } from './support/harness.js';

const ID = 'ex_coding_lines';
const QUERY = 'query($id: ID!) { execution(id: $id) { id status } }';

function envelope(): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_running', eventCount: 2 });
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-coding"}`);
}

describe.each(LANES)('Content-Encoding given in several lines or as a list (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  const ask = async (body: Buffer, contentEncoding: string | string[]) => {
    harness.upstream.setFault(ID, { kind: 'body', body, headers: { 'content-encoding': contentEncoding } });
    const before = harness.upstream.requestsFor(ID).length;
    const response = await harness.query(QUERY, { id: ID });
    return { response, asked: harness.upstream.requestsFor(ID).length - before };
  };

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
