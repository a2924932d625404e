/**
 * An upstream body reads the same whichever way its bytes arrive: plain, gzip
 * or br, with a UTF-8 byte-order mark or without, with multibyte characters or
 * malformed sequences. Over HTTP: the fake upstream sends the very same bytes
 * each way (a `body` fault), and the gateway's GraphQL answers must be equal.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeExecution } from '../src/demo/demo-data.js';
import type { Fault } from '../src/demo/fake-upstream.js';
import { Cancellation } from '../src/upstream/cancellation.js';
import { AUTH, Harness, LANES, codes } from './support/harness.js';

const ID = 'ex_bytes_1';
const QUERY = `query($id: ID!) {
  execution(id: $id) {
    id status statusReason requestPayload
    events(first: 5) { totalCount nodes { id message data } }
  }
}`;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const ENCODINGS = ['plain', 'gzip', 'br'] as const;
type Encoding = (typeof ENCODINGS)[number];

interface Content {
  statusReason: string;
  requestPayload: unknown;
  messages: string[];
}

/** The 200 envelope upstream sends for an execution carrying `content`, as bytes. */
function envelopeBytes(content: Content): Buffer {
  const stored = makeExecution({ id: ID, status: 'workflow_failed', eventCount: content.messages.length });
  stored.execution.statusReason = content.statusReason;
  // Any JSON value: the gateway serves whatever upstream sent (src/domain/execution.ts).
  Object.assign(stored.execution, { requestPayload: content.requestPayload });
  stored.events.forEach((event, i) => (event.message = content.messages[i]!));
  const data = JSON.stringify({ events: stored.events, execution: stored.execution, message: 'execution retrieved' });
  return Buffer.from(`{"code":200,"data":${data},"message":"success","requestId":"up-bytes"}`);
}

/** The same bytes as upstream would send them with this content encoding. */
function sent(bytes: Buffer, encoding: Encoding): Fault {
  if (encoding === 'plain') return { kind: 'body', body: bytes };
  const body = encoding === 'gzip' ? gzipSync(bytes) : brotliCompressSync(bytes);
  return { kind: 'body', body, headers: { 'content-encoding': encoding } };
}

let harness: Harness;
beforeAll(async () => {
  harness = await Harness.start();
});
afterAll(() => harness.close());

/** The gateway's answer when upstream sends `bytes` with `encoding`, without the per-request cost figures. */
async function answerFor(bytes: Buffer, encoding: Encoding) {
  harness.upstream.setFault(ID, sent(bytes, encoding));
  const { data, errors } = await harness.query(QUERY, { id: ID });
  return { data, errors };
}

async function answersEachWay(bytes: Buffer) {
  const answers = [];
  for (const encoding of ENCODINGS) answers.push(await answerFor(bytes, encoding));
  return answers;
}

