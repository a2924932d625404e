/**
 * Reads an upstream body into a string: decodes gzip, deflate and br, and refuses
 * a body whose size (declared, received or decoded) passes the cap before it is
 * buffered, so neither a huge body nor a compression bomb can exhaust memory.
 *
 * An unencoded body is read by undici itself (`body.bytes()`), with the cap
 * enforced by the pool's `maxResponseSize`: iterating the stream here cost
 * several times more per call than the read itself.
 *
 * Both kinds of body become text through the one `decodeBody` (./body-text.ts,
 * by its byte-order mark or declared charset), so a body reads the same, byte
 * for byte, whether upstream sent it plain, gzip or br.
 */
import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import type { Dispatcher } from 'undici';
import { BodiesInFlightError, type BodyLease } from './body-budget.js';
import { decodeBody } from './body-text.js';
import { completeGzipMembers } from './gzip-members.js';

/** `message` says where the size showed (`declared 6340 bytes`, `as received`, …); the code that configured the cap names it. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
}

export class UnsupportedEncodingError extends Error {
  override name = 'UnsupportedEncodingError';
}

/** The body's bytes arrived whole but do not decode in the encoding it claims (gzip, deflate or br). */
export class CorruptEncodingError extends Error {
  override name = 'CorruptEncodingError';
}

/** Looked up by upstream's text: a Map, so `constructor` or `__proto__` finds nothing, not Object.prototype's members. */
const decoders: ReadonlyMap<string, () => Transform> = new Map<string, () => Transform>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', () => new Deflate()],
  ['br', createBrotliDecompress],
]);

/** RFC 1950 §2.2: method 8 (deflate), a window of at most 32 KiB, and the two bytes a multiple of 31. */
function isZlibHeader(cmf: number, flg: number): boolean {
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && (cmf * 256 + flg) % 31 === 0;
}

/**
 * `deflate` as browsers read it: the zlib stream the coding names (RFC 9110 §8.4.1.2) when the body opens with a zlib
 * header, else raw deflate (RFC 1951), which old IIS and some proxies send under that name. The inflater is chosen by
 * the first two bytes, so it is made once they arrived; its output keeps its backpressure.
 *
 * Bytes after the stream's end (a proxy's CRLF, padding) are dropped and counted (`trailingBytes`), as Chromium drops
 * them after a deflate stream as after a gzip member: node's inflater ends there without taking them, and waited on,
 * the body never ended (the call held its bulkhead slot for good).
 */
class Deflate extends Transform {
  #head = Buffer.alloc(0);
  #inflater: Transform | undefined;
  #ended = false;
  #received = 0;

  /** Bytes that followed the end of the deflate stream, dropped; known once the body ended. */
  get trailingBytes(): number {
    return this.#ended && this.#inflater ? this.#received - (this.#inflater as Transform & { bytesWritten: number }).bytesWritten : 0;
  }

