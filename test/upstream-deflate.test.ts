/**
 * `Content-Encoding: deflate` read as browsers read it: zlib-wrapped, or raw deflate (old IIS, some proxies), told
 * apart by the first two bytes; raw deflate was UPSTREAM_BAD_RESPONSE ("incorrect header check") and the execution
 * lost. Deflate data that is corrupt or cut short is still refused. Over HTTP: the fake upstream sends the very bytes
 * (a `body` fault), and the gateway's GraphQL answers must equal those for the same body sent plain.
 */
import { deflateRawSync, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import { Harness, LANES, codes } from './support/harness.js';

const ID = 'ex_decoding_1';
const QUERY = `query($id: ID!) {
  execution(id: $id) {
    id status statusReason requestPayload
    events(first: 5) { totalCount nodes { id message } }
  }
}`;

/** The 200 envelope upstream sends for an execution whose statusReason is `reason` and requestPayload `payload`, as bytes. */
function envelopeBytes(reason: string, payload: unknown = { note: 'café' }): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_failed', eventCount: 3 });
  stored.execution.statusReason = reason;
  Object.assign(stored.execution, { requestPayload: payload });
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-decoding"}`);
}

describe.each(LANES)('deflate as browsers read it (%s lane)', (lane) => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await Harness.start({ lane });
  });
  afterAll(() => harness.close());

  /** The gateway's answer when upstream sends `body` as it is, with `encoding` named when there is one. */
  async function answerFor(body: Buffer, encoding?: string) {
    harness.upstream.setFault(ID, encoding ? { kind: 'body', body, headers: { 'content-encoding': encoding } } : { kind: 'body', body });
    const { data, errors } = await harness.query(QUERY, { id: ID });
    return { data, errors };
  }

  async function expectServedAsPlain(bytes: Buffer, body: Buffer, encoding: string) {
    const plain = await answerFor(bytes);
    expect(plain.errors).toBeUndefined();
    expect(await answerFor(body, encoding)).toEqual(plain);
  }

  const bytes = envelopeBytes('Zahlung für Rechnung — 請求書');

  it('serves deflate, raw or zlib-wrapped, as the same body plain', async () => {
    await expectServedAsPlain(bytes, deflateRawSync(bytes), 'deflate');
    await expectServedAsPlain(bytes, deflateSync(bytes), 'deflate');
  });

  it('refuses deflate data that is corrupt or cut short, raw or zlib-wrapped, where the whole raw data is read', async () => {
    const raw = deflateRawSync(bytes);
    await expectServedAsPlain(bytes, raw, 'deflate');
    const wrapped = deflateSync(bytes);
    const broken = Buffer.from(wrapped);
    broken[broken.length - 1]! ^= 1;
    for (const body of [Buffer.from([0xff, 0xff, 0xff, 0xff]), raw.subarray(0, raw.length >> 1), wrapped.subarray(0, wrapped.length >> 1), broken]) {
      expect(codes(await answerFor(body, 'deflate'))).toEqual(['UPSTREAM_BAD_RESPONSE']);
    }
  });

  it('serves any JSON text identically plain and as raw deflate (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 40 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), async (reason, payload) => {
        const body = envelopeBytes(reason, payload);
        const plain = await answerFor(body);
        expect(plain.errors).toBeUndefined();
        expect(await answerFor(deflateRawSync(body), 'deflate')).toEqual(plain);
      }),
      { numRuns: 25 },
    );
  });
});