describe('upstream bytes, however they arrive', () => {
  const content: Content = {
    statusReason: 'Zahlung für Rechnung — 請求書 ✅ “ok”',
    requestPayload: { note: 'naïve café €5', emoji: '🧾', nested: { list: ['ß', 'Ω', '😀'] } },
    messages: ['plain ascii', 'é è ê', '日本語のメッセージ', '🚀 emoji first'],
  };

  it('serves the same body identically plain, gzip and br, with and without a byte-order mark', async () => {
    const bytes = envelopeBytes(content);
    const answers = [...(await answersEachWay(bytes)), ...(await answersEachWay(Buffer.concat([BOM, bytes])))];
    for (const answer of answers) {
      expect(answer.errors).toBeUndefined();
      expect(answer).toEqual(answers[0]);
    }
    const execution = (answers[0]!.data as { execution: { statusReason: string; requestPayload: unknown; events: { nodes: { message: string }[] } } }).execution;
    expect(execution.statusReason).toBe(content.statusReason);
    expect(execution.requestPayload).toEqual(content.requestPayload);
    expect(execution.events.nodes.map((node) => node.message)).toEqual(content.messages);
  });

  it('counts the same body bytes (what the cache accounts from) whatever the encoding', async () => {
    const bytes = Buffer.concat([BOM, envelopeBytes(content)]);
    const counted: number[] = [];
    for (const encoding of ENCODINGS) {
      harness.upstream.setFault(ID, sent(bytes, encoding));
      const execution = await harness.instance.client.getExecution(ID, { authorization: AUTH, requestId: 'req-bytes', callerKey: 'caller' }, new Cancellation());
      counted.push(execution.bodyBytes);
    }
    expect(counted).toEqual([bytes.length, bytes.length, bytes.length]);
  });

  it('refuses a body that is not JSON the same way whatever its encoding', async () => {
    const bytes = Buffer.concat([BOM, Buffer.from('not json at all')]);
    for (const answer of await answersEachWay(bytes)) expect(codes(answer)).toEqual(['UPSTREAM_BAD_RESPONSE']);
  });

  it('answers identically for random bodies sent plain, gzip and br (property)', async () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const contentArb = fc.record({
      statusReason: text,
      requestPayload: fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }),
      messages: fc.array(text, { minLength: 1, maxLength: 4 }),
    });
    /** Bytes that are not UTF-8 (a lone continuation byte, a truncated sequence, an encoded surrogate, …), spliced into statusReason. */
    const malformed = fc.option(fc.constantFrom([0xff], [0x80], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98]), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(contentArb, fc.boolean(), malformed, async (generated, withBom, badBytes) => {
        const marker = '\u0001MALFORMED\u0001';
        const body = envelopeBytes(badBytes ? { ...generated, statusReason: `${generated.statusReason}${marker}` } : generated);
        let bytes = body;
        if (badBytes) {
          // JSON.stringify escapes U+0001, so the marker is found by its escaped form.
          const escaped = Buffer.from(JSON.stringify(marker).slice(1, -1));
          const at = body.indexOf(escaped);
          bytes = Buffer.concat([body.subarray(0, at), Buffer.from(badBytes), body.subarray(at + escaped.length)]);
        }
        if (withBom) bytes = Buffer.concat([BOM, bytes]);
        const [plain, ...compressed] = await answersEachWay(bytes);
        expect(plain!.errors).toBeUndefined();
        for (const answer of compressed) expect(answer).toEqual(plain);
        const execution = (plain!.data as { execution: { statusReason: string; requestPayload: unknown } }).execution;
        if (!badBytes) {
          expect(execution.statusReason).toBe(generated.statusReason);
          expect(execution.requestPayload).toEqual(JSON.parse(JSON.stringify(generated.requestPayload)));
        } else {
          expect(execution.statusReason.startsWith(generated.statusReason)).toBe(true);
          expect(execution.statusReason).toContain('\ufffd');
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe.each(LANES)('upstream bytes in the charset they declare (%s lane)', (lane) => {
  let charsets: Harness;
  beforeAll(async () => {
    charsets = await Harness.start({ lane });
  });
  afterAll(() => charsets.close());

  const content: Content = {
    statusReason: 'Zahlung für Rechnung — 請求書 ✅ “ok”',
    requestPayload: { note: 'naïve café €5', emoji: '🧾', nested: { list: ['ß', 'Ω', '😀'] } },
    messages: ['plain ascii', 'é è ê', '日本語のメッセージ', '🚀 emoji first'],
  };
  /** Only what ISO-8859-1 holds. */
  const latin1: Content = { statusReason: 'Zahlung für Rechnung ½ «ok»', requestPayload: { note: 'naïve café ß' }, messages: ['é è ê', 'Ñandú'] };
  const utf16le = (bytes: Buffer) => Buffer.from(bytes.toString('utf8'), 'utf16le');
  const utf16be = (bytes: Buffer) => utf16le(bytes).swap16();

  async function served(bytes: Buffer, encoding: Encoding, contentType?: string) {
    const fault = sent(bytes, encoding);
    if (fault.kind === 'body' && contentType) fault.headers = { ...fault.headers, 'content-type': contentType };
    charsets.upstream.setFault(ID, fault);
    const { data, errors, extensions } = await charsets.query(QUERY, { id: ID });
    return { data, errors, warnings: extensions?.warnings };
  }

  function expectContent(answer: Awaited<ReturnType<typeof served>>, meant: Content): void {
    expect(answer.errors).toBeUndefined();
    const execution = (answer.data as { execution: { statusReason: string; requestPayload: unknown; events: { nodes: { message: string }[] } } }).execution;
    expect(execution.statusReason).toBe(meant.statusReason);
    expect(execution.requestPayload).toEqual(meant.requestPayload);
    expect(execution.events.nodes.map((node) => node.message)).toEqual(meant.messages);
  }

  it.each([
    ['UTF-16LE with its byte-order mark', (b: Buffer) => Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(b)]), 'application/json'],
    ['UTF-16BE with its byte-order mark', (b: Buffer) => Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(b)]), undefined],
    ['UTF-16LE labelled charset=utf-16le', utf16le, 'application/json; charset=utf-16le'],
    ['UTF-16LE labelled charset="UTF-16"', utf16le, 'application/json; charset="UTF-16"'],
    ['UTF-16BE labelled charset=utf-16be', utf16be, 'application/json;charset=utf-16be'],
    ['UTF-16LE with no mark and no label', utf16le, 'application/json'],
    ['UTF-16LE with its mark, labelled UTF-8 (the mark wins)', (b: Buffer) => Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le(b)]), 'application/json; charset=utf-8'],
  ] as const)('reads %s as the text upstream meant, plain, gzip and br, without a note', async (_name, encode, contentType) => {
    const bytes = encode(envelopeBytes(content));
    for (const encoding of ENCODINGS) {
      const answer = await served(bytes, encoding, contentType);
      expectContent(answer, content);
      expect(answer.warnings).toBeUndefined();
    }
  });

  it.each(['application/json; charset=iso-8859-1', 'application/json; charset="ISO-8859-1"', 'application/json; charset=latin1', 'application/json; charset=windows-1252'])(
    'reads ISO-8859-1 declared as %s as the text upstream meant, without a note',
    async (contentType) => {
      const bytes = Buffer.from(envelopeBytes(latin1).toString('utf8'), 'latin1');
      for (const encoding of ENCODINGS) {
        const answer = await served(bytes, encoding, contentType);
        expectContent(answer, latin1);
        expect(answer.warnings).toBeUndefined();
      }
    },
  );

  it('reads 0x80-0x9F labelled ISO-8859-1 as windows-1252 letters (the WHATWG reading), as a browser shows them', async () => {
    const meant: Content = { statusReason: 'Preis €5 – „fertig“ “ok” Ÿ', requestPayload: { note: 'naïve ‰' }, messages: ['œuvre', 'é'] };
    const bytes = Buffer.from(
      envelopeBytes(meant)
        .toString('utf8')
        .replace(/[€–„“”Ÿ‰œ]/g, (char) => String.fromCharCode({ '€': 0x80, '–': 0x96, '„': 0x84, '“': 0x93, '”': 0x94, Ÿ: 0x9f, '‰': 0x89, œ: 0x9c }[char]!)),
      'latin1',
    );
    const answer = await served(bytes, 'plain', 'application/json; charset=iso-8859-1');
    expectContent(answer, meant);
    expect(answer.warnings).toBeUndefined();
  });

  it('reads UTF-8 labelled ISO-8859-1 (a mislabelling server) as UTF-8: valid UTF-8 is what JSON is, and Latin-1 letters almost never are', async () => {
    for (const encoding of ENCODINGS) {
      const answer = await served(envelopeBytes(content), encoding, 'application/json; charset=iso-8859-1');
      expectContent(answer, content);
      expect(answer.warnings).toBeUndefined();
    }
  });

  it.each(['application/json; charset=utf-16', 'application/json; charset=UTF-16LE', 'application/json; charset=utf-16be'])(
    'reads UTF-8 labelled %s as UTF-8: its first two bytes hold no NUL, which no JSON text in UTF-16 lacks',
    async (contentType) => {
      // Read as UTF-16 at the label's word, the bytes were no JSON: the whole execution was UPSTREAM_BAD_RESPONSE.
      for (const encoding of ENCODINGS) {
        charsets.upstream.reset();
        const answer = await served(envelopeBytes(content), encoding, contentType);
        expectContent(answer, content);
        expect(answer.warnings).toBeUndefined();
        expect(charsets.upstream.requestsFor(ID)).toHaveLength(1);
      }
    },
  );

  it('serves a body in a charset it does not know as UTF-8, with one note on the execution naming the label', async () => {
    const answer = await served(envelopeBytes(content), 'plain', 'application/json; charset=x-klingon');
    expectContent(answer, content);
    expect(answer.warnings).toEqual([
      {
        path: ['execution'],
        code: 'REPLACED_VALUE',
        message: 'Execution: upstream declared charset `x-klingon`, which the gateway does not know; its body was read as UTF-8, so text may differ from what upstream sent.',
        upstreamRequestId: expect.stringMatching(/^up-\d+$/),
      },
    ]);
    charsets.upstream.setFault(ID, { kind: 'body', body: envelopeBytes(content), headers: { 'content-type': 'application/json; charset=x-klingon' } });
    const many = await charsets.query('query($ids: [ID!]!) { executions(ids: $ids) { id } }', { ids: ['ex_demo_1', ID] });
    expect(many.errors).toBeUndefined();
    expect((many.extensions!.warnings as Array<{ path: unknown[] }>).map((note) => note.path)).toEqual([['executions', 1]]);
    // The same execution under three aliases: one upstream call, one note at each alias's own path.
    charsets.upstream.reset();
    charsets.upstream.setFault(ID, { kind: 'body', body: envelopeBytes(content), headers: { 'content-type': 'application/json; charset=x-klingon' } });
    const aliased = await charsets.query(`{ a: execution(id: "${ID}") { id } b: execution(id: "${ID}") { id } c: execution(id: "ex_demo_1") { id } d: execution(id: "${ID}") { id } }`);
    expect(aliased.errors).toBeUndefined();
    expect((aliased.extensions!.warnings as Array<{ path: unknown[] }>).map((note) => note.path)).toEqual([['a'], ['b'], ['d']]);
    expect(charsets.upstream.requestsFor(ID)).toHaveLength(1);
    // An empty label names no charset: UTF-8, without a note.
    const unlabelled = await served(envelopeBytes(content), 'plain', 'application/json; charset=');
    expectContent(unlabelled, content);
    expect(unlabelled.warnings).toBeUndefined();
  });
});