  #start(): Transform {
    const head = this.#head;
    const inflater = head.length >= 2 && isZlibHeader(head[0]!, head[1]!) ? createInflate() : createInflateRaw();
    inflater.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) inflater.pause();
    });
    inflater.once('end', () => (this.#ended = true));
    inflater.on('error', (error) => this.destroy(error));
    this.#inflater = inflater;
    return inflater;
  }

  #write(inflater: Transform, chunk: Buffer, done: TransformCallback): void {
    // Past the stream's end the inflater takes nothing more: what follows is dropped.
    if (this.#ended) return done();
    inflater.write(chunk, () => done());
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#received += chunk.length;
    if (this.#inflater) return this.#write(this.#inflater, chunk, done);
    this.#head = Buffer.concat([this.#head, chunk]);
    if (this.#head.length < 2) return done();
    this.#write(this.#start(), this.#head, done);
  }

  override _flush(done: TransformCallback): void {
    let inflater = this.#inflater;
    if (!inflater) {
      // Under two bytes: raw deflate, which refuses them as zlib would.
      inflater = this.#start();
      inflater.write(this.#head);
    }
    if (this.#ended) return done();
    inflater.once('end', () => done());
    inflater.end();
  }

  override _read(size: number): void {
    this.#inflater?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, done: (error: Error | null) => void): void {
    this.#inflater?.destroy();
    done(error);
  }
}

/** Drops a body unread. undici emits 'error' on a destroyed unread body; unhandled, that would kill the process. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

type UpstreamBody = Dispatcher.ResponseData['body'];

/** undici's error when a body passes the pool's maxResponseSize. */
function isOverMaxResponseSize(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE';
}

/**
 * A body as text, how many bytes it was (decoded), the charset it declared when the gateway does not know it (read as
 * UTF-8), how many bytes followed its complete gzip member(s) (./gzip-members.ts) or deflate stream, dropped, with
 * that coding, and the coding it named when the gateway does not decode it.
 */
export interface BodyText {
  text: string;
  bytes: number;
  unknownCharset?: string;
  ignoredTrailingBytes?: number;
  trailingCoding?: 'gzip' | 'deflate';
  /** The one coding upstream named that the gateway does not decode, lowercased: the body was read as sent. */
  unknownCoding?: string;
}

const notCharged = (bytes: number, where: string) => new BodiesInFlightError(`${bytes} bytes ${where}`);

/**
 * The one coding a Content-Encoding names, `identity` when none: the field is a list, which may come as several lines
 * meaning the same as one joining them (RFC 9110 §8.4, §5.3), and `identity` in it adds no coding. Codings stacked
 * (`gzip, br`) are named as they are, which no decoder reads. Only the first line was read: `identity` then `gzip`
 * served a plain body as if it were not encoded.
 */
function contentCoding(field: string | readonly string[] | undefined): string {
  if (field === undefined) return 'identity';
  const lines = typeof field === 'string' ? [field] : field;
  const codings = lines.flatMap((line) => line.split(',')).map((coding) => coding.trim().toLowerCase()).filter((coding) => coding !== '' && coding !== 'identity');
  return codings.length === 0 ? 'identity' : codings.join(', ');
}

/**
 * `limit` must equal the pool's `maxResponseSize`, which caps what arrives on
 * the wire; decoded bodies are counted here as they are decoded. `contentType`
 * names the charset (./body-text.ts). The body's bytes are charged to `lease`
 * (./body-budget.ts) as soon as they are known: a declared length before any
 * is read, a decoded body chunk by chunk, a plain one without a length once
 * read; what does not fit throws BodiesInFlightError, the body given up.
 */
export async function readBody(
  body: UpstreamBody,
  contentEncoding: string | readonly string[] | undefined,
  contentLength: string | undefined,
  limit: number,
  contentType: string | undefined,
  lease: BodyLease,
): Promise<BodyText> {
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > limit) {
    discard(body);
    throw new BodyTooLargeError(`declared ${declared} bytes`);
  }
  const encoding = contentCoding(contentEncoding);
  const decoder = decoders.get(encoding);
  // One coding the gateway does not know (`none`, as Yoga sends to stop compression; a charset such as `utf-8`) is read
  // as sent, as Chromium reads it ("Unknown encoding type. Pass through raw response body"): a plain body is served, one
  // truly in that coding is no JSON and refused then. Refused here, a plain envelope was UPSTREAM_BAD_RESPONSE.
  if (encoding === 'identity' || (!decoder && !encoding.includes(','))) {
    // Inline rather than a helper of its own: every status poll's body comes this way, and an async helper cost each an
    // extra promise and frame.
    const known = Number.isFinite(declared) && declared > 0;
    if (known && !lease.grow(declared)) {
      discard(body);
      throw notCharged(declared, 'declared');
    }
    let bytes: Uint8Array;
    try {
      bytes = await body.bytes();
    } catch (error) {
      if (isOverMaxResponseSize(error)) throw new BodyTooLargeError('as received');
      throw error;
    }
    if (!known && !lease.grow(bytes.byteLength)) throw notCharged(bytes.byteLength, 'as received');
    const text = bodyText(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), contentType);
    if (encoding !== 'identity') text.unknownCoding = encoding;
    return text;
  }
  if (!decoder) {
    discard(body);
    throw new UnsupportedEncodingError(encoding);
  }
  const source = decoder();
  // The bytes as received, kept only to read a gzip body whose member is followed by stray bytes (./gzip-members.ts):
  // on the wire they are bounded by the pool's maxResponseSize, which `limit` equals.
  const received: Buffer[] | undefined = decoder === createGunzip ? [] : undefined;
  if (received) body.on('data', (chunk: Buffer) => received.push(chunk));
  // Who failed first: the decoder on bytes that arrived (upstream's doing: the same bytes again fail the
  // same), or the connection. Registered before pipeline's own listeners, this runs before pipeline
  // destroys the other stream with the error, so `body.errored` is still that of the connection alone.
  let decoderFailed = false;
  source.once('error', () => (decoderFailed = !body.errored));
  // pipeline forwards a broken upstream stream to the decoder, which then throws below.
  pipeline(body, source, () => {});
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > limit) throw new BodyTooLargeError('as decoded');
      if (!lease.grow(chunk.length)) throw notCharged(size, 'as decoded');
      chunks.push(chunk);
    }
  } catch (error) {
    if (isOverMaxResponseSize(error)) throw new BodyTooLargeError('on the wire');
    if (error instanceof BodyTooLargeError || error instanceof BodiesInFlightError || !decoderFailed) throw error;
    const members = received ? await completeGzipMembers(Buffer.concat(received), limit) : undefined;
    if (members) {
      if (members.decoded.length > size && !lease.grow(members.decoded.length - size)) throw notCharged(members.decoded.length, 'as decoded');
      return { ...bodyText(members.decoded, contentType), ignoredTrailingBytes: members.trailing, trailingCoding: 'gzip' };
    }
    throw new CorruptEncodingError(`${encoding}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    if (!body.readableEnded) discard(body);
  }
  const trailing = source instanceof Deflate ? source.trailingBytes : 0;
  const text = bodyText(Buffer.concat(chunks, size), contentType);
  return trailing > 0 ? { ...text, ignoredTrailingBytes: trailing, trailingCoding: 'deflate' } : text;
}

function bodyText(buffer: Buffer, contentType: string | undefined): BodyText {
  const decoded = decodeBody(buffer, contentType);
  return decoded.unknownCharset === undefined ? { text: decoded.text, bytes: buffer.length } : { text: decoded.text, bytes: buffer.length, unknownCharset: decoded.unknownCharset };
}
